"""How sweeps and validation matrices scale on this machine, on the demo week.

    python -m benchmarks.sweep_scale [--quick] [--out benchmarks/sweep_results.json]
                                     [--work DIR] [--day-cache DIR|env] [--twenty-markets]
                                     [--validation-days 1,3,7]

Every measurement runs in a fresh child process (``--child SPEC``), so a process's peak
memory is that measurement's alone and every serial run pays what a new worker pays
(imports, numba's cache load). The parts:

a) **sweeps**: ``exchange_mock.sweep.run_sweep`` of window_pair backtests (the demo
   validation config, an ``entry_price`` x seed grid, ``[fixed]`` ``data.start``/``end``)
   at ``workers=1`` (serial) and ``workers=2`` (a local Dask cluster), over 1 day and 7
   days: runs per minute end to end, the runs' ``wall_s`` and ``worker_peak_rss_mb``;
b) **cost growth**: seconds and events per run against days (1, 3, 7) and the markets
   replayed (one 15-minute window, the BTC series, BTC + ETH, every market), as seconds
   per million events, plus a least-squares line ``s = fixed + slope x events``;
c) **the 7-day demo validation** (``examples/window_pair_validation.toml``, 32 runs) end
   to end at 2 workers with a warm numba and day cache, against the 30 s target: where
   the wall time goes (start-up, each worker's busy and idle time, what follows the last
   run), a local Dask cluster's start-up and close on their own, and a cProfile of one
   run (``baseline``, seed 1) in-process with its time grouped by layer;
   ``--validation-days`` adds the same validation end to end over other day counts;
d) **memory**: peak RSS per worker (``/proc`` ``VmHWM``) of the 7-day runs against the
   1.5 GB goal, every market of the demo week, and with ``--twenty-markets`` a
   generated week of 20 concurrent markets.

Timing: ``run_sweep``'s ``sweep_one`` and the validation's ``runner._guarded`` are
wrapped (in the child only) to log each task's start, end, process and ``VmHWM`` to a
JSON-lines file; the wrapped functions run unchanged. The day cache is its own folder
(``<work>/days``, 32 GB cap) unless ``--day-cache env``: the first run over a selection
reads Parquet (reported as *cold*), later ones the cache. Measured, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.sweep_scale_child import child_main
from benchmarks.sweep_scale_tables import RSS_GOAL_MB, VALIDATION_TARGET_S, print_tables

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "sweep_results.json"
DEMO_DATA = ROOT / "data" / "generated" / "week"
DEMO_CONFIG = ROOT / "examples" / "window_pair_validation.toml"
STRATEGY_SOURCE = ROOT / "examples" / "window_pair.py"
WORK = Path(tempfile.gettempdir()) / "clobsim-sweep-scale"
BTC = "btc-updown-15m-*"
ETH = "eth-updown-15m-*"
#: a synthetic week of 20 markets open at any time: 8 crypto window series, three
#: neg-risk groups (4 + 3 + 3 outcomes) and 2 standalone event markets, at the demo's rate
TWENTY = {"crypto_assets": ["BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "HYPE", "ZEC"],
          "neg_risk_groups": [4, 3, 3], "event_markets": 2, "intensity": 0.25}  # fmt: skip


# ============================================================================ parent side
class Bench:
    """The work folder, the environment every child gets, and the children's results."""

    def __init__(self, work: Path, day_cache: str, con) -> None:
        self.work = work
        self.con = con
        self.env = dict(os.environ)
        if day_cache != "env":
            folder = Path(day_cache) if day_cache else work / "days"
            self.env["CLOBSIM_DAY_CACHE"] = str(folder)
            self.env["CLOBSIM_DAY_CACHE_GB"] = "32"
        self.cache_dir = self._cache_dir()
        self.errors: list[str] = []
        self._n = 0

    def _cache_dir(self) -> str | None:
        raw = self.env.get("CLOBSIM_DAY_CACHE")
        if raw is not None:
            return None if raw.strip().lower() in ("", "off") else raw
        base = self.env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return str(Path(base) / "clobsim" / "days")

    def cache_entries(self) -> int:
        d = Path(self.cache_dir) if self.cache_dir else None
        if d is None or not d.is_dir():
            return 0
        return sum(1 for e in d.iterdir() if e.is_dir() and not e.name.startswith("."))

    def child(self, what: str, spec: dict) -> dict:
        """Run one measurement in a fresh interpreter; its result (``error`` on failure)."""
        self._n += 1
        name = f"{self._n:02d}-{re.sub(r'[^a-z0-9]+', '-', what.lower()).strip('-')}"
        spec = {**spec, "result": str(self.work / f"{name}.result.json")}
        spec_path = self.work / f"{name}.spec.json"
        spec_path.write_text(json.dumps(spec, default=str))
        Path(spec["result"]).unlink(missing_ok=True)  # never read an earlier invocation's
        log = self.work / f"{name}.log"
        self.con.print(f"  {what} ...", highlight=False)
        entries0 = self.cache_entries()
        t0 = time.perf_counter()
        with open(log, "w") as f:
            rc = subprocess.run([sys.executable, "-m", "benchmarks.sweep_scale", "--child",
                                 str(spec_path)], cwd=ROOT, env=self.env, stdout=f,
                                stderr=subprocess.STDOUT).returncode  # fmt: skip
        wall = time.perf_counter() - t0
        try:
            out = json.loads(Path(spec["result"]).read_text())
        except (OSError, json.JSONDecodeError):
            out = {"error": f"the child exited {rc} without a result; see {log}"}
        out["process_wall_s"] = wall
        out["day_cache_entries_added"] = self.cache_entries() - entries0
        if "error" in out:
            self.errors.append(f"{what}: {out['error']}")
            self.con.print(f"  [red]{what}: {out['error']}[/] (log: {log})")
        return out


