"""Plots of the paper-validation report: one function per plot, each returning a Figure.

Every function accepts empty or partially filled inputs (missing columns, empty frames,
``None``) and then draws a "no data" panel instead of raising. The figures are plain
``matplotlib.figure.Figure`` objects, outside pyplot: importing this module never
changes the user's backend (a notebook keeps its inline plots), nothing needs closing.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.labels import market_label

#: larger series are thinned (min and max kept per bucket) before plotting
MAX_POINTS = 4000
#: market labels longer than this are shortened in the P&L-by-market plot
MAX_LABEL = 42

_GREEN = "#2e7d32"
_RED = "#c62828"
_BLUE = "#1f5fa8"
_GREY = "#757575"


# -- helpers -----------------------------------------------------------------


def as_frame(obj: Any) -> pd.DataFrame:
    """``obj`` if it is a DataFrame, a Series as a one-column frame, else an empty frame."""
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.Series):
        return obj.to_frame()
    return pd.DataFrame()


def _no_data(ax, message: str = "no data") -> None:
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=13,
        color=_GREY,
    )
    ax.set_xticks([])
    ax.set_yticks([])


def _utc_naive(values: Any) -> pd.DatetimeIndex:
    """Datetimes (tz-aware or naive; naive read as UTC) as tz-naive UTC; bad values -> NaT."""
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Index(values), utc=True, errors="coerce"))
    return idx.tz_localize(None)


def _equity_frame(equity: Any) -> pd.DataFrame:
    """The equity frame indexed by tz-naive UTC time, sorted; empty if unusable."""
    df = as_frame(equity)
    if df.empty:
        return pd.DataFrame()
    if "time" in df.columns:
        df = df.set_index("time")
    try:
        idx = _utc_naive(df.index)
    except (TypeError, ValueError):
        return pd.DataFrame()
    df = df.set_axis(idx, axis=0)
    return df[df.index.notna()].sort_index()


def _thin(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS):
    """Keep the min and max of ``y`` per bucket so peaks/troughs survive thinning."""
    n = len(y)
    if n <= max_points:
        return x, y
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for lo, hi in itertools.pairwise(edges):
        if hi <= lo:
            continue
        seg = y[lo:hi]
        if np.all(np.isnan(seg)):
            keep.append(lo)
            continue
        a, b = lo + int(np.nanargmin(seg)), lo + int(np.nanargmax(seg))
        keep.extend(sorted({a, b}))
    sel = np.asarray(keep, dtype=np.int64)
    return x[sel], y[sel]


def _events(df: Any) -> pd.DataFrame:
    """Rows of an event frame (breakers/halts) with a parsed ``_t`` column, NaT dropped."""
    df = as_frame(df)
    if df.empty or "time" not in df.columns:
        return pd.DataFrame(columns=["_t"])
    out = df.assign(_t=_utc_naive(df["time"]))
    return out[out["_t"].notna()]


def _short(label: Any, limit: int = MAX_LABEL) -> str:
    """Shorten in the middle: slugs often differ only at the end (window timestamps)."""
    s = str(label)
    if len(s) <= limit:
        return s
    tail = (limit - 1) // 2
    return s[: limit - 1 - tail] + "…" + s[-tail:]


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """The figure rendered as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


# -- 1. equity and drawdown ---------------------------------------------------


def plot_equity_drawdown(equity: Any, breakers: Any = None, halts: Any = None) -> Figure:
    """Baseline equity (top) and drawdown (bottom), shared x axis.

    Breaker trips are vertical lines coloured and labelled per breaker; kill-switch
    halts are red dashed lines.
    """
    fig = Figure(figsize=(11, 6.5))
    ax_eq, ax_dd = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    ax_eq.set_title("Baseline equity and drawdown")
    eq = _equity_frame(equity)
    has_eq = not eq.empty and "equity_usdc" in eq.columns
    has_dd = not eq.empty and "drawdown_pct" in eq.columns
    x = eq.index.to_numpy() if not eq.empty else np.array([], dtype="datetime64[ns]")

    if has_eq:
        y = pd.to_numeric(eq["equity_usdc"], errors="coerce").to_numpy(dtype=float)
        ax_eq.plot(*_thin(x, y), color=_BLUE, lw=1.2, label="equity")
        if "cash_usdc" in eq.columns:
            c = pd.to_numeric(eq["cash_usdc"], errors="coerce").to_numpy(dtype=float)
            ax_eq.plot(*_thin(x, c), color=_GREY, lw=0.8, alpha=0.7, label="cash")
        ax_eq.set_ylabel("USDC")
        ax_eq.grid(alpha=0.3)
    else:
        _no_data(ax_eq, "no equity data")
    if has_dd:
        d = pd.to_numeric(eq["drawdown_pct"], errors="coerce").to_numpy(dtype=float)
        xd, yd = _thin(x, d)
        ax_dd.fill_between(xd, yd, 0.0, color=_RED, alpha=0.3, lw=0)
        ax_dd.plot(xd, yd, color=_RED, lw=0.8)
        ax_dd.set_ylabel("drawdown [%]")
        ax_dd.grid(alpha=0.3)
    else:
        _no_data(ax_dd, "no drawdown data")

    if has_eq or has_dd:
        _mark_events(ax_eq, ax_dd, breakers, halts)
        ax_dd.set_xlabel("time [UTC]")
        fig.autofmt_xdate()
    if has_eq:
        ax_eq.legend(loc="best", fontsize=8, framealpha=0.85)
    fig.tight_layout()
    return fig


