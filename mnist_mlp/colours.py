"""Colours for weights and attributions (one diverging map, blue for negative, red for positive), for
the confusion matrix (one sequential map of the errors, numbers in readable ink) and for the change
between two models' confusion matrices (the diverging map again: red for more, blue for fewer).

The map is matplotlib's RdBu (reversed, so red is positive) over ColorBrewer's 9-class span, its ends
#2166ac and #b2182b: the 11-class ends matplotlib adds are nearly black and hide the sign.
"""

from __future__ import annotations

import functools

import numpy as np
from matplotlib import colormaps

DIVERGING_MAP = "RdBu_r"  # matplotlib's name: low values blue, high red, light grey-white between
SPAN = 0.8  # of the map's range used, centred: 0.1..0.9 holds ColorBrewer's 9-class RdBu
GAP_GREY = 40  # the 1-pixel lines between mosaic tiles, on 0..255
INK_SHADE = 0.3  # how dark a saliency image's full ink is, 0 (none) to 1 (black)
ERROR_MAP = "Oranges"  # matplotlib's single-hue sequential map, light to dark with the error count
ERROR_SPAN = (0.2, 1.0)  # of the map: one error #fdd9b4, the most errors #7f2704
LEAST_RANGE = 10  # the error scale spans 1 to at least this many
RIGHT_FILL = "#d9d9d9"  # the diagonal (right answers): neutral grey, outside the error scale
CHANGE_SPAN = (0.25, 1.0)  # of each half of the diverging map: a change of one is already a clear tint


