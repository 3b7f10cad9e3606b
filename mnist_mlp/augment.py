"""Data augmentation: small random shifts, rotations, scaling and elastic distortion of digits.

These are the distortions a hand makes anyway (Simard et al. 2003), so a model that sees them reads
more handwriting from the same few thousand examples.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MAX_SHIFT = 2.0  # pixels, each axis
MAX_ROTATION = 12.0  # degrees
SCALE_RANGE = (0.88, 1.12)
MAX_SHEAR = 0.15
ELASTIC_ALPHA = 20.0  # scale of the random field; after smoothing, moves of ~0.8 px typical, 2-3 px at most
ELASTIC_SIGMA = 4.0  # pixels; smooth fields bend strokes instead of tearing them


AUGMENT_CHUNK = 2048  # images distorted at once: ~70 KB each in flight, ~140 MB whatever the set size


def distort(images: np.ndarray, *, seed: int, chunk_size: int = AUGMENT_CHUNK) -> np.ndarray:
    """A randomly distorted copy of every image.

    Args:
        images: (n, 28, 28) uint8, ink white on black.
        seed: the same seed gives the same distortions.
        chunk_size: images distorted at once. Memory: the float64 coordinates of a whole
            epoch (54,000 images) took 2-3 GB at once; in chunks they take ~70 KB an image of
            the chunk. The result does not depend on it: every image gets the random numbers it
            would get in one pass (`_elastic_noise`), and its arithmetic never mixes images.

    Returns:
        (n, 28, 28) uint8: each image shifted, rotated, scaled, sheared and elastically bent by
        its own random amounts, about its centre.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"Expected images of shape (n, H, W). Received: shape={images.shape}.")
    if not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"Expected chunk_size to be a positive integer. Received: chunk_size={chunk_size!r}")
    count = len(images)
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION, MAX_ROTATION, count))  # (n,) each
    scale = rng.uniform(*SCALE_RANGE, count)
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR, count)
    shift_row, shift_col = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (2, count))
    noise_start = rng.bit_generator.state  # the elastic noise follows these draws
    result = np.empty(images.shape, np.uint8)
    for start in range(0, count, chunk_size):
        part = slice(start, min(start + chunk_size, count))
        noise = _elastic_noise(noise_start, images.shape, part)
        moves = (angle[part], scale[part], shear[part], shift_row[part], shift_col[part])
        result[part] = _warp(images[part], moves, noise)
    return result


def _elastic_noise(state: dict, shape: tuple[int, int, int], part: slice) -> np.ndarray:
    """(2, k, H, W) float32 uniform in [-1, 1): the images `part`'s share of the noise block
    `rng.uniform(-1, 1, (2, n, H, W))` that a generator at `state` would draw for all n images.

    Speed and memory: PCG64 jumps ahead in O(log steps) (`advance`), and each float64 draw is one
    64-bit step, so a chunk's noise is drawn without drawing or keeping the noise before it.
    """
    count, height, width = shape
    pixels = height * width
    fields = []
    for field in range(2):  # the block is row-major: all of field 0 (rows), then all of field 1
        bit_generator = np.random.PCG64()
        bit_generator.state = state
        bit_generator.advance((field * count + part.start) * pixels)
        values = np.random.Generator(bit_generator).uniform(-1, 1, (part.stop - part.start, height, width))
        fields.append(values.astype(np.float32))
    return np.stack(fields)


def _warp(images: np.ndarray, moves: tuple[np.ndarray, ...], noise: np.ndarray) -> np.ndarray:
    """(k, H, W) uint8 images moved by their (k,) angles, scales, shears and shifts and bent by
    the (2, k, H, W) noise smoothed into displacement fields."""
    count, height, width = images.shape
    angle, scale, shear, shift_row, shift_col = (value[:, None, None] for value in moves)  # (k, 1, 1)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    y = (rows - centre_row)[None].astype(np.float32)  # (1, H, W)
    x = (cols - centre_col)[None].astype(np.float32)
    cos, sin = np.cos(angle), np.sin(angle)
    # Output pixel (y, x) reads from the inverse-transformed input position.
    source_row = (cos * y - sin * x) / scale + centre_row - shift_row  # (k, H, W) float64
    source_col = (sin * y + cos * x + shear * y) / scale + centre_col - shift_col

    fields = ndimage.gaussian_filter(noise, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA))  # each image alone
    fields *= ELASTIC_ALPHA
    source_row += fields[0]
    source_col += fields[1]

    index = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None], source_row.shape)
    coordinates = np.stack([index, source_row, source_col])  # (3, k, H, W)
    warped = ndimage.map_coordinates(
        images.astype(np.float32), coordinates, order=1, mode="constant", cval=0.0
    )
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def mirror(images: np.ndarray, *, seed: int) -> np.ndarray:
    """A copy with a random half of the images flipped left-right: (n, H, W) in, same out.

    A mirrored shirt is still a shirt, so for clothing this doubles the variety for free; a mirrored
    digit is not a digit, so digits never use it.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"Expected images of shape (n, H, W). Received: shape={images.shape}.")
    flipped = np.random.default_rng(seed).random(len(images)) < 0.5
    result = images.copy()
    result[flipped] = images[flipped, :, ::-1]
    return result
