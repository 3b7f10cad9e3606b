"""The diverging colours of weights and attributions: sign shows as hue, size as strength."""

import numpy as np
import pytest

from mnist_mlp import colours

BLUE, RED = (33, 102, 172), (178, 24, 43)  # ColorBrewer's 9-class RdBu ends, #2166ac and #b2182b


def close(rgb, expected, tolerance=3):
    return np.abs(np.asarray(rgb, int) - np.asarray(expected)).max() <= tolerance


def test_the_ends_are_colorbrewers_and_zero_is_near_white():
    weights = np.zeros((1, 28, 28), np.float32)
    weights[0, 0, 0], weights[0, 0, 1] = 2.0, -2.0
    tiles = colours.diverging(weights)
    assert tiles.shape == (1, 28, 28, 3) and tiles.dtype == np.uint8
    assert close(tiles[0, 0, 0], RED) and close(tiles[0, 0, 1], BLUE)
    assert tiles[0, 5, 5].min() >= 240  # zero: no effect, near white


def test_sign_is_the_hue_and_size_the_darkness():
    values = np.linspace(-1, 1, 21)
    rgb = colours.diverging_rgb(values)
    red_minus_blue = rgb[:, 0] - rgb[:, 2]
    assert np.all(np.sign(red_minus_blue[values != 0]) == np.sign(values[values != 0]))
    lightness = rgb.sum(axis=1)
    assert np.all(np.diff(lightness[:11]) > 0) and np.all(np.diff(lightness[10:]) < 0)  # lightest at 0


def test_each_image_scales_by_itself_unless_shared():
    weights = np.zeros((2, 28, 28), np.float32)
    weights[0, 0, 0], weights[1, 0, 0] = 1.0, 0.1
    own, shared = colours.diverging(weights), colours.diverging(weights, shared_scale=True)
    assert close(own[1, 0, 0], RED)  # its own largest: full red
    assert shared[1, 0, 0].min() > own[1, 0, 0].min()  # a tenth of the shared largest: pale


def test_mosaic_lays_tiles_with_gaps():
    weights = np.ones((3, 28, 28), np.float32)
    mosaic = colours.weight_mosaic(weights, columns=2, scale=2)
    assert mosaic.shape == ((2 * 29 + 1) * 2, (2 * 29 + 1) * 2, 3)
    assert tuple(mosaic[0, 0]) == (colours.GAP_GREY,) * 3
    assert close(mosaic[2, 2], RED)  # first tile, all positive
    assert tuple(mosaic[-3, -3]) == (colours.GAP_GREY,) * 3  # the missing fourth tile


@pytest.mark.parametrize("ink", [np.zeros((28, 28), np.float32), np.full((28, 28), 255, np.uint8)])
def test_saliency_shows_ink_grey_where_no_share_and_the_map_ends_where_full(ink):
    attribution = np.zeros((28, 28), np.float32)
    attribution[3, 3], attribution[4, 4] = 4.0, -4.0
    picture = colours.saliency(ink, attribution, scale=1)
    assert picture.shape == (28, 28, 3)
    assert close(picture[3, 3], RED) and close(picture[4, 4], BLUE)
    grey = 255 if ink.dtype != np.uint8 else round(255 * (1 - colours.INK_SHADE))
    assert tuple(picture[10, 10]) == (grey,) * 3


def test_saliency_enlarges_by_scale():
    assert colours.saliency(np.zeros((28, 28)), np.zeros((28, 28)), scale=7).shape == (196, 196, 3)
