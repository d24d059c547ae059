"""Readiness report: files, JSON round trip, self-contained HTML, empty artifacts, plots."""

from __future__ import annotations

import copy
import html as html_lib
import io
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
from sim.report.markdown import render_markdown
from sim.report.page import render_html


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


# -- the two halves: safety (checks + settings audit), performance, run failures ---

_B = "validation.bounds."
_DEADLINE = "<= 10 s", _B + "max_deadline_s"
_LIMIT = "set (> 0)", "every limit must be set: 0 means no limit"
#: (setting, value and PASS in the weakened sample, value and PASS in the defaults' sample,
#: (bound, source)): the settings audit of the two sample reports
AUDIT = [
    ("executor.deadlines.place", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.cancel", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.cancel_all", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.get_order", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.open_orders", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.fills", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.deadlines.balance", 300.0, False, 5.0, True, _DEADLINE),
    ("executor.retry.max_attempts", 20, False, 4, True,
     ("2 .. 6", _B + "max_retry_attempts (1 would mean no retry)")),
    ("executor.retry.max_backoff_s", 8.0, True, 8.0, True, ("<= 30 s", _B + "max_backoff_s")),
    ("executor.max_slippage", 0.99, False, 0.02, True,
     ("<= 0.05 USDC/share", _B + "max_slippage_per_share")),
    ("executor.slippage_breaker_fills", 5, True, 5, True,
     ("> 0 (on)", "the slippage breaker must be on")),
    ("executor.feed_silence_s", 0.0, False, 0.0, False,
     ("0 < s <= 120 s", _B + "max_feed_silence_s (0 = watchdog off)")),
    ("executor.balance_ttl_s", 5.0, True, 5.0, True, ("<= 60 s", _B + "max_balance_ttl_s")),
    ("executor.limits.max_order_shares", 0.0, False, 1000.0, True, _LIMIT),
    ("executor.limits.max_position_shares_per_market", 0.0, False, 2000.0, True, _LIMIT),
    ("executor.limits.max_open_orders", 0, False, 50, True, _LIMIT),
    ("executor.limits.max_orders_per_day", 0, False, 2000, True, _LIMIT),
    ("executor.limits.max_order_usdc", 0.0, False, 250.0, True,
     ("0 < usdc <= 250 (25 % of 1000)", _B + "max_order_pct_of_bankroll")),
    ("executor.limits.max_total_position_usdc", 0.0, False, 1000.0, True,
     ("0 < usdc <= 1000 (100 % of 1000)", _B + "max_position_pct_of_bankroll")),
    ("risk.enabled", True, True, True, True, ("true", "breakers must be able to refuse")),
    ("risk.daily_loss_usdc", 1e12, False, 125.0, True,
     ("<= 250 (25 % of 1000)", _B + "max_daily_loss_pct_of_bankroll")),
    ("risk.min_bankroll_usdc", 0.0, False, 50.0, True,
     (">= 10 (1 % of 1000) and < 1000", _B + "min_bankroll_floor_pct")),
    ("risk.max_consecutive_losses", 1000000, False, 25, True,
     ("<= 50", _B + "max_consecutive_losses")),
    ("risk.daily_trade_limit", 10000000, False, 200, True, ("<= 10000", _B + "max_daily_trades")),
    ("risk.risk_per_trade", 0.04, True, 0.04, True, ("<= 0.1", _B + "max_risk_per_trade")),
    ("risk.kelly_fraction", 0.25, True, 0.25, True, ("<= 0.5", _B + "max_kelly_fraction")),
]  # fmt: skip

_A = "validation.acceptance."
#: (name, meaning, limit, source) of the acceptance criteria
CRITERIA = [
    ("return", "return over the days", ">= 0 %", _A + "min_return_pct"),
    ("drawdown", "deepest equity drawdown", "<= 10 %", _A + "max_drawdown_pct"),
    ("fees", "fees as a share of volume", "<= 3 % of volume", _A + "max_fees_pct_of_volume"),
    ("fills", "fills (evidence)", ">= 20 fills", _A + "min_fills"),
    ("refusals", "orders our own executor refused", "<= 20 %", _A + "max_refusal_rate_pct"),
]
#: the worst seed's value of each criterion and whether it passed, per sample
WORST = {
    True: ([-38.6693, 39.8849, 3.7784, 553.0, 0.0], [False, False, False, True, True]),
    False: ([-12.9152, 13.4671, 3.769, 199.0, 47.7922], [False, False, False, True, False]),
}

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "strategies/window_pair.py", line 88, in on_book\n'
    "    edge = fair / (ask - bid)\n"
    "ZeroDivisionError: float division by zero\n"
)
ERROR_LINE = "ZeroDivisionError: float division by zero (window_pair.py:88 in on_book)"


