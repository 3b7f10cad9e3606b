"""The background training job on real digits: it reports live, stops fast, queues, and reports errors."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from mnist_mlp import datasets, job, model, train

TINY = model.MLPConfig(hidden_units=(16,), dropout_rate=0.0, epochs=1, batch_size=32, seed=5)


@pytest.fixture(scope="module")
def tiny_split(small_split):
    x_train, y_train, x_val, y_val = small_split
    return datasets.Split(x_train[:320], y_train[:320], x_val[:100], y_val[:100])


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_runs_to_the_end_in_its_own_thread_and_reports_progress(tiny_split):
    training = job.TrainingJob(TINY.replace(epochs=2), tiny_split).start()
    assert training.wait(60)
    state = training.state()
    assert state.status == job.FINISHED and not state.active and state.error is None
    result = training.result
    assert [round(r["epoch"]) for r in result.history] == [1, 2]
    assert result.steps == 2 * 10  # 320 images in batches of 32
    epochs = [p for p in state.points if p.kind == "epoch"]
    assert [p.epoch for p in epochs] == [1, 2]
    assert [p.step for p in state.points] == sorted(p.step for p in state.points)
    assert state.progress == state.points[-1] and state.progress.fraction == pytest.approx(1.0)
    # the live weights are the model's own, copied at the end
    np.testing.assert_allclose(state.weights, model.first_layer_weights(result.model))
    assert state.weights.shape == (16, 28, 28)


def test_stop_ends_a_long_run_and_keeps_the_model(tiny_split):
    """How soon it stops (goal: 1.5 s) is measured by `python -m benchmarks.responsiveness`."""
    training = job.TrainingJob(TINY.replace(epochs=1000), tiny_split).start()
    wait_for(lambda: training.state().progress is not None)
    training.stop()
    assert training.wait(60)  # the 1000 epochs would take minutes
    assert training.status == job.STOPPED
    result = training.result
    assert result.stopped and result.epochs_done < 1000
    probabilities = model.predict(result.model, tiny_split.x_val[:3])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_continues_a_previous_result(tiny_split):
    first = job.TrainingJob(TINY, tiny_split).start()
    assert first.wait(60)
    steps = first.result.steps
    second = job.TrainingJob(TINY, tiny_split, previous=first.result, epochs=1).start()
    assert second.wait(60)
    assert second.status == job.FINISHED
    assert second.result is first.result  # trained further in place, as train.train does
    assert second.result.steps == steps + 10
    assert [round(r["epoch"]) for r in second.result.history] == [1, 2]


def test_waits_for_a_free_slot_and_can_be_stopped_while_queued(tiny_split):
    slots = threading.Semaphore(1)
    slots.acquire()  # another session holds the only slot
    waiting = job.TrainingJob(TINY, tiny_split, slots=slots).start()
    cancelled = job.TrainingJob(TINY, tiny_split, slots=slots).start()
    time.sleep(0.3)
    assert waiting.status == cancelled.status == job.QUEUED
    cancelled.stop()
    assert cancelled.wait(2)
    assert cancelled.status == job.STOPPED and cancelled.result is None
    slots.release()
    assert waiting.wait(60)
    assert waiting.status == job.FINISHED
    assert slots.acquire(blocking=False), "the job gave its slot back"


def test_an_error_in_the_thread_is_reported_not_swallowed(tiny_split):
    x_train, y_train, x_val, y_val = tiny_split
    slots = threading.Semaphore(1)
    broken_split = datasets.Split(x_train.astype(np.float32), y_train, x_val, y_val)
    broken = job.TrainingJob(TINY, broken_split, slots=slots)
    assert broken.start().wait(60)
    state = broken.state()
    assert state.status == job.FAILED
    assert isinstance(broken.error, ValueError)
    assert "ValueError" in state.error and "uint8" in state.error
    assert broken.result is None
    assert slots.acquire(blocking=False), "a failed job gives its slot back too"


class LessonEnded(BaseException):
    """Not an Exception, as KeyboardInterrupt and SystemExit are not."""


class FailsAtFirstReport(job.TrainingJob):
    """A job whose progress callback raises `error` once training has begun."""

    def __init__(self, *args, error: BaseException, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.raised = error

    def _on_progress(self, progress: train.Progress) -> None:
        super()._on_progress(progress)
        raise self.raised


@pytest.mark.parametrize(
    ("error", "reason"),
    [(LessonEnded("the bell rang"), "LessonEnded: the bell rang"), (KeyboardInterrupt(), "KeyboardInterrupt"),
     (SystemExit(3), "SystemExit: 3"), (ValueError("bad batch"), "ValueError: bad batch")],
)  # fmt: skip
def test_any_exception_in_the_thread_fails_the_job_and_lets_its_arrays_go(
    tiny_split, monkeypatch, error, reason
):
    runners: list[weakref.ref] = []
    make_runner = train._Runner.__init__

    def watched_runner(self, *args, **kwargs):
        runners.append(weakref.ref(self))  # what holds the run's tensors and distorted images
        make_runner(self, *args, **kwargs)

    monkeypatch.setattr(train._Runner, "__init__", watched_runner)
    x_train = tiny_split.x_train.copy()  # only the job and the run see this copy
    images = weakref.ref(x_train)
    slots = threading.Semaphore(1)
    _, y_train, x_val, y_val = tiny_split
    own = datasets.Split(x_train, y_train, x_val, y_val)
    failing = FailsAtFirstReport(TINY.replace(epochs=3), own, slots=slots, error=error)
    del x_train, own
    assert failing.start().wait(60)
    state = failing.state()
    assert state.status == job.FAILED and not state.active
    assert state.error == reason
    assert failing.error is error and error.__traceback__ is None
    assert type(error).__name__ in failing.traceback and "_on_progress" in failing.traceback
    assert failing.result is None
    assert slots.acquire(blocking=False), "a failed job gives its slot back"
    gc.collect()
    assert len(runners) == 1 and runners[0]() is None, "the run's tensors are kept"
    assert images() is None, "the training images are kept"


def test_points_are_thinned_but_keep_every_epoch(tiny_split, monkeypatch):
    monkeypatch.setattr(job, "MAX_POINTS", 8)
    training = job.TrainingJob(TINY.replace(epochs=6, batch_size=8), tiny_split).start()
    assert training.wait(120)
    points = training.state().points
    assert len(points) <= 2 * 8
    assert [p.epoch for p in points if p.kind == "epoch"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("decay", model.LEARNING_RATE_DECAYS)
def test_a_job_trains_exactly_as_train_does(tiny_split, decay):
    config = TINY.replace(epochs=2, learning_rate_decay=decay)
    training = job.TrainingJob(config, tiny_split).start()
    assert training.wait(60) and training.status == job.FINISHED
    assert training.result.history == train.train(config, tiny_split).history
