"""Parameter sweeps: the product of a grid (``exchange_mock.sweep_grid``) x seeds, each
run a backtest, gathered into one tidy DataFrame.

```python
from exchange_mock.sweep import run_sweep
df = run_sweep("examples/window_pair.toml", "examples/grids/window_pair.toml",
               out="out/sweep")                   # a local Dask cluster, one per core
df.groupby("risk.daily_loss_usdc")["return_pct"].mean()
```

``OUT`` holds ``sweep.parquet`` (the DataFrame: one row per run of the grid, its
parameters, its summary figures and its verdict), ``sweep.json`` (the fingerprint of
what every run shares: the config, the strategy's source, the dataset's files) and
``runs/<id>/`` (the run's tables, as ``clobsim backtest --out`` writes them in Parquet,
and ``row.json``, written last). A run whose ``row.json`` is there is finished: after an
interrupt the same command runs only what is missing, and a grown grid (another seed or
value) only its new runs. An ``OUT`` whose runs came from another config, strategy
source or dataset is refused, never mixed.

With ``workers`` other than 1, call it under ``if __name__ == "__main__":`` in a script
(Dask starts its worker processes by spawning; notebooks and the CLI need nothing).

The verdict is the config's ``[validation.acceptance]`` criteria (the performance half
of ``clobsim validate``) on the run: ``PASS`` or ``FAIL`` (``why`` says which), ``ERROR``
when the strategy raised (``strategy_error``), ``FAILED`` when the run never came back
(its worker kept dying; not recorded as finished, so a resume runs it again).
``MACHINE_COLUMNS`` (``wall_s``, ``worker_peak_rss_mb``: the process's peak memory when
the run ended) measure the machine: every other column is the same for the same data,
config and seed, however the sweep was run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from exchange_mock.backtest import Backtest, _plans
from exchange_mock.parallel import TaskFailed, release_memory, run_tasks
from exchange_mock.sweep_grid import SweepGrid, SweepRun, apply_overrides
from exchange_mock.validation.acceptance import AcceptanceConfig, judge_performance
from exchange_mock.validation.runner import run_metrics
from sim.backtest_config import BacktestConfig
from sim.config_loader import from_mapping, load_toml
from sim.errors import ConfigError
from sim.run_files import write_run
from sim.strategy_loader import load_strategy, strategy_class
from sim.strategy_params import check_params

log = logging.getLogger(__name__)

#: the summary figures of each row, from the run's metrics (``validation.runner``)
FIGURES = ("return_pct", "pnl_usdc", "max_drawdown_pct", "orders", "fills", "refusals",
           "executor_refusals", "fees_usdc", "volume_usdc", "halts", "breaker_trips",
           "partial_fill_orders", "slippage_p95", "lost_orders", "events")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the configs (checked), their runs, the acceptance criteria."""

    base_dir: Path
    runs: list[SweepRun]
    configs: dict[str, BacktestConfig]
    acceptance: AcceptanceConfig
    fingerprint: str


def plan_sweep(config_path: str | Path, grid: str | Path | SweepGrid) -> SweepPlan:
    """Every run's config built and checked (a bad grid value names its key)."""
    path = Path(config_path)
    raw = load_toml(path)
    base_dir = path.parent.resolve()
    grid = grid if isinstance(grid, SweepGrid) else SweepGrid.load(grid)
    acceptance = from_mapping(AcceptanceConfig, raw.get("validation", {}).get("acceptance", {}),
                              "validation.acceptance.")  # fmt: skip
    body = {k: v for k, v in raw.items() if k != "validation"}
    runs = grid.runs()
    configs = {}
    for run in runs:
        try:
            cfg = from_mapping(BacktestConfig, apply_overrides(body, run.overrides))
        except ConfigError as exc:
            shown = ", ".join(f"{k} = {v!r}" for k, v in run.params.items())
            raise ConfigError(exc.key, f"{exc.problem} (in the sweep run {shown})") from None
        if cfg.strategy is None:
            raise ConfigError("strategy", "the config has no [strategy] table")
        if cfg.faults.plans:
            _plans(cfg.faults.plans, cfg.seed)  # an unknown plan name: before any run
        cls = strategy_class(cfg.strategy, base_dir)
        try:
            check_params(cls, cfg.strategy.params)  # a misspelt or mistyped parameter too
        except ConfigError as exc:
            shown = ", ".join(f"{k} = {v!r}" for k, v in run.params.items())
            raise ConfigError(exc.key, f"{exc.problem} (in the sweep run {shown})") from None
        if cfg.mode != "backtest" or cfg.venue.kind != "sim":
            cfg = dataclasses.replace(cfg, mode="backtest")
            if cfg.venue.kind != "sim":
                raise ConfigError("venue.kind", "a sweep runs backtests: [venue] kind = 'sim'")
        data = Path(cfg.data.path)  # as load_backtest_config resolves it
        if not data.is_absolute():
            data = data.resolve() if data.exists() else (base_dir / data).resolve()
        configs[run.id] = dataclasses.replace(
            cfg, data=dataclasses.replace(cfg.data, path=str(data))
        )
    first = configs[runs[0].id]
    doc = {"config": raw,
           # the strategy's source and the data's files: an edit of either is another sweep
           "strategy": _source_sha(strategy_class(first.strategy, base_dir)),
           "data": _files(Path(first.data.path))}  # fmt: skip
    fingerprint = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode())
    return SweepPlan(base_dir, runs, configs, acceptance, fingerprint.hexdigest()[:16])


