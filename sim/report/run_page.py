"""One finished run's folder as a self-contained HTML page: what ``clobsim report`` writes.

``render_run_html(run)`` renders a ``sim.run_files.RunFiles`` (backtest, paper or live;
see docs/report.md for the sections); a ``clobsim validate`` folder (``report.json``)
is re-rendered by the validation report's own renderer (``sim.report.page``), with the
plots it wrote. ``write_run_report(run_dir, out)`` reads the folder and writes the page
(default ``RUN_DIR/report.html``). Every value from the folder is HTML-escaped; the chart
is an inline base64 PNG, so the page makes no request of its own.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.report import plots
from sim.report.labels import market_label
from sim.report.page import _CSS, _e, render_html
from sim.report.render import DASH, PLOTS, fmt_duration, fmt_value
from sim.report.run_facts import (
    counter_rows,
    halts,
    key_figures,
    pnl_by_market,
    refusals_by_reason,
)
from sim.run_files import RunFiles, read_run

#: the last fills shown; the rest are in the folder's fills table
LAST_FILLS = 50
#: rows shown of the alerts, breakers and positions tables (the last ones)
MAX_ROWS = 200

_RUN_CSS = """
.badge{display:inline-block;padding:4px 14px;border-radius:4px;color:#fff;font-weight:700;
 text-transform:uppercase;letter-spacing:1px;font-size:15px;vertical-align:middle}
