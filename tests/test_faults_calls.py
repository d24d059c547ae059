"""Each call fault injected into a backtest: it is recorded, and it acts as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_mock.faults import CANCEL_ONLY_MESSAGE, FaultSpec
from sim.types import OrderStatus, OrderType
from tests.test_faults_helpers import (
    YES,
    S,
    Script,
    backtest,
    buy,
    plan,
    write_dataset,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("faults_calls"))


def only_order(bt):
    assert bt.venue.clob.n_orders == 1  # exactly one order ever reached the exchange
    return bt.venue.clob.order(0)


# ---------------------------------------------------------------------- delays, errors
def test_delay_past_the_deadline_times_out_and_the_order_exists_once(root: Path) -> None:
    s = Script((1.0, buy(0.45, 10.0)))
    res, bt, inj = backtest(root, s, plan(FaultSpec("delay", at_s=1.0, delay_s=8.0)))
    assert inj.counts == {"delay": 1}
    (i,) = inj.injections
    assert (i.kind, i.call, i.detail) == ("delay", "place", "+8 s")
    assert bt.executor.caller.stats["place"].timeouts == 1
    ack = s.results[0]
    assert ack.accepted and ack.message == "found after a lost answer"
    assert bt.venue.calls["place"] == 1  # found by its client id, never re-sent
    assert only_order(bt).status is OrderStatus.OPEN
    assert res.orders.status.tolist() == ["OPEN"]


def test_delay_within_the_deadline_only_slows_the_answer(root: Path) -> None:
    s = Script((1.0, buy(0.45, 10.0)))
    _, bt, inj = backtest(root, s, plan(FaultSpec("delay", at_s=1.0, delay_s=2.0)))
    assert inj.counts == {"delay": 1}
    ack = s.results[0]
    assert ack.accepted and ack.message == ""
    assert ack.ts_ns - inj.injections[0].ts_ns >= 2 * S
    assert bt.executor.caller.stats["place"].timeouts == 0


def test_a_delayed_cancel_times_out_but_lands_at_the_venue(root: Path) -> None:
    state = {}

    def first(ctx):
        state["cid"] = ctx.orders.buy(YES, 0.45, 10.0).client_order_id

    s = Script((1.0, first), (2.0, lambda ctx: ctx.orders.cancel(state["cid"])))
    spec = FaultSpec("delay", calls=("cancel",), at_s=1.5, delay_s=8.0)
    _, bt, inj = backtest(root, s, plan(spec))
    assert inj.counts == {"delay": 1} and inj.injections[0].call == "cancel"
    assert s.results[1] is False  # timed out; the retry found it "already canceled"
    assert bt.executor.caller.stats["cancel"].timeouts >= 1
    assert only_order(bt).status is OrderStatus.CANCELED


def test_lost_response_order_landed_and_is_adopted_not_resent(root: Path) -> None:
    s = Script((1.0, buy(0.45, 10.0)))
    _, bt, inj = backtest(root, s, plan(FaultSpec("lost_response", at_s=1.0)))
    assert inj.counts == {"lost_response": 1}
    assert inj.injections[0].detail == "transport error after the venue acted"
    assert s.results[0].accepted and s.results[0].message == "found after a lost answer"
    assert bt.venue.calls["place"] == 1
    assert only_order(bt).status is OrderStatus.OPEN
    assert bt.executor.caller.stats["place"].errors == {"VenueUnavailable": 1}


def test_transient_5xx_is_retried_and_places_once(root: Path) -> None:
    s = Script((1.0, buy(0.45, 10.0)))
    spec = FaultSpec("server_error", every_n=1, max_count=2)
    _, bt, inj = backtest(root, s, plan(spec))
    assert inj.counts == {"server_error": 2}
    assert {i.detail for i in inj.injections} == {"HTTP 500"}
    assert s.results[0].accepted
    assert bt.venue.calls["place"] == 3  # two refused before acting, the third placed
    assert only_order(bt).status is OrderStatus.OPEN
    stats = bt.executor.caller.stats["place"]
    assert stats.errors == {"VenueUnavailable": 2} and stats.retries == 2


def test_429_waits_retry_after_on_the_simulated_clock(root: Path) -> None:
    s = Script((1.0, buy(0.45, 10.0)))
    spec = FaultSpec("rate_limit", at_s=1.0, retry_after_s=7.0)
    _, bt, inj = backtest(root, s, plan(spec))
    assert inj.counts == {"rate_limit": 1}
    assert s.results[0].accepted
    assert bt.executor.caller.stats["place"].errors == {"VenueRateLimited": 1}
    # the retry reached the exchange at least Retry-After after the refused attempt
    assert only_order(bt).created_ns - inj.injections[0].ts_ns >= 7 * S


# ---------------------------------------------------------------------- modes, balance
def test_cancel_only_refuses_places_and_cancels_still_work(root: Path) -> None:
    state = {}

    def first(ctx):
        state["cid"] = ctx.orders.buy(YES, 0.45, 10.0).client_order_id

    s = Script(
        (1.0, first),
        (3.0, buy(0.44, 10.0)),
        (3.5, lambda ctx: ctx.orders.cancel(state["cid"])),
        (12.0, buy(0.43, 10.0)),
    )
    _, bt, inj = backtest(root, s, plan(FaultSpec("cancel_only", between_s=(2.0, 10.0))))
    _, refused, canceled, after = s.results
    assert not refused.accepted and refused.reason == "cancel_only"
    assert refused.message == CANCEL_ONLY_MESSAGE
    assert CANCEL_ONLY_MESSAGE == (
        "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."
    )
    assert canceled is True
    assert after.accepted  # the mode is over
    assert inj.counts == {"cancel_only": 1}
    assert [(r.source, r.reason) for r in bt.executor.refusals] == [("venue", "cancel_only")]
    assert bt.venue.calls["place"] == 3  # a permanent refusal is not retried


def test_zero_balance_refuses_new_risk(root: Path) -> None:
    s = Script((3.0, buy(0.45, 10.0)), (12.0, buy(0.45, 10.0)))
    _, bt, inj = backtest(root, s, plan(FaultSpec("zero_balance", between_s=(2.0, 10.0))))
    refused, after = s.results
    assert not refused.accepted and refused.reason == "zero_balance"
    assert after.accepted  # the cached zero aged out (5 s) and the real balance came back
    assert inj.counts == {"zero_balance": 1}
    assert inj.injections[0].call == "balance"
    assert any(a.kind == "balance" for a in bt.executor.memory_alerts.alerts)


def test_failing_balance_source_refuses_new_risk(root: Path) -> None:
    s = Script((3.0, buy(0.45, 10.0)))
    _, bt, inj = backtest(root, s, plan(FaultSpec("balance_failing", between_s=(2.0, 10.0))))
    (refused,) = s.results
    assert not refused.accepted and refused.reason == "balance_unknown"
    n = bt.executor.config.retry.max_attempts
    assert inj.counts == {"balance_failing": n}  # every retry of the balance call failed
    assert {i.call for i in inj.injections} == {"balance"}
    assert bt.venue.clob.n_orders == 0


# ---------------------------------------------------------------------- book moves
def taker(size: float, price: float, order_type: OrderType):
    return Script((1.0, buy(price, size, order_type=order_type)))


def test_partial_fill_fak_fills_the_fraction_and_cancels_the_rest(root: Path) -> None:
    res0, _, _ = backtest(root, taker(40.0, 0.52, OrderType.FAK))
    assert res0.fills.size_shares.sum() == pytest.approx(40.0)  # without the fault
    spec = FaultSpec("partial_fill", at_s=0.0, fill_fraction=0.5)
    res, bt, inj = backtest(root, taker(40.0, 0.52, OrderType.FAK), plan(spec))
    assert inj.counts == {"partial_fill": 1}
    assert "fill fraction 0.5" in inj.injections[0].detail
    assert res.fills.size_shares.sum() == pytest.approx(20.0)
    assert res.fills.price.tolist() == [0.52]
    assert res.orders.status.tolist() == ["CANCELED"]
    assert bt.venue.clob.order(0).filled == pytest.approx(20.0)


def test_partial_fill_gtc_rests_the_remainder_and_fok_is_killed(root: Path) -> None:
    spec = FaultSpec("partial_fill", at_s=0.0, fill_fraction=0.5)
    res, bt, _ = backtest(root, taker(40.0, 0.52, OrderType.GTC), plan(spec))
    assert res.fills.size_shares.sum() == pytest.approx(20.0)
    v = bt.venue.clob.order(0)
    assert v.status is OrderStatus.PARTIALLY_FILLED and v.remaining == pytest.approx(20.0)
    s = taker(40.0, 0.52, OrderType.FOK)
    res, _, inj = backtest(root, s, plan(spec))
    assert len(res.fills) == 0 and s.results[0].reason == "fok_not_filled"
    assert inj.counts == {"partial_fill": 1}


def test_slippage_worsens_the_fill_price_by_the_ticks(root: Path) -> None:
    res0, _, _ = backtest(root, taker(20.0, 0.54, OrderType.FOK))
    assert res0.fills.price.tolist() == [0.52]
    for ticks, price in ((1, 0.53), (2, 0.54)):
        spec = FaultSpec("slippage", at_s=0.0, slippage_ticks=ticks)
        res, _, inj = backtest(root, taker(20.0, 0.54, OrderType.FOK), plan(spec))
        assert res.fills.price.tolist() == [price]
        assert res.fills.size_shares.sum() == pytest.approx(20.0)
        assert inj.counts == {"slippage": 1}
        assert res.fills.slippage_per_share.iloc[0] == pytest.approx(price - 0.52)


def test_slippage_is_bounded_by_the_limit_and_waits_for_a_marketable_order(
    root: Path,
) -> None:
    # a resting order is not hit (the fault stays armed), the next marketable one is
    s = Script((1.0, buy(0.45, 10.0)), (2.0, buy(0.52, 20.0)))
    spec = FaultSpec("slippage", at_s=0.0, slippage_ticks=1)
    res, bt, inj = backtest(root, s, plan(spec))
    assert inj.counts == {"slippage": 1}
    assert s.results[1].client_order_id in inj.injections[0].detail
    assert len(res.fills) == 0  # 0.52 was taken and 0.53 is beyond the limit: it rests
    assert bt.venue.clob.order(1).status is OrderStatus.OPEN


# ---------------------------------------------------------------------- clock skew
def test_clock_skew_shifts_the_venue_timestamps_only(root: Path) -> None:
    def run(p):
        s = Script((1.0, buy(0.52, 10.0, order_type=OrderType.FOK)))
        res, bt, inj = backtest(root, s, p)
        return s, res, bt, inj

    s0, res0, bt0, _ = run(None)
    spec = FaultSpec("clock_skew", between_s=(0.0, float("inf")), skew_s=2.5)
    s1, res1, bt1, inj = run(plan(spec))
    assert inj.counts == {"clock_skew": 1}
    f0, f1 = bt0.executor.tracker.fills[0], bt1.executor.tracker.fills[0]
    assert f1.ts_ns - f0.ts_ns == 2_500_000_000
    assert s1.results[0].ts_ns - s0.results[0].ts_ns == 2_500_000_000  # the ack
    assert (f1.price, f1.size_shares) == (f0.price, f0.size_shares)
    assert res1.equity.equals(res0.equity)  # the engine's clock did not move
