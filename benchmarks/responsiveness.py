"""How quickly the app answers a person: the figures the tests used to assert, measured against their goals.

    python -m benchmarks.responsiveness [--repeats 5]

Tests keep only generous limits that catch a slow path (a shared CI machine is no stopwatch); the
goals are checked here: a training stopped within 1.5 s, every probe transform at once in under
2 ms (a slider), and the full Fashion-MNIST read from Debian's IDX files in under 5 s.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from mnist_mlp import data, datafiles, job, model, probe

STOP_GOAL_S = 1.5
PROBE_GOAL_MS = 2.0
FASHION_LOAD_GOAL_S = 5.0
STOP_CONFIG = model.MLPConfig(hidden_units=(16,), dropout_rate=0.0, epochs=1000, batch_size=32, seed=0)


def stop_seconds(repeats: int) -> list[float]:
    """Seconds from `stop()` to the job's end, for a long run stopped once it reports progress."""
    sample = data.load("mnist", allow_download=False)
    split = data.split_validation(sample.x_train[:400], sample.y_train[:400], 0.2, seed=0)
    seconds = []
    for _ in range(repeats):
        training = job.TrainingJob(STOP_CONFIG, split).start()
        while training.state().progress is None:
            time.sleep(0.01)
        stopped_at = time.perf_counter()
        training.stop()
        training.wait(60)
        seconds.append(time.perf_counter() - stopped_at)
    return seconds


def probe_milliseconds(count: int = 500) -> np.ndarray:
    digit = data.load("mnist", allow_download=False).x_test[0].astype(np.float32) / 255  # (28, 28) in [0, 1]
    setting = probe.Probe(shift_x=2.5, shift_y=-1, rotation=20, scale=1.3, stroke=1.5)
    probe.apply(digit, setting)  # warm-up
    result = []
    for _ in range(count):
        started = time.perf_counter()
        probe.apply(digit, setting)
        result.append((time.perf_counter() - started) * 1000)
    return np.array(result)


def fashion_load_seconds() -> float | None:
    """A cold read of Debian's full Fashion-MNIST; None where it is not installed."""
    folder = data.DEBIAN_DATASETS_DIR / "fashion-mnist"
    if not folder.is_dir():
        return None
    datafiles._read_idx_cached.cache_clear()
    started = time.perf_counter()
    data.load("fashion_mnist", folder)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="training runs stopped")
    args = parser.parse_args()
    stops = stop_seconds(args.repeats)
    probes = probe_milliseconds()
    fashion = fashion_load_seconds()
    print("| figure | measured | goal | met |")
    print("| --- | ---: | ---: | :---: |")
    rows = [
        (f"training stopped: worst of {len(stops)} (s)", max(stops), STOP_GOAL_S),
        ("every probe transform at once: median (ms)", float(np.median(probes)), PROBE_GOAL_MS),
        ("every probe transform at once: p99 (ms)", float(np.percentile(probes, 99)), None),
    ]
    if fashion is not None:
        rows.append(("full Fashion-MNIST from Debian, cold (s)", fashion, FASHION_LOAD_GOAL_S))
    for name, value, goal in rows:
        met = "" if goal is None else ("yes" if value < goal else "**no**")
        print(f"| {name} | {value:.3f} | {'' if goal is None else f'< {goal:g}'} | {met} |")
    if fashion is None:
        print("\nDebian's dataset-fashion-mnist is not installed: no load figure.")


if __name__ == "__main__":
    main()
