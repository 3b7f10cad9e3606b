"""Data augmentation: small random shifts, rotations, scaling and elastic distortion of digits.

These are the distortions a hand makes anyway (Simard et al. 2003), so a model that sees them reads
more handwriting from the same few thousand examples. Each image's distortion is one smooth map of
source coordinates, drawn here (`draw`) and applied by bilinear interpolation, on the CPU (`distort`)
or as TensorFlow ops inside a GPU's training step (`augment_tf`), from the same drawn numbers.
"""

from __future__ import annotations

import concurrent.futures
import functools

import numpy as np
from scipy import ndimage

from mnist_mlp import cores

MAX_SHIFT = 2.0  # pixels, each axis
MAX_ROTATION = 12.0  # degrees
SCALE_RANGE = (0.88, 1.12)
MAX_SHEAR = 0.15
ELASTIC_ALPHA = 20.0  # scale of the random field; after smoothing, moves of ~0.8 px typical, 2-3 px at most
ELASTIC_SIGMA = 4.0  # pixels; smooth fields bend strokes instead of tearing them
# The elastic field is uniform noise in [-1, 1) per pixel, smoothed by a Gaussian of ELASTIC_SIGMA
# (reflecting at the edges) and scaled by ELASTIC_ALPHA. That field is drawn here without making the
# noise: as the same covariance's leading ELASTIC_RANK smooth shapes per axis with normal weights.
# 8 of 28 keep 99.9999% of its variance on each axis, and 128 numbers an image replace 1,568 plus
# a filter over them (the whole distortion: ~110 -> ~16 microseconds of one core an image).
ELASTIC_RANK = 8
NOISE_STD = 1 / np.sqrt(3)  # of uniform noise in [-1, 1)
PADDING = 2  # zero pixels around each image: a source point outside it reads ink 0, as scipy's "constant"

AUGMENT_CHUNK = 256  # images distorted at once: their ~45 KB each stay in cache (2,048: 1.6x slower)


def draw(shape: tuple[int, int, int], *, seed: int) -> np.ndarray:
    """Every image's random distortion, as the coefficients of its source-coordinate map.

    Args:
        shape: (n, H, W) of the images to distort.
        seed: the same seed gives the same distortions.

    Returns:
        (n, 2, k, k) float32 with k = ELASTIC_RANK + 2 (less for images under 8 px): image i's output
        pixel (row, col) reads its input at `source_coordinates`: rows B_H @ c[i, 0] @ B_W.T and
        columns B_H @ c[i, 1] @ B_W.T, B the `_basis` of each axis. Drawn per image: a rotation in
        +-MAX_ROTATION degrees, a scale in SCALE_RANGE, a shear in +-MAX_SHEAR and a shift in
        +-MAX_SHIFT px each axis, all uniform and about the centre, then the elastic field's weights.
    """
    count, height, width = shape
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION, MAX_ROTATION, count))  # (n,) each
    scale = rng.uniform(*SCALE_RANGE, count)
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR, count)
    shift_row, shift_col = rng.uniform(-MAX_SHIFT, MAX_SHIFT, (2, count))
    rank = _rank(height, width)
    coefficients = np.zeros((count, 2, rank + 2, rank + 2), np.float32)
    elastic = rng.standard_normal((count, 2, rank, rank), np.float32)
    coefficients[:, :, :rank, :rank] = elastic * np.float32(ELASTIC_ALPHA * NOISE_STD)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    # Output pixel (y, x) about the centre reads from the inverse-transformed input position:
    # row (cos y - sin x) / scale + centre - shift, column ((sin + shear) y + cos x) / scale + centre - shift.
    coefficients[:, 0, rank, rank + 1] = cos  # basis row y times basis column 1
    coefficients[:, 0, rank + 1, rank] = -sin  # 1 times x
    coefficients[:, 0, rank + 1, rank + 1] = (height - 1) / 2 - shift_row
    coefficients[:, 1, rank, rank + 1] = sin + shear / scale
    coefficients[:, 1, rank + 1, rank] = cos
    coefficients[:, 1, rank + 1, rank + 1] = (width - 1) / 2 - shift_col
    return coefficients


def coefficient_shape(height: int, width: int) -> tuple[int, int]:
    """(k, k): the shape of one axis's coefficients in `draw`'s (n, 2, k, k) for images of this size."""
    size = _rank(height, width) + 2
    return size, size


