"""Ready-made fault plans for multi-day runs, by name, for the scenario library.

    from exchange_mock.faults import library
    plan = library.plan("timeouts") + library.plan("ws_drop")
    Backtest(..., fault_hook=FaultInjector(plan)).run()

Random plans draw per matching call, so their count scales with trading
activity; outages (WebSocket, stale book, cancel-only, zero balance) are
scheduled at fixed hours of each of the first ``DAYS`` days of the run (those
past its end never fire). Deadlines are the executor's defaults (5 s).
"""

from __future__ import annotations

from collections.abc import Callable

from exchange_mock.faults.spec import FaultPlan, FaultSpec

DAY_S = 86_400.0
HOUR_S = 3_600.0
#: outages are scheduled on each of this many days from the run's start
DAYS = 14


def _daily(kind: str, hour: float, duration_s: float, **params: object) -> tuple[FaultSpec, ...]:
    return tuple(
        FaultSpec(kind, at_s=d * DAY_S + hour * HOUR_S, duration_s=duration_s, **params)
        for d in range(DAYS)
    )


def timeouts(seed: int = 0, stall_s: float = 8.0) -> FaultPlan:
    """2 % of places and 1 % of cancels answer after ``stall_s`` (default 8 s: past the
    executor's default 5 s deadline; the order still lands), plus 1 % of order lookups
    slowed by a quarter of that. The validation sets ``stall_s`` past the user's own
    deadlines, so a timeout is exercised at the deadline actually configured."""
    return FaultPlan((
        FaultSpec("delay", calls=("place",), rate=0.02, delay_s=stall_s),
        FaultSpec("delay", calls=("cancel",), rate=0.01, delay_s=stall_s),
        FaultSpec("delay", calls=("get_order", "open_orders"), rate=0.01, delay_s=stall_s / 4),
    ), seed, "timeouts")  # fmt: skip


def lost_responses(seed: int = 0) -> FaultPlan:
    """2 % of places and 1 % of cancels act, then their answer is lost (transport error)."""
    return FaultPlan((
        FaultSpec("lost_response", calls=("place",), rate=0.02),
        FaultSpec("lost_response", calls=("cancel",), rate=0.01),
    ), seed, "lost_responses")  # fmt: skip


def transient_5xx(seed: int = 0) -> FaultPlan:
    """2 % of trading calls get 500 "could not run the execution"; a daily 2-minute burst
    in which every place fails."""
    return FaultPlan((
        FaultSpec("server_error", calls=("place", "cancel", "cancel_all"), rate=0.02, status=500),
        *_daily("server_error", 14.0, 120.0, calls=("place",), status=500),
    ), seed, "transient_5xx")  # fmt: skip


def rate_limits(seed: int = 0) -> FaultPlan:
    """1 % of places and cancels get 429 with Retry-After 2 s; 10 % of balance calls 429."""
    return FaultPlan((
        FaultSpec("rate_limit", calls=("place", "cancel"), rate=0.01, retry_after_s=2.0),
        FaultSpec("rate_limit", calls=("balance",), rate=0.1, retry_after_s=1.0),
    ), seed, "rate_limits")  # fmt: skip


def partial_fills(seed: int = 0) -> FaultPlan:
    """A quarter of marketable orders meet only half the liquidity they saw."""
    return FaultPlan((FaultSpec("partial_fill", rate=0.25, fill_fraction=0.5),), seed,
                     "partial_fills")  # fmt: skip


def slippage_shock(seed: int = 0, shock_ticks: int = 5) -> FaultPlan:
    """10 % of marketable orders find the book 2 ticks worse; a daily 5-minute shock in
    which every marketable order finds it ``shock_ticks`` worse (default 5; the validation
    sizes it past the user's ``max_slippage``)."""
    return FaultPlan((
        FaultSpec("slippage", rate=0.1, slippage_ticks=2),
        *_daily("slippage", 15.5, 300.0, slippage_ticks=shock_ticks),
    ), seed, "slippage_shock")  # fmt: skip


