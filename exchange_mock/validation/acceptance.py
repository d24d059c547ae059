"""The performance verdict: the strategy's own results on the fault-free runs.

Safety says the guards hold; it says nothing about whether the strategy is worth
running. A strategy that loses 70 % of its bankroll in a week is not ready
however well its executor behaves. The ``[validation.acceptance]`` table
(``AcceptanceConfig``) states what the user will accept; each criterion is
judged on every baseline (fault-free) run, one per seed, and passes only if
every seed meets it. Defaults are a cautious trader's, documented in
``docs/config.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sim.errors import ConfigError


@dataclass(frozen=True)
class AcceptanceConfig:
    """The ``[validation.acceptance]`` table."""

    #: the return over the validated days must be at least this (%, can be negative)
    min_return_pct: float = 0.0
    #: the deepest drawdown of equity, as a positive percentage, at most this
    max_drawdown_pct: float = 10.0
    #: fees paid as a share of the traded volume (notional), at most this (%)
    max_fees_pct_of_volume: float = 3.0
    #: at least this many fills: fewer is too little evidence to judge the strategy
    min_fills: int = 20
    #: refusals by our own executor (limits, breakers, funds, invalid orders) as a share
    #: of everything the strategy asked for (orders sent + refused), at most this (%);
    #: a strategy that keeps asking for what its guards refuse is mis-sized or broken
    max_refusal_rate_pct: float = 20.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(f.name, f"must be a number, got {v!r}")
        for k in ("max_drawdown_pct", "max_fees_pct_of_volume", "max_refusal_rate_pct"):
            if not 0 <= getattr(self, k) <= 100:
                raise ConfigError(k, f"must be a percentage in [0, 100], got {getattr(self, k)}")
        if not isinstance(self.min_fills, int) or self.min_fills < 0:
            raise ConfigError("min_fills", f"must be a whole number >= 0, got {self.min_fills!r}")
        if self.min_return_pct < -100:
            raise ConfigError("min_return_pct", "must be >= -100 %")


#: (name, metric key, limit attribute, "min" or "max", unit, what it means)
CRITERIA = (
    ("return", "return_pct", "min_return_pct", "min", "%", "return over the days"),
    ("drawdown", "drawdown_pct", "max_drawdown_pct", "max", "%", "deepest equity drawdown"),
    ("fees", "fees_pct_of_volume", "max_fees_pct_of_volume", "max", "% of volume",
     "fees as a share of volume"),
    ("fills", "fills", "min_fills", "min", "fills", "fills (evidence)"),
    ("refusals", "refusal_rate_pct", "max_refusal_rate_pct", "max", "%",
     "orders our own executor refused"),
)  # fmt: skip


_UNIT = {name: "" if unit == "fills" else " %" for name, _, _, _, unit, _ in CRITERIA}


def performance_figures(metrics: dict) -> dict:
    """The figures the criteria read, from one run's metrics."""
    volume = metrics.get("volume_usdc", 0.0)
    asked = metrics["orders"] + metrics.get("executor_refusals", 0)
    return {
        "return_pct": metrics["return_pct"],
        "drawdown_pct": abs(metrics["max_drawdown_pct"]),
        "fees_pct_of_volume": 100 * metrics["fees_usdc"] / volume if volume > 0 else 0.0,
        "fills": metrics["fills"],
        "refusal_rate_pct": 100 * metrics.get("executor_refusals", 0) / asked if asked else 0.0,
    }


def judge_performance(baseline: list[dict], acc: AcceptanceConfig) -> dict:
    """Each criterion on every baseline run (one per seed): the worst seed decides."""
    per_seed = [performance_figures(m) for m in baseline]
    lines = []
    for name, key, attr, kind, unit, meaning in CRITERIA:
        limit = getattr(acc, attr)
        values = [f[key] for f in per_seed]
        worst = min(values) if kind == "min" else max(values)
        ok = bool(values) and (worst >= limit if kind == "min" else worst <= limit)
        lines.append({
            "name": name, "meaning": meaning, "value": round(float(worst), 4),
            "limit": f"{'>=' if kind == 'min' else '<='} {limit:g} {unit}",
            "per_seed": [round(float(v), 4) for v in values],
            "status": "PASS" if ok else "FAIL", "source": f"validation.acceptance.{attr}",
        })  # fmt: skip
    failed = [ln for ln in lines if ln["status"] == "FAIL"]
    return {"verdict": "PASS" if not failed else "FAIL", "lines": lines,
            "why": ", ".join(f"{ln['name']} {ln['value']:.4g}{_UNIT[ln['name']]} (needs "
                             f"{ln['limit']})" for ln in failed)}  # fmt: skip
