"""Training throughput: the project's training path against plain `model.fit`, measured in one run.

    python -m benchmarks.training_speed [--epochs 3] [--dataset fashion_mnist]

For each set-up both sides train the same architecture from the same seed on the same in-memory
data; throughput is taken over the epochs after the first (which pays for tracing), and test accuracy
after the same number of epochs. Prints a Markdown table with the ratio and the matmul roofline.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from mnist_mlp import data, evaluate, model, train

SETUPS = (("784-512-10", 128), ("784-20-10", 32))
ROOFLINE_REPEATS = 200


def fit_baseline(config: model.MLPConfig, split, dataset) -> tuple[float, float]:
    """Images per second (epochs 2..n) and test accuracy of plain Keras `fit`."""
    import keras

    x_train, y_train, x_val, y_val = split
    keras_model = model.build_model(config)
    keras_model.compile(
        optimizer=model.make_optimizer(config), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    marks: list[float] = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.perf_counter())

    x = x_train.astype(np.float32) / 255
    validation = (x_val.astype(np.float32) / 255, y_val)
    keras_model.fit(x, y_train, batch_size=config.batch_size, epochs=config.epochs,
                    validation_data=validation, callbacks=[Clock()], verbose=0)  # fmt: skip
    speed = _steady_speed(marks, len(x_train))
    accuracy = evaluate.evaluate(keras_model, dataset.x_test, dataset.y_test).accuracy
    return speed, accuracy


def ours(config: model.MLPConfig, split, dataset) -> tuple[float, float]:
    """The same for `train.train`, with its progress events and stop check on."""
    import threading

    marks: list[float] = []

    def on_progress(progress: train.Progress) -> None:
        if progress.kind == "epoch":
            marks.append(time.perf_counter())

    result = train.train(config, *split, on_progress=on_progress, stop=threading.Event())
    speed = _steady_speed(marks, len(split[0]))
    accuracy = evaluate.evaluate(result.model, dataset.x_test, dataset.y_test).accuracy
    return speed, accuracy


def _steady_speed(marks: list[float], images_per_epoch: int) -> float:
    """Images per second between the first and the last epoch end (validation time included)."""
    return images_per_epoch * (len(marks) - 1) / (marks[-1] - marks[0])


def matmul_roofline(batch: int, fan_in: int, fan_out: int) -> float:
    """GFLOP/s of TensorFlow's own matmul at one training shape: the most the arithmetic allows."""
    import tensorflow as tf

    a = tf.random.normal((batch, fan_in))
    b = tf.random.normal((fan_in, fan_out))

    @tf.function
    def repeat():
        total = tf.zeros((batch, fan_out))
        for _ in tf.range(ROOFLINE_REPEATS):
            total += tf.matmul(a, b)
        return total

    repeat()
    started = time.perf_counter()
    repeat().numpy()
    seconds = (time.perf_counter() - started) / ROOFLINE_REPEATS
    return 2 * batch * fan_in * fan_out / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dataset", default="fashion_mnist", choices=data.DATASETS)
    args = parser.parse_args()
    dataset = data.load(args.dataset, allow_download=False)
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1)
    print(f"data: {dataset.source}; {len(split[0]):,} training images, {args.epochs} epochs each\n")
    print("| set-up | plain fit (img/s) | ours (img/s) | ratio | accuracy fit / ours | % of roofline |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    for name, batch in SETUPS:
        config = model.preset(name).replace(batch_size=batch, epochs=args.epochs)
        base_speed, base_accuracy = fit_baseline(config, split, dataset)
        our_speed, our_accuracy = ours(config, split, dataset)
        roofline = matmul_roofline(batch, 784, config.hidden_units[0])
        achieved = our_speed * 2 * config.flops_per_image / 1e9  # forward + weight gradients
        ratio = our_speed / base_speed
        print(f"| {name}, batch {batch} | {base_speed:,.0f} | {our_speed:,.0f} | {ratio:.2f}x "
              f"| {base_accuracy:.2%} / {our_accuracy:.2%} | {achieved / roofline:.0%} "
              f"({achieved:.0f} of {roofline:.0f} GFLOP/s) |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
