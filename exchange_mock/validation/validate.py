"""``clobsim validate CONFIG.toml --out DIR``: run the matrix, judge it, write the report."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from exchange_mock.validation.acceptance import AcceptanceConfig, judge_performance
from exchange_mock.validation.audit import AuditBounds, audit_settings
from exchange_mock.validation.checks import evaluate
from exchange_mock.validation.live_scenarios import LIVE_SCENARIOS, LiveMockConfig
from exchange_mock.validation.runner import RunOutcome, day_range, run_matrix
from exchange_mock.validation.scenarios import BY_NAME, SCENARIOS
from sim.backtest_config import BacktestConfig
from sim.config_loader import from_mapping, load_toml
from sim.errors import ConfigError
from sim.marketdata import Dataset
from sim.report import slippage_percentiles, taker_slippage


@dataclass(frozen=True)
class ValidationConfig:
    """The ``[validation]`` table of a config."""

    days: int = 7
    seeds: tuple[int, ...] = (1, 2)
    #: scenario names (see exchange_mock/validation/scenarios.py); empty = all
    scenarios: tuple[str, ...] = ()
    #: parallel processes; 0 = one per core
    workers: int = 0
    #: the performance verdict's criteria, judged on the fault-free runs
    acceptance: AcceptanceConfig = field(default_factory=AcceptanceConfig)
    #: the bounds the settings audit holds each safety setting to
    bounds: AuditBounds = field(default_factory=AuditBounds)
    #: the ``live-mock`` target: the scenarios through the live adapter against the
    #: loopback server (``exchange_mock/validation/live_scenarios.py``)
    live_mock: LiveMockConfig = field(default_factory=LiveMockConfig)
    #: a ``clobsim paper`` run folder to judge too ("" = none; ``--paper-run`` sets it)
    paper_run: str = ""
    #: its minimum length in real days, and the longest disconnect it may have had
    paper_min_days: float = 3.0
    paper_max_gap_s: float = 300.0

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 366:
            raise ConfigError("days", f"must be in [1, 366], got {self.days}")
        if not self.seeds:
            raise ConfigError("seeds", "needs at least one seed")
        unknown = [s for s in self.scenarios if s not in BY_NAME]
        if unknown:
            raise ConfigError("scenarios", f"unknown {unknown}; known: {', '.join(BY_NAME)}")
        if self.workers < 0:
            raise ConfigError("workers", "must be >= 0")
        if not (self.paper_min_days >= 0 and self.paper_max_gap_s > 0):
            raise ConfigError("paper_min_days", "paper_min_days must be >= 0 and "
                                                "paper_max_gap_s > 0")  # fmt: skip


def load(path: str | Path) -> tuple[BacktestConfig, ValidationConfig, Path, dict]:
    p = Path(path)
    raw = load_toml(p)
    body = dict(raw)
    vcfg = from_mapping(ValidationConfig, body.pop("validation", {}), "validation.")
    cfg = from_mapping(BacktestConfig, body)
    if cfg.strategy is None:
        raise ConfigError("strategy", "the config has no [strategy] table")
    data = Path(cfg.data.path)
    if not data.is_absolute() and not data.exists() and (p.parent / data).exists():
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                  path=str((p.parent / data).resolve())))  # fmt: skip
    return cfg, vcfg, p.parent.resolve(), raw


def validate(
    config_path: str | Path, out_dir: str | Path, *, workers: int | None = None,
    progress: bool = False, live_mock: bool | None = None, paper_run: str | Path | None = None,
    scheduler: str | None = None,
) -> dict:  # fmt: skip
    """Run everything and write report.md/html/json to ``out_dir``; returns the report.

    The verdict is GO only when both halves pass: *safety* (every check, and every line
    of the settings audit) and *performance* (the acceptance criteria on the fault-free
    runs). A strategy that raised, or a run that failed, makes it NO-GO and is listed in
    ``report["run_failures"]``; the report is written all the same.

    ``live_mock`` (default: ``[validation.live_mock] enabled``) adds the ``live-mock``
    target: the scenarios again through the live adapter against the loopback server;
    its checks stand beside the backtest's (scenario ``live-mock/<name>``) and count
    for the verdict. ``paper_run`` (default: ``[validation] paper_run``) adds the
    judgement of a ``clobsim paper`` run folder (``paper_evidence.py``); the config must
    then be that run's (``mode = "paper"``). ``scheduler``: a Dask scheduler's address
    for the matrix (``exchange_mock.parallel``; default: Dask's setting, else a local
    cluster of ``workers``)."""
    from sim.config_hash import trading_config_hash
    from sim.report import write_report

    t0 = time.perf_counter()
    cfg, vcfg, base_dir, raw = load(config_path)
    ds = Dataset.open(cfg.data.path)
    cfg = day_range(cfg, vcfg.days, ds.days())
    scenarios = list(vcfg.scenarios) or [s.name for s in SCENARIOS]
    if "baseline" in scenarios:
        scenarios.remove("baseline")
    scenarios.insert(0, "baseline")
    n_workers = workers if workers is not None else vcfg.workers
    seeds = list(vcfg.seeds)
    live = _live_plan(vcfg, scenarios) if (vcfg.live_mock.enabled if live_mock is None
                                             else live_mock) else None  # fmt: skip
    total = len(scenarios) * len(seeds) + (len(live[0]) * len(live[1]) if live else 0)
    with _progress(progress, total) as on_done:
        outcomes = run_matrix(cfg, str(base_dir), scenarios, seeds, n_workers, on_done,
                              scheduler=scheduler)  # fmt: skip
        checks = evaluate(outcomes, raw)
        if live is not None:
            from exchange_mock.validation.live_mock import PREFIX, run_live_matrix

            live_out = run_live_matrix(cfg, str(base_dir), live[0], live[1], vcfg.live_mock,
                                       on_done)  # fmt: skip
            by_name = {PREFIX + sc.name: sc for sc in LIVE_SCENARIOS}
            checks += evaluate(live_out, raw, scenarios=by_name,
                               baseline_name=PREFIX + "baseline")  # fmt: skip
            outcomes += live_out
    paper_dir = paper_run if paper_run is not None else (vcfg.paper_run or None)
    if paper_dir is not None:
        from exchange_mock.validation.paper_evidence import judge_paper_run

        paper_dir = Path(paper_dir)
        if not paper_dir.is_absolute() and not paper_dir.exists():
            paper_dir = base_dir / paper_dir
        if not (paper_dir / "run.json").is_file():
            raise ConfigError("paper_run", f"{paper_dir} is not a `clobsim paper` run folder "
                                           "(no run.json)")  # fmt: skip
        checks += judge_paper_run(cfg, base_dir, Path(config_path), paper_dir,
                                  min_days=vcfg.paper_min_days,
                                  max_gap_s=vcfg.paper_max_gap_s)  # fmt: skip
    audit = audit_settings(cfg, vcfg.bounds)
    report = _report(cfg, vcfg, outcomes, checks, audit, time.perf_counter() - t0)
    if paper_dir is not None:
        report["paper_run"] = str(paper_dir)
    if live is not None:
        report["live_mock"] = {"scenarios": live[0], "seeds": live[1],
                               "speed": vcfg.live_mock.speed,
                               "seconds": vcfg.live_mock.seconds}  # fmt: skip
    report["config_hash"] = trading_config_hash(cfg, base_dir)  # what `clobsim live` checks
    artifacts = _artifacts(outcomes, vcfg.seeds[0])
    artifacts["all_fills"] = [o.artifacts["fills"] for o in outcomes if "fills" in o.artifacts]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _save_runs(outcomes, out / "runs")
    write_report(report, artifacts, out)
    return report


def _live_plan(vcfg: ValidationConfig, scenarios: list[str]) -> tuple[list[str], list[int]]:
    """The live-mock scenarios and seeds: its own selection, else every live scenario
    judged as one of the backtest scenarios selected; the first seed unless it names its
    own."""
    chosen = list(vcfg.live_mock.scenarios) or [
        sc.name for sc in LIVE_SCENARIOS if sc.judged_as in scenarios
    ]
    if "baseline" in chosen:
        chosen.remove("baseline")
    seeds = list(vcfg.live_mock.seeds) or [vcfg.seeds[0]]
    return ["baseline", *chosen], seeds


@contextlib.contextmanager
def _progress(enabled: bool, total: int):
    """A progress bar over finished runs (none when disabled or not on a terminal)."""
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("validation runs", total=total)

        def done(o: RunOutcome) -> None:
            bar.update(task, advance=1, description=f"validation runs ({o.scenario} s{o.seed})")

        yield done


def _failures(outcomes: list[RunOutcome]) -> list[dict]:
    """Runs that did not complete as runs: the strategy raised, or the run itself failed."""
    out = []
    for o in outcomes:
        if o.failure is not None:
            out.append({**o.failure, "kind": "run"})
        elif o.metrics.get("strategy_error"):
            e = o.metrics["strategy_error"]
            out.append({"scenario": o.scenario, "seed": o.seed, "line": e["line"],
                        "traceback": e["traceback"], "kind": "strategy"})  # fmt: skip
    return out


def one_line_why(checks: list[dict], audit_failed: list[dict], perf: dict,
                 failures: list[dict]) -> str:  # fmt: skip
    """Why it is NO-GO, in one line: names, not evidence (the report has that)."""
    parts = []
    if failures:
        f = failures[0]
        what = "the strategy raised" if f["kind"] == "strategy" else "a run failed"
        parts.append(f"{what} ({f['scenario']} seed {f['seed']}): {f['line']}")
    bad = [c["name"] for c in checks if c["status"] == "FAIL"]
    if bad:
        parts.append(f"checks failed: {', '.join(bad)}")
    if audit_failed:
        parts.append(
            f"settings outside their bounds: {', '.join(a['setting'] for a in audit_failed)}"
        )
    if perf["verdict"] != "PASS":
        parts.append(f"performance: {perf['why']}")
    return "; ".join(parts)


def _report(cfg, vcfg, outcomes: list[RunOutcome], checks: list[dict], audit: list[dict],
            wall: float) -> dict:  # fmt: skip
    done = [o for o in outcomes if o.failure is None]
    base = [o for o in done if o.scenario == "baseline"]
    passed = sum(c["status"] == "PASS" for c in checks)
    audit_failed = [a for a in audit if a["status"] == "FAIL"]
    safety_ok = passed == len(checks) and not audit_failed
    if base:
        perf = judge_performance([o.metrics for o in base], vcfg.acceptance)
    else:
        perf = {"verdict": "FAIL", "lines": [], "why": "the fault-free run did not complete"}
    failures = _failures(outcomes)
    verdict = "GO" if safety_ok and perf["verdict"] == "PASS" and not failures else "NO-GO"
    why = one_line_why(checks, audit_failed, perf, failures)
    slips = slippage_percentiles(taker_slippage([o.artifacts["fills"] for o in done
                                                 if "/" not in o.scenario]))  # fmt: skip
    b = base[0].metrics if base else {}
    return {
        "verdict": verdict,
        "why": why,
        "safety": {
            "verdict": "PASS" if safety_ok else "FAIL",
            "checks_failed": len(checks) - passed,
            "settings_failed": len(audit_failed),
        },
        "performance": perf,
        "settings_audit": audit,
        "run_failures": failures,
        "strategy": cfg.strategy.name,
        "data": cfg.data.path,
        "days": vcfg.days,
        "start": str(cfg.data.start),
        "end": str(cfg.data.end),
        "seeds": list(vcfg.seeds),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_s": round(wall, 3),
        # the largest process: this one or any parallel worker (Linux reports KiB)
        "peak_rss_mb": round(
            max(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            )
            / 1024,
            1,
        ),
        "checks": checks,
        "runs": [
            {
                "scenario": o.scenario,
                "seed": o.seed,
                **{
                    k: o.metrics[k]
                    for k in (
                        "events",
                        "wall_s",
                        "orders",
                        "fills",
                        "refusals",
                        "pnl_usdc",
                        "return_pct",
                        "max_drawdown_pct",
                        "fees_usdc",
                        "halts",
                        "breaker_trips",
                        "injected",
                    )
                },
            }
            for o in done
        ],
        "summary": {
            "baseline_pnl_usdc": float(np.mean([o.metrics["pnl_usdc"] for o in base]))
            if base
            else float("nan"),
            "baseline_return_pct": float(np.mean([o.metrics["return_pct"] for o in base]))
            if base
            else float("nan"),
            "baseline_max_drawdown_pct": float(min(o.metrics["max_drawdown_pct"] for o in base))
            if base
            else float("nan"),
            "fees_usdc": b.get("fees_usdc", float("nan")),
            "fills": b.get("fills", 0),
            **{f"slippage_{k}": v for k, v in slips.items()},
            "checks_passed": passed,
            "checks_total": len(checks),
            "settings_passed": len(audit) - len(audit_failed),
            "settings_total": len(audit),
        },
    }


def _artifacts(outcomes: list[RunOutcome], seed: int) -> dict:
    first = {o.scenario: o.artifacts for o in outcomes if o.seed == seed}
    return {"baseline": first.get("baseline", {}),
            "scenarios": {k: v for k, v in first.items() if k != "baseline"}}  # fmt: skip


def _save_runs(outcomes: list[RunOutcome], root: Path) -> None:
    """Every run's tables as Parquet, for notebooks: runs/<scenario>-s<seed>/<table>.parquet."""
    for o in outcomes:
        d = root / f"{o.scenario}-s{o.seed}"
        d.mkdir(parents=True, exist_ok=True)
        for name, table in o.artifacts.items():
            if isinstance(table, pd.Series):
                table = table.rename("value").to_frame()
            if isinstance(table, pd.DataFrame):
                table.to_parquet(d / f"{name}.parquet")
