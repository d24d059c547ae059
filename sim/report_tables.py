"""Rich tables for summaries printed in the terminal.

They never cut a value with "…", whatever the console width: text columns (market,
event id) wrap, splitting a word only when it does not fit; number columns keep each
value on one line and break their header into lines no wider than their widest value,
so only the text columns give up width on a narrow console.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Collection, Sequence

import pandas as pd
from rich.table import Table
from rich.text import Text

_WINDOW_SUFFIX = re.compile(r"-\d{9,}$")
#: number-column headers are broken into lines of at most this many characters (or
#: the column's widest value, if wider); a longer word stays whole
HEADER_WIDTH = 8

_SERIES_COLUMNS = (
    "market",
    "markets",
    "events",
    "trades",
    "days",
    "spread [¢]",
    "top-5 depth [shares]",
    "resolved YES/NO",
)


def series_of(slug: str) -> str:
    """``btc-updown-15m-1793577600`` -> ``btc-updown-15m``; other slugs unchanged."""
    return _WINDOW_SUFFIX.sub("", slug)


def fitted_table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], text: Collection[str]
) -> Table:
    """A left-aligned wrapping column per name in ``text``, right-aligned numbers otherwise.

    Number columns are ``no_wrap`` (Rich never shrinks them while a text column can
    still give up width) with their header broken at spaces into lines no wider than
    ``HEADER_WIDTH`` or the widest value, so the table stays narrow; text columns fold.
    Only a console narrower than the number columns themselves (about 75 columns for
    ``series_table``) makes Rich shorten a number.
    """
    table = Table(title=title)
    for i, col in enumerate(columns):
        if col in text:
            table.add_column(Text(col), justify="left", overflow="fold")
            continue
        widest = max((len(str(r[i])) for r in rows), default=0)
        header = "\n".join(textwrap.wrap(col, max(widest, HEADER_WIDTH))) or col
        table.add_column(Text(header), justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*(Text(str(v)) for v in row))
    return table


def series_table(markets: pd.DataFrame) -> Table:
    """One row per market series: back-to-back windows are folded into one line."""
    rows: list[list[str]] = []
    if not markets.empty:
        df = markets.assign(series=markets["market"].map(series_of))
        for series, g in df.groupby("series", sort=True):
            w = g["events"].to_numpy()
            yes = int((g["resolution"] == "YES").sum())
            no = int((g["resolution"] == "NO").sum())
            rows.append(
                [
                    str(series),
                    f"{len(g):,}",
                    f"{int(w.sum()):,}",
                    f"{int(g['trades'].sum()):,}",
                    f"{_span_days(g):g}",
                    _weighted(g["spread [¢]"], w, "{:.2f}"),
                    _weighted(g["top-5 depth [shares]"], w, "{:,.0f}"),
                    f"{yes}/{no}" if yes or no else "open",
                ]
            )
    return fitted_table(
        "Replayed stream per market (windows of one series folded together)",
        _SERIES_COLUMNS,
        rows,
        text={"market"},
    )


def _span_days(g: pd.DataFrame) -> float:
    """Days from the series' first event to its last, rounded up to whole days."""
    first = g["first_ns"][g["first_ns"] >= 0]
    if first.empty:
        return 0
    return math.ceil((int(g["last_ns"].max()) - int(first.min())) / 86_400e9)


def group_table(groups: pd.DataFrame) -> Table:
    rows = [
        [
            f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
            for v in row.tolist()
        ]
        for _, row in groups.iterrows()
    ]
    return fitted_table(
        "Multi-outcome (neg-risk) groups: sum of YES best asks",
        [str(c) for c in groups.columns],
        rows,
        text={"event_id"},
    )


def _weighted(values: pd.Series, weights, fmt: str) -> str:
    v = values.to_numpy(dtype=float)
    ok = ~pd.isna(v)
    if not ok.any():
        return "-"
    return fmt.format(float((v[ok] * weights[ok]).sum() / weights[ok].sum()))
