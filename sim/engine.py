"""The engine: one loop, one ordered stream of events, strategy callbacks on one thread.

The loop asks the feed to advance to the next timer (or the end), delivers
what the feed returned in order, then fires due timers. A strategy's order
may move simulated time forward (order latency); events the feed produced
meanwhile are delivered on the next turn, in order, never in the past.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

from sim.clock import SimClock, WallClock
from sim.context import EngineContext
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    FillEvent,
    FillReversed,
    LevelChange,
    MarketResolved,
    OrdersInDoubt,
    OrderUpdate,
    TickSizeChange,
    TradePrint,
)
from sim.executor import Executor
from sim.feed import MarketFeed
from sim.strategy import Strategy

log = logging.getLogger(__name__)

EQUITY_TIMER = "__equity__"
#: Young-generation GC threshold while the loop runs. The loop allocates a few hundred
#: short-lived objects per strategy action (events, acks, journal records); at Python's
#: default of 700 the young generation is collected every couple of actions, which measured
#: ~11 % of a 5 M-row quoter backtest. Restored when the loop returns.
GC_YOUNG_THRESHOLD = 10_000


@contextlib.contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """Raise the young-generation GC threshold for the duration (never lowers it)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], GC_YOUNG_THRESHOLD), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


#: What a strategy callback may raise that the engine contains (anything but an interrupt).
CONTAINED = (Exception, SystemExit)


@dataclass(frozen=True)
class StrategyError:
    """A strategy callback raised: trading was halted and the run stopped here."""

    strategy: str
    callback: str
    ts_ns: int
    exception: str  # "ValueError: boom"
    traceback: str

    @property
    def line(self) -> str:
        """One line for a person: which callback, when (simulated UTC), what."""
        when = dt.datetime.fromtimestamp(self.ts_ns / 1e9, tz=dt.UTC)
        return (f"strategy {self.strategy} raised in {self.callback} at "
                f"{when:%Y-%m-%d %H:%M:%S.%f} UTC (simulated): {self.exception}")  # fmt: skip

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "callback": self.callback, "ts_ns": self.ts_ns,
                "exception": self.exception, "traceback": self.traceback}  # fmt: skip


@dataclass
class EngineStats:
    """What the loop did: counts per callback kind and events delivered."""

    events: int = 0
    callbacks: dict[str, int] = field(default_factory=dict)
    connection_changes: int = 0

    def count(self, name: str) -> None:
        self.callbacks[name] = self.callbacks.get(name, 0) + 1


