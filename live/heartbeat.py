"""Venue heartbeats while live: keeping Polymarket's dead-man switch from firing, and
saying so when it may have fired.

Once a key has sent a heartbeat, the venue cancels all of that key's orders if the next
one does not arrive within 10 s (protocol reference §4.8). Each beat sends the id the
previous answer returned. A beat with a stale id (say the answer to the previous one was
lost) is refused 400 with the id the venue expects: that id is adopted and sent at once.

``VenueHeartbeat`` beats every ``every_s`` on its own daemon thread. When no beat has
succeeded for ``venue_window_s``, the venue may have cancelled every open order without a
word on any channel. That time is counted from when the last good beat was *sent*: the
venue cannot have received it earlier, so this errs on the side of saying so too early.
The heartbeat then puts one ``OrdersInDoubt`` on the sink for the lapse (the executor
asks the venue about each open order), forgets the id (the venue's chain may be gone),
and goes on beating with a new chain from ``""``. The lapse ends at the next beat the
venue accepts. A lapse that never ends puts no second event.

Wiring (the session builder)::

    heartbeat = start_heartbeat(api, feed, every_s=config.venue.heartbeat_s)
    ...
    heartbeat.stop()

``stats`` returns a snapshot of the counters (``HeartbeatStats``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from live.clob_api import HeartbeatRejected
from live.event_sink import EventSink
from sim.errors import ConfigError
from sim.events import OrdersInDoubt
from sim.venue import VenueError, VenueRejected

__all__ = ["VENUE_WINDOW_S", "HeartbeatStats", "VenueHeartbeat", "start_heartbeat"]

log = logging.getLogger(__name__)

#: the venue's dead-man switch: no beat for this long cancels every order of the key
VENUE_WINDOW_S = 10.0
_OK, _ADOPTED, _FAILED = object(), object(), object()  # what one beat came to


class _FeedClosed(RuntimeError):
    """The sink refused an event: it is closed, nothing more will be read."""


class HeartbeatApi(Protocol):
    """What the heartbeat needs of ``live.clob_api.ClobApi``."""

    def heartbeat(self, beat_id: str, *, deadline_s: float) -> dict: ...


@dataclass(frozen=True)
class HeartbeatStats:
    """A snapshot of a ``VenueHeartbeat``'s counters: beats ``sent``, accepted (``ok``),
    ``failed`` (any error, a refused id included), ids ``adopted`` from a refusal,
    ``lapses`` (``OrdersInDoubt`` put), ``lapsed`` (no beat accepted since the last
    lapse), ``last_error`` ("" before any)."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    adopted: int = 0
    lapses: int = 0
    lapsed: bool = False
    last_error: str = ""


