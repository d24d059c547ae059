"""Run the scenario x seed matrix: each run a full backtest under its faults.

Runs are independent processes' worth of work: by default they are spread over a
local Dask cluster, or a cluster's workers (``exchange_mock.parallel``); results are
collected by run and sorted by (scenario, seed), so a parallel run equals a serial one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exchange_mock.backtest import Backtest
from exchange_mock.faults import FaultInjector
from exchange_mock.validation.scenarios import BY_NAME, Scenario
from sim.backtest_config import BacktestConfig, FaultsConfig, VenueConfig
from sim.executor import LimitsConfig
from sim.report.labels import market_label
from sim.strategy_loader import accepted_params, load_strategy
from sim.types import OrderStatus, Side

NS = 1_000_000_000
#: executor refusals whose times the checks match to injections
TIMED_REASONS = frozenset({"balance_unknown", "zero_balance", "cancel_only"})


@dataclass
class RunOutcome:
    scenario: str
    seed: int
    metrics: dict
    artifacts: dict = field(default_factory=dict)
    #: set when the run itself failed (scenario, seed, line, traceback): no metrics
    failure: dict | None = None


def _config_for(base: BacktestConfig, sc: Scenario, seed: int) -> tuple[BacktestConfig, list]:
    """The scenario's config and what it tested in place of the user's own settings. The
    config's own ``[faults]`` never apply: each scenario injects exactly its own. A paper
    or live config is validated as the backtest of the same strategy, executor and risk
    settings (on the simulated CLOB's defaults when its venue is Polymarket itself, with a
    paper config's fill model: its latency and queue model)."""
    venue = base.venue
    if venue.kind != "sim":  # a paper config's fill model carries over; live: the defaults
        venue = VenueConfig(queue_model=venue.queue_model, queue_power=venue.queue_power,
                            latency=venue.latency)  # fmt: skip
    cfg = dataclasses.replace(base, seed=seed, faults=FaultsConfig(), mode="backtest",
                              venue=venue)  # fmt: skip
    tested = []
    risk = dict(sc.risk)
    for st in sc.stand_ins:
        value, yours = st.choose(base)
        risk[st.key] = value
        tested.append({"setting": f"risk.{st.key}", "yours": getattr(base.risk, st.key),
                       "tested": value, "stand_in": not yours})  # fmt: skip
    if risk:
        cfg = dataclasses.replace(cfg, risk=dataclasses.replace(cfg.risk, **risk))
    if sc.limits:
        limits = dataclasses.replace(cfg.executor.limits, **sc.limits)
        cfg = dataclasses.replace(cfg, executor=dataclasses.replace(cfg.executor, limits=limits))
    if sc.cash_usdc is not None:
        cfg = dataclasses.replace(cfg, cash_usdc=sc.cash_usdc)
    return cfg, tested


def run_one(base: BacktestConfig, base_dir: str, scenario: str, seed: int) -> RunOutcome:
    """One backtest of ``scenario`` with ``seed``; returns numbers and tables for the checks.

    A strategy that raises does not raise here: its run stops (trading halted) and the
    metrics carry ``strategy_error``. Anything else raising is the run failing, reported
    by ``run_matrix``."""
    sc = BY_NAME[scenario]
    cfg, tested = _config_for(base, sc, seed)
    if sc.strategy_params:
        accepted = accepted_params(cfg.strategy, Path(base_dir))
        extra = {k: v for k, v in sc.strategy_params.items() if k in accepted}
        params = {**cfg.strategy.params, **extra}
        cfg = dataclasses.replace(cfg, strategy=dataclasses.replace(cfg.strategy, params=params))
    strategy = load_strategy(cfg.strategy, Path(base_dir))
    logging.getLogger("clobsim.alerts").disabled = True  # alerts go to the report instead
    plan = sc.plan(seed, base)
    injector = FaultInjector(plan) if plan is not None else None
    with tempfile.TemporaryDirectory(prefix="clobsim-validate-") as tmp:
        # each run its own kill-switch file: a drill must never halt the next run (or you)
        kill = str(Path(tmp) / "kill_switch")
        cfg = dataclasses.replace(
            cfg, executor=dataclasses.replace(cfg.executor, kill_switch_path=kill)
        )
        bt = Backtest.from_config(cfg, strategy, fault_hook=injector)
        drill: list[int] = []
        if sc.kill_switch_at_s is not None:
            bt.on_start = _kill_switch_action(sc.kill_switch_at_s, drill)
        t0 = time.perf_counter()
        res = bt.run()
        wall = time.perf_counter() - t0
    arts = _artifacts(res)
    labels = {m.condition_id: market_label(m.slug, m.start_ns, m.end_ns) if m.slug
              else m.condition_id for m in bt.venue.markets()}  # fmt: skip
    pnl = bt.executor.pnl.pnl_by_market(bt.executor._mark)
    arts["pnl_by_market"] = pd.Series({labels.get(k, k): v for k, v in pnl.items()}, dtype=float)
    metrics = run_metrics(bt, res, cfg, injector, wall)
    metrics["tested"] = tested
    metrics["drill_ns"] = drill[0] if drill else None
    if sc.fault_params is not None:
        metrics["fault_params"] = sc.fault_params(base)
    return RunOutcome(scenario, seed, metrics, arts)


def _kill_switch_action(at_s: float, drill: list[int]):
    def install(bt: Backtest) -> None:
        ex, clock = bt.executor, bt.venue.clock
        at = clock.now_ns() + round(at_s * NS)
        drill.append(at)
        clock.schedule("__kill_switch_drill__", at,
                       lambda timer: ex.trip_kill_switch("validation drill"))  # fmt: skip

    return install


def run_metrics(
    bt: Backtest, res, cfg: BacktestConfig, injector, wall: float, *,
    venue_ns: Callable[[int], int] | None = None, by_venue_id: bool = False,
) -> dict:  # fmt: skip
    """The run's evidence. ``bt`` needs ``executor`` and ``venue`` (the venue's own books:
    ``order_states``, ``positions``, ``markets``). ``venue_ns`` maps the venue's times
    (order arrival, injections) onto the executor's clock (a live run: the replay's data
    time onto the wall clock); ``by_venue_id``: the venue names orders by their venue id
    (the live venue's order hash), not by the executor's client id."""
    ex, venue = bt.executor, bt.venue
    tr = ex.tracker
    s = res.summary
    to_ours = venue_ns or (lambda t: t)
    # orders that reached the venue, by its own books (their times on our clock)
    venue_orders = venue.order_states()
    if venue_ns is not None:
        venue_orders = [dataclasses.replace(o, created_ns=venue_ns(o.created_ns))
                        for o in venue_orders]  # fmt: skip
    sent = {o.client_order_id for o in venue_orders}
    ours = ({o.venue_order_id for o in tr.orders.values() if o.venue_order_id} if by_venue_id
            else set(tr.orders))  # fmt: skip
    venue_pos = venue.positions()
    assets = set(venue_pos) | {a for a, v in tr.positions.items() if abs(v) > 1e-9}
    pos_gap = max((abs(tr.positions.get(a, 0.0) - venue_pos.get(a, 0.0)) for a in assets),
                  default=0.0)  # fmt: skip
    halt_ns = ex.halts[0][0] if ex.halts else None
    after_halt = sum(1 for o in venue_orders if halt_ns is not None and o.created_ns > halt_ns)
    open_after = sum(1 for o in venue_orders if not o.status.terminal) if halt_ns else 0
    down = _intervals(ex.feed_events)
    sent_while_down = sum(
        1 for o in venue_orders
        if any(a <= o.created_ns < b for a, b in down) and o.side is Side.BUY
    )  # fmt: skip
    slips = np.array([r.excess_per_share for r in ex.slippage]) if ex.slippage else np.zeros(0)
    eq = res.equity
    min_cash = float(min(eq["cash_usdc"].min(), tr.cash_usdc)) if len(eq) else tr.cash_usdc
    partial = sum(
        1 for o in tr.orders.values()
        if o.status.terminal and 0 < o.filled_shares < o.request.size_shares - 1e-9
    )  # fmt: skip
    risk = ex.risk
    trips = []
    for e in risk.events if risk is not None else []:
        if e.kind != "trip":
            continue
        resets = [
            r.ts_ns for r in risk.events
            if r.breaker == e.breaker and r.kind == "reset" and r.ts_ns > e.ts_ns
        ]  # fmt: skip
        until = resets[0] if resets else np.iinfo(np.int64).max
        risky_after = sum(
            1 for o in venue_orders if o.side is Side.BUY and e.ts_ns < o.created_ns < until
        )
        trips.append({"breaker": e.breaker, "ts_ns": e.ts_ns, "value": e.value,
                      "threshold": e.threshold, "risk_orders_after": risky_after})  # fmt: skip
    calls = {
        k: {"calls": st.calls, "attempts": st.attempts, "retries": st.retries,
            "timeouts": st.timeouts, "transient_errors": st.transient_errors,
            "max_elapsed_s": st.max_elapsed_s, "deadline_s": st.deadline_s,
            "over_deadline": st.over_deadline}
        for k, st in ex.caller.stats.items()
    }  # fmt: skip
    refusals = res.refusals.reason.value_counts().to_dict() if len(res.refusals) else {}
    mine = res.refusals[res.refusals.source == "executor"] if len(res.refusals) else None
    venue_refusals = (res.refusals[res.refusals.source == "venue"].reason.value_counts().to_dict()
                      if len(res.refusals) else {})  # fmt: skip
    alerts = res.alerts.kind.value_counts().to_dict() if len(res.alerts) else {}
    timed = [(r.ts_ns, r.reason) for r in ex.refusals if r.reason in TIMED_REASONS]
    err = res.error
    return {
        "strategy_error": err.as_dict() | {"line": err.line} if err is not None else None,
        "volume_usdc": float(s["Volume [USDC]"]),
        "executor_refusals": len(mine) if mine is not None else 0,
        "venue_refusal_reasons": venue_refusals,
        "refusal_events": timed,
        "injections": [
            {
                "id": i.id,
                "kind": i.kind,
                "call": i.call,
                "ts_ns": to_ours(i.ts_ns),
                "end_ns": to_ours(i.end_ns),
            }
            for i in (injector.injections if injector is not None else [])
        ],
        "feed_events": [(int(t), bool(c), r) for t, c, r in ex.feed_events],
        "feed_silence_s": cfg.executor.feed_silence_s,
        "balance_ttl_s": cfg.executor.balance_ttl_s,
        "min_tick": min((m.tick_size for m in venue.markets()), default=0.01),
        "events": int(s["Events"]),
        "wall_s": wall,
        "orders": int(s["Orders"]),
        "fills": int(s["Fills"]),
        "refusals": int(s["Refusals"]),
        "pnl_usdc": float(s["Final equity [USDC]"] - s["Initial cash [USDC]"]),
        "return_pct": float(s["Return [%]"]),
        "max_drawdown_pct": float(s["Max. Drawdown [%]"]),
        "fees_usdc": float(s["Fees [USDC]"]),
        "halts": len(ex.halts),
        "breaker_trips": len(trips),
        "trips": trips,
        "injected": dict(injector.counts) if injector is not None else {},
        "venue_orders": len(sent),
        "executor_orders": len(ours),
        "unknown_at_venue": len(sent - ours),
        "doubled_orders": max(len(sent) - len(ours), 0),
        "position_gap_shares": pos_gap,
        "orders_after_halt": after_halt,
        "open_after_halt": open_after,
        "halt_ns": halt_ns,
        "feed_down_intervals": len(down),
        "risk_orders_while_feed_down": sent_while_down,
        "slippage_max": float(slips.max()) if len(slips) else 0.0,
        "slippage_p50": float(np.percentile(slips, 50)) if len(slips) else 0.0,
        "slippage_p95": float(np.percentile(slips, 95)) if len(slips) else 0.0,
        "max_slippage_bound": cfg.executor.max_slippage,
        "min_cash_usdc": min_cash,
        "partial_fill_orders": partial,
        "lost_orders": len(ex.lost),
        "calls": calls,
        "refusal_reasons": refusals,
        "alerts": alerts,
        "fok_partial_alerts": alerts.get("fok_partial", 0),
    }


def _intervals(events: list[tuple[int, bool, str]]) -> list[tuple[int, int]]:
    out, start = [], None
    for ts, connected, _ in events:
        if not connected and start is None:
            start = ts
        elif connected and start is not None:
            out.append((start, ts))
            start = None
    if start is not None:
        out.append((start, np.iinfo(np.int64).max))
    return out


def _artifacts(res) -> dict:
    halts = pd.DataFrame(columns=["time", "reason"])
    if len(res.alerts):
        halts = res.alerts[res.alerts.kind == "kill_switch"][["time", "message"]]
        halts = halts.rename(columns={"message": "reason"})
    return {
        "equity": res.equity,
        "fills": res.fills,
        "breakers": res.breakers,
        "halts": halts,
        "calls": res.calls,
        "orders": res.orders,
        "refusals": res.refusals,
        "alerts": res.alerts,
    }


def _guarded(base: BacktestConfig, base_dir: str, scenario: str, seed: int) -> RunOutcome:
    """``run_one``, with a run that fails (not the strategy: clobsim, the data, the
    machine) turned into an outcome that says so, so the report is still written."""
    from exchange_mock.parallel import release_memory

    try:
        return run_one(base, base_dir, scenario, seed)
    except Exception as exc:  # reported as a failed run, with its traceback
        import traceback

        return RunOutcome(scenario, seed, {}, failure={
            "scenario": scenario, "seed": seed, "line": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc)),
        })  # fmt: skip
    finally:
        release_memory()  # the run's object graph (books, day arrays) goes before the next


