"""What a run report shows, read out of a run folder (``sim.run_files.RunFiles``).

The key figures, the counters under the names ``/metrics`` exports, refusals by reason,
kill-switch halts and P&L by market. No HTML here: ``sim.report.run_page`` renders
these. A figure a folder does not hold is shown as missing ("—"), never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.report.render import DASH
from sim.run_counters import SPEC
from sim.run_files import RunFiles

#: every counter: name -> (Prometheus type, label name or "", help); one table with
#: ``sim.run_counters``, which builds them
COUNTERS = SPEC


def prometheus_name(name: str, kind: str) -> str:
    """``clobsim_<name>``, with the ``_total`` that Prometheus' text format gives a
    counter (``live.ops_server`` exports a ``CounterMetricFamily("clobsim_<name>")``)."""
    return f"clobsim_{name}_total" if kind == "counter" else f"clobsim_{name}"


def _label_value(v: str) -> str:
    """A label value escaped as in the exposition format."""
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class CounterRow(NamedTuple):
    metric: str  # clobsim_calls_total{kind="place"}
    kind: str  # counter | gauge | "" (a name sim.run_counters does not define)
    value: float | None  # None: a labelled counter with no sample yet
    help: str


def counter_rows(counters: Mapping[str, Any]) -> list[CounterRow]:
    """One row per exported sample of ``counters`` (the ``counters.json`` shape: a value,
    or ``{label value: value}`` for a labelled counter), in the file's order."""
    rows = []
    for name, value in counters.items():
        kind, label, help_ = COUNTERS.get(name, ("", "", ""))
        base = prometheus_name(name, kind)
        if not isinstance(value, Mapping):
            rows.append(CounterRow(base, kind, number(value), help_))
        elif not value:
            rows.append(CounterRow(base, kind, None, help_))
        else:
            for k, v in value.items():
                metric = f'{base}{{{label or "label"}="{_label_value(str(k))}"}}'
                rows.append(CounterRow(metric, kind, number(v), help_))
    return rows


