"""Go/no-go readiness report of a paper validation: Markdown, self-contained HTML, JSON, plots.

``write_report(report, artifacts, out_dir)`` writes::

    out_dir/report.md      Markdown; plots linked as plots/<name>.png
    out_dir/report.html    one file: inline CSS, plots embedded as base64 PNG, no external refs
    out_dir/report.json    ``report`` itself (indent=2)
    out_dir/plots/*.png    equity_drawdown, slippage, call_latency, fills_per_scenario,
                           pnl_by_market

``render_table(report)`` is the report for the terminal, a rich renderable (``Group``): the
verdict with its two halves (safety, performance) and why it is NO-GO, the checklist, the
settings audit, the performance criteria and the runs that failed (one-line errors; the
tracebacks are in report.md / report.html). It wraps long values instead of cutting them
(piped output included; tested down to 30 columns). Reports written before the two halves
(no ``safety`` / ``performance`` / ``settings_audit`` / ``run_failures`` keys) still render:
the checklist alone, as before.

``artifacts`` holds the first seed's tables: ``{"baseline": {...}, "scenarios": {name:
{...}}}``. An optional ``artifacts["all_fills"]`` (the fills frames of every run, all
seeds) is what the slippage plot pools instead; pass the same frames to
``slippage_percentiles(taker_slippage(frames))`` for the summary so both show the same
figures.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from sim.report import plots
from sim.report.labels import market_label
from sim.report.markdown import render_markdown
from sim.report.page import render_html
from sim.report.plots import slippage_percentiles, taker_slippage
from sim.report.render import (
    DASH,
    PLOTS,
    checks,
    evidence_line,
    failure_what,
    fmt_per_seed,
    fmt_value,
    halves,
    has_halves,
    perf_lines,
    run_failures,
    settings_audit,
    settings_count,
    verdict,
    why_line,
)

__all__ = [
    "PLOTS",
    "make_figures",
    "market_label",
    "render_table",
    "slippage_percentiles",
    "taker_slippage",
    "to_jsonable",
    "write_report",
]


def to_jsonable(obj: Any) -> Any:
    """``obj`` with numpy/pandas scalars as Python numbers, datetimes as ISO strings.

    Non-finite floats become ``None`` (strict JSON has no NaN/Infinity); dict keys become
    strings; tuples and sets become lists. Plain JSON values pass through unchanged.
    """
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if obj is pd.NaT:
        return None
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else pd.Timestamp(obj).isoformat()
    if isinstance(obj, (dt.timedelta, pd.Timedelta, np.timedelta64)):
        return pd.Timedelta(obj).total_seconds()
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _section(artifacts: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    sec = (artifacts or {}).get(key)
    return sec if isinstance(sec, Mapping) else {}


def _all_sections(artifacts: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """``{"baseline": ..., <scenario>: ...}`` (empty sections skipped)."""
    out: dict[str, Mapping[str, Any]] = {}
    base = _section(artifacts, "baseline")
    if base:
        out["baseline"] = base
    for name, sec in _section(artifacts, "scenarios").items():
        if isinstance(sec, Mapping) and sec:
            out[str(name) if str(name) not in out else f"scenario:{name}"] = sec
    return out


def make_figures(report: Mapping[str, Any], artifacts: Mapping[str, Any] | None) -> dict:
    """All report plots as ``{name: Figure}`` (caller closes them)."""
    base = _section(artifacts, "baseline")
    sections = _all_sections(artifacts)
    all_fills = (artifacts or {}).get("all_fills")
    if all_fills is not None:
        slip_fills, scope = list(all_fills), "all runs pooled"
    else:
        slip_fills = [s.get("fills") for s in sections.values()]
        scope = "baseline + scenarios pooled"
    return {
        "equity_drawdown": plots.plot_equity_drawdown(
            base.get("equity"), base.get("breakers"), base.get("halts")
        ),
        "slippage": plots.plot_slippage(slip_fills, scope),
        "call_latency": plots.plot_call_latency({k: s.get("calls") for k, s in sections.items()}),
        "fills_per_scenario": plots.plot_fills_per_scenario(
            report.get("runs") or [], report.get("seeds") or []
        ),
        "pnl_by_market": plots.plot_pnl_by_market(base.get("pnl_by_market")),
    }


def write_report(report: dict, artifacts: dict | None, out_dir: Path | str) -> dict[str, Path]:
    """Write report.md, report.html, report.json and plots/*.png into ``out_dir``.

    Returns ``{"md": ..., "html": ..., "json": ..., "plots_dir": ..., <plot name>: ...}``
    with one entry per plot (see ``PLOTS``).
    """
    out = Path(out_dir)
    plot_dir = out / "plots"
    plot_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}

    figures = make_figures(report, artifacts)
    pngs = {name: plots.figure_png(fig) for name, fig in figures.items()}
    for name, png in pngs.items():
        p = plot_dir / f"{name}.png"
        p.write_bytes(png)
        paths[name] = p

    data = to_jsonable(report)
    paths["json"] = out / "report.json"
    paths["json"].write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    paths["md"] = out / "report.md"
    paths["md"].write_text(render_markdown(data, list(pngs)), encoding="utf-8")
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(data, pngs), encoding="utf-8")
    paths["plots_dir"] = plot_dir
    return paths


#: cells of the status column: PASS / FAIL, never cut
_STATUS_W = 6


def _status_text(status: Any) -> Text:
    s = str(status if status not in (None, "") else "?").upper()
    return Text(s, style="bold green" if s == "PASS" else "bold red")


def _words(s: str) -> list[str]:
    return s.split() or [""]


#: a column's widths: (least: each word or ``whole`` value on one line, enough for every
#: value on one line, enough for the header on one line too)
_Spec = tuple[int, int, int]


def _spec(header: str, cells: list[str], whole: bool) -> _Spec:
    """The widths of a column: a ``whole`` column keeps each value on one line, the
    others may wrap between words (never inside one)."""
    lines = [ln for c in cells for ln in (c.splitlines() or [""])]
    longest = max((cell_len(ln) for ln in lines), default=0)
    word = max((cell_len(w) for ln in [*lines, header] for w in _words(ln)), default=0)
    least = max(longest, word) if whole else word
    values = max(least, longest)
    return least, values, max(values, cell_len(header))


def _widest(a: _Spec, b: _Spec) -> _Spec:
    return max(a[0], b[0]), max(a[1], b[1]), max(a[2], b[2])


def _fit(specs: list[_Spec], width: int) -> list[int] | None:
    """Column widths within a ``width``-cell table (box and padding included), each at
    least its least width; what is left goes first to the columns whose values would
    wrap, then to the headers. None when even the least widths do not fit."""
    avail = width - (1 + 3 * len(specs))
    widths = [spec[0] for spec in specs]
    if sum(widths) > avail:
        return None
    slack = avail - sum(widths)
    for target in (1, 2):
        while slack > 0:
            wanting = [i for i, spec in enumerate(specs) if widths[i] < spec[target]]
            if not wanting:
                break
            for i in wanting[:slack]:
                widths[i] += 1
            slack -= min(slack, len(wanting))
    return widths


class _ForWidth:
    """A renderable built for the width it is printed at (a table picking its layout)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self._build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self._build(options.max_width)


class _Row(NamedTuple):
    values: list[str]  # one per column; the first is the row's name (kept whole)
    source: str  # where its limit comes from: a dim line under the name
    status: Any


def _wide_or_stacked(
    title: str,
    caption: str | None,
    columns: list[tuple[str, bool]],
    rows: list[_Row],
    stacked: Callable[[list[str]], str],
    width: int,
) -> Table:
    """A table of named rows with a source and a status, fitted to ``width``.

    One column per ``(header, whole)`` plus the status when every ``whole`` value and
    every word fits on its line at ``width`` (the source a dim line under the name); else
    two columns: the name with ``stacked(values)`` and the source under it, and the
    status. Either way nothing is cut.
    """
    specs = [
        _widest(
            _spec(columns[0][0], [r.values[0] for r in rows], columns[0][1]),
            _spec("", [r.source for r in rows], False),
        )
    ]
    specs += [
        _spec(h, [r.values[i] for r in rows], whole) for i, (h, whole) in enumerate(columns) if i
    ]
    widths = _fit([*specs, (_STATUS_W,) * 3], width)
    table = Table(title=title, caption=caption)
    if widths is None:
        table.add_column(columns[0][0], overflow="fold")
    else:
        for (h, _), w in zip(columns, widths, strict=False):
            table.add_column(h, width=w, overflow="fold")  # ``whole`` values fit ``w``
    table.add_column("status", justify="center", no_wrap=True, min_width=_STATUS_W)
    for r in rows:
        name = Text(r.values[0], style="" if _passed(r.status) else "bold")
        if widths is None:
            name.append(f"\n  {stacked(r.values)}")
        name.append(f"\n  {r.source}" if widths is None else f"\n{r.source}", style="dim")
        rest = [Text(v) for v in r.values[1:]] if widths is not None else []
        table.add_row(name, *rest, _status_text(r.status))
    return table


def _passed(status: Any) -> bool:
    return str(status or "").upper() == "PASS"


def _verdict_table(report: Mapping[str, Any]) -> Table:
    v = verdict(report)
    colour = "green" if v.upper() == "GO" else "red"
    table = Table(title=Text.assemble("Verdict: ", (v, f"bold {colour}")))
    for label, _, _ in halves(report):
        table.add_column(label, overflow="fold")
    table.add_row(
        *[Text.assemble(_status_text(st), f" ({detail})") for _, st, detail in halves(report)]
    )
    return table


def _checklist_table(report: Mapping[str, Any]) -> Table:
    summ = report.get("summary") or {}
    caption = None
    if "checks_passed" in summ and "checks_total" in summ:
        caption = f"{summ['checks_passed']}/{summ['checks_total']} checks passed"
    if has_halves(report):
        title = Text("Readiness checklist (safety)")
    else:
        v = verdict(report)
        colour = "green" if v.upper() == "GO" else "red"
        title = Text.assemble("Readiness checklist: ", (v, f"bold {colour}"))
    table = Table(title=title, caption=caption)
    table.add_column("check", overflow="fold")
    table.add_column("status", justify="center", no_wrap=True, min_width=_STATUS_W)
    table.add_column("evidence", overflow="fold")
    for c in checks(report):
        name = str(c.get("name", c.get("title", "?")))
        check = Text(name)
        scenario = c.get("scenario")
        if scenario not in (None, "") and str(scenario) != name:
            check.append(f"\nscenario: {scenario}", style="dim")
        evidence = Text(evidence_line(c.get("evidence")))
        table.add_row(check, _status_text(c.get("status", "?")), evidence)
    return table


def _settings_table(report: Mapping[str, Any], width: int) -> Table:
    n = settings_count(report)
    caption = f"{n[0]}/{n[1]} settings within their bounds" if n is not None else None
    rows = [
        _Row(
            [str(a.get("setting", DASH)), fmt_value(a.get("value")), str(a.get("bound", DASH))],
            str(a.get("source", DASH)),
            a.get("status"),
        )
        for a in settings_audit(report)
    ]
    if not rows:
        caption = "no settings were audited"
    columns = [("setting (source of the bound)", True), ("value", True), ("bound", False)]
    return _wide_or_stacked(
        "Settings audit (safety)",
        caption,
        columns,
        rows,
        lambda v: f"value {v[1]}, bound {v[2]}",
        width,
    )


def _performance_table(report: Mapping[str, Any], width: int) -> Table:
    lines = perf_lines(report)
    met = sum(_passed(ln.get("status")) for ln in lines)
    caption = f"{met}/{len(lines)} criteria met; worst seed: the value judged"
    if not lines:
        perf = report.get("performance") or {}
        caption = str(perf.get("why") or "no criteria were judged")
    rows = [
        _Row(
            [
                str(ln.get("meaning") or ln.get("name", DASH)),
                fmt_value(ln.get("value")),
                str(ln.get("limit", DASH)),
                fmt_per_seed(report, ln.get("per_seed")),
            ],
            str(ln.get("source", DASH)),
            ln.get("status"),
        )
        for ln in lines
    ]
    columns = [
        ("criterion (source of the limit)", False),
        ("worst seed", True),
        ("limit", False),
        ("per seed", False),
    ]
    return _wide_or_stacked(
        "Performance (fault-free runs)",
        caption,
        columns,
        rows,
        lambda v: f"worst seed {v[1]}, limit {v[2]}; per seed {v[3]}",
        width,
    )


def _failures_table(report: Mapping[str, Any]) -> Table:
    table = Table(
        title=Text("Run failures", style="bold red"),
        caption="tracebacks in report.md / report.html",
    )
    table.add_column("scenario", overflow="fold")
    table.add_column("seed", justify="right", no_wrap=True)
    table.add_column("what", overflow="fold")
    table.add_column("error", overflow="fold")
    for f in run_failures(report):
        table.add_row(
            str(f.get("scenario", DASH)),
            str(f.get("seed", DASH)),
            failure_what(f),
            Text(str(f.get("line", DASH))),
        )
    return table


def render_table(report: Mapping[str, Any]) -> Group:
    """The report for the terminal: the verdict and its halves, why it is NO-GO, the
    checklist (check and its scenario, status, evidence), the settings audit, the
    performance criteria, and the runs that failed (their one-line errors; tracebacks are
    in report.md / report.html). A report without those keys (an older one) prints the
    checklist alone.

    Nothing is ever cut with "…": text wraps (at ", " between evidence items, inside a
    word only when one does not fit the column), and status columns keep room for PASS /
    FAIL. The settings and performance tables show one column per field when every
    setting name and value fits whole, else stack each row's fields in one cell. The
    scenario is a dim second line of the check cell when it is not the check's namesake,
    which leaves the evidence column a readable width on an 80-column console.
    """
    parts: list[RenderableType] = []
    if has_halves(report):
        parts.append(_verdict_table(report))
        why = why_line(report)
        if why:
            parts.append(Text.assemble((f"Why {verdict(report)}: ", "bold red"), why))
        parts.append(Text(""))
    parts.append(_checklist_table(report))
    if "settings_audit" in report:
        parts += [Text(""), _ForWidth(lambda w: _settings_table(report, w))]
    if "performance" in report:
        parts += [Text(""), _ForWidth(lambda w: _performance_table(report, w))]
    if run_failures(report):
        parts += [Text(""), _failures_table(report)]
    return Group(*parts)