def run_matrix(
    base: BacktestConfig, base_dir: str, scenarios: list[str], seeds: list[int],
    workers: int = 0, on_done: Callable[[RunOutcome], None] | None = None,
    scheduler: str | None = None,
) -> list[RunOutcome]:  # fmt: skip
    """Every scenario x seed through ``exchange_mock.parallel.run_tasks``: ``workers`` 0 =
    a local Dask cluster of one process per core (at most one per run), 1 = serial in
    this process; ``scheduler``: a Dask cluster's address. ``on_done`` is called as each
    run finishes. A run whose worker kept dying comes back as a failed run."""
    from exchange_mock.parallel import run_tasks

    if workers < 0:
        raise ValueError(f"workers must be >= 0 (0 = one per core), got {workers}")
    jobs = [(base, base_dir, s, seed) for s in scenarios for seed in seeds]
    keys = [f"{s}-s{seed}" for s in scenarios for seed in seeds]

    def done(i: int, out: object) -> None:
        if on_done is not None:
            on_done(_outcome(jobs[i], out))

    results = run_tasks(_guarded, jobs, keys, workers=workers, scheduler=scheduler,
                        prefix="validate", on_done=done)  # fmt: skip
    outcomes = [_outcome(job, r) for job, r in zip(jobs, results, strict=True)]
    return sorted(outcomes, key=lambda o: (scenarios.index(o.scenario), o.seed))


def _outcome(job: tuple, result: object) -> RunOutcome:
    """A task's result as a run outcome (a run that never came back: a failed run)."""
    if isinstance(result, RunOutcome):
        return result
    _, _, scenario, seed = job
    why = getattr(result, "why", repr(result))
    return RunOutcome(scenario, seed, {}, failure={
        "scenario": scenario, "seed": seed, "line": f"the run never finished: {why}",
        "traceback": why,
    })  # fmt: skip


def day_range(base: BacktestConfig, days: int, available: list[dt.date]) -> BacktestConfig:
    start = base.data.start or available[0]
    end = start + dt.timedelta(days=days - 1)
    if base.data.end is not None:
        end = min(end, base.data.end)
    data = dataclasses.replace(base.data, start=start, end=end)
    return dataclasses.replace(base, data=data)


__all__ = ["LimitsConfig", "OrderStatus", "RunOutcome", "day_range", "run_matrix", "run_one"]
