"""clobsim's side of the benchmark: the plug-in point for the engine.

``benchmarks.run`` calls three functions, each free to use whatever clobsim offers:

* ``replay_only(stream) -> {"events": int, "seconds": float, ...}``: every row of
  ``stream`` replayed through clobsim's books, with no strategy;
* ``quote_100ms(stream) -> {...}`` (same keys): a plain Python strategy that
  cancels and re-posts a bid at best bid and an ask at best ask every 100 ms of
  simulated time, through the full executor path;
* ``jit_timings() -> (cold_s, warm_s)``: wall time of a fresh interpreter that
  imports the kernels and replays a tiny stream, first with an empty numba cache
  (compiles) and then with the cache it left behind.

``seconds`` must cover the run only (no stream generation, no JIT compilation:
warm the kernels on a small prefix first). Extra keys are shown by ``run.py``
and saved to ``benchmarks/_work/details.json``. Raise ``NotImplementedError`` for
what does not exist yet: the run is reported as pending.

Both runs go through the real ``exchange_mock.Backtest``: the exchange-side
matching book, the strategy's local book at receive time, the engine loop and
(for the quoter) the executor, with 10 ms order-entry and ack latency.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.stream import STREAM_DAY, bench_market
from exchange_mock import Backtest
from exchange_mock.replay_stats import ReplayState
from sim.backtest_config import LatencyConfig, VenueConfig
from sim.executor import ExecutorConfig, LimitsConfig
from sim.marketdata import Dataset, DatasetWriter, EventColumns
from sim.risk import RiskConfig
from sim.strategy import Strategy
from sim.types import OrderIntent, OrderRequest, Side

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "_work"
_WARM_ROWS = 20_000


def one_market_state(grid: int = 1_000) -> ReplayState:
    """A ``ReplayState`` for one binary market (assets 0 and 1), built without a Dataset."""
    return ReplayState.allocate(grid, 2)


class _NoOp(Strategy):
    """Subscribes to nothing: the engine never leaves the kernels."""


class _Quoter(Strategy):
    """Every 100 ms: cancel both quotes, then bid at the best bid for YES and, as Polymarket
    quotes an ask, bid for NO at 1 - best ask (the complement; no inventory needed).

    As a market maker on Polymarket would, it uses the batch endpoints: one ``DELETE
    /orders`` for both cancels and one ``POST /orders`` for both quotes (two round trips
    per requote instead of four), through the same executor checks as single orders."""

    def on_start(self, ctx):
        m = ctx.markets[0]
        self.yes, self.no = m.yes_token_id, m.no_token_id
        self.live: list[str] = []
        self.requotes = 0
        ctx.schedule("quote", every_s=0.1)

    def on_timer(self, ctx, name):
        orders = ctx.orders
        if self.live:
            orders.cancel_many(self.live)
        book = ctx.book(self.yes)
        bid, ask = book.best_bid, book.best_ask
        quotes = []
        if bid is not None:
            quotes.append(OrderIntent.buy(self.yes, bid, 10.0, post_only=True))
        if ask is not None:
            quotes.append(OrderIntent.buy(self.no, round(1.0 - ask, 2), 10.0, post_only=True))
        self.live = [a.client_order_id for a in orders.place_many(quotes) if a.accepted]
        self.requotes += 1


class _VenueQuoter(_Quoter):
    """The same quotes sent straight to ``SimVenue`` (``place_many``/``cancel_many``), no
    executor: a diagnostic, the floor the engine and the simulated venue set for any
    executor. Not a way to trade (nothing is checked, nothing journaled)."""

    def on_start(self, ctx):
        super().on_start(ctx)
        self.n = 0  # self.venue is set by the bench's run hook (_direct_venue)

    def on_timer(self, ctx, name):
        venue = self.venue
        if self.live:
            venue.cancel_many(self.live, deadline_s=5.0)
        book = ctx.book(self.yes)
        bid, ask = book.best_bid, book.best_ask
        quotes = []
        for asset, price in ((self.yes, bid), (self.no, None if ask is None else 1.0 - ask)):
            if price is not None:
                self.n += 1
                quotes.append(OrderRequest(f"v-{self.n}", asset, Side.BUY, round(price, 2),
                                           10.0, post_only=True))  # fmt: skip
        acks = venue.place_many(quotes, deadline_s=5.0) if quotes else []
        self.live = [a.client_order_id for a in acks if a.accepted]
        self.requotes += 1


def _dataset(stream: EventColumns) -> Dataset:
    """The stream as a one-day dataset under _work/ (written once per stream)."""
    key = f"ds-{len(stream)}-{int(stream.ts_exchange_ns[0])}-{int(stream.ts_exchange_ns[-1])}"
    root = WORK / key
    if not (root / "dataset.json").is_file():
        w = DatasetWriter(root, [bench_market()], {"source": "benchmarks.stream"})
        w.write_day(STREAM_DAY, "bench-market", stream)
    return Dataset.open(root)


#: Every guard runs (deadlines, buckets, balance, funds, slippage, kill switch, journal,
#: breakers observing), but no limit or breaker may refuse the quotes: a refused order
#: never reaches the venue, which would make the path measured shorter than the real one.
_EXECUTOR = ExecutorConfig(limits=LimitsConfig(0, 0, 0, 0, 0, 0))
_RISK = RiskConfig(enabled=False)


def _direct_venue(strategy: Strategy):
    """The bench's hook (the run object, not the strategy context) that hands the venue
    quoter its SimVenue: strategies themselves never reach the venue."""

    def install(bt: Backtest) -> None:
        bt.executor.on_venue_event = lambda ev: None
        strategy.venue = bt.venue

    return install


def _run(strategy: Strategy, stream: EventColumns, *, executor: bool = True) -> dict:
    venue = VenueConfig(latency=LatencyConfig(order_entry_ms=10.0, ack_ms=10.0))
    kw = {"venue": venue, "executor": _EXECUTOR, "risk": _RISK, "cash_usdc": 1e9}
    warm = _dataset(stream.take(np.arange(min(len(stream), _WARM_ROWS))))
    runs = []
    for data, strat in ((warm, type(strategy)()), (_dataset(stream), strategy)):  # JIT first
        bt = Backtest(strategy=strat, data=data, **kw)
        if not executor:  # the venue's own events are not the executor's business here
            bt.on_start = _direct_venue(strat)
        runs.append(bt.run())
    res = runs[-1]
    ours = res.refusals[res.refusals.source == "executor"]  # the venue may refuse (post-only)
    if len(ours):
        raise RuntimeError(f"benchmark orders were refused: {ours.reason.value_counts()}")
    s = res.summary
    return {
        "events": int(s["Events"]),
        "seconds": float(s["Wall time [s]"]),
        "engine": "exchange_mock.Backtest (SimVenue + Executor + Engine)",
        "orders": int(s["Orders"]),
        "fills": int(s["Fills"]),
    }


def replay_only(stream: EventColumns) -> dict:
    """Every row through the exchange book and the strategy's local book, no strategy action."""
    return _run(_NoOp(), stream)


