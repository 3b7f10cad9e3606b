"""A live lesson: training at a pace a teacher can talk over, a fixed panel of test images answered as
the model learns, and a recording of the run small enough to keep and replay.

Plain Python, no Streamlit: the training loop asks `Pace` how many steps it may take; the job feeds
`Recording` between compiled calls; the app reads both from other threads.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mnist_mlp.model import NUM_CLASSES

PACES = (1, 2, 5, 10, 20, 50, 100, 200)  # steps a second a lesson may run at; None is full speed
PANEL_PER_CLASS = 2  # test images per class on the panel: 20, one glance on a projector
MAX_ANSWER_FRAMES = 2000  # panel answers kept for replay; beyond it every other one is dropped
MAX_WEIGHT_FRAMES = 48  # first-layer weight copies kept for replay, thinned the same way
WAIT_SLICE_SECONDS = 0.05  # how often a waiting loop looks at its stop switch
SLOW_PACE = 20  # at this many steps a second or fewer, every step is worth watching (see `Pace.slow`)


class Pace:
    """How fast a run may go: full speed, some steps a second, paused, or one step at a time.

    Any thread may change it; the training thread asks `take` before each compiled call and waits
    there while paused or ahead of the pace. Stepping pauses the run and lets exactly one more
    optimizer step through.
    """

    def __init__(self, steps_per_second: float | None = None, *, paused: bool = False) -> None:
        _check_rate(steps_per_second)
        self._rate = steps_per_second
        self._paused = paused
        self._steps_granted = 0  # steps let through while paused
        self._next_at = 0.0  # time.monotonic() from which the next paced step may run
        self._waited = 0.0
        self._changed = threading.Condition()

    @property
    def steps_per_second(self) -> float | None:
        """The pace, or None for full speed."""
        with self._changed:
            return self._rate

    @property
    def paused(self) -> bool:
        with self._changed:
            return self._paused

    @property
    def slow(self) -> bool:
        """Paused, stepping, or at SLOW_PACE steps a second or fewer: each step is worth showing."""
        with self._changed:
            return self._paused or (self._rate is not None and self._rate <= SLOW_PACE)

    @property
    def waited_seconds(self) -> float:
        """Time the training thread has spent held back, so speed figures can leave it out."""
        with self._changed:
            return self._waited

    def set_steps_per_second(self, steps_per_second: float | None) -> None:
        """Change the pace (None: full speed); a run waiting for its next step follows at once."""
        _check_rate(steps_per_second)
        with self._changed:
            self._rate = steps_per_second
            self._next_at = 0.0
            self._changed.notify_all()

    def pause(self) -> None:
        with self._changed:
            self._paused = True
            self._changed.notify_all()

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._steps_granted = 0
            self._next_at = 0.0
            self._changed.notify_all()

    def step(self) -> None:
        """Pause, and let exactly one more optimizer step (one batch) through."""
        with self._changed:
            self._paused = True
            self._steps_granted += 1
            self._changed.notify_all()

    def take(self, wanted: int, stop: threading.Event | None = None) -> int:
        """Wait until steps may run, then say how many, from 1 to `wanted`; 0 once `stop` is set.

        Full speed gives `wanted` at once. A pace gives the steps due by now: one at a time up to
        a few a call at faster paces, so the model still changes smoothly on screen.
        """
        if wanted < 1:
            raise ValueError(f"Expected at least one step wanted. Received: wanted={wanted}.")
        started = time.monotonic()
        with self._changed:
            try:
                while not (stop is not None and stop.is_set()):
                    allowed = self._allowed(wanted)
                    if allowed:
                        return allowed
                    self._changed.wait(self._wait_seconds())
                return 0
            finally:
                self._waited += time.monotonic() - started

    def _allowed(self, wanted: int) -> int:
        """Steps that may run now (0: wait); holds the lock."""
        if self._paused:
            allowed = min(wanted, self._steps_granted)
            self._steps_granted -= allowed
            return allowed
        if self._rate is None:
            return wanted
        now = time.monotonic()
        if now < self._next_at:
            return 0
        allowed = min(wanted, max(1, math.floor(self._rate * WAIT_SLICE_SECONDS)))
        self._next_at = max(now, self._next_at) + allowed / self._rate
        return allowed

    def _wait_seconds(self) -> float:
        if self._paused or self._rate is None:
            return WAIT_SLICE_SECONDS
        return min(WAIT_SLICE_SECONDS, max(self._next_at - time.monotonic(), 0.0))


def _check_rate(steps_per_second: float | None) -> None:
    if steps_per_second is not None and not (math.isfinite(steps_per_second) and steps_per_second > 0):
        raise ValueError(
            "Expected a pace of more than 0 steps a second, or None for full speed. "
            f"Received: steps_per_second={steps_per_second}."
        )


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


class Recording:
    """What a run's replay needs: the panel's answers at every report, and the first-layer weights now
    and then; bounded, and safe to read from any thread while the run adds to it."""

    def __init__(
        self, panel: Panel, max_answers: int = MAX_ANSWER_FRAMES, max_weights: int = MAX_WEIGHT_FRAMES
    ) -> None:
        self.panel = panel
        self._max_answers, self._max_weights = max_answers, max_weights
        self._answers: list[Answers] = []
        self._weights: list[tuple[int, np.ndarray]] = []  # (step, (units, 28, 28) float16)
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
            self._answers = _added(self._answers, step, answers, self._max_answers)
        return answers

    def add_weights(self, step: int, weights: np.ndarray) -> None:
        """Record first-layer weights (units, 28, 28) after `step` steps, as float16."""
        with self._lock:
            self._weights = _added(self._weights, step, (step, weights.astype(np.float16)), self._max_weights)

    def latest(self) -> Answers | None:
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

    def weights_at(self, step: int) -> tuple[int, np.ndarray] | None:
        """The recorded weights nearest to `step` (the earlier on a tie), with their own step."""
        with self._lock:
            if not self._weights:
                return None
            return min(self._weights, key=lambda kept: (abs(kept[0] - step), kept[0]))

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
            weights = sum(w.nbytes for _, w in self._weights)
        panel = self.panel.images.nbytes + self.panel.labels.nbytes + self.panel.indices.nbytes
        return answers + weights + panel


def _added(frames: list, step: int, frame: object, limit: int) -> list:
    """`frames` (ascending by step, each an Answers or a (step, array)) with `frame` at the end; a frame
    at the same step replaced; beyond `limit`, every other of the older frames dropped, the first and
    the newest kept."""
    if frames and _step_of(frames[-1]) >= step:
        frames = [f for f in frames if _step_of(f) < step]
    frames = [*frames, frame]
    if len(frames) > limit:
        frames = [*frames[:-1:2], frames[-1]]
    return frames


def _step_of(frame: object) -> int:
    return frame.step if isinstance(frame, Answers) else frame[0]


class PanelReader:
    """Reads the panel with a model between training steps: one compiled call of (n, 28, 28) images.

    Speed trick: an eager Keras call costs a few ms of Python per call, more than the 20 images'
    arithmetic; traced once, a call costs a fraction of that, and it runs after every compiled call
    of a run at full speed.
    """

    def __init__(self, keras_model, panel: Panel) -> None:
        import tensorflow as tf

        self._images = tf.constant(panel.images, tf.float32) / 255.0  # (n, 28, 28) float32 in [0, 1]
        self._call = tf.function(lambda images: keras_model(images, training=False))

    def probabilities(self) -> np.ndarray:
        """(n, 10) float32 class probabilities of the panel's images, dropout off."""
        return np.asarray(self._call(self._images), np.float32)


def rows_up_to(points: Sequence, step: int) -> list:
    """The progress reports (anything with a `.step`) made at or before `step`."""
    return [point for point in points if point.step <= step]