def ensure_demo_week(con) -> None:
    """The demo week, made by ``clobsim demo --summary-only`` when missing (as ``make demo``)."""
    if (DEMO_DATA / "dataset.json").is_file():
        return
    con.print(f"{DEMO_DATA} missing: clobsim demo --summary-only (first run only, ~2 min) ...")
    clobsim = Path(sys.executable).with_name("clobsim")
    subprocess.run([str(clobsim), "-q", "demo", "--summary-only", "--data", str(DEMO_DATA)],
                   cwd=ROOT, check=True)  # fmt: skip


def demo_week_facts() -> dict:
    """What the demo week holds: days, markets, rows, and markets open at once."""
    import numpy as np

    from sim.marketdata import Dataset

    ds = Dataset.open(DEMO_DATA)
    days = ds.days()
    series: dict[str, int] = defaultdict(int)
    for m in ds.markets:
        series[re.sub(r"-\d+$", "", m.slug)] += 1
    mid = (days[0].toordinal() - dt.date(1970, 1, 1).toordinal() + 0.5) * 86_400 * 10**9
    open_at = sum(1 for m in ds.markets if (m.start_ns or 0) <= mid < (m.end_ns or np.inf))
    one = sorted((m for m in ds.markets if m.slug.startswith("btc-updown-15m-")),
                 key=lambda m: m.start_ns or 0)  # fmt: skip
    first_window = next((m.slug for m in one if (m.start_ns or 0) >= mid), one[0].slug)
    return {"path": str(DEMO_DATA), "days": [str(d) for d in days], "rows": ds.meta.get("rows"),
            "markets": len(ds.markets), "series": dict(series),
            "markets_open_at_noon_day1": open_at, "one_window": first_window}  # fmt: skip


def sweep_grid(start: dt.date, days: int, prices: list[float], seeds: list[int],
               markets: list[str] | None = None) -> dict:  # fmt: skip
    fixed: dict[str, Any] = {
        "data.start": start.isoformat(),
        "data.end": (start + dt.timedelta(days=days - 1)).isoformat(),
    }
    if markets is not None:
        fixed["data.markets"] = markets
    return {"seeds": seeds, "grid": {"strategy.params.entry_price": prices}, "fixed": fixed}


def _scratch_config(work: Path, data: Path, name: str, validation: str) -> Path:
    """The demo validation config with another dataset and ``[validation]`` table, next to
    a copy of its strategy module (a config's strategy is imported from its folder)."""
    shutil.copy2(STRATEGY_SOURCE, work / STRATEGY_SOURCE.name)
    head = DEMO_CONFIG.read_text().split("\n[validation]")[0]
    head, n = re.subn(r'(?m)^path = ".*"$', f"path = {json.dumps(str(data))}", head, count=1)
    if n != 1:
        raise RuntimeError(f"no data path line in {DEMO_CONFIG}")
    path = work / name
    path.write_text(head.rstrip() + "\n\n[validation]\n" + validation)
    return path


