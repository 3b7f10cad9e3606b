"""Drawing robustness: does the model read digits drawn on the app's canvas as well as MNIST's own?

    python -m benchmarks.drawing_robustness [--model NAME_OR_PATH] [--count N] [--seed S] [--test-set T]

Real MNIST digits the model never saw (MNIST's 10,000 test digits, from `python -m mnist_mlp fetch
mnist`; or with `--test-set sample` the bundled sample's 1,000, which are MNIST test digits too) are
drawn on a 280x280 canvas in two ways:
- as bitmaps: the 28x28 image scaled up to a random size, at a random place, in one of the
  canvas's colour schemes (MNIST's own pen, made larger);
- as pen strokes, the way people draw: the digit's centre line traced and drawn again with one
  round brush (10, 20, 30 or 40 px, the Draw page's range), a steady or a shaky hand, drawn large
  enough for the brush (the brush at most 1/6 of the drawing's size) or small for it.
Each drawing goes through `preprocess.to_mnist` and the model, as in the app, and is compared with the
model's reading of the original 28x28 image. A naive pipeline (resize the whole canvas to 28x28, as
most demos do) shows what the preprocessing buys. Prints Markdown tables and the goals: pen strokes
at least 99.0% and within 0.5 points of the originals, within 1 point at a 40 px brush, every class at
least 98.5% as pen strokes. The pen-stroke set-ups are drawn on every core, one process per set-up at a
time; each set-up has its own seed, so the drawings do not depend on how many cores there are.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from PIL import Image

from mnist_mlp import cores, data, model, pen, preprocess, store
from tests.canvas import render_on_canvas

if TYPE_CHECKING:
    import keras

CANVAS_SIZE = 280  # the app's canvas, px
SIZE_RANGE = (40, 260)  # longer side of the ink box in canvas px, uniform: a small scribble to nearly full
# Ink colour per background, as the canvas returns it. Transparent with white ink is what the app's
# canvas gives; on white paper the ink is a dark pen, pencil or blue biro.
INKS = {
    "transparent": ((255, 255, 255),),
    "black": ((255, 255, 255),),
    "white": ((0, 0, 0), (60, 60, 60), (20, 40, 140)),
}
BACKGROUNDS = tuple(INKS)
SIZE_BANDS = 3  # the size range is also reported in this many equal bands
GOAL_POINTS = 1.0  # the drawings' accuracy should be within this many points of the originals'
WARMUP_PREDICTIONS = 5  # the first calls trace the compiled predict function; not timed
PEN_BRUSHES = (10, 20, 30, 40)  # canvas px, across the Draw page's slider (6..40)
SHAKE = 0.015  # a shaky hand: stroke points wander by up to 1.5% of the drawing's size
PEN_GOAL = 0.99  # pen strokes read at least this well ...
PEN_GAP_POINTS = 0.5  # ... and within this many points of the originals
WIDE_BRUSH_GAP_POINTS = 1.0  # at the widest brush, drawn large enough for it
CLASS_GOAL = 0.985  # every class as pen strokes
TEST_SETS = ("full", "sample")  # MNIST's 10,000 test digits, or the bundled sample's 1,000 of them


@dataclass(frozen=True, eq=False)
class Drawing:
    """One test digit drawn on a canvas."""

    canvas: np.ndarray  # (280, 280, 4) uint8 RGBA, like st_canvas(...).image_data
    background: str  # one of BACKGROUNDS
    size: int  # longer side of the ink box, canvas px


@dataclass(frozen=True, eq=False)
class Results:
    """Which digits each pipeline read correctly, as (n,) bool arrays in the digits' order."""

    original: np.ndarray  # the 28x28 originals
    drawn: np.ndarray  # the drawings through to_mnist; a canvas found blank is wrong
    naive: np.ndarray  # the drawings through naive_to_mnist
    blank: int  # drawings to_mnist found blank


def draw_digits(digits: np.ndarray, seed: int = 0, canvas_size: int = CANVAS_SIZE) -> list[Drawing]:
    """Draw each digit as a person would: random size, place and colours, reproducible by seed.

    Args:
        digits: (n, 28, 28) uint8 in 0..255, white ink on black, each with some ink.
        seed: the same digits and seed always give the same drawings.
        canvas_size: side of the square canvas, px; must exceed SIZE_RANGE's upper end.

    Returns:
        n Drawings, in the digits' order.
    """
    if canvas_size <= SIZE_RANGE[1]:
        raise ValueError(
            f"Expected a canvas larger than the largest drawing ({SIZE_RANGE[1]} px). "
            f"Received: canvas_size={canvas_size}."
        )
    rng = np.random.default_rng(seed)
    drawings = []
    for digit in digits:
        rows = np.flatnonzero(digit.any(axis=1))
        columns = np.flatnonzero(digit.any(axis=0))
        ink_height, ink_width = rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1
        size = int(rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1))
        # render_on_canvas takes the height and keeps the aspect; `size` is the longer side.
        height = size if ink_height >= ink_width else max(1, round(size * ink_height / ink_width))
        width = max(1, round(ink_width * height / ink_height))
        background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
        inks = INKS[background]
        canvas = render_on_canvas(
            digit,
            canvas_size=canvas_size,
            height=height,
            top=int(rng.integers(0, canvas_size - height + 1)),
            left=int(rng.integers(0, canvas_size - width + 1)),
            ink=inks[rng.integers(len(inks))],
            background=background,
        )
        drawings.append(Drawing(canvas, background, size))
    return drawings


