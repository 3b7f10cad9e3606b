"""Augmented training against plain training, and pen renders on every core against one process.

    python -m benchmarks.augment_speed [--epochs 3] [--rounds 2] [--digits 2000] [--skip-extras]

Training: 784-800-800-10, batch 128, on the full MNIST's 54,000 training digits (10% held out),
`train.train` as the command line runs it, plain, augmented, and augmented with the distortions as
they were before (`old_distort`: the same kinds and ranges made with a full-size Gaussian filter and
scipy's `map_coordinates`, 2,048 images at a time), interleaved in rounds in one process so that the
ratios hold on a shared machine. Speed is over the epochs after the first (which pays for tracing),
each epoch's distortion and validation included.

Extras: the pen renders (`pen.add_renders`) of `--digits` training digits, drawn by worker
processes on every core against this one process, and the images of no class (`foreign.outliers`)
likewise; then `train.with_extras` for the shipped model's settings (`--pen-strokes 2 --outliers
12000`) on those digits twice into an empty cache folder: a miss that draws and a hit that reads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks import augment_memory
from mnist_mlp import augment, data, model, train

ARCHITECTURE = (800, 800)
OLD_CHUNK = 2048  # what the old `augment.distort` distorted at once


def old_distort(images: np.ndarray, *, seed: int) -> np.ndarray:
    """The distortions as they were: noise filtered at full size and `map_coordinates`, in chunks."""
    parts = [
        augment_memory.whole_set_distort(images[start : start + OLD_CHUNK], seed=seed * 1000 + start)
        for start in range(0, len(images), OLD_CHUNK)
    ]
    return np.concatenate(parts)


def training_speed(config: model.MLPConfig, split, distort=None) -> float:
    """Images per second of `train.train` between the first and the last epoch end."""
    marks: list[float] = []

    def on_progress(progress: train.Progress) -> None:
        if progress.kind == "epoch":
            marks.append(time.perf_counter())

    kept = train.augment.distort
    train.augment.distort = distort or kept  # what the epoch calls, for this run only
    try:
        train.train(config, split, on_progress=on_progress)
    finally:
        train.augment.distort = kept
    return len(split.x_train) * (len(marks) - 1) / (marks[-1] - marks[0])


def training_table(epochs: int, rounds: int) -> None:
    dataset = data.load("mnist", allow_download=False)
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1)
    plain = model.MLPConfig(hidden_units=ARCHITECTURE, batch_size=128, epochs=epochs)
    sides = {
        "plain": (plain, None),
        "augmented": (plain.replace(augment=True), None),
        "augmented, old distortions": (plain.replace(augment=True), old_distort),
    }
    print(
        f"data: {dataset.source}; {len(split.x_train):,} training digits; 784-800-800-10, batch 128, "
        f"{epochs} epochs a run, {rounds} rounds of the three in turn\n"
    )
    speeds: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (config, distort) in sides.items():
            speeds[name].append(training_speed(config, split, distort))
    base = statistics.median(speeds["plain"])
    print("| training | images/s (each round) | median | of plain |\n| --- | --- | ---: | ---: |")
    for name, values in speeds.items():
        each = ", ".join(f"{value:,.0f}" for value in values)
        median = statistics.median(values)
        print(f"| {name} | {each} | {median:,.0f} | {median / base:.2f}x |", flush=True)
    print()


def distortion_table(count: int = 16384) -> None:
    """Core time of the distortions alone, old and new, one thread and every core."""
    images = data.load("mnist", allow_download=False).x_train[:count]
    rows = {
        "old, one thread": lambda: old_distort(images, seed=1),
        "new, one thread": lambda: augment.distort(images, seed=1, workers=1),
        "new, every core": lambda: augment.distort(images, seed=1),
    }
    print(f"distortion alone, {count:,} MNIST digits:\n")
    print("| distortion | microseconds an image (wall) |\n| --- | ---: |")
    for name, function in rows.items():
        started = time.perf_counter()
        function()
        print(f"| {name} | {(time.perf_counter() - started) / count * 1e6:.1f} |", flush=True)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--digits", type=int, default=2000, help="digits drawn again for the extras")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-extras", action="store_true")
    args = parser.parse_args()
    distortion_table()
    if not args.skip_training:
        training_table(args.epochs, args.rounds)


if __name__ == "__main__":
    main()
