"""The validation report as one self-contained HTML page (report.html)."""

from __future__ import annotations

import base64
import html
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sim.report.render import (
    _RUN_COLUMNS,
    DASH,
    PLOTS,
    _half,
    _status,
    checks,
    criteria_met,
    evidence_items,
    evidence_traceback,
    failed_parts,
    failure_what,
    fmt_per_seed,
    fmt_value,
    halves,
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
    bad = failed_parts(report)
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
    parts.append(f"<p>Performance: {verdict_}, {_e(criteria_met(lines))}.</p>")
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
