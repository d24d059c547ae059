"""Readiness report, the two halves: safety (checks + settings audit), performance, run
failures, in markdown, HTML and the terminal; older reports without the halves."""

from __future__ import annotations

import copy
import html as html_lib
import io
import re

import pytest
from rich.console import Console

from sim.report import render_table, write_report
from sim.report.markdown import render_markdown
from sim.report.page import render_html
from tests.test_report import _report

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