def _mark_events(ax_eq, ax_dd, breakers: Any, halts: Any) -> None:
    trips = _events(breakers)
    if not trips.empty and "kind" in trips.columns:
        trips = trips[trips["kind"].astype(str).str.lower() == "trip"]
    names = (
        trips["breaker"].astype(str)
        if "breaker" in trips.columns
        else pd.Series("breaker", index=trips.index)
    )
    cmap = matplotlib.colormaps["tab10"]
    label_text = len(trips) <= 12  # text labels only while they stay readable
    for i, name in enumerate(sorted(names.unique())):
        colour = cmap(i % 10)
        times = trips.loc[names == name, "_t"]
        for j, t in enumerate(times):
            for ax in (ax_eq, ax_dd):
                ax.axvline(
                    t,
                    color=colour,
                    lw=1.0,
                    ls=":",
                    alpha=0.9,
                    label=f"breaker trip: {name}" if ax is ax_eq and j == 0 else None,
                )
            if label_text:
                ax_eq.annotate(
                    name,
                    xy=(t, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -2),
                    textcoords="offset points",
                    rotation=90,
                    va="top",
                    fontsize=7,
                    color=colour,
                )
    halt_rows = _events(halts)
    for j, t in enumerate(halt_rows["_t"]):
        for ax in (ax_eq, ax_dd):
            ax.axvline(
                t,
                color="red",
                lw=1.8,
                ls="--",
                label="kill-switch halt" if ax is ax_eq and j == 0 else None,
            )


# -- 2. slippage histogram ----------------------------------------------------

#: what the slippage numbers mean, on the plot and in the report summary
SLIPPAGE_AXIS = "excess paid per share vs the price seen [USDC/share] (positive = worse for us)"


def taker_slippage(fills: Iterable[Any]) -> np.ndarray:
    """Per-share excess of taker fills, pooled over the given fill frames.

    The excess is the ``slippage_per_share`` column of a fills frame: (fill price -
    price seen when the order was sent), sign-flipped for sells, so > 0 is worse for us;
    the same number as ``executor.slippage[i].excess_per_share``. Maker fills and fills
    without a price seen (NaN) are left out, as the executor does.
    """
    parts = []
    for f in fills:
        df = as_frame(f)
        if df.empty or "slippage_per_share" not in df.columns:
            continue
        if "liquidity" in df.columns:
            df = df[df["liquidity"].astype(str).str.lower() == "taker"]
        v = pd.to_numeric(df["slippage_per_share"], errors="coerce").to_numpy(dtype=float)
        parts.append(v[np.isfinite(v)])
    return np.concatenate(parts) if parts else np.array([], dtype=float)


def slippage_percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    """``{"p50", "p95", "max", "n"}`` of per-fill excess slippage [USDC/share].

    ``values`` are the per-fill excess values pooled over every run summarised (one
    number per taker fill, > 0 worse for us): e.g. ``taker_slippage(fills_frames)`` or
    ``[r.excess_per_share for r in executor.slippage]``. Non-finite values are dropped.
    Percentiles are numpy's default (linear interpolation). With no value, ``n`` is 0
    and the figures are ``None`` (rendered "—"), not 0: no taker fill is not "no
    slippage". The slippage plot and the report summary both use this function.
    """
    v = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    v = v[np.isfinite(v)].ravel()
    if v.size == 0:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    p50, p95 = np.percentile(v, [50, 95])
    return {"p50": float(p50), "p95": float(p95), "max": float(v.max()), "n": int(v.size)}


