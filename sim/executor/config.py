"""Executor configuration: deadlines, retries, balance, slippage, kill switch, limits.

Defaults live here and only here; ``docs/config.md`` documents every key.
Rate-limit defaults follow Polymarket's published per-10 s bursts and
per-10 min sustained limits (reference 8) at 80 %, as a margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sim.errors import ConfigError
from sim.venue import CALL_KINDS


@dataclass(frozen=True)
class DeadlineConfig:
    """Seconds each venue call may take before it counts as timed out."""

    place: float = 5.0
    cancel: float = 5.0
    cancel_all: float = 5.0
    get_order: float = 5.0
    open_orders: float = 5.0
    fills: float = 5.0
    balance: float = 5.0

    def __post_init__(self) -> None:
        for k in CALL_KINDS:
            v = getattr(self, k)
            if not (0 < v <= 300):
                raise ConfigError(k, f"deadline must be in (0, 300] seconds, got {v!r}")


@dataclass(frozen=True)
class RetryConfig:
    """Exponential backoff with jitter for transient failures (timeouts, 5xx, 429)."""

    max_attempts: int = 4
    initial_backoff_s: float = 0.25
    max_backoff_s: float = 8.0
    jitter_s: float = 0.25
    #: how long to keep looking for an order whose placement answer was lost
    reconcile_attempts: int = 3
    reconcile_wait_s: float = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ConfigError("max_attempts", "must be in [1, 20]")
        for k in ("initial_backoff_s", "max_backoff_s", "jitter_s", "reconcile_wait_s"):
            v = getattr(self, k)
            if not (v >= 0 and math.isfinite(v)):
                raise ConfigError(k, f"must be >= 0 seconds, got {v!r}")
        if not 1 <= self.reconcile_attempts <= 50:
            raise ConfigError("reconcile_attempts", "must be in [1, 50]")


@dataclass(frozen=True)
class RateLimitConfig:
    """Token bucket per call kind: ``burst`` tokens, refilled at ``per_s`` tokens a second."""

    place_burst: float = 2800.0  # POST /order: 3,500 per 10 s
    place_per_s: float = 48.0  # 36,000 per 10 min
    cancel_burst: float = 2400.0  # DELETE /order: 3,000 per 10 s
    cancel_per_s: float = 40.0  # 30,000 per 10 min
    query_burst: float = 400.0  # /data/orders, /data/trades: 500 per 10 s
    query_per_s: float = 40.0
    balance_burst: float = 160.0  # balance-allowance: 200 per 10 s
    balance_per_s: float = 16.0

    def __post_init__(self) -> None:
        for k, v in vars(self).items():
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(k, f"must be > 0, got {v!r}")


@dataclass(frozen=True)
class LimitsConfig:
    """Hard limits the executor enforces on every order (0 = no limit)."""

    max_order_shares: float = 1_000.0
    max_order_usdc: float = 250.0
    max_position_shares_per_market: float = 2_000.0
    max_total_position_usdc: float = 1_000.0
    max_open_orders: int = 50
    max_orders_per_day: int = 2_000

    def __post_init__(self) -> None:
        for k, v in vars(self).items():
            if not (v >= 0 and math.isfinite(v)):
                raise ConfigError(k, f"must be >= 0 (0 = no limit), got {v!r}")


@dataclass(frozen=True)
class ExecutorConfig:
    deadlines: DeadlineConfig = field(default_factory=DeadlineConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    #: a cached balance older than this is refreshed before the next order
    balance_ttl_s: float = 5.0
    #: marketable orders may pay at most this much per share beyond the expected price
    max_slippage: float = 0.02
    #: a fill this much worse than expected (per share) raises an alert and counts
    #: toward the slippage breaker
    slippage_alert: float = 0.01
    #: halt after this many excess-slippage fills in a day (0 = never)
    slippage_breaker_fills: int = 5
    #: a file whose existence halts trading; checked before every order
    kill_switch_path: str = ".kill_switch"
    client_id_prefix: str = "cs"
    #: no book update for this long while connected counts as a silent feed: no new
    #: risk until data flows again (0 = no watchdog)
    feed_silence_s: float = 0.0
    #: seconds between the executor's own checks (kill switch file, breakers on marked
    #: equity, lost orders) while it holds orders or positions; the kill switch is also
    #: checked before every order
    check_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if not (self.balance_ttl_s >= 0 and math.isfinite(self.balance_ttl_s)):
            raise ConfigError("balance_ttl_s", "must be >= 0 seconds")
        for k in ("max_slippage", "slippage_alert"):
            v = getattr(self, k)
            if not (0 <= v < 1):
                raise ConfigError(k, f"must be in [0, 1) USDC per share, got {v!r}")
        if self.slippage_breaker_fills < 0:
            raise ConfigError("slippage_breaker_fills", "must be >= 0")
        if not self.client_id_prefix.isalnum():
            raise ConfigError("client_id_prefix", "must be letters and digits only")
        if not (0 < self.check_interval_s <= 60):
            raise ConfigError("check_interval_s", "must be in (0, 60] seconds")
        if not (self.feed_silence_s >= 0 and math.isfinite(self.feed_silence_s)):
            raise ConfigError("feed_silence_s", "must be >= 0 seconds (0 = no watchdog)")
        if not self.kill_switch_path:
            raise ConfigError("kill_switch_path", "must not be empty")

    def deadline(self, kind: str) -> float:
        return getattr(self.deadlines, kind)
