"""One drawing in, probabilities out: the app's path against `model.predict`, measured in one run.

    python -m benchmarks.prediction_latency [--model NAME_OR_PATH] [--count 200]

Each drawing is a real test digit rendered on a 280x280 canvas as the app's canvas returns it; both
sides run `preprocess.to_mnist` and then predict with the model already loaded.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from benchmarks import drawing_robustness
from mnist_mlp import data, model, preprocess, store


def canvases(count: int, seed: int = 0) -> list[np.ndarray]:
    """Real test digits drawn on the canvas at random sizes, places and colours."""
    digits = data.load("mnist", allow_download=False).x_test[:count]
    return [picture.canvas for picture in drawing_robustness.draw_digits(digits, seed=seed)]


def timings(read, drawings: list[np.ndarray]) -> np.ndarray:
    """Milliseconds per drawing, after one warm-up call."""
    read(drawings[0])
    result = []
    for canvas in drawings:
        started = time.perf_counter()
        read(canvas)
        result.append((time.perf_counter() - started) * 1000)
    return np.array(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=store.DEFAULT_MODEL)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    keras_model = store.load(args.model).model
    drawings = canvases(args.count)

    def ours(canvas):
        return model.predict(keras_model, preprocess.to_mnist(canvas)[None])[0]

    def baseline(canvas):
        return keras_model.predict(preprocess.to_mnist(canvas)[None], verbose=0)[0]

    base = timings(baseline, drawings[: max(20, args.count // 4)])  # slow: fewer calls suffice
    fast = timings(ours, drawings)
    preprocessing = timings(preprocess.to_mnist, drawings)
    print(f"model: {args.model}; {len(drawings)} drawings (280x280 RGBA)\n")
    print("| path | median (ms) | p99 (ms) |")
    print("| --- | ---: | ---: |")
    for name, values in (
        ("to_mnist + model.predict (baseline)", base),
        ("to_mnist + compiled predict (ours)", fast),
        ("of which to_mnist", preprocessing),
    ):
        print(f"| {name} | {np.median(values):.2f} | {np.percentile(values, 99):.2f} |")
    print(f"\nmedian speed-up: {np.median(base) / np.median(fast):.0f}x")


if __name__ == "__main__":
    main()
