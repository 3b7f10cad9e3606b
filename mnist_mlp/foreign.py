"""Things that are not of a model's kind, drawn on the canvas: scribbles, shapes, letters, garments, digits.

Training can show a model some of them as images of no class (`outliers`, outlier exposure), so that
it spreads its probabilities evenly over the classes for such input; the Unsure verdict is measured
on fresh ones (benchmarks/unsure_verdict.py): other seeds, the test splits, letters in other fonts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from mnist_mlp import cores, pen

CANVAS_SIZE = pen.CANVAS_SIZE
# Letters that people write the way they write a digit (O and 0, I and 1, Z and 2, S and 5, B and 8,
# b and 6, g and 9, ...) are left out: no reader could call them "not a digit".
DIGIT_LIKE_LETTERS = set("OoQDIiLlJjZzSsBbGgqTt")
LETTERS = "".join(
    c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in DIGIT_LIKE_LETTERS
)
# Fonts that matplotlib ships: training shows a model letters in some, the benchmark uses the others.
TRAINING_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "STIXGeneral.ttf", "cmr10.ttf")
BENCHMARK_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSerif-Italic.ttf", "cmss10.ttf")
SCRIBBLE_STROKES = (1, 3)  # a scribble is one to three strokes
SCRIBBLE_POINTS = (4, 9)  # each a smooth curve through four to nine random points
MIN_SHAPE_FILL = 0.25  # a shape covers at least this share of its box
OUTLIER_CHUNK = 250  # images one worker draws with one seed: small enough to share the work evenly


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


def shapes(count: int, seed: int) -> Iterator[np.ndarray]:
    """Filled shapes on the canvas, polygons and ellipses at least half as tall as wide, RGBA canvases:
    blobs of ink, which no drawing of a digit is. (No rings: a ring is a 0; nothing tall and thin: a 1.)"""
    rng = np.random.default_rng(seed)
    scale = pen.SUPERSAMPLE
    made = 0
    while made < count:
        image = Image.new("L", (CANVAS_SIZE * scale, CANVAS_SIZE * scale), 0)
        painter = ImageDraw.Draw(image)
        width = int(rng.integers(60, CANVAS_SIZE - 10)) * scale
        height = int(width * rng.uniform(0.5, 1.0))
        top, left = (
            int(rng.integers(0, CANVAS_SIZE * scale - height + 1)),
            int(rng.integers(0, CANVAS_SIZE * scale - width + 1)),
        )
        if rng.random() < 0.4:
            painter.ellipse((left, top, left + width, top + height), fill=255)
        else:
            corners = rng.uniform(0, 1, (int(rng.integers(3, 8)), 2))
            around = np.argsort(np.arctan2(*(corners - corners.mean(axis=0)).T))  # a simple polygon
            points = corners[around] * (width, height) + (left, top)
            painter.polygon([tuple(point) for point in points], fill=255)
        alpha = np.asarray(image.resize((CANVAS_SIZE, CANVAS_SIZE), Image.Resampling.BOX))
        if np.count_nonzero(alpha > 127) < MIN_SHAPE_FILL * width * height / scale**2:
            continue  # a sliver: it could pass for a stroke
        canvas = np.zeros((CANVAS_SIZE, CANVAS_SIZE, 4), np.uint8)
        canvas[alpha > 0, :3] = 255
        canvas[..., 3] = alpha
        made += 1
        yield canvas


def outliers(dataset: str, count: int, seed: int) -> np.ndarray:
    """Images of no class for training a `dataset` model (outlier exposure), prepared as the Draw page
    prepares a drawing: (count, 28, 28) uint8, ink white on black.

    For a digit model a quarter each of scribbles, filled shapes, letters in TRAINING_FONTS and garments
    (Fashion-MNIST training images); for a clothing model half scribbles, half digits (MNIST training
    images): no shapes, as a bag is one. The benchmark draws fresh ones, letters in other fonts.
    Drawn in chunks of OUTLIER_CHUNK on every core, each with its own seed, and kept on disk
    (`diskcache`, keyed by the other dataset's chosen images, the count, the seed and the code).
    """
    from mnist_mlp import data, diskcache

    kinds = 4 if dataset == "mnist" else 2
    if count < kinds:
        raise ValueError(f"Expected at least {kinds} outliers (one of each kind). Received: count={count}.")
    other = data.load("fashion_mnist" if dataset == "mnist" else "mnist")
    rng = np.random.default_rng(seed)
    share = count // kinds
    chosen = other.x_train[rng.choice(len(other.x_train), share, replace=len(other.x_train) < share)]
    drawn = {"scribbles": count - (kinds - 1) * share}
    if dataset == "mnist":
        drawn |= {"shapes": share, "letters": share}
    key = {
        "images": diskcache.digest(chosen),
        "drawn": drawn,
        "seed": seed,
        "chunk": OUTLIER_CHUNK,
        "code": diskcache.code_version(*pen.RENDER_MODULES, __name__),
    }
    return diskcache.cached("outliers", key, lambda: {"images": _outliers(chosen, drawn, seed)})["images"]


def _outliers(chosen: np.ndarray, drawn: dict[str, int], seed: int) -> np.ndarray:
    """The chosen images, then each kind's count drawn, prepared: (m <= n, 28, 28) uint8."""
    jobs: list[tuple] = [
        ("images", chosen[start : start + OUTLIER_CHUNK]) for start in range(0, len(chosen), OUTLIER_CHUNK)
    ]
    for kind, total in drawn.items():
        jobs += [(kind, min(OUTLIER_CHUNK, total - start)) for start in range(0, total, OUTLIER_CHUNK)]
    seeds = np.random.SeedSequence(seed).spawn(len(jobs))  # one per chunk, whoever draws it
    jobs = [(*job, int(job_seed.generate_state(1)[0])) for job, job_seed in zip(jobs, seeds, strict=True)]
    parts = list(cores.on_every_core(_outlier_chunk, jobs, "images of no class"))
    return np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.uint8)


