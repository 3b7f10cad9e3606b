"""Probe a model: shift, rotate, scale and thicken the 28x28 input it reads, to see what it relies on.

The transforms act on the prepared 28x28 input, not on the ink before preprocessing. On the ink,
the preprocessing would undo most of them (cropping and centring cancel a shift, fitting to 20 px
cancels a scale, stroke adjustment cancels thickening), so the sliders would seem to do nothing.
On the input, every slider changes exactly what the model sees, and a learner watches a 2-pixel
shift, which a person hardly notices, change what an MLP reads: it has no notion of "the same
shape somewhere else", which is why `preprocess.prepare` crops, scales and centres first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage

SHIFT_LIMIT = 14.0  # pixels either way; a half-field shift moves a centred digit to the edge
ROTATION_LIMIT = 180.0  # degrees either way
# Shrinking below half size samples too sparsely for bilinear interpolation (strokes break up
# instead of thinning), and doubling already overflows the 28x28 field for a 20-px digit.
SCALE_RANGE = (0.5, 2.0)
# Each step of a grey dilation or erosion with a 3x3 cross moves every edge by 1 px, so the
# stroke width changes by 2 px a step; MNIST strokes are ~2.5 px, so thinning by 2 erases most.
STROKE_RANGE = (-2.0, 4.0)
STROKE_STEP_WIDTH = 2.0  # stroke width change, in pixels, of one dilation or erosion step
CROSS = ndimage.generate_binary_structure(2, 1)  # (3, 3) bool, the 4-neighbourhood


class ProbeError(ValueError):
    """A probe setting or an image that the transforms cannot use, with the reason."""


@dataclass(frozen=True)
class Probe:
    """One setting of the probe's sliders; the defaults change nothing.

    Rotation and scale turn and grow the digit about its own centre of mass, so they change its
    shape and size but not its place; the shift alone moves it.
    """

    shift_x: float = 0.0  # pixels to the right (negative: left), in [-14, 14]
    shift_y: float = 0.0  # pixels down (negative: up), in [-14, 14]
    rotation: float = 0.0  # degrees anticlockwise as shown on screen, in [-180, 180]
    scale: float = 1.0  # size factor, in [0.5, 2]
    stroke: float = 0.0  # pixels added to the stroke width (negative thins), in [-2, 4]

    def __post_init__(self) -> None:
        limits = {
            "shift_x": (-SHIFT_LIMIT, SHIFT_LIMIT),
            "shift_y": (-SHIFT_LIMIT, SHIFT_LIMIT),
            "rotation": (-ROTATION_LIMIT, ROTATION_LIMIT),
            "scale": SCALE_RANGE,
            "stroke": STROKE_RANGE,
        }
        defaults = {field.name: field.default for field in fields(self)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not (isinstance(value, int | float) and not isinstance(value, bool)) or not (
                math.isfinite(value) and low <= value <= high
            ):
                raise ProbeError(
                    f"Expected {name} to be a number in [{low:g}, {high:g}]. Received: {name}={value!r}. "
                    f"Choose a value within the range; {defaults[name]!r} changes nothing."
                )

    @property
    def is_identity(self) -> bool:
        """True when every setting is at its default, so `apply` returns the image unchanged."""
        return all(getattr(self, field.name) == field.default for field in fields(self))


def apply(image: np.ndarray, probe: Probe) -> np.ndarray:
    """The model's input with the probe's transforms applied: one bilinear resampling, then strokes.

    Rotation, scale and shift are folded into one affine map about the ink's centre of mass and
    sampled once with bilinear interpolation (values stay in [0, 1], no ringing), after a small
    blur when shrinking so that thin strokes are not skipped. The stroke
    change follows, in the model's pixels: grey dilation (thicker) or erosion (thinner) with a
    3x3 cross, blended between whole steps so the slider moves smoothly. Ink moved past the
    field's edge is lost, as it would be for the model.

    Args:
        image: (H, W) float in [0, 1], white ink on black; normally (28, 28) from
            `preprocess.prepare(...).centred`.
        probe: the transforms to apply.

    Returns:
        (H, W) float32 in [0, 1]; a copy of `image` when `probe` changes nothing or the image is
        blank.

    Raises:
        ProbeError: for an image that is not 2-D float in [0, 1].
    """
    image = _checked(image)
    pivot = centre_of_mass(image)
    if probe.is_identity or pivot is None:
        return image.copy()
    angle = math.radians(probe.rotation)
    cos, sin = math.cos(angle), math.sin(angle)
    # Forward, in (row, column) with rows going down: o = p + t + s * R (i - p), with R turning
    # anticlockwise on screen. ndimage wants the inverse: i = M o + offset.
    inverse_rotation = np.array([[cos, sin], [-sin, cos]])  # R(-angle)
    matrix = inverse_rotation / probe.scale
    pivot_array = np.array(pivot)
    offset = pivot_array - matrix @ (pivot_array + np.array([probe.shift_y, probe.shift_x]))
    source = image
    if probe.scale < 1:
        # Shrinking samples the source more sparsely than once a pixel, which would skip ink
        # (aliasing). Blur first so that bilinear sampling acts like a tent filter as wide as
        # the sample spacing, as PIL's resize does: a tent of half-width w has variance w^2 / 6.
        sigma = math.sqrt((1 / probe.scale**2 - 1) / 6)
        source = ndimage.gaussian_filter(image, sigma, mode="constant", cval=0.0)
    moved = ndimage.affine_transform(source, matrix, offset=offset, order=1, mode="constant", cval=0.0)
    return np.clip(_change_stroke(moved, probe.stroke), 0, 1).astype(np.float32)  # (H, W)


def centre_of_mass(image: np.ndarray) -> tuple[float, float] | None:
    """(row, column) of the ink's centre of mass in array indices, or None for a blank image.

    `preprocess.prepare` puts it at (14, 14) for the model's input.
    """
    image = _checked(image)
    mass = float(image.sum(dtype=np.float64))
    if mass <= 0:
        return None
    rows = image.sum(axis=1, dtype=np.float64) @ np.arange(image.shape[0]) / mass
    columns = image.sum(axis=0, dtype=np.float64) @ np.arange(image.shape[1]) / mass
    return float(rows), float(columns)


def _change_stroke(image: np.ndarray, change: float) -> np.ndarray:
    """Thicken (change > 0) or thin (change < 0) strokes by `change` px of width, (H, W) float."""
    steps = abs(change) / STROKE_STEP_WIDTH
    whole, fraction = int(steps), steps - int(steps)
    morph = ndimage.grey_dilation if change > 0 else ndimage.grey_erosion
    before = image
    for _ in range(whole):
        before = morph(before, footprint=CROSS, mode="constant", cval=0.0)
    if fraction == 0:
        return before
    after = morph(before, footprint=CROSS, mode="constant", cval=0.0)
    return before + fraction * (after - before)


def _checked(image: np.ndarray) -> np.ndarray:
    """Validate a 2-D float image in [0, 1] and return it as float32."""
    array = np.asarray(image)
    if array.ndim != 2 or array.size == 0 or not np.issubdtype(array.dtype, np.floating):
        raise ProbeError(
            "Expected a 2-D float image in [0, 1], white ink on black, such as "
            f"preprocess.prepare(...).centred. Received: shape={array.shape}, dtype={array.dtype}. "
            "Divide a 0..255 image by 255.0; squeeze a single channel with image[..., 0]."
        )
    if not (np.all(np.isfinite(array)) and array.min() >= 0 and array.max() <= 1):
        raise ProbeError(
            "Expected image values in [0, 1]. Received: values outside [0, 1] or not finite, "
            f"shape={array.shape}. Clip with np.clip(image, 0, 1), or divide 0..255 images by 255."
        )
    return array.astype(np.float32, copy=False)
