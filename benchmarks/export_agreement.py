"""Exports against the Keras model on a whole test set: same answers, how close, how fast, how big.

    python -m benchmarks.export_agreement [--model fashion-mlp] [--model digits-mlp]

Each shipped model is exported (SavedModel and TF Lite, as `python -m mnist_mlp export` does) to a
temporary folder; both files then read the model's test set as raw uint8 images, beside Keras reading
the same images scaled to [0, 1] (the baseline).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from mnist_mlp import data, export, model, rights, store


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def measure(name: str, folder: Path) -> None:
    import tensorflow as tf

    loaded = store.load(name)
    test = data.load(loaded.card.dataset, allow_download=False)
    images = test.x_test  # (n, 28, 28) uint8
    keras_probabilities, keras_seconds = timed(lambda: model.predict(loaded.model, images))
    made, export_seconds = timed(lambda: export.export(loaded, folder / name))
    served = tf.saved_model.load(str(made.saved_model)).signatures[export.SIGNATURE]
    saved, saved_seconds = timed(lambda: served(**{export.INPUT_NAME: tf.constant(images)}))
    lite, lite_seconds = timed(lambda: export.run_tflite(made.tflite, images))
    expected = keras_probabilities.argmax(axis=1)
    print(f"\n{name}: {len(images):,} test images ({test.source}); export took {export_seconds:.1f} s\n")
    print("| reader | accuracy | same class as Keras | largest difference | seconds | size (MB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    keras_size = (loaded.path / store.MODEL_FILE).stat().st_size / 2**20
    print(
        f"| Keras (baseline) | {np.mean(expected == test.y_test):.2%} | | | {keras_seconds:.2f} "
        f"| {keras_size:.1f} |"
    )
    sizes = {
        "SavedModel": sum(f.stat().st_size for f in made.saved_model.rglob("*") if f.is_file()) / 2**20,
        "TF Lite": made.tflite.stat().st_size / 2**20,
    }
    for reader, outputs, seconds in (("SavedModel", saved, saved_seconds), ("TF Lite", lite, lite_seconds)):
        classes = np.asarray(outputs["classes"])
        difference = np.abs(np.asarray(outputs["probabilities"]) - keras_probabilities).max()
        print(
            f"| {reader} | {np.mean(classes == test.y_test):.2%} | {np.mean(classes == expected):.2%} "
            f"| {difference:.1e} | {seconds:.2f} | {sizes[reader]:.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="repeat for several (default: both shipped)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mnist-mlp-export-") as folder:
        for name in args.model or list(rights.SHIPPED_MODELS):
            measure(name, Path(folder))


if __name__ == "__main__":
    main()
