"""A live lesson's panel and replay: a fixed set of test images the model reads as it learns, and a
recording of the run (the panel's answers, the first-layer weights) small enough to keep and scrub.

Plain Python, no Streamlit: the job feeds `Recording` between compiled calls; the app reads it from
other threads. The pace of a lesson is `pace.Pace`'s.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp.model import NUM_CLASSES

if TYPE_CHECKING:
    import keras

PANEL_PER_CLASS = 2  # test images per class on the panel: 20, one glance on a projector
MAX_ANSWER_FRAMES = 2000  # panel answers kept for replay, spread evenly over the run's steps
MAX_WEIGHT_FRAMES = 48  # first-layer weight copies kept for replay, spread the same way


@dataclass(frozen=True, eq=False)
class Panel:
    """A few test images of every class, chosen once per run, that the class watches being read."""

    indices: np.ndarray  # (n,) int, into the test set
    images: np.ndarray  # (n, 28, 28) uint8, ink white on black
    labels: np.ndarray  # (n,) int, the true classes


def choose_panel(
    x_test: np.ndarray, y_test: np.ndarray, seed: int, per_class: int = PANEL_PER_CLASS
) -> Panel:
    """`per_class` test images of each class (fewer where a class has fewer), class by class; the same
    images for the same seed and test set, so everyone who watches a run sees the same panel."""
    if x_test.shape[1:] != (28, 28) or len(x_test) != len(y_test) or len(x_test) == 0:
        raise ValueError(
            "Expected test images of shape (n, 28, 28) with one label each, n > 0. "
            f"Received: images {x_test.shape}, labels {np.shape(y_test)}."
        )
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(NUM_CLASSES):
        of_class = np.flatnonzero(y_test == label)
        chosen.extend(sorted(rng.choice(of_class, min(per_class, len(of_class)), replace=False)))
    indices = np.asarray(chosen, np.int64)
    return Panel(indices, np.ascontiguousarray(x_test[indices]), np.asarray(y_test)[indices])


@dataclass(frozen=True)
class Answers:
    """The panel as the model read it after `step` optimizer steps."""

    step: int
    predicted: np.ndarray  # (n,) int8 class per panel image
    confidence: np.ndarray  # (n,) float16 its probability, in [0, 1]

    def right(self, labels: np.ndarray) -> np.ndarray:
        """(n,) bool: which panel images it read right."""
        return self.predicted == labels


@dataclass(frozen=True)
class Weights:
    """First-layer weights as they stood after `step` optimizer steps."""

    step: int
    weights: np.ndarray  # (units, 28, 28) float16


class Recording:
    """What a run's replay needs: the panel's answers at every report, and the first-layer weights now
    and then; bounded (frames spread evenly over the run's steps once full), and safe to read from any
    thread while the run adds to it."""

    def __init__(
        self, panel: Panel, max_answers: int = MAX_ANSWER_FRAMES, max_weights: int = MAX_WEIGHT_FRAMES
    ) -> None:
        if min(max_answers, max_weights) < 3:
            raise ValueError(
                f"Expected room for at least 3 frames of each kind. Received: {max_answers=}, {max_weights=}."
            )
        self.panel = panel
        self._max_answers, self._max_weights = max_answers, max_weights
        self._answers: list[Answers] = []
        self._weights: list[Weights] = []
        self._lock = threading.Lock()

    def add_answers(self, step: int, probabilities: np.ndarray) -> Answers:
        """Record the panel's (n, 10) class probabilities after `step` steps; a repeated step replaces."""
        probabilities = np.asarray(probabilities, np.float32)
        if probabilities.shape != (len(self.panel.labels), NUM_CLASSES):
            raise ValueError(
                f"Expected ({len(self.panel.labels)}, {NUM_CLASSES}) panel probabilities. "
                f"Received: {probabilities.shape}."
            )
        predicted = probabilities.argmax(axis=1)
        answers = Answers(step, predicted.astype(np.int8), probabilities.max(axis=1).astype(np.float16))
        with self._lock:
            self._answers = _added(self._answers, answers, self._max_answers)
        return answers

    def add_weights(self, step: int, weights: np.ndarray) -> None:
        """Record first-layer weights (units, 28, 28) after `step` steps, as float16."""
        frame = Weights(step, weights.astype(np.float16))
        with self._lock:
            self._weights = _added(self._weights, frame, self._max_weights)

    def latest(self) -> Answers | None:
        """The panel's newest answers, or None before the first."""
        with self._lock:
            return self._answers[-1] if self._answers else None

    def steps(self) -> list[int]:
        """The steps with recorded answers, ascending."""
        with self._lock:
            return [answers.step for answers in self._answers]

    def answers_at(self, step: int) -> Answers | None:
        """The panel's answers as they stood at `step`: the last recorded at or before it."""
        with self._lock:
            found = bisect.bisect_right([answers.step for answers in self._answers], step)
            return self._answers[found - 1] if found else None

    def weights_at(self, step: int) -> Weights | None:
        """The recorded weights nearest to `step` (the earlier on a tie)."""
        with self._lock:
            if not self._weights:
                return None
            return min(self._weights, key=lambda kept: (abs(kept.step - step), kept.step))

    def right_counts(self, up_to: int | None = None) -> list[tuple[int, int]]:
        """(step, panel images read right) at every recorded step, up to `up_to` when given."""
        with self._lock:
            kept = [a for a in self._answers if up_to is None or a.step <= up_to]
        return [(answers.step, int(answers.right(self.panel.labels).sum())) for answers in kept]

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays it holds: the panel, every answer and every weight copy."""
        with self._lock:
            answers = sum(a.predicted.nbytes + a.confidence.nbytes for a in self._answers)
            weights = sum(w.weights.nbytes for w in self._weights)
        panel = self.panel.images.nbytes + self.panel.labels.nbytes + self.panel.indices.nbytes
        return answers + weights + panel


def _added(frames: list, frame: Answers | Weights, limit: int) -> list:
    """`frames` (ascending by step) with `frame` at the end, replacing any at its step or later; once
    over `limit`, thinned to an even spread over the steps (`_spread`)."""
    frames = [kept for kept in frames if kept.step < frame.step] + [frame]
    return _spread(frames, limit) if len(frames) > limit else frames


def _spread(frames: list, limit: int) -> list:
    """At most `limit` of `frames`: for each of `limit` steps evenly spaced from the first frame's to the
    newest's, the frame nearest to it. Thinning what was thinned before stays even: no gap grows past
    about twice an even share of the run, however long it gets."""
    steps = np.array([frame.step for frame in frames])
    targets = np.linspace(steps[0], steps[-1], limit)
    after = np.clip(np.searchsorted(steps, targets), 1, len(steps) - 1)
    nearer_before = targets - steps[after - 1] <= steps[after] - targets
    chosen = np.unique(np.where(nearer_before, after - 1, after))
    return [frames[index] for index in chosen]


class PanelReader:
    """Reads the panel with a model between training steps: one compiled call of (n, 28, 28) images.

    Speed trick: an eager Keras call costs a few ms of Python per call, more than the 20 images'
    arithmetic; traced once, a call costs a fraction of that, and it runs after every compiled call
    of a run at full speed.
    """

    def __init__(self, keras_model: keras.Model, panel: Panel) -> None:
        import tensorflow as tf

        self._images = tf.constant(panel.images, tf.float32) / 255.0  # (n, 28, 28) float32 in [0, 1]
        self._call = tf.function(lambda images: keras_model(images, training=False))

    def probabilities(self) -> np.ndarray:
        """(n, 10) float32 class probabilities of the panel's images, dropout off."""
        return np.asarray(self._call(self._images), np.float32)


def rows_up_to(points: Sequence, step: int) -> list:
    """The progress reports (anything with a `.step`) made at or before `step`."""
    return [point for point in points if point.step <= step]