def diverging_rgb(signed: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] (any shape S; clipped) as (*S, 3) float in [0, 1]: -1 blue, 0 near-white, 1 red."""
    position = 0.5 + 0.5 * SPAN * np.clip(np.asarray(signed, np.float32), -1, 1)
    return colormaps[DIVERGING_MAP](position)[..., :3]


def diverging(weights: np.ndarray, shared_scale: bool = False) -> np.ndarray:
    """(n, 28, 28) weights as (n, 28, 28, 3) uint8 colours, each scaled by its largest magnitude.

    Args:
        shared_scale: one scale for all n images (they compare), else one per image (each shows its
            own pattern).
    """
    weights = np.asarray(weights, np.float32)
    axes = None if shared_scale else (1, 2)
    scale = np.abs(weights).max(axis=axes, keepdims=True) + 1e-12
    return _to_uint8(diverging_rgb(weights / scale))  # (n, 28, 28, 3)


def enlarge(image: np.ndarray, scale: int) -> np.ndarray:
    """An (h, w) or (h, w, 3) image with each pixel a scale x scale block, (h*scale, w*scale[, 3]) of the
    same dtype: sharp when shown."""
    return np.asarray(image).repeat(scale, axis=0).repeat(scale, axis=1)


def weight_mosaic(
    weights: np.ndarray, shared_scale: bool = False, columns: int = 8, scale: int = 3
) -> np.ndarray:
    """First-layer weights (units, 28, 28) as one (rows*29+1)*scale x (columns*29+1)*scale x 3 uint8
    mosaic of `diverging` tiles, 1-pixel dark gaps between them."""
    tiles = diverging(weights, shared_scale)
    rows = -(-len(tiles) // columns)
    mosaic = np.full((rows * 29 + 1, columns * 29 + 1, 3), GAP_GREY, np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        mosaic[1 + row * 29 : 29 + row * 29, 1 + column * 29 : 29 + column * 29] = tile
    return enlarge(mosaic, scale)


def saliency(image: np.ndarray, attribution: np.ndarray, scale: int = 7) -> np.ndarray:
    """A (28, 28) image with its (28, 28) attribution laid over it, as (28s, 28s, 3) uint8.

    The ink (in [0, 1], or uint8 0..255) is light grey on white; the map's red end marks pixels that
    raised the score, its blue end ones that lowered it, stronger for larger shares (relative to the
    largest, on a square-root scale, which lifts the middling shares that linear colours hide).
    """
    ink = np.asarray(image, np.float32) / (255 if np.asarray(image).dtype == np.uint8 else 1)
    share = np.asarray(attribution, np.float32)
    share = np.clip(share / (np.abs(share).max() + 1e-12), -1, 1)[..., None]  # (28, 28, 1) in [-1, 1]
    grey = np.repeat((1 - INK_SHADE * ink)[..., None], 3, axis=2)
    strength = np.sqrt(np.abs(share))
    rgb = grey * (1 - strength) + diverging_rgb(np.sign(share[..., 0])) * strength
    return enlarge(_to_uint8(rgb), scale)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.asarray(rgb) * 255).round().astype(np.uint8)


@functools.lru_cache(maxsize=4096)  # a few hundred (count, most) pairs in practice; a lookup costs ~40 µs
def error_fill(count: float, most: float, least: float = 1) -> str:
    """The "#rrggbb" shade of a confusion cell holding `count` (>= `least`) errors when the worst holds
    `most`; counts, or shares of the true class with `least` the share of one error.

    The scale is matplotlib's "Oranges", a single-hue sequential map: its lightness falls steadily with
    the count, so it reads the same to the colour-blind (all three common kinds, tested) and in grey,
    and it stays apart from the grey diagonal (RIGHT_FILL) and the blue of the app's other charts.
    Counts go on a log scale over ERROR_SPAN of the map, so one error is already a clear peach
    (#fdd9b4) rather than the map's near-white, and one cell of 40 does not wash out the cells of 2 or
    3; give `most` at least LEAST_RANGE * `least`, so a worst cell of 2 is not painted as dark as one
    of 40.
    """
    from matplotlib import colors

    low, high = ERROR_SPAN
    return colors.to_hex(colormaps[ERROR_MAP](low + (high - low) * _log_position(count, most, least)))


@functools.lru_cache(maxsize=4096)
def change_fill(change: float, most: float, least: float = 1) -> str:
    """The "#rrggbb" shade of a cell whose count (or share) changed by `change` (nonzero, at least `least`
    in size) between two models, when the largest change is `most` in size.

    The app's diverging map (red more, blue fewer; see `diverging_rgb`, made to survive colour blindness),
    on the log scale of `error_fill` over CHANGE_SPAN of each half: a change of one is already a clear
    tint, and one large change does not wash out the small ones.
    """
    from matplotlib import colors

    low, high = CHANGE_SPAN
    strength = low + (high - low) * _log_position(abs(change), most, least)
    return colors.to_hex(diverging_rgb(np.array([np.sign(change) * strength]))[0])


def scale_ends(sizes: np.ndarray, largest_class: int | None = None) -> tuple[float, float]:
    """The least and most of the log scale of `error_fill` and `change_fill` for a matrix's error cells.

    Args:
        sizes: (k, k) sizes >= 0 of the cells (errors, or changes in them), the diagonal left out: counts,
            or with `largest_class` shares of each true class.
        largest_class: for shares, how many examples the largest true class holds; None for counts.

    Returns:
        (least, most): one error (1, or the share of one example of the largest class), and the largest
        error cell, at least LEAST_RANGE times the least so a worst cell of 2 is not painted darkest.
    """
    least = 1.0 if largest_class is None else 1 / max(largest_class, 1)
    errors = ~np.eye(len(sizes), dtype=bool)
    return least, max(float(np.asarray(sizes)[errors].max(initial=0)), LEAST_RANGE * least)


def _log_position(amount: float, most: float, least: float) -> float:
    """Where `amount` lies from `least` (0) to `most` (1) on a log scale, clipped; 0 when most <= least."""
    if most <= least:
        return 0.0
    return float(np.clip(np.log(amount / least) / np.log(most / least), 0.0, 1.0))


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2's contrast ratio of two "#rrggbb" colours, 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@functools.lru_cache(maxsize=4096)
def readable_ink(fill: str) -> str:
    """Black or white text, whichever contrasts more with `fill`: at least 4.58:1 for any colour."""
    return max(("#000000", "#ffffff"), key=lambda ink: contrast_ratio(ink, fill))


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance of a "#rrggbb" colour."""
    channels = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])