def _breaker(name: str, tested, yours, tested_at: str) -> dict:
    evidence = {"trips": 1, "first_value": tested, "threshold": tested,
                "risk_orders_after_trip": 0, "tested": tested, "yours": yours,
                "tested_at": tested_at}  # fmt: skip
    return {"name": name, "title": name, "status": "PASS", "scenario": name,
            "injects": "your limit, or a stand-in", "requirement": "trips at its threshold",
            "evidence": evidence}  # fmt: skip


def _halves_report(weak: bool) -> dict:
    """The parts of the two sample reports (weakened config, defaults) the renderers use."""
    i = 1 if weak else 3
    audit = [
        {"setting": a[0], "value": a[i], "bound": a[5][0],
         "status": "PASS" if a[i + 1] else "FAIL", "source": a[5][1]}
        for a in AUDIT
    ]  # fmt: skip
    worst, ok = WORST[weak]
    lines = [
        {"name": c[0], "meaning": c[1], "value": v, "limit": c[2], "per_seed": [v],
         "status": "PASS" if p else "FAIL", "source": c[3]}
        for c, v, p in zip(CRITERIA, worst, ok, strict=True)
    ]  # fmt: skip
    perf_why = "; ".join(
        f"{ln['meaning']} {ln['value']} (needs {ln['limit']})"
        for ln in lines
        if ln["status"] == "FAIL"
    )
    bad = [a for a in audit if a["status"] == "FAIL"]
    checks = [
        {"name": "strategy_errors", "title": "Strategy errors", "status": "PASS",
         "scenario": "baseline", "injects": "nothing: the fault-free run",
         "requirement": "no strategy callback raised",
         "evidence": {"runs": 16, "strategy_errors": 0}},
        {"name": "websocket_heartbeat", "title": "WebSocket heartbeat / silent feed",
         "status": "FAIL", "scenario": "ws_silent", "injects": "a silent feed",
         "requirement": "the injected silence detected",
         "evidence": {"injected": 1, "injected_silences_detected": 0, "feed_silence_s": 0.0,
                      "why": "the watchdog is off (executor.feed_silence_s = 0)"}},
        _breaker("breaker_daily_loss", 20.0, 1e12 if weak else 125.0, "a stand-in value"),
        _breaker("breaker_daily_trades", 10, 10000000 if weak else 200, "a stand-in value"),
    ]  # fmt: skip
    if weak:
        checks.insert(1, {"name": "slippage", "title": "Slippage", "status": "FAIL",
                          "scenario": "slippage", "injects": "a shock past your max_slippage",
                          "requirement": "a shock past your max_slippage was met",
                          "evidence": {"shock_per_share": 0.5, "max_slippage": 0.99}})  # fmt: skip
    failed = [c["name"] for c in checks if c["status"] == "FAIL"]
    why = (
        f"safety: {', '.join(failed)} failed; "
        + "; ".join(f"{a['setting']} = {a['value']} (needs {a['bound']})" for a in bad)
        + f"; performance: {perf_why}"
    )
    return {
        "verdict": "NO-GO",
        "why": why,
        "safety": {"verdict": "FAIL", "checks_failed": len(failed), "settings_failed": len(bad)},
        "performance": {"verdict": "FAIL", "lines": lines, "why": perf_why},
        "settings_audit": audit,
        "run_failures": [],
        "strategy": "window_pair:WindowPairAccumulator",
        "seeds": [1],
        "checks": checks,
        "runs": [{"scenario": "baseline", "seed": 1, "fills": int(worst[3])}],
        "summary": {
            "fills": int(worst[3]), "slippage_p50": None, "slippage_p95": None,
            "slippage_max": None, "slippage_n": 0,
            "checks_passed": len(checks) - len(failed), "checks_total": len(checks),
            "settings_passed": len(audit) - len(bad), "settings_total": len(audit),
        },
    }  # fmt: skip


