"""Augmentation: distorted digits stay digits, change, and follow the seed."""

import tracemalloc

import numpy as np
import pytest
from scipy import ndimage

from benchmarks import augment_memory
from mnist_mlp import augment


def test_distort_is_seeded_and_keeps_shape(digits):
    images = digits.x_train[:200]
    first = augment.distort(images, seed=1)
    assert first.shape == images.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, augment.distort(images, seed=1))
    assert not np.array_equal(first, augment.distort(images, seed=2))
    assert not np.array_equal(first, images)


@pytest.mark.parametrize(("chunk_size", "workers"), [(1, 1), (7, 2), (64, 3), (299, 2), (300, 1), (5000, 2)])
def test_distort_gives_the_same_images_whatever_the_chunks_and_threads(digits, chunk_size, workers):
    images = digits.x_train[:300]
    expected = augment.distort(images, seed=11, chunk_size=300, workers=1)
    distorted = augment.distort(images, seed=11, chunk_size=chunk_size, workers=workers)
    np.testing.assert_array_equal(distorted, expected)


def _coefficients(count: int, *, angle=0.0, scale=1.0, shear=0.0, shift=(0.0, 0.0), size=28) -> np.ndarray:
    """`augment.draw`'s coefficients for a known affine move and no elastic field."""
    coefficients = np.zeros((count, 2, *augment.coefficient_shape(size, size)), np.float32)
    rank = coefficients.shape[-1] - 2
    cos, sin = np.cos(np.deg2rad(angle)) / scale, np.sin(np.deg2rad(angle)) / scale
    coefficients[:, 0, rank, rank + 1], coefficients[:, 0, rank + 1, rank] = cos, -sin
    coefficients[:, 1, rank, rank + 1], coefficients[:, 1, rank + 1, rank] = sin + shear / scale, cos
    coefficients[:, 0, rank + 1, rank + 1] = (size - 1) / 2 - shift[0]
    coefficients[:, 1, rank + 1, rank + 1] = (size - 1) / 2 - shift[1]
    return coefficients


def test_warp_moves_pixels_by_known_amounts(digits):
    images = digits.x_train[:5]
    np.testing.assert_array_equal(augment.warp(images, _coefficients(5)), images)  # no move: the same
    down_right = augment.warp(images, _coefficients(5, shift=(2, 1)))
    expected = np.zeros_like(images)
    expected[:, 2:, 1:] = images[:, :-2, :-1]  # what comes in from outside is blank
    np.testing.assert_array_equal(down_right, expected)
    half = augment.warp(images, _coefficients(5, shift=(0, 0.5))).astype(int)
    left = np.pad(images, ((0, 0), (0, 0), (1, 0)))[:, :, :-1].astype(int)  # the pixel to the left
    assert np.abs(half - (images.astype(int) + left) / 2).max() <= 0.5  # halfway: the mean, rounded
    quarter_turn = augment.warp(images, _coefficients(5, angle=90))
    np.testing.assert_array_equal(quarter_turn, np.rot90(images, k=-1, axes=(1, 2)))  # rows read columns


def test_warp_is_bilinear_interpolation_as_scipy_computes_it(digits):
    """Known answer: scipy's `map_coordinates` (order 1, zero outside) at the same source coordinates."""
    images = digits.x_train[:50]
    coefficients = augment.draw(images.shape, seed=5)
    rows, cols = augment.source_coordinates(coefficients, 28, 28).astype(np.float64)
    index = np.broadcast_to(np.arange(50.0)[:, None, None], rows.shape)
    expected = ndimage.map_coordinates(images.astype(float), [index, rows, cols], order=1, mode="constant")
    difference = np.abs(augment.warp(images, coefficients).astype(int) - np.rint(expected))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.001  # a level where a .5 rounds apart


def _old_affine_coordinates(count: int, seed: int, size: int = 28) -> np.ndarray:
    """(2, n, H, W): the old distortion's shift, rotation, scale and shear, drawn in the same order."""
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-augment.MAX_ROTATION, augment.MAX_ROTATION, count))[:, None, None]
    scale = rng.uniform(*augment.SCALE_RANGE, count)[:, None, None]
    shear = rng.uniform(-augment.MAX_SHEAR, augment.MAX_SHEAR, count)[:, None, None]
    shift_row, shift_col = rng.uniform(-augment.MAX_SHIFT, augment.MAX_SHIFT, (2, count))[:, :, None, None]
    centre = (size - 1) / 2
    y, x = np.mgrid[:size, :size] - centre
    rows = (np.cos(angle) * y - np.sin(angle) * x) / scale + centre - shift_row
    cols = (np.sin(angle) * y + np.cos(angle) * x + shear * y) / scale + centre - shift_col
    return np.stack([rows, cols])


def test_the_affine_moves_are_the_old_ones_for_the_same_seed():
    coefficients = augment.draw((500, 28, 28), seed=9)
    affine = augment.source_coordinates(coefficients, 28, 28) - augment.elastic_fields(coefficients, 28, 28)
    np.testing.assert_allclose(affine, _old_affine_coordinates(500, seed=9), atol=2e-4)