def sweep_one(cfg: BacktestConfig, base_dir: str, run: SweepRun, out: str,
              acceptance: AcceptanceConfig) -> dict[str, Any]:  # fmt: skip
    """One run: backtest, tables into ``out/runs/<id>/``, ``row.json`` last; the row.
    Deterministic: a run started again (its worker died) writes the same files."""
    logging.getLogger("clobsim.alerts").disabled = True  # they are in the run's tables
    strategy = load_strategy(cfg.strategy, Path(base_dir))
    bt = Backtest.from_config(cfg, strategy)
    t0 = time.perf_counter()
    res = bt.run()
    wall = time.perf_counter() - t0
    metrics = run_metrics(bt, res, cfg, bt.session.parts.extras.get("fault_hook"), wall)
    perf = judge_performance([metrics], acceptance)
    err = metrics["strategy_error"]
    failed = [ln["name"] for ln in perf["lines"] if ln["status"] == "FAIL"]
    row = {"run_id": run.id, **run.params, **{k: metrics[k] for k in FIGURES},
           "venue_refusals": metrics["refusals"] - metrics["executor_refusals"],
           "verdict": "ERROR" if err else perf["verdict"], "failed": ",".join(failed),
           "why": err["line"] if err else perf["why"], "wall_s": round(wall, 3),
           "worker_peak_rss_mb": round(_peak_rss_mb(), 1)}  # fmt: skip
    folder = Path(out) / "runs" / run.id
    write_run(res, folder, kind="backtest", fmt="parquet")
    tmp = folder / "row.json.part"
    tmp.write_text(json.dumps(row, default=_plain))
    os.replace(tmp, folder / "row.json")  # the run is finished once this name exists
    del bt, res
    release_memory()  # a worker's next run starts without this one's object graph
    return row


def run_sweep(config_path: str | Path, grid: str | Path | SweepGrid, out: str | Path, *,
              workers: int = 0, scheduler: str | None = None,
              progress: bool = False) -> pd.DataFrame:  # fmt: skip
    """Run every run of the grid not yet finished in ``out``; the sweep's DataFrame (also
    written to ``out/sweep.parquet``). ``workers``: 0 = a local cluster of one process
    per core, 1 = serially here; ``scheduler``: a Dask scheduler's address (see
    ``exchange_mock.parallel``)."""
    plan = plan_sweep(config_path, grid)
    out = Path(out)
    _claim(out, plan)
    rows: dict[str, dict] = {}
    todo = []
    for run in plan.runs:
        row = _finished(out / "runs" / run.id / "row.json")
        if row is not None:
            rows[run.id] = row
        else:
            todo.append(run)
    jobs = [(plan.configs[r.id], str(plan.base_dir), r, str(out.resolve()), plan.acceptance)
            for r in todo]  # fmt: skip
    bar = _bar(progress, len(plan.runs), len(rows))
    try:
        results = run_tasks(sweep_one, jobs, [r.id for r in todo], workers=workers,
                            scheduler=scheduler, prefix="sweep",
                            on_done=(lambda i, r: bar.update(1)) if bar else None)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    for run, result in zip(todo, results, strict=True):
        if isinstance(result, TaskFailed):
            rows[run.id] = {"run_id": run.id, **run.params, "verdict": "FAILED",
                            "why": f"the run never finished: {result.why}"}  # fmt: skip
        else:
            rows[run.id] = result
    df = pd.DataFrame([rows[r.id] for r in plan.runs])
    df.to_parquet(out / "sweep.parquet")
    return df


def load_sweep(out: str | Path) -> pd.DataFrame:
    """A finished sweep's DataFrame."""
    return pd.read_parquet(Path(out) / "sweep.parquet")


def _claim(out: Path, plan: SweepPlan) -> None:
    """``out`` is this sweep's (new, or the same config and grid): else refused."""
    meta = out / "sweep.json"
    if meta.is_file():
        had = json.loads(meta.read_text()).get("fingerprint")
        if had != plan.fingerprint:
            raise ConfigError("--out", f"{out} holds runs of another config, strategy source "
                              f"or dataset ({had} != {plan.fingerprint}); use a new "
                              "folder")  # fmt: skip
        return
    (out / "runs").mkdir(parents=True, exist_ok=True)
    meta.write_text(json.dumps({"fingerprint": plan.fingerprint,
                                "runs": [dataclasses.asdict(r) for r in plan.runs]},
                               indent=1, default=str))  # fmt: skip


#: columns that measure the machine, not the run: they differ between two equal runs
MACHINE_COLUMNS = ("wall_s", "worker_peak_rss_mb")


def _peak_rss_mb() -> float:
    """This process's peak resident memory so far (a worker's, when run on Dask)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def _finished(path: Path) -> dict | None:
    """A finished run's row; None if it has none (or one that cannot be read: it runs
    again, and says why)."""
    if not path.is_file():
        return None
    try:
        row = json.loads(path.read_text())
        if isinstance(row, dict) and "run_id" in row:
            return row
        why = "not a row"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        why = str(exc)
    log.warning("sweep: %s cannot be read (%s); its run runs again", path, why)
    return None


def _source_sha(cls: type) -> str:
    """The digest of the file that defines the strategy class."""
    try:
        source = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (OSError, TypeError):
        source = inspect.getsource(cls).encode()
    return hashlib.sha256(source).hexdigest()


def _files(data: Path) -> list[tuple[str, int, int]]:
    """(path, size, modification time) of a dataset's files: its fingerprint."""
    if not data.is_dir():
        return []
    return sorted((str(p.relative_to(data)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in data.rglob("*") if p.is_file())  # fmt: skip


def _bar(enabled: bool, total: int, done: int):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="sweep runs", unit="run")


def _plain(v: Any) -> Any:
    """numpy scalars and the like as JSON values."""
    return v.item() if hasattr(v, "item") else str(v)
