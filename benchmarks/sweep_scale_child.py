"""The child side of ``benchmarks.sweep_scale``: each measurement runs in a fresh process
(``python -m benchmarks.sweep_scale --child SPEC``), so its peak memory is its own. Here:
the timed task wrappers, and one function per kind of measurement."""

from __future__ import annotations

import cProfile
import datetime as dt
import json
import os
import pstats
import shutil
import time
import traceback
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: env var naming the JSON-lines file the wrapped tasks log to (set in a child)
TASKS_ENV = "CLOBSIM_BENCH_TASKS"
_ORIGINAL: dict[str, Any] = {}


# ============================================================================ child side
def _vmhwm_mb() -> float:
    """This process's peak resident memory (``VmHWM``), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _log_task(kind: str, key: str, t0: float, t1: float, run_s: float | None) -> None:
    path = os.environ.get(TASKS_ENV)
    if not path:
        return
    rec = {"kind": kind, "key": key, "pid": os.getpid(), "t0": t0, "t1": t1,
           "task_s": t1 - t0, "run_s": run_s, "vmhwm_mb": round(_vmhwm_mb(), 1)}  # fmt: skip
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def _timed_guarded(base, base_dir, scenario, seed):
    """``exchange_mock.validation.runner._guarded``, its task logged."""
    from exchange_mock.validation import runner

    fn = _ORIGINAL.get("guarded", runner._guarded)  # a Dask worker's module is unpatched
    t0 = time.time()
    out = fn(base, base_dir, scenario, seed)
    _log_task("validate", f"{scenario}-s{seed}", t0, time.time(), out.metrics.get("wall_s"))
    return out


def _timed_sweep_one(cfg, base_dir, run, out, acceptance):
    """``exchange_mock.sweep.sweep_one``, its task logged."""
    from exchange_mock import sweep

    fn = _ORIGINAL.get("sweep_one", sweep.sweep_one)
    t0 = time.time()
    row = fn(cfg, base_dir, run, out, acceptance)
    _log_task("sweep", run.id, t0, time.time(), row.get("wall_s"))
    return row


def _patch_tasks(tasks_file: Path) -> None:
    """Log every task of this child (and of its Dask workers, which inherit the env)."""
    from benchmarks import sweep_scale_child as me  # by module name: workers can unpickle it
    from exchange_mock import sweep
    from exchange_mock.validation import runner

    os.environ[TASKS_ENV] = str(tasks_file)
    me._ORIGINAL.setdefault("guarded", runner._guarded)
    me._ORIGINAL.setdefault("sweep_one", sweep.sweep_one)
    runner._guarded = me._timed_guarded
    sweep.sweep_one = me._timed_sweep_one


def _read_tasks(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _child_sweep(spec: dict) -> dict:
    from exchange_mock.sweep import run_sweep
    from exchange_mock.sweep_grid import SweepGrid

    out = Path(spec["out"])
    shutil.rmtree(out, ignore_errors=True)
    tasks = out.with_name(out.name + ".tasks.jsonl")
    tasks.unlink(missing_ok=True)
    _patch_tasks(tasks)
    grid = SweepGrid.from_mapping(spec["grid"])
    t0, c0 = time.time(), time.process_time()
    df = run_sweep(spec["config"], grid, out, workers=spec["workers"])
    t1 = time.time()
    rows = json.loads(df.to_json(orient="records"))
    return {"wall_s": t1 - t0, "t0": t0, "t1": t1, "cpu_s_this_process": time.process_time() - c0,
            "rows": rows, "tasks": _read_tasks(tasks),
            "process_vmhwm_mb": round(_vmhwm_mb(), 1)}  # fmt: skip


def _probe_imports() -> float:
    """On a worker: how long importing the run machinery takes (a fresh worker pays it)."""
    t0 = time.perf_counter()
    import exchange_mock.sweep
    import exchange_mock.validation.runner

    del exchange_mock
    return time.perf_counter() - t0


def _child_cluster(spec: dict) -> dict:
    from exchange_mock.parallel import dask_client

    t0 = time.perf_counter()
    import distributed  # noqa: F401

    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    cm = dask_client(spec["workers"])
    client = cm.__enter__()
    t_start = time.perf_counter() - t0
    from benchmarks import sweep_scale_child as me

    t0 = time.perf_counter()
    probe = client.run(me._probe_imports)
    t_probe = time.perf_counter() - t0
    t0 = time.perf_counter()
    cm.__exit__(None, None, None)
    t_close = time.perf_counter() - t0
    return {"import_distributed_s": t_import, "start_s": t_start, "close_s": t_close,
            "worker_import_s": list(probe.values()), "worker_import_wall_s": t_probe}  # fmt: skip


#: parent-side steps of ``validate`` to pick out of its profile: (file suffix, function)
_VALIDATE_STEPS = {
    "load config + open dataset": [("validation/validate.py", "load"),
                                   ("marketdata/dataset.py", "open")],
    "run_matrix (cluster + every run)": [("validation/runner.py", "run_matrix")],
    "cluster start + close (in run_matrix)": [("exchange_mock/parallel.py", "dask_client")],
    "checks (evaluate)": [("validation/checks.py", "evaluate")],
    "settings audit + report dict": [("validation/audit.py", "audit_settings"),
                                     ("validation/validate.py", "_report")],
    "save every run's tables (Parquet)": [("validation/validate.py", "_save_runs")],
    "write report.md/html/json": [("report/__init__.py", "write_report")],
}  # fmt: skip


def _cum(stats: pstats.Stats, suffix: str, name: str) -> float:
    return sum(v[3] for (f, _, n), v in stats.stats.items() if n == name and f.endswith(suffix))


def _calls(stats: pstats.Stats, suffix: str, name: str) -> int:
    return sum(v[1] for (f, _, n), v in stats.stats.items() if n == name and f.endswith(suffix))


#: functions of the profiled run worth naming on their own: (label, file suffix, function)
PROFILE_DETAILS = (
    ("day loading: Dataset.iter_days", "marketdata/dataset.py", "iter_days"),
    ("  of which: which files hold the markets (_holds_wanted)", "marketdata/dataset.py",
     "_holds_wanted"),
    ("  of which: DayCache.load (np.load)", "marketdata/day_cache.py", "load"),
    ("MatchingVenue.choose_book_source (per day)", "exchange_mock/matching_venue.py",
     "choose_book_source"),
    ("engine wake-ups: ReplayDriver.advance", "exchange_mock/replay_driver.py", "advance"),
    ("executor checks: Executor._on_check", "sim/executor/executor.py", "_on_check"),
    ("  of which: kill-switch file stat (TradingState.tripped)", "executor/trading_state.py",
     "tripped"),
    ("strategy timer: on_timer", "window_pair.py", "on_timer"),
)  # fmt: skip


def _child_validate(spec: dict) -> dict:
    from exchange_mock.validation import validate

    out = Path(spec["out"])
    shutil.rmtree(out, ignore_errors=True)
    tasks = out.with_name(out.name + ".tasks.jsonl")
    tasks.unlink(missing_ok=True)
    _patch_tasks(tasks)
    prof = cProfile.Profile()
    t0 = time.time()
    prof.enable()
    report = validate(spec["config"], out, workers=spec["workers"])
    prof.disable()
    t1 = time.time()
    stats = pstats.Stats(prof)
    steps = {k: sum(_cum(stats, f, n) for f, n in v) for k, v in _VALIDATE_STEPS.items()}
    return {"wall_s": t1 - t0, "t0": t0, "t1": t1, "report_wall_s": report["wall_s"],
            "report_peak_rss_mb": report["peak_rss_mb"], "verdict": report["verdict"],
            "days": report["days"], "start": report["start"], "end": report["end"],
            "runs": report["runs"], "run_failures": report["run_failures"],
            "tasks": _read_tasks(tasks), "parent_steps_s": steps,
            "process_vmhwm_mb": round(_vmhwm_mb(), 1)}  # fmt: skip


# --- the profile of one run, grouped by layer
#: own time of a clobsim function goes to the first layer whose path prefix it has;
#: numba's (and llvmlite's) Python code is its cache loading, imports are imports; other
#: third-party and built-in functions' time goes to the clobsim functions that called them
LAYERS = (
    ("data loading (day cache / Parquet)", ("sim/marketdata/",)),
    ("replay & matching (numba kernels)", ("exchange_mock/clob/", "exchange_mock/matching_venue",
                                           "exchange_mock/replay_driver", "exchange_mock/sim_venue",
                                           "exchange_mock/latency", "exchange_mock/venue_funds",
                                           "sim/books")),
    ("executor & risk", ("sim/executor/", "sim/risk/", "sim/ops_watch", "sim/journal/",
                         "sim/gateway", "sim/venue", "exchange_mock/fault")),
    ("strategy", ("examples/", "sim/strategy", "sim/context", "@strategy")),
    ("engine & clock", ("sim/engine", "sim/clock", "sim/session", "sim/feed", "sim/events",
                        "sim/run_counters", "sim/types")),
    ("results & metrics", ("sim/results", "sim/report", "sim/run_files",
                           "exchange_mock/validation/", "exchange_mock/backtest")),
)  # fmt: skip
JIT = "numba cache load (once per process)"
IMPORTS = "imports"
OTHER = "other"


def _layer_of(filename: str, strategy_file: str) -> str | None:
    """The layer of a function by its file; None: not clobsim's (charged to its callers)."""
    if "/numba/" in filename or "/llvmlite/" in filename:
        return JIT
    if "importlib" in filename:
        return IMPORTS
    if not filename.startswith("/"):  # a built-in ("~") or generated code ("<string>")
        return None
    if strategy_file and filename == strategy_file:
        filename = "@strategy"
    else:
        try:
            filename = Path(filename).resolve().relative_to(ROOT).as_posix()
        except ValueError:
            return None
        if filename.startswith(".venv/"):
            return None
    for layer, prefixes in LAYERS:
        if filename.startswith(prefixes):
            return layer
    return OTHER


