"""Markdown and self-contained HTML renderings of the paper-validation report.

Both take the ``report`` dict and the plots (name -> PNG bytes); the Markdown links
``plots/<name>.png``, the HTML embeds them as base64 data URIs and has only inline CSS.
Missing keys render as "—" rather than raising.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

#: (file stem, heading, one-line caption) in report order
PLOTS: tuple[tuple[str, str, str], ...] = (
    (
        "equity_drawdown",
        "Equity and drawdown (baseline)",
        "Dotted lines: breaker trips (per breaker); red dashed lines: kill-switch halts.",
    ),
    (
        "slippage",
        "Slippage of taker fills",
        "Excess paid per share over the price seen when the order was sent (positive = "
        "worse for us), taker fills pooled over the runs named in the title; p50, p95 and "
        "max marked, computed as the summary's slippage figures.",
    ),
    (
        "call_latency",
        "Call latency vs deadline",
        "Worst elapsed time per call kind over all scenarios (bar) against its deadline "
        "(black line); red bars went over.",
    ),
    (
        "fills_per_scenario",
        "Fills per scenario",
        "Fills (dark) and orders (light) per scenario, first seed.",
    ),
    (
        "pnl_by_market",
        "P&L by market (baseline)",
        "Top 20 markets by absolute P&L; green gains, red losses.",
    ),
)

DASH = "—"

_RUN_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (key, header, format)
    ("scenario", "scenario", "s"),
    ("seed", "seed", "i"),
    ("events", "events", "i"),
    ("wall_s", "wall", "dur"),
    ("orders", "orders", "i"),
    ("fills", "fills", "i"),
    ("refusals", "refusals", "i"),
    ("pnl_usdc", "P&L [USDC]", "+2"),
    ("return_pct", "return [%]", "+2"),
    ("max_drawdown_pct", "max DD [%]", "2"),
    ("fees_usdc", "fees [USDC]", "2"),
    ("halts", "halts", "i"),
    ("breaker_trips", "breaker trips", "i"),
    ("injected", "injected", "kv"),
)


# -- formatting ----------------------------------------------------------------


def fmt_value(v: Any) -> str:
    """An evidence value: bools lower-case, floats to 6 significant digits.

    Floats from 1e5 up keep their integer digits and up to two decimals (``1000230.5``,
    not ``1.00023e+06``): amounts in USDC must not lose digits to the rounding.
    """
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if 1e5 <= abs(v) < 1e15:
            return f"{v:.2f}".rstrip("0").rstrip(".")
        return f"{v:.6g}"
    return str(v)


#: breaker evidence that reads as one item: what was tested, and the user's own value
_TESTED_KEYS = ("tested", "yours", "tested_at")


def tested_item(evidence: Mapping[str, Any]) -> str:
    """``tested a stand-in 20 (yours: 125)`` or ``tested your setting 125``."""
    at = str(evidence.get("tested_at") or "").strip()
    tested = fmt_value(evidence.get("tested", evidence.get("yours")))
    yours = f" (yours: {fmt_value(evidence['yours'])})" if "yours" in evidence else ""
    if at == "your setting":
        return f"tested your setting {tested}"
    if at == "a stand-in value":
        return f"tested a stand-in {tested}{yours}"
    return f"tested {tested}" + (f" ({at})" if at else "") + yours


def evidence_items(evidence: Any) -> list[str]:
    """``["key=value", ...]`` in the evidence dict's order.

    A ``traceback`` is left out (see ``evidence_traceback``: each output shows it apart);
    a breaker's ``tested``/``yours``/``tested_at`` read as one item (``tested_item``).
    """
    if not isinstance(evidence, Mapping):
        return [] if evidence in (None, "") else [str(evidence)]
    out = []
    tested = "tested_at" in evidence
    for k, v in evidence.items():
        if k == "traceback":
            continue
        if tested and k in _TESTED_KEYS:
            if k == next(t for t in _TESTED_KEYS if t in evidence):
                out.append(tested_item(evidence))
            continue
        out.append(f"{k}={fmt_value(v)}")
    return out


def evidence_traceback(evidence: Any) -> str:
    """The evidence's ``traceback`` (a strategy error's), or ""."""
    if not isinstance(evidence, Mapping):
        return ""
    tb = evidence.get("traceback")
    return "" if tb in (None, "") else str(tb)


def evidence_line(evidence: Any, traceback_note: str = "traceback in report.md / report.html"):
    """The evidence on one line; a traceback is replaced by ``traceback_note``."""
    items = evidence_items(evidence)
    if evidence_traceback(evidence) and traceback_note:
        items.append(traceback_note)
    return ", ".join(items)


def fmt_duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return DASH
    if not math.isfinite(s):
        return DASH
    if s < 60:
        return f"{s:.1f} s"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m {sec:02d}s" if h else f"{m}m {sec:02d}s"


def _fmt(v: Any, how: str) -> str:
    if v is None:
        return DASH
    if how == "s":
        return str(v)
    if how == "dur":
        return fmt_duration(v)
    if how == "kv":
        return evidence_line(v) or DASH
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(f):
        return DASH
    if how == "i":
        return f"{round(f):,}"
    if how == "+2":
        return f"{f:+,.2f}"
    if how == "2":
        return f"{f:,.2f}"
    if how == "0":
        return f"{f:,.0f}"
    if how == "4":
        return f"{f:.4f}"
    return str(v)


def checks(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in report.get("checks") or () if isinstance(c, Mapping)]


def failed_checks(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in checks(report) if str(c.get("status", "")).upper() != "PASS"]


def verdict(report: Mapping[str, Any]) -> str:
    return str(report.get("verdict") or "NO-GO")


def is_go(report: Mapping[str, Any]) -> bool:
    return verdict(report).upper() == "GO"


def _status(v: Any) -> str:
    return str(v if v not in (None, "") else DASH).upper()


def checks_count(report: Mapping[str, Any]) -> tuple[Any, Any]:
    """(passed, total) checks, from the summary when it has them."""
    summ = report.get("summary") or {}
    cs = checks(report)
    passed = summ.get("checks_passed", len(cs) - len(failed_checks(report)))
    return passed, summ.get("checks_total", len(cs))


def passed_line(report: Mapping[str, Any]) -> str:
    passed, total = checks_count(report)
    return f"{passed}/{total} checks passed"


def _rows(report: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    rows = report.get(key)
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        return []
    return [r for r in rows if isinstance(r, Mapping)]


def _half(report: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    half = report.get(key)
    return half if isinstance(half, Mapping) else {}


def settings_audit(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The settings audit: one row per safety setting of the user's config."""
    return _rows(report, "settings_audit")


