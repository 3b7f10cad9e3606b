"""A live lesson: the pace, pause and step of a real training run, the panel and the replay's recording."""

import threading
import time

import numpy as np
import pytest

from mnist_mlp import datasets, job, lesson, model, train
from mnist_mlp.pace import Pace

TINY = model.MLPConfig(hidden_units=(16,), dropout_rate=0.0, epochs=1, batch_size=32, seed=5)


@pytest.fixture(scope="module")
def tiny_split(small_split):
    x_train, y_train, x_val, y_val = small_split
    return datasets.Split(x_train[:320], y_train[:320], x_val[:100], y_val[:100])  # 10 batches an epoch


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def steps_of(training: job.TrainingJob) -> int:
    """Optimizer steps the job has reported (0 before its first report)."""
    progress = training.state().progress
    return progress.step if progress is not None else 0


def panel_steps(training: job.TrainingJob) -> list[int]:
    return training.recording.steps()


# --- The panel and the recording -----------------------------------------------------------------------


def test_the_panel_has_two_test_images_of_each_class_the_same_for_the_same_seed(digits):
    panel = lesson.choose_panel(digits.x_test, digits.y_test, seed=3)
    assert panel.labels.tolist() == [label for label in range(10) for _ in range(2)]
    assert np.array_equal(panel.images, digits.x_test[panel.indices])
    assert np.array_equal(panel.labels, digits.y_test[panel.indices])
    again = lesson.choose_panel(digits.x_test, digits.y_test, seed=3)
    assert np.array_equal(again.indices, panel.indices)
    other = lesson.choose_panel(digits.x_test, digits.y_test, seed=4)
    assert not np.array_equal(other.indices, panel.indices)


def test_a_panel_needs_images_with_labels():
    with pytest.raises(ValueError, match="Expected test images of shape"):
        lesson.choose_panel(np.zeros((3, 28, 28), np.uint8), np.zeros(2, int), seed=0)


def one_hot_probabilities(classes: list[int]) -> np.ndarray:
    probabilities = np.full((len(classes), 10), 0.02, np.float32)
    probabilities[np.arange(len(classes)), classes] = 0.82
    return probabilities


def small_panel() -> lesson.Panel:
    return lesson.Panel(np.arange(4), np.zeros((4, 28, 28), np.uint8), np.array([0, 1, 2, 3]))


def test_the_recording_gives_the_answers_and_weights_as_they_stood_at_a_step():
    recording = lesson.Recording(small_panel())
    recording.add_answers(0, one_hot_probabilities([5, 5, 5, 5]))
    recording.add_answers(10, one_hot_probabilities([0, 5, 2, 5]))
    recording.add_answers(20, one_hot_probabilities([0, 1, 2, 3]))
    recording.add_weights(0, np.zeros((2, 28, 28), np.float32))
    recording.add_weights(15, np.ones((2, 28, 28), np.float32))

    assert recording.answers_at(-1) is None
    assert recording.answers_at(9).step == 0
    at_twelve = recording.answers_at(12)
    assert at_twelve.step == 10 and at_twelve.predicted.tolist() == [0, 5, 2, 5]
    assert at_twelve.right(small_panel().labels).tolist() == [True, False, True, False]
    assert at_twelve.confidence.tolist() == pytest.approx([0.82] * 4, abs=1e-3)
    assert recording.right_counts() == [(0, 0), (10, 2), (20, 4)]
    assert recording.right_counts(up_to=12) == [(0, 0), (10, 2)]
    assert recording.weights_at(7).step == 0 and recording.weights_at(8).step == 15
    assert recording.weights_at(8).weights.dtype == np.float16
    assert recording.nbytes == 3 * (4 + 4 * 2) + 2 * (2 * 784 * 2) + 4 * 784 + 4 * 8 + 4 * 8


