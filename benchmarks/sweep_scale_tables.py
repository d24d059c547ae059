"""The tables ``benchmarks.sweep_scale`` prints from its results (printing only)."""

from __future__ import annotations

from typing import Any

#: the issue's targets
VALIDATION_TARGET_S = 30.0
RSS_GOAL_MB = 1536.0  # 1.5 GB, in the MiB that ru_maxrss / VmHWM report


# ============================================================================ printing
def _f(x: Any, fmt: str = ",.1f") -> str:
    return "-" if x is None else format(x, fmt)


def _load(r: dict) -> str:
    a, b = r.get("load_start"), r.get("load_end")
    return "-" if not a or not b else f"{a[0]:.1f}->{b[0]:.1f}"


def print_tables(con, res: dict) -> None:
    from rich.table import Table

    t = Table(title="a) sweeps of window_pair backtests (warm numba + day cache)")
    for c in ("days", "workers", "runs", "wall s", "runs/min", "runs/min (span)", "start-up s",
              "run s p50 [min-max]", "task s mean", "s per M ev", "peak RSS/worker MB",
              "load 1m"):  # fmt: skip
        t.add_column(c, justify="right")
    for s in res["sweeps"]:
        if "error" in s:
            t.add_row(str(s["days"]), str(s["workers"]), "error", s["error"])
            continue
        w = s["run_wall_s"]
        t.add_row(str(s["days"]), str(s["workers"]), str(s["runs"]), _f(s["wall_s"]),
                  _f(s["runs_per_min"]), _f(s["runs_per_min_tasks_span"]), _f(s["startup_s"]),
                  f"{w['p50']:.1f} [{w['min']:.1f}-{w['max']:.1f}]", _f(s["task_s_mean"]),
                  _f(s["s_per_m_events"], ".3f"), _f(s["worker_peak_rss_mb_max"], ",.0f"),
                  _load(s))  # fmt: skip
    con.print(t)

    t = Table(title="b) cost per run against days and markets (serial, warm unless 'cold')")
    for c in ("case", "days", "cache", "events/run", "s/run", "s per M events", "s per day",
              "first run s", "peak RSS MB", "load 1m"):  # fmt: skip
        t.add_column(c, justify="right" if c != "case" else "left")
    twenty = (res.get("twenty_markets") or {}).get("points", [])
    for p in [*res["cost"], *res["prime"].values(), *twenty]:
        if "error" in p:
            t.add_row(p["case"], str(p["days"]), "error", p["error"])
            continue
        t.add_row(p["case"], str(p["days"]), p["cache"], f"{p['events_per_run']:,}",
                  _f(p["s_per_run"], ".2f"), _f(p["s_per_m_events"], ".3f"),
                  _f(p["s_per_run"] / p["days"], ".2f"), _f(p["first_run_s"], ".2f"),
                  _f(p["peak_rss_mb"], ",.0f"), _load(p))  # fmt: skip
    con.print(t)
    for key, what in (("cost_fit_btc_days", "BTC over days"), ("cost_fit_all", "every point")):
        fit = res.get(key)
        if fit:
            con.print(f"  fit ({what}): s/run = {fit['fixed_s']:.2f} s + "
                      f"{fit['s_per_m_events']:.3f} s x M events")  # fmt: skip

    v = res["validation"]
    b = v.get("budget") or {}
    if b:
        t = Table(title=f"c) validation end to end, {b['runs']} runs at 2 workers: "
                        f"{b['wall_s']:.1f} s = {b['x_target']:.1f}x the "
                        f"{VALIDATION_TARGET_S:.0f} s target")  # fmt: skip
        t.add_column("where the time goes")
        t.add_column("s", justify="right")
        rows = [("before the first run (config, dataset, cluster, worker imports)",
                 b["before_first_run_s"]),
                ("  of which: local cluster start (measured alone)", b["cluster_start_s"]),
                ("  of which: a fresh worker importing clobsim (measured alone)",
                 b["worker_import_s"]),
                ("runs on the workers (first start to last end)", b["runs_span_s"]),
                ("  sum of bt.run() over runs", b["sum_run_s"]),
                ("  sum of per-run setup + metrics outside bt.run()",
                 b["setup_and_metrics_outside_run_s"]),
                ("  worker idle inside the span (imbalance, scheduling, transfer)",
                 b["worker_idle_s"]),
                ("after the last run (gather, cluster close, checks, report)",
                 b["after_last_run_s"])]  # fmt: skip
        for k, s in b.get("parent_steps_s", {}).items():
            rows.append((f"  parent, cProfile: {k}", s))
        rows.append(("local cluster close (measured alone)", b["cluster_close_s"]))
        for k, s in (b.get("runs_by_layer_s") or {}).items():
            rows.append((f"runs' span by layer (profile shares): {k}", s))
        for label, s in rows:
            t.add_row(label, _f(s, ".2f"))
        con.print(t)
        con.print(f"  mean run {b['mean_task_s']:.2f} s (bt.run {b['mean_run_s']:.2f} s) over "
                  f"{_f(b.get('events_per_run'), ',.0f')} events; 30 s needs <= "
                  f"{b['per_task_budget_for_target_s']:.2f} s per run = "
                  f"{_f(b.get('s_per_m_events_needed'), '.3f')} s per M events "
                  f"(now {_f(b.get('s_per_m_events_now'), '.3f')})")  # fmt: skip
    if len(res.get("validation_by_days", [])) > 1:
        t = Table(title="c) validation end to end at 2 workers, by days")
        for c in ("days", "runs", "wall s", "x target", "mean run s", "peak RSS/worker MB",
                  "load 1m"):  # fmt: skip
            t.add_column(c, justify="right")
        for r in res["validation_by_days"]:
            if "error" in r:
                t.add_row(str(r["days"]), "error", r["error"])
                continue
            t.add_row(str(r["days"]), str(r["runs"]), _f(r["wall_s"]),
                      _f(r["wall_s"] / VALIDATION_TARGET_S, ".1f"), _f(r["mean_run_s"], ".2f"),
                      _f(r["peak_rss_mb_per_worker"], ",.0f"), _load(r))  # fmt: skip
        con.print(t)
    p = v.get("profile") or {}
    if p.get("layers_s"):
        total = sum(p["layers_s"].values())
        t = Table(title=f"c) cProfile of one run ({p['scenario']} s{p['seed']}, {p['days']} d, "
                        f"{_f(p.get('events'), ',.0f')} events): {p['profiled_wall_s']:.1f} s "
                        "profiled, own time by layer")  # fmt: skip
        t.add_column("layer")
        t.add_column("s", justify="right")
        t.add_column("%", justify="right")
        for k, s in p["layers_s"].items():
            t.add_row(k, f"{s:.2f}", f"{100 * s / total:.0f}")
        con.print(t)
        t = Table(title="the data path and the per-wake-up costs in that run (profiled)")
        for c in ("what", "calls", "cum s"):
            t.add_column(c, justify="left" if c == "what" else "right")
        for d in p.get("details", []):
            t.add_row(d["what"], f"{d['calls']:,}", f"{d['cum_s']:.2f}")
        con.print(t)
        t = Table(title="top functions by cumulative time (profiled)")
        for c in ("function", "calls", "own s", "cum s", "layer"):
            t.add_column(c, justify="left" if c in ("function", "layer") else "right")
        for row in p["top_cumulative"][:15]:
            t.add_row(row["function"], f"{row['calls']:,}", f"{row['own_s']:.2f}",
                      f"{row['cum_s']:.2f}", row["layer"])  # fmt: skip
        con.print(t)

    t = Table(title=f"d) peak RSS per worker against the {RSS_GOAL_MB / 1024:.1f} GB goal")
    for c in ("case", "peak RSS MB", "x goal"):
        t.add_column(c, justify="left" if c == "case" else "right")
    for m in res["memory"]:
        t.add_row(m["case"], _f(m.get("peak_rss_mb"), ",.0f"), _f(m.get("vs_goal"), ".2f"))
    con.print(t)
