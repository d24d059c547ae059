"""Terminal tables never cut a value; slippage figures; market labels."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from sim.report import make_figures, market_label, plots, render_table, slippage_percentiles
from sim.report.labels import split_window_slug, window_period_s
from sim.report.markdown import render_markdown
from sim.report.page import render_html
from sim.report.render import summary_rows
from sim.report_tables import group_table, series_table

LONG_NOTE = "orders " + "-".join(f"cid{i:03d}" for i in range(40)) + " stayed open"

CHECKS = [
    {
        "name": "breaker_consecutive_losses",
        "status": "PASS",
        "scenario": "breaker_consecutive_losses",
        "evidence": {
            "trips": 1,
            "first_value": 20.0202,
            "threshold": 20,
            "risk_orders_after_trip": 0,
        },
    },
    {
        "name": "positions_reconcile",
        "status": "FAIL",
        "scenario": "baseline",
        "evidence": {
            "runs": 16,
            "max_position_gap_shares": 0.5,
            "orders_unknown_to_us": 0,
            "note": LONG_NOTE,
        },
    },
    {
        "name": "api_timeouts",
        "status": "PASS",
        "scenario": "api_timeouts",
        "evidence": {
            "injected": 4,
            "timeouts_seen": 4,
            "calls_over_deadline": 0,
            "worst_margin_s": 0.25,
            "doubled_orders": 0,
        },
    },
]
REPORT = {
    "verdict": "NO-GO",
    "checks": CHECKS,
    "summary": {"checks_passed": 2, "checks_total": 3},
}


def _render(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)  # not a terminal, as when piped
    assert not console.is_terminal
    console.print(renderable)
    return console.file.getvalue()


def _column(out: str, index: int) -> str:
    """Everything printed in body column ``index``, fragments joined without spaces."""
    body = out.split("┡", 1)[1]
    parts = []
    for line in body.splitlines():
        if line.startswith("│"):
            parts.append(line.split("│")[index + 1].strip())
    return "".join(parts).replace(" ", "")


def _items(evidence: dict) -> list[str]:
    from sim.report.render import fmt_value

    return [f"{k}={fmt_value(v)}" for k, v in evidence.items()]


# -- rich tables ------------------------------------------------------------------


def test_checklist_at_80_columns_shows_everything():
    out = _render(render_table(REPORT), 80)
    assert "…" not in out
    for c in CHECKS:
        assert c["name"] in out  # whole, on one line
        for item in _items(c["evidence"]):
            if item != f"note={LONG_NOTE}":
                assert item in out, item  # items short enough stay on one line
    evidence = _column(out, 2)
    for c in CHECKS:
        for item in _items(c["evidence"]):
            assert item.replace(" ", "") in evidence, item
    status = [line.split("│")[2].strip() for line in out.splitlines() if line.startswith("│")]
    assert [s for s in status if s] == ["PASS", "FAIL", "PASS"]
    assert "scenario: baseline" in out  # scenario shown when it is not the namesake
    assert "scenario: breaker_consecutive_losses" not in out


@pytest.mark.parametrize("width", [30, 40, 60, 100, 150, 250])
def test_checklist_never_ellipsised_at_any_width(width):
    out = _render(render_table(REPORT), width)
    assert "…" not in out
    assert out.count("PASS") == 2 and out.count("FAIL") == 1
    assert max(len(line) for line in out.splitlines()) <= width
    names = _column(out, 0)
    for c in CHECKS:
        assert c["name"] in names
    evidence = _column(out, 2)
    for c in CHECKS:
        for item in _items(c["evidence"]):
            assert item.replace(" ", "") in evidence, (width, item)


def test_checklist_piped_width_keeps_rows_on_one_line():
    """``clobsim validate ... | cat`` prints at 150 columns: names never cut."""
    out = _render(render_table(REPORT), 150)
    assert "breaker_consecutive_losses │  PASS  │ trips=1, first_value=20.0202" in out
    assert "…" not in out


def _markets() -> pd.DataFrame:
    rows = []
    for i in range(3):
        rows.append(
            {
                "market": f"btc-updown-15m-{1793577600 + 900 * i}",
                "events": 155_672,
                "trades": 28_964,
                "first_ns": 1793577600 * 10**9,
                "last_ns": 1793577600 * 10**9 + 3600 * 10**9,
                "spread [¢]": 0.85,
                "top-5 depth [shares]": 7_231_847.0,
                "resolution": "YES" if i else "NO",
            }
        )
    rows.append(
        {
            "market": "which-party-wins-2028-us-presidential-election-independent-candidate",
            "events": 826,
            "trades": 74,
            "first_ns": 1793577600 * 10**9,
            "last_ns": 1793577600 * 10**9 + 86_000 * 10**9,
            "spread [¢]": 0.11,
            "top-5 depth [shares]": 51_363.0,
            "resolution": "",
        }
    )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("width", [80, 100, 150])
def test_series_table_never_cut(width):
    out = _render(series_table(_markets()), width)
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= width
    for value in ("467,016", "86,892", "7,231,847", "51,363", "2/1", "open", "0.85"):
        assert value in out, value  # numbers whole, on one line
    market = _column(out, 0)
    assert "btc-updown-15m" in market
    assert "which-party-wins-2028-us-presidential-election-independent-candidate" in market
    header = out.split("┡", 1)[0]
    for word in ("top-5", "depth", "[shares]", "resolved", "YES/NO", "spread", "[¢]"):
        assert word in header


def test_group_table_never_cut():
    groups = pd.DataFrame(
        {
            "event_id": ["231390", "226871-long-event-identifier-that-must-stay-whole"],
            "outcomes": [4, 3],
            "sum<1 episodes": [3, 9],
            "sum<1 time [s]": [6.7, 28.954],
            "min sum of YES asks": [0.99, 0.994],
        }
    )
    out = _render(group_table(groups), 80)
    assert "…" not in out
    for value in ("6.700", "28.954", "0.990", "0.994"):
        assert value in out
    assert "226871-long-event-identifier-that-must-stay-whole" in _column(out, 0)
    header = out.split("┡", 1)[0]
    for word in ("episodes", "time", "[s]", "min", "asks"):
        assert word in header


# -- markdown / html: nothing cut -------------------------------------------------


def test_markdown_and_html_keep_long_evidence_whole():
    md = render_markdown(REPORT, [])
    page = render_html(REPORT, {})
    for text in (md, page):
        assert "…" not in text
        assert LONG_NOTE in text
        for c in CHECKS:
            assert c["name"] in text
            for item in _items(c["evidence"]):
                assert item in text


def test_large_evidence_floats_keep_their_digits():
    md = render_markdown(
        {"checks": [{"name": "x", "status": "PASS", "evidence": {"cash": 1000230.5}}]}, []
    )
    assert "cash=1000230.5" in md


# -- slippage ---------------------------------------------------------------------


def test_slippage_percentiles():
    out = slippage_percentiles([0.0, 0.01, np.nan, -0.02, 0.03, float("inf")])
    assert out["n"] == 4
    assert out["max"] == pytest.approx(0.03)
    assert out["p50"] == pytest.approx(np.percentile([0.0, 0.01, -0.02, 0.03], 50))
    assert out["p95"] == pytest.approx(np.percentile([0.0, 0.01, -0.02, 0.03], 95))
    assert slippage_percentiles(np.array([0.5]))["p95"] == 0.5
    assert slippage_percentiles([]) == {"p50": None, "p95": None, "max": None, "n": 0}
    assert slippage_percentiles(x for x in (1.0, 2.0))["n"] == 2
    assert all(type(v) in (float, int) for v in slippage_percentiles([0.1, 0.2]).values())


def _fills(values, liquidity=None) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {"liquidity": liquidity or ["TAKER"] * n, "slippage_per_share": values},
    )


def test_plot_slippage_marks_the_summary_figures_and_the_sign():
    frames = [_fills([0.0, 0.01, 0.02, np.nan]), _fills([0.05, -0.01], ["TAKER", "MAKER"])]
    stats = slippage_percentiles(plots.taker_slippage(frames))
    assert stats["n"] == 4  # NaN (no price seen) and the maker fill are left out
    fig = plots.plot_slippage(frames)
    try:
        ax = fig.axes[0]
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"{k} = {stats[k]:.4f}" for k in ("p50", "p95", "max")]
        assert ax.get_legend().get_title().get_text() == "n = 4 fills"
        assert "positive = worse for us" in ax.get_xlabel()
        assert "price seen" in ax.get_xlabel()
        lines = {round(ln.get_xdata()[0], 9) for ln in ax.get_lines()}
        assert {round(stats[k], 9) for k in ("p50", "p95", "max")} <= lines
    finally:
        plt.close(fig)
    summary = dict(summary_rows({"summary": {f"slippage_{k}": v for k, v in stats.items()}}))
    line = summary["Slippage p50 / p95 / max"]
    assert " / ".join(f"{stats[k]:.4f}" for k in ("p50", "p95", "max")) in line
    assert "positive = worse for us" in line and "4 taker fills" in line


def test_make_figures_pools_all_fills_when_given():
    first_seed = {"baseline": {"fills": _fills([0.0])}, "scenarios": {}}
    every_run = {**first_seed, "all_fills": [_fills([0.0]), _fills([0.02, 0.04])]}
    for artifacts, n, scope in ((first_seed, 1, "baseline + scenarios"), (every_run, 3, "all")):
        figs = make_figures({}, artifacts)
        try:
            ax = figs["slippage"].axes[0]
            assert ax.get_legend().get_title().get_text() == f"n = {n} fills"
            assert scope in ax.get_title()
        finally:
            for f in figs.values():
                plt.close(f)


# -- market labels ----------------------------------------------------------------


def test_market_label_windows():
    assert market_label("btc-updown-15m-1793577600") == "btc-updown-15m 2026-11-02 00:00-00:15"
    assert market_label("eth-updown-1h-1793577600") == "eth-updown-1h 2026-11-02 00:00-01:00"
    assert market_label("sol-updown-5m-1793578500") == "sol-updown-5m 2026-11-02 00:15-00:20"
    assert market_label("btc-updown-15m-1793663100") == "btc-updown-15m 2026-11-02 23:45-24:00"
    assert market_label("btc-updown-1d-1793577600") == (
        "btc-updown-1d 2026-11-02 00:00 - 2026-11-03 00:00"
    )
    # no period in the series: the start only
    assert market_label("will-it-rain-1793577600") == "will-it-rain 2026-11-02 00:00"
    # end_ns wins over the series' period; start_ns over the suffix
    start = 1793577600 * 10**9
    assert market_label("btc-updown-15m-1793577600", end_ns=start + 1800 * 10**9) == (
        "btc-updown-15m 2026-11-02 00:00-00:30"
    )
    assert market_label("btc-updown-15m-1793577600", start_ns=start + 30 * 10**9) == (
        "btc-updown-15m 2026-11-02 00:00:30-00:15:30"
    )
    assert market_label("x-1762041600") == "x 2025-11-02 00:00"


@pytest.mark.parametrize(
    "slug",
    [
        "xi-jinping-out-before-2027",
        "fed-decision-in-january-2027-25-bps-decrease",
        "btc-updown-15m-1793577600-2",  # de-duplicated slug: not a bare epoch suffix
        "btc-updown-15m-12345678",  # 8 digits
        "btc-updown-15m-123456789012",  # 12 digits
        "1793577600",  # no series
        "",
    ],
)
def test_market_label_leaves_other_slugs(slug):
    assert market_label(slug) == slug


def test_market_label_is_idempotent_and_helpers():
    label = market_label("btc-updown-15m-1793577600")
    assert market_label(label) == label
    assert split_window_slug("btc-updown-15m-1793577600") == ("btc-updown-15m", 1793577600)
    assert split_window_slug("btc-updown-15m") is None
    assert window_period_s("btc-updown-15m") == 900
    assert window_period_s("eth-updown-4h") == 4 * 3600
    assert window_period_s("btc-updown") is None
    assert dt.datetime.fromtimestamp(1793577600, dt.UTC).date() == dt.date(2026, 11, 2)


def test_pnl_by_market_ticks_use_market_labels():
    pnl = pd.Series(
        {"btc-updown-15m-1793577600": 3.0, "xi-jinping-out-before-2027": -1.0}, dtype=float
    )
    fig = plots.plot_pnl_by_market(pnl)
    try:
        ax = fig.axes[0]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert "btc-updown-15m 2026-11-02 00:00-00:15" in ticks
        assert "xi-jinping-out-before-2027" in ticks
        assert "UTC" in ax.get_ylabel()
    finally:
        plt.close(fig)
