"""The validation report as Markdown (report.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sim.report.render import (
    _RUN_COLUMNS,
    DASH,
    PLOTS,
    _half,
    _status,
    check_tracebacks,
    checks,
    criteria_met,
    evidence_items,
    evidence_traceback,
    failed_parts,
    failure_what,
    fmt_per_seed,
    fmt_value,
    halves,
    has_halves,
    is_go,
    passed_line,
    perf_lines,
    run_facts,
    run_failures,
    run_rows,
    scope,
    settings_audit,
    settings_count,
    summary_rows,
    verdict,
    why_line,
)

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


def _why_md(report: Mapping[str, Any]) -> list[str]:
    """The "Why NO-GO" section (or "Failed checks" for a GO with failures)."""
    go = is_go(report)
    bad = failed_parts(report)
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


def _performance_md(report: Mapping[str, Any]) -> list[str]:
    perf = _half(report, "performance")
    out = ["## Performance (fault-free runs)", ""]
    lines = perf_lines(report)
    if not lines:
        why = perf.get("why") or "no criteria were judged"
        return [*out, f"Performance: {_md_status(perf.get('verdict'))}: {_md_text(why)}.", ""]
    out += [f"Performance: {_md_status(perf.get('verdict'))}, {criteria_met(lines)}.", ""]
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
