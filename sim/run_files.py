"""A finished run's folder, one format for every mode: what ``clobsim report`` reads.

``write_run(result, out, kind=..., fmt=...)`` writes a ``BacktestResult``'s tables
(``TABLES``: orders, fills, positions, equity, refusals, breakers, alerts, calls) as
Parquet (paper, live) or CSV (``clobsim backtest --out``), with

* ``summary.json``: the summary's figures;
* ``counters.json``: the run's counters (``sim.run_counters``, the names ``/metrics``
  exports during a paper or live run);
* ``result.json``: what wrote the folder (``kind``: backtest, paper or live; the table
  format; the table names);
* ``strategy_error.txt``: the traceback, when a strategy callback raised.

``read_run(path)`` reads such a folder back (``RunFiles``), and a ``clobsim validate``
output folder (``report.json``) too. A file that cannot be read is a ``RunFolderError``
naming it; nothing is guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import ClobsimError

TABLES = ("orders", "fills", "positions", "equity", "refusals", "breakers", "alerts", "calls")
KINDS = ("backtest", "paper", "live")
_TIME_COLUMNS = {"orders": "submitted", "fills": "time", "refusals": "time",
                 "breakers": "time", "alerts": "time"}  # fmt: skip
_INDEX = {"equity": "time", "calls": "call"}


class RunFolderError(ClobsimError):
    """A run folder that cannot be read (missing, not a run, a corrupt file)."""


@dataclass
class RunFiles:
    """A run folder read back. ``kind``: backtest, paper, live or validation (then only
    ``report`` is set: the ``report.json`` document)."""

    path: Path
    kind: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, Any] = field(default_factory=dict)
    #: ``run.json`` of a paper run (start, end, lag, config hash), else {}
    meta: dict[str, Any] = field(default_factory=dict)
    strategy_error: str = ""
    report: dict[str, Any] | None = None

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (an empty frame when the run wrote none)."""
        return self.tables.get(name, pd.DataFrame())


def write_run(result: Any, out: str | Path, *, kind: str, fmt: str = "parquet",
              counters: dict[str, Any] | None = None) -> list[Path]:  # fmt: skip
    """Write ``result`` (``sim.results.BacktestResult``) into ``out``; the paths written.
    ``counters``: the run's counters (default ``result.counters``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be parquet or csv, got {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    text: dict[str, list[str]] = {}  # CSV: the columns to read back as text (ids, reasons)
    for name in TABLES:
        df = getattr(result, name)
        text[name] = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                      and not pd.api.types.is_datetime64_any_dtype(df[c])]  # fmt: skip
        path = out / f"{name}.{fmt}"
        keep_index = name in _INDEX
        if fmt == "csv":
            df.to_csv(path, index=keep_index)
        else:
            (df if keep_index else df.reset_index(drop=True)).to_parquet(path)
        written.append(path)
    docs = {
        "summary.json": json.loads(result.summary.to_json(default_handler=str)),
        "counters.json": counters if counters is not None else result.counters,
        "result.json": {
            "kind": kind,
            "format": fmt,
            "tables": list(TABLES),
            **({"text_columns": text} if fmt == "csv" else {}),
        },
    }
    for fname, doc in docs.items():
        (out / fname).write_text(json.dumps(doc, indent=1, default=str))
        written.append(out / fname)
    if result.error is not None:
        (out / "strategy_error.txt").write_text(result.error.traceback)
        written.append(out / "strategy_error.txt")
    return written


def _json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RunFolderError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _table(path: Path, name: str, text: list[str] = ()) -> pd.DataFrame:
    """One table; ``text``: a CSV's columns that are text (an id of digits stays a
    string, an empty reason stays "")."""
    try:
        if path.suffix == ".csv":
            index = _INDEX.get(name)
            df = pd.read_csv(path, index_col=index if index else None,
                             dtype=dict.fromkeys(text, str))  # fmt: skip
            for c in text:
                if c in df.columns:
                    df[c] = df[c].fillna("")
        else:
            df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow and pandas raise many kinds; each is this file's fault
        raise RunFolderError(f"{path}: cannot read the {name} table "
                             f"({type(exc).__name__}: {exc})") from None  # fmt: skip
    col = _TIME_COLUMNS.get(name)
    if col and col in df.columns and len(df):
        df[col] = pd.to_datetime(df[col], utc=True)
    if name == "equity" and len(df) and not isinstance(df.index, pd.DatetimeIndex):
        df.index = pd.to_datetime(df.index, utc=True)
    return df


def read_run(path: str | Path) -> RunFiles:
    """The run folder at ``path`` (see the module doc)."""
    p = Path(path)
    if not p.is_dir():
        raise RunFolderError(f"{p}: no such run folder")
    if (p / "report.json").is_file() and not (p / "result.json").is_file():
        return RunFiles(p, "validation", report=_json(p / "report.json"))
    if (p / "result.json").is_file():
        doc = _json(p / "result.json")
        kind, fmt = doc.get("kind"), doc.get("format")
        if kind not in KINDS or fmt not in ("parquet", "csv"):
            raise RunFolderError(f"{p / 'result.json'}: kind {kind!r} / format {fmt!r} unknown")
    else:
        found = [f for f in ("parquet", "csv") if (p / f"orders.{f}").is_file()]
        if not found and (p / "sweep.json").is_file():
            raise RunFolderError(
                f"{p}: a sweep's folder (sweep.parquet is its table); each "
                f"run of it is a run folder: {p / 'runs'}/<run_id>"
            )
        if not found:
            raise RunFolderError(
                f"{p}: not a run folder (no result.json, orders table or report.json); a run "
                "writes one when it ends: `clobsim backtest --out`, `clobsim paper`, "
                "`clobsim live`, `clobsim validate --out`")  # fmt: skip
        fmt = found[0]
        kind = "paper" if (p / "run.json").is_file() else "backtest"
    run = RunFiles(p, kind)
    text = doc.get("text_columns", {}) if (p / "result.json").is_file() else {}
    for name in TABLES:
        f = p / f"{name}.{fmt}"
        if f.is_file():
            run.tables[name] = _table(f, name, text.get(name, []))
    if (p / "summary.json").is_file():
        run.summary = _json(p / "summary.json")
    elif (p / "summary.parquet").is_file():  # a `clobsim validate` run's folder
        run.summary = _table(p / "summary.parquet", "summary").iloc[:, -1].to_dict()
    if (p / "counters.json").is_file():
        run.counters = _json(p / "counters.json")
    if (p / "run.json").is_file():
        run.meta = _json(p / "run.json")
    if (p / "strategy_error.txt").is_file():
        run.strategy_error = (p / "strategy_error.txt").read_text(errors="replace")
    return run