def ws_drop(seed: int = 0) -> FaultPlan:
    """The market WebSocket drops for 60 s at 02:00 into each day (from the run's start)."""
    return FaultPlan(_daily("ws_drop", 2.0, 60.0), seed, "ws_drop")


def ws_no_pong(seed: int = 0) -> FaultPlan:
    """The market WebSocket stops answering PING for 90 s each day (data may still flow):
    a client must notice the missing PONGs and reconnect."""
    return FaultPlan(_daily("ws_no_pong", 4.0, 90.0), seed, "ws_no_pong")


def broken_answers(seed: int = 0) -> FaultPlan:
    """1 % of places drop the connection before the venue acts, 0.5 % act and then cut the
    answer off halfway, 0.5 % of trading calls get a Cloudflare HTML page (403)."""
    return FaultPlan((
        FaultSpec("connection_drop", calls=("place", "cancel"), rate=0.01),
        FaultSpec("half_body", calls=("place",), rate=0.005),
        FaultSpec("html_error", calls=("place", "cancel", "balance"), rate=0.005),
    ), seed, "broken_answers")  # fmt: skip


def trade_failures(seed: int = 0) -> FaultPlan:
    """2 % of placements' trades stay MATCHED, then FAIL on chain and are reversed. Served
    by the loopback server only (``clobsim serve-mock --faults``): a backtest refuses it."""
    return FaultPlan((FaultSpec("trade_fail", rate=0.02),), seed, "trade_failures")


def ws_silent(seed: int = 0) -> FaultPlan:
    """The market WebSocket stays connected but silent for 5 minutes each day."""
    return FaultPlan(_daily("ws_silent", 5.0, 300.0), seed, "ws_silent")


def stale_book(seed: int = 0) -> FaultPlan:
    """The strategy's book freezes for 30 s each day while the exchange moves on."""
    return FaultPlan(_daily("stale_book", 8.0, 30.0), seed, "stale_book")


def zero_balance(seed: int = 0) -> FaultPlan:
    """The balance reads 0 (wrong signature type or funder) for 10 minutes each day."""
    return FaultPlan(_daily("zero_balance", 3.0, 600.0), seed, "zero_balance")


def balance_failing(seed: int = 0) -> FaultPlan:
    """5 % of balance calls fail (HTTP 500), and the source is down 5 minutes each day."""
    return FaultPlan((
        FaultSpec("balance_failing", rate=0.05, status=500),
        *_daily("balance_failing", 11.0, 300.0),
    ), seed, "balance_failing")  # fmt: skip


def cancel_only(seed: int = 0) -> FaultPlan:
    """The exchange is in cancel-only mode (503) for 15 minutes each day."""
    return FaultPlan(_daily("cancel_only", 6.0, 900.0), seed, "cancel_only")


def clock_skew(seed: int = 0) -> FaultPlan:
    """The venue's clock runs 2.5 s ahead of ours for the whole run."""
    return FaultPlan(
        (FaultSpec("clock_skew", between_s=(0.0, float("inf")), skew_s=2.5),), seed, "clock_skew"
    )


PLANS: dict[str, Callable[[int], FaultPlan]] = {
    f.__name__: f
    for f in (
        timeouts, lost_responses, transient_5xx, rate_limits, partial_fills, slippage_shock,
        ws_drop, ws_silent, stale_book, zero_balance, balance_failing, cancel_only, clock_skew,
        ws_no_pong, broken_answers, trade_failures,
    )
}  # fmt: skip


def plan(name: str, seed: int = 0, **params: object) -> FaultPlan:
    """The named plan (one of ``PLANS``), with ``seed`` and the plan's own parameters."""
    try:
        make = PLANS[name]
    except KeyError:
        raise KeyError(f"no fault plan {name!r}; one of {sorted(PLANS)}") from None
    return make(seed, **params)


def names() -> list[str]:
    return list(PLANS)