def number(v: Any) -> float | None:
    """``v`` as a finite float, else None."""
    if isinstance(v, bool):
        return float(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class KeyFigure(NamedTuple):
    label: str
    text: str  # as shown; DASH when the folder does not hold it
    tone: str  # "pos" | "neg" | "" (colours the figure)


def run_pnl_usdc(summary: Mapping[str, Any]) -> float | None:
    """Final equity minus initial cash, from the summary; None when either is missing."""
    end, start = (
        number(summary.get("Final equity [USDC]")),
        number(summary.get("Initial cash [USDC]")),
    )
    return None if end is None or start is None else end - start


def breaker_trips(breakers: pd.DataFrame) -> int | None:
    if "kind" not in breakers.columns:
        return None
    return int((breakers["kind"].astype(str) == "trip").sum())


def key_figures(run: RunFiles) -> list[KeyFigure]:
    """Return, P&L, max drawdown, final equity, orders, fills, refusals, halts, breaker
    trips, alerts. Formats: ``+1.23 %``, ``+1,234.50 USDC``, ``-0.45 %``, counts
    ``1,234``. A count the summary lacks comes from the counters (same meaning) or
    the table, else it is missing."""
    s, c = run.summary, run.counters
    pnl = run_pnl_usdc(s)
    ret, dd, eq = (number(s.get(k)) for k in ("Return [%]", "Max. Drawdown [%]",
                                               "Final equity [USDC]"))  # fmt: skip

    def tone(v: float | None) -> str:
        return "" if v is None or v == 0 else ("pos" if v > 0 else "neg")

    def count(key: str, counter: str, table: str | None = None) -> KeyFigure:
        v = number(s.get(key))
        if v is None and isinstance(c.get(counter), (int, float)):
            v = number(c[counter])
        if v is None and table == "breakers" and "breakers" in run.tables:
            v = breaker_trips(run.tables["breakers"])
        elif v is None and table is not None and table in run.tables:
            v = len(run.tables[table])
        return KeyFigure(key, DASH if v is None else f"{round(v):,}", "")

    refused = number(s.get("Refusals"))
    if refused is None and isinstance(c.get("refusals"), Mapping):
        refused = sum(number(v) or 0.0 for v in c["refusals"].values())
    return [
        KeyFigure("Return", DASH if ret is None else f"{ret:+.2f} %", tone(ret)),
        KeyFigure("P&L", DASH if pnl is None else f"{pnl:+,.2f} USDC", tone(pnl)),
        KeyFigure("Max. drawdown", DASH if dd is None else f"{dd:.2f} %", "neg" if dd else ""),
        KeyFigure("Final equity", DASH if eq is None else f"{eq:,.2f} USDC", ""),
        count("Orders", "orders", "orders"),
        count("Fills", "fills", "fills"),
        KeyFigure("Refusals", DASH if refused is None else f"{round(refused):,}", ""),
        count("Halts", "halts"),
        count("Breaker trips", "", "breakers"),
        count("Alerts", "alerts", "alerts"),
    ]


def halts(run: RunFiles) -> pd.DataFrame:
    """Kill-switch alerts (``time``, ``reason``): the halts the chart marks (as the
    validation report's baseline chart does)."""
    a = run.table("alerts")
    if not {"time", "kind", "message"} <= set(a.columns):
        return pd.DataFrame(columns=["time", "reason"])
    h = a[a["kind"].astype(str) == "kill_switch"][["time", "message"]]
    return h.rename(columns={"message": "reason"})


def refusals_by_reason(run: RunFiles) -> pd.DataFrame:
    """``reason``, ``count`` (and ``source``, the last ``message``) from the refusals
    table; from the ``refusals`` counter when the folder has no table. Most first."""
    r = run.table("refusals")
    if "reason" in r.columns:
        g = r.assign(reason=r["reason"].astype(str)).groupby("reason", sort=True)
        out = g.size().rename("count").to_frame()
        if "source" in r.columns:
            out["source"] = g["source"].agg(lambda s: ", ".join(sorted(set(map(str, s)))))
        if "message" in r.columns:
            out["last message"] = g["message"].last()
        return out.reset_index().sort_values("count", ascending=False, kind="stable")
    by = run.counters.get("refusals")
    if isinstance(by, Mapping) and by:
        rows = [(str(k), round(number(v) or 0.0)) for k, v in by.items()]
        out = pd.DataFrame(rows, columns=["reason", "count"])
        return out.sort_values("count", ascending=False, kind="stable")
    return pd.DataFrame(columns=["reason", "count"])


class PnlByMarket(NamedTuple):
    table: pd.DataFrame | None  # market, bought, sold, fees, held value, P&L [USDC]
    note: str  # why it is not shown, or how it was checked


def pnl_by_market(run: RunFiles) -> PnlByMarket:
    """Per market: sold minus bought minus fees (fills) plus what is still held at its
    last mark (positions). Shown only when it adds up to the run's P&L (summary):
    a market settled during the run pays out outside the fills table, and that P&L
    cannot be split by market from these files."""
    fills, pos = run.table("fills"), run.table("positions")
    need = {"market", "side", "notional_usdc", "fee_usdc"}
    if "fills" not in run.tables or not need <= set(fills.columns):
        return PnlByMarket(None, "not derivable: the folder has no fills table with "
                                 "market, side, notional and fee columns")  # fmt: skip
    if fills.empty:
        return PnlByMarket(None, "no fills: nothing was traded")
    if "positions" not in run.tables or not {"market", "value_usdc"} <= set(pos.columns):
        return PnlByMarket(None, "not derivable: the folder has no positions table (what is "
                                 "still held, at its last mark)")  # fmt: skip
    held = pd.to_numeric(pos["value_usdc"], errors="coerce")
    if held.isna().any():
        return PnlByMarket(None, "not derivable: a position has no mark price")
    signed = pd.to_numeric(fills["notional_usdc"], errors="coerce")
    side = fills["side"].astype(str).str.upper()
    market = fills["market"].astype(str)
    if "asset_id" in fills.columns:  # a fill of an asset no market names
        market = market.where(market != "", fills["asset_id"].astype(str))
    t = pd.DataFrame({
        "market": market,
        "bought_usdc": signed.where(side == "BUY", 0.0),
        "sold_usdc": signed.where(side == "SELL", 0.0),
        "fees_usdc": pd.to_numeric(fills["fee_usdc"], errors="coerce"),
    }).groupby("market").sum()  # fmt: skip
    held_by = held.groupby(pos["market"].astype(str)).sum()
    t = t.join(held_by.rename("held_value_usdc"), how="outer").fillna(0.0)
    t["pnl_usdc"] = t["sold_usdc"] - t["bought_usdc"] - t["fees_usdc"] + t["held_value_usdc"]
    if not np.isfinite(t.to_numpy(dtype=float)).all():
        return PnlByMarket(None, "not derivable: a fill has no notional or fee")
    t = t.reindex(t["pnl_usdc"].abs().sort_values(ascending=False, kind="stable").index)
    total, run_pnl = float(t["pnl_usdc"].sum()), run_pnl_usdc(run.summary)
    if run_pnl is None:
        return PnlByMarket(t.reset_index(), "not checked: summary.json holds no P&L")
    if abs(total - run_pnl) > max(0.01, 1e-9 * abs(run_pnl)):
        return PnlByMarket(None, f"not shown: fills and positions add up to {total:+,.2f} USDC "
                                 f"but the run's P&L is {run_pnl:+,.2f} USDC (a market "
                                 "settled, or cash moved outside the fills table)")  # fmt: skip
    return PnlByMarket(t.reset_index(), f"adds up to the run's P&L ({run_pnl:+,.2f} USDC)")
