"""Shared pieces of the fault tests: a hand-made dataset, a scripted strategy, runners.

(Named ``test_faults_*`` to live beside them; it holds no tests.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from exchange_mock import Backtest
from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec
from exchange_mock.sim_venue import SimVenue
from sim.clock import SimClock
from sim.marketdata import (
    Dataset,
    DatasetWriter,
    EventColumns,
    EventKind,
    asset_table,
    day_start_ns,
)
from sim.risk import RiskConfig
from sim.strategy import Strategy
from tests.helpers import DAY, make_market

K = EventKind
MS = 1_000_000
S = 1_000_000_000
M = make_market(0, 0.01)
YES = M.yes_token_id
ASSETS = asset_table([M])
T0 = day_start_ns(DAY) + 3_600 * S  # first row (exchange time); received 5 ms later
RUN_S = 60


def write_dataset(root: Path) -> Path:
    """One market: bids 0.48 (100) / 0.47, asks 0.52 (50) / 0.53 (300) / 0.54 (500).

    Every 100 ms a far ask level (0.60) changes; every second the 0.48 bid is set to
    ``100 + k`` shares, so the book's state tells the time it is as of. The touch
    levels are never re-set: what our takers (or a fault) take stays taken.
    """
    rows = [
        (0, K.BOOK_RESET, 0, 0.0, 0.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.48, 100.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.47, 200.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.52, 50.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.53, 300.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.54, 500.0),
    ]
    for i in range(1, RUN_S * 10 + 1):
        t = i * 100 * MS
        if i % 10 == 0:
            rows.append((t, K.LEVEL_CHANGE, 1, 0.48, 100.0 + i // 10))
        else:
            rows.append((t, K.LEVEL_CHANGE, -1, 0.60, 100.0 + i))
    ts = np.array([T0 + r[0] for r in rows])
    cols = EventColumns.from_arrays(
        ASSETS, ts_exchange_ns=ts, ts_recv_ns=ts + 5 * MS, seq=np.arange(1, len(rows) + 1),
        asset=np.zeros(len(rows)), kind=[r[1] for r in rows], side=[r[2] for r in rows],
        price=[r[3] for r in rows], size=[r[4] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, [M]).write_day(DAY, "m0", cols)
    return root


Action = Callable[[object], object]


class Script(Strategy):
    """Runs ``(t_s, action)`` pairs at the first 100 ms tick at or after each time
    (seconds from the first tick); ``results`` keeps what each action returned."""

    def __init__(self, *actions: tuple[float, Action]) -> None:
        self.actions = sorted(actions, key=lambda a: a[0])
        self.results: list[object] = []
        self.books: list[object] = []

    def on_start(self, ctx) -> None:
        ctx.subscribe([YES])
        ctx.schedule("tick", every_s=0.1)
        self.t0 = None

    def on_book(self, ctx, event) -> None:
        self.books.append(event)

    def on_timer(self, ctx, name) -> None:
        now = ctx.clock.now_ns()
        if self.t0 is None:
            self.t0 = now
        while self.actions and now - self.t0 >= self.actions[0][0] * S - 1:
            _, action = self.actions.pop(0)
            self.results.append(action(ctx))


def plan(*specs: FaultSpec, seed: int = 0) -> FaultPlan:
    return FaultPlan(specs, seed)


def backtest(root: Path, strategy: Strategy, fault_plan: FaultPlan | None = None, **kw):
    """Run; returns (result, backtest, injector)."""
    inj = FaultInjector(fault_plan) if fault_plan is not None else None
    kw.setdefault("risk", RiskConfig(enabled=False))
    bt = Backtest(strategy=strategy, data=root, cash_usdc=1_000.0, fault_hook=inj, **kw)
    return bt.run(), bt, inj


def buy(price: float, size: float, **kw) -> Action:
    return lambda ctx: ctx.orders.buy(YES, price, size, **kw)


def sim_venue(root: Path, fault_plan: FaultPlan | None = None):
    """A SimVenue driven directly (no engine), subscribed to YES: (venue, clock, injector)."""
    inj = FaultInjector(fault_plan) if fault_plan is not None else None
    clock = SimClock(day_start_ns(DAY))
    venue = SimVenue(Dataset.open(root), clock=clock, cash_usdc=1_000.0, fault_hook=inj)
    clock.advance_to(venue.first_event_ns())
    venue.subscribe([YES])
    return venue, clock, inj


def drive(venue: SimVenue, clock: SimClock, until_ns: int, step_s: float = 0.25,
          sample: Callable[[], object] | None = None):  # fmt: skip
    """Advance like the engine does, in steps; returns ([(time, event)], [(time, sample)])."""
    events, samples = [], []
    t = clock.now_ns()
    while t < until_ns and not venue.exhausted:
        t = min(t + round(step_s * S), until_ns)
        while True:
            got = venue.advance(t)
            if venue.time_ns > clock.now_ns():
                clock.advance_to(venue.time_ns)
            events += [(venue.time_ns, e) for e in got]
            if not got:  # nothing more due by t
                break
        if clock.now_ns() < t:
            clock.advance_to(t)
        if sample is not None:
            samples.append((t, sample()))
    return events, samples
