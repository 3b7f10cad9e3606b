"""What a canvas drawing of a digit looks like: an MNIST digit rendered as st_canvas returns it.

A test helper, not part of the product: tests and benchmarks (drawing_robustness, unsure_verdict) use it
to make realistic canvas inputs for `preprocess`; training draws its inputs with `pen` and `foreign`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np
from PIL import Image

from mnist_mlp import pen
from mnist_mlp.preprocess import resize

CANVAS_SIZE = pen.CANVAS_SIZE

Background = Literal["transparent", "black", "white"]


def render_on_canvas(
    digit: np.ndarray,
    *,
    canvas_size: int = 280,
    height: int,
    top: int,
    left: int,
    ink: tuple[int, int, int] = (255, 255, 255),
    background: Background = "transparent",
) -> np.ndarray:
    """Draw an MNIST digit on a canvas the way a person would.

    Args:
        digit: (28, 28) uint8 in [0, 255], white ink on black (any 2-D size works).
        canvas_size: side of the square canvas in pixels.
        height: height of the ink in canvas pixels; the width follows the digit's aspect.
        top, left: canvas position of the ink box's top-left corner.
        ink: RGB ink colour, 0..255 each.
        background: "transparent" (alpha carries the ink), "black" or "white".

    Returns:
        (canvas_size, canvas_size, 4) uint8 RGBA, like `st_canvas(...).image_data`.

    Raises:
        ValueError: for a digit that is not 2-D uint8 with some ink, unknown colours, or a
            drawing that does not fit on the canvas.
    """
    crop = _digit_crop(digit)  # (h, w) float32 in [0, 1], the digit's ink box
    paper = _check_colours(ink, background)  # (3,) float32 RGB, None when transparent
    placement = (canvas_size, height, top, left)
    if not all(isinstance(value, int | np.integer) for value in placement):
        raise ValueError(
            "Expected integer canvas_size, height, top and left. Received: "
            f"canvas_size={canvas_size!r}, height={height!r}, top={top!r}, left={left!r}."
        )
    width = max(1, round(crop.shape[1] * height / crop.shape[0])) if height >= 1 else 0
    if not (
        canvas_size >= 1
        and height >= 1
        and top >= 0
        and left >= 0
        and top + height <= canvas_size
        and left + width <= canvas_size
    ):
        raise ValueError(
            "Expected the drawing to fit on the canvas. Received: "
            f"canvas_size={canvas_size}, height={height}, top={top}, left={left} "
            f"(the ink would be {width} px wide at this height). "
            "Choose a smaller height or move the drawing up or left."
        )
    alpha = np.zeros((canvas_size, canvas_size), np.float32)
    # Bicubic upscaling gives smooth, anti-aliased edges like a canvas brush.
    alpha[top : top + height, left : left + width] = np.clip(
        resize(crop, (height, width), Image.Resampling.BICUBIC), 0, 1
    )
    ink_colour = np.array(ink, np.float32)
    canvas = np.zeros((canvas_size, canvas_size, 4), np.uint8)
    if paper is None:
        # Like a browser canvas: un-premultiplied ink colour wherever alpha is not zero.
        canvas[..., :3] = np.where(alpha[..., None] > 0, ink_colour, 0).astype(np.uint8)
        canvas[..., 3] = np.rint(alpha * 255).astype(np.uint8)
    else:
        blend = paper + alpha[..., None] * (ink_colour - paper)
        canvas[..., :3] = np.rint(blend).astype(np.uint8)
        canvas[..., 3] = 255
    return canvas


def _digit_crop(digit: np.ndarray) -> np.ndarray:
    """Validate an MNIST digit and return its ink box as (h, w) float32 in [0, 1]."""
    digit = np.asarray(digit)
    if digit.ndim != 2 or digit.dtype != np.uint8:
        raise ValueError(
            "Expected a digit array of shape (H, W) with dtype uint8, white ink on black. "
            f"Received: shape={digit.shape}, dtype={digit.dtype}. "
            "Convert an MNIST row with x.reshape(28, 28).astype(np.uint8)."
        )
    rows = np.flatnonzero(digit.any(axis=1))
    columns = np.flatnonzero(digit.any(axis=0))
    if rows.size == 0:
        raise ValueError(
            "Expected a digit with some ink. Received: an all-zero digit array of shape "
            f"{digit.shape}. Pass a digit drawn white on black."
        )
    return digit[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1].astype(np.float32) / 255


def _check_colours(ink: tuple[int, int, int], background: str) -> np.ndarray | None:
    """Validate canvas colours; returns the paper's RGB as float32, None when transparent."""
    papers = {"transparent": None, "black": (0, 0, 0), "white": (255, 255, 255)}
    if background not in papers:
        raise ValueError(
            'Expected background to be "transparent", "black" or "white". '
            f"Received: background={background!r}."
        )
    if len(ink) != 3 or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in ink):
        raise ValueError(
            f"Expected ink to be an RGB tuple of three integers in [0, 255]. Received: ink={ink!r}."
        )
    if papers[background] == tuple(ink):
        raise ValueError(
            "Expected an ink colour that differs from the background, or nothing would show. "
            f"Received: ink={ink!r}, background={background!r}. Choose another ink colour."
        )
    return None if papers[background] is None else np.array(papers[background], np.float32)


def bitmaps(images: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    """28x28 pictures (garments, digits) scaled up onto the canvas at a random size and place."""
    rng = np.random.default_rng(seed)
    for image in images:
        if not image.any():
            continue
        height = int(rng.integers(100, CANVAS_SIZE - 10))
        top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE - height + 1, 2))
        rows = np.flatnonzero(image.any(axis=1))
        columns = np.flatnonzero(image.any(axis=0))
        width = round((columns[-1] - columns[0] + 1) * height / (rows[-1] - rows[0] + 1))
        if left + width > CANVAS_SIZE:
            height = max(10, height * (CANVAS_SIZE - left) // max(width, 1))
        yield render_on_canvas(image, canvas_size=CANVAS_SIZE, height=height, top=top, left=left)
