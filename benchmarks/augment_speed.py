"""Augmented training against plain training, and pen renders on every core against one process.

    python -m benchmarks.augment_speed [--epochs 3] [--rounds 2] [--digits 2000] [--skip-extras]
    python -m benchmarks.augment_speed --accuracy [--accuracy-epochs 8] [--seeds 0 1]
    python -m benchmarks.augment_speed --recipe 2
    python -m benchmarks.augment_speed --picture benchmarks/figures/augment_before_after.png

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

`--recipe N` times the shipped digit model's recipe for N epochs, old and new distortions, after
drawing its extras into an empty cache and reading them back. `--accuracy` trains the shipped
recipe's settings, shortened (784-800-800-10, dropout 0.2, cosine decay, augmented,
`--accuracy-epochs` epochs), with the old and the new distortions from the same seeds, and compares
validation accuracy (the test set is not used). `--picture PATH` draws digits before and after: each
row one digit, then three draws of the old distortions and the same three draws (the same shifts,
turns, scales and shears) of the new.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks import augment_memory
from mnist_mlp import augment, cores, data, datasets, diskcache, foreign, model, pen, train

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
    few = datasets.Split(split.x_train[:2048], split.y_train[:2048], split.x_val[:256], split.y_val[:256])
    train.train(plain.replace(epochs=1, augment=True), few)  # TensorFlow and the caches warmed up
    speeds: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (config, distort) in sides.items():
            speeds[name].append(training_speed(config, split, distort))
    print(
        "| training | images/s (each round) | best | of plain, best | each round's ratio (median) |\n"
        "| --- | --- | ---: | ---: | --- |"
    )
    for name, values in speeds.items():
        each = ", ".join(f"{value:,.0f}" for value in values)
        ratios = [value / base for value, base in zip(values, speeds["plain"], strict=True)]
        best = max(values) / max(speeds["plain"])  # the least disturbed run of each on a shared machine
        print(
            f"| {name} | {each} | {max(values):,.0f} | {best:.2f}x "
            f"| {', '.join(f'{r:.2f}' for r in ratios)} ({statistics.median(ratios):.2f}x) |",
            flush=True,
        )
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


def extras_table(digit_count: int, repeats: int = 2) -> None:
    """Pen renders and images of no class, on every core against one process, then the cache."""
    dataset = data.load("mnist", allow_download=False)
    images, labels = dataset.x_train[:digit_count], dataset.y_train[:digit_count]
    chunks = [
        (images[start : start + pen.RENDER_CHUNK], 1, chunk_seed)
        for start, chunk_seed in zip(
            range(0, digit_count, pen.RENDER_CHUNK),
            np.random.SeedSequence(0).spawn(len(range(0, digit_count, pen.RENDER_CHUNK))),
            strict=True,
        )
    ]
    outlier_count = digit_count
    drawn = {"scribbles": outlier_count // 4, "shapes": outlier_count // 4, "letters": outlier_count // 4}
    garments = data.load("fashion_mnist").x_train[: outlier_count // 4]
    print(
        f"drawing on {cores.count()} cores against one process, {digit_count:,} MNIST digits, "
        f"the best of {repeats} turns each:\n"
    )
    print("| work | one process (s) | every core (s) | speed-up (each turn's) |\n| --- | ---: | ---: | --- |")
    rows = {
        f"pen renders of {digit_count:,} digits": (
            lambda: [pen._render_chunk(*chunk) for chunk in chunks],
            lambda: pen.add_renders(images, labels, 1, seed=0),
        ),
        f"{outlier_count:,} images of no class": (
            lambda: _one_process(lambda: foreign._outliers(garments, drawn, 0)),
            lambda: foreign._outliers(garments, drawn, 0),
        ),
    }
    for name, (alone, shared) in rows.items():
        times = [(_seconds(alone), _seconds(shared)) for _ in range(repeats)]  # in turn
        one, every = min(t[0] for t in times), min(t[1] for t in times)  # the least disturbed of each
        each = ", ".join(f"{a / b:.2f}" for a, b in times)
        print(f"| {name} | {one:.1f} | {every:.1f} | {one / every:.2f}x ({each}) |", flush=True)
    print()
    full = data.split_validation(dataset.x_train, dataset.y_train, 0.1)
    part = datasets.Split(
        full.x_train[:digit_count],
        full.y_train[:digit_count],
        full.x_val[: digit_count // 10],
        full.y_val[: digit_count // 10],
    )
    config = model.MLPConfig(pen_strokes=2, outliers=12000)
    with tempfile.TemporaryDirectory() as folder:
        os.environ[diskcache.CACHE_ENV] = folder
        miss = _seconds(lambda: train.with_extras(part, config, "mnist"))
        hit = _seconds(lambda: train.with_extras(part, config, "mnist"))
        size = sum(path.stat().st_size for path in Path(folder).iterdir()) / 2**20
    print(
        f"`train.with_extras` for --pen-strokes 2 --outliers 12000 on {digit_count:,} training and "
        f"{digit_count // 10:,} validation digits, into an empty cache folder: {miss:.1f} s drawing, "
        f"{hit:.2f} s read back ({size:.0f} MiB on disk)\n",
        flush=True,
    )


def _one_process(function):
    """`function()` with every worker pool kept to this process."""
    kept = cores.count
    cores.count = lambda: 1
    try:
        return function()
    finally:
        cores.count = kept


def _seconds(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def accuracy_table(epochs: int, seeds: list[int]) -> None:
    """Validation accuracy of the shortened recipe, old distortions against new, from the same seeds."""
    dataset = data.load("mnist", allow_download=False)
    print(
        f"validation accuracy, 784-800-800-10, dropout 0.2, cosine decay, augmented, {epochs} epochs on "
        f"the full MNIST's 54,000 training digits, validated on the 6,000 held out (each seed its own)\n"
    )
    print("| distortions | " + " | ".join(f"seed {seed}" for seed in seeds) + " | mean |")
    print("| --- |" + " ---: |" * (len(seeds) + 1))
    for name, distort in (("old", old_distort), ("new", None)):
        values = []
        for seed in seeds:
            split = data.split_validation(dataset.x_train, dataset.y_train, 0.1, seed=seed)
            config = model.MLPConfig(
                hidden_units=ARCHITECTURE, dropout_rate=0.2, learning_rate_decay="cosine", augment=True,
                epochs=epochs, seed=seed,
            )  # fmt: skip
            kept = train.augment.distort
            train.augment.distort = distort or kept
            try:
                values.append(train.train(config, split).history[-1]["val_accuracy"])
            finally:
                train.augment.distort = kept
        cells = " | ".join(f"{value:.2%}" for value in values)
        print(f"| {name} | {cells} | {statistics.mean(values):.2%} |", flush=True)
    print()


def recipe_table(epochs: int) -> None:
    """The shipped digit model's recipe on the full MNIST: its extras drawn into an empty cache and
    read back, then `epochs` epochs with the old and with the new distortions (the same seed)."""
    dataset = data.load("mnist", allow_download=False)
    config = model.MLPConfig(
        hidden_units=(1200, 1200), dropout_rate=0.2, learning_rate_decay="cosine", augment=True,
        pen_strokes=2, outliers=12000, epochs=epochs,
    )  # fmt: skip
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1, seed=config.seed)
    with tempfile.TemporaryDirectory() as folder:
        os.environ[diskcache.CACHE_ENV] = folder
        miss = _seconds(lambda: train.with_extras(split, config, "mnist"))
        started = time.perf_counter()
        extended = train.with_extras(split, config, "mnist")
        hit = time.perf_counter() - started
    print(
        f"the shipped digit model's recipe (784-1200-1200-10, --augment --pen-strokes 2 --outliers 12000) "
        f"on the full MNIST: {len(extended.x_train):,} training images an epoch; drawing its pen renders "
        f"and images of no class {miss:.0f} s, reading them back {hit:.1f} s\n"
    )
    print("| distortions | images/s (epochs 2..n) | seconds an epoch |\n| --- | ---: | ---: |")
    for name, distort in (("old", old_distort), ("new", None)):
        speed = training_speed(config, extended, distort)
        print(f"| {name} | {speed:,.0f} | {len(extended.x_train) / speed:.1f} |", flush=True)
    print()


def picture(path: Path, digits: int = 6, draws: int = 3) -> None:
    """A PNG: each row a digit, then `draws` old distortions and the same draws' new ones."""
    from PIL import Image, ImageDraw

    images = data.load("mnist", allow_download=False).x_train[:digits]
    columns = [images]
    columns += [old_draw(images, seed=seed) for seed in range(draws)]
    columns += [augment.distort(images, seed=seed) for seed in range(draws)]
    scale, gap, header = 4, 8, 24
    cell = 28 * scale

    def left(column: int) -> int:  # a wider gap between the three groups
        return gap + column * (cell + gap) + 2 * gap * ((column >= 1) + (column > draws))

    canvas = Image.new("L", (left(len(columns)), header + digits * (cell + gap)), 40)
    for column, column_images in enumerate(columns):
        for row, image in enumerate(column_images):
            tile = Image.fromarray(image).resize((cell, cell), Image.Resampling.NEAREST)
            canvas.paste(tile, (left(column), header + row * (cell + gap)))
    writer = ImageDraw.Draw(canvas)
    writer.text((left(0), 6), "original", fill=255)
    writer.text((left(1), 6), "before: noise filtered at full size, map_coordinates", fill=255)
    writer.text((left(1 + draws), 6), "after: 8 smooth shapes an axis, the same draws", fill=255)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    print(f"picture: {path}\n")


def old_draw(images: np.ndarray, *, seed: int) -> np.ndarray:
    """The old distortion of `images` for `augment.distort`'s seed: the same affine draws."""
    return augment_memory.whole_set_distort(images, seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--digits", type=int, default=2000, help="digits drawn again for the extras")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-extras", action="store_true")
    parser.add_argument("--accuracy", action="store_true", help="compare validation accuracy, old and new")
    parser.add_argument("--accuracy-epochs", type=int, default=8)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="for --accuracy")
    parser.add_argument("--picture", type=Path, help="draw digits before and after into this PNG, and stop")
    parser.add_argument(
        "--recipe", type=int, metavar="EPOCHS", help="time the shipped model's recipe, and stop"
    )
    args = parser.parse_args()
    if args.picture:
        picture(args.picture)
        return
    if args.accuracy:
        accuracy_table(args.accuracy_epochs, args.seeds)
        return
    if args.recipe:
        recipe_table(args.recipe)
        return
    distortion_table()
    if not args.skip_training:
        training_table(args.epochs, args.rounds)
    if not args.skip_extras:
        extras_table(args.digits)


if __name__ == "__main__":
    main()
