"""The peer: the benchmark stream converted for hftbacktest 2.4.4, and its two timed runs.

Conversion maps one clobsim row to one hftbacktest event (so both engines see
the same event count), flagged ``EXCH_EVENT | LOCAL_EVENT``:

=================  ============================================================
clobsim kind       hftbacktest event
=================  ============================================================
BOOK_RESET         ``DEPTH_CLEAR_EVENT`` without a side: clears the whole book
SNAPSHOT_LEVEL     ``DEPTH_SNAPSHOT_EVENT`` | ``BUY_EVENT``/``SELL_EVENT``
LEVEL_CHANGE       ``DEPTH_EVENT`` | ``BUY_EVENT``/``SELL_EVENT`` (absolute qty)
TRADE              ``TRADE_EVENT`` | ``BUY_EVENT`` (taker buys) / ``SELL_EVENT``
=================  ============================================================

``exch_ts`` is ``ts_exchange_ns`` and ``local_ts`` is ``ts_recv_ns``.

Defects of hftbacktest 2.4.4 this module works around:

* ``ROIVectorMarketDepth.best_bid_qty``/``best_ask_qty`` return the *price*; the
  strategies here never call them (``bid_qty_at_tick(best_bid_tick)`` would be
  the correct read).
* A partial clear of the ask side (``DEPTH_CLEAR_EVENT | SELL_EVENT`` with a
  price) loses the best ask, so a book reset is a side-less, full clear.
* Its ``partial_fill_exchange`` aborts with error 14 (upstream #301/#312), so the
  quoter runs on ``no_partial_fill_exchange``.
* ``BacktestAsset.data(ndarray)`` keeps only a raw pointer to the array, so the
  array is held by ``HftbRun`` until the backtest is closed and dropped.
* ``ROIVectorMarketDepth.clear_depth`` indexes a one-sided clear without
  subtracting ``roi_lb``; the range of interest starts at 0 so that cannot bite.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from sim.marketdata import EventColumns, EventKind

try:  # hftbacktest is a dev dependency; the harness reports it missing rather than crashing
    import hftbacktest as hb
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        DEPTH_SNAPSHOT_EVENT,
        EXCH_EVENT,
        GTX,
        LIMIT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
    )
    from hftbacktest.types import event_dtype

    HFTB_VERSION: str | None = hb.__version__
except ImportError:  # pragma: no cover - exercised only without the dev extra
    hb = None
    HFTB_VERSION = None

TICK = 0.01
LOT = 0.01  # sizes carry two decimals
QUOTE_INTERVAL_NS = 100_000_000  # the quoter re-quotes every 100 ms of simulated time
QUOTE_QTY = 10.0
#: Order entry and response latency of the quoter's orders (each way).
ORDER_LATENCY_NS = 10_000_000
#: Replay-only elapses this far past the start in one call: beyond any stream's end.
_REPLAY_ELAPSE_NS = 10 * 86_400 * 1_000_000_000


def to_hftbacktest(cols: EventColumns, asset: int = 0) -> np.ndarray:
    """``cols`` rows of ``asset`` as an hftbacktest event array (``event_dtype``), row for row."""
    if hb is None:
        raise RuntimeError("hftbacktest is not installed (pip install -e '.[dev]')")
    if len(cols) and not (cols.asset == asset).all():
        raise ValueError("to_hftbacktest converts one asset's stream; found rows of others")
    kind = cols.kind
    buy = cols.side > 0
    side_flag = np.where(buy, np.uint64(BUY_EVENT), np.uint64(SELL_EVENT))
    base = np.uint64(EXCH_EVENT | LOCAL_EVENT)
    ev = np.zeros(len(cols), np.uint64)
    known = np.zeros(len(cols), bool)
    for k, flag, sided in (
        (EventKind.BOOK_RESET, DEPTH_CLEAR_EVENT, False),
        (EventKind.SNAPSHOT_LEVEL, DEPTH_SNAPSHOT_EVENT, True),
        (EventKind.LEVEL_CHANGE, DEPTH_EVENT, True),
        (EventKind.TRADE, TRADE_EVENT, True),
    ):
        m = kind == k
        ev[m] = base | np.uint64(flag)
        if sided:
            ev[m] |= side_flag[m]
        known |= m
    if not known.all():
        r = int(np.argmin(known))
        raise ValueError(f"row {r}: kind {EventKind(int(kind[r])).name} has no hftbacktest form")
    out = np.zeros(len(cols), event_dtype)
    out["ev"] = ev
    out["exch_ts"] = cols.ts_exchange_ns
    out["local_ts"] = cols.ts_recv_ns
    out["px"] = cols.price
    out["qty"] = cols.size
    return out


@dataclass
class HftbRun:
    """One backtest instance; keeps its event array alive as long as the backtest."""

    data: np.ndarray
    depth: str = "roivec"  # or "hashmap"
    hbt: object = field(init=False)

    def __post_init__(self) -> None:
        asset = (
            hb.BacktestAsset()
            .data(self.data)  # raw pointer only: self.data must outlive self.hbt
            .linear_asset(1.0)
            .constant_order_latency(ORDER_LATENCY_NS, ORDER_LATENCY_NS)
            .risk_adverse_queue_model()
            .no_partial_fill_exchange()
            .trading_value_fee_model(0.0, 0.0)
            .tick_size(TICK)
            .lot_size(LOT)
        )
        if self.depth == "roivec":
            asset = asset.roi_lb(0.0).roi_ub(1.0)
            self.hbt = hb.ROIVectorMarketDepthBacktest([asset])
        elif self.depth == "hashmap":
            self.hbt = hb.HashMapMarketDepthBacktest([asset])
        else:
            raise ValueError(f"unknown depth {self.depth!r}")

    def close(self) -> None:
        self.hbt.close()


# -- the two strategies (numba, as hftbacktest requires) ---------------------------------

# hftbacktest's jitclasses call into its library through ctypes pointers, which numba cannot
# cache: the strategies ask for cache=True (project rule) and compile once per process.
warnings.filterwarnings("ignore", message=r'Cannot cache compiled function "_(replay|quoter)"')


@njit(cache=True)
def _replay(hbt, horizon_ns):
    # One elapse past the stream's end: every event is processed, none is looked at.
    while hbt.elapse(horizon_ns) == 0:
        pass
    return hbt.current_timestamp


@njit(cache=True)
def _quoter(hbt, interval_ns, qty):
    """Every ``interval_ns``: cancel what rests, post a GTX bid at best bid and ask at best ask."""
    asset = 0
    next_id = 1
    requotes = 0
    submitted = 0
    cancels = 0
    errors = 0
    tick = hbt.depth(asset).tick_size
    while hbt.elapse(interval_ns) == 0:
        hbt.clear_inactive_orders(asset)
        values = hbt.orders(asset).values()
        while values.has_next():
            order = values.get()
            if order.cancellable:
                if hbt.cancel(asset, order.order_id, False) == 0:
                    cancels += 1
                else:
                    errors += 1
        depth = hbt.depth(asset)
        bid = depth.best_bid_tick
        ask = depth.best_ask_tick
        requotes += 1
        if np.isfinite(depth.best_bid) and np.isfinite(depth.best_ask) and bid < ask:
            if hbt.submit_buy_order(asset, next_id, bid * tick, qty, GTX, LIMIT, False) == 0:
                submitted += 1
            else:
                errors += 1
            next_id += 1
            if hbt.submit_sell_order(asset, next_id, ask * tick, qty, GTX, LIMIT, False) == 0:
                submitted += 1
            else:
                errors += 1
            next_id += 1
    sv = hbt.state_values(asset)
    return requotes, submitted, cancels, errors, sv.num_trades, hbt.position(asset)


# -- timed runs --------------------------------------------------------------------------


def _warm(data: np.ndarray, depth: str) -> None:
    """Compile both strategies for this depth type on a small prefix (excluded from timing)."""
    small = np.ascontiguousarray(data[: min(len(data), 20_000)])
    for fn in ("replay", "quote"):
        run = HftbRun(small, depth)
        if fn == "replay":
            _replay(run.hbt, _REPLAY_ELAPSE_NS)
        else:
            _quoter(run.hbt, QUOTE_INTERVAL_NS, QUOTE_QTY)
        run.close()


def replay_only(data: np.ndarray, depth: str = "roivec") -> dict:
    """(a) Consume every event with no strategy work. ``data`` from ``to_hftbacktest``."""
    _warm(data, depth)
    run = HftbRun(data, depth)
    t0 = time.perf_counter()
    _replay(run.hbt, _REPLAY_ELAPSE_NS)
    seconds = time.perf_counter() - t0
    run.close()
    return {"events": len(data), "seconds": seconds, "depth": depth}


def quote_100ms(data: np.ndarray, depth: str = "roivec") -> dict:
    """(b) The standard market-making loop, re-quoting both sides every 100 ms."""
    _warm(data, depth)
    run = HftbRun(data, depth)
    t0 = time.perf_counter()
    requotes, submitted, cancels, errors, fills, position = _quoter(
        run.hbt, QUOTE_INTERVAL_NS, QUOTE_QTY
    )
    seconds = time.perf_counter() - t0
    run.close()
    return {
        "events": len(data),
        "seconds": seconds,
        "depth": depth,
        "requotes": int(requotes),
        "orders_submitted": int(submitted),
        "cancels": int(cancels),
        "order_errors": int(errors),
        "fills": int(fills),
        "final_position": float(position),
    }