def failed_settings(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [a for a in settings_audit(report) if _status(a.get("status")) != "PASS"]


def settings_count(report: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """(passed, total) settings of the audit; None for a report without one."""
    summ = report.get("summary") or {}
    if "settings_passed" in summ and "settings_total" in summ:
        return summ["settings_passed"], summ["settings_total"]
    if "settings_audit" not in report:
        return None
    audit = settings_audit(report)
    return len(audit) - len(failed_settings(report)), len(audit)


def perf_lines(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The acceptance criteria judged on the fault-free runs."""
    return _rows(_half(report, "performance"), "lines")


def run_failures(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Runs that did not complete: a strategy callback raised, or the run failed."""
    return _rows(report, "run_failures")


def failure_what(f: Mapping[str, Any]) -> str:
    return "the strategy raised" if f.get("kind") == "strategy" else "the run failed"


def has_halves(report: Mapping[str, Any]) -> bool:
    """Whether the report judges safety and performance apart (newer reports)."""
    return "safety" in report or "performance" in report


def halves(report: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``[(label, PASS/FAIL, detail), ...]``: safety, performance, and failed runs if any.

    Empty for an older report without the two halves.
    """
    if not has_halves(report):
        return []
    safety = _half(report, "safety")
    checks_p, checks_t = checks_count(report)
    detail = f"{checks_p}/{checks_t} checks"
    settings = settings_count(report)
    if settings is not None:
        detail += f", {settings[0]}/{settings[1]} settings"
    if safety.get("verdict"):
        s_status = _status(safety["verdict"])
    else:
        ok = not failed_checks(report) and not failed_settings(report)
        s_status = "PASS" if ok else "FAIL"
    out = [("Safety", s_status, detail)]
    perf = _half(report, "performance")
    lines = perf_lines(report)
    if lines:
        met = sum(_status(ln.get("status")) == "PASS" for ln in lines)
        p_detail = f"{met}/{len(lines)} criteria"
    else:
        p_detail = str(perf.get("why") or "no criteria judged")
    out.append(("Performance", _status(perf.get("verdict")), p_detail))
    failures = run_failures(report)
    if failures:
        n = len(failures)
        out.append(("Runs", "FAIL", f"{n} failed"))
    return out


def halves_line(report: Mapping[str, Any]) -> str:
    """``Safety: FAIL (17/20 checks, 6/26 settings) | Performance: FAIL (2/5 criteria)``."""
    return " | ".join(f"{label}: {status} ({detail})" for label, status, detail in halves(report))


def why_line(report: Mapping[str, Any]) -> str:
    """Why it is NO-GO, in one line ("" when GO or when the report does not say)."""
    if is_go(report):
        return ""
    return str(report.get("why") or "").strip()


def fmt_per_seed(report: Mapping[str, Any], values: Any) -> str:
    """A criterion's value per seed: ``1: -3.2, 2: 0.5`` (seed numbers when they match)."""
    if not isinstance(values, Sequence) or isinstance(values, str):
        return DASH if values is None else fmt_value(values)
    seeds = report.get("seeds") or []
    if len(values) > 1 and len(seeds) == len(values):
        return ", ".join(f"{s}: {fmt_value(v)}" for s, v in zip(seeds, values, strict=True))
    return ", ".join(fmt_value(v) for v in values) or DASH


def check_tracebacks(report: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """(check, traceback) for check evidence whose traceback no run failure shows."""
    shown = {str(f.get("traceback") or "") for f in run_failures(report)}
    out = []
    for c in checks(report):
        tb = evidence_traceback(c.get("evidence"))
        if tb and tb not in shown:
            out.append((c, tb))
    return out


def run_facts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What was run, as (label, value) rows."""
    seeds = report.get("seeds") or []
    period = f"{report.get('start', DASH)} → {report.get('end', DASH)}"
    days = report.get("days")
    if days is not None:
        period += f" ({days} days)"
    runs = report.get("runs") or []
    scenarios = list(dict.fromkeys(str(r.get("scenario")) for r in runs if isinstance(r, Mapping)))
    rss = report.get("peak_rss_mb")
    return [
        ("Strategy", str(report.get("strategy", DASH))),
        ("Data", str(report.get("data", DASH))),
        ("Period", period),
        ("Seeds", ", ".join(str(s) for s in seeds) or DASH),
        (
            "Scenarios",
            f"{len(scenarios)}: {', '.join(scenarios)} ({len(runs)} runs)" if runs else "none",
        ),
        ("Wall time", fmt_duration(report.get("wall_s"))),
        ("Peak memory", f"{_fmt(rss, '0')} MB" if rss is not None else DASH),
        ("Generated", str(report.get("generated_at", DASH))),
    ]


def summary_rows(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    s = report.get("summary") or {}
    g = s.get
    rows = [
        ("Baseline P&L", f"{_fmt(g('baseline_pnl_usdc'), '+2')} USDC"),
        ("Baseline return", f"{_fmt(g('baseline_return_pct'), '+2')} %"),
        ("Baseline max drawdown", f"{_fmt(g('baseline_max_drawdown_pct'), '2')} %"),
        ("Fees", f"{_fmt(g('fees_usdc'), '2')} USDC"),
        ("Fills", _fmt(g("fills"), "i")),
        ("Slippage p50 / p95 / max", _slippage_line(s)),
        ("Checks", passed_line(report)),
    ]
    settings = settings_count(report)
    if settings is not None:
        rows.append(("Settings", f"{settings[0]}/{settings[1]} within their bounds"))
    lines = perf_lines(report)
    if lines:
        met = sum(_status(ln.get("status")) == "PASS" for ln in lines)
        rows.append(("Performance criteria", f"{met}/{len(lines)} met"))
    return rows


def _slippage_line(s: Mapping[str, Any]) -> str:
    """Per-fill excess of taker fills, as the slippage plot marks them."""
    line = " / ".join(_fmt(s.get(k), "4") for k in ("slippage_p50", "slippage_p95", "slippage_max"))
    line += " USDC/share over the price seen (positive = worse for us)"
    n = s.get("slippage_n")
    if n is not None:
        line += f"; {_fmt(n, 'i')} taker fills"
    return line


def run_rows(report: Mapping[str, Any]) -> list[list[str]]:
    return [
        [_fmt(r.get(k), how) for k, _, how in _RUN_COLUMNS]
        for r in report.get("runs") or ()
        if isinstance(r, Mapping)
    ]


# -- markdown -------------------------------------------------------------------


def _md_text(v: Any) -> str:
    """Free text for Markdown outside code spans: no raw HTML tags."""
    return str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md_cell(v: Any) -> str:
    s = str(v).replace("\r", " ").replace("\n", " ")
    return s.replace("\\", "\\\\").replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], right: set[int] = frozenset()):
    out = ["| " + " | ".join(_md_cell(h) for h in header) + " |"]
    out.append("|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|")
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _md_code(v: Any) -> str:
    """``v`` as a Markdown code span (longer fences when it holds backticks)."""
    text = str(v).replace("\r", " ").replace("\n", " ")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    if not run:
        return f"`{text}`"
    fence = "`" * (run + 1)
    return f"{fence} {text} {fence}"


def _md_status(status: Any) -> str:
    s = _status(status)
    return s if s == "PASS" else f"**{s}**"


def _md_fence(text: str, info: str = "text") -> list[str]:
    """A fenced code block around ``text``: the fence is longer than any backtick run in it."""
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, run + 1)
    return [f"{fence}{info}", *text.rstrip("\n").splitlines(), fence]


def _md_evidence(evidence: Any) -> str:
    items = [_md_code(e) for e in evidence_items(evidence)]
    if evidence_traceback(evidence):
        items.append("_traceback below, under Run failures_")
    return ", ".join(items) or DASH


def _check_md_rows(cs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for c in cs:
        rows.append(
            [
                f"{_md_text(c.get('title') or c.get('name'))} ({_md_code(c.get('name', DASH))})",
                _md_status(c.get("status")),
                _md_text(c.get("scenario", DASH)),
                _md_text(c.get("injects", DASH)),
                _md_text(c.get("requirement", DASH)),
                _md_evidence(c.get("evidence")),
            ]
        )
    return rows


#: what the verdict means, stated on every report so a GO is never read as "profitable"
SCOPE = (
    "The verdict judges readiness: whether every safety mechanism held under the injected "
    "faults (the checklist). It does not judge the strategy's edge; its P&L and drawdown "
    "are in the summary below."
)
#: the same for a report that judges safety and performance apart
SCOPE_HALVES = (
    "GO needs both halves. Safety: every mechanism held under its injected fault (the "
    "readiness checklist) and every safety setting of your config is within its bound "
    "(the settings audit). Performance: the fault-free runs meet the acceptance criteria. "
    "Meeting them on recorded data is not proof of an edge in live trading."
)


def scope(report: Mapping[str, Any]) -> str:
    return SCOPE_HALVES if has_halves(report) else SCOPE


class _Failed(NamedTuple):
    """What failed, for the "Why NO-GO" section."""

    runs: list[Mapping[str, Any]]
    checks: list[Mapping[str, Any]]
    settings: list[Mapping[str, Any]]
    criteria: list[Mapping[str, Any]]  # performance lines that failed
    performance: bool  # the performance half failed (possibly with no line to show)

    def any(self) -> bool:
        return bool(self.runs or self.checks or self.settings or self.performance)


def _failed(report: Mapping[str, Any]) -> _Failed:
    criteria = [ln for ln in perf_lines(report) if _status(ln.get("status")) != "PASS"]
    perf = _half(report, "performance")
    perf_failed = bool(criteria) or (bool(perf) and _status(perf.get("verdict")) != "PASS")
    return _Failed(
        run_failures(report), failed_checks(report), failed_settings(report), criteria, perf_failed
    )


def _why_md(report: Mapping[str, Any]) -> list[str]:
    """The "Why NO-GO" section (or "Failed checks" for a GO with failures)."""
    go = is_go(report)
    bad = _failed(report)
    if go and not bad.any():
        return []
    out = ["## Why NO-GO" if not go else "## Failed checks", ""]
    if go:
        out += ["Verdict is GO although these failed:", ""]
    if not bad.any():
        out += ["No check failed; the verdict was set to NO-GO by the runner.", ""]
        return out
    failed, settings, lines_bad = bad.checks, bad.settings, bad.criteria
    perf = _half(report, "performance")
    for f in bad.runs:
        out.append(
            f"- **Run did not complete**: {_md_text(failure_what(f))} in scenario "
            f"{_md_code(f.get('scenario', DASH))}, seed {_md_text(f.get('seed', DASH))}: "
            f"{_md_code(f.get('line', DASH))} (traceback under Run failures)"
        )
    for c in failed:
        out.append(
            f"- **{_md_text(c.get('title') or c.get('name'))}** "
            f"({_md_code(c.get('name', DASH))}, scenario {_md_code(c.get('scenario', DASH))}): "
            f"required {_md_text(c.get('requirement', DASH))}; injected "
            f"{_md_text(c.get('injects', DASH))}. Evidence: " + _md_evidence(c.get("evidence"))
        )
    if settings:
        n = settings_count(report)
        of = f" ({len(settings)} of {n[1]})" if n else ""
        out.append(f"- **Settings outside their bounds**{of}:")
        for a in settings:
            out.append(
                f"    - {_md_code(a.get('setting', DASH))} = "
                f"{_md_code(fmt_value(a.get('value')))}, bound {_md_text(a.get('bound', DASH))}"
            )
    if bad.performance:
        out.append("- **Performance criteria not met** (fault-free runs):")
        for ln in lines_bad:
            out.append(
                f"    - {_md_text(ln.get('meaning') or ln.get('name'))}: "
                f"{_md_code(fmt_value(ln.get('value')))} (limit {_md_text(ln.get('limit', DASH))})"
            )
        if not lines_bad:
            out.append(f"    - {_md_text(perf.get('why') or 'no criterion was judged')}")
    out.append("")
    return out


def _settings_md(report: Mapping[str, Any]) -> list[str]:
    audit = settings_audit(report)
    out = ["## Settings audit", ""]
    if not audit:
        return [*out, "No settings were audited.", ""]
    n = settings_count(report)
    if n is not None:
        out += [
            f"{n[0]}/{n[1]} safety settings of your config are within their bounds "
            "(a FAIL is a NO-GO on its own).",
            "",
        ]
    rows = [
        [
            _md_code(a.get("setting", DASH)),
            _md_code(fmt_value(a.get("value"))),
            _md_text(a.get("bound", DASH)),
            _md_status(a.get("status")),
            _md_text(a.get("source", DASH)),
        ]
        for a in audit
    ]
    out += _md_table(["setting", "value", "bound", "status", "source"], rows)
    return [*out, ""]


def _criteria_met(lines: Sequence[Mapping[str, Any]]) -> str:
    met = sum(_status(ln.get("status")) == "PASS" for ln in lines)
    return f"{met}/{len(lines)} criteria met on the fault-free runs; value: the worst seed"


def _performance_md(report: Mapping[str, Any]) -> list[str]:
    perf = _half(report, "performance")
    out = ["## Performance (fault-free runs)", ""]
    lines = perf_lines(report)
    if not lines:
        why = perf.get("why") or "no criteria were judged"
        return [*out, f"Performance: {_md_status(perf.get('verdict'))}: {_md_text(why)}.", ""]
    out += [f"Performance: {_md_status(perf.get('verdict'))}, {_criteria_met(lines)}.", ""]
    rows = [
        [
            _md_text(ln.get("meaning") or ln.get("name", DASH)),
            _md_code(fmt_value(ln.get("value"))),
            _md_text(ln.get("limit", DASH)),
            _md_text(fmt_per_seed(report, ln.get("per_seed"))),
            _md_status(ln.get("status")),
            _md_text(ln.get("source", DASH)),
        ]
        for ln in lines
    ]
    header = ["criterion", "value (worst seed)", "limit", "per seed", "status", "source"]
    out += _md_table(header, rows)
    return [*out, ""]


def _failures_md(report: Mapping[str, Any]) -> list[str]:
    failures = run_failures(report)
    orphans = check_tracebacks(report)
    if not (failures or orphans):
        return []
    out = ["## Run failures", ""]
    if failures:
        n = len(failures)
        out += [
            f"{n} run{'s' if n != 1 else ''} did not complete: a strategy callback raised "
            "(trading was halted and the run stopped) or the run itself failed. Either is a "
            "NO-GO.",
            "",
        ]
        rows = [
            [
                _md_text(f.get("scenario", DASH)),
                _md_text(f.get("seed", DASH)),
                _md_text(failure_what(f)),
                _md_code(f.get("line", DASH)),
            ]
            for f in failures
        ]
        out += [*_md_table(["scenario", "seed", "what", "error"], rows, {1}), ""]
    for f in failures:
        where = f"{_md_text(f.get('scenario', DASH))}, seed {_md_text(f.get('seed', DASH))}"
        out += [f"### {where}: {_md_text(failure_what(f))}", ""]
        tb = str(f.get("traceback") or "")
        out += (_md_fence(tb) if tb.strip() else ["No traceback was recorded."]) + [""]
    for c, tb in orphans:
        out += [f"### Check {_md_code(c.get('name', DASH))}: traceback", ""]
        out += [*_md_fence(tb), ""]
    return out


def render_markdown(report: Mapping[str, Any], plot_names: Sequence[str]) -> str:
    v = verdict(report)
    lines = [f"# Paper validation: {v}", ""]
    if has_halves(report):
        heads = ["verdict"] + [label.lower() for label, _, _ in halves(report)]
        cells = [f"**{v}**"] + [
            f"{_md_status(status)} ({detail})" for _, status, detail in halves(report)
        ]
        lines += [*_md_table(heads, [cells]), ""]
        why = why_line(report)
        if why:
            lines += [f"**Why {v}:** {_md_text(why)}", ""]
    else:
        lines += [f"**Verdict: {v}** — {passed_line(report)}.", ""]
    lines += [f"_{scope(report)}_", ""]
    lines += _why_md(report)
    lines += ["## What was run", ""]
    lines += _md_table(["", ""], [(f"**{k}**", val) for k, val in run_facts(report)])
    lines += ["", "## Readiness checklist", ""]
    cs = checks(report)
    if cs:
        header = ["check", "status", "scenario", "injects", "must hold", "evidence"]
        lines += _md_table(header, _check_md_rows(cs))
    else:
        lines.append("No checks were run.")
    lines.append("")
    if "settings_audit" in report:
        lines += _settings_md(report)
    if "performance" in report:
        lines += _performance_md(report)
    lines += _failures_md(report)
    lines += ["## Summary", ""]
    lines += _md_table(["", ""], [(f"**{k}**", val) for k, val in summary_rows(report)])
    lines += ["", "## Runs", ""]
    rows = run_rows(report)
    if rows:
        right = {i for i, (_, _, how) in enumerate(_RUN_COLUMNS) if how not in ("s", "kv")}
        lines += _md_table([h for _, h, _ in _RUN_COLUMNS], rows, right)
    else:
        lines.append("No runs.")
    lines += ["", "## Plots", ""]
    names = set(plot_names)
    for stem, heading, caption in PLOTS:
        if stem in names:
            lines += [f"### {heading}", "", f"![{heading}](plots/{stem}.png)", "", caption, ""]
    return "\n".join(lines).rstrip() + "\n"


# -- html -------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:0 auto;max-width:1200px;padding:24px;color:#222;line-height:1.4}
h1{margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
.verdict{display:inline-block;padding:10px 22px;border-radius:6px;color:#fff;font-size:28px;
 font-weight:700;letter-spacing:1px}
.go{background:#2e7d32}.nogo{background:#c62828}
.sub{color:#555;margin:8px 0 0 2px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{border:1px solid #ddd;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#2e7d32;font-weight:700}.fail{color:#c62828;font-weight:700}
tr.failrow{background:#fdecea}
code{background:#f4f4f4;padding:1px 4px;border-radius:3px;font-size:12px}
.ev code{display:inline-block;margin:1px 2px}
.why{background:#fdecea;border-left:5px solid #c62828;padding:8px 16px}
.why li{margin:6px 0}
table.halves td{font-size:16px;padding:8px 14px}
p.whyline{background:#fdecea;border-left:5px solid #c62828;padding:8px 16px}
td.src{color:#555;font-size:12px}
pre.tb{background:#f7f7f7;border:1px solid #ddd;padding:8px 12px;overflow-x:auto;font-size:12px;
 white-space:pre}
details summary{cursor:pointer}
figure{margin:16px 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:13px}
"""


_NUM = ' class="num"'


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _html_kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _html_evidence(evidence: Any, shown: Collection[str] = ()) -> str:
    """Evidence items as code chips; a traceback either links to the run failures
    section (when it shows it: ``shown``) or folds into a <details> block."""
    parts = [f"<code>{_e(i)}</code>" for i in evidence_items(evidence)]
    tb = evidence_traceback(evidence)
    if tb:
        if tb in shown:
            parts.append('<a href="#run-failures">traceback below</a>')
        else:
            parts.append(
                f'<details><summary>traceback</summary><pre class="tb">{_e(tb)}</pre></details>'
            )
    return " ".join(parts) or DASH


def _status_html(status: Any) -> str:
    s = str(status or DASH).upper()
    return f'<span class="{"pass" if s == "PASS" else "fail"}">{_e(s)}</span>'


def _row_attr(status: Any) -> str:
    return "" if _status(status) == "PASS" else ' class="failrow"'


def _html_table(head: Sequence[str], rows: Sequence[str]) -> str:
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table><tr>{header}</tr>\n" + "\n".join(rows) + "</table>"


def _halves_html(report: Mapping[str, Any]) -> list[str]:
    hs = halves(report)
    if not hs:
        strategy = _e(report.get("strategy", DASH))
        return [f'<p class="sub">{_e(passed_line(report))} · strategy <code>{strategy}</code></p>']
    cells = "".join(f"<td>{_status_html(st)} ({_e(detail)})</td>" for _, st, detail in hs)
    out = [
        '<table class="halves"><tr>'
        + "".join(f"<th>{_e(label)}</th>" for label, _, _ in hs)
        + f"</tr><tr>{cells}</tr></table>"
    ]
    why = why_line(report)
    if why:
        out.append(f'<p class="whyline"><b>Why {_e(verdict(report))}:</b> {_e(why)}</p>')
    out.append(f'<p class="sub">strategy <code>{_e(report.get("strategy", DASH))}</code></p>')
    return out


def _why_html(report: Mapping[str, Any], shown: Collection[str]) -> list[str]:
    go = is_go(report)
    bad = _failed(report)
    if go and not bad.any():
        return []
    parts = [f"<h2>{'Why NO-GO' if not go else 'Failed checks'}</h2>", '<div class="why">']
    if go:
        parts.append("<p>Verdict is GO although these failed:</p>")
    if not bad.any():
        parts.append("<p>No check failed; the verdict was set to NO-GO by the runner.</p>")
        return [*parts, "</div>"]
    failed, settings, lines_bad = bad.checks, bad.settings, bad.criteria
    perf = _half(report, "performance")
    parts.append("<ul>")
    for f in bad.runs:
        parts.append(
            f"<li><b>Run did not complete</b>: {_e(failure_what(f))} in scenario "
            f"<code>{_e(f.get('scenario', DASH))}</code>, seed {_e(f.get('seed', DASH))}: "
            f'<code>{_e(f.get("line", DASH))}</code> (<a href="#run-failures">traceback '
            "below</a>)</li>"
        )
    for c in failed:
        parts.append(
            f"<li><b>{_e(c.get('title') or c.get('name'))}</b> "
            f"(<code>{_e(c.get('name', DASH))}</code>, scenario "
            f"<code>{_e(c.get('scenario', DASH))}</code>)<br>"
            f"required: {_e(c.get('requirement', DASH))}<br>"
            f"injected: {_e(c.get('injects', DASH))}<br>"
            f'<span class="ev">evidence: {_html_evidence(c.get("evidence"), shown)}</span></li>'
        )
    if settings:
        n = settings_count(report)
        of = f" ({len(settings)} of {n[1]})" if n else ""
        items = "".join(
            f"<li><code>{_e(a.get('setting', DASH))}</code> = "
            f"<code>{_e(fmt_value(a.get('value')))}</code>, bound {_e(a.get('bound', DASH))}</li>"
            for a in settings
        )
        parts.append(
            f'<li><b>Settings outside their bounds</b>{_e(of)} (<a href="#settings-audit">'
            f"settings audit</a>):<ul>{items}</ul></li>"
        )
    if bad.performance:
        items = (
            "".join(
                f"<li>{_e(ln.get('meaning') or ln.get('name'))}: "
                f"<code>{_e(fmt_value(ln.get('value')))}</code> (limit {_e(ln.get('limit', DASH))})"
                "</li>"
                for ln in lines_bad
            )
            or f"<li>{_e(perf.get('why') or 'no criterion was judged')}</li>"
        )
        parts.append(
            '<li><b>Performance criteria not met</b> (<a href="#performance">fault-free '
            f"runs</a>):<ul>{items}</ul></li>"
        )
    parts += ["</ul>", "</div>"]
    return parts


def _settings_html(report: Mapping[str, Any]) -> list[str]:
    parts = ['<h2 id="settings-audit">Settings audit</h2>']
    audit = settings_audit(report)
    if not audit:
        return [*parts, "<p>No settings were audited.</p>"]
    n = settings_count(report)
    if n is not None:
        parts.append(
            f"<p>{_e(n[0])}/{_e(n[1])} safety settings of your config are within their "
            "bounds (a FAIL is a NO-GO on its own).</p>"
        )
    rows = [
        f"<tr{_row_attr(a.get('status'))}><td><code>{_e(a.get('setting', DASH))}</code></td>"
        f"<td{_NUM}>{_e(fmt_value(a.get('value')))}</td><td>{_e(a.get('bound', DASH))}</td>"
        f"<td>{_status_html(a.get('status'))}</td>"
        f'<td class="src">{_e(a.get("source", DASH))}</td></tr>'
        for a in audit
    ]
    return [*parts, _html_table(["setting", "value", "bound", "status", "source"], rows)]


def _performance_html(report: Mapping[str, Any]) -> list[str]:
    perf = _half(report, "performance")
    parts = ['<h2 id="performance">Performance (fault-free runs)</h2>']
    verdict_ = _status_html(perf.get("verdict"))
    lines = perf_lines(report)
    if not lines:
        why = perf.get("why") or "no criteria were judged"
        return [*parts, f"<p>Performance: {verdict_}: {_e(why)}.</p>"]
    parts.append(f"<p>Performance: {verdict_}, {_e(_criteria_met(lines))}.</p>")
    rows = [
        f"<tr{_row_attr(ln.get('status'))}>"
        f"<td>{_e(ln.get('meaning') or ln.get('name', DASH))}</td>"
        f"<td{_NUM}>{_e(fmt_value(ln.get('value')))}</td><td>{_e(ln.get('limit', DASH))}</td>"
        f"<td>{_e(fmt_per_seed(report, ln.get('per_seed')))}</td>"
        f"<td>{_status_html(ln.get('status'))}</td>"
        f'<td class="src">{_e(ln.get("source", DASH))}</td></tr>'
        for ln in lines
    ]
    head = ["criterion", "value (worst seed)", "limit", "per seed", "status", "source"]
    return [*parts, _html_table(head, rows)]


def _failures_html(report: Mapping[str, Any]) -> list[str]:
    """The runs that failed with their tracebacks (a traceback only the evidence holds
    folds into a <details> block in the evidence cell instead)."""
    failures = run_failures(report)
    if not failures:
        return []
    n = len(failures)
    parts = [
        '<h2 id="run-failures">Run failures</h2>',
        f"<p>{n} run{'s' if n != 1 else ''} did not complete: a strategy callback raised "
        "(trading was halted and the run stopped) or the run itself failed. Either is a "
        "NO-GO.</p>",
    ]
    rows = [
        f'<tr class="failrow"><td>{_e(f.get("scenario", DASH))}</td>'
        f"<td{_NUM}>{_e(f.get('seed', DASH))}</td><td>{_e(failure_what(f))}</td>"
        f"<td><code>{_e(f.get('line', DASH))}</code></td></tr>"
        for f in failures
    ]
    parts.append(_html_table(["scenario", "seed", "what", "error"], rows))
    for f in failures:
        parts.append(
            f"<h3>{_e(f.get('scenario', DASH))}, seed {_e(f.get('seed', DASH))}: "
            f"{_e(failure_what(f))}</h3>"
        )
        tb = str(f.get("traceback") or "")
        parts.append(
            f'<pre class="tb">{_e(tb.rstrip())}</pre>'
            if tb.strip()
            else "<p>No traceback was recorded.</p>"
        )
    return parts


def render_html(report: Mapping[str, Any], plots: Mapping[str, bytes]) -> str:
    v = verdict(report)
    go = is_go(report)
    # tracebacks the run failures section shows: evidence links there instead
    shown = {str(f.get("traceback") or "") for f in run_failures(report)} - {""}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Paper validation: {_e(v)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Paper validation</h1>",
        f'<div class="verdict {"go" if go else "nogo"}">{_e(v)}</div>',
        *_halves_html(report),
        f"<p><em>{_e(scope(report))}</em></p>",
    ]
    parts += _why_html(report, shown)
    parts += ["<h2>What was run</h2>", _html_kv(run_facts(report))]

    parts.append("<h2>Readiness checklist</h2>")
    cs = checks(report)
    if cs:
        head = ["check", "status", "scenario", "injects", "must hold", "evidence"]
        rows = [
            f"<tr{_row_attr(c.get('status'))}>"
            f"<td>{_e(c.get('title') or c.get('name'))}<br>"
            f"<code>{_e(c.get('name', DASH))}</code></td>"
            f"<td>{_status_html(c.get('status'))}</td>"
            f"<td>{_e(c.get('scenario', DASH))}</td>"
            f"<td>{_e(c.get('injects', DASH))}</td>"
            f"<td>{_e(c.get('requirement', DASH))}</td>"
            f'<td class="ev">{_html_evidence(c.get("evidence"), shown)}</td></tr>'
            for c in cs
        ]
        parts.append(_html_table(head, rows))
    else:
        parts.append("<p>No checks were run.</p>")

    if "settings_audit" in report:
        parts += _settings_html(report)
    if "performance" in report:
        parts += _performance_html(report)
    parts += _failures_html(report)

    parts += ["<h2>Summary</h2>", _html_kv(summary_rows(report))]

    parts.append("<h2>Runs</h2>")
    rows = run_rows(report)
    if rows:
        parts.append("<table><tr>" + "".join(f"<th>{_e(h)}</th>" for _, h, _ in _RUN_COLUMNS))
        parts.append("</tr>")
        for row in rows:
            cells = [
                f"<td{'' if how in ('s', 'kv') else _NUM}>{_e(val)}</td>"
                for val, (_, _, how) in zip(row, _RUN_COLUMNS, strict=True)
            ]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No runs.</p>")

    parts.append("<h2>Plots</h2>")
    for stem, heading, caption in PLOTS:
        png = plots.get(stem)
        if not png:
            continue
        b64 = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<figure><h3>{_e(heading)}</h3>"
            f'<img alt="{_e(heading)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_e(caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
