"""Where the engine's events come from: the pull-only ``MarketFeed`` contract.

The engine pulls: it asks the feed for the events up to its next timer
(``advance``) and delivers them in order on its own thread. Nothing pushes
into the engine. In a backtest the replay driver is the feed: it replays
recorded rows and stops only when something the engine must see happens (a
subscribed asset's book or trades, one of our fills or order updates, a
resolution) or the requested time is reached. In paper and live trading the
WebSocket threads and REST polling put what they parsed into one thread-safe
``QueueFeed``, which the engine drains the same way.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from sim.books import AssetBookView, LocalBooks
from sim.clock import Clock, SimClock
from sim.events import BookSnapshot, ConnectionState, LevelChange, TradePrint, VenueEvent
from sim.strategy import BookView

NS_PER_S = 1_000_000_000


@runtime_checkable
class MarketFeed(Protocol):
    #: the feed's own time: every event up to it has been returned
    time_ns: int
    #: True once no event will ever come again (end of the recording, feed closed)
    exhausted: bool

    def advance(self, until_ns: int) -> list[VenueEvent]:
        """Move up to ``until_ns``, returning early with the events the engine must see."""
        ...

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        """Also stop for book changes and trades of these assets."""
        ...

    def book(self, asset_id: str) -> BookView: ...

    def mark(self, asset_id: str) -> float | None:
        """Mid of the strategy-visible book (one side when only one is quoted), or None."""
        ...

    @property
    def last_update_ns(self) -> int:
        """Receive time of the last market data applied to the books (the silence
        watchdog's input: a connected feed that stops updating is as bad as a dead one)."""
        ...


_CLOSED = object()


class QueueFeed:
    """The paper/live feed: any thread ``put``s parsed events, the engine pulls them.

    Market events update ``books`` (``sim.books.LocalBooks``) on the engine thread as
    they are handed out, so a strategy reads books exactly as of the events it has
    been given. Events come out in the order they were put. ``advance`` waits on the
    queue until ``until_ns`` by the clock (a ``WallClock``; with a ``SimClock``, as in
    tests, it never waits). ``close()`` says no event will come again. ``on_subscribe``
    is told of each new subscription (the WebSocket client subscribes upstream).
    """

    def __init__(self, clock: Clock, books: LocalBooks,
                 on_subscribe: Callable[[list[str]], None] | None = None) -> None:  # fmt: skip
        self.clock = clock
        self.books = books
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._on_subscribe = on_subscribe
        self._lock = threading.Lock()
        self._closed = False
        self.time_ns = clock.now_ns()
        self.exhausted = False
        self._last_update_ns = self.time_ns
        #: events handed out, per type name (for the run's report)
        self.counts: dict[str, int] = {}

    # ---------------------------------------------------------------- any thread
    def put(self, events: Iterable[VenueEvent]) -> None:
        """Queue events (thread-safe). Refused once the feed is closed."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the feed is closed: no event may be put after close()")
            for ev in events:
                self._queue.put(ev)

    def close(self) -> None:
        """No event will come again; the engine drains what is queued, then stops."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_CLOSED)

    # ---------------------------------------------------------------- engine thread
    def advance(self, until_ns: int) -> list[VenueEvent]:
        out: list[VenueEvent] = []
        if self.exhausted:
            return out
        simulated = isinstance(self.clock, SimClock)  # tests: never wait, time from events
        wait_ns = 0 if simulated else until_ns - self.clock.now_ns()
        try:
            item = self._queue.get(timeout=wait_ns / NS_PER_S) if wait_ns > 0 else (
                self._queue.get_nowait())  # fmt: skip
        except queue.Empty:
            self.time_ns = max(self.time_ns, until_ns if simulated else self.clock.now_ns())
            return out
        while True:
            if item is _CLOSED:
                self.exhausted = True
                break
            self._take(item, out)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        if simulated:
            self.time_ns = max(self.time_ns, max((e.ts_recv_ns for e in out), default=0))
        else:
            self.time_ns = max(self.time_ns, self.clock.now_ns())
        return out

    def _take(self, ev: VenueEvent, out: list[VenueEvent]) -> None:
        name = type(ev).__name__
        self.counts[name] = self.counts.get(name, 0) + 1
        if isinstance(ev, LevelChange | BookSnapshot | TradePrint):
            self._last_update_ns = max(self._last_update_ns, ev.ts_recv_ns)
        if not isinstance(ev, TradePrint | ConnectionState):
            self.books.apply_event(ev)
        out.append(ev)

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        new = []
        for a in asset_ids:
            i = self.books.index(a)
            if not self.books.watch[i]:
                self.books.watch[i] = True
                new.append(a)
        if new and self._on_subscribe is not None:
            self._on_subscribe(new)

    def book(self, asset_id: str) -> AssetBookView:
        return self.books.view(asset_id)

    def mark(self, asset_id: str) -> float | None:
        return self.books.mark(asset_id)

    @property
    def last_update_ns(self) -> int:
        return self._last_update_ns
