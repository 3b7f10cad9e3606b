"""A run's pace, for a live lesson: full speed, some steps a second, paused, or one step at a time.

Plain Python, no Streamlit: any thread may change the pace; the training loop asks `Pace.take` before
each compiled call how many optimizer steps it may run, and waits there while paused.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

PACES = (1, 2, 5, 10, 20, 50, 100, 200)  # steps a second a lesson may run at; None is full speed
SLOW_PACE = 20  # at this many steps a second or fewer, every step is worth showing (see `Pace.slow`)
WAIT_SLICE_SECONDS = 0.05  # how often a waiting run looks at its stop switch; also a paced call's span
MAX_PAUSE_SECONDS = 30 * 60  # a run paused longer ends as if stopped, giving back its training slot


class Pace:
    """How fast a run may go, changed from any thread; the training thread waits in `take`.

    Args:
        steps_per_second: the pace, or None for full speed.
        paused: start paused (the untrained model first).
        max_pause_seconds: a run held paused this long is stopped (its stop switch set), so a
            forgotten tab does not hold a training slot for ever.
    """

    def __init__(
        self,
        steps_per_second: float | None = None,
        *,
        paused: bool = False,
        max_pause_seconds: float = MAX_PAUSE_SECONDS,
    ) -> None:
        _check_rate(steps_per_second)
        self._rate = steps_per_second
        self._paused = paused
        self._paused_at = time.monotonic()
        self._max_pause = max_pause_seconds
        self._steps_granted = 0  # steps Step let through while paused
        self._next_at = 0.0  # time.monotonic() from which the next paced steps may run
        self._waited = 0.0
        self._on_hold: Callable[[], None] | None = None
        self._changed = threading.Condition()

    @property
    def steps_per_second(self) -> float | None:
        """The pace, or None for full speed."""
        with self._changed:
            return self._rate

    @property
    def paused(self) -> bool:
        """Whether the run is held until Resume or Step."""
        with self._changed:
            return self._paused

    @property
    def slow(self) -> bool:
        """Paused, or at SLOW_PACE steps a second or fewer: each step is worth showing."""
        with self._changed:
            return self._paused or (self._rate is not None and self._rate <= SLOW_PACE)

    @property
    def waited_seconds(self) -> float:
        """Time the training thread has spent held back, so speed figures can leave it out."""
        with self._changed:
            return self._waited

    def when_held(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` in the training thread each time a pause starts holding it: the moment to
        show the state it stopped in (its last steps may not have been shown at full speed)."""
        with self._changed:
            self._on_hold = callback

    def set_steps_per_second(self, steps_per_second: float | None) -> None:
        """Change the pace (None: full speed); a run waiting for its next step follows at once."""
        _check_rate(steps_per_second)
        with self._changed:
            self._rate = steps_per_second
            self._next_at = 0.0
            self._changed.notify_all()

    def pause(self) -> None:
        """Hold the run after the compiled call it is in (at full speed, up to ~0.1 s of steps)."""
        with self._changed:
            if not self._paused:
                self._paused, self._paused_at = True, time.monotonic()
            self._changed.notify_all()

    def resume(self) -> None:
        """Go on at the pace."""
        with self._changed:
            self._paused = False
            self._steps_granted = 0
            self._next_at = 0.0
            self._changed.notify_all()

    def step(self) -> None:
        """While paused, let exactly one more optimizer step (one batch) through; else nothing."""
        with self._changed:
            if self._paused:
                self._steps_granted += 1
                self._paused_at = time.monotonic()
                self._changed.notify_all()

    def take(self, wanted: int, stop: threading.Event | None = None) -> int:
        """Wait until steps may run, then say how many, from 1 to `wanted`; 0 once `stop` is set.

        Full speed gives `wanted` at once. A pace gives the steps due by now: one at a time, or a
        few a call at fast paces, so the model still changes smoothly on screen.
        """
        if wanted < 1:
            raise ValueError(f"Expected at least one step wanted. Received: wanted={wanted}.")
        started, announced = time.monotonic(), False
        try:
            while stop is None or not stop.is_set():
                with self._changed:
                    allowed = self._allowed(wanted)
                    if allowed:
                        return allowed
                    if self._paused and stop is not None and self._paused_too_long():
                        stop.set()
                        break
                    callback = self._on_hold if self._paused and not announced else None
                    if callback is None:
                        self._changed.wait(self._wait_seconds())
                if callback is not None:
                    announced = True
                    callback()  # outside the lock: it takes a while, and may read the pace
            return 0
        finally:
            with self._changed:
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
        # counted from when these steps were due, so a late wake-up does not slow the pace; from now
        # after a change of pace or a wait longer than one step
        due = self._next_at if 0 < now - self._next_at <= 1 / self._rate else now
        self._next_at = due + allowed / self._rate
        return allowed

    def _paused_too_long(self) -> bool:
        return time.monotonic() - self._paused_at > self._max_pause

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
