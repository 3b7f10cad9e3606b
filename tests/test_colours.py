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


# Machado, Oliveira and Fernandes (2009), severity 1.0: what a dichromat sees, on linear RGB.
DICHROMACY = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.313900]],
}  # fmt: skip


def simulated_lab(rgb: np.ndarray, kind: str | None) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] as CIELAB (D65) as a person with `kind` of dichromacy sees it (None: as is)."""
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if kind is not None:
        linear = np.clip(linear @ np.asarray(DICHROMACY[kind]).T, 0, 1)
    to_xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


@pytest.mark.parametrize("kind", [None, *DICHROMACY])
def test_the_sign_stays_readable_for_colour_blind_eyes(kind):
    """The two ends stay far apart from each other and from zero, and strength stays darkness."""
    values = np.linspace(-1, 1, 21)
    lab = simulated_lab(colours.diverging_rgb(values), kind)  # (21, 3): L*, a*, b*
    negative, zero, positive = lab[0], lab[10], lab[-1]
    assert np.linalg.norm(negative - positive) > 40  # CIELAB ΔE: ~2.3 is just noticeable
    assert min(np.linalg.norm(negative - zero), np.linalg.norm(positive - zero)) > 50
    lightness = lab[:, 0]
    assert np.all(np.diff(lightness[:11]) > 0) and np.all(np.diff(lightness[10:]) < 0)
    if kind in ("deuteranopia", "protanopia"):  # red-green blindness keeps the blue-yellow axis
        assert negative[2] < -20 < 0 < positive[2]  # b*: blue one side, yellow-brown the other


@pytest.mark.parametrize("kind", [None, *DICHROMACY])
def test_the_error_scale_stays_a_scale_for_colour_blind_eyes(kind):
    """More errors stay visibly darker, and the grey diagonal stays apart from every error shade."""
    shades = [colours.error_fill(count, 40) for count in (1, 2, 3, 5, 8, 12, 20, 40)]
    rgb = np.array([[int(shade[i : i + 2], 16) / 255 for i in (1, 3, 5)] for shade in shades])
    lab = simulated_lab(rgb, kind)
    assert np.all(np.diff(lab[:, 0]) < -2), "lightness falls with the count"
    grey = simulated_lab(np.array([int(colours.RIGHT_FILL[i : i + 2], 16) / 255 for i in (1, 3, 5)]), kind)
    assert np.linalg.norm(lab - grey, axis=1).min() > 10  # CIELAB ΔE: ~2.3 is just noticeable


def test_numbers_are_written_in_the_ink_that_reads_on_their_cell():
    for count in range(1, 41):
        fill = colours.error_fill(count, 40)
        assert colours.contrast_ratio(colours.readable_ink(fill), fill) >= 4.5, fill
    assert colours.contrast_ratio(colours.readable_ink(colours.RIGHT_FILL), colours.RIGHT_FILL) >= 4.5
    assert colours.readable_ink("#7f2704") == "#ffffff" and colours.readable_ink("#fdd9b4") == "#000000"


def test_shares_of_a_class_are_shaded_as_the_counts_they_stand_for():
    """On the share scale, a share of k errors in a class of 1,000 (least: one error) gets k's shade."""
    for count in (1, 2, 7, 40):
        assert colours.error_fill(count / 1000, 40 / 1000, 1 / 1000) == colours.error_fill(count, 40)
    assert colours.error_fill(0.001, 0.001, 0.001) == colours.error_fill(1, 1) == "#fdd9b4"  # no range
    assert colours.error_fill(0.5, 0.04, 0.001) == colours.error_fill(40, 40), "beyond the most: darkest"


def hex_rgb(*shades: str) -> np.ndarray:
    """ "#rrggbb" colours as (n, 3) floats in [0, 1]."""
    return np.array([[int(shade[i : i + 2], 16) / 255 for i in (1, 3, 5)] for shade in shades])


@pytest.mark.parametrize("kind", [None, *DICHROMACY])
def test_a_change_is_red_for_more_blue_for_fewer_and_darker_for_larger(kind):
    grey = simulated_lab(hex_rgb(colours.RIGHT_FILL), kind)
    for sign in (1, -1):
        shades = [colours.change_fill(sign * size, 40) for size in (1, 2, 3, 5, 8, 12, 20, 40)]
        rgb = hex_rgb(*shades)
        lab = simulated_lab(rgb, kind)
        assert np.all(np.diff(lab[:, 0]) < 0), "lightness falls with the size of the change"
        assert np.linalg.norm(lab - grey, axis=1).min() > 5, "apart from the grey diagonal"
        if kind is None:
            assert np.all(np.sign(rgb[:, 0] - rgb[:, 2]) == sign), "red for more, blue for fewer"
        for shade in shades:
            assert colours.contrast_ratio(colours.readable_ink(shade), shade) >= 4.5, shade
    more, fewer = simulated_lab(hex_rgb(colours.change_fill(3, 40), colours.change_fill(-3, 40)), kind)
    assert np.linalg.norm(more - fewer) > 10, "a small rise and a small fall still look different"
    assert colours.change_fill(0.3, 0.4, 0.001) == colours.change_fill(300, 400)  # shares as counts


def test_the_scale_starts_at_one_error_and_spans_at_least_ten():
    confusion = np.diag(np.full(10, 900))
    confusion[4, 9], confusion[7, 2] = 40, 1
    assert colours.scale_ends(confusion) == (1.0, 40.0), "the diagonal is left out"
    assert colours.scale_ends(np.eye(10) * 900) == (1.0, 10.0), "no errors: still a range of ten"
    shares = confusion / 1000
    assert colours.scale_ends(shares, largest_class=1000) == (0.001, 0.04)
    assert colours.scale_ends(shares / 100, largest_class=1000) == (0.001, pytest.approx(0.01))
    assert colours.scale_ends(np.zeros((10, 10)), largest_class=0) == (1.0, 10.0), "no examples at all"