def distort(
    images: np.ndarray, *, seed: int, chunk_size: int = AUGMENT_CHUNK, workers: int | None = None
) -> np.ndarray:
    """A randomly distorted copy of every image (`draw`), made on every core.

    Args:
        images: (n, H, W) uint8, ink white on black.
        seed: the same seed gives the same distortions.
        chunk_size: images distorted at once, which bounds the memory (~45 KB an image of a chunk).
        workers: threads distorting chunks side by side (default: one per core). The result depends
            on neither: every image's numbers are drawn first, and its arithmetic never mixes images.

    Returns:
        (n, H, W) uint8: each image shifted, rotated, scaled, sheared and elastically bent by its own
        random amounts, about its centre.
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"Expected images of shape (n, H, W). Received: shape={images.shape}.")
    if not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"Expected chunk_size to be a positive integer. Received: chunk_size={chunk_size!r}")
    coefficients = draw(images.shape, seed=seed)
    result = np.empty(images.shape, np.uint8)
    parts = [slice(start, start + chunk_size) for start in range(0, len(images), chunk_size)]

    def one(part: slice) -> None:
        result[part] = warp(images[part], coefficients[part])

    workers = min(workers or cores.count(), len(parts))
    if workers <= 1:
        for part in parts:
            one(part)
    else:  # numpy's loops and BLAS let go of the GIL: threads share the cores without copies
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(one, part) for part in parts]:
                done.result()
    return result


def warp(images: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """(k, H, W) uint8 images, each read at its `source_coordinates` with bilinear interpolation,
    zero outside: (k, H, W) uint8."""
    count, height, width = images.shape
    padded_height, padded_width = height + 2 * PADDING, width + 2 * PADDING
    coordinates = source_coordinates(coefficients, height, width) + np.float32(PADDING)  # (2, k, H, W)
    np.clip(coordinates[0], 0, padded_height - 2, out=coordinates[0])  # a corner and the pixel after it
    np.clip(coordinates[1], 0, padded_width - 2, out=coordinates[1])  # stay in the image's padding
    corner = np.floor(coordinates)
    row_weight, col_weight = coordinates - corner  # (k, H, W) float32 in [0, 1) each
    offsets = np.arange(count, dtype=np.float32)[:, None, None] * np.float32(padded_height * padded_width)
    index = (corner[0] * padded_width + corner[1] + offsets).astype(np.int64)  # exact: < 2**24
    # Each padded pixel with its right, lower and lower-right neighbours as one uint32: one gather
    # fetches all four pixels a bilinear read needs.
    size = count * padded_height * padded_width
    flat = np.zeros(size + padded_width + 1, np.uint8)
    flat[:size].reshape(count, padded_height, padded_width)[:, PADDING:-PADDING, PADDING:-PADDING] = images
    quads = np.stack(
        [flat[:size], flat[1 : size + 1], flat[padded_width : size + padded_width], flat[padded_width + 1 :]],
        axis=-1,
    ).view(np.uint32)[:, 0]
    gathered = np.take(quads, index).view(np.uint8).reshape(-1, 4)
    upper_left, upper_right, lower_left, lower_right = gathered.T.astype(np.float32).reshape(4, *images.shape)
    upper = _mix(upper_left, upper_right, col_weight)
    return (_mix(upper, _mix(lower_left, lower_right, col_weight), row_weight) + 0.5).astype(np.uint8)


def source_coordinates(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """(2, k, H, W) float32: where each output pixel of k images reads, as (row, column), from the
    (k, 2, r, r) coefficients that `draw` gives."""
    rows, columns = _basis(height, width)
    return np.moveaxis(rows @ coefficients @ columns.T, 1, 0)


def elastic_fields(coefficients: np.ndarray, height: int, width: int) -> np.ndarray:
    """(2, k, H, W) float32: the elastic part alone of `source_coordinates` (row and column moves, px)."""
    rank = _rank(height, width)
    rows, columns = _basis(height, width)
    return np.moveaxis(rows[:, :rank] @ coefficients[:, :, :rank, :rank] @ columns[:, :rank].T, 1, 0)


def _mix(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """first + weight * (second - first), in place of `second`."""
    second -= first
    second *= weight
    second += first
    return second


@functools.cache
def _basis(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per axis (size, r + 2) float32: the elastic field's r smooth shapes (square roots of their
    variances folded in), then the centred coordinate and a constant, for the affine part."""
    rank = _rank(height, width)
    bases = []
    for size in (height, width):
        smoothing = ndimage.gaussian_filter1d(np.eye(size), ELASTIC_SIGMA, axis=0)  # (size, size): S @ noise
        variances, shapes = np.linalg.eigh(smoothing @ smoothing.T)  # ascending
        shapes = shapes[:, ::-1][:, :rank] * np.sqrt(np.maximum(variances[::-1][:rank], 0))
        centred = np.arange(size) - (size - 1) / 2
        bases.append(np.column_stack([shapes, centred, np.ones(size)]).astype(np.float32))
    return bases[0], bases[1]


def _rank(height: int, width: int) -> int:
    return min(ELASTIC_RANK, height, width)


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
