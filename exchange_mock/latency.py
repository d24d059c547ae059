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
    """``50`` -> constant 50 ms; ``{median_ms = 40, p95_ms = 120}`` -> lognormal."""
    if isinstance(value, bool):
        raise ConfigError(key, f"expected milliseconds or a table, got {value!r}")
    if isinstance(value, int | float):
        try:
            return ConstantLatency(float(value))
        except ConfigError as exc:
            raise ConfigError(key, exc.problem) from None
    if isinstance(value, dict):
        extra = set(value) - {"median_ms", "p95_ms"}
        if extra or "median_ms" not in value:
            raise ConfigError(key, "a latency table takes median_ms and p95_ms")
        try:
            return LogNormalLatency(
                float(value["median_ms"]), float(value.get("p95_ms", value["median_ms"]))
            )
        except ConfigError as exc:
            raise ConfigError(f"{key}.{exc.key}", exc.problem) from None
        except (TypeError, ValueError):
            raise ConfigError(key, "median_ms and p95_ms must be numbers") from None
    raise ConfigError(key, f"expected milliseconds or a table, got {value!r}")
