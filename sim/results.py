"""Backtest results as plain pandas: orders, fills, positions, equity, refusals, summary.

Units are in column and key names (``_usdc``, ``_shares``, ``[%]``), so a
table printed in Jupyter explains itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.executor import Executor
from sim.run_counters import counters_dict, run_counters
from sim.types import MarketInfo, Side

if TYPE_CHECKING:
    from sim.engine import StrategyError

#: price used to value a position: mid, else the one side present, else None
MarkPrice = Callable[[str], float | None]


def _ts(ns: Sequence[int] | np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ns, dtype=np.int64), unit="ns", utc=True)


@dataclass
class EquityRecorder:
    """Samples cash + marked positions over time (called by the engine on a timer)."""

    executor: Executor
    mark: MarkPrice
    ts_ns: list[int] = field(default_factory=list)
    cash: list[float] = field(default_factory=list)
    positions_value: list[float] = field(default_factory=list)
    _last_mark: dict[str, float] = field(default_factory=dict)

    def __call__(self, now_ns: int) -> None:
        value = 0.0
        for asset, shares in self.executor.tracker.positions.items():
            if shares == 0.0:
                continue
            px = self.mark(asset)
            if px is None:
                px = self._last_mark.get(asset, 0.0)
            else:
                self._last_mark[asset] = px
            value += shares * px
        if self.ts_ns and self.ts_ns[-1] == now_ns:
            self.cash[-1], self.positions_value[-1] = self.executor.tracker.cash_usdc, value
            return
        self.ts_ns.append(now_ns)
        self.cash.append(self.executor.tracker.cash_usdc)
        self.positions_value.append(value)

    def frame(self) -> pd.DataFrame:
        eq = np.asarray(self.cash) + np.asarray(self.positions_value)
        peak = np.maximum.accumulate(eq) if len(eq) else eq
        with np.errstate(divide="ignore", invalid="ignore"):
            dd = np.where(peak > 0, (eq - peak) / peak * 100.0, 0.0)
        return pd.DataFrame(
            {
                "cash_usdc": self.cash,
                "positions_value_usdc": self.positions_value,
                "equity_usdc": eq,
                "drawdown_pct": dd,
            },
            index=pd.Index(_ts(self.ts_ns), name="time"),
        )


@dataclass(frozen=True)
class BacktestResult:
    orders: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    equity: pd.DataFrame
    refusals: pd.DataFrame
    summary: pd.Series
    #: every breaker trip and reset: time, breaker, kind, value, threshold
    breakers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: every alert the executor raised: time, level, kind, message
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per venue call kind: calls, attempts, retries, timeouts, worst time vs deadline
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: set when a strategy callback raised: trading was halted and the run stopped there
    #: (``sim.engine.StrategyError``: callback, simulated time, exception, traceback); the
    #: tables above hold the results up to that point
    error: StrategyError | None = None
    #: the run's counters at its end (``sim.run_counters``): the names and numbers a paper
    #: or live run exports on ``/metrics``
    counters: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:  # Jupyter
        return self.summary.to_frame("value")._repr_html_()

    def __repr__(self) -> str:
        return f"BacktestResult\n{self.summary.to_string()}"


def build_result(
    *,
    executor: Executor,
    markets: Sequence[MarketInfo],
    equity: EquityRecorder,
    initial_cash_usdc: float,
    events: int,
    wall_s: float,
    start_ns: int,
    end_ns: int,
    extra: dict[str, object] | None = None,
    error: StrategyError | None = None,
    feed: object | None = None,
) -> BacktestResult:
    market_of = {}
    outcome_of = {}
    for m in markets:
        for a, o in ((m.yes_token_id, "YES"), (m.no_token_id, "NO")):
            market_of[a] = m.slug or m.condition_id
            outcome_of[a] = o
    tr = executor.tracker
    orders = pd.DataFrame(
        [
            {
                "client_order_id": o.client_order_id,
                "venue_order_id": o.venue_order_id,
                "submitted": o.submitted_ns,
                "market": market_of.get(o.request.asset_id, ""),
                "outcome": outcome_of.get(o.request.asset_id, ""),
                "asset_id": o.request.asset_id,
                "side": o.request.side.name,
                "order_type": o.request.order_type.value,
                "post_only": o.request.post_only,
                "price": o.request.price,
                "size_shares": o.request.size_shares,
                "filled_shares": o.filled_shares,
                "avg_fill_price": o.avg_price,
                "fees_usdc": o.fees_usdc,
                "status": o.status.value,
                "reason": o.reason,
            }
            for o in tr.orders.values()
        ],
        columns=[
            "client_order_id",
            "venue_order_id",
            "submitted",
            "market",
            "outcome",
            "asset_id",
            "side",
            "order_type",
            "post_only",
            "price",
            "size_shares",
            "filled_shares",
            "avg_fill_price",
            "fees_usdc",
            "status",
            "reason",
        ],
    )
    if len(orders):
        orders["submitted"] = _ts(orders["submitted"].to_numpy())
    fill_rows = []
    for f in tr.fills:
        expected = tr.orders[f.client_order_id].expected_price
        sign = 1.0 if f.side is Side.BUY else -1.0
        slip = (f.price - expected) * sign if expected is not None else np.nan
        fill_rows.append(
            {
                "trade_id": f.trade_id,
                "time": f.ts_ns,
                "client_order_id": f.client_order_id,
                "market": market_of.get(f.asset_id, ""),
                "outcome": outcome_of.get(f.asset_id, ""),
                "asset_id": f.asset_id,
                "side": f.side.name,
                "liquidity": f.liquidity.value,
                "price": f.price,
                "size_shares": f.size_shares,
                "notional_usdc": f.price * f.size_shares,
                "fee_usdc": f.fee_usdc,
                "fee_shares": f.fee_shares,
                "expected_price": expected,
                "slippage_per_share": slip,
                "slippage_usdc": slip * f.size_shares,
            }
        )
    fills = pd.DataFrame(
        fill_rows,
        columns=[
            "trade_id",
            "time",
            "client_order_id",
            "market",
            "outcome",
            "asset_id",
            "side",
            "liquidity",
            "price",
            "size_shares",
            "notional_usdc",
            "fee_usdc",
            "fee_shares",
            "expected_price",
            "slippage_per_share",
            "slippage_usdc",
        ],
    )
    if len(fills):
        fills["time"] = _ts(fills["time"].to_numpy())
    positions = pd.DataFrame(
        [
            {
                "market": market_of.get(a, ""),
                "outcome": outcome_of.get(a, ""),
                "asset_id": a,
                "shares": s,
                "mark_price": equity._last_mark.get(a, np.nan),
            }
            for a, s in tr.positions.items()
            if abs(s) > 1e-9
        ],
        columns=["market", "outcome", "asset_id", "shares", "mark_price"],
    )
    positions["value_usdc"] = positions["shares"] * positions["mark_price"]
    refusals = pd.DataFrame(
        [
            {
                "time": r.ts_ns,
                "client_order_id": r.client_order_id,
                "market": market_of.get(r.asset_id, ""),
                "asset_id": r.asset_id,
                "side": r.side.name,
                "price": r.price,
                "size_shares": r.size_shares,
                "source": r.source,
                "reason": r.reason,
                "message": r.message,
            }
            for r in executor.refusals
        ],
        columns=[
            "time",
            "client_order_id",
            "market",
            "asset_id",
            "side",
            "price",
            "size_shares",
            "source",
            "reason",
            "message",
        ],
    )
    if len(refusals):
        refusals["time"] = _ts(refusals["time"].to_numpy())
    risk = getattr(executor, "risk", None)
    breakers = pd.DataFrame(
        [
            {"time": e.ts_ns, "breaker": e.breaker, "kind": e.kind, "value": e.value,
             "threshold": e.threshold}
            for e in (risk.events if risk is not None else [])
        ],
        columns=["time", "breaker", "kind", "value", "threshold"],
    )  # fmt: skip
    if len(breakers):
        breakers["time"] = _ts(breakers["time"].to_numpy())
    alerts = pd.DataFrame(
        [
            {"time": a.ts_ns, "level": a.level, "kind": a.kind, "message": a.message}
            for a in executor.memory_alerts.alerts
        ],
        columns=["time", "level", "kind", "message"],
    )
    if len(alerts):
        alerts["time"] = _ts(alerts["time"].to_numpy())
    calls = pd.DataFrame(
        [
            {"call": k, "calls": st.calls, "attempts": st.attempts, "retries": st.retries,
             "timeouts": st.timeouts, "transient_errors": st.transient_errors,
             "rate_limited": st.rate_limited, "max_elapsed_s": st.max_elapsed_s,
             "deadline_s": st.deadline_s, "over_deadline": st.over_deadline}
            for k, st in executor.caller.stats.items()
        ]
    ).set_index("call")  # fmt: skip
    eq = equity.frame()
    final_equity = float(eq["equity_usdc"].iloc[-1]) if len(eq) else initial_cash_usdc
    summary = pd.Series(
        {
            "Start": _ts([start_ns])[0],
            "End": _ts([end_ns])[0],
            "Duration": pd.Timedelta(end_ns - start_ns, unit="ns"),
            "Events": events,
            "Initial cash [USDC]": initial_cash_usdc,
            "Final equity [USDC]": round(final_equity, 6),
            "Return [%]": (final_equity / initial_cash_usdc - 1.0) * 100.0
            if initial_cash_usdc
            else np.nan,
            "Max. Drawdown [%]": float(eq["drawdown_pct"].min()) if len(eq) else 0.0,
            "Orders": len(orders),
            "Fills": len(fills),
            "Volume [USDC]": float(fills["notional_usdc"].sum()) if len(fills) else 0.0,
            "Fees [USDC]": tr.fees_usdc,
            "Avg. slippage [USDC/share]": float(fills["slippage_per_share"].mean())
            if len(fills) and fills["slippage_per_share"].notna().any()
            else np.nan,
            "Refusals": len(refusals),
            "Duplicate fills ignored": tr.duplicate_fills,
            "Wall time [s]": wall_s,
            "Events/s": events / wall_s if wall_s > 0 else np.nan,
            **(extra or {}),
        }
    )
    summary["Halts"] = len(executor.halts)
    summary["Breaker trips"] = int((breakers["kind"] == "trip").sum()) if len(breakers) else 0
    summary["Alerts"] = len(alerts)
    counters = counters_dict(run_counters(executor, feed, end_ns))
    return BacktestResult(orders, fills, positions, eq, refusals, summary, breakers, alerts, calls,
                          error, counters)  # fmt: skip