def summarize_sweep(res: dict) -> dict:
    """Runs per minute (end to end and over the tasks' span), the run times, the memory."""
    if "error" in res:
        return res
    rows, tasks = res["rows"], res.get("tasks", [])
    walls = [r["wall_s"] for r in rows if r.get("wall_s") is not None]
    n = len(rows)
    span = (max(t["t1"] for t in tasks) - min(t["t0"] for t in tasks)) if tasks else None
    per_worker: dict[int, float] = defaultdict(float)
    for t in tasks:
        per_worker[t["pid"]] = max(per_worker[t["pid"]], t["vmhwm_mb"])
    events = [r["events"] for r in rows if r.get("events") is not None]
    return {
        "runs": n, "wall_s": res["wall_s"], "runs_per_min": 60 * n / res["wall_s"],
        "runs_per_min_tasks_span": 60 * n / span if span else None,
        "startup_s": (min(t["t0"] for t in tasks) - res["t0"]) if tasks else None,
        "tail_s": (res["t1"] - max(t["t1"] for t in tasks)) if tasks else None,
        "run_wall_s": {"min": min(walls), "p50": statistics.median(walls), "max": max(walls),
                       "mean": statistics.fmean(walls), "all": walls},
        "task_s_mean": statistics.fmean(t["task_s"] for t in tasks) if tasks else None,
        "events_per_run": statistics.median(events) if events else None,
        "s_per_m_events": (statistics.median(walls) / (statistics.median(events) / 1e6)
                           if events and walls else None),
        "worker_peak_rss_mb_max": max(r["worker_peak_rss_mb"] for r in rows),
        "worker_vmhwm_mb": dict(per_worker),
        "verdicts": {v: sum(1 for r in rows if r["verdict"] == v)
                     for v in {r["verdict"] for r in rows}},
        "process_wall_s": res["process_wall_s"], "load_start": res["load_start"],
        "load_end": res["load_end"], "day_cache_entries_added": res["day_cache_entries_added"],
    }  # fmt: skip


def cost_point(label: str, days: int, markets: str, res: dict, warm: bool) -> dict:
    """One point of the cost curves: the median run (warm: the fastest after the first, which
    also loads numba's cache)."""
    if "error" in res:
        return {"case": label, "days": days, "markets": markets, **res}
    rows = res["rows"]
    pick = rows[1:] if warm and len(rows) > 1 else rows
    walls = sorted(r["wall_s"] for r in pick)
    wall = walls[0] if warm else statistics.median(walls)
    events = int(statistics.median(r["events"] for r in pick))
    return {"case": label, "days": days, "markets": markets, "cache": "warm" if warm else "cold",
            "runs": len(rows), "events_per_run": events, "s_per_run": wall,
            "s_per_m_events": wall / (events / 1e6) if events else None,
            "first_run_s": rows[0]["wall_s"],
            "peak_rss_mb": max(r["worker_peak_rss_mb"] for r in rows),
            "day_cache_entries_added": res["day_cache_entries_added"],
            "load_start": res["load_start"], "load_end": res["load_end"]}  # fmt: skip


def fit_line(points: list[dict]) -> dict | None:
    """Least squares ``s_per_run = fixed_s + s_per_m_events x events / 1e6``."""
    xs = [p["events_per_run"] / 1e6 for p in points if p.get("events_per_run")]
    ys = [p["s_per_run"] for p in points if p.get("events_per_run")]
    if len(xs) < 2 or len(set(xs)) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return {"fixed_s": my - slope * mx, "s_per_m_events": slope, "points": len(xs)}