def test_elastic_fields_have_the_old_fields_statistics():
    """The old field: uniform noise in [-1, 1) smoothed by a Gaussian of ELASTIC_SIGMA, times
    ELASTIC_ALPHA. The new one is drawn from its covariance: the same spread, everywhere (the edges
    included), and the same smoothness; the measured figures differ by the sampling error alone."""
    count = 4000
    noise = np.random.default_rng(0).uniform(-1, 1, (2, count, 28, 28))
    sigma = augment.ELASTIC_SIGMA
    old = ndimage.gaussian_filter(noise, sigma=(0, 0, sigma, sigma)) * augment.ELASTIC_ALPHA
    new = augment.elastic_fields(augment.draw((count, 28, 28), seed=0), 28, 28).astype(np.float64)

    def figures(fields):
        magnitude = np.hypot(fields[0], fields[1])  # (n, 28, 28) px
        return {
            "spread per pixel": fields.std(axis=1),  # (2, 28, 28): edges and corners too
            "mean move": magnitude.mean(),
            "99.9% of moves under": np.quantile(magnitude, 0.999),
            "change to the next pixel": np.abs(np.diff(fields, axis=3)).mean(),  # smoothness
            "correlation 6 px apart": (fields[..., :-6] * fields[..., 6:]).mean() / fields.var(),
        }

    expected, measured = figures(old), figures(new)
    np.testing.assert_allclose(measured.pop("spread per pixel"), expected.pop("spread per pixel"), rtol=0.08)
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, rel=0.03), name
    assert 0.9 < expected["mean move"] < 1.3  # the documented ~0.8 px typical move per axis


def test_distorted_digits_change_as_much_as_the_old_distortions_changed_them(digits):
    images = digits.x_train[:1000]

    def changes(distorted):
        return np.abs(distorted.astype(int) - images).mean(axis=(1, 2))  # (n,) grey levels

    old = changes(augment_memory.whole_set_distort(images, seed=2))
    new = changes(augment.distort(images, seed=2))
    assert new.mean() == pytest.approx(old.mean(), rel=0.03)
    assert np.quantile(new, 0.9) == pytest.approx(np.quantile(old, 0.9), rel=0.05)


def _peak_bytes(function) -> int:
    """The most memory numpy and scipy held at once while `function` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_distort_memory_follows_the_chunk_not_the_set(digits):
    images = digits.x_train[:4000]
    whole = _peak_bytes(lambda: augment_memory.whole_set_distort(images, seed=1))
    chunked = _peak_bytes(lambda: augment.distort(images, seed=1, chunk_size=250, workers=1))
    assert chunked < whole / 8  # 16 chunks: about 1/16 of the set's working memory, plus the result
    in_threads = _peak_bytes(lambda: augment.distort(images, seed=1, chunk_size=250, workers=2))
    assert in_threads < whole / 4  # two chunks in flight
    assert _peak_bytes(lambda: augment.distort(images, seed=1)) < whole / 4  # the default chunks too
    with pytest.raises(ValueError, match="Received: chunk_size=0"):
        augment.distort(images, seed=1, chunk_size=0)


def test_distorted_digits_keep_their_ink_and_stay_close(digits):
    images = digits.x_train[:200].astype(np.float64)
    distorted = augment.distort(digits.x_train[:200], seed=3).astype(np.float64)
    ink_ratio = distorted.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    # Scaling by up to 1.12 changes the area by 1.25, bending adds and takes some: over 20,000 MNIST
    # digits the old distortions kept 0.50-1.75 of the ink, these 0.58-1.84 (99.8% of both 0.63-1.60).
    assert np.all((ink_ratio > 0.5) & (ink_ratio < 1.9))
    flat_a = images.reshape(200, -1) - images.reshape(200, -1).mean(axis=1, keepdims=True)
    flat_b = distorted.reshape(200, -1) - distorted.reshape(200, -1).mean(axis=1, keepdims=True)
    correlation = (flat_a * flat_b).sum(1) / np.sqrt((flat_a**2).sum(1) * (flat_b**2).sum(1))
    assert np.median(correlation) > 0.5  # the same digit, moved and bent a little
    assert np.median(correlation) < 0.99  # but really changed


def test_blank_stays_blank_and_bad_shape_is_refused():
    assert augment.distort(np.zeros((3, 28, 28), np.uint8), seed=0).max() == 0
    with pytest.raises(ValueError, match=r"Received: shape=\(28, 28\)"):
        augment.distort(np.zeros((28, 28), np.uint8), seed=0)


def test_mirror_flips_a_seeded_half_left_right(digits):
    images = digits.x_train[:400]
    mirrored = augment.mirror(images, seed=5)
    flipped = np.array(
        [
            np.array_equal(m, i[:, ::-1]) and not np.array_equal(m, i)
            for m, i in zip(mirrored, images, strict=True)
        ]
    )
    kept = np.array([np.array_equal(m, i) for m, i in zip(mirrored, images, strict=True)])
    assert np.all(flipped | kept)
    assert 150 < flipped.sum() < 250  # about half
    np.testing.assert_array_equal(mirrored, augment.mirror(images, seed=5))
    assert not np.array_equal(mirrored, augment.mirror(images, seed=6))
