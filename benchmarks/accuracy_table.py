"""Every preset on every dataset: test and training accuracy, epochs and time, beside published figures.

    python -m benchmarks.accuracy_table [--datasets mnist fashion_mnist] [--presets 784-20-10 ...]

Each preset trains with its own defaults through the project's training path, holding out 10% of the
training images for validation, and is scored once on the test set. Without the full MNIST (`python -m
mnist_mlp fetch mnist`), `mnist` is the bundled sample (3,600 training and 1,000 test digits), so its
figures are not comparable with tutorials trained on all 60,000 digits; the table says which data each
row used. The shipped model of each dataset follows its presets, scored on the same test set, its
training accuracy and time from its card (`--no-shipped` leaves it out).

A published figure is either a test accuracy or a training accuracy (what Keras's `fit` logs as
`accuracy`: the running mean over an epoch's batches, dropout on), and ours is set beside it measured
the same way: our test accuracy, or our training accuracy at the same epoch, which `train.train`
counts as Keras does.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mnist_mlp import data, evaluate, model, rights, store, train


@dataclass(frozen=True)
class Reference:
    """A published figure for one set-up."""

    accuracy: float
    measure: str  # "test": on the test set after training; "train": Keras's logged training accuracy
    epochs: int | None  # after this many epochs; None where the source does not say
    source: str


CLASSIC = {
    ("mnist", "784-512-10"): Reference(0.979, "test", 4, "Keras save-and-load tutorial"),
    ("mnist", "784-700-500-10"): Reference(0.977, "test", 4, "classic Keras MLP tutorial"),
    ("fashion_mnist", "784-20-10"): Reference(
        0.8815, "train", 10, "classic Keras Fashion-MNIST tutorial, its log line `accuracy: 0.8815`; "
        "it prints no test accuracy for this model"
    ),
    ("fashion_mnist", "784-50-50-10"): Reference(
        0.8696, "test", None, "the same tutorial's two-layer 50-50 model; epochs not given here"
    ),
    ("fashion_mnist", "784-512-10"): Reference(0.875, "test", 4, "plain Keras fit, measured here"),
    ("mnist", "shipped"): Reference(
        0.993, "test", None, "Simard, Steinkraus and Platt 2003: an MLP trained on distorted digits"
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One preset trained and tested."""

    test_accuracy: float
    history: list[dict]  # train.TrainResult.history: one entry per epoch
    epochs: int
    seconds: float

    def training_accuracy(self, epoch: int | None = None) -> float:
        """Our training accuracy at `epoch` (default: the last), counted as Keras's `fit` logs it."""
        return self.history[(epoch or self.epochs) - 1]["accuracy"]


def run(preset_name: str, dataset: data.Dataset) -> Row:
    """Train one preset with its defaults and test it."""
    config = model.preset(preset_name)
    split = data.split_validation(dataset.x_train, dataset.y_train, 0.1, seed=config.seed)
    result = train.train(config, split)
    accuracy = evaluate.evaluate(result.model, dataset.x_test, dataset.y_test).accuracy
    return Row(accuracy, result.history, config.epochs, result.seconds)


def shipped_row(name: str, dataset: data.Dataset) -> Row | None:
    """The shipped model `name` on `dataset`'s test set, its history and time from its card; None
    when it is not here or reads another dataset."""
    try:
        loaded = store.load(name, store.SHIPPED_STORE)
    except ValueError:
        return None
    card = loaded.card
    if card is None or card.dataset != dataset.name:
        return None
    accuracy = evaluate.evaluate(loaded.model, dataset.x_test, dataset.y_test).accuracy
    return Row(accuracy, list(card.history), round(card.epochs), card.training_seconds)


def rows(dataset: data.Dataset, presets: list[str], *, shipped: bool) -> Iterator[tuple[str, str, Row]]:
    """(label, key in CLASSIC, row): each preset trained and tested, then the shipped models of `dataset`."""
    for preset_name in presets:
        yield preset_name, preset_name, run(preset_name, dataset)
    for name in rights.SHIPPED_MODELS if shipped else ():
        row = shipped_row(name, dataset)
        if row is not None:
            yield f"shipped {name}", "shipped", row


def compared(reference: Reference | None, row: Row) -> tuple[str, str]:
    """The reference figure, saying which it is, and ours measured the same way ("" and "" for none)."""
    if reference is None:
        return "", ""
    if reference.measure == "train":
        when = f"training accuracy at epoch {reference.epochs}"
        ours = f"{row.training_accuracy(reference.epochs):.2%} {when}"
    else:
        when = f"test accuracy after {reference.epochs} epochs" if reference.epochs else "test accuracy"
        ours = f"{row.test_accuracy:.2%} test accuracy after {row.epochs} epochs"
    return f"{reference.accuracy:.2%} {when} ({reference.source})", ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(data.DATASETS), choices=data.DATASETS)
    parser.add_argument("--presets", nargs="+", default=list(model.PRESETS), choices=list(model.PRESETS))
    parser.add_argument("--no-shipped", action="store_true", help="leave the shipped models out")
    args = parser.parse_args()
    print(
        "| dataset (data used) | preset or model | test accuracy | training accuracy, last epoch | epochs "
        "| training time | published figure | ours, measured the same way |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | --- | --- |")
    for dataset_name in args.datasets:
        dataset = data.load(dataset_name, allow_download=False)
        kind = "bundled sample" if dataset.is_sample else "full"
        used = f"{dataset_name} ({kind}, {len(dataset.y_test):,} test)"
        for label, key, row in rows(dataset, args.presets, shipped=not args.no_shipped):
            reference, ours = compared(CLASSIC.get((dataset_name, key)), row)
            print(
                f"| {used} | {label} | {row.test_accuracy:.2%} | {row.training_accuracy():.2%} "
                f"| {row.epochs} | {row.seconds:.1f} s | {reference} | {ours} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
