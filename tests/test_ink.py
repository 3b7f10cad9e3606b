"""Tests for mnist_mlp.ink: known ink intensities on each kind of background."""

from __future__ import annotations

import numpy as np
from PIL import Image

from mnist_mlp import ink


def test_alpha_is_the_ink_on_a_transparent_canvas() -> None:
    pixels = np.zeros((5, 5, 4), np.uint8)
    pixels[1:4, 2] = (40, 200, 90, 255)  # any colour: alpha alone carries the ink
    pixels[2, 1, 3] = 51
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 2] = 1.0
    expected[2, 1] = 0.2
    np.testing.assert_allclose(ink.ink_intensity(pixels, min_contrast=0.2), expected, atol=1e-6)


def test_dark_ink_on_white_paper_and_coloured_ink_on_grey_paper() -> None:
    paper = np.full((5, 5, 3), 255, np.uint8)
    paper[2, 2] = 0
    paper[2, 3] = 153  # 102 below white: 0.4 of the darkest ink's contrast
    expected = np.zeros((5, 5), np.float32)
    expected[2, 2], expected[2, 3] = 1.0, 0.4
    np.testing.assert_allclose(ink.ink_intensity(paper, min_contrast=0.2), expected, atol=1e-6)
    grey = np.full((5, 5, 3), 100, np.uint8)
    grey[2, 2] = (100, 200, 100)  # green ink differs in one channel only
    expected = np.zeros((5, 5), np.float32)
    expected[2, 2] = 1.0
    np.testing.assert_allclose(ink.ink_intensity(grey, min_contrast=0.2), expected, atol=1e-6)


def test_ink_fainter_than_the_minimum_contrast_is_none() -> None:
    paper = np.full((5, 5, 3), 255, np.uint8)
    paper[2, 2] = 230  # 25 of 255, about 0.1
    assert ink.ink_intensity(paper, min_contrast=0.2) is None
    assert ink.ink_intensity(paper, min_contrast=0.05) is not None


def test_as_uint8_gives_height_width_channels() -> None:
    grey = ink.as_uint8(np.array([[0.0, 0.5], [1.0, 0.2]]))
    assert grey.dtype == np.uint8
    np.testing.assert_array_equal(grey[..., 0], [[0, 128], [255, 51]])
    assert ink.as_uint8(Image.new("LA", (3, 2))).shape == (2, 3, 4)
    assert ink.as_uint8(Image.new("P", (3, 2))).shape == (2, 3, 3)


def test_median_is_the_lower_median_along_the_first_axis() -> None:
    values = np.array([[3, 30], [1, 10], [4, 40], [2, 20]], np.uint8)
    np.testing.assert_array_equal(ink.median(values), [2, 20])
    assert ink.median(values).dtype == np.uint8