class Engine:
    """Runs one strategy against one feed/venue through one executor."""

    def __init__(
        self,
        *,
        strategy: Strategy,
        feed: MarketFeed,
        executor: Executor,
        context: EngineContext,
        clock: SimClock | WallClock,
        equity_interval_s: float = 60.0,
        equity_sampler=None,
        feed_silence_s: float = 0.0,
    ) -> None:
        self.strategy = strategy
        self.feed = feed
        self.executor = executor
        self.ctx = context
        self.clock = clock
        self.stats = EngineStats()
        self._equity_interval_s = equity_interval_s
        self._sample_equity = equity_sampler
        self._started = False
        self._finished = False
        self._silence_ns = round(feed_silence_s * 1e9)
        self._silent = False
        #: loop iterations so far (``live.ops_server`` reads it: a stuck loop stops moving)
        self.turns = 0
        #: set when a strategy callback raised; the run stops and trading is halted
        self.error: StrategyError | None = None
        self.view = context.view  # what the strategy is handed: never the engine's context

    def run(self, end_ns: int) -> EngineStats:
        """Start, run until ``end_ns`` (or the end of the data), and stop."""
        self.start()
        self.run_until(end_ns)
        return self.finish()

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.executor.install_timer()
        if self._sample_equity is not None and self._equity_interval_s > 0:
            self.clock.schedule(EQUITY_TIMER, self.clock.now_ns(), every_s=self._equity_interval_s)
        if self._call("on_start") and not self.ctx.subscribed and _listens(self.strategy):
            # it overrides on_book/on_trade but said nothing: the markets it selected
            self.ctx.subscribe_all()
            log.info("%s listens to books but subscribed to nothing in on_start: "
                     "subscribed to all %d selected assets", self.strategy.display_name,
                     len(self.ctx.subscribed))  # fmt: skip

    def run_until(self, end_ns: int) -> None:
        """Process events and timers up to ``end_ns``; may be called repeatedly. Returns
        at once after a strategy error (``self.error``)."""
        if self.error is not None:
            return
        with fewer_gc_passes():
            self._run_until(end_ns)

    def _run_until(self, end_ns: int) -> None:
        clock, feed = self.clock, self.feed
        while True:
            self.turns += 1  # the loop is alive (a health endpoint watches it move)
            nxt = clock.next_timer_ns()
            target = end_ns if nxt is None else min(nxt, end_ns)
            target = max(target, clock.now_ns())
            events = feed.advance(target)
            for ev in events:
                hit = self._deliver(ev)
                if hit is None:
                    continue
                if type(hit) is list:  # several orders changed at once (orders in doubt)
                    if not all(self._call(*h) for h in hit):
                        return
                elif not self._call(*hit):
                    return
            if feed.time_ns > clock.now_ns():
                clock.advance_to(feed.time_ns)
            if self._silence_ns:
                self._watch_feed()
            for timer in clock.pop_due(clock.now_ns()):
                if timer.name == EQUITY_TIMER:
                    self._sample_equity(clock.now_ns())
                elif timer.callback is not None:
                    timer.callback(timer)  # framework timers (executor checks)
                elif not self._call("on_timer", timer.name):
                    return
            if clock.now_ns() >= end_ns or (feed.exhausted and not events):
                return

    def finish(self) -> EngineStats:
        if not self._finished:
            self._finished = True
            if self.error is None:  # a failed strategy is not called again
                self._call("on_stop")
            if self._sample_equity is not None:
                self._sample_equity(self.clock.now_ns())
        return self.stats

    @property
    def stopped(self) -> bool:
        """True once a strategy error stopped the run."""
        return self.error is not None

    def _call(self, name: str, *args: object) -> bool:
        """Run one strategy callback; False when it raised (the run is then stopped)."""
        self.stats.count(name)
        try:
            getattr(self.strategy, name)(self.view, *args)
        except CONTAINED as exc:
            self._contain(name, exc)
            return False
        return True

    def _contain(self, name: str, exc: BaseException) -> None:
        """A strategy raised: halt trading (cancel all, HALTED, journaled, alerted) and
        stop the run; the error is kept for the result and the report."""
        self.error = err = StrategyError(
            self.strategy.display_name, name, self.clock.now_ns(),
            f"{type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(exc)),
        )  # fmt: skip
        log.error("%s", err.line)
        self.executor.halt(f"strategy error in {name}: {err.exception}")

    def _watch_feed(self) -> None:
        """A feed that stays connected but stops updating the books is as dangerous as a
        dropped one (PONGs say nothing about data flow): no new risk until data flows again."""
        silent = self.clock.now_ns() - self.feed.last_update_ns > self._silence_ns
        if silent != self._silent:
            self._silent = silent
            self.executor.on_feed_state(not silent, "no market data" if silent else "")

    def _deliver(self, ev) -> tuple[str, object] | list[tuple[str, object]] | None:
        """Hand one event to the executor at its receive time; returns the strategy
        callback it calls for (name, argument), if any (a list when several are)."""
        self.stats.events += 1
        ts = getattr(ev, "ts_recv_ns", None)
        if ts is not None and ts > self.clock.now_ns():
            self.clock.advance_to(ts)
        if isinstance(ev, FillEvent):
            if self.executor.on_venue_event(ev) is not None:
                return "on_fill", ev.fill
        elif isinstance(ev, OrderUpdate):
            order = self.executor.on_venue_event(ev)
            if order is not None:
                return "on_order", order.snapshot()
        elif isinstance(ev, LevelChange | BookSnapshot):
            if ev.asset_id in self.ctx.subscribed:
                return "on_book", ev
        elif isinstance(ev, TradePrint):
            if ev.asset_id in self.ctx.subscribed:
                return "on_trade", ev
        elif isinstance(ev, MarketResolved):
            self.executor.on_resolved(ev)
            return "on_resolved", ev
        elif isinstance(ev, ConnectionState):
            self.stats.connection_changes += 1
            self.executor.on_feed_state(ev.connected, ev.reason)
            log.info("feed %s: %s", "connected" if ev.connected else "disconnected", ev.reason)
        elif isinstance(ev, TickSizeChange):
            # the feed's book views already carry the new tick; the executor (and a venue
            # that signs orders) take it too; counted for the report
            self.executor.on_tick_size(ev)
            self.stats.count("tick_size_change")
        elif isinstance(ev, BestBidAsk):
            self._check_top(ev)
        elif isinstance(ev, FillReversed):  # live account events: rare, so tested last
            self.stats.count("fill_reversed")
            order = self.executor.on_venue_event(ev)
            if order is not None:  # the order the fill is taken out of
                return "on_order", order.snapshot()
        elif isinstance(ev, OrdersInDoubt):
            self.stats.count("orders_in_doubt")
            changed = self.executor.on_orders_in_doubt(ev.reason)
            return [("on_order", o.snapshot()) for o in changed] or None
        else:
            raise TypeError(f"engine cannot deliver {type(ev).__name__}")
        return None

    def _check_top(self, ev: BestBidAsk) -> None:
        """The venue's own top of book (``best_bid_ask``) against the local book built
        from the deltas: a disagreement means a lost or misapplied message, counted and
        logged (the first few) for the feed's owner to act on."""
        self.stats.count("best_bid_ask")
        try:
            view = self.feed.book(ev.asset_id)
        except (KeyError, ValueError):
            return  # not one of this run's books
        if _differs(view.best_bid, ev.best_bid) or _differs(view.best_ask, ev.best_ask):
            self.stats.count("book_top_mismatch")
            if self.stats.callbacks.get("book_top_mismatch", 0) <= 5:
                log.warning("book of %s disagrees with the venue's top: local %s/%s, venue "
                            "%s/%s", ev.asset_id, view.best_bid, view.best_ask, ev.best_bid,
                            ev.best_ask)  # fmt: skip


def _listens(strategy: Strategy) -> bool:
    """Does the strategy override ``on_book`` or ``on_trade``?"""
    cls = type(strategy)
    return cls.on_book is not Strategy.on_book or cls.on_trade is not Strategy.on_trade


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > 1e-9