def plot_slippage(fills: Any, scope: str = "baseline + scenarios pooled") -> Figure:
    """Histogram of per-share excess of taker fills; p50, p95 and max marked.

    ``fills`` is one fills frame or an iterable of them, pooled. The marked figures are
    ``slippage_percentiles`` of exactly these values, printed as the report summary
    prints them (4 decimals). ``scope`` says in the title which runs were pooled.
    """
    frames = [fills] if isinstance(fills, pd.DataFrame) or fills is None else list(fills)
    values = taker_slippage(frames)
    fig = Figure(figsize=(9, 4.8))
    ax = fig.subplots()
    ax.set_title(f"Slippage of taker fills ({scope})")
    if values.size == 0:
        _no_data(ax, "no data: no taker fill")
        fig.tight_layout()
        return fig
    stats = slippage_percentiles(values)
    bins = int(min(60, max(10, np.sqrt(values.size))))
    counts, _, _ = ax.hist(values, bins=bins, color=_BLUE, alpha=0.75, edgecolor="white")
    log_y = counts.max() > 0.9 * values.size and np.count_nonzero(counts) > 1
    if log_y:  # one spike (usually at 0) would hide the tails on a linear axis
        ax.set_yscale("log")
    ax.axvline(0.0, color="black", lw=0.8)
    marks = (("p50", _GREEN, "-"), ("p95", _RED, "--"), ("max", "black", ":"))
    for key, colour, ls in marks:
        ax.axvline(stats[key], color=colour, lw=1.5, ls=ls, label=f"{key} = {stats[key]:.4f}")
    ax.set_xlabel(SLIPPAGE_AXIS)
    ax.set_ylabel("taker fills (log scale)" if log_y else "taker fills")
    ax.legend(title=f"n = {stats['n']:,} fills", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    for x, ha, text in (
        (0.01, "left", "\u2190 better for us"),
        (0.99, "right", "worse for us \u2192"),
    ):
        ax.text(x, 1.01, text, transform=ax.transAxes, ha=ha, va="bottom", fontsize=8, color=_GREY)
    fig.tight_layout()
    return fig


# -- 3. call latency vs deadline ---------------------------------------------


def worst_calls(calls: Mapping[str, Any] | Iterable[Any]) -> pd.DataFrame:
    """Per call kind: max ``max_elapsed_s``, ``deadline_s`` and summed ``over_deadline``."""
    frames = calls.values() if isinstance(calls, Mapping) else calls
    parts = []
    for c in frames:
        df = as_frame(c)
        if df.empty or "max_elapsed_s" not in df.columns:
            continue
        if "kind" in df.columns:
            df = df.set_index("kind")
        cols = [k for k in ("max_elapsed_s", "deadline_s", "over_deadline") if k in df.columns]
        sub = df[cols].apply(pd.to_numeric, errors="coerce")
        sub.index = sub.index.astype(str)
        parts.append(sub)
    if not parts:
        return pd.DataFrame(columns=["max_elapsed_s", "deadline_s", "over_deadline"])
    allc = pd.concat(parts)
    agg = {"max_elapsed_s": "max"}
    if "deadline_s" in allc.columns:
        agg["deadline_s"] = "max"
    if "over_deadline" in allc.columns:
        agg["over_deadline"] = "sum"
    out = allc.groupby(level=0, sort=True).agg(agg)
    return out.reindex(columns=["max_elapsed_s", "deadline_s", "over_deadline"])


def plot_call_latency(calls: Mapping[str, Any] | Iterable[Any]) -> Figure:
    """Per call kind, the worst elapsed time across scenarios (bar) vs its deadline (marker).

    ``calls`` maps scenario name -> calls frame (index call kind). Bars over the deadline
    are red and carry the number of over-deadline calls.
    """
    worst = worst_calls(calls)
    fig = Figure(figsize=(max(7, 1.1 * len(worst) + 3), 4.5))
    ax = fig.subplots()
    ax.set_title("Worst call latency vs deadline (max over scenarios)")
    if worst.empty:
        _no_data(ax)
        fig.tight_layout()
        return fig
    xs = np.arange(len(worst))
    elapsed = worst["max_elapsed_s"].to_numpy(dtype=float)
    deadline = worst["deadline_s"].to_numpy(dtype=float)
    over = np.nan_to_num(worst["over_deadline"].to_numpy(dtype=float))
    late = (elapsed > deadline) | (over > 0)
    colours = [_RED if bad else _BLUE for bad in late]
    ax.bar(xs, np.nan_to_num(elapsed), color=colours, width=0.6, label="worst elapsed")
    ok = np.isfinite(deadline)
    if ok.any():
        ax.hlines(
            deadline[ok],
            xs[ok] - 0.4,
            xs[ok] + 0.4,
            colors="black",
            lw=2.5,
            zorder=3,
            label="deadline",
        )
    for x, e, n in zip(xs, elapsed, over, strict=True):
        if n > 0 and np.isfinite(e):
            ax.annotate(
                f"{int(n)} late",
                xy=(x, e),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                fontsize=8,
                color=_RED,
            )
    ax.set_xticks(xs, [_short(k, 24) for k in worst.index], rotation=30, ha="right")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


# -- 4. fills per scenario ----------------------------------------------------


def first_seed_runs(runs: Sequence[Mapping[str, Any]], seeds: Sequence[int] = ()) -> list:
    """One run per scenario (first-appearance order): the first seed's run if present."""
    order = {s: i for i, s in enumerate(seeds)}
    best: dict[str, Mapping[str, Any]] = {}
    for r in runs or ():
        name = str(r.get("scenario", "?"))
        cur = best.get(name)
        if cur is None or order.get(r.get("seed"), len(order)) < order.get(
            cur.get("seed"), len(order)
        ):
            best[name] = r
    return list(best.values())


def plot_fills_per_scenario(runs: Sequence[Mapping[str, Any]], seeds: Sequence[int] = ()) -> Figure:
    """Fills (and orders, lighter) per scenario, first seed of each scenario."""
    rows = first_seed_runs(runs, seeds)
    fig = Figure(figsize=(max(7, 0.8 * len(rows) + 3), 4.5))
    ax = fig.subplots()
    ax.set_title("Fills per scenario (first seed)")
    if not rows:
        _no_data(ax)
        fig.tight_layout()
        return fig
    names = [str(r.get("scenario", "?")) for r in rows]
    fills = np.array([_num(r.get("fills")) for r in rows])
    orders = np.array([_num(r.get("orders")) for r in rows])
    xs = np.arange(len(rows))
    ax.bar(xs, orders, width=0.7, color=_BLUE, alpha=0.25, label="orders")
    bars = ax.bar(xs, fills, width=0.45, color=_BLUE, label="fills")
    ax.bar_label(bars, labels=[f"{int(v):,}" for v in fills], fontsize=8, padding=2)
    ax.set_xticks(xs, [_short(n, 28) for n in names], rotation=30, ha="right")
    ax.set_ylabel("count")
    ax.set_ylim(0, max(1.0, float(np.max(np.maximum(orders, fills)))) * 1.2)
    ax.legend(fontsize=9, ncols=2, loc="upper right")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return 0.0
    return f if np.isfinite(f) else 0.0


# -- 5. P&L by market ---------------------------------------------------------


def plot_pnl_by_market(pnl: Any, top: int = 20) -> Figure:
    """Baseline P&L per market: the ``top`` markets by |P&L|, green gains / red losses.

    ``pnl`` is indexed by market slug; window slugs are labelled by ``market_label``
    (series and UTC window) instead of their epoch suffix.
    """
    if isinstance(pnl, pd.DataFrame):
        pnl = pnl.iloc[:, 0] if pnl.shape[1] else pd.Series(dtype=float)
    s = pd.to_numeric(pnl, errors="coerce") if isinstance(pnl, pd.Series) else pd.Series()
    s = s[np.isfinite(s.to_numpy(dtype=float))] if len(s) else s
    fig_h = 2.0 + 0.32 * min(top, max(len(s), 4))
    fig = Figure(figsize=(10, fig_h))
    ax = fig.subplots()
    title = "Baseline P&L by market"
    if len(s) > top:
        title += f" (top {top} of {len(s)} by |P&L|)"
    ax.set_title(title)
    if s.empty:
        _no_data(ax)
        fig.tight_layout()
        return fig
    s = s.reindex(s.abs().sort_values(ascending=False).index[:top])
    s = s.iloc[::-1]  # largest |P&L| at the top
    ys = np.arange(len(s))
    vals = s.to_numpy(dtype=float)
    ax.barh(ys, vals, color=[_GREEN if v >= 0 else _RED for v in vals])
    labels = [market_label(m) for m in s.index]
    ax.set_yticks(ys, [_short(m) for m in labels], fontsize=8)
    if any(lab != str(m) for lab, m in zip(labels, s.index, strict=True)):
        ax.set_ylabel("market (window in UTC)")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("P&L [USDC]")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig
