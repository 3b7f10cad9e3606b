"""A run's pace on its own: full speed, steps a second, pause, step, the hook when held, a long pause."""

import threading
import time

import pytest

from mnist_mlp.pace import Pace


def taking(pace: Pace, wanted: int, stop: threading.Event | None = None) -> tuple[threading.Thread, list]:
    """`pace.take(wanted, stop)` in a thread of its own, as the training thread calls it."""
    taken: list[int] = []
    worker = threading.Thread(target=lambda: taken.append(pace.take(wanted, stop)))
    worker.start()
    return worker, taken


def test_full_speed_gives_every_step_asked_for_at_once():
    pace = Pace()
    assert pace.take(7) == 7 and pace.take(256) == 256
    assert pace.steps_per_second is None and not pace.paused and not pace.slow


def test_paused_gives_nothing_until_a_step_then_exactly_one():
    pace = Pace(paused=True)
    stop = threading.Event()
    worker, taken = taking(pace, 50, stop)
    worker.join(0.3)
    assert worker.is_alive() and taken == []  # held back while paused
    pace.step()
    worker.join(5)
    assert taken == [1] and pace.paused  # one step, and still paused for the next

    second, taken_second = taking(pace, 50, stop)
    second.join(0.3)
    assert second.is_alive()
    stop.set()  # a stop reaches a paused run
    second.join(5)
    assert taken_second == [0]
    assert pace.waited_seconds >= 0.5


def test_step_does_nothing_to_a_run_that_is_not_paused():
    pace = Pace(steps_per_second=1)
    pace.step()
    assert not pace.paused
    pace.pause()
    pace.step()
    pace.step()
    assert pace.take(10) == 2  # two steps granted while paused
    worker, taken = taking(pace, 10, threading.Event())
    worker.join(0.2)
    assert worker.is_alive()  # and no third
    pace.resume()
    worker.join(5)
    assert taken == [1]


def test_resume_lets_a_paused_run_go_at_its_pace():
    pace = Pace(paused=True)
    worker, taken = taking(pace, 9)
    worker.join(0.2)
    assert worker.is_alive()
    pace.resume()
    worker.join(5)
    assert taken == [9]


def test_a_pace_holds_the_steps_to_so_many_a_second():
    pace = Pace(steps_per_second=20)
    started = time.monotonic()
    steps = sum(pace.take(100) for _ in range(10))
    seconds = time.monotonic() - started
    assert steps == 10  # one at a time at this pace
    assert seconds >= 9 / 20 * 0.95  # the first at once, then one every 1/20 s
    assert pace.slow


def test_a_faster_pace_lets_a_few_steps_through_each_call():
    pace = Pace(steps_per_second=200)
    assert pace.take(100) == 10  # 200 a second in slices of WAIT_SLICE_SECONDS


def test_a_change_of_pace_reaches_a_waiting_run():
    pace = Pace(steps_per_second=1)
    assert pace.take(5) == 1
    worker, taken = taking(pace, 5)  # the next is due in a second
    worker.join(0.1)
    pace.set_steps_per_second(None)
    worker.join(0.5)
    assert taken == [5]


def test_the_hook_runs_once_in_the_waiting_thread_when_a_pause_holds_it():
    pace = Pace()
    calls = []
    pace.when_held(lambda: calls.append(threading.current_thread().name))
    pace.pause()
    stop = threading.Event()
    worker = threading.Thread(target=lambda: pace.take(5, stop), name="trainer")
    worker.start()
    worker.join(0.4)
    assert calls == ["trainer"]  # once, however long it waits
    stop.set()
    worker.join(5)
    pace.when_held(None)


def test_a_run_paused_too_long_is_stopped():
    pace = Pace(paused=True, max_pause_seconds=0.2)
    stop = threading.Event()
    worker, taken = taking(pace, 5, stop)
    worker.join(5)
    assert taken == [0] and stop.is_set()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_pace_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match="more than 0 steps a second"):
        Pace(bad)
    with pytest.raises(ValueError, match="Received: steps_per_second="):
        Pace().set_steps_per_second(bad)
    with pytest.raises(ValueError, match="at least one step"):
        Pace().take(0)
