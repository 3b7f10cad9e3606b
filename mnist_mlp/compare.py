"""Two models side by side: accuracy and confusion class by class, where they disagree, and a linear
model's templates.

Plain numpy over `evaluate.Evaluation`; Keras only for reading a model's weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_mlp.evaluate import Evaluation, confusion_shares
from mnist_mlp.model import NUM_CLASSES, first_layer_weights

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class ClassComparison:
    """Two models' results on the same labelled set, class by class."""

    names: tuple[str, ...]  # the 10 class names
    first: np.ndarray  # (10,) float: the first model's accuracy per true class; NaN for an absent class
    second: np.ndarray  # (10,) float: the same for the second model
    first_accuracy: float  # overall, in [0, 1]
    second_accuracy: float
    both_right: int  # examples both models read right
    only_first_right: int
    only_second_right: int
    both_wrong: int
    first_confusion: np.ndarray  # (10, 10) int64: the first model's counts, row = true class
    second_confusion: np.ndarray  # (10, 10) int64: the same for the second model

    @property
    def difference(self) -> np.ndarray:
        """(10,) second minus first, in [-1, 1]: positive where the second model reads a class better."""
        return self.second - self.first

    @property
    def confusion_difference(self) -> np.ndarray:
        """(10, 10) int64, second minus first: on the diagonal how many more of each true class the second
        model reads right, off it how many more of each mistake it makes (negative: fewer)."""
        return self.second_confusion - self.first_confusion

    @property
    def share_difference(self) -> np.ndarray:
        """(10, 10) float in [-1, 1]: `confusion_difference` as a share of each true class (its row), so
        classes of different sizes compare fairly. Its diagonal is `difference`, with 0 rather than NaN
        for a class the set does not hold."""
        return confusion_shares(self.second_confusion) - confusion_shares(self.first_confusion)

    def rows(self, first_label: str = "first", second_label: str = "second") -> list[dict[str, Any]]:
        """One JSON-ready row per class (NaN becomes None), for a table."""

        def plain(value: float) -> float | None:
            return None if np.isnan(value) else round(float(value), 6)

        return [
            {
                "class": name,
                first_label: plain(self.first[index]),
                second_label: plain(self.second[index]),
                "difference": plain(self.difference[index]),
            }
            for index, name in enumerate(self.names)
        ]


def same_set(first: Evaluation, second: Evaluation) -> bool:
    """True when two evaluations are of the same labels in the same order, so they can be compared."""
    return first.labels.shape == second.labels.shape and bool(np.array_equal(first.labels, second.labels))


def compare_classes(
    first: Evaluation, second: Evaluation, names: list[str] | tuple[str, ...]
) -> ClassComparison:
    """Compare two models evaluated on the same labelled set.

    Args:
        first, second: evaluations of two models on the same (n,) labels in the same order.
        names: the 10 class names.

    Raises:
        ValueError: the evaluations are not of the same set, or there are not 10 names.
    """
    if len(names) != NUM_CLASSES:
        raise ValueError(f"Expected {NUM_CLASSES} class names. Received: {len(names)} ({list(names)!r}).")
    if not same_set(first, second):
        raise ValueError(
            "Expected two evaluations of the same labelled set (same labels, same order). Received: "
            f"{len(first.labels)} and {len(second.labels)} labels that differ. Evaluate both models on "
            "the same test set, e.g. two models of the same dataset."
        )
    first_right = first.predictions == first.labels  # (n,) bool
    second_right = second.predictions == second.labels
    return ClassComparison(
        names=tuple(names),
        first=np.asarray(first.per_class_accuracy, float),
        second=np.asarray(second.per_class_accuracy, float),
        first_accuracy=first.accuracy,
        second_accuracy=second.accuracy,
        both_right=int((first_right & second_right).sum()),
        only_first_right=int((first_right & ~second_right).sum()),
        only_second_right=int((~first_right & second_right).sum()),
        both_wrong=int((~first_right & ~second_right).sum()),
        first_confusion=first.confusion,
        second_confusion=second.confusion,
    )


def dense_layers(network: keras.Model) -> int:
    """How many dense (weighted) layers `network` has: 1 for softmax regression."""
    return sum(hasattr(layer, "kernel") for layer in network.layers)


def is_linear(network: keras.Model) -> bool:
    """True for softmax regression: one dense layer from the 784 pixels straight to the 10 classes."""
    return dense_layers(network) == 1


def class_templates(network: keras.Model) -> np.ndarray:
    """A linear model's weights as one 28x28 template per class: (10, 28, 28) float32.

    Template c is what class c's score adds up: ink on red (positive) pixels raises it, ink on
    blue (negative) pixels lowers it.

    Raises:
        ValueError: the model has hidden layers, so no weight image belongs to one class.
    """
    if not is_linear(network):
        raise ValueError(
            "Class templates exist only for a linear (softmax) model. Received: a model with "
            f"{dense_layers(network) - 1} hidden layer(s). Use the 'softmax' preset, or look at its "
            "first-layer weights instead."
        )
    templates = first_layer_weights(network)  # (10, 28, 28)
    if len(templates) != NUM_CLASSES:
        raise ValueError(f"Expected {NUM_CLASSES} outputs. Received: {len(templates)}.")
    return templates
