"""Readiness report: files, JSON round trip, self-contained HTML, empty artifacts, plots.

The verdict's two halves (safety, performance) and run failures: ``test_report_halves``.
"""

from __future__ import annotations

import copy
import json
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from rich.console import Console
from rich.table import Table

from sim.report import plots, render_table, to_jsonable, write_report


def _report(verdict: str = "NO-GO") -> dict:
    return {
        "verdict": verdict,
        "strategy": "examples/mm_simple.py",
        "data": "data/sample",
        "days": 2,
        "start": "2025-01-01",
        "end": "2025-01-02",
        "seeds": [1, 2],
        "generated_at": "2025-01-03T10:00:00+00:00",
        "wall_s": 75.5,
        "peak_rss_mb": 512.25,
        "checks": [
            {
                "name": "api_timeouts",
                "title": "API timeouts",
                "status": "PASS",
                "scenario": "timeouts",
                "injects": "5 s stalls on 10% of calls",
                "requirement": "every call returned within its deadline",
                "evidence": {
                    "injected": 120,
                    "handled": 120,
                    "worst_call_s": 5.0,
                    "deadline_s": 5.0,
                    "duplicates": 0,
                },
            },
            {
                "name": "ws_disconnects",
                "title": "WebSocket <disconnects> & gaps",
                "status": "FAIL" if verdict == "NO-GO" else "PASS",
                "scenario": "disconnects",
                "injects": "feed drops | 30 s gaps",
                "requirement": "no order placed on a stale book",
                "evidence": {"injected": 7, "stale_orders": 3, "halted": False, "note": "a<b"},
            },
        ],
        "runs": [
            {
                "scenario": scen,
                "seed": seed,
                "events": 10_000,
                "wall_s": 12.5,
                "orders": 40 + seed,
                "fills": 10 + seed,
                "refusals": 1,
                "pnl_usdc": 12.34 - seed,
                "return_pct": 0.12,
                "max_drawdown_pct": -1.5,
                "fees_usdc": 0.8,
                "halts": 0,
                "breaker_trips": 1,
                "injected": {} if scen == "baseline" else {"timeout": 120},
            }
            for scen in ("baseline", "timeouts", "disconnects")
            for seed in (1, 2)
        ],
        "summary": {
            "baseline_pnl_usdc": 11.34,
            "baseline_return_pct": 0.11,
            "baseline_max_drawdown_pct": -1.5,
            "fees_usdc": 0.8,
            "fills": 11,
            "slippage_p50": 0.001,
            "slippage_p95": 0.004,
            "slippage_max": 0.01,
            "checks_passed": 1 if verdict == "NO-GO" else 2,
            "checks_total": 2,
        },
    }


def _section(offset: float = 0.0) -> dict:
    t = pd.date_range("2025-01-01", periods=50, freq="h", tz="UTC", name="time")
    equity = 1000 + np.cumsum(np.sin(np.arange(50)) * 3) + offset
    peak = np.maximum.accumulate(equity)
    eq = pd.DataFrame(
        {
            "cash_usdc": equity - 100,
            "positions_value_usdc": np.full(50, 100.0),
            "equity_usdc": equity,
            "drawdown_pct": (equity - peak) / peak * 100,
        },
        index=t,
    )
    fills = pd.DataFrame(
        {
            "time": t[:6],
            "market": ["m-a", "m-a", "m-b", "m-c", "m-b", "m-a"],
            "outcome": ["YES"] * 6,
            "side": ["BUY", "SELL"] * 3,
            "liquidity": ["taker", "maker", "taker", "taker", "maker", "taker"],
            "price": [0.5] * 6,
            "size_shares": [10.0] * 6,
            "notional_usdc": [5.0] * 6,
            "fee_usdc": [0.01] * 6,
            "slippage_per_share": [0.001, 0.0, 0.002, 0.004, 0.0, np.nan],
        }
    )
    breakers = pd.DataFrame(
        {
            "time": [t[10], t[20], t[30]],
            "breaker": ["max_drawdown", "max_drawdown", "stale_feed"],
            "kind": ["trip", "reset", "trip"],
            "value": [5.0, 1.0, 31.0],
            "threshold": [4.0, 4.0, 30.0],
        }
    )
    halts = pd.DataFrame({"time": [t[40]], "reason": ["kill switch: daily loss"]})
    calls = pd.DataFrame(
        {
            "calls": [100, 50],
            "attempts": [110, 50],
            "retries": [10, 0],
            "timeouts": [2, 0],
            "max_elapsed_s": [4.0 + offset, 0.5],
            "deadline_s": [5.0, 2.0],
            "over_deadline": [0 if offset < 1 else 1, 0],
        },
        index=pd.Index(["post_order", "cancel"], name="kind"),
    )
    pnl = pd.Series({"m-a": 3.5, "m-b": -1.25, "m-c": 0.5}, name="pnl_usdc")
    return {
        "equity": eq,
        "fills": fills,
        "breakers": breakers,
        "halts": halts,
        "calls": calls,
        "pnl_by_market": pnl,
    }


