"""Breakers on recorded data: a deliberately losing strategy trips each one at its threshold,
and no order reaches the venue after the trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from exchange_mock import Backtest
from sim.backtest_config import LatencyConfig, VenueConfig
from sim.marketdata import DatasetWriter, EventColumns, EventKind, asset_table, day_start_ns
from sim.risk import RiskConfig
from sim.strategy import Strategy
from sim.types import OrderType
from tests.helpers import DAY, make_market

K = EventKind
S = 1_000_000_000
WINDOW_S = 60
N_WINDOWS = 12
T0 = day_start_ns(DAY) + 6 * 3600 * S


def windows_dataset(root: Path) -> Path:
    """12 one-minute windows in a row; each quotes YES 0.48/0.50 and resolves NO."""
    markets = [
        make_market(i, 0.01, start_ns=T0 + i * WINDOW_S * S, end_ns=T0 + (i + 1) * WINDOW_S * S,
                    resolution="NO")
        for i in range(N_WINDOWS)
    ]  # fmt: skip
    assets = asset_table(markets)
    rows = []
    for i, m in enumerate(markets):
        y, n = 2 * i, 2 * i + 1
        rows += [
            (m.start_ns, y, K.BOOK_RESET, 0, 0.0, 0.0),
            (m.start_ns, y, K.SNAPSHOT_LEVEL, 1, 0.48, 500.0),
            (m.start_ns, y, K.SNAPSHOT_LEVEL, -1, 0.50, 5_000.0),
            (m.end_ns + S, y, K.RESOLVED, 0, 0.0, 0.0),
            (m.end_ns + S, n, K.RESOLVED, 0, 1.0, 0.0),
        ]
    rows.sort(key=lambda r: r[0])
    cols = EventColumns.from_arrays(
        assets, ts_exchange_ns=[r[0] for r in rows], ts_recv_ns=[r[0] for r in rows],
        seq=np.arange(1, len(rows) + 1), asset=[r[1] for r in rows], kind=[r[2] for r in rows],
        side=[r[3] for r in rows], price=[r[4] for r in rows], size=[r[5] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, markets).write_day(DAY, "windows", cols)
    return root


class LosingBuyer(Strategy):
    """Buys 10 YES at the ask in every window; every window resolves NO: each trade loses 5."""

    def on_start(self, ctx):
        self.bought: set[str] = set()
        ctx.schedule("scan", every_s=1.0)

    def on_timer(self, ctx, name):
        now = ctx.clock.now_ns()
        for m in ctx.markets:
            if m.start_ns + 2 * S <= now < m.end_ns - 5 * S and m.condition_id not in self.bought:
                self.bought.add(m.condition_id)  # one attempt per window
                ctx.orders.buy(m.yes_token_id, 0.50, 10.0, order_type=OrderType.FOK)


def run(tmp_path: Path, **risk) -> object:
    base = {"daily_loss_usdc": 1e6, "max_consecutive_losses": 1000, "min_bankroll_usdc": 0.0,
            "daily_trade_limit": 1000, "risk_per_trade": 1.0}  # fmt: skip
    cfg = RiskConfig(**{**base, **risk})
    fast = VenueConfig(latency=LatencyConfig(order_entry_ms=0, ack_ms=0))
    return Backtest(strategy=LosingBuyer(), data=windows_dataset(tmp_path), cash_usdc=100.0,
                    risk=cfg, venue=fast).run()  # fmt: skip


def resolution_time(i: int) -> pd.Timestamp:
    return pd.Timestamp(T0 + (i + 1) * WINDOW_S * S + S, unit="ns", tz="UTC")


def trip_of(res, breaker: str) -> pd.Series:
    trips = res.breakers[(res.breakers.breaker == breaker) & (res.breakers.kind == "trip")]
    assert len(trips) >= 1, res.breakers
    return trips.iloc[0]


def assert_nothing_sent_after(res, t: pd.Timestamp) -> None:
    sent = res.orders[res.orders.status != "REJECTED"]
    assert (sent.submitted <= t).all(), sent
    assert (res.fills.time <= t).all()


def test_consecutive_losses_trip_at_the_third_loss(tmp_path: Path) -> None:
    res = run(tmp_path, max_consecutive_losses=3)
    trip = trip_of(res, "consecutive_losses")
    assert trip.time == resolution_time(2) and trip.value == 3 and trip.threshold == 3
    assert len(res.fills) == 3
    assert_nothing_sent_after(res, trip.time)
    assert set(res.refusals.reason) == {"consecutive_losses"}


def test_daily_loss_trips_at_exactly_its_threshold(tmp_path: Path) -> None:
    res = run(tmp_path, daily_loss_usdc=15.0)  # each window loses 5 USDC
    trip = trip_of(res, "daily_loss")
    assert trip.time == resolution_time(2)
    assert trip.value == pytest.approx(15.0) and trip.threshold == 15.0
    assert_nothing_sent_after(res, trip.time)
    assert res.summary["Final equity [USDC]"] == pytest.approx(85.0)


def test_min_bankroll_trips_when_equity_reaches_it(tmp_path: Path) -> None:
    res = run(tmp_path, min_bankroll_usdc=80.0)
    trip = trip_of(res, "min_bankroll")
    assert trip.time == resolution_time(3) and trip.value == pytest.approx(80.0)
    assert_nothing_sent_after(res, trip.time)


def test_daily_trade_limit_refuses_the_next_trade(tmp_path: Path) -> None:
    res = run(tmp_path, daily_trade_limit=4)
    trip = trip_of(res, "daily_trade_limit")
    assert len(res.fills) == 4 and trip.time == res.fills.time.iloc[3]
    assert_nothing_sent_after(res, trip.time)
    assert set(res.refusals.reason) == {"daily_trade_limit"}


def test_cooldown_after_a_loss_blocks_until_it_ends(tmp_path: Path) -> None:
    res = run(tmp_path, cooldown_after_loss_s=150.0)
    fills = res.fills.time.tolist()
    # loss at window 0's resolution (t=61 s) blocks until 211 s: windows 1-2 refused
    assert fills[0] < resolution_time(0) and resolution_time(0) + pd.Timedelta(150, "s") <= fills[1]
    assert "cooldown" in set(res.refusals.reason)
    trips = res.breakers[(res.breakers.breaker == "cooldown") & (res.breakers.kind == "trip")]
    assert trips.time.iloc[0] == resolution_time(0)
