"""Every preset on every dataset: test accuracy, epochs and time, beside the classic tutorials' figures.

    python -m benchmarks.accuracy_table [--datasets mnist fashion_mnist]

Each preset trains with its own defaults through the project's training path, holding out 10% of the
training images for validation, and is scored once on the test set. Offline, `mnist` is the bundled
sample (3,600 training and 1,000 test digits), so its figures are not comparable with tutorials
trained on all 60,000 digits; the table says which data each row used.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mnist_mlp import data, evaluate, model, train

# Published figures for the same set-ups: (dataset, preset) -> (accuracy, epochs, source).
CLASSIC = {
    ("mnist", "784-512-10"): (0.979, 4, "Keras save-and-load tutorial"),
    ("mnist", "784-700-500-10"): (0.977, 4, "classic Keras MLP tutorial"),
    ("fashion_mnist", "784-20-10"): (0.882, 10, "classic Keras Fashion-MNIST tutorial"),
    ("fashion_mnist", "784-512-10"): (0.875, 4, "plain Keras fit, measured here"),
}


def run(dataset_name: str, preset_name: str, dataset: data.Dataset) -> tuple[float, int, float]:
    """Test accuracy, epochs and training seconds of one preset."""
    config = model.preset(preset_name)
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1, seed=config.seed)
    result = train.train(config, split)
    accuracy = evaluate.evaluate(result.model, dataset.x_test, dataset.y_test).accuracy
    return accuracy, config.epochs, result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(data.DATASETS), choices=data.DATASETS)
    args = parser.parse_args()
    print("| dataset (data used) | preset | test accuracy | epochs | training time | classic figure |")
    print("| --- | --- | ---: | ---: | ---: | --- |")
    for dataset_name in args.datasets:
        dataset = data.load(dataset_name, allow_download=False)
        kind = "bundled sample" if dataset.is_sample else "full"
        used = f"{dataset_name} ({kind}, {len(dataset.y_test):,} test)"
        for preset_name in model.PRESETS:
            accuracy, epochs, seconds = run(dataset_name, preset_name, dataset)
            classic = CLASSIC.get((dataset_name, preset_name))
            reference = f"{classic[0]:.1%} after {classic[1]} epochs ({classic[2]})" if classic else ""
            print(
                f"| {used} | {preset_name} | {accuracy:.2%} | {epochs} | {seconds:.1f} s | {reference} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