def _artifacts() -> dict:
    return {
        "baseline": _section(),
        "scenarios": {"timeouts": _section(2.0), "disconnects": _section(0.5)},
    }


def _empty_section() -> dict:
    return {
        "equity": pd.DataFrame(
            columns=["cash_usdc", "positions_value_usdc", "equity_usdc", "drawdown_pct"],
            index=pd.DatetimeIndex([], tz="UTC", name="time"),
        ),
        "fills": pd.DataFrame(columns=["time", "market", "liquidity", "slippage_per_share"]),
        "breakers": pd.DataFrame(columns=["time", "breaker", "kind", "value", "threshold"]),
        "halts": pd.DataFrame(columns=["time", "reason"]),
        "calls": pd.DataFrame(
            columns=["calls", "attempts", "retries", "timeouts", "max_elapsed_s", "deadline_s"]
        ),
        "pnl_by_market": pd.Series(dtype=float),
    }


def _why_section(md: str) -> str:
    m = re.search(r"## Why NO-GO\n(.*?)(?=\n## )", md, re.S)
    assert m, "no 'Why NO-GO' section"
    return m.group(1)


def test_write_report_files_and_json_round_trip(tmp_path):
    report = _report()
    before = copy.deepcopy(report)
    paths = write_report(report, _artifacts(), tmp_path)
    assert report == before  # input not mutated
    for key in ("md", "html", "json"):
        assert paths[key].is_file() and paths[key].parent == tmp_path
    names = ("equity_drawdown", "slippage", "call_latency", "fills_per_scenario", "pnl_by_market")
    assert {p.name for p in (tmp_path / "plots").glob("*.png")} == {f"{n}.png" for n in names}
    for name in names:
        assert paths[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = paths["json"].read_text()
    assert json.loads(text) == json.loads(json.dumps(report))
    assert text == json.dumps(report, indent=2) + "\n"


def test_html_is_self_contained(tmp_path):
    paths = write_report(_report(), _artifacts(), tmp_path)
    html = paths["html"].read_text()
    assert "data:image/png;base64," in html
    assert html.count("data:image/png;base64,") == 5
    lowered = html.lower()
    for bad in ('src="http', "src='http", 'href="http', "<link", "<script", "url(http", "@import"):
        assert bad not in lowered
    # text from the report is escaped
    assert "WebSocket &lt;disconnects&gt; &amp; gaps" in html
    assert "<disconnects>" not in html
    assert "note=a&lt;b" in html


def test_verdict_and_check_names_in_md_and_html(tmp_path):
    report = _report()
    paths = write_report(report, _artifacts(), tmp_path)
    md, html = paths["md"].read_text(), paths["html"].read_text()
    for doc in (md, html):
        assert "NO-GO" in doc
        for c in report["checks"]:
            assert c["name"] in doc
        for r in report["runs"]:
            assert r["scenario"] in doc
    assert 'class="verdict nogo"' in html
    for stem in ("equity_drawdown", "slippage", "call_latency", "fills_per_scenario"):
        assert f"(plots/{stem}.png)" in md
    assert "injected=120" in md and "worst_call_s=5" in md


def test_failed_check_listed_in_why_section(tmp_path):
    paths = write_report(_report(), _artifacts(), tmp_path)
    md = paths["md"].read_text()
    why = _why_section(md)
    assert "ws_disconnects" in why and "stale_orders=3" in why
    assert "api_timeouts" not in why
    # the why section comes before the checklist
    assert md.index("## Why NO-GO") < md.index("## Readiness checklist")
    html = paths["html"].read_text()
    why_html = html[html.index("<h2>Why NO-GO</h2>") : html.index("<h2>What was run</h2>")]
    assert "ws_disconnects" in why_html and "api_timeouts" not in why_html


def test_go_report_has_no_why_section(tmp_path):
    paths = write_report(_report("GO"), _artifacts(), tmp_path)
    md, html = paths["md"].read_text(), paths["html"].read_text()
    assert "Why NO-GO" not in md and "Why NO-GO" not in html
    assert 'class="verdict go"' in html
    assert "**Verdict: GO**" in md


@pytest.mark.parametrize(
    "artifacts",
    [
        {"baseline": _empty_section(), "scenarios": {"timeouts": _empty_section()}},
        {"baseline": {}, "scenarios": {}},
        {},
    ],
    ids=["empty-frames", "empty-sections", "no-keys"],
)
def test_empty_artifacts_still_render(tmp_path, artifacts):
    report = _report()
    report["runs"] = []
    paths = write_report(report, artifacts, tmp_path)
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == 5
    assert "No runs." in paths["md"].read_text()


def test_minimal_report_renders(tmp_path):
    paths = write_report({"verdict": "NO-GO", "checks": []}, {}, tmp_path)
    md = paths["md"].read_text()
    assert "NO-GO" in md and "No checks were run." in md
    assert json.loads(paths["json"].read_text()) == {"verdict": "NO-GO", "checks": []}


def test_to_jsonable_normalises_numpy_and_timestamps():
    ts = pd.Timestamp("2025-01-01T12:00:00", tz="UTC")
    out = to_jsonable(
        {"a": np.int64(3), "b": np.float32(0.5), "c": ts, "d": float("nan"), 4: (1, np.bool_(1))}
    )
    assert out == {"a": 3, "b": 0.5, "c": "2025-01-01T12:00:00+00:00", "d": None, "4": [1, True]}
    assert type(out["a"]) is int and type(out["4"][1]) is bool
    json.dumps(out, allow_nan=False)


def _tables(view) -> list[Table]:
    return [r for r in view.renderables if isinstance(r, Table)]


def test_render_table():
    report = _report()
    view = render_table(report)
    tables = _tables(view)  # an older report (no halves): the checklist alone
    assert len(tables) == 1 and tables[0].row_count == len(report["checks"])
    console = Console(record=True, width=200, color_system=None)
    console.print(view)
    out = console.export_text()
    assert "api_timeouts" in out and "ws_disconnects" in out
    assert "PASS" in out and "FAIL" in out and "NO-GO" in out
    assert "stale_orders=3" in out
    empty = render_table({"verdict": "GO"})
    assert [t.row_count for t in _tables(empty)] == [0]


# -- plot functions, populated and empty ----------------------------------------


def _figure_ok(fig) -> None:
    try:
        assert isinstance(fig, Figure)
        assert plots.figure_png(fig)[:4] == b"\x89PNG"
    finally:
        plt.close(fig)


def _has_text(fig, needle: str) -> bool:
    return any(needle in t.get_text() for ax in fig.axes for t in ax.texts)


def test_plot_equity_drawdown():
    s = _section()
    fig = plots.plot_equity_drawdown(s["equity"], s["breakers"], s["halts"])
    assert len(fig.axes) == 2
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "kill-switch halt" in labels
    assert "breaker trip: max_drawdown" in labels and "breaker trip: stale_feed" in labels
    assert not _has_text(fig, "no ")
    _figure_ok(fig)
    e = _empty_section()
    fig = plots.plot_equity_drawdown(e["equity"], e["breakers"], e["halts"])
    assert _has_text(fig, "no equity data")
    _figure_ok(fig)
    _figure_ok(plots.plot_equity_drawdown(None))


def test_plot_equity_thins_long_series():
    n = 50_000
    t = pd.date_range("2025-01-01", periods=n, freq="s", tz="UTC")
    eq = pd.DataFrame({"equity_usdc": np.linspace(0, 1, n), "drawdown_pct": -np.ones(n)}, index=t)
    eq.iloc[12_345, 1] = -50.0
    fig = plots.plot_equity_drawdown(eq)
    ydata = fig.axes[1].lines[0].get_ydata()
    assert len(ydata) <= plots.MAX_POINTS and ydata.min() == -50.0
    _figure_ok(fig)


def test_plot_slippage():
    fills = [_section()["fills"], _section()["fills"]]
    assert len(plots.taker_slippage(fills)) == 6  # 3 finite taker fills per frame
    fig = plots.plot_slippage(fills)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(lbl.startswith("p50") for lbl in labels)
    assert any(lbl.startswith("p95") for lbl in labels)
    _figure_ok(fig)
    fig = plots.plot_slippage([_empty_section()["fills"], None])
    assert _has_text(fig, "no data")
    _figure_ok(fig)
    _figure_ok(plots.plot_slippage(pd.DataFrame()))


def test_plot_call_latency():
    calls = {"baseline": _section()["calls"], "timeouts": _section(2.0)["calls"]}
    worst = plots.worst_calls(calls)
    assert worst.loc["post_order", "max_elapsed_s"] == 6.0
    assert worst.loc["post_order", "over_deadline"] == 1
    assert worst.loc["cancel", "deadline_s"] == 2.0
    _figure_ok(plots.plot_call_latency(calls))
    fig = plots.plot_call_latency({"baseline": _empty_section()["calls"], "x": None})
    assert _has_text(fig, "no data")
    _figure_ok(fig)


def test_plot_fills_per_scenario():
    report = _report()
    rows = plots.first_seed_runs(report["runs"], [1, 2])
    assert [(r["scenario"], r["seed"]) for r in rows] == [
        ("baseline", 1),
        ("timeouts", 1),
        ("disconnects", 1),
    ]
    _figure_ok(plots.plot_fills_per_scenario(report["runs"], report["seeds"]))
    fig = plots.plot_fills_per_scenario([])
    assert _has_text(fig, "no data")
    _figure_ok(fig)


def test_plot_pnl_by_market():
    pnl = pd.Series({f"market-{i}": (-1) ** i * i for i in range(30)}, dtype=float)
    fig = plots.plot_pnl_by_market(pnl)
    bars = fig.axes[0].patches
    assert len(bars) == 20
    assert min(abs(b.get_width()) for b in bars) == 10  # smallest of the top 20 by |P&L|
    _figure_ok(fig)
    fig = plots.plot_pnl_by_market(pd.Series(dtype=float))
    assert _has_text(fig, "no data")
    _figure_ok(fig)
    _figure_ok(plots.plot_pnl_by_market(None))