def validation_budget(val: dict, cluster: dict, profile: dict, workers: int) -> dict:
    """Where the validation's wall time goes (see the module doc)."""
    tasks = val.get("tasks", [])
    if not tasks:
        return {}
    first, last = min(t["t0"] for t in tasks), max(t["t1"] for t in tasks)
    span = last - first
    busy: dict[int, float] = defaultdict(float)
    count: dict[int, int] = defaultdict(int)
    for t in tasks:
        busy[t["pid"]] += t["task_s"]
        count[t["pid"]] += 1
    sum_task = sum(t["task_s"] for t in tasks)
    sum_run = sum(t["run_s"] or 0.0 for t in tasks)
    out = {
        "wall_s": val["wall_s"], "target_s": VALIDATION_TARGET_S,
        "x_target": val["wall_s"] / VALIDATION_TARGET_S, "runs": len(tasks),
        "before_first_run_s": first - val["t0"], "runs_span_s": span,
        "after_last_run_s": val["t1"] - last, "sum_task_s": sum_task, "sum_run_s": sum_run,
        "setup_and_metrics_outside_run_s": sum_task - sum_run,
        "worker_idle_s": max(workers * span - sum_task, 0.0),
        "per_worker": {str(p): {"tasks": count[p], "busy_s": busy[p]} for p in busy},
        "mean_run_s": sum_run / len(tasks), "mean_task_s": sum_task / len(tasks),
        "parent_steps_s": val.get("parent_steps_s", {}),
        "cluster_start_s": cluster.get("start_s"), "cluster_close_s": cluster.get("close_s"),
        "worker_import_s": max(cluster.get("worker_import_s") or [0.0]),
    }  # fmt: skip
    layers = profile.get("layers_s") or {}
    total = sum(layers.values())
    if total:
        # the profiled run's shares applied to the unprofiled runs' time on the workers
        out["runs_by_layer_s"] = {k: sum_task * v / total / workers for k, v in layers.items()}
    fixed = out["before_first_run_s"] + out["after_last_run_s"]
    per_run_budget = (VALIDATION_TARGET_S - fixed) * workers / len(tasks)
    out["per_task_budget_for_target_s"] = per_run_budget
    events = statistics.median(r["events"] for r in val["runs"]) if val.get("runs") else None
    if events:
        out["events_per_run"] = events
        out["s_per_m_events_needed"] = per_run_budget / (events / 1e6)
        out["s_per_m_events_now"] = out["mean_task_s"] / (events / 1e6)
    return out


# ============================================================================ the plan
def _validation_summary(val: dict) -> dict:
    if "error" in val:
        return {"error": val["error"]}
    tasks = val.get("tasks", [])
    return {"wall_s": val["wall_s"], "runs": len(tasks),
            "mean_run_s": statistics.fmean(t["run_s"] for t in tasks) if tasks else None,
            "peak_rss_mb_per_worker": max((t["vmhwm_mb"] for t in tasks), default=None),
            "load_start": val["load_start"], "load_end": val["load_end"]}  # fmt: skip