def naive_to_mnist(picture: Drawing) -> np.ndarray:
    """What most demos do: shrink the whole canvas to 28x28, no crop, scaling or centring.

    Given the benefit of the doubt: the ink is taken the right way round for its background
    (many demos get white paper wrong) and shrunk with area averaging, so thin strokes survive.

    Returns:
        (28, 28) float32 in [0, 1], white ink on black.
    """
    canvas = picture.canvas
    if picture.background == "transparent":
        ink = canvas[..., 3]
    elif picture.background == "black":
        ink = canvas[..., :3].max(axis=2)
    else:
        ink = 255 - canvas[..., :3].min(axis=2)
    small = Image.fromarray(ink).resize((28, 28), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255


def read_drawings(
    keras_model: keras.Model, drawings: list[Drawing]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted class per drawing through to_mnist and the model, one at a time, timed.

    Returns:
        predictions (n,) int, -1 where to_mnist found the canvas blank; seconds (n,) for
        to_mnist + predict; and seconds (n,) for to_mnist alone.
    """
    for _ in range(WARMUP_PREDICTIONS):
        model.predict(keras_model, np.zeros((1, 28, 28), np.float32))
    predictions = np.full(len(drawings), -1)
    total_seconds = np.zeros(len(drawings))
    prepare_seconds = np.zeros(len(drawings))
    for index, picture in enumerate(drawings):
        started = time.perf_counter()
        image = preprocess.to_mnist(picture.canvas)
        prepared = time.perf_counter()
        if image is not None:
            predictions[index] = model.predict(keras_model, image[None])[0].argmax()
        finished = time.perf_counter()
        total_seconds[index] = finished - started
        prepare_seconds[index] = prepared - started
    return predictions, total_seconds, prepare_seconds


def print_summary(results: Results, total_seconds: np.ndarray, prepare_seconds: np.ndarray) -> None:
    """The headline table: originals, drawings through to_mnist, drawings through the naive resize."""
    original, drawn, naive = results.original.mean(), results.drawn.mean(), results.naive.mean()
    timing = f"{_milliseconds(total_seconds)} (to_mnist alone {_milliseconds(prepare_seconds)})"
    print("| pipeline | accuracy | gap | found blank | to_mnist + predict, median / p99 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| original 28x28 digits | {original:.2%} | | | |")
    print(f"| drawn → `to_mnist` | {drawn:.2%} | {_points(drawn, original)} | {results.blank} | {timing} |")
    print(f"| drawn → naive resize to 28x28 | {naive:.2%} | {_points(naive, original)} | | |")


def print_breakdown(results: Results, drawings: list[Drawing]) -> None:
    """Accuracy by background and by ink size band, each next to the same digits' originals."""
    sizes = np.array([picture.size for picture in drawings])
    backgrounds = np.array([picture.background for picture in drawings])
    edges = np.linspace(SIZE_RANGE[0], SIZE_RANGE[1] + 1, SIZE_BANDS + 1).round().astype(int)
    subsets = [(f"{name} background", backgrounds == name) for name in BACKGROUNDS] + [
        (f"ink {low}..{high - 1} px", (sizes >= low) & (sizes < high))
        for low, high in itertools.pairwise(edges)
    ]
    print("| drawings | n | original | `to_mnist` | gap | naive |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, members in subsets:
        if not members.any():
            continue
        original, drawn = results.original[members].mean(), results.drawn[members].mean()
        naive = results.naive[members].mean()
        print(
            f"| {label} | {members.sum()} | {original:.2%} | {drawn:.2%} "
            f"| {_points(drawn, original)} | {naive:.2%} |"
        )


def pen_images(digits: np.ndarray, brush: int, *, legible: bool, shake: float, seed: int) -> np.ndarray:
    """Each digit drawn again as pen strokes and prepared by to_mnist: (n, 28, 28) float32 in [0, 1]
    (all zero where to_mnist found the canvas blank, which then reads as wrong or as a 0-ish guess)."""
    rng = np.random.default_rng(seed)
    prepared = np.zeros((len(digits), 28, 28), np.float32)
    for index, digit in enumerate(digits):
        image = preprocess.to_mnist(
            pen.random_draw(digit, rng, brush=brush, legible=legible, shake=shake).canvas
        )
        if image is not None:
            prepared[index] = image
    return prepared


@dataclass(frozen=True, eq=False)
class PenResults:
    """Which digits were read right as pen strokes, (n,) bool per (brush, legible, shaky) set-up."""

    correct: dict[tuple[int, bool, bool], np.ndarray]

    def pooled(self, *, legible: bool = True, shaky: bool | None = None) -> np.ndarray:
        """Every brush's results in one array (each digit once per brush)."""
        return np.concatenate(
            [
                correct
                for (_, large, steady), correct in self.correct.items()
                if large == legible and (shaky is None or steady == shaky)
            ]
        )


def read_pen_strokes(
    keras_model: keras.Model, digits: np.ndarray, labels: np.ndarray, seed: int
) -> PenResults:
    """Every digit drawn with each brush, steady and shaky, large enough for the brush and small for it."""
    setups = list(itertools.product(PEN_BRUSHES, (True, False), (False, True)))
    correct = {}
    for setup, images in zip(setups, pen_setups_images(digits, setups, seed), strict=True):
        correct[setup] = model.predict(keras_model, images).argmax(axis=1) == labels
    return PenResults(correct)


def pen_setups_images(digits: np.ndarray, setups: list[tuple[int, bool, bool]], seed: int):
    """`pen_setup_images` for each (brush, legible, shaky) set-up, in order, drawn on every core.

    Drawing is pure Python and numpy on one core, ~1 ms a digit, so 16 set-ups of 10,000 digits take
    minutes; worker processes (spawned: no TensorFlow in them) draw whole set-ups side by side.
    """
    jobs = [(digits, *setup, seed) for setup in setups]  # 31 MB a set-up's result at 10,000 digits
    yield from cores.on_every_core(pen_setup_images, jobs, "pen drawings")


def pen_setup_images(digits: np.ndarray, brush: int, legible: bool, shaky: bool, seed: int) -> np.ndarray:
    """`pen_images` for one set-up of the pen table, each set-up with its own seed from `seed`."""
    setup_seed = seed * 1000 + brush * 4 + 2 * legible + shaky
    return pen_images(digits, brush, legible=legible, shake=SHAKE if shaky else 0.0, seed=setup_seed)


def print_pen_tables(
    results: PenResults, original: np.ndarray, bitmap: np.ndarray, labels: np.ndarray
) -> bool:
    """Pen strokes by brush, hand and size, then by class; returns whether the pen goals are met."""
    print(
        "| pen strokes | drawn large enough, steady | large enough, shaky | small for the brush, steady "
        "| small, shaky |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| (original 28x28 digits: {original.mean():.2%}) | | | | |")
    for brush in PEN_BRUSHES:
        cells = [
            results.correct[(brush, legible, shaky)].mean()
            for legible in (True, False)
            for shaky in (False, True)
        ]
        print(f"| brush {brush} px | " + " | ".join(f"{c:.2%}" for c in cells) + " |")
    pooled = [
        results.pooled(legible=legible, shaky=shaky).mean()
        for legible in (True, False)
        for shaky in (False, True)
    ]
    print("| every brush | " + " | ".join(f"{c:.2%}" for c in pooled) + " |")
    print()
    repeats = len(PEN_BRUSHES)
    header = "| class | n | original | bitmap on canvas | pen, large enough (all brushes, both hands)"
    print(f"{header} | pen, small for the brush |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    legible_all, small_all = results.pooled(legible=True), results.pooled(legible=False)
    labels_pooled = np.tile(labels, 2 * repeats)  # pooled() lists each digit once per (brush, hand)
    per_class = []
    for digit in range(10):
        members, pooled_members = labels == digit, labels_pooled == digit
        per_class.append(legible_all[pooled_members].mean())
        print(
            f"| {digit} | {members.sum()} | {original[members].mean():.2%} | {bitmap[members].mean():.2%} "
            f"| {per_class[-1]:.2%} | {small_all[pooled_members].mean():.2%} |"
        )
    drawn, base = legible_all.mean(), original.mean()
    widest = PEN_BRUSHES[-1]
    wide = np.concatenate([results.correct[(widest, True, shaky)] for shaky in (False, True)]).mean()
    goals = {
        f"pen strokes (large enough) at least {PEN_GOAL:.1%}: {drawn:.2%}": drawn >= PEN_GOAL,
        f"within {PEN_GAP_POINTS:g} points of the originals: {_points(drawn, base)}":
            base - drawn <= PEN_GAP_POINTS / 100,
        f"at {widest} px within {WIDE_BRUSH_GAP_POINTS:g} point(s): {_points(wide, base)}":
            base - wide <= WIDE_BRUSH_GAP_POINTS / 100,
        f"every class at least {CLASS_GOAL:.1%} as pen strokes: lowest {min(per_class):.2%}":
            min(per_class) >= CLASS_GOAL,
    }  # fmt: skip
    print()
    for text, met in goals.items():
        print(f"goal, {text}: {'met' if met else 'NOT met'}")
    return all(goals.values())


def _points(drawn: float, original: float) -> str:
    return f"{(drawn - original) * 100:+.2f} pp"


def _milliseconds(seconds: np.ndarray) -> str:
    median, p99 = np.percentile(seconds, [50, 99]) * 1000
    return f"{median:.1f} / {p99:.1f} ms"


def test_digits(
    parser: argparse.ArgumentParser, count: int | None, test_set: str = "full"
) -> tuple[np.ndarray, np.ndarray, str]:
    """The first `count` (default: all) MNIST test digits, their int labels, and which they are.

    "full": MNIST's 10,000 (`python -m mnist_mlp fetch mnist` puts them here); "sample": the bundled
    sample's 1,000, which are MNIST test digits too. A missing full set or a count out of range ends
    the benchmark through `parser.error`.
    """
    if test_set == "full":
        digits = data.load("mnist", allow_download=False)
        if digits.is_sample:
            parser.error(f"the full MNIST is not here: run `{data.FETCH_COMMAND}`, or pass --test-set sample")
        what = "MNIST's test digits"
    else:
        digits = data.load("mnist", data.SAMPLE_DIR / data.SAMPLE_FILES["mnist"])
        what = "the bundled sample's test digits (MNIST test digits)"
    available = len(digits.y_test)
    count = available if count is None else count
    if not 1 <= count <= available:
        parser.error(f"--count must be in 1..{available} ({what}). Received: {count}")
    return digits.x_test[:count], digits.y_test[:count].astype(int), f"the first {count:,} of {what}"


def add_test_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--test-set",
        choices=TEST_SETS,
        default="full",
        help="full: MNIST's 10,000 test digits (default); sample: the 1,000 bundled",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=store.DEFAULT_MODEL, metavar="NAME_OR_PATH")
    parser.add_argument("--count", type=int, default=None, metavar="N", help="test digits (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="sizes, places and colours follow it")
    add_test_set_argument(parser)
    args = parser.parse_args()
    x_test, y_test, which = test_digits(parser, args.count, args.test_set)
    count = len(y_test)
    try:
        loaded = store.load(args.model)
    except ValueError as err:
        parser.exit(2, f"drawing_robustness: error: {err}\n")
    trained_on = loaded.card.data_source if loaded.card else "unknown (no card)"
    print(f"model: {loaded.path}\ntrained on: {trained_on}")
    print(
        f"digits: {which}; seed {args.seed}, "
        f"canvas {CANVAS_SIZE}x{CANVAS_SIZE}, ink size {SIZE_RANGE[0]}..{SIZE_RANGE[1]} px, "
        f"backgrounds {', '.join(BACKGROUNDS)}\n"
    )

    drawings = draw_digits(x_test, args.seed)
    predictions, total_seconds, prepare_seconds = read_drawings(loaded.model, drawings)
    naive_images = np.stack([naive_to_mnist(picture) for picture in drawings])  # (n, 28, 28)
    results = Results(
        original=model.predict(loaded.model, x_test).argmax(axis=1) == y_test,
        drawn=predictions == y_test,
        naive=model.predict(loaded.model, naive_images).argmax(axis=1) == y_test,
        blank=int(np.count_nonzero(predictions < 0)),
    )
    print_summary(results, total_seconds, prepare_seconds)
    print()
    print_breakdown(results, drawings)
    lost = np.count_nonzero(results.original & ~results.drawn)
    gained = np.count_nonzero(~results.original & results.drawn)
    print(f"\ndrawings read differently from their originals: {lost} right → wrong, {gained} wrong → right")
    gap = (results.original.mean() - results.drawn.mean()) * 100
    verdict = "met" if gap <= GOAL_POINTS else "NOT met"
    print(f"goal (bitmap drawings within {GOAL_POINTS:g} pp of the originals): {verdict}\n")
    started = time.perf_counter()
    pens = read_pen_strokes(loaded.model, x_test, y_test, args.seed)
    print_pen_tables(pens, results.original, results.drawn, y_test)
    print(f"\n({len(pens.correct) * count:,} pen drawings in {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