@pytest.mark.parametrize(("frames", "limit"), [(1000, 50), (600, 48), (20_000, 2000), (5000, 48)])
def test_the_recording_stays_bounded_and_spread_evenly_over_the_run(frames, limit):
    recording = lesson.Recording(small_panel(), max_answers=limit, max_weights=limit)
    weights = np.zeros((1, 28, 28), np.float32)
    for step in range(frames):
        recording.add_answers(step, one_hot_probabilities([step % 10] * 4))
        recording.add_weights(step, weights)
    steps = recording.steps()
    assert len(steps) <= limit and steps[0] == 0 and steps[-1] == frames - 1
    assert steps == sorted(steps)
    assert max(np.diff(steps)) <= 2 * frames / limit  # no stretch of the run left out
    assert recording.weights_at(0).step == 0 and recording.weights_at(10**6).step == frames - 1
    middle = recording.weights_at(frames // 2).step
    assert abs(middle - frames // 2) <= frames / limit


def test_recorded_probabilities_must_fit_the_panel():
    with pytest.raises(ValueError, match=r"Expected \(4, 10\) panel probabilities"):
        lesson.Recording(small_panel()).add_answers(0, np.zeros((3, 10)))


# --- A real run under a lesson's pace -----------------------------------------------------------------


def test_a_paused_run_does_not_advance_and_each_step_trains_exactly_one_batch(tiny_split, digits):
    panel = lesson.choose_panel(digits.x_test, digits.y_test, seed=TINY.seed)
    pace = Pace(paused=True)
    training = job.TrainingJob(TINY.replace(epochs=3), tiny_split, pace=pace, panel=panel).start()
    try:
        wait_for(lambda: panel_steps(training) == [0])  # the untrained model has read the panel
        time.sleep(0.5)
        assert steps_of(training) == 0 and panel_steps(training) == [0]  # paused: nothing moves
        first_answers = training.recording.latest()

        for expected in (1, 2, 3):
            pace.step()
            wait_for(lambda expected=expected: steps_of(training) == expected)
            time.sleep(0.3)  # no second step sneaks through
            assert steps_of(training) == expected
            assert training.state().progress.batch == expected  # one batch of the first epoch each
            assert panel_steps(training)[-1] == expected  # the panel read after each step
        assert training.recording.latest() is not first_answers
        assert training.result is None and training.status == job.RUNNING

        pace.set_steps_per_second(50)
        pace.resume()
        wait_for(lambda: steps_of(training) >= 15)  # on into the second epoch, at the lesson's pace
        pace.pause()
        time.sleep(0.3)
        held = steps_of(training)
        time.sleep(0.4)
        assert steps_of(training) == held

        training.stop()  # a stop reaches a paused run, and the model keeps what it learned
        assert training.wait(10)
        result = training.result
        assert training.status == job.STOPPED and result.stopped and result.steps == held
        recorded = [step for step, _ in training.recording.right_counts()]
        assert recorded[:4] == [0, 1, 2, 3] and recorded[-1] == held  # read after every call
    finally:
        training.stop()
        training.wait(10)


def test_time_held_back_is_not_training_time(tiny_split):
    pace = Pace(paused=True)
    training = job.TrainingJob(TINY, tiny_split, pace=pace).start()
    time.sleep(1.0)
    pace.resume()
    assert training.wait(60) and training.status == job.FINISHED
    result = training.result
    assert result.steps == 10
    assert result.seconds < training.state().seconds - 0.9  # the paused second is left out
    assert training.state().progress.images_per_second > 320 / (result.seconds + 0.5)


def test_a_run_stopped_while_paused_before_its_first_step_adds_no_epoch(tiny_split):
    pace = Pace(paused=True)
    first = train.train(TINY, tiny_split)
    stop = threading.Event()
    stop.set()
    result = train.train(TINY, tiny_split, previous=first, stop=stop, pace=pace)
    assert result.stopped and [round(row["epoch"]) for row in result.history] == [1]
    assert result.steps == 10


def test_full_speed_with_a_pace_trains_the_same_weights_as_without(tiny_split):
    plain = train.train(TINY.replace(epochs=2), tiny_split)
    paced = train.train(TINY.replace(epochs=2), tiny_split, pace=Pace())
    for left, right in zip(plain.model.get_weights(), paced.model.get_weights(), strict=True):
        np.testing.assert_array_equal(left, right)
    assert [row["loss"] for row in plain.history] == [row["loss"] for row in paced.history]


def test_stepping_across_an_epoch_end_validates_then_goes_on_into_the_next(tiny_split):
    pace = Pace(paused=True)
    training = job.TrainingJob(TINY.replace(epochs=2), tiny_split, pace=pace).start()
    try:
        for expected in range(1, 12):
            pace.step()
            wait_for(lambda expected=expected: steps_of(training) == expected)
        epochs = [p for p in training.state().points if p.kind == "epoch"]
        assert [(p.epoch, p.step, p.val_accuracy is not None) for p in epochs] == [(1, 10, True)]
        latest = training.state().progress
        assert (latest.epoch, latest.batch, latest.step) == (2, 1, 11)
    finally:
        training.stop()
        assert training.wait(10)
    assert [row["epoch"] for row in training.result.history] == [1.0, 1.1]


def test_a_pause_at_full_speed_shows_the_step_it_stopped_at(small_split, digits):
    panel = lesson.choose_panel(digits.x_test, digits.y_test, seed=TINY.seed)
    pace = Pace()
    training = job.TrainingJob(TINY.replace(epochs=50), small_split, pace=pace, panel=panel).start()
    try:
        wait_for(lambda: steps_of(training) > 50)
        pace.pause()  # the call under way ends first
        held = -1
        while held != steps_of(training):  # until it is held
            held = steps_of(training)
            time.sleep(0.3)
        assert training.recording.latest().step == held  # read once held, though not due at full speed
        assert training.recording.weights_at(held).step == held  # the weights as it stopped, too
    finally:
        training.stop()
        assert training.wait(10)


def test_a_continued_lesson_records_from_where_the_last_run_ended(tiny_split, digits):
    panel = lesson.choose_panel(digits.x_test, digits.y_test, seed=TINY.seed)
    first = job.TrainingJob(TINY, tiny_split, pace=Pace(), panel=panel).start()
    assert first.wait(60)
    more = job.TrainingJob(TINY, tiny_split, previous=first.result, pace=Pace(), panel=panel).start()
    assert more.wait(60)
    assert more.recording.steps()[0] == 10 and more.recording.steps()[-1] == 20
    assert first.recording.steps()[0] == 0 and first.recording.steps()[-1] == 10