def _with_run_failure(report: dict) -> dict:
    """``report`` after the strategy raised in the baseline run (and another run failed)."""
    report = copy.deepcopy(report)
    report["run_failures"] = [
        {"scenario": "baseline", "seed": 1, "line": ERROR_LINE, "traceback": TRACEBACK,
         "kind": "strategy"},
        {"scenario": "ws_silent", "seed": 1, "line": "MemoryError", "kind": "run",
         "traceback": "Traceback (most recent call last):\nMemoryError\n"},
    ]  # fmt: skip
    check = report["checks"][0]
    check["status"] = "FAIL"
    check["evidence"] = {"strategy_errors": 1, "first": f"baseline seed 1: {ERROR_LINE}",
                         "traceback": TRACEBACK}  # fmt: skip
    report["why"] = f"the strategy raised (baseline seed 1): {ERROR_LINE}; {report['why']}"
    return report


def _term(report: dict, width: int) -> str:
    console = Console(file=io.StringIO(), width=width)
    console.print(render_table(report))
    return console.file.getvalue()


def _words(text: str) -> str:
    """Text with the markup the outputs add around values undone."""
    return html_lib.unescape(text)


@pytest.mark.parametrize("weak", [True, False], ids=["weak", "default"])
def test_halves_render_everywhere(weak):
    report = _halves_report(weak)
    failing = [a["setting"] for a in report["settings_audit"] if a["status"] == "FAIL"]
    assert len(failing) == (20 if weak else 1)
    md = render_markdown(report, [])
    page = render_html(report, {})
    outs = {"md": _words(md), "html": _words(page)}
    for width in (80, 100, 150):
        outs[f"term{width}"] = _term(report, width)
    for where, out in outs.items():
        assert "…" not in out, where
        for setting in failing:
            assert setting in out, (where, setting)  # whole, on one line
        for ln in report["performance"]["lines"]:
            assert ln["meaning"] in out, (where, ln["meaning"])
        assert "tested_at" not in out and "stand-in" in out, where
        if where in ("md", "html", "term150"):  # at 80 columns the evidence wraps
            yours = "1000000000000" if weak else "125"
            assert f"tested a stand-in 20 (yours: {yours})" in out, where
    for where in ("term80", "term100", "term150"):
        out = outs[where]
        assert max(len(line) for line in out.splitlines()) <= int(where[4:])
        top = out.split("Readiness checklist")[0]  # the verdict comes first
        assert "Verdict: NO-GO" in top and "Safety" in top and "Performance" in top
        settings = f"{len(AUDIT) - len(failing)}/{len(AUDIT)} settings"
        assert re.search(rf"FAIL \(\d+/\d+ checks,\s+{settings}\)", top), where
        assert "Why NO-GO:" in top
    # the why line, right under the verdict
    assert md.index("**Why NO-GO:**") < md.index("## Why NO-GO")
    assert _words(report["why"]) in _words(md)
    assert html_lib.escape(report["why"]) in page
    assert page.index('class="whyline"') < page.index("<h2>Why NO-GO</h2>")
    met = 2 if weak else 1
    assert f"**FAIL** ({met}/5 criteria)" in md
    assert re.search(rf'class="fail">FAIL</span> \({met}/5 criteria\)', page)
    # settings audit and performance: tables with every row; FAIL rows marked
    assert "## Settings audit" in md and "## Performance (fault-free runs)" in md
    for a in report["settings_audit"]:
        row = f"| `{a['setting']}` |"
        assert row in md, a["setting"]
        line = md[md.index(row) :].splitlines()[0]
        assert ("| **FAIL** |" in line) == (a["status"] == "FAIL")
    assert page.count('<tr class="failrow"><td><code>executor.') == sum(
        s.startswith("executor.") for s in failing
    )
    assert "validation.acceptance.max_drawdown_pct" in md
    assert "| return over the days | `" in md
    # no run failed: no such section
    assert "Run failures" not in md and "Run failures" not in page
    assert "Run failures" not in outs["term100"]