def quote_100ms(stream: EventColumns) -> dict:
    """A plain Python quoter through the executor, re-quoting both sides every 100 ms.

    Also measured once (best of two), as ``no_executor_eps``: the same quotes sent straight
    to the venue, which is what the engine and ``SimVenue`` alone cost."""
    q = _Quoter()
    out = _run(q, stream)
    out["requotes"] = q.requotes
    floor = min(_run(_VenueQuoter(), stream, executor=False)["seconds"] for _ in range(2))
    out["no_executor_eps"] = len(stream) / floor
    out["us_per_requote"] = out["seconds"] / max(q.requotes, 1) * 1e6
    out["no_executor_us_per_requote"] = floor / max(q.requotes, 1) * 1e6
    return out


# A fresh interpreter: import the kernels and replay a tiny stream (a snapshot and changes).
_JIT_PROBE = """
import tempfile
from benchmarks.clobsim_runs import _NoOp, _Quoter
from benchmarks.stream import STREAM_DAY, bench_market, make_stream
from exchange_mock import Backtest
from sim.marketdata import DatasetWriter
with tempfile.TemporaryDirectory() as d:
    DatasetWriter(d, [bench_market()]).write_day(STREAM_DAY, "m", make_stream(2_000, seed=3))
    Backtest(strategy=_Quoter(), data=d).run()
    Backtest(strategy=_NoOp(), data=d).run()
"""


def _probe(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _JIT_PROBE], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - t0


def jit_timings() -> tuple[float, float]:
    """(cold, warm) wall seconds of a fresh interpreter that imports and replays a tiny stream.

    Cold: ``NUMBA_CACHE_DIR`` points at an empty folder, so every kernel compiles.
    Warm: the same folder again, so the kernels load from the cache just written.
    """
    with tempfile.TemporaryDirectory(prefix="clobsim-jit-") as cache:
        cold = _probe(cache)
        warm = _probe(cache)
    return cold, warm
