"""Clocks: how time passes in each mode.

``SimClock`` is simulated time for backtests: it moves only when the engine
advances it to the next event or when code sleeps, and sleeping never waits
for real. A 5 s timeout inside a 7-day replay costs no wall time. ``WallClock``
is real time for paper and live trading. Both keep timers the same way, so
the engine loop treats them alike.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

NS_PER_S = 1_000_000_000


def seconds_to_ns(seconds: float) -> int:
    if seconds != seconds or seconds < 0:  # NaN or negative
        raise ValueError(f"duration must be a non-negative number of seconds, got {seconds!r}")
    return round(seconds * NS_PER_S)


@dataclass(order=True, slots=True)
class Timer:
    """A scheduled callback. ``every_ns`` > 0 makes it repeat."""

    due_ns: int
    order: int
    name: str = field(compare=False)
    callback: Callable[[Timer], None] | None = field(compare=False, default=None)
    every_ns: int = field(compare=False, default=0)
    cancelled: bool = field(compare=False, default=False)

    def cancel(self) -> None:
        self.cancelled = True


@runtime_checkable
class Clock(Protocol):
    """What strategies, the executor and the engine may ask of time."""

    def now_ns(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...

    def sleep_until(self, ts_ns: int) -> None:
        """Wait until ``ts_ns`` (at once if it has passed): a venue or executor that must
        wait calls this; a ``SimClock`` jumps, a ``WallClock`` waits."""
        ...

    def advance_to(self, ts_ns: int) -> None:
        """The engine's step to its next event or timer (the one writer of simulated
        time; a wall clock waits for it)."""
        ...

    def schedule(
        self,
        name: str,
        at_ns: int,
        callback: Callable[[Timer], None] | None = None,
        every_s: float = 0.0,
    ) -> Timer: ...

    def next_timer_ns(self) -> int | None: ...

    def pop_due(self, up_to_ns: int) -> list[Timer]: ...


class _TimerQueue:
    """Timers in due order; ties fire in the order they were scheduled (deterministic)."""

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._counter = itertools.count()

    def schedule(
        self,
        name: str,
        at_ns: int,
        callback: Callable[[Timer], None] | None = None,
        every_s: float = 0.0,
    ) -> Timer:
        every_ns = seconds_to_ns(every_s)
        timer = Timer(int(at_ns), next(self._counter), name, callback, every_ns)
        heapq.heappush(self._heap, timer)
        return timer

    def next_timer_ns(self) -> int | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due_ns if self._heap else None

    def pop_due(self, up_to_ns: int) -> list[Timer]:
        """Pop every live timer due at or before ``up_to_ns``; re-arm repeating ones."""
        due: list[Timer] = []
        while self._heap and self._heap[0].due_ns <= up_to_ns:
            timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            if timer.every_ns > 0:
                # Fire a copy; the handle the caller holds stays the live, re-armed timer,
                # so cancelling it stops the repetition.
                due.append(Timer(timer.due_ns, timer.order, timer.name, timer.callback))
                timer.due_ns += timer.every_ns
                timer.order = next(self._counter)
                heapq.heappush(self._heap, timer)
            else:
                due.append(timer)
        return due


class SimClock(_TimerQueue):
    """Simulated time. Never reads the wall clock and never sleeps for real."""

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now_ns = int(start_ns)

    def now_ns(self) -> int:
        return self._now_ns

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to ``ts_ns``. Moving backwards is a bug and raises."""
        if ts_ns < self._now_ns:
            raise ValueError(f"simulated time cannot go back: {ts_ns} < {self._now_ns}")
        self._now_ns = int(ts_ns)

    def sleep(self, seconds: float) -> None:
        """Advance simulated time by ``seconds``; returns at once."""
        self._now_ns += seconds_to_ns(seconds)

    def sleep_until(self, ts_ns: int) -> None:
        """Jump to ``ts_ns``; returns at once (a time already passed is no wait)."""
        if ts_ns > self._now_ns:
            self._now_ns = int(ts_ns)


class WallClock(_TimerQueue):
    """Real time (UTC epoch nanoseconds) for paper and live trading."""

    def now_ns(self) -> int:
        return time.time_ns()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds_to_ns(seconds) / NS_PER_S)

    def sleep_until(self, ts_ns: int) -> None:
        """Wait until the wall clock reads ``ts_ns`` (at once if it has passed)."""
        while (left := ts_ns - time.time_ns()) > 0:
            time.sleep(left / NS_PER_S)

    def advance_to(self, ts_ns: int) -> None:
        """Real time cannot be set: the engine's step to ``ts_ns`` waits for it."""
        self.sleep_until(ts_ns)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in a clock's time by which a call must have returned."""

    clock: Clock
    expires_ns: int

    @classmethod
    def after(cls, clock: Clock, seconds: float) -> Deadline:
        return cls(clock, clock.now_ns() + seconds_to_ns(seconds))

    def remaining_s(self) -> float:
        return max(self.expires_ns - self.clock.now_ns(), 0) / NS_PER_S

    def expired(self) -> bool:
        return self.clock.now_ns() >= self.expires_ns
