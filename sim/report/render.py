"""What the Markdown (``markdown.py``) and HTML (``page.py``) renderings of the
paper-validation report share: reading facts out of the ``report`` dict (verdict, halves,
audit, criteria, failures) and formatting values. Missing keys render as "—" rather than
raising."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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


class FailedParts(NamedTuple):
    """What failed, for the "Why NO-GO" section."""

    runs: list[Mapping[str, Any]]
    checks: list[Mapping[str, Any]]
    settings: list[Mapping[str, Any]]
    criteria: list[Mapping[str, Any]]  # performance lines that failed
    performance: bool  # the performance half failed (possibly with no line to show)

    def any(self) -> bool:
        return bool(self.runs or self.checks or self.settings or self.performance)


def failed_parts(report: Mapping[str, Any]) -> FailedParts:
    criteria = [ln for ln in perf_lines(report) if _status(ln.get("status")) != "PASS"]
    perf = _half(report, "performance")
    perf_failed = bool(criteria) or (bool(perf) and _status(perf.get("verdict")) != "PASS")
    return FailedParts(
        run_failures(report), failed_checks(report), failed_settings(report), criteria, perf_failed
    )


def criteria_met(lines: Sequence[Mapping[str, Any]]) -> str:
    met = sum(_status(ln.get("status")) == "PASS" for ln in lines)
    return f"{met}/{len(lines)} criteria met on the fault-free runs; value: the worst seed"
