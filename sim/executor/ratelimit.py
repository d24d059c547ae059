"""Token buckets per call kind, on the executor's clock (simulated time in backtests)."""

from __future__ import annotations

from sim.clock import Clock


class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``rate_per_s``."""

    __slots__ = ("_clock", "_last_ns", "_tokens", "capacity", "rate_per_s")

    def __init__(self, clock: Clock, capacity: float, rate_per_s: float) -> None:
        self._clock = clock
        self.capacity = capacity
        self.rate_per_s = rate_per_s
        self._tokens = capacity
        self._last_ns = clock.now_ns()

    def _refill(self) -> None:
        now = self._clock.now_ns()
        if now > self._last_ns:
            self._tokens = min(
                self.capacity, self._tokens + (now - self._last_ns) * 1e-9 * self.rate_per_s
            )
            self._last_ns = now

    def wait_s(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 when they are now)."""
        self._refill()
        missing = cost - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate_per_s

    def take(self, cost: float = 1.0) -> None:
        self._refill()
        self._tokens -= cost

    def take_or_wait_s(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens now and return 0, or take nothing and return the wait."""
        self._refill()
        missing = cost - self._tokens
        if missing <= 0:
            self._tokens -= cost
            return 0.0
        return missing / self.rate_per_s
