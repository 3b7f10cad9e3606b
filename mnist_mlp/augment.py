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


def distort(images: np.ndarray, *, seed: int) -> np.ndarray:
    """A randomly distorted copy of every image.

    Args:
        images: (n, 28, 28) uint8, ink white on black.
        seed: the same seed gives the same distortions.

    Returns:
        (n, 28, 28) uint8: each image shifted, rotated, scaled, sheared and elastically bent by
        its own random amounts, about its centre.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"Expected images of shape (n, H, W). Received: shape={images.shape}.")
    count, height, width = images.shape
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    y = (rows - centre_row)[None].astype(np.float32)  # (1, H, W)
    x = (cols - centre_col)[None].astype(np.float32)

    angle = np.deg2rad(rng.uniform(-MAX_ROTATION, MAX_ROTATION, count))[:, None, None]
    scale = rng.uniform(*SCALE_RANGE, count)[:, None, None]
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR, count)[:, None, None]
    shift_row, shift_col = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (2, count))[:, :, None, None]
    cos, sin = np.cos(angle), np.sin(angle)
    # Output pixel (y, x) reads from the inverse-transformed input position.
    source_row = (cos * y - sin * x) / scale + centre_row - shift_row
    source_col = (sin * y + cos * x + shear * y) / scale + centre_col - shift_col

    noise = rng.uniform(-1, 1, (2, count, height, width)).astype(np.float32)
    fields = ndimage.gaussian_filter(noise, sigma=(0, 0, ELASTIC_SIGMA, ELASTIC_SIGMA))
    fields *= ELASTIC_ALPHA
    source_row = source_row + fields[0]
    source_col = source_col + fields[1]

    index = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None], source_row.shape)
    coordinates = np.stack([index, source_row, source_col])  # (3, n, H, W)
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
