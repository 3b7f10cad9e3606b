"""Digits as people draw them: a digit's centre line traced into strokes and drawn again with one pen.

A person draws with one brush width, a few strokes, at any size and place. MNIST's digits were
written with pens of many widths and scanned, so scaling an MNIST bitmap up keeps MNIST's own pen;
these renders do not. The benchmarks, the browser tests and pen-stroke training use them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from mnist_mlp import cores
from mnist_mlp.datasets import Split

CANVAS_SIZE = 280  # the Draw page's canvas, px
BRUSH_RANGE = (6, 40)  # the Draw page's brush slider, canvas px
TRACE_SCALE = 4  # the digit is thinned at 4x (112x112): a smoother centre line than at 28x28
MIN_STROKE_LENGTH = 3.0  # traced branches shorter than this (digit px) are thinning spurs, not strokes
SMOOTHING = 1.5  # digit px: the traced pixel path is smoothed along its length, as a hand moves
SUPERSAMPLE = 3  # strokes are drawn at 3x and shrunk: anti-aliased edges like the browser canvas
MIN_SIZE = 40  # px: smaller is a tap, not a drawing (preprocess.to_mnist calls it blank)
LEGIBLE_BRUSH_SHARE = 1 / 6  # a brush up to this share of the drawing's longer side leaves it legible
LEGIBLE_TRAINING_SHARE = 0.75  # pen-stroke training renders drawn large enough for the pen
# The modules whose code decides what a render looks like: cached renders are kept per their source.
RENDER_MODULES = ("mnist_mlp.pen", "mnist_mlp.preprocess", "mnist_mlp.ink")
RENDER_CHUNK = 500  # digits one worker draws with one seed; the unit of progress too
MAX_RENDERED_DIGITS = 60_000  # every digit of the full MNIST training set; a larger set gets this many
MAX_TRAINING_SHAKE = 0.02  # their shaky hand wanders by up to 2% of the drawing's size
_NEIGHBOURS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


@dataclass(frozen=True, eq=False)
class PenDrawing:
    """One digit drawn again as pen strokes on a canvas."""

    strokes: tuple[np.ndarray, ...]  # each (k, 2) float32 canvas (x, y) points, in drawing order
    brush: int  # pen width, canvas px
    canvas: np.ndarray  # (280, 280, 4) uint8 RGBA, white ink on transparent, like st_canvas returns


def trace(digit: np.ndarray) -> list[np.ndarray]:
    """The centre line of a digit as strokes, the way a pen would go over it.

    The digit is thinned to a one-pixel skeleton (scikit-image's `skeletonize`), which is then
    walked from its ends into paths; a loop with no end (an "0") becomes one closed stroke.

    Args:
        digit: (28, 28) uint8 in 0..255, white ink on black (any 2-D size works).

    Returns:
        Strokes, each (k, 2) float32 (row, column) points in the digit's pixel coordinates.

    Raises:
        ValueError: for an array that is not 2-D uint8, or a digit with too little ink to trace.
    """
    from skimage.morphology import skeletonize  # scikit-image is slow to import; only pen work needs it

    digit = np.asarray(digit)
    if digit.ndim != 2 or digit.dtype != np.uint8:
        raise ValueError(
            "Expected a digit array of shape (H, W) with dtype uint8, white ink on black. "
            f"Received: shape={digit.shape}, dtype={digit.dtype}."
        )
    big = Image.fromarray(digit).resize(
        (digit.shape[1] * TRACE_SCALE, digit.shape[0] * TRACE_SCALE), Image.Resampling.BICUBIC
    )
    skeleton = skeletonize(np.asarray(big) >= 128)
    paths = [np.asarray(path, np.float32) for path in _walk(skeleton)]
    # Pixel centres at 4x back to digit coordinates: pixel i of the big image covers [i/4, (i+1)/4).
    strokes = [(path + 0.5) / TRACE_SCALE - 0.5 for path in paths]
    long_enough = [s for s in strokes if _length(s) >= MIN_STROKE_LENGTH]
    if not long_enough:
        if not strokes:
            raise ValueError("Expected a digit with strokes to trace. Received: too little ink.")
        long_enough = [max(strokes, key=_length)]
    return [_smooth(stroke, SMOOTHING) for stroke in long_enough]


def draw(
    digit: np.ndarray,
    *,
    brush: int,
    size: int,
    top: int,
    left: int,
    shake: float = 0.0,
    seed: int = 0,
    canvas_size: int = CANVAS_SIZE,
    strokes: list[np.ndarray] | None = None,
) -> PenDrawing:
    """Draw a digit again with one round pen, `size` px tall or wide, at (top, left) on a canvas.

    Args:
        digit: as for `trace`.
        brush: pen width in canvas px, within BRUSH_RANGE.
        size: the longer side of the drawing's ink box in canvas px, the pen included.
        top, left: canvas position of the ink box's top-left corner.
        shake: a shaky hand: each stroke point wanders smoothly by up to about this share of
            `size` (0.02 is a noticeable wobble); 0 draws the centre line exactly.
        seed: the wobble follows it.
        strokes: the digit's strokes when already traced (`trace(digit)`): a digit drawn many ways
            is traced once.

    Returns:
        PenDrawing.

    Raises:
        ValueError: out-of-range brush, size or place, a drawing that does not fit, or as `trace`.
    """
    strokes = trace(digit) if strokes is None else strokes
    if not (BRUSH_RANGE[0] <= brush <= BRUSH_RANGE[1]) or not 0 <= shake <= 0.1:
        raise ValueError(
            f"Expected a brush in {BRUSH_RANGE[0]}..{BRUSH_RANGE[1]} px and a shake in [0, 0.1]. "
            f"Received: brush={brush!r}, shake={shake!r}."
        )
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)  # (row, column) of the centre line's box
    extent = float(max(high - low))
    if size <= brush or extent <= 0:
        raise ValueError(f"Expected a drawing larger than its pen. Received: size={size}, brush={brush}.")
    scale = (size - brush) / extent  # canvas px per digit px: the pen adds half a width each side
    height, width = ((high - low) * scale + brush).round().astype(int)
    if top < 0 or left < 0 or top + height > canvas_size or left + width > canvas_size:
        raise ValueError(
            f"Expected the drawing to fit on the {canvas_size}x{canvas_size} canvas. Received: "
            f"top={top}, left={left}, a drawing {height}x{width} px. Move it up or left or draw smaller."
        )
    rng = np.random.default_rng(seed)
    origin = np.array([top, left], np.float32) + brush / 2
    placed = []
    for stroke in strokes:
        moved = (stroke - low) * scale + origin  # (k, 2) canvas (row, column)
        if shake:
            moved = moved + _wobble(len(moved), shake * size, rng)
        placed.append(np.ascontiguousarray(moved[:, ::-1], np.float32))  # (x, y), as a pointer moves
    return PenDrawing(tuple(placed), brush, render(placed, brush, canvas_size))


def render(strokes: list[np.ndarray], brush: int, canvas_size: int = CANVAS_SIZE) -> np.ndarray:
    """Strokes of (x, y) canvas points drawn with a round pen: (size, size, 4) uint8 RGBA.

    White ink on a transparent canvas, round caps and joins, anti-aliased: what the Draw page's
    canvas returns for the same strokes.
    """
    scale = SUPERSAMPLE
    image = Image.new("L", (canvas_size * scale, canvas_size * scale), 0)
    pen = ImageDraw.Draw(image)
    radius = brush * scale / 2
    for stroke in strokes:
        points = [(float(x) * scale, float(y) * scale) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=255, width=round(brush * scale))
        # A disc at every point gives round joins and caps; PIL's own curved joins cost 3x as much.
        for x, y in points:
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    alpha = np.asarray(image.resize((canvas_size, canvas_size), Image.Resampling.BOX))
    canvas = np.zeros((canvas_size, canvas_size, 4), np.uint8)
    canvas[alpha > 0, :3] = 255
    canvas[..., 3] = alpha
    return canvas


def random_draw(
    digit: np.ndarray,
    rng: np.random.Generator,
    *,
    brush: int | None = None,
    legible: bool = True,
    shake: float = 0.0,
    canvas_size: int = CANVAS_SIZE,
    strokes: list[np.ndarray] | None = None,
) -> PenDrawing:
    """Draw a digit with a random pen (or `brush`), size and place, as people draw.

    Args:
        rng: all random choices follow it.
        legible: drawn large enough for the pen (the pen at most LEGIBLE_BRUSH_SHARE of the
            drawing's longer side); off, drawn small for the pen (1/6 to 1/3 of it).
        strokes: the digit's strokes when already traced (`trace(digit)`), to save tracing again.
    """
    brush = int(rng.integers(BRUSH_RANGE[0], BRUSH_RANGE[1] + 1)) if brush is None else brush
    share = LEGIBLE_BRUSH_SHARE
    smallest = max(MIN_SIZE, round(brush / share) if legible else brush * 3)
    largest = canvas_size - 10 if legible else max(smallest, round(brush / share))
    size = int(rng.integers(min(smallest, largest), largest + 1))
    # The drawing's box is at most size x size: any place that keeps that square on the canvas.
    top, left = (int(v) for v in rng.integers(0, canvas_size - size + 1, 2))
    return draw(
        digit,
        brush=brush,
        size=size,
        top=top,
        left=left,
        shake=shake,
        seed=int(rng.integers(2**31)),
        canvas_size=canvas_size,
        strokes=strokes,
    )


def _walk(skeleton: np.ndarray) -> list[list[tuple[int, int]]]:
    """Paths through a one-pixel skeleton, each a list of (row, column), every edge used once.

    Paths start at ends (one neighbour) first, then anywhere on what is left (closed loops), and
    at each pixel carry on in the direction they were going, as a pen does through a crossing.
    """
    on = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton), strict=True)}
    neighbours = {
        p: [(p[0] + dr, p[1] + dc) for dr, dc in _NEIGHBOURS if (p[0] + dr, p[1] + dc) in on] for p in on
    }
    used: set[frozenset] = set()
    paths = []

    def free(p):
        return [q for q in neighbours[p] if frozenset((p, q)) not in used]

    ends = sorted(p for p in on if len(neighbours[p]) == 1)
    for start in ends + sorted(on):
        while free(start):
            path = [start]
            current, direction = start, None
            while options := free(current):
                following = min(options, key=lambda q: _turn(direction, current, q))
                used.add(frozenset((current, following)))
                direction = (following[0] - current[0], following[1] - current[1])
                current = following
                path.append(current)
            paths.append(path)
    return paths


def _turn(direction: tuple[int, int] | None, at: tuple[int, int], to: tuple[int, int]) -> float:
    """How sharply going from `at` to `to` turns away from `direction` (0 straight on, 2 back)."""
    step = (to[0] - at[0], to[1] - at[1])
    # Prefer the 4-neighbours on a tie: a diagonal beside them would skip a pixel of the line.
    diagonal = 0.01 if step[0] and step[1] else 0.0
    if direction is None:
        return diagonal
    cosine = (step[0] * direction[0] + step[1] * direction[1]) / (np.hypot(*step) * np.hypot(*direction))
    return 1 - cosine + diagonal


def _length(stroke: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum()) if len(stroke) > 1 else 0.0


def _smooth(stroke: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth a path along its length (sigma in digit px), keeping its ends and closing loops."""
    if len(stroke) < 3:
        return stroke
    closed = bool(np.linalg.norm(stroke[0] - stroke[-1]) < 1.0)
    step = max(_length(stroke) / (len(stroke) - 1), 1e-6)
    mode = "wrap" if closed else "nearest"
    body = stroke[:-1] if closed else stroke
    smoothed = ndimage.gaussian_filter1d(body, sigma / step, axis=0, mode=mode)
    if closed:
        return np.concatenate([smoothed, smoothed[:1]]).astype(np.float32)
    smoothed[0], smoothed[-1] = stroke[0], stroke[-1]
    return smoothed.astype(np.float32)


def _wobble(count: int, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """(count, 2) smooth random offsets of about `amplitude` px: a hand that is not quite steady."""
    noise = rng.normal(0, 1, (count, 2))
    smooth = ndimage.gaussian_filter1d(noise, max(count / 6, 1.0), axis=0, mode="nearest")
    peak = float(np.abs(smooth).max()) or 1.0
    return (smooth / peak * amplitude).astype(np.float32)


def add_renders(
    images: np.ndarray,
    labels: np.ndarray,
    per_digit: int,
    *,
    seed: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Training images with each digit also drawn again as pen strokes, prepared as the Draw page does.

    Each render has its own random pen (BRUSH_RANGE), size, place and a slightly shaky hand; three in
    four are drawn large enough for the pen, the rest small for it (loops fill, as they do on a phone).
    Every render goes through `preprocess.to_mnist`, so the model learns what drawings become.

    Args:
        images: (n, 28, 28) uint8, ink white on black; labels: (n,) integer labels.
        per_digit: renders of each image to add, >= 1.
        seed: the same inputs and seed give the same renders.
        on_progress: called with (images done, n) as each chunk of RENDER_CHUNK images is drawn.

    Returns:
        ((n * (1 + per_digit), 28, 28) uint8, labels): the originals first, then the renders.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.dtype != np.uint8 or labels.shape != (len(images),) or per_digit < 1:
        raise ValueError(
            "Expected (n, 28, 28) uint8 images, n labels and per_digit >= 1. Received: "
            f"images {images.shape} {images.dtype}, labels {labels.shape}, per_digit={per_digit!r}."
        )
    starts = range(0, len(images), RENDER_CHUNK)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))  # one per chunk, whoever draws it
    chunks = [
        (images[start : start + RENDER_CHUNK], per_digit, chunk_seed)
        for start, chunk_seed in zip(starts, seeds, strict=True)
    ]
    parts = []
    # Drawing is one core's work per chunk (~2.5 ms a render): worker processes draw them side by side.
    drawn = cores.on_every_core(_render_chunk, chunks, "pen renders")
    with contextlib.closing(drawn) as drawn_chunks:  # the pool ends if we stop
        for part in drawn_chunks:
            parts.append(part)
            if on_progress is not None:
                on_progress(min(len(parts) * RENDER_CHUNK, len(images)), len(images))
    renders = np.concatenate(parts) if parts else np.zeros((0, per_digit, *images.shape[1:]), np.uint8)
    drawn = renders.any(axis=(2, 3))  # (n, k): renders that came out
    extra_images = renders[drawn]
    extra_labels = np.repeat(labels[:, None], per_digit, axis=1)[drawn]
    return np.concatenate([images, extra_images]), np.concatenate([labels, extra_labels])


def _render_chunk(images: np.ndarray, per_digit: int, seed: np.random.SeedSequence) -> np.ndarray:
    """(n, per_digit, 28, 28) uint8 renders of `images` (all zero where none came out)."""
    from mnist_mlp import preprocess

    rng = np.random.default_rng(seed)
    renders = np.zeros((len(images), per_digit, *images.shape[1:]), np.uint8)
    for index, digit in enumerate(images):
        if digit.max() >= 128:  # a digit too faint to trace stays out: its renders stay blank
            strokes = trace(digit)
            for variant in range(per_digit):
                legible = rng.random() < LEGIBLE_TRAINING_SHARE
                shake = rng.uniform(0, MAX_TRAINING_SHAKE)
                picture = random_draw(digit, rng, legible=legible, shake=shake, strokes=strokes)
                prepared = preprocess.to_mnist(picture.canvas)  # (28, 28) float32 in [0, 1], or None
                if prepared is not None:
                    renders[index, variant] = np.rint(prepared * 255).astype(np.uint8)
    return renders


def with_renders(
    split: Split,
    per_digit: int,
    *,
    seed: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Split:
    """`split` with `per_digit` pen renders of each training digit and one of
    each validation digit added (`add_renders`), so that validation measures drawings too.

    Of a large set (the full MNIST) only MAX_RENDERED_DIGITS random training digits and a tenth as
    many validation digits are drawn again, which bounds the time before training to minutes. The
    renders are kept on disk (`diskcache`, keyed by the split's content, `per_digit`, the seed and
    the drawing code): the same call again reads them in about a second.

    on_progress: called with (digits done, digits in all) as the renders are made (once, with all
        done, when they are read from the cache).
    """
    from mnist_mlp import diskcache

    key = {
        "split": diskcache.digest(*split),
        "per_digit": per_digit,
        "seed": seed,
        "limit": MAX_RENDERED_DIGITS,
        "chunk": RENDER_CHUNK,  # each chunk has its own seed
        "code": diskcache.code_version(*RENDER_MODULES),
    }
    rng = np.random.default_rng(seed)
    train_chosen = _some(len(split.x_train), MAX_RENDERED_DIGITS, rng)
    val_chosen = _some(len(split.x_val), MAX_RENDERED_DIGITS // 10, rng)
    total = len(train_chosen) + len(val_chosen)
    added = diskcache.cached(
        "pen-renders", key, lambda: _renders(split, train_chosen, val_chosen, per_digit, seed, on_progress)
    )
    if on_progress is not None:
        on_progress(total, total)
    return Split(
        np.concatenate([split.x_train, added["x_train"]]),
        np.concatenate([split.y_train, added["y_train"]]),
        np.concatenate([split.x_val, added["x_val"]]),
        np.concatenate([split.y_val, added["y_val"]]),
    )


def _renders(
    split: Split,
    train_chosen: np.ndarray,
    val_chosen: np.ndarray,
    per_digit: int,
    seed: int,
    on_progress: Callable[[int, int], None] | None,
) -> dict[str, np.ndarray]:
    """The renders `with_renders` adds, as arrays named x_train, y_train, x_val and y_val."""
    x_train, y_train, x_val, y_val = split
    total = len(train_chosen) + len(val_chosen)

    def training_progress(done: int, _: int) -> None:
        if on_progress is not None:
            on_progress(done, total)

    def validation_progress(done: int, _: int) -> None:
        if on_progress is not None:
            on_progress(len(train_chosen) + done, total)

    train_x, train_y = add_renders(
        x_train[train_chosen], y_train[train_chosen], per_digit, seed=seed, on_progress=training_progress
    )
    val_x, val_y = add_renders(
        x_val[val_chosen], y_val[val_chosen], 1, seed=seed + 1, on_progress=validation_progress
    )
    originals, val_originals = len(train_chosen), len(val_chosen)  # add_renders puts them first
    return {
        "x_train": train_x[originals:],
        "y_train": train_y[originals:],
        "x_val": val_x[val_originals:],
        "y_val": val_y[val_originals:],
    }


def _some(count: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    """All of range(count) in order, or `limit` of them chosen at random, sorted."""
    return np.arange(count) if count <= limit else np.sort(rng.choice(count, limit, replace=False))
