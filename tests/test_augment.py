"""Augmentation: distorted digits stay digits, change, and follow the seed."""

import tracemalloc

import numpy as np
import pytest

from benchmarks import augment_memory
from mnist_mlp import augment


def test_distort_is_seeded_and_keeps_shape(digits):
    images = digits.x_train[:200]
    first = augment.distort(images, seed=1)
    assert first.shape == images.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, augment.distort(images, seed=1))
    assert not np.array_equal(first, augment.distort(images, seed=2))
    assert not np.array_equal(first, images)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 299, 300, 301, 5000])
def test_distort_gives_the_same_images_whatever_the_chunk_size(digits, chunk_size):
    """Known answer: the old whole-set version (kept as the benchmark's baseline) for the same seed."""
    images = digits.x_train[:300]
    expected = augment_memory.whole_set_distort(images, seed=11)
    np.testing.assert_array_equal(augment.distort(images, seed=11, chunk_size=chunk_size), expected)


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
    chunked = _peak_bytes(lambda: augment.distort(images, seed=1, chunk_size=250))
    assert chunked < whole / 8  # 16 chunks: about 1/16 of the set's working memory, plus the result
    assert _peak_bytes(lambda: augment.distort(images, seed=1)) < whole  # the default chunk too
    with pytest.raises(ValueError, match="Received: chunk_size=0"):
        augment.distort(images, seed=1, chunk_size=0)


def test_distorted_digits_keep_their_ink_and_stay_close(digits):
    images = digits.x_train[:200].astype(np.float64)
    distorted = augment.distort(digits.x_train[:200], seed=3).astype(np.float64)
    ink_ratio = distorted.sum(axis=(1, 2)) / images.sum(axis=(1, 2))
    assert np.all((ink_ratio > 0.6) & (ink_ratio < 1.6))  # scaling by up to 1.12 changes area by 1.25
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
