"""Training in a background thread that any other thread can watch and stop.

Plain Python, no Streamlit: the app keeps a session's jobs (the Train page's, the Compare page's two)
in its session state and polls them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnist_mlp import lesson, model, train
from mnist_mlp.datasets import Split

if TYPE_CHECKING:
    from mnist_mlp.pace import Pace

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
ACTIVE = (QUEUED, RUNNING)
MAX_POINTS = 2000  # progress reports kept for charts; older batch reports are thinned beyond this
WEIGHTS_EVERY_SECONDS = 2.0  # how often the live first-layer weights are copied out: as often as shown
RECORD_WEIGHTS_EVERY_SECONDS = 0.5  # with a recording: often enough for a replay of a short run
# At full speed the panel is read this often, not after every call (~0.1 s): a few times between two
# polls of the page, at a third of the cost; a paused or slow run is read after every step.
PANEL_EVERY_SECONDS = 0.3
QUEUE_POLL_SECONDS = 0.1  # how often a queued job checks for a free slot or a stop

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class JobState:
    """A consistent copy of what a job has done so far, safe to read in any thread."""

    status: str  # one of QUEUED, RUNNING, FINISHED, STOPPED, FAILED
    progress: train.Progress | None  # the latest report; None until the first call ends
    points: tuple[train.Progress, ...]  # reports so far, oldest first (batch reports thinned)
    weights: np.ndarray | None  # (units, 28, 28) float32 latest first-layer weights, or None
    error: str | None  # what went wrong, when status is FAILED
    seconds: float  # since the job started (queued time included)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class TrainingJob:
    """`train.train` in a daemon thread, with a stop switch, live progress and the result.

    Args:
        config: the model and how to train it.
        split: the images to train and validate on (see `train.train`).
        previous: a TrainResult to go on training (it is changed in place, as `train.train` does).
        epochs: epochs to run (default `config.epochs`).
        slots: a semaphore shared by all jobs that limits how many train at once; a job waits
            (status QUEUED) until it gets one.
        weight_units: first-layer units copied out for live display.
        pace: a live lesson's pace, pause and step (see `pace.Pace`); None runs at full speed.
        panel: test images to read after every compiled call, kept with the weights for replay in
            `recording` (see `lesson.Recording`).
    """

    def __init__(
        self,
        config: model.MLPConfig,
        split: Split,
        *,
        previous: train.TrainResult | None = None,
        epochs: int | None = None,
        slots: threading.Semaphore | None = None,
        weight_units: int = train.SNAPSHOT_UNITS,
        snapshot_steps: Sequence[int] = train.SNAPSHOT_STEPS,
        pace: Pace | None = None,
        panel: lesson.Panel | None = None,
    ) -> None:
        self.config = config
        self.epochs = epochs or config.epochs
        self._data: Split | None = split  # until the run ends
        self._previous = previous
        self._slots = slots
        self._weight_units = weight_units
        self._snapshot_steps = tuple(snapshot_steps)
        self.pace = pace
        self.recording = lesson.Recording(panel) if panel is not None else None
        self._panel_reader: lesson.PanelReader | None = None
        self._panel_at = 0.0  # time.monotonic() of the last panel read
        self._last_step = 0  # of the last report
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = QUEUED
        self._points: list[train.Progress] = []
        self._weights: np.ndarray | None = None
        self._weights_at = 0.0
        self._live: train.TrainResult | None = previous
        self._result: train.TrainResult | None = None
        self._error: BaseException | None = None
        self._traceback: str | None = None
        self._started = 0.0
        self._thread = threading.Thread(target=self._run, name="mnist-mlp-training", daemon=True)

    def start(self) -> TrainingJob:
        """Start the thread; returns self so that `job = TrainingJob(...).start()` reads well."""
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to end: a queued job ends at once, a running one after its current call."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends or `timeout` seconds pass; True if it has ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        return self.status not in ACTIVE

    @property
    def result(self) -> train.TrainResult | None:
        """The trained model and its record once the job ended (also when stopped); else None."""
        with self._lock:
            return self._result

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the job, when status is FAILED; without its traceback (see
        `traceback`), whose frames would keep the run's arrays and model alive."""
        with self._lock:
            return self._error

    @property
    def traceback(self) -> str | None:
        """Where the job failed, as text, when status is FAILED."""
        with self._lock:
            return self._traceback

    def state(self) -> JobState:
        with self._lock:
            error = None if self._error is None else _reason(self._error)
            return JobState(
                status=self._status,
                progress=self._points[-1] if self._points else None,
                points=tuple(self._points),
                weights=self._weights,
                error=error,
                seconds=time.monotonic() - self._started if self._started else 0.0,
            )

    def _run(self) -> None:
        if not self._acquire_slot():
            with self._lock:
                self._status = STOPPED
            self._data = None
            return
        try:
            with self._lock:
                self._status = RUNNING
            live = self._previous or _new_result(self.config, len(self._data.x_train), self.epochs)
            with self._lock:
                self._live = live
            if self.recording is not None:
                self._panel_reader = lesson.PanelReader(live.model, self.recording.panel)
            self._last_step = live.steps
            if self.pace is not None:  # a pause shows the step it stopped at, read or not
                self.pace.when_held(lambda: self._watch(self._last_step, force=True))
            self._watch(live.steps, force=True)
            result = train.train(
                self.config, self._data, previous=live, epochs=self.epochs, on_progress=self._on_progress,
                stop=self._stop, snapshot_steps=self._snapshot_steps, pace=self.pace,
            )  # fmt: skip
            self._watch(result.steps, force=True)
            with self._lock:
                self._result = result
                self._status = STOPPED if result.stopped else FINISHED
        except BaseException as err:  # any end, KeyboardInterrupt and SystemExit too: never RUNNING forever
            self._fail(err)
        finally:
            self._data = None  # the arrays were needed for the run only
            self._panel_reader = None  # its compiled call holds the model
            if self.pace is not None:
                self.pace.when_held(None)  # its callback holds this job
            if self._slots is not None:
                self._slots.release()

    def _fail(self, err: BaseException) -> None:
        """Mark the job FAILED with `err`, keeping its traceback as text only.

        Memory: a traceback holds the frames of the training loop, and they hold the run's arrays
        (the training set on the device, each epoch's distorted copy) and its model; a failed job
        kept in a session would keep them all. So `err` and the exceptions chained to it lose their
        tracebacks once the text is taken. The thread ends here: re-raising would attach a new
        traceback, and a BaseException in a thread stops nothing else anyway.
        """
        text = "".join(traceback.format_exception(err))
        _logger.error("Training job failed:\n%s", text)
        pending, seen = [err], set()
        while pending:  # the exception, its cause and context, theirs, and so on
            chained = pending.pop()
            if chained is None or id(chained) in seen:
                continue
            seen.add(id(chained))
            chained.__traceback__ = None
            pending += [chained.__cause__, chained.__context__]
        with self._lock:
            self._error = err
            self._traceback = text
            self._status = FAILED

    def _acquire_slot(self) -> bool:
        """Wait for a free slot; False when a stop came first."""
        if self._slots is None:
            return not self._stop.is_set()
        while not self._slots.acquire(timeout=QUEUE_POLL_SECONDS):
            if self._stop.is_set():
                return False
        if self._stop.is_set():
            self._slots.release()
            return False
        return True

    def _on_progress(self, progress: train.Progress) -> None:
        with self._lock:
            self._points.append(progress)
            if len(self._points) > MAX_POINTS:  # keep every epoch report, every other batch one
                self._points = [
                    p for index, p in enumerate(self._points) if p.kind == "epoch" or index % 2 == 0
                ]
        self._last_step = progress.step
        slow = self.pace is not None and self.pace.slow  # at a lesson's pace every step is shown
        self._watch(progress.step, force=progress.kind == "epoch" or slow)

    def _watch(self, step: int, force: bool = False) -> None:
        """In the training thread, between compiled calls: now and then (always when `force`) read the
        panel and copy the first-layer weights out; both recorded for replay."""
        now = time.monotonic()
        if self._panel_reader is not None and (force or now - self._panel_at >= PANEL_EVERY_SECONDS):
            self.recording.add_answers(step, self._panel_reader.probabilities())
            self._panel_at = now
        every = WEIGHTS_EVERY_SECONDS if self.recording is None else RECORD_WEIGHTS_EVERY_SECONDS
        if self._live is None or (not force and now - self._weights_at < every):
            return
        weights = model.first_layer_weights(self._live.model)[: self._weight_units].copy()
        with self._lock:
            self._weights = weights  # (units, 28, 28) float32
            self._weights_at = now
        if self.recording is not None:
            self.recording.add_weights(step, weights)


def _reason(err: BaseException) -> str:
    """'ValueError: what it said', or only the name of an exception that said nothing."""
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


def _new_result(config: model.MLPConfig, images: int, epochs: int) -> train.TrainResult:
    """A fresh compiled model made as `train.train` makes one, here so its weights can be watched.

    `images` and `epochs` give the run's length in optimizer steps, which a decaying rate needs.
    """
    return train.new_result(config, epochs * math.ceil(images / config.batch_size))
