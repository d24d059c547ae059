"""Venue calls with deadlines, token buckets and retries (tenacity, on the executor's clock).

Transient failures (timeout, 5xx, connection, 429) are retried with
exponential backoff and seeded jitter; a 429 waits at least its Retry-After.
Permanent rejections are never retried. Sleeping goes through the clock, so
a backtest's retries cost simulated time, never wall time. Every attempt is
measured against its deadline for the readiness report.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from sim.clock import Clock
from sim.executor.config import CALL_KINDS, ExecutorConfig
from sim.executor.ratelimit import TokenBucket
from sim.venue import VenueError, VenueRateLimited, VenueRejected, VenueTimeout

T = TypeVar("T")


class RateLimitedLocally(VenueError):
    """Our own token bucket could not supply a token before the call's deadline."""

    def __init__(self, call: str, wait_s: float) -> None:
        super().__init__(f"{call}: rate limit would delay the call {wait_s:.3f} s", call=call)
        self.wait_s = wait_s


@dataclass
class CallStats:
    """Per call kind: attempts, outcomes and the worst time against the deadline."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    timeouts: int = 0
    transient_errors: int = 0
    rate_limited: int = 0
    rate_limit_wait_s: float = 0.0
    max_elapsed_s: float = 0.0
    deadline_s: float = 0.0
    over_deadline: int = 0  # attempts that returned later than their deadline (must stay 0)
    errors: dict[str, int] = field(default_factory=dict)
    last_failed: bool = False  # the latest attempt raised (a health check reads it)
    failed: int = 0  # attempts that got no answer: timeouts, transient errors, lost answers


def _bucket_params(config: ExecutorConfig, kind: str) -> tuple[float, float]:
    r = config.rate_limits
    if kind == "place":
        return r.place_burst, r.place_per_s
    if kind in ("cancel", "cancel_all"):
        return r.cancel_burst, r.cancel_per_s
    if kind == "balance":
        return r.balance_burst, r.balance_per_s
    return r.query_burst, r.query_per_s


class VenueCaller:
    """Runs one kind of venue call under its deadline, bucket and retry policy."""

    def __init__(self, clock: Clock, config: ExecutorConfig, seed: int = 0) -> None:
        self.clock = clock
        self.config = config
        self._rng = random.Random(seed)
        self.stats = {k: CallStats(deadline_s=config.deadline(k)) for k in CALL_KINDS}
        #: ``observe(kind, elapsed_s)`` after every attempt (None: nobody listens)
        self.observe: Callable[[str, float], None] | None = None
        self._buckets = {k: TokenBucket(clock, *_bucket_params(config, k)) for k in CALL_KINDS}
        # cancel and cancel_all share Polymarket's cancel budget
        self._buckets["cancel_all"] = self._buckets["cancel"]

    def backoff_s(self, failed_attempt: int, exc: BaseException | None) -> float:
        """Wait after attempt number ``failed_attempt`` (1-based) failed with ``exc``."""
        rc = self.config.retry
        backoff = min(rc.max_backoff_s, rc.initial_backoff_s * 2 ** (failed_attempt - 1))
        backoff += self._rng.uniform(0, rc.jitter_s)
        if isinstance(exc, VenueRateLimited) and exc.retry_after_s:
            backoff = max(backoff, exc.retry_after_s)
        return backoff

    def _wait(self, state: RetryCallState) -> float:
        # tenacity's attempt 1 is our attempt 2: the first one ran outside tenacity
        exc = state.outcome.exception() if state.outcome else None
        return self.backoff_s(state.attempt_number + 1, exc)

    def _before_sleep(self, kind: str) -> Callable[[RetryCallState], None]:
        def hook(state: RetryCallState) -> None:
            self.stats[kind].retries += 1

        return hook

    def attempt(self, kind: str, fn: Callable[..., T], *args: object, tokens: float = 1.0) -> T:
        """One attempt: take ``tokens`` (a batch of n orders costs n, as Polymarket counts
        it; waiting in clock time), call with the deadline, measure."""
        stats = self.stats[kind]
        deadline = stats.deadline_s
        bucket = self._buckets[kind]
        wait = bucket.take_or_wait_s(tokens)
        if wait > 0:
            if wait >= deadline:
                stats.rate_limited += 1
                raise RateLimitedLocally(kind, wait)
            stats.rate_limit_wait_s += wait
            self.clock.sleep(wait)
            bucket.take(tokens)
        stats.attempts += 1
        t0 = self.clock.now_ns()
        try:
            out = fn(*args, deadline_s=deadline)
            stats.last_failed = False
            return out
        except VenueError as exc:
            stats.last_failed = not isinstance(exc, VenueRejected)  # a refusal is an answer
            stats.failed += stats.last_failed
            name = type(exc).__name__
            stats.errors[name] = stats.errors.get(name, 0) + 1
            if isinstance(exc, VenueTimeout):
                stats.timeouts += 1
            elif exc.retryable:
                stats.transient_errors += 1
            raise
        finally:
            elapsed = (self.clock.now_ns() - t0) / 1e9
            if self.observe is not None:  # an operator's metrics (latency histograms)
                self.observe(kind, elapsed)
            if elapsed > stats.max_elapsed_s:
                stats.max_elapsed_s = elapsed
            if elapsed > deadline + 1e-9:
                stats.over_deadline += 1

    def call(
        self, kind: str, fn: Callable[..., T], *args: object,
        retry_if: Callable[[BaseException], bool] | None = None, tokens: float = 1.0,
    ) -> T:  # fmt: skip
        """``attempt`` with retries of transient failures; the last error is re-raised.

        The first attempt runs directly: tenacity's machinery (futures, locks) is only
        paid for when a call actually failed, keeping the common path a few microseconds.
        """
        self.stats[kind].calls += 1
        should_retry = retry_if or _transient
        try:
            return self.attempt(kind, fn, *args, tokens=tokens)
        except VenueError as exc:
            if not should_retry(exc) or self.config.retry.max_attempts < 2:
                raise
            self.stats[kind].retries += 1
            self.clock.sleep(self.backoff_s(1, exc))
        return self.retrying(kind, should_retry)(self.attempt, kind, fn, *args, tokens=tokens)

    def retrying(self, kind: str, retry_if: Callable[[BaseException], bool]) -> Retrying:
        """A tenacity loop for the attempts after the first (callers that must act between
        attempts, like placing orders, run their own first attempt)."""
        return Retrying(
            sleep=self.clock.sleep,
            stop=stop_after_attempt(self.config.retry.max_attempts - 1),
            wait=self._wait,
            retry=retry_if_exception(retry_if),
            before_sleep=self._before_sleep(kind),
            reraise=True,
        )


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, VenueError) and exc.retryable and not isinstance(exc, RateLimitedLocally)
