"""``clobsim validate CONFIG.toml --out DIR``: run the matrix, judge it, write the report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from exchange_mock.validation.checks import evaluate
from exchange_mock.validation.runner import RunOutcome, day_range, run_matrix
from exchange_mock.validation.scenarios import BY_NAME, SCENARIOS
from sim.backtest_config import BacktestConfig
from sim.config_loader import from_mapping, load_toml
from sim.errors import ConfigError
from sim.marketdata import Dataset


@dataclass(frozen=True)
class ValidationConfig:
    """The ``[validation]`` table of a config."""

    days: int = 7
    seeds: tuple[int, ...] = (1, 2)
    #: scenario names (see exchange_mock/validation/scenarios.py); empty = all
    scenarios: tuple[str, ...] = ()
    #: parallel processes; 0 = one per core
    workers: int = 0

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
    progress=None,
) -> dict:  # fmt: skip
    """Run everything and write report.md/html/json to ``out_dir``; returns the report."""
    from sim.report import write_report

    t0 = time.perf_counter()
    cfg, vcfg, base_dir, raw = load(config_path)
    ds = Dataset.open(cfg.data.path)
    cfg = day_range(cfg, vcfg.days, ds.days())
    scenarios = list(vcfg.scenarios) or [s.name for s in SCENARIOS]
    if "baseline" in scenarios:
        scenarios.remove("baseline")
    scenarios.insert(0, "baseline")
    outcomes = run_matrix(cfg, str(base_dir), scenarios, list(vcfg.seeds),
                          workers if workers is not None else vcfg.workers)  # fmt: skip
    checks = evaluate(outcomes, raw)
    report = _report(cfg, vcfg, outcomes, checks, time.perf_counter() - t0)
    artifacts = _artifacts(outcomes, vcfg.seeds[0])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _save_runs(outcomes, out / "runs")
    write_report(report, artifacts, out)
    return report


def _report(cfg, vcfg, outcomes: list[RunOutcome], checks: list[dict], wall: float) -> dict:
    base = [o for o in outcomes if o.scenario == "baseline"]
    b = base[0].metrics
    slips = [o.metrics for o in outcomes]
    passed = sum(c["status"] == "PASS" for c in checks)
    return {
        "verdict": "GO" if passed == len(checks) else "NO-GO",
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
            for o in outcomes
        ],
        "summary": {
            "baseline_pnl_usdc": float(np.mean([o.metrics["pnl_usdc"] for o in base])),
            "baseline_return_pct": float(np.mean([o.metrics["return_pct"] for o in base])),
            "baseline_max_drawdown_pct": float(min(o.metrics["max_drawdown_pct"] for o in base)),
            "fees_usdc": b["fees_usdc"],
            "fills": b["fills"],
            "slippage_p50": float(np.median([m["slippage_p50"] for m in slips])),
            "slippage_p95": float(max(m["slippage_p95"] for m in slips)),
            "slippage_max": float(max(m["slippage_max"] for m in slips)),
            "checks_passed": passed,
            "checks_total": len(checks),
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
