"""Markdown and self-contained HTML renderings of the paper-validation report.

Both take the ``report`` dict and the plots (name -> PNG bytes); the Markdown links
``plots/<name>.png``, the HTML embeds them as base64 data URIs and has only inline CSS.
Missing keys render as "—" rather than raising.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

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


def evidence_items(evidence: Any) -> list[str]:
    """``["key=value", ...]`` in the evidence dict's order."""
    if not isinstance(evidence, Mapping):
        return [] if evidence in (None, "") else [str(evidence)]
    return [f"{k}={fmt_value(v)}" for k, v in evidence.items()]


def evidence_line(evidence: Any) -> str:
    return ", ".join(evidence_items(evidence))


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


def passed_line(report: Mapping[str, Any]) -> str:
    summ = report.get("summary") or {}
    cs = checks(report)
    passed = summ.get("checks_passed", len(cs) - len(failed_checks(report)))
    total = summ.get("checks_total", len(cs))
    return f"{passed}/{total} checks passed"


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
    return [
        ("Baseline P&L", f"{_fmt(g('baseline_pnl_usdc'), '+2')} USDC"),
        ("Baseline return", f"{_fmt(g('baseline_return_pct'), '+2')} %"),
        ("Baseline max drawdown", f"{_fmt(g('baseline_max_drawdown_pct'), '2')} %"),
        ("Fees", f"{_fmt(g('fees_usdc'), '2')} USDC"),
        ("Fills", _fmt(g("fills"), "i")),
        ("Slippage p50 / p95 / max", _slippage_line(s)),
        ("Checks", passed_line(report)),
    ]


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


def _check_md_rows(cs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    rows = []
    for c in cs:
        status = str(c.get("status", DASH)).upper()
        rows.append(
            [
                f"{_md_text(c.get('title') or c.get('name'))} (`{c.get('name', DASH)}`)",
                f"**{status}**" if status != "PASS" else status,
                _md_text(c.get("scenario", DASH)),
                _md_text(c.get("injects", DASH)),
                _md_text(c.get("requirement", DASH)),
                ", ".join(f"`{e}`" for e in evidence_items(c.get("evidence"))) or DASH,
            ]
        )
    return rows


#: what the verdict means, stated on every report so a GO is never read as "profitable"
SCOPE = (
    "The verdict judges readiness: whether every safety mechanism held under the injected "
    "faults (the checklist). It does not judge the strategy's edge; its P&L and drawdown "
    "are in the summary below."
)


def render_markdown(report: Mapping[str, Any], plot_names: Sequence[str]) -> str:
    v = verdict(report)
    failed = failed_checks(report)
    lines = [
        f"# Paper validation: {v}",
        "",
        f"**Verdict: {v}** — {passed_line(report)}.",
        "",
        f"_{SCOPE}_",
        "",
    ]
    if not is_go(report) or failed:
        lines += ["## Why NO-GO" if not is_go(report) else "## Failed checks", ""]
        if is_go(report):
            lines += ["Verdict is GO although these checks failed:", ""]
        if not failed:
            lines += ["No check failed; the verdict was set to NO-GO by the runner.", ""]
        for c in failed:
            lines.append(
                f"- **{_md_text(c.get('title') or c.get('name'))}** "
                f"(`{c.get('name', DASH)}`, scenario `{c.get('scenario', DASH)}`): required "
                f"{_md_text(c.get('requirement', DASH))}; injected "
                f"{_md_text(c.get('injects', DASH))}. Evidence: "
                + (", ".join(f"`{e}`" for e in evidence_items(c.get("evidence"))) or DASH)
            )
        lines.append("")
    lines += ["## What was run", ""]
    lines += _md_table(["", ""], [(f"**{k}**", val) for k, val in run_facts(report)])
    lines += ["", "## Readiness checklist", ""]
    cs = checks(report)
    if cs:
        header = ["check", "status", "scenario", "injects", "must hold", "evidence"]
        lines += _md_table(header, _check_md_rows(cs))
    else:
        lines.append("No checks were run.")
    lines += ["", "## Summary", ""]
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
figure{margin:16px 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:13px}
"""


_NUM = ' class="num"'


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _html_kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _html_evidence(evidence: Any) -> str:
    items = evidence_items(evidence)
    return "".join(f"<code>{_e(i)}</code> " for i in items).strip() or DASH


def _status_html(status: Any) -> str:
    s = str(status or DASH).upper()
    return f'<span class="{"pass" if s == "PASS" else "fail"}">{_e(s)}</span>'


def render_html(report: Mapping[str, Any], plots: Mapping[str, bytes]) -> str:
    v = verdict(report)
    go = is_go(report)
    failed = failed_checks(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Paper validation: {_e(v)}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Paper validation</h1>",
        f'<div class="verdict {"go" if go else "nogo"}">{_e(v)}</div>',
        f'<p class="sub">{_e(passed_line(report))} · strategy <code>'
        f"{_e(report.get('strategy', DASH))}</code></p>",
        f"<p><em>{_e(SCOPE)}</em></p>",
    ]
    if not go or failed:
        parts.append(f"<h2>{'Why NO-GO' if not go else 'Failed checks'}</h2>")
        parts.append('<div class="why">')
        if go:
            parts.append("<p>Verdict is GO although these checks failed:</p>")
        if not failed:
            parts.append("<p>No check failed; the verdict was set to NO-GO by the runner.</p>")
        else:
            parts.append("<ul>")
            for c in failed:
                parts.append(
                    f"<li><b>{_e(c.get('title') or c.get('name'))}</b> "
                    f"(<code>{_e(c.get('name', DASH))}</code>, scenario "
                    f"<code>{_e(c.get('scenario', DASH))}</code>)<br>"
                    f"required: {_e(c.get('requirement', DASH))}<br>"
                    f"injected: {_e(c.get('injects', DASH))}<br>"
                    f'<span class="ev">evidence: {_html_evidence(c.get("evidence"))}</span></li>'
                )
            parts.append("</ul>")
        parts.append("</div>")
    parts += ["<h2>What was run</h2>", _html_kv(run_facts(report))]

    parts.append("<h2>Readiness checklist</h2>")
    cs = checks(report)
    if cs:
        head = ["check", "status", "scenario", "injects", "must hold", "evidence"]
        parts.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
        for c in cs:
            ok = str(c.get("status", "")).upper() == "PASS"
            row_attr = "" if ok else ' class="failrow"'
            parts.append(
                f"<tr{row_attr}>"
                f"<td>{_e(c.get('title') or c.get('name'))}<br>"
                f"<code>{_e(c.get('name', DASH))}</code></td>"
                f"<td>{_status_html(c.get('status'))}</td>"
                f"<td>{_e(c.get('scenario', DASH))}</td>"
                f"<td>{_e(c.get('injects', DASH))}</td>"
                f"<td>{_e(c.get('requirement', DASH))}</td>"
                f'<td class="ev">{_html_evidence(c.get("evidence"))}</td></tr>'
            )
        parts.append("</table>")
    else:
        parts.append("<p>No checks were run.</p>")

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