class VenueHeartbeat:
    """Beats ``api.heartbeat`` every ``every_s`` on a daemon thread (module doc).

    ``sink``: where an ``OrdersInDoubt`` goes (the engine's ``QueueFeed``).
    ``venue_window_s``: how long without an accepted beat before the venue may have
    cancelled everything (the venue's 10 s). ``deadline_s``: each beat's deadline.
    ``clock``: monotonic seconds (the cadence and the lapse); ``now_ns``: the events'
    timestamps (epoch ns, the engine's wall clock)."""

    def __init__(
        self, api: HeartbeatApi, sink: EventSink, *, every_s: float = 5.0,
        venue_window_s: float = VENUE_WINDOW_S, deadline_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        now_ns: Callable[[], int] = time.time_ns, name: str = "venue-heartbeat",
    ) -> None:  # fmt: skip
        for key, value in (("every_s", every_s), ("venue_window_s", venue_window_s),
                           ("deadline_s", deadline_s)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or not (0 < value < math.inf):  # fmt: skip
                raise ConfigError(key, f"must be a positive number of seconds, got {value!r}")
        if every_s >= venue_window_s:
            raise ConfigError("every_s", f"{every_s:g} s: beats must come more often than "
                                         f"the venue's {venue_window_s:g} s window")  # fmt: skip
        self.api = api
        self.sink = sink
        self.every_s = float(every_s)
        self.venue_window_s = float(venue_window_s)
        self.deadline_s = float(deadline_s)
        self.name = name
        self._clock = clock
        self._now_ns = now_ns
        # the beat chain: touched by the beating thread only (or a test's beat_once)
        self._beat_id = ""
        self._since: float | None = None  # send time of the last accepted beat (or the first)
        self._lapsed = False
        self._lock = threading.Lock()  # the counters
        self._n = {"sent": 0, "ok": 0, "failed": 0, "adopted": 0, "lapses": 0}
        self._last_error = ""
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ any thread
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> HeartbeatStats:
        with self._lock:
            return HeartbeatStats(**self._n, lapsed=self._lapsed, last_error=self._last_error)

    def start(self) -> None:
        """Beat now, then every ``every_s``, until ``stop`` (once per heartbeat)."""
        if self._thread is not None:
            raise RuntimeError("a VenueHeartbeat starts once")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop beating and join the thread; True once it ended (within ``timeout_s``;
        default: what one beat and its retry may still take). Safe to call again."""
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(2 * self.deadline_s + 1.0 if timeout_s is None else timeout_s)
        if thread.is_alive():
            log.error("venue heartbeat: the thread did not end in time")
            return False
        return True

    # ------------------------------------------------------------------ the beating thread
    def beat_once(self) -> bool:
        """One beat (and, when the venue names the id it expects, one more with that id),
        then the lapse check. True when the venue accepted a beat."""
        result = self._send()
        if result is _ADOPTED:
            result = self._send()
        if result is _OK:
            return True
        self._check_lapse()
        return False

    def _send(self) -> object:
        """One beat with the current id: ``_OK``, ``_ADOPTED`` (refused, the id the venue
        wants is taken) or ``_FAILED``."""
        sent_at = self._clock()
        if self._since is None:
            self._since = sent_at  # the venue may start its clock at this very beat
        self._count("sent")
        try:
            answer = self.api.heartbeat(self._beat_id, deadline_s=self.deadline_s)
        except HeartbeatRejected as exc:  # a stale id: the venue says which it wants
            self._failed(exc)
            self._beat_id = exc.expected_id
            self._count("adopted")
            return _ADOPTED
        except VenueRejected as exc:  # refused without naming an id: start a new chain
            self._failed(exc)
            self._beat_id = ""
            return _FAILED
        except VenueError as exc:  # it may have landed: a later refusal names the id
            self._failed(exc)
            return _FAILED
        beat_id = answer.get("heartbeat_id") if isinstance(answer, dict) else None
        self._beat_id = str(beat_id or "")
        self._since = sent_at
        if self._lapsed:
            log.warning("venue heartbeat: accepted again; the lapse is over")
        with self._lock:
            self._n["ok"] += 1
            self._lapsed = False
        return _OK

    def _check_lapse(self) -> None:
        if self._lapsed or self._since is None:
            return
        silent_s = self._clock() - self._since
        if silent_s < self.venue_window_s:
            return
        with self._lock:
            self._lapsed = True
            self._n["lapses"] += 1
        self._beat_id = ""  # the venue's chain may be gone: a new one from ""
        reason = (f"no heartbeat accepted for {silent_s:.1f} s (the venue's window is "
                  f"{self.venue_window_s:g} s): it may have cancelled every order")  # fmt: skip
        log.error("venue heartbeat: %s", reason)
        now = self._now_ns()
        try:
            self.sink.put([OrdersInDoubt(now, now, reason)])
        except RuntimeError as exc:  # QueueFeed.put after close()
            raise _FeedClosed(str(exc)) from None

    def _failed(self, exc: VenueError) -> None:
        with self._lock:
            self._n["failed"] += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            count = self._n["failed"]
        log.warning("venue heartbeat: beat failed (#%d): %s", count, exc)

    def _count(self, key: str) -> None:
        with self._lock:
            self._n[key] += 1

    def _run(self) -> None:
        log.info("venue heartbeat: beating every %g s", self.every_s)
        while not self._stopping.is_set():
            started = self._clock()
            try:
                self.beat_once()
            except _FeedClosed as exc:  # nothing reads what we would say
                log.info("venue heartbeat: the feed is closed (%s); stopping", exc)
                return
            except Exception:  # a bug here must not end the beats (the venue would cancel)
                log.exception("venue heartbeat: internal error")
            wait = self.every_s - (self._clock() - started)
            if self._stopping.wait(max(wait, 0.0)):
                break
        log.info("venue heartbeat: stopped")


def start_heartbeat(api: HeartbeatApi, feed: EventSink, every_s: float = 5.0,
                    **options: object) -> VenueHeartbeat:  # fmt: skip
    """A ``VenueHeartbeat`` over ``api`` putting into ``feed``, started (``options``:
    its other keywords). Stop it before closing the feed."""
    heartbeat = VenueHeartbeat(api, feed, every_s=every_s, **options)  # type: ignore[arg-type]
    heartbeat.start()
    return heartbeat
