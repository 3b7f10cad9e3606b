"""Training throughput: the project's training path against plain `model.fit`, measured in one run.

    python -m benchmarks.training_speed [--epochs 3] [--seeds 3] [--dataset fashion_mnist]

For each set-up both sides train the same architecture from the same seeds on the same in-memory
data; throughput is taken over the epochs after the first (which pays for tracing), the median over
the seeds, and test accuracy after the same number of epochs, as the mean over the seeds (one seed's
accuracy moves by about 0.7 points from seed to seed, more than the gap the goal allows).

Two bounds are measured in the same run: the matmul roofline (TensorFlow's matmul alone at the
first layer's shape) and the kernel floor: a loop of only the four kernels every training step of
the set-up must run on its first layer (forward matmul, the activation's gradient, weight-gradient
matmul, Adam update). No training loop made of TensorFlow's kernels can beat the floor.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
    keras_model.fit(
        x,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        validation_data=validation,
        callbacks=[Clock()],
        verbose=0,
    )
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

    result = train.train(config, split, on_progress=on_progress, stop=threading.Event())
    speed = _steady_speed(marks, len(split.x_train))
    accuracy = evaluate.evaluate(result.model, dataset.x_test, dataset.y_test).accuracy
    return speed, accuracy


def _steady_speed(marks: list[float], images_per_epoch: int) -> float:
    """Images per second between the first and the last epoch end (validation time included)."""
    return images_per_epoch * (len(marks) - 1) / (marks[-1] - marks[0])


def kernel_floor(config: model.MLPConfig, steps: int = 200) -> float:
    """Images per second of the first layer's unavoidable kernels alone (see the module's doc)."""
    import tensorflow as tf

    batch, units = config.batch_size, config.hidden_units[0]
    images = tf.random.uniform((batch, 784))
    upstream = tf.random.normal((batch, units))  # the gradient arriving from the layer above
    kernel, momentum, velocity = (tf.Variable(tf.random.normal((784, units)) * 0.05) for _ in range(3))

    @tf.function
    def repeat():
        for _ in tf.range(steps):
            hidden = tf.matmul(images, kernel)
            gradient = tf.matmul(images, tf.where(hidden > 0, upstream, 0.0), transpose_a=True)
            tf.raw_ops.ResourceApplyAdam(
                var=kernel.handle, m=momentum.handle, v=velocity.handle, beta1_power=0.9,
                beta2_power=0.999, lr=1e-6, beta1=0.9, beta2=0.999, epsilon=1e-7, grad=gradient,
            )  # fmt: skip
        return kernel.read_value()[0, 0]

    repeat()
    best = min(_seconds(repeat) for _ in range(3))  # the least disturbed of three on a shared machine
    return steps * batch / best


def _seconds(function) -> float:
    started = time.perf_counter()
    function().numpy()
    return time.perf_counter() - started


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
    seconds = _seconds(repeat) / ROOFLINE_REPEATS
    return 2 * batch * fan_in * fan_out / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="runs per side, seeds 0..N-1")
    parser.add_argument("--dataset", default="fashion_mnist", choices=data.DATASETS)
    args = parser.parse_args()
    dataset = data.load(args.dataset, allow_download=False)
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1)
    print(
        f"data: {dataset.source}; {len(split.x_train):,} training images, {args.epochs} epochs, "
        f"seeds 0-{args.seeds - 1} on each side\n"
    )
    print(
        "| set-up | plain fit (img/s) | ours (img/s) | ratio | test accuracy, fit / ours (mean ± sd) "
        "| kernel floor (img/s, x fit, % of roofline) | ours, % of roofline |"
    )
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
    for name, batch in SETUPS:
        base, mine = [], []
        for seed in range(args.seeds):
            config = model.preset(name).replace(batch_size=batch, epochs=args.epochs, seed=seed)
            base.append(fit_baseline(config, split, dataset))
            mine.append(ours(config, split, dataset))
        base_speed = statistics.median(speed for speed, _ in base)
        our_speed = statistics.median(speed for speed, _ in mine)
        floor = kernel_floor(config)
        roofline = matmul_roofline(batch, 784, config.hidden_units[0])
        flops = 2 * config.flops_per_image / 1e9  # forward + weight gradients, GFLOP per image
        achieved = our_speed * flops
        ratio = our_speed / base_speed
        print(
            f"| {name}, batch {batch} | {base_speed:,.0f} | {our_speed:,.0f} | {ratio:.2f}x "
            f"| {_accuracy(base)} / {_accuracy(mine)} "
            f"| {floor:,.0f} ({floor / base_speed:.1f}x, {floor * flops / roofline:.0%}) "
            f"| {achieved / roofline:.0%} ({achieved:.0f} of {roofline:.0f} GFLOP/s) |",
            flush=True,
        )


def _accuracy(runs: list[tuple[float, float]]) -> str:
    values = [accuracy for _, accuracy in runs]
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2%} ± {spread:.2%}"


if __name__ == "__main__":
    main()
