"""Latency models for order entry, acknowledgement and market data, in simulated time.

A model is a small frozen dataclass with ``sample_ns(rng)``; draws come from
the venue's seeded generator, so the same seed gives the same latencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    ms: float = 0.0
    _ns: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.ms >= 0 and math.isfinite(self.ms)):
            raise ConfigError("ms", f"latency must be >= 0 ms, got {self.ms!r}")
        object.__setattr__(self, "_ns", round(self.ms * 1e6))

    def sample_ns(self, rng: np.random.Generator) -> int:
        return self._ns

    @property
    def median_ms(self) -> float:
        return self.ms


@dataclass(frozen=True, slots=True)
class LogNormalLatency:
    """Lognormal with the given median and 95th percentile (ms), like real network delay."""

    median_ms: float
    p95_ms: float

    def __post_init__(self) -> None:
        if not (self.median_ms > 0 and self.p95_ms >= self.median_ms):
            raise ConfigError(
                "p95_ms", f"need 0 < median_ms <= p95_ms, got {self.median_ms}, {self.p95_ms}"
            )

    def sample_ns(self, rng: np.random.Generator) -> int:
        sigma = math.log(self.p95_ms / self.median_ms) / 1.6448536269514722
        return round(self.median_ms * math.exp(sigma * rng.standard_normal()) * 1e6)


LatencyModel = ConstantLatency | LogNormalLatency


def latency_from_config(value: float | dict, key: str) -> LatencyModel:
    """``50`` -> constant 50 ms; ``{median_ms = 40, p95_ms = 120}`` -> lognormal.

    The value's shape is validated where the config is read
    (``sim.backtest_config.check_latency``); the models check their own ranges, and a
    problem is reported under ``key``.
    """
    try:
        if isinstance(value, dict):
            median = float(value["median_ms"])
            return LogNormalLatency(median, float(value.get("p95_ms", median)))
        return ConstantLatency(float(value))
    except ConfigError as exc:
        raise ConfigError(key, exc.problem) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(key, f"not a latency: {value!r} ({exc})") from None
