"""Evaluation: how well a model reads a labelled set, class by class, and where it goes wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from mnist_mlp.model import NUM_CLASSES, predict

if TYPE_CHECKING:
    import keras

EPSILON = 1e-7  # as Keras clips probabilities before the log


@dataclass(frozen=True)
class Mistake:
    """One misclassified example."""

    index: int  # position in the evaluated set
    true_class: int
    predicted_class: int
    confidence: float  # the model's probability for its (wrong) prediction


@dataclass(frozen=True)
class Evaluation:
    """A model's results on one labelled set."""

    labels: np.ndarray  # (n,) int in 0..9
    probabilities: np.ndarray  # (n, 10) float32, rows sum to 1

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def loss(self) -> float:
        """Mean cross-entropy."""
        picked = self.probabilities[np.arange(len(self.labels)), self.labels]
        return float(-np.log(np.clip(picked, EPSILON, 1 - EPSILON)).mean())

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    @property
    def errors(self) -> int:
        """How many examples the model reads wrong."""
        return int((self.predictions != self.labels).sum())

    @property
    def errors_per_class(self) -> np.ndarray:
        """(10,) int64: how many of each true class the model reads wrong."""
        confusion = self.confusion
        return confusion.sum(axis=1) - np.diag(confusion)

    @property
    def confusion(self) -> np.ndarray:
        """(10, 10) counts: row = true class, column = predicted class."""
        return confusion_matrix(self.labels, self.predictions)

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """(10,) share of each true class read correctly (the recall); NaN for an absent class."""
        confusion = self.confusion
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(confusion) / confusion.sum(axis=1)

    @property
    def precision(self) -> np.ndarray:
        """(10,) share of each predicted class that was right; NaN where never predicted."""
        confusion = self.confusion
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(confusion) / confusion.sum(axis=0)

    @property
    def recall(self) -> np.ndarray:
        return self.per_class_accuracy

    def mistakes(
        self,
        true_class: int | None = None,
        predicted_class: int | None = None,
        most_confident_first: bool = True,
    ) -> list[Mistake]:
        """Every misclassified example, optionally of one true and/or predicted class."""
        predictions = self.predictions
        wrong = predictions != self.labels
        if true_class is not None:
            wrong &= self.labels == true_class
        if predicted_class is not None:
            wrong &= predictions == predicted_class
        indices = np.flatnonzero(wrong)
        confidence = self.probabilities[indices, predictions[indices]]
        order = np.argsort(-confidence if most_confident_first else confidence, kind="stable")
        return [
            Mistake(int(i), int(self.labels[i]), int(predictions[i]), float(c))
            for i, c in zip(indices[order], confidence[order], strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN becomes None)."""

        def listed(values: np.ndarray) -> list[float | None]:
            return [None if np.isnan(v) else round(float(v), 6) for v in values]

        return {
            "samples": len(self.labels),
            "loss": round(self.loss, 6),
            "accuracy": round(self.accuracy, 6),
            "per_class_accuracy": listed(self.per_class_accuracy),
            "precision": listed(self.precision),
            "recall": listed(self.recall),
            "confusion_matrix": self.confusion.tolist(),
            "mistakes": self.errors,
        }


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """(10, 10) int64 counts: row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.int64)
    flat = np.bincount(labels * NUM_CLASSES + predictions, minlength=NUM_CLASSES * NUM_CLASSES)
    return flat.reshape(NUM_CLASSES, NUM_CLASSES)


def confusion_shares(confusion: np.ndarray) -> np.ndarray:
    """Each cell of a confusion matrix as a share of its true class (its row), so classes compare fairly.

    Raw counts mislead where classes differ in size (MNIST's test set holds 892 fives and 1,135 ones):
    cell (t, p) becomes the share of the true class t read as p, and the diagonal each class's accuracy.

    Args:
        confusion: (k, k) counts >= 0, row = true class, column = predicted class.

    Returns:
        (k, k) float64 in [0, 1]: each row sums to 1, or is all 0 for a class with no examples (never NaN).
    """
    counts = np.asarray(confusion)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or (counts.size and counts.min() < 0):
        raise ValueError(
            "Expected a square matrix of counts >= 0 (row = true class, column = predicted class). "
            f"Received: shape={counts.shape}, smallest={counts.min() if counts.size else None}."
        )
    totals = counts.sum(axis=1, keepdims=True)  # (k, 1): examples of each true class
    return np.divide(counts, totals, out=np.zeros(counts.shape, np.float64), where=totals > 0)


def error_cells(confusion: np.ndarray) -> list[tuple[int, int]]:
    """The (true, predicted) cells off a (10, 10) confusion matrix's diagonal that hold errors, most first.

    `confusion` holds counts or `confusion_shares`; cells with as many keep row-major order (true class,
    then predicted class).
    """
    cells = [(t, p) for t in range(NUM_CLASSES) for p in range(NUM_CLASSES) if t != p and confusion[t, p]]
    return sorted(cells, key=lambda cell: -confusion[cell])


def accuracy_where(evaluation: Evaluation, keep: np.ndarray) -> float:
    """The share read right among the examples where the (n,) bool `keep` is True; 0.0 when none is."""
    if not keep.any():
        return 0.0
    return float((evaluation.predictions[keep] == evaluation.labels[keep]).mean())


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Run `model` over a labelled set.

    Args:
        images: (n, 28, 28) uint8 0..255 or float in [0, 1], ink white on black.
        labels: (n,) integers in 0..9.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(
            f"Expected one label per image: {len(images)} labels. Received: shape={labels.shape}."
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"Expected labels in 0..9. Received: {labels.min()}..{labels.max()}.")
    return Evaluation(labels=labels.astype(np.int64), probabilities=predict(model, images))