def measure(bench: Bench, quick: bool, twenty: bool, validation_days: list[int]) -> dict:
    con = bench.con
    ensure_demo_week(con)
    facts = demo_week_facts()
    start = dt.date.fromisoformat(facts["days"][0])
    cfg = str(DEMO_CONFIG)
    one = facts["one_window"]
    res: dict[str, Any] = {"demo_week": facts}
    sw = bench.work / "sweeps"
    sw.mkdir(exist_ok=True)

    def sweep(what: str, days: int, workers: int, prices: list[float], seeds: list[int],
              markets: list[str] | None = None, config: str = cfg) -> dict:  # fmt: skip
        slug = re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")
        return bench.child(what, {"kind": "sweep", "config": config, "workers": workers,
                                  "grid": sweep_grid(start, days, prices, seeds, markets),
                                  "out": str(sw / slug)})  # fmt: skip

    long_days = 1 if quick else 7
    con.print("[bold]priming[/]: first runs over each selection (a cold day cache reads Parquet)")
    primes = [("BTC series", long_days, BTC, None)]
    if not quick:
        primes += [("every market", 7, "all", []), ("BTC + ETH series", 1, f"{BTC}, {ETH}",
                                                    [BTC, ETH])]  # fmt: skip
    primes.append(("one window", 1, one, [one]))
    res["prime"] = {}
    for label, days, shown, markets in primes:
        r = sweep(f"first run {label} {days}d", days, 1, [0.45], [1], markets)
        p = cost_point(f"{label}, first run", days, shown, r, warm=False)
        p["cache"] = "cold" if r.get("day_cache_entries_added") else "warm"
        res["prime"][label] = p

    con.print("[bold]a) sweeps[/] (warm caches)")
    plans = ([(1, [0.45, 0.47], [1])] if quick
             else [(1, [0.43, 0.45, 0.47, 0.49], [1, 2]), (7, [0.45, 0.47], [1, 2])])  # fmt: skip
    sweeps, raw_sweeps = [], {}
    for days, prices, seeds in plans:
        for workers in (1, 2):
            r = sweep(f"sweep {days}d x{len(prices) * len(seeds)} w{workers}", days, workers,
                      prices, seeds)  # fmt: skip
            raw_sweeps[(days, workers)] = r
            sweeps.append({"days": days, "workers": workers, **summarize_sweep(r)})
    res["sweeps"] = sweeps

    con.print("[bold]b) cost growth[/] (warm caches; 3 runs each unless reused from a)")
    cost = [cost_point("BTC series", 1, BTC, raw_sweeps[(1, 1)], warm=True)]
    if not quick:
        btc3 = sweep("cost BTC 3d", 3, 1, [0.45], [1, 2, 3])
        cost.append(cost_point("BTC series", 3, BTC, btc3, warm=True))
        cost.append(cost_point("BTC series", 7, BTC, raw_sweeps[(7, 1)], warm=True))
    cost.append(
        cost_point(
            "one window",
            1,
            one,
            sweep("cost one window 1d", 1, 1, [0.45], [1, 2, 3], [one]),
            warm=True,
        )
    )
    if not quick:
        cost.append(cost_point("BTC + ETH series", 1, f"{BTC}, {ETH}",
                               sweep("cost BTC+ETH 1d", 1, 1, [0.45], [1, 2, 3], [BTC, ETH]),
                               warm=True))  # fmt: skip
        cost.append(
            cost_point(
                "every market",
                1,
                "all",
                sweep("cost all markets 1d", 1, 1, [0.45], [1, 2, 3], []),
                warm=True,
            )
        )
        cost.append(
            cost_point(
                "every market",
                7,
                "all",
                sweep("cost all markets 7d", 7, 1, [0.45], [1], []),
                warm=True,
            )
        )
    res["cost"] = cost
    res["cost_fit_btc_days"] = fit_line([p for p in cost if p.get("markets") == BTC])
    res["cost_fit_all"] = fit_line([p for p in cost if "s_per_run" in p])

    con.print("[bold]c) validation[/] (2 workers, warm caches)")
    if quick:
        config = _scratch_config(
            bench.work,
            DEMO_DATA,
            "quick_validation.toml",
            'days = 1\nseeds = [1]\nscenarios = ["baseline", "kill_switch"]\n',
        )
        config = str(config)
    else:
        config = cfg
    cluster = bench.child("dask cluster start/close (2 workers)",
                          {"kind": "cluster", "workers": 2})  # fmt: skip
    val = bench.child("validation end to end (2 workers)",
                      {"kind": "validate", "config": config, "workers": 2,
                       "out": str(bench.work / "validation")})  # fmt: skip
    profile = bench.child("cProfile of one run (baseline, seed 1)",
                          {"kind": "profile", "config": config, "scenario": "baseline",
                           "seed": 1})  # fmt: skip
    res["validation"] = {"config": config, "result": {k: v for k, v in val.items()
                                                      if k not in ("tasks",)},
                         "tasks": val.get("tasks", []), "cluster": cluster, "profile": profile,
                         "budget": validation_budget(val, cluster, profile, 2)}  # fmt: skip
    others = [] if quick else [d for d in validation_days if d != 7]
    res["validation_by_days"] = [{"days": 7, **_validation_summary(val)}] if not quick else []
    for days in others:
        text = f"days = {days}\nseeds = [1, 2]\n"
        path = _scratch_config(bench.work, DEMO_DATA, f"validation_{days}d.toml", text)
        r = bench.child(f"validation {days}d end to end (2 workers)",
                        {"kind": "validate", "config": str(path), "workers": 2,
                         "out": str(bench.work / f"validation_{days}d")})  # fmt: skip
        res["validation_by_days"].append({"days": days, **_validation_summary(r)})
    res["validation_by_days"].sort(key=lambda r: r["days"])

    con.print("[bold]d) memory[/]")
    mem = []
    for s in sweeps:
        if "worker_peak_rss_mb_max" in s:
            mem.append({"case": f"sweep {s['days']}d BTC, workers={s['workers']}",
                        "peak_rss_mb": s["worker_peak_rss_mb_max"]})  # fmt: skip
    if val.get("tasks"):
        mem.append({"case": f"validation {val.get('days')}d BTC, per worker",
                    "peak_rss_mb": max(t["vmhwm_mb"] for t in val["tasks"])})  # fmt: skip
    for p in cost:
        if p.get("markets") == "all" or p.get("case") == "one window":
            mem.append({"case": f"{p['case']} {p['days']}d (serial)",
                        "peak_rss_mb": p.get("peak_rss_mb")})  # fmt: skip
    for p in res["prime"].values():
        if p.get("days", 0) > 1 or p.get("cache") == "cold":
            mem.append({"case": f"{p['case']} {p['days']}d ({p.get('cache')} day cache, serial)",
                        "peak_rss_mb": p.get("peak_rss_mb")})  # fmt: skip
    if twenty and not quick:
        res["twenty_markets"] = measure_twenty(bench, start)
        for p in res["twenty_markets"].get("points", []):
            mem.append({"case": f"20 markets 7d ({p.get('cache')} day cache)",
                        "peak_rss_mb": p.get("peak_rss_mb")})  # fmt: skip
    for m in mem:
        v = m.get("peak_rss_mb")
        m["vs_goal"] = None if v is None else v / RSS_GOAL_MB
    res["memory"] = mem
    return res


