"""The guarded order path between strategies and venues."""

from sim.executor.executor import Executor, ExecutorConfig, Refusal
from sim.executor.tracker import OrderTracker, TrackedOrder

__all__ = ["Executor", "ExecutorConfig", "OrderTracker", "Refusal", "TrackedOrder"]
