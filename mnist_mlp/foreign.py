"""Things that are not of a model's kind, drawn on the canvas: scribbles, letters, garments, digits.

The Unsure verdict is measured on them (benchmarks/unsure_verdict.py and the tests); none of them
is used to train a model or to set its Unsure limits, which come from validation images alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_mlp import pen
from mnist_mlp.canvas import render_on_canvas

CANVAS_SIZE = pen.CANVAS_SIZE
# Letters that people write the way they write a digit (O and 0, I and 1, Z and 2, S and 5, B and 8,
# b and 6, g and 9, ...) are left out: no reader could call them "not a digit".
DIGIT_LIKE_LETTERS = set("OoQDIiLlJjZzSsBbGgqTt")
LETTERS = "".join(
    c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in DIGIT_LIKE_LETTERS
)
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")
SCRIBBLE_STROKES = (1, 3)  # a scribble is one to three strokes
SCRIBBLE_POINTS = (4, 9)  # each a smooth curve through four to nine random points


def scribbles(count: int, seed: int) -> Iterator[np.ndarray]:
    """Random scribbles on the canvas, as (280, 280, 4) uint8 RGBA like st_canvas returns.

    Each is one to three smooth strokes through random points, with a random pen, size and place:
    what a person draws who is not drawing a digit.
    """
    rng = np.random.default_rng(seed)
    for _ in range(count):
        brush = int(rng.integers(pen.BRUSH_RANGE[0], pen.BRUSH_RANGE[1] + 1))
        size = int(rng.integers(max(60, brush * 6), CANVAS_SIZE - 10))
        top, left = (int(v) for v in rng.integers(0, CANVAS_SIZE - size + 1, 2))
        strokes = []
        for _ in range(int(rng.integers(SCRIBBLE_STROKES[0], SCRIBBLE_STROKES[1] + 1))):
            anchors = rng.uniform(0, 1, (int(rng.integers(SCRIBBLE_POINTS[0], SCRIBBLE_POINTS[1] + 1)), 2))
            curve = _through(anchors)  # (k, 2) in [0, 1]
            low = brush / 2
            strokes.append((curve * (size - brush) + low + np.array([left, top])).astype(np.float32))
        yield pen.render(strokes, brush)


def letters(count: int, seed: int) -> Iterator[tuple[str, np.ndarray]]:
    """Letters that are not shaped like digits (LETTERS), traced from fonts and drawn as pen strokes.

    Yields (letter, (280, 280, 4) uint8 RGBA canvas).
    """
    rng = np.random.default_rng(seed)
    fonts = [_font(name) for name in FONT_FILES]
    for _ in range(count):
        letter = LETTERS[int(rng.integers(len(LETTERS)))]
        glyph = _glyph(letter, fonts[int(rng.integers(len(fonts)))])  # (28, 28) uint8, ink white
        yield letter, pen.random_draw(glyph, rng, shake=rng.uniform(0, pen.MAX_TRAINING_SHAKE)).canvas


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


def pen_digits(digits: np.ndarray, seed: int, *, shake: float = 0.01) -> Iterator[np.ndarray]:
    """Digits drawn again as pen strokes with a random pen, size and place (see `pen`)."""
    rng = np.random.default_rng(seed)
    for digit in digits:
        yield pen.random_draw(digit, rng, shake=shake).canvas


def _through(anchors: np.ndarray, steps: int = 12) -> np.ndarray:
    """A smooth curve through the (m, 2) anchor points (Catmull-Rom), (k, 2) points."""
    padded = np.concatenate([anchors[:1], anchors, anchors[-1:]])
    parts = []
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    for p0, p1, p2, p3 in zip(padded, padded[1:], padded[2:], padded[3:], strict=False):
        parts.append(
            0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                   + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )  # fmt: skip
    parts.append(anchors[-1:])
    return np.clip(np.concatenate(parts), 0, 1)


def _font(name: str) -> Path:
    import matplotlib  # ships the DejaVu fonts: no system font needed

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


def _glyph(letter: str, font_file: Path) -> np.ndarray:
    """A letter rendered white on black, fitted into 20x20 of a 28x28 field, (28, 28) uint8."""
    font = ImageFont.truetype(str(font_file), 64)
    image = Image.new("L", (96, 96), 0)
    ImageDraw.Draw(image).text((48, 48), letter, fill=255, font=font, anchor="mm")
    pixels = np.asarray(image)
    rows = np.flatnonzero(pixels.any(axis=1))
    columns = np.flatnonzero(pixels.any(axis=0))
    crop = Image.fromarray(pixels[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1])
    scale = 20 / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))),
                       Image.Resampling.LANCZOS)  # fmt: skip
    field = Image.new("L", (28, 28), 0)
    field.paste(crop, ((28 - crop.width) // 2, (28 - crop.height) // 2))
    return np.asarray(field)
