"""The loopback server's time: a recording replayed at ``speed`` times wall time.

Three times meet in the server:

* **data time**: the recording's own timestamps (``ts_exchange_ns``); the matching
  venue and the replay driver live in it;
* **wire time**: what clients see (``/time``, message timestamps, ``created_at``,
  GTD expirations they send). The replay is shown as happening now: wire time is
  data time shifted so the recording's start is the moment the server started;
  at ``--speed X`` it runs X times faster than the wall clock;
* **wall time**: the client's own clock, which only authentication timestamps are
  judged against (``auth.py``), as the venue judges them.

``ReplayTime`` is the one place that converts between them. Its wall and
monotonic sources can be replaced (tests drive a manual clock, never sleeping).
"""

from __future__ import annotations

import time
from collections.abc import Callable

NS_PER_S = 1_000_000_000


class ReplayTime:
    """Data time ``data_start_ns`` at the moment of construction, running at ``speed``."""

    def __init__(
        self,
        data_start_ns: int,
        *,
        speed: float = 1.0,
        wall_ns: Callable[[], int] = time.time_ns,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        if not (speed > 0.0 and speed < float("inf")):
            raise ValueError(f"speed must be a positive finite number, got {speed!r}")
        self.speed = float(speed)
        self.data_start_ns = int(data_start_ns)
        self._mono = monotonic_ns
        self._wall = wall_ns
        self._mono0 = monotonic_ns()
        self.wire_start_ns = int(wall_ns())

    def data_now_ns(self) -> int:
        """Where the replay is now, in data time."""
        return self.data_start_ns + int((self._mono() - self._mono0) * self.speed)

    def wall_now_ns(self) -> int:
        """The wall clock (authentication timestamps are judged against it)."""
        return int(self._wall())

    def to_wire_ns(self, data_ns: int) -> int:
        return data_ns - self.data_start_ns + self.wire_start_ns

    def to_data_ns(self, wire_ns: int) -> int:
        return wire_ns - self.wire_start_ns + self.data_start_ns

    def wire_now_ns(self) -> int:
        return self.to_wire_ns(self.data_now_ns())

    def wall_seconds_until(self, data_ns: int) -> float:
        """Wall seconds until the replay reaches ``data_ns`` (0 if it has)."""
        return max(0.0, (data_ns - self.data_now_ns()) / self.speed / NS_PER_S)


class ManualTime:
    """A monotonic/wall source for tests: time moves only when told (never sleeps)."""

    def __init__(self, start_ns: int = 1_800_000_000 * NS_PER_S) -> None:
        self.ns = int(start_ns)

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * NS_PER_S)