def test_run_failure_with_traceback():
    report = _with_run_failure(_halves_report(False))
    md = render_markdown(report, [])
    page = render_html(report, {})
    # md: a section with the one-line error and the traceback in a fenced block
    section = md[md.index("## Run failures") : md.index("## Summary")]
    assert f"`{ERROR_LINE}`" in section and "`MemoryError`" in section
    assert "```text\n" + TRACEBACK + "```" in section
    assert "### baseline, seed 1: the strategy raised" in section
    # the traceback is not crammed into the evidence cell
    row = next(ln for ln in md.splitlines() if ln.startswith("| Strategy errors"))
    assert "Traceback" not in row and "traceback below" in row
    assert f"first=baseline seed 1: {ERROR_LINE}" in row
    assert md.count("Traceback (most recent call last)") == 2  # once per failed run
    # html: the same, the traceback in a <pre>; the evidence links to it
    assert f'<pre class="tb">{html_lib.escape(TRACEBACK.rstrip())}</pre>' in page
    assert page.count("Traceback (most recent call last)") == 2
    assert '<a href="#run-failures">traceback below</a>' in page
    assert '<h2 id="run-failures">Run failures</h2>' in page
    assert 'class="fail">FAIL</span> (2 failed)' in page
    # terminal: the lines, never the traceback
    for width in (80, 150):
        out = _term(report, width)
        assert "Run failures" in out and "…" not in out
        assert "MemoryError" in out and "Traceback" not in out
        assert "float division by zero" in out
    assert "traceback in report.md / report.html" in out  # in the evidence, at 150


def test_traceback_without_run_failure_goes_to_details():
    """A traceback in the evidence that no run failure shows still reaches the reader."""
    report = _with_run_failure(_halves_report(False))
    report["run_failures"] = []
    page = render_html(report, {})
    assert "<details><summary>traceback</summary>" in page
    assert html_lib.escape(TRACEBACK.rstrip()) in page
    assert "Run failures" not in page and "traceback below" not in page
    md = render_markdown(report, [])
    assert "## Run failures" in md and "### Check `strategy_errors`: traceback" in md
    assert TRACEBACK in md


def test_breaker_tested_your_setting_reads_plainly():
    check = _breaker("breaker_daily_loss", 125.0, 125.0, "your setting")
    report = {"verdict": "GO", "checks": [check]}
    md = render_markdown(report, [])
    assert "`tested your setting 125`" in md and "yours" not in md
    assert "tested your setting 125" in _term(report, 150)


def test_go_report_with_halves():
    report = _halves_report(False)
    for a in report["settings_audit"]:
        a["status"] = "PASS"
    for ln in report["performance"]["lines"]:
        ln["status"] = "PASS"
    for c in report["checks"]:
        c["status"] = "PASS"
    report |= {"verdict": "GO", "why": "", "safety": {"verdict": "PASS"}}
    report["performance"] |= {"verdict": "PASS", "why": ""}
    report["summary"] |= {"checks_passed": 4, "settings_passed": len(AUDIT)}
    md, page, out = render_markdown(report, []), render_html(report, {}), _term(report, 80)
    assert "Why" not in md and "Why" not in page and "Why" not in out
    assert "| **GO** | PASS (4/4 checks, 26/26 settings) | PASS (5/5 criteria) |" in md
    assert "FAIL" not in out


def test_old_report_without_the_halves_still_renders(tmp_path):
    report = _report()  # no verdict halves, settings audit, performance, run failures
    paths = write_report(report, {}, tmp_path)
    md, page = paths["md"].read_text(), paths["html"].read_text()
    assert "**Verdict: NO-GO** — 1/2 checks passed." in md
    for doc in (md, page):
        for absent in ("Settings audit", "Performance (fault-free", "Run failures"):
            assert absent not in doc
    out = _term(report, 80)
    assert "Readiness checklist: NO-GO" in out and "Verdict" not in out
    # a half-new report: performance missing its lines, no audit
    report |= {"safety": {"verdict": "FAIL"}, "performance": {"verdict": "FAIL",
               "why": "the fault-free run did not complete"}}  # fmt: skip
    md, out = render_markdown(report, []), _term(report, 80)
    assert "the fault-free run did not complete" in md and "Settings audit" not in md
    assert "the fault-free run did not complete" in out


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