def _outlier_chunk(kind: str, what: np.ndarray | int, seed: int) -> np.ndarray:
    """One chunk of `outliers`: `what` images prepared, or `what` of a kind drawn and prepared."""
    from mnist_mlp import preprocess

    if kind == "images":
        canvases = what
    elif kind == "scribbles":
        canvases = scribbles(what, seed)
    elif kind == "shapes":
        canvases = shapes(what, seed)
    else:
        canvases = (canvas for _, canvas in letters(what, seed, TRAINING_FONTS))
    prepared = [preprocess.to_mnist(image) for image in canvases]
    images = [np.rint(image * 255).astype(np.uint8) for image in prepared if image is not None]
    return np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)


def letters(
    count: int, seed: int, fonts: tuple[str, ...] = BENCHMARK_FONTS
) -> Iterator[tuple[str, np.ndarray]]:
    """Letters that are not shaped like digits (LETTERS), traced from fonts and drawn as pen strokes.

    Yields (letter, (280, 280, 4) uint8 RGBA canvas).
    """
    rng = np.random.default_rng(seed)
    fonts = [_font(name) for name in fonts]
    for _ in range(count):
        letter = LETTERS[int(rng.integers(len(LETTERS)))]
        glyph = _glyph(letter, fonts[int(rng.integers(len(fonts)))])  # (28, 28) uint8, ink white
        yield letter, pen.random_draw(glyph, rng, shake=rng.uniform(0, pen.MAX_TRAINING_SHAKE)).canvas


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
    crop = crop.resize(
        (max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.Resampling.LANCZOS
    )
    field = Image.new("L", (28, 28), 0)
    field.paste(crop, ((28 - crop.width) // 2, (28 - crop.height) // 2))
    return np.asarray(field)
