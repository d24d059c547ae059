"""Rich tables for summaries printed in the terminal."""

from __future__ import annotations

import math
import re

import pandas as pd
from rich.markup import escape
from rich.table import Table

_WINDOW_SUFFIX = re.compile(r"-\d{9,}$")


def series_of(slug: str) -> str:
    """``btc-updown-15m-1793577600`` -> ``btc-updown-15m``; other slugs unchanged."""
    return _WINDOW_SUFFIX.sub("", slug)


def series_table(markets: pd.DataFrame) -> Table:
    """One row per market series: back-to-back windows are folded into one line."""
    table = Table(title="Replayed stream per market (windows of one series folded together)")
    for col in (
        "market",
        "markets",
        "events",
        "trades",
        "days",
        "spread [¢]",
        "top-5 depth [shares]",
        "resolved YES/NO",
    ):
        left = col == "market"
        table.add_column(escape(col), justify="left" if left else "right", no_wrap=left)
    if markets.empty:
        return table
    df = markets.assign(series=markets["market"].map(series_of))
    for series, g in df.groupby("series", sort=True):
        w = g["events"].to_numpy()
        yes = int((g["resolution"] == "YES").sum())
        no = int((g["resolution"] == "NO").sum())
        table.add_row(
            series,
            f"{len(g):,}",
            f"{int(w.sum()):,}",
            f"{int(g['trades'].sum()):,}",
            f"{_span_days(g):g}",
            _weighted(g["spread [¢]"], w, "{:.2f}"),
            _weighted(g["top-5 depth [shares]"], w, "{:,.0f}"),
            f"{yes}/{no}" if yes or no else "open",
        )
    return table


def _span_days(g: pd.DataFrame) -> float:
    """Days from the series' first event to its last, rounded up to whole days."""
    first = g["first_ns"][g["first_ns"] >= 0]
    if first.empty:
        return 0
    return math.ceil((int(g["last_ns"].max()) - int(first.min())) / 86_400e9)


def group_table(groups: pd.DataFrame) -> Table:
    table = Table(title="Multi-outcome (neg-risk) groups: sum of YES best asks")
    for col in groups.columns:
        table.add_column(escape(col), justify="left" if col == "event_id" else "right")
    for _, row in groups.iterrows():
        table.add_row(
            *[
                f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                for v in row.tolist()
            ]
        )
    return table


def _weighted(values: pd.Series, weights, fmt: str) -> str:
    v = values.to_numpy(dtype=float)
    ok = ~pd.isna(v)
    if not ok.any():
        return "-"
    return fmt.format(float((v[ok] * weights[ok]).sum() / weights[ok].sum()))
