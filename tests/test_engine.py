"""The engine loop and the executor's bookkeeping, against a scripted venue."""

from __future__ import annotations

import gc
import logging

import pytest

from sim.clock import SimClock
from sim.context import EngineContext
from sim.engine import Engine
from sim.events import LevelChange, MarketResolved, TradePrint
from sim.executor import Executor
from sim.strategy import Strategy
from sim.types import OrderStatus, Side
from tests.fakes import FakeVenue
from tests.helpers import make_market

M = make_market(0)
YES, NO = M.yes_token_id, M.no_token_id


def lc(t: int, asset: str = YES) -> LevelChange:
    return LevelChange(t, t, asset, M.condition_id, Side.BUY, 0.5, 10.0)


class Recorder(Strategy):
    def __init__(self, subscribe: list[str] | None = None, every_s: float = 0.0) -> None:
        self.seen: list[tuple[str, int, object]] = []
        self._sub = subscribe or []
        self._every = every_s

    def on_start(self, ctx):
        if self._sub:
            ctx.subscribe(self._sub)
        if self._every:
            ctx.schedule("tick", every_s=self._every)
        self.seen.append(("start", ctx.clock.now_ns(), None))

    def on_book(self, ctx, event):
        self.seen.append(("book", ctx.clock.now_ns(), event))

    def on_trade(self, ctx, trade):
        self.seen.append(("trade", ctx.clock.now_ns(), trade))

    def on_timer(self, ctx, name):
        self.seen.append(("timer", ctx.clock.now_ns(), name))

    def on_fill(self, ctx, fill):
        self.seen.append(("fill", ctx.clock.now_ns(), fill))

    def on_resolved(self, ctx, event):
        self.seen.append(("resolved", ctx.clock.now_ns(), event))

    def on_stop(self, ctx):
        self.seen.append(("stop", ctx.clock.now_ns(), None))


def build(strategy, script, cash=100.0):
    clock = SimClock(0)
    venue = FakeVenue(clock, [M], script)
    ex = Executor(venue, clock, cash_usdc=cash)
    ctx = EngineContext(
        clock=clock, executor=ex, feed=venue, markets=[M], log=logging.getLogger("t")
    )
    eng = Engine(strategy=strategy, feed=venue, executor=ex, context=ctx, clock=clock)
    return eng, venue, ex, clock


def test_only_subscribed_assets_reach_the_strategy_in_order() -> None:
    s = Recorder(subscribe=[YES])
    script = [lc(10), lc(20, NO), TradePrint(30, 30, YES, "", Side.SELL, 0.5, 5.0), lc(40)]
    eng, *_ = build(s, script)
    eng.run(end_ns=1_000)
    kinds = [(k, t) for k, t, _ in s.seen]
    assert kinds == [("start", 0), ("book", 10), ("trade", 30), ("book", 40), ("stop", 40)]
    assert eng.stats.events == 4


def test_timers_fire_at_their_simulated_times_between_events() -> None:
    ms = 1_000_000
    s = Recorder(subscribe=[YES], every_s=0.025)  # every 25 ms
    eng, *_ = build(s, [lc(10 * ms), lc(60 * ms), lc(100 * ms)])
    eng.run(end_ns=100 * ms)
    got = [(k, t // ms) for k, t, _ in s.seen if k in ("book", "timer")]
    assert got == [
        ("book", 10),
        ("timer", 25),
        ("timer", 50),
        ("book", 60),
        ("timer", 75),
        ("book", 100),
        ("timer", 100),
    ]


def test_fills_update_positions_and_cash_once_per_trade_id() -> None:
    class Buyer(Recorder):
        def on_start(self, ctx):
            super().on_start(ctx)
            self.ack = ctx.orders.buy(YES, 0.4, 10.0)

    s = Buyer()
    eng, venue, ex, _ = build(s, [lc(100)])
    eng.start()  # places the order
    eng.run_until(50)
    venue.fill(s.ack.client_order_id, 4.0, fee_shares=0.1, trade_id="T1")
    venue.fill(s.ack.client_order_id, 4.0, fee_shares=0.1, trade_id="T1")  # duplicate
    venue.fill(s.ack.client_order_id, 6.0, trade_id="T2")
    eng.run_until(200)
    fills = [e for k, _, e in s.seen if k == "fill"]
    assert [f.trade_id for f in fills] == ["T1", "T2"]
    assert ex.tracker.duplicate_fills == 1
    assert ex.tracker.positions[YES] == pytest.approx(10.0 - 0.1)
    assert ex.tracker.cash_usdc == pytest.approx(100.0 - 0.4 * 10.0)
    assert ex.tracker.orders[s.ack.client_order_id].status is OrderStatus.FILLED


def test_resolution_settles_positions_into_cash() -> None:
    class Buyer(Recorder):
        def on_start(self, ctx):
            super().on_start(ctx)
            self.ack = ctx.orders.buy(YES, 0.4, 10.0)

    s = Buyer()
    eng, venue, ex, _ = build(s, [MarketResolved(500, 500, M.condition_id, (YES, NO), YES)])
    eng.start()
    eng.run_until(100)
    venue.fill(s.ack.client_order_id, 10.0)
    eng.run(end_ns=1_000)
    assert ex.tracker.positions.get(YES, 0.0) == 0.0
    assert ex.tracker.cash_usdc == pytest.approx(100.0 - 4.0 + 10.0)


def test_venue_refusals_are_recorded_with_reasons() -> None:
    clock = SimClock(0)
    venue = FakeVenue(clock, [M], [])
    ex = Executor(venue, clock, cash_usdc=10.0)
    venue.reject_reason = "min_size"
    ack = ex.buy(YES, 0.5, 1.0)
    assert not ack.accepted and ack.reason == "min_size"
    assert [(r.source, r.reason) for r in ex.refusals] == [("venue", "min_size")]
    bad = ex.buy(YES, 1.5, 10.0)
    assert bad.reason == "invalid_order" and ex.refusals[-1].source == "executor"


def test_the_loop_raises_the_gc_threshold_only_while_it_runs() -> None:
    seen: list[tuple[int, int, int]] = []

    class Probe(Strategy):
        def on_start(self, ctx):
            ctx.subscribe([YES])

        def on_book(self, ctx, event):
            seen.append(gc.get_threshold())

    before = gc.get_threshold()
    eng, *_ = build(Probe(), [lc(10)])
    eng.run(end_ns=1_000)
    assert seen and seen[0][0] >= 10_000 and seen[0][1:] == before[1:]
    assert gc.get_threshold() == before  # restored, also for the caller's process