.k-backtest{background:#5e35b1}.k-paper{background:#ef6c00}.k-live{background:#c62828}
.figs{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;
 margin:12px 0}
.fig{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
.fig .l{color:#555;font-size:13px}.fig .v{font-size:21px;font-weight:700;
 font-variant-numeric:tabular-nums}
.pos{color:#2e7d32}.neg{color:#c62828}
.err{background:#fdecea;border-left:5px solid #c62828;padding:8px 16px}
.note{color:#555;font-size:13px}
.wide{overflow-x:auto;max-width:100%}
"""


# -- values -------------------------------------------------------------------------


def _time(ts: Any) -> str:
    """A UTC time to the millisecond (``2026-11-02 01:00:00.005``)."""
    t = pd.Timestamp(ts)
    if pd.isna(t):
        return DASH
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _cell(v: Any) -> tuple[str, bool]:
    """``(text, numeric)`` of a table value."""
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return DASH, False
    if isinstance(v, (pd.Timestamp, dt.datetime, np.datetime64)):
        return _time(v), False
    if isinstance(v, (bool, np.bool_)):
        return ("true" if v else "false"), False
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}", True
    if isinstance(v, (float, np.floating)):
        return fmt_value(float(v)), True
    return str(v), False


def _summary_value(key: str, v: Any) -> str:
    """A summary figure. ``summary.json`` holds Start and End as epoch milliseconds and
    the Duration in milliseconds (pandas' JSON); they are shown as UTC
    time and minutes and seconds."""
    if key in ("Start", "End") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{_time(pd.Timestamp(int(v), unit='ms', tz='UTC'))} UTC"
    if key == "Duration" and isinstance(v, (int, float)) and not isinstance(v, bool):
        return fmt_duration(v / 1000)
    if isinstance(v, float):
        return fmt_value(v)
    return _cell(v)[0] if not isinstance(v, str) else v


def _meta_value(key: str, v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    if key.endswith("_ns") and isinstance(v, int) and not isinstance(v, bool):
        return f"{v} ({_time(pd.Timestamp(v, unit='ns', tz='UTC'))} UTC)"
    return _cell(v)[0]


# -- html pieces ----------------------------------------------------------------------


def _kv(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _frame(df: pd.DataFrame, index: str | None = None, last: int | None = None) -> str:
    """``df`` as an HTML table (the index as the first column, headed ``index``); only
    its ``last`` rows when given, with a line saying how many were left out."""
    if index is not None:
        df = df.rename_axis(index).reset_index()
    note = ""
    if last is not None and len(df) > last:
        note = f'<p class="note">The last {last:,} of {len(df):,} rows.</p>'
        df = df.iloc[-last:]
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    # ids (a token id read back from CSV is a number) are shown as they are, no commas
    ids = [str(c).endswith("_id") for c in df.columns]
    rows = []
    for rec in df.itertuples(index=False, name=None):
        cells = []
        for v, is_id in zip(rec, ids, strict=True):
            text, num = _cell(v)
            if is_id and text != DASH:
                text, num = str(v), False
            cells.append(f"<td{' class=num' if num else ''}>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"
    return f'{note}<div class="wide">{table}</div>'


def _table_section(run: RunFiles, name: str, title: str, empty: str, **kw: Any) -> list[str]:
    parts = [f'<h2 id="{name}">{_e(title)}</h2>']
    if name not in run.tables:
        return [*parts, f"<p>The folder has no {_e(name)} table.</p>"]
    df = run.tables[name]
    return [*parts, f"<p>{_e(empty)}</p>" if df.empty else _frame(df, **kw)]


def _figures_html(run: RunFiles) -> list[str]:
    boxes = "".join(
        f'<div class="fig"><div class="l">{_e(f.label)}</div>'
        f'<div class="v {f.tone}">{_e(f.text)}</div></div>'
        for f in key_figures(run)
    )
    parts = ['<h2 id="figures">Key figures</h2>', f'<div class="figs">{boxes}</div>']
    if not run.summary:
        parts.append(
            '<p class="note">The folder has no summary.json: return, P&amp;L and '
            "drawdown are not known; counts come from the counters or tables.</p>"
        )
    return parts


def equity_png(run: RunFiles) -> bytes | None:
    """The equity and drawdown chart (``sim.report.plots``) as PNG, breaker trips and
    kill-switch halts marked; None when the folder has no equity rows."""
    eq = run.table("equity")
    if eq.empty:
        return None
    fig = plots.plot_equity_drawdown(eq, run.table("breakers"), halts(run))
    fig.axes[0].set_title("Equity and drawdown")
    return plots.figure_png(fig, dpi=100)  # 1,100 px: shown unscaled in the page


def _chart_html(run: RunFiles) -> list[str]:
    parts = ['<h2 id="equity">Equity and drawdown</h2>']
    png = equity_png(run)
    if png is None:
        return [*parts, "<p>The folder has no equity rows to chart.</p>"]
    b64 = base64.b64encode(png).decode("ascii")
    return [
        *parts,
        f'<figure><img alt="equity and drawdown" src="data:image/png;base64,{b64}">'
        "<figcaption>Equity (blue) and cash (grey) in USDC; drawdown from the running "
        "peak below. Dotted lines: breaker trips; red dashed lines: kill-switch halts."
        "</figcaption></figure>",
    ]


def _counters_html(run: RunFiles) -> list[str]:
    parts = [
        '<h2 id="counters">Counters</h2>',
        '<p class="note">At the run\'s end, under the names a paper or live run exports on '
        "<code>/metrics</code> (a counter's samples end in <code>_total</code>).</p>",
    ]
    rows = counter_rows(run.counters)
    if not rows:
        return [*parts, "<p>The folder has no counters.json.</p>"]
    body = "".join(
        f"<tr><td><code>{_e(r.metric)}</code></td><td>{_e(r.kind or 'unknown')}</td>"
        f"<td class=num>{_e(DASH if r.value is None else fmt_value(r.value))}</td>"
        f"<td>{_e(r.help or DASH)}{'' if r.value is not None else ' (none counted)'}</td></tr>"
        for r in rows
    )
    head = "<tr><th>metric</th><th>type</th><th>value</th><th>meaning</th></tr>"
    return [*parts, f"<table>{head}{body}</table>"]


def _pnl_html(run: RunFiles) -> list[str]:
    parts = ['<h2 id="pnl-by-market">P&amp;L by market</h2>']
    pnl = pnl_by_market(run)
    if pnl.table is None:
        return [*parts, f"<p>{_e(pnl.note)}</p>"]
    t = pnl.table.assign(market=pnl.table["market"].map(market_label))
    t = t.rename(columns={"bought_usdc": "bought [USDC]", "sold_usdc": "sold [USDC]",
                          "fees_usdc": "fees [USDC]", "held_value_usdc": "held at mark [USDC]",
                          "pnl_usdc": "P&L [USDC]"})  # fmt: skip
    note = "Sold minus bought minus fees, plus what is still held at its last mark; "
    return [*parts, f'<p class="note">{_e(note + pnl.note)}.</p>', _frame(t)]


def _error_html(run: RunFiles) -> list[str]:
    if not run.strategy_error.strip():
        return []
    return [
        '<h2 id="strategy-error">Strategy error</h2>',
        "<p>A strategy callback raised: trading was halted (orders cancelled) and the run "
        "stopped there; the tables hold the results up to that point.</p>",
        f'<pre class="tb">{_e(run.strategy_error.rstrip())}</pre>',
    ]


def _header_html(run: RunFiles) -> list[str]:
    kind = run.kind
    title = f"{kind.capitalize()} run report"
    s = run.summary
    when = ""
    if "Start" in s and "End" in s:
        when = f"{_summary_value('Start', s['Start'])} to {_summary_value('End', s['End'])}"
    error = ""
    if run.strategy_error.strip():
        last = run.strategy_error.strip().splitlines()[-1]
        error = (
            '<p class="err"><b>The run stopped on a strategy error:</b> '
            f'<code>{_e(last)}</code> (<a href="#strategy-error">traceback</a>)</p>'
        )
    return [
        f"<title>{_e(title)}: {_e(run.path.name)}</title>",
        f"<style>{_CSS}{_RUN_CSS}</style></head><body>",
        f'<h1>Run report <span class="badge k-{_e(kind)}">{_e(kind)}</span></h1>',
        f'<p class="sub"><code>{_e(run.path)}</code>{" · " + _e(when) if when else ""}'
        " · times in UTC</p>",
        error,
    ]


def render_run_html(run: RunFiles) -> str:
    """The page of a run folder read by ``sim.run_files.read_run`` (docs/report.md)."""
    if run.kind == "validation":
        return render_html(run.report or {}, _validation_plots(run.path))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">']
    parts += _header_html(run)
    parts += _figures_html(run)
    parts += _chart_html(run)
    parts += _counters_html(run)
    parts.append('<h2 id="refusals">Refusals by reason</h2>')
    by_reason = refusals_by_reason(run)
    parts.append("<p>No order was refused.</p>" if by_reason.empty else _frame(by_reason))
    calls_empty = "No venue call was made."
    parts += _table_section(run, "calls", "Venue calls", calls_empty, index="call")
    parts += _table_section(run, "alerts", "Alerts", "No alert was raised.", last=MAX_ROWS)
    parts += _table_section(run, "breakers", "Breakers", "No breaker tripped.", last=MAX_ROWS)
    parts += _table_section(run, "positions", "Positions", "Nothing is held.", last=MAX_ROWS)
    parts += _pnl_html(run)
    parts += _table_section(run, "fills", f"Last {LAST_FILLS} fills", "No fills.",
                            last=LAST_FILLS)  # fmt: skip
    parts += _error_html(run)
    parts.append('<h2 id="summary">Summary</h2>')
    summary_rows = [(k, _summary_value(k, v)) for k, v in run.summary.items()]
    parts.append(_kv(summary_rows) if summary_rows else "<p>The folder has no summary.</p>")
    if run.meta:
        parts += ['<h2 id="meta">Run metadata (run.json)</h2>',
                  _kv([(k, _meta_value(k, v)) for k, v in run.meta.items()])]  # fmt: skip
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def _validation_plots(folder: Path) -> dict[str, bytes]:
    """The plots a ``clobsim validate`` folder holds (``plots/<name>.png``)."""
    out = {}
    for stem, _, _ in PLOTS:
        p = folder / "plots" / f"{stem}.png"
        if p.is_file():
            out[stem] = p.read_bytes()
    return out


def write_run_report(run_dir: str | Path | RunFiles, out: str | Path | None = None) -> Path:
    """Read ``run_dir`` (or take the ``RunFiles`` given) and write its page to ``out``
    (default ``RUN_DIR/report.html``); the path written. ``RunFolderError`` when the
    folder cannot be read."""
    run = run_dir if isinstance(run_dir, RunFiles) else read_run(run_dir)
    path = Path(out) if out is not None else run.path / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_run_html(run), encoding="utf-8")
    return path


def run_json(run: RunFiles, path: Path) -> dict[str, Any]:
    """What ``clobsim report --json`` prints: path, kind, summary, counters (a validation
    folder: its report's summary, no counters)."""
    summary: Mapping[str, Any] = run.summary
    if run.kind == "validation" and not summary:
        summary = (run.report or {}).get("summary") or {}
    return {"path": str(path), "kind": run.kind, "summary": dict(summary),
            "counters": dict(run.counters)}  # fmt: skip
