"""The guarded order path between strategies and venues."""

from sim.executor.alerts import Alert, Alerter, LogAlerter, MemoryAlerter
from sim.executor.config import (
    DeadlineConfig,
    ExecutorConfig,
    LimitsConfig,
    RateLimitConfig,
    RetryConfig,
)
from sim.executor.executor import Executor, Refusal, SlippageRecord
from sim.executor.tracker import OrderTracker, TrackedOrder
from sim.executor.trading_state import KillSwitch, TradingState

__all__ = [
    "Alert",
    "Alerter",
    "DeadlineConfig",
    "Executor",
    "ExecutorConfig",
    "KillSwitch",
    "LimitsConfig",
    "LogAlerter",
    "MemoryAlerter",
    "OrderTracker",
    "RateLimitConfig",
    "Refusal",
    "RetryConfig",
    "SlippageRecord",
    "TrackedOrder",
    "TradingState",
]
