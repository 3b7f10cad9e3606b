"""The Unsure verdict: how much of what is not of a model's kind it catches, and how often it cries wolf.

    python -m benchmarks.unsure_verdict [--model NAME_OR_PATH ...] [--count N] [--seed S] [--test-set T]

For the digit model, the foreign inputs are random scribbles, letters not shaped like digits
(traced from fonts and drawn as pen strokes), and garments (Fashion-MNIST test images drawn on the
canvas); its false alarms are counted on real test digits as 28x28 originals, as bitmaps on the
canvas and as pen strokes. For the clothing model, the foreign inputs are digits (pen strokes and
bitmaps) and scribbles; its false alarms are counted on real test garments. Every canvas goes
through `preprocess.to_mnist`, as in the app. None of these inputs was used to train a model or to set
its limits (those come from its validation images alone). The test digits are MNIST's (the full
10,000 from `python -m mnist_mlp fetch mnist`, or `--test-set sample`: the bundled 1,000). Goals: at
least 95% of each foreign kind called Unsure, at most 2% of test digits drawn as pen strokes and 3% of
each other kind of real input.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.drawing_robustness import add_test_set_argument, test_digits
from mnist_mlp import data, foreign, preprocess, rights, store, unsure
from mnist_mlp import model as mlp
from tests.canvas import bitmaps

CAUGHT_GOAL = 0.95  # of each foreign kind, called Unsure
FALSE_ALARM_GOAL = 0.03  # of each kind of real input, called Unsure ...
PEN_FALSE_ALARM_GOAL = 0.02  # ... and of test digits drawn as pen strokes, the way people draw


def prepared(canvases: Iterable[np.ndarray]) -> np.ndarray:
    """Canvases through to_mnist, (n, 28, 28) float32; a canvas it finds blank is left out (the app
    shows no reading for it at all)."""
    images = [image for image in map(preprocess.to_mnist, canvases) if image is not None]
    return np.stack(images) if images else np.zeros((0, 28, 28), np.float32)


def input_sets(dataset: str, digit_images: np.ndarray, seed: int) -> dict[str, tuple[bool, np.ndarray]]:
    """name -> (foreign, images) for a model of `dataset`: what it should and should not call Unsure,
    as many of each kind as there are `digit_images` (MNIST test digits no model saw)."""
    count = len(digit_images)
    garment_images = data.load("fashion_mnist").x_test[:count]
    scribbles = prepared(foreign.scribbles(count, seed))
    if dataset == "mnist":
        return {
            "scribbles": (True, scribbles),
            "letters (pen strokes)": (True, prepared(canvas for _, canvas in foreign.letters(count, seed))),
            "garments (on the canvas)": (True, prepared(bitmaps(garment_images, seed))),
            "test digits, 28x28 originals": (False, digit_images),
            "test digits, bitmaps on the canvas": (False, prepared(bitmaps(digit_images, seed))),
            "test digits, pen strokes": (False, prepared(foreign.pen_digits(digit_images, seed))),
        }
    return {
        "digits (pen strokes)": (True, prepared(foreign.pen_digits(digit_images, seed))),
        "digits (bitmaps on the canvas)": (True, prepared(bitmaps(digit_images, seed))),
        "scribbles": (True, scribbles),
        "test garments, 28x28 originals": (False, garment_images),
        "test garments, on the canvas": (False, prepared(bitmaps(garment_images, seed))),
    }


def measure(loaded: store.LoadedModel, sets: dict[str, tuple[bool, np.ndarray]]) -> bool:
    """Print the share called Unsure per input set, and by which score; True when every goal is met."""
    detector = loaded.detector
    if detector is None:
        raise SystemExit(f"{loaded.path}: saved without an Unsure detector; train or save it again.")
    columns = " | ".join(f"by {score}" for score in unsure.SCORES)
    print(f"| input | n | called Unsure | goal | {columns} |")
    print("| --- | ---: | ---: | --- |" + " ---: |" * len(unsure.SCORES))
    met = True
    for name, (is_foreign, images) in sets.items():
        found = unsure.scores(detector, loaded.model, images)
        over = found > detector.limits
        share = float(over.any(axis=1).mean())
        limit = PEN_FALSE_ALARM_GOAL if name == "test digits, pen strokes" else FALSE_ALARM_GOAL
        ok = share >= CAUGHT_GOAL if is_foreign else share <= limit
        met &= ok
        goal = f"≥ {CAUGHT_GOAL:.0%}" if is_foreign else f"≤ {limit:.0%}"
        by_score = " | ".join(f"{v:.1%}" for v in over.mean(axis=0))
        print(
            f"| {name} | {len(images):,} | {share:.1%} | {goal} {'met' if ok else 'NOT met'} | {by_score} |"
        )
    return met


def verdict_milliseconds(loaded: store.LoadedModel, image: np.ndarray, repeats: int = 200) -> np.ndarray:
    """Seconds per prediction + verdict of one image, as the Draw page does it on every stroke."""
    for _ in range(5):  # the first calls trace the compiled functions
        unsure.judge(loaded.detector, loaded.model, image[None])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        mlp.predict(loaded.model, image[None])
        unsure.judge(loaded.detector, loaded.model, image[None])
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=list(rights.SHIPPED_MODELS), metavar="NAME_OR_PATH")
    parser.add_argument("--count", type=int, default=1000, help="inputs of each kind (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    add_test_set_argument(parser)
    args = parser.parse_args()
    digit_images, _, which = test_digits(parser, args.count, args.test_set)
    print(f"digits: {which}")
    all_met = True
    for name in args.model:
        try:
            loaded = store.load(name)
        except ValueError as err:
            parser.exit(2, f"unsure_verdict: error: {err}\n")
        if loaded.detector is None:
            parser.exit(2, f"unsure_verdict: error: {name} was saved without an Unsure detector\n")
        dataset = loaded.card.dataset if loaded.card else "mnist"
        limits = ", ".join(f"{s} {v:.3g}" for s, v in zip(unsure.SCORES, loaded.detector.limits, strict=True))
        print(f"\n### {name} ({dataset}); limits: {limits}\n")
        sets = input_sets(dataset, digit_images, args.seed)
        all_met &= measure(loaded, sets)
        times = verdict_milliseconds(loaded, next(images for _, images in sets.values())[0])
        print(
            f"\nprediction + verdict of one drawing: median {np.median(times):.2f} ms, "
            f"p99 {np.percentile(times, 99):.2f} ms"
        )
    print(
        f"\ngoals (≥ {CAUGHT_GOAL:.0%} of foreign inputs, ≤ {PEN_FALSE_ALARM_GOAL:.0%} of pen-stroke digits, "
        f"≤ {FALSE_ALARM_GOAL:.0%} of other real ones): "
        f"{'met' if all_met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
