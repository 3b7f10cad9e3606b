"""A save or rename of the store that a real process runs and dies in, at a named step, for test_store.

Run as `python tests/crashing_save.py HOW STEP STORE KERAS_FILE`: HOW is "exchange" (the atomic swap),
"stand-in" (the path of systems without one) or "rename"; the process prints each step it reaches
and calls os._exit at STEP, as a killed process stops, with no cleanup. It needs no TensorFlow: the
model is a .keras file the test wrote, copied in where Keras would write it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import numpy as np

from mnist_mlp import files, store, unsure
from mnist_mlp.model import MLPConfig

NAME = "kept"
CONFIG = MLPConfig(hidden_units=(8,))


class PreparedModel:
    """Stands for a Keras model whose weights are all `value`: its save writes a file made earlier."""

    def __init__(self, keras_file: Path) -> None:
        self.keras_file = keras_file

    def save(self, path: Path) -> None:
        shutil.copyfile(self.keras_file, path)


def version(value: float, keras_file: Path) -> dict:
    """store.save's arguments for the version of the model whose every number is `value`."""
    card = store.Card(
        name=NAME,
        config=CONFIG,
        dataset="mnist",
        data_source="test",
        class_names=[str(d) for d in range(10)],
        test_accuracy=value / 10,
    )
    detector = unsure.Detector(
        pixel_mean=np.full(784, value, np.float32),
        components=np.eye(2, 784, dtype=np.float32),
        limits=np.array([value, value]),
        kind="digit",
    )
    return {
        "model": PreparedModel(keras_file),
        "card": card,
        "snapshots": {0: np.full((8, 28, 28), value, np.float16)},
        "detector": detector,
    }


def main(how: str, stop_at: str, folder: str, keras_file: str) -> None:
    def reached(step: str) -> None:
        print(step, flush=True)
        if step == stop_at:
            os._exit(9)

    store._reached = reached
    if how == "stand-in":
        files.exchange = lambda first, second: False  # as where renameat2 is missing
    if how == "rename":
        store.rename(NAME, "moved", folder)
    else:
        store.save(**version(2.0, Path(keras_file)), store=folder, overwrite=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
