"""Go/no-go readiness report of a paper validation: Markdown, self-contained HTML, JSON, plots.

``write_report(report, artifacts, out_dir)`` writes::

    out_dir/report.md      Markdown; plots linked as plots/<name>.png
    out_dir/report.html    one file: inline CSS, plots embedded as base64 PNG, no external refs
    out_dir/report.json    ``report`` itself (indent=2)
    out_dir/plots/*.png    equity_drawdown, slippage, call_latency, fills_per_scenario,
                           pnl_by_market

``render_table(report)`` is the checklist as a rich Table for the terminal; it wraps long
values instead of cutting them (piped output included; tested down to 30 columns).

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from rich.table import Table
from rich.text import Text

from sim.report import plots
from sim.report.labels import market_label
from sim.report.plots import slippage_percentiles, taker_slippage
from sim.report.render import PLOTS, evidence_line, render_html, render_markdown, verdict

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
    pngs: dict[str, bytes] = {}
    try:
        for name, fig in figures.items():
            pngs[name] = plots.figure_png(fig)
    finally:
        for fig in figures.values():
            plt.close(fig)
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


def render_table(report: Mapping[str, Any]) -> Table:
    """The checklist for the terminal: check (and its scenario), status, evidence.

    Nothing is ever cut with "…": check and evidence wrap (at ", " between evidence
    items, inside a word only when one does not fit the column), and the status column
    keeps room for PASS / FAIL. The scenario is a dim second line of the check cell
    when it is not the check's namesake, which leaves the evidence column a readable
    width on an 80-column console.
    """
    v = verdict(report)
    colour = "green" if v.upper() == "GO" else "red"
    summ = report.get("summary") or {}
    caption = None
    if "checks_passed" in summ and "checks_total" in summ:
        caption = f"{summ['checks_passed']}/{summ['checks_total']} checks passed"
    table = Table(
        title=Text.assemble("Readiness checklist: ", (v, f"bold {colour}")),
        caption=caption,
    )
    table.add_column("check", overflow="fold")
    table.add_column("status", justify="center", no_wrap=True, min_width=6)
    table.add_column("evidence", overflow="fold")
    for c in report.get("checks") or ():
        if not isinstance(c, Mapping):
            continue
        status = str(c.get("status", "?")).upper()
        style = "bold green" if status == "PASS" else "bold red"
        name = str(c.get("name", c.get("title", "?")))
        check = Text(name)
        scenario = c.get("scenario")
        if scenario not in (None, "") and str(scenario) != name:
            check.append(f"\nscenario: {scenario}", style="dim")
        table.add_row(check, Text(status, style=style), Text(evidence_line(c.get("evidence"))))
    return table
