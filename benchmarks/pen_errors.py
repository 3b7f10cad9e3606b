"""Where the pen-stroke misreadings come from, and whether averaging several models mends them.

    python -m benchmarks.pen_errors [--model NAME_OR_PATH ...] [--count N] [--seed S] [--test-set T]

MNIST's test digits (or the bundled sample's, `--test-set sample`) are drawn as pen strokes large
enough for the brush, exactly as `benchmarks.drawing_robustness` draws them (brushes 10, 20, 30 and
40 px, a steady and a shaky hand: eight set-ups). For each model, and for the average of all their
probabilities (several MLPs averaged, one of the means the pen-stroke goal allows), it prints accuracy
on the originals and on the pen strokes, and the weakest class. Then, for the first model, how the
errors spread over the digits: are they a few digits read wrong whichever way they are drawn (the
digits themselves, or renders that lost what made them legible), or many digits read wrong now and
then (the pen)?
"""

from __future__ import annotations

import argparse
import itertools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks.drawing_robustness import PEN_BRUSHES, add_test_set_argument, pen_setups_images, test_digits
from mnist_mlp import model, store

MOSTLY_WRONG_SHARE = 0.75  # a digit read wrong in at least this share of the set-ups is "mostly wrong"


def pen_probabilities(keras_models: list, digits: np.ndarray, seed: int) -> np.ndarray:
    """Each model's probabilities on every set-up: (models, set-ups, n, 10); each drawing rendered once."""
    setups = [(brush, True, shaky) for brush, shaky in itertools.product(PEN_BRUSHES, (False, True))]
    result = np.zeros((len(keras_models), len(setups), len(digits), 10), np.float32)
    for index, images in enumerate(pen_setups_images(digits, setups, seed)):
        for which, keras_model in enumerate(keras_models):
            result[which, index] = model.predict(keras_model, images)
    return result


def print_accuracy(name: str, original: np.ndarray, pen: np.ndarray, labels: np.ndarray) -> None:
    """One table row: originals (n, 10) and pen strokes (set-ups, n, 10) against the labels."""
    right = pen.argmax(axis=-1) == labels  # (set-ups, n)
    per_class = [right[:, labels == digit].mean() for digit in range(10)]
    weakest = int(np.argmin(per_class))
    base, drawn = (original.argmax(axis=1) == labels).mean(), right.mean()
    gap = (drawn - base) * 100
    print(f"| {name} | {base:.2%} | {drawn:.2%} | {gap:+.2f} pp | {weakest}: {per_class[weakest]:.2%} |")


def print_spread(original: np.ndarray, pen: np.ndarray, labels: np.ndarray) -> None:
    """How one model's pen-stroke errors spread over the digits."""
    wrong = (pen.argmax(axis=-1) != labels).sum(axis=0)  # (n,) set-ups each digit is misread in
    setups = pen.shape[0]
    mostly = wrong >= MOSTLY_WRONG_SHARE * setups
    original_wrong = original.argmax(axis=1) != labels
    total = wrong.sum()
    print(f"pen-stroke errors: {total:,} of {wrong.size * setups:,} drawings")
    print(
        f"- on the {original_wrong.sum()} digits the model also misreads as 28x28 originals: "
        f"{wrong[original_wrong].sum():,} ({wrong[original_wrong].sum() / total:.0%})"
    )
    print(
        f"- on the {mostly.sum()} digits misread in at least {MOSTLY_WRONG_SHARE:.0%} of the {setups} "
        f"set-ups: {wrong[mostly].sum():,} ({wrong[mostly].sum() / total:.0%}); of these digits "
        f"{(mostly & ~original_wrong).sum()} are read right as originals"
    )
    sometimes = (wrong > 0) & ~mostly
    print(f"- on the {sometimes.sum()} digits misread only in some set-ups: {wrong[sometimes].sum():,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        metavar="NAME_OR_PATH",
        help=f"repeat to average several (default: {store.DEFAULT_MODEL})",
    )
    parser.add_argument("--count", type=int, default=None, metavar="N", help="test digits (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="as for benchmarks.drawing_robustness")
    add_test_set_argument(parser)
    args = parser.parse_args()
    names = args.model or [store.DEFAULT_MODEL]
    x_test, labels, which = test_digits(parser, args.count, args.test_set)
    try:
        loaded = [store.load(name) for name in names]
    except ValueError as err:
        parser.exit(2, f"pen_errors: error: {err}\n")
    print(
        f"digits: {which}, drawn large enough for "
        f"the brush, {len(PEN_BRUSHES) * 2} set-ups; seed {args.seed}\n"
    )
    keras_models = [entry.model for entry in loaded]
    originals = np.stack([model.predict(keras_model, x_test) for keras_model in keras_models])
    pens = pen_probabilities(keras_models, x_test, args.seed)
    print("| model | originals | pen strokes | gap | weakest class as pen strokes |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for entry, original, pen in zip(loaded, originals, pens, strict=True):
        print_accuracy(f"`{entry.path.name}`", original, pen, labels)
    if len(loaded) > 1:
        print_accuracy(f"mean of the {len(loaded)}", originals.mean(axis=0), pens.mean(axis=0), labels)
    print(f"\nfor `{loaded[0].path.name}`:")
    print_spread(originals[0], pens[0], labels)


if __name__ == "__main__":
    main()
