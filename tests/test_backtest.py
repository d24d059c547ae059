"""End to end: strategy -> executor -> SimVenue (two cursors, latency) -> results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exchange_mock import Backtest
from sim.backtest_config import LatencyConfig, VenueConfig
from sim.errors import ConfigError
from sim.marketdata import DatasetWriter, EventColumns, EventKind, asset_table, day_start_ns
from sim.risk import RiskConfig
from sim.strategy import Strategy
from sim.types import OrderType
from tests.helpers import DAY, make_market

K = EventKind
MS = 1_000_000
M = make_market(0, 0.01, fee_rate=0.07)
ASSETS = asset_table([M])


def write_dataset(root: Path) -> Path:
    """One market: a book 0.48/0.52, then the ask side is lifted and bids get hit."""
    t0 = day_start_ns(DAY) + 3_600 * 10**9
    rows = [
        (0, K.BOOK_RESET, 0, 0.0, 0.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.48, 100.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.47, 200.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.52, 50.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.53, 300.0),
    ]
    t = 0
    for i in range(200):
        t += 50 * MS
        if i % 10 == 5:
            rows.append((t, K.TRADE, -1, 0.48, 30.0))  # sellers hit the 0.48 bid
            rows.append((t, K.LEVEL_CHANGE, 1, 0.48, 70.0))
            rows.append((t + MS, K.LEVEL_CHANGE, 1, 0.48, 100.0))  # replenished
        else:
            rows.append((t, K.LEVEL_CHANGE, -1, 0.53, 300.0 + i))
    ts = np.array([t0 + r[0] for r in rows])
    cols = EventColumns.from_arrays(
        ASSETS, ts_exchange_ns=ts, ts_recv_ns=ts + 5 * MS, seq=np.arange(1, len(rows) + 1),
        asset=np.zeros(len(rows)), kind=[r[1] for r in rows], side=[r[2] for r in rows],
        price=[r[3] for r in rows], size=[r[4] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, [M]).write_day(DAY, "m0", cols)
    return root


class TakerThenMaker(Strategy):
    def on_start(self, ctx):
        ctx.schedule("go", every_s=0.2)
        self.n = 0

    def on_timer(self, ctx, name):
        self.n += 1
        if self.n == 1:
            self.taker = ctx.orders.buy(M.yes_token_id, 0.52, 20.0, order_type=OrderType.FOK)
        elif self.n == 2:
            self.maker = ctx.orders.buy(M.yes_token_id, 0.48, 40.0)


def run(root: Path, **kw):
    # breakers off: risk per trade (4 % of 100 USDC) would refuse these orders by design
    kw.setdefault("risk", RiskConfig(enabled=False))
    return Backtest(strategy=TakerThenMaker(), data=root, cash_usdc=100.0, **kw).run()


def test_risk_per_trade_refuses_an_order_above_four_percent(tmp_path: Path) -> None:
    res = Backtest(strategy=TakerThenMaker(), data=write_dataset(tmp_path), cash_usdc=100.0).run()
    assert res.refusals.reason.tolist()[:1] == ["risk_per_trade"]
    assert len(res.fills) == 0 or res.fills.notional_usdc.max() <= 4.0 + 1e-9


def test_taker_and_maker_fills_reconcile_with_the_venue(tmp_path: Path) -> None:
    res = run(write_dataset(tmp_path))
    f = res.fills
    taker = f[f.liquidity == "TAKER"]
    maker = f[f.liquidity == "MAKER"]
    assert taker.size_shares.sum() == pytest.approx(20.0)
    assert taker.price.unique().tolist() == [0.52]
    fee = 20 * 0.07 * 0.52 * 0.48
    assert taker.fee_usdc.sum() == pytest.approx(fee)
    # queue: 100 shares displayed ahead at 0.48; each 30-share sell advances us
    assert maker.size_shares.sum() == pytest.approx(40.0)
    assert (maker.price == 0.48).all() and (maker.fee_usdc == 0).all()
    summary = res.summary
    cash = 100.0 - 20 * 0.52 - 40 * 0.48
    assert summary["Venue cash [USDC]"] == pytest.approx(cash)
    ex = res.positions.set_index("asset_id")["shares"]
    assert ex[M.yes_token_id] == pytest.approx(60.0 - fee / 0.52)
    assert res.orders.status.tolist() == ["FILLED", "FILLED"]


def test_same_data_and_seed_give_identical_results(tmp_path: Path) -> None:
    root = write_dataset(tmp_path)
    lat = VenueConfig(latency=LatencyConfig(order_entry_ms={"median_ms": 20, "p95_ms": 90}))
    a = run(root, seed=3, venue=lat)
    b = run(root, seed=3, venue=lat)
    for name in ("orders", "fills", "equity"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_latency_moves_the_taker_price(tmp_path: Path) -> None:
    root = write_dataset(tmp_path)
    fast = run(root, venue=VenueConfig(latency=LatencyConfig(order_entry_ms=0, ack_ms=0)))
    assert fast.fills.iloc[0].price == 0.52
    # with 3 s of entry latency the order arrives late but the book still has 0.52
    slow = run(root, venue=VenueConfig(latency=LatencyConfig(order_entry_ms=3_000, ack_ms=1)))
    assert slow.fills.iloc[0].time > fast.fills.iloc[0].time


def test_calls_slower_than_their_deadline_time_out_and_refuse_new_risk(tmp_path: Path) -> None:
    """10 s of latency against 5 s deadlines: the balance check times out, nothing is sent."""
    root = write_dataset(tmp_path)
    res = run(root, venue=VenueConfig(latency=LatencyConfig(order_entry_ms=10_000, ack_ms=1)))
    assert len(res.fills) == 0
    assert set(res.refusals.reason) == {"balance_unknown"}


def test_bad_arguments_are_refused_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cash_usdc"):
        Backtest(strategy=TakerThenMaker(), data=tmp_path, cash_usdc=0)
    with pytest.raises(ConfigError, match="queue_model"):
        VenueConfig(queue_model="magic")
    with pytest.raises(ConfigError, match="strategy"):
        Backtest(strategy=object(), data=tmp_path)