def measure_twenty(bench: Bench, start: dt.date) -> dict:
    """A generated week of 20 markets open at once: one run over all of it, cold then warm."""
    data = bench.work / "week20"
    synth = {**TWENTY, "days": 7, "start_date": start.isoformat()}
    meta = data / "dataset.json"
    gen = None
    have = json.loads(meta.read_text()).get("config", {}) if meta.is_file() else {}
    if any(have.get(k) != v for k, v in synth.items()):
        gen = bench.child(
            "generate the 20-market week", {"kind": "generate", "out": str(data), "synth": synth}
        )
        if "error" in gen:
            return {"generate": gen}
    config = str(_scratch_config(bench.work, data, "twenty.toml", "days = 7\nseeds = [1]\n"))

    def one(what: str) -> dict:
        return bench.child(
            what,
            {
                "kind": "sweep",
                "config": config,
                "workers": 1,
                "grid": sweep_grid(start, 7, [0.45], [1], []),
                "out": str(bench.work / "sweeps" / what.replace(" ", "-")),
            },
        )

    cold = one("20 markets 7d first")
    warm = one("20 markets 7d again")
    points = [
        cost_point("20 markets", 7, "all", cold, warm=False),
        cost_point("20 markets", 7, "all", warm, warm=False),
    ]
    for p, r in zip(points, (cold, warm), strict=True):
        p["cache"] = "cold" if r.get("day_cache_entries_added") else "warm"
    from sim.marketdata import Dataset

    ds = Dataset.open(data)
    return {"synth": synth, "generate": gen, "rows": ds.meta.get("rows"),
            "markets": len(ds.markets), "points": points}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 day, a few runs (a smoke check)")
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON results (default {RESULTS}; --quick: <work>/quick.json)",
    )
    ap.add_argument("--work", type=Path, default=WORK, help=f"scratch folder (default {WORK})")
    ap.add_argument(
        "--day-cache",
        default="",
        help="day cache folder (default <work>/days); 'env': the environment's",
    )
    ap.add_argument(
        "--twenty-markets",
        action="store_true",
        help="also generate a week of 20 concurrent markets and run it (~10 min)",
    )
    ap.add_argument(
        "--validation-days",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[7],
        help="also run the validation end to end over these days (e.g. 1,3,7; default 7)",
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        return child_main(args.child)
    from rich.console import Console

    con = Console(width=None if sys.stdout.isatty() else 150)
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.out or (args.work / "quick.json" if args.quick else RESULTS)
    bench = Bench(args.work, args.day_cache, con)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    res = measure(bench, args.quick, args.twenty_markets, args.validation_days)
    res["meta"] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "quick": args.quick,
        "cpus": os.cpu_count(), "load_start": list(load0), "load_end": list(os.getloadavg()),
        "wall_s": time.perf_counter() - t0, "day_cache": bench.cache_dir, "work": str(args.work),
        "command": " ".join(["python -m benchmarks.sweep_scale", *(argv or sys.argv[1:])]),
        "errors": bench.errors,
    }  # fmt: skip
    out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    print_tables(con, res)
    m = res["meta"]
    con.print(f"load average {m['load_start'][0]:.2f} -> {m['load_end'][0]:.2f} (1 min); "
              f"{m['wall_s']:.0f} s in all; wrote {out}")  # fmt: skip
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