def group_profile(stats: pstats.Stats, strategy_file: str = "") -> dict[str, float]:
    """Seconds of own time per layer (``LAYERS``); sums to the profile's total time."""
    memo: dict[tuple, dict[str, float]] = {}

    def shares(func: tuple, seen: frozenset) -> dict[str, float]:
        if func in memo:
            return memo[func]
        layer = _layer_of(func[0], strategy_file)
        if layer is not None:
            return {layer: 1.0}
        callers = stats.stats[func][4] if func in stats.stats else {}
        if not callers or func in seen:
            return {OTHER: 1.0}
        total = sum(c[2] for c in callers.values()) or sum(1.0 for _ in callers)
        out: dict[str, float] = defaultdict(float)
        for caller, c in callers.items():
            w = (c[2] if total else 1.0) / total
            for k, v in shares(caller, seen | {func}).items():
                out[k] += w * v
        memo[func] = dict(out)
        return memo[func]

    seconds: dict[str, float] = defaultdict(float)
    for func, (_, _, tt, _, _) in stats.stats.items():
        for k, v in shares(func, frozenset()).items():
            seconds[k] += tt * v
    return dict(sorted(seconds.items(), key=lambda kv: -kv[1]))


def _child_profile(spec: dict) -> dict:
    from exchange_mock.validation.runner import day_range, run_one
    from exchange_mock.validation.validate import load
    from sim.marketdata import Dataset

    cfg, vcfg, base_dir, _ = load(spec["config"])
    cfg = day_range(cfg, vcfg.days, Dataset.open(cfg.data.path).days())
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    outcome = run_one(cfg, str(base_dir), spec["scenario"], spec["seed"])
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    strategy_file = str((base_dir / "window_pair.py").resolve())
    layers = group_profile(stats, strategy_file)
    top = []
    for (f, line, name), (_, nc, tt, ct, _) in sorted(stats.stats.items(),
                                                      key=lambda kv: -kv[1][3])[:25]:  # fmt: skip
        layer = _layer_of(f, strategy_file) or "(its callers')"
        top.append({"function": f"{_short(f)}:{line}({name})", "calls": nc, "own_s": round(tt, 3),
                    "cum_s": round(ct, 3), "layer": layer})  # fmt: skip
    own = []
    for (f, line, name), (_, nc, tt, ct, _) in sorted(stats.stats.items(),
                                                      key=lambda kv: -kv[1][2])[:15]:  # fmt: skip
        own.append({"function": f"{_short(f)}:{line}({name})", "calls": nc, "own_s": round(tt, 3),
                    "cum_s": round(ct, 3)})  # fmt: skip
    return {"scenario": spec["scenario"], "seed": spec["seed"], "days": vcfg.days,
            "profiled_wall_s": wall, "run_s_in_profile": _cum(stats, "exchange_mock/backtest.py",
                                                               "run"),
            "events": outcome.metrics.get("events"), "layers_s": layers, "top_cumulative": top,
            "details": [{"what": w, "calls": _calls(stats, f, n), "cum_s": _cum(stats, f, n)}
                        for w, f, n in PROFILE_DETAILS],
            "top_own": own, "process_vmhwm_mb": round(_vmhwm_mb(), 1)}  # fmt: skip


def _short(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        parts = Path(filename).parts
        return "/".join(parts[-2:]) if len(parts) > 1 else filename


def _child_generate(spec: dict) -> dict:
    from exchange_mock.synth import SynthConfig, generate_dataset

    t0 = time.perf_counter()
    synth = {**spec["synth"], "start_date": dt.date.fromisoformat(spec["synth"]["start_date"])}
    summary = generate_dataset(SynthConfig(**synth), Path(spec["out"]), overwrite=True)
    return {"wall_s": time.perf_counter() - t0, "rows": summary.rows,
            "markets": summary.markets, "bytes_on_disk": summary.bytes_on_disk}  # fmt: skip


_CHILDREN = {"sweep": _child_sweep, "cluster": _child_cluster, "validate": _child_validate,
             "profile": _child_profile, "generate": _child_generate}  # fmt: skip


def child_main(spec_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    load0 = os.getloadavg()
    try:
        out = _CHILDREN[spec["kind"]](spec)
    except Exception as exc:
        traceback.print_exc()
        out = {"error": f"{type(exc).__name__}: {exc}"}
    out["load_start"], out["load_end"] = list(load0), list(os.getloadavg())
    Path(spec["result"]).write_text(json.dumps(out, default=str))
    return 0
