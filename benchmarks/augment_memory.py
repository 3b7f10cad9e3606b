"""Peak memory of one augmented epoch of the full Fashion-MNIST: chunked distortion against the old
whole-set version, each in a fresh process so that their peaks do not mix.

    python -m benchmarks.augment_memory [--dataset fashion_mnist] [--no-training]

Each child loads the dataset, holds out the validation tenth (54,000 training images are left), and
trains one augmented epoch of the default 784-512-10 with `train.train`, whose epoch starts with
`augment.distort`; the baseline child first swaps that for `whole_set_distort` below. It reports
the peak resident memory of the whole process (`ru_maxrss`) before the epoch and at its end.
`--no-training` distorts the images once, without TensorFlow.

Both children run today's training loop (uint8 images on the device, `train._scaled`), so the two
rows differ by the distortion alone; the float32 device copies the loop made before (~500 MB more
an augmented epoch) are in neither row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from scipy import ndimage

from mnist_mlp import augment

GOAL_MIB = 1536  # the whole process, for one augmented epoch (issue 13)
VARIANTS = {"whole set (before)": "whole", "chunks (after)": "chunks"}


def whole_set_distort(images: np.ndarray, *, seed: int) -> np.ndarray:
    """The baseline: `augment.distort` as it was, with float64 fields for all images at once."""
    count, height, width = images.shape
    rng = np.random.default_rng(seed)
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    y = (rows - centre_row)[None].astype(np.float32)  # (1, H, W)
    x = (cols - centre_col)[None].astype(np.float32)
    angle = np.deg2rad(rng.uniform(-augment.MAX_ROTATION, augment.MAX_ROTATION, count))[:, None, None]
    scale = rng.uniform(*augment.SCALE_RANGE, count)[:, None, None]
    shear = rng.uniform(-augment.MAX_SHEAR, augment.MAX_SHEAR, count)[:, None, None]
    shift_row, shift_col = rng.uniform(-augment.MAX_SHIFT, augment.MAX_SHIFT, (2, count))[:, :, None, None]
    cos, sin = np.cos(angle), np.sin(angle)
    source_row = (cos * y - sin * x) / scale + centre_row - shift_row
    source_col = (sin * y + cos * x + shear * y) / scale + centre_col - shift_col
    noise = rng.uniform(-1, 1, (2, count, height, width)).astype(np.float32)
    fields = ndimage.gaussian_filter(noise, sigma=(0, 0, augment.ELASTIC_SIGMA, augment.ELASTIC_SIGMA))
    fields *= augment.ELASTIC_ALPHA
    source_row = source_row + fields[0]
    source_col = source_col + fields[1]
    index = np.broadcast_to(np.arange(count, dtype=np.float32)[:, None, None], source_row.shape)
    coordinates = np.stack([index, source_row, source_col])  # (3, n, H, W) float64
    warped = ndimage.map_coordinates(
        images.astype(np.float32), coordinates, order=1, mode="constant", cval=0.0
    )
    return np.clip(np.rint(warped), 0, 255).astype(np.uint8)


def peak_mib() -> float:
    """The peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(variant: str, dataset_name: str, training: bool) -> dict:
    """One measurement, in this (fresh) process."""
    from mnist_mlp import data, datasets

    dataset = data.load(dataset_name, allow_download=False)
    x_train, y_train, x_val, y_val = data.split_validation(dataset.x_train, dataset.y_train, seed=0)
    if variant == "whole":
        augment.distort = whole_set_distort  # what train.train's epoch calls, in this process only
    if training:
        from mnist_mlp import model, train

        few = datasets.Split(x_train[:256], y_train[:256], x_val, y_val)
        train.train(model.MLPConfig(epochs=1, augment=True), few)
    before = peak_mib()  # TensorFlow loaded and the loop traced, on a few images
    started = time.perf_counter()
    if training:
        train.train(model.MLPConfig(epochs=1, augment=True), datasets.Split(x_train, y_train, x_val, y_val))
    else:
        augment.distort(x_train, seed=1)
    return {
        "images": len(x_train),
        "source": dataset.source,
        "before": before,
        "peak": peak_mib(),
        "seconds": time.perf_counter() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--no-training", action="store_true", help="distort only, without TensorFlow")
    parser.add_argument("--child", choices=sorted(VARIANTS.values()), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.dataset, not args.no_training)))
        return 0
    rows = {}
    for label, variant in VARIANTS.items():
        command = [
            sys.executable,
            "-m",
            "benchmarks.augment_memory",
            "--child",
            variant,
            "--dataset",
            args.dataset,
        ]
        command += ["--no-training"] if args.no_training else []
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows[label] = json.loads(done.stdout.strip().splitlines()[-1])
    first = next(iter(rows.values()))
    what = "distortion only" if args.no_training else "one augmented epoch of 784-512-10"
    print(
        f"{first['images']:,} training images of {first['source']}; {what}; peak resident memory "
        f"of the whole process (goal: under {GOAL_MIB} MiB)\n"
    )
    print("| distortion | before the epoch | peak | epoch seconds |\n| --- | --- | --- | --- |")
    for label, row in rows.items():
        print(f"| {label} | {row['before']:,.0f} MiB | {row['peak']:,.0f} MiB | {row['seconds']:.1f} |")
    before, after = (rows[label]["peak"] - rows[label]["before"] for label in VARIANTS)
    ratio = before / max(after, 1)
    print(f"\nthe epoch's own growth: {before:,.0f} MiB before, {after:,.0f} MiB after ({ratio:.1f}x less)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
