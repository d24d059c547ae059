"""Batch endpoints (``POST /orders``, ``DELETE /orders``): one request, the same guarantees.

Each order of a batch is checked as if it were sent alone; a batch whose answer
was lost never becomes a second order; a refused batch is never retried; the
fault plans written for ``place``/``cancel`` hit batches too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from exchange_mock.faults import FaultSpec
from sim.executor import ExecutorConfig, RetryConfig
from sim.executor.config import RateLimitConfig
from sim.types import MAX_BATCH_ORDERS, OrderIntent, OrderRequest, OrderStatus, OrderType, Side
from sim.venue import VenueRejected, VenueTimeout, VenueUnavailable
from tests.test_executor_faults import NO, YES, setup
from tests.test_faults_helpers import S, Script, backtest, plan, sim_venue, write_dataset


def bids(*prices: float, size: float = 10.0, asset: str = YES) -> list[OrderIntent]:
    return [OrderIntent.buy(asset, p, size) for p in prices]


# ---------------------------------------------------------------------- executor, fake venue
def test_a_batch_is_one_request_with_one_answer_per_order_in_order(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    acks = ex.place_many([*bids(0.40, 0.41), OrderIntent.buy(NO, 0.30, 5.0)])
    assert [a.accepted for a in acks] == [True, True, True]
    assert venue.place_calls == 1 and venue.batch_calls == 1
    assert [venue.orders[a.client_order_id].price for a in acks] == [0.40, 0.41, 0.30]
    stats = ex.caller.stats["place"]
    assert (stats.calls, stats.attempts) == (3, 1)  # an order placed is a call; one request
    assert all(ex.tracker.orders[a.client_order_id].status is OrderStatus.OPEN for a in acks)


def test_each_order_of_a_batch_is_checked_as_if_alone_in_list_order(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, cash=10.0)
    batch = [
        OrderIntent.buy(YES, 0.45, 12.0),  # 5.40: fits
        OrderIntent.buy(YES, 1.50, 1.0),  # invalid price
        OrderIntent.buy("no-such-asset", 0.45, 1.0),
        OrderIntent.buy(YES, 0.45, 12.0),  # 5.40 more than the 4.60 the first one left
        OrderIntent.sell(YES, 0.45, 1.0),  # nothing held
        OrderIntent.buy(YES, 0.30, 10.0),  # 3.00: fits beside the first
    ]
    acks = ex.place_many(batch)
    assert [a.reason for a in acks] == [
        "", "invalid_order", "unknown_asset", "insufficient_funds", "insufficient_position", "",
    ]  # fmt: skip
    sent = [acks[0].client_order_id, acks[5].client_order_id]
    assert sorted(venue.orders) == sorted(sent) and venue.place_calls == 1
    assert {r.reason for r in ex.refusals} == {
        "invalid_order", "unknown_asset", "insufficient_funds", "insufficient_position",
    }  # fmt: skip


def test_a_single_survivor_goes_through_the_single_order_endpoint(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, cash=10.0)
    acks = ex.place_many([OrderIntent.buy(YES, 0.45, 12.0), OrderIntent.buy(YES, 0.45, 12.0)])
    assert [a.accepted for a in acks] == [True, False]
    assert venue.place_calls == 1 and venue.batch_calls == 0


def test_batches_are_split_at_the_venue_limit_and_at_our_own_burst(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    n = 2 * MAX_BATCH_ORDERS + 3
    acks = ex.place_many(bids(*[0.01 + 0.01 * (i % 40) for i in range(n)], size=5.0))
    assert all(a.accepted for a in acks) and venue.batch_calls == 3
    assert ex.caller.stats["place"].attempts == 3

    small = ExecutorConfig(kill_switch_path=str(tmp_path / "K2"),
                           rate_limits=RateLimitConfig(place_burst=4.0))  # fmt: skip
    ex, venue, _ = setup(tmp_path, config=small)
    acks = ex.place_many(bids(*[0.10 + 0.01 * i for i in range(10)], size=5.0))
    assert all(a.accepted for a in acks)
    assert venue.batch_calls == 3  # 4 + 4 + 2: a batch costs a token per order


def test_kill_switch_is_read_again_before_each_request_of_a_long_batch(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    kill = tmp_path / "KILL"
    sent = venue._request

    def request_then_operator_halts(orders, deadline_s):
        answer = sent(orders, deadline_s)
        kill.write_text("operator\n")  # appears while the first request is in flight
        return answer

    venue._request = request_then_operator_halts
    acks = ex.place_many(bids(*[0.10 + 0.01 * i for i in range(MAX_BATCH_ORDERS + 5)]))
    assert all(a.accepted for a in acks[:MAX_BATCH_ORDERS])
    assert {a.reason for a in acks[MAX_BATCH_ORDERS:]} == {"halted"}
    assert venue.place_calls == 1 and ex.trading_state == "HALTED"
    assert all(o.status is OrderStatus.CANCELED for o in venue.orders.values())  # halt cancels


def test_our_rate_limit_sends_a_batch_it_cannot_fit_as_single_orders(tmp_path: Path) -> None:
    limits = RateLimitConfig(place_burst=15.0, place_per_s=2.0)
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"), rate_limits=limits)
    ex, venue, clock = setup(tmp_path, config=cfg)
    t0 = clock.now_ns()
    acks = ex.place_many(bids(*[0.01 * (i + 1) for i in range(30)], size=5.0))
    assert all(a.accepted for a in acks)  # as 30 single buys would be
    assert venue.batch_calls == 1 and venue.place_calls == 16  # 15 at once, then one by one
    assert (clock.now_ns() - t0) / S >= 14 / 2.0 - 1e-9  # each waited for its token


def test_cancel_many_splits_at_our_cancel_burst(tmp_path: Path) -> None:
    limits = RateLimitConfig(cancel_burst=5.0, cancel_per_s=2.0)
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"), rate_limits=limits)
    ex, venue, _ = setup(tmp_path, config=cfg)
    ids = [a.client_order_id for a in ex.place_many(bids(*[0.1 + 0.01 * i for i in range(12)]))]
    assert ex.cancel_many(ids + ids[:3]) == [True] * 15  # repeated ids: sent once, True twice
    assert venue.cancel_many_calls == 3  # 5 + 5 + 2
    assert all(o.status is OrderStatus.CANCELED for o in venue.orders.values())


def test_orders_missing_from_a_batch_answer_are_looked_up_not_trusted(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    sent = venue._request
    venue._request = lambda orders, deadline_s: sent(orders, deadline_s)[:1]  # answer cut short
    acks = ex.place_many(bids(0.40, 0.41, 0.42))
    assert acks[0].message == "" and all(a.accepted for a in acks)
    assert [a.message for a in acks[1:]] == ["found after a lost answer"] * 2
    assert venue.place_calls == 1 and len(venue.orders) == 3  # found, none re-sent
    assert ex.caller.stats["place"].retries == 2

    once = ExecutorConfig(kill_switch_path=str(tmp_path / "K2"), retry=RetryConfig(max_attempts=1))
    ex, venue, _ = setup(tmp_path, config=once)
    sent = venue._request
    venue._request = lambda orders, deadline_s: sent(orders, deadline_s)[:1]
    acks = ex.place_many(bids(0.40, 0.41))
    assert acks[1].accepted and venue.place_calls == 1  # looked up, max_attempts respected


def test_batch_retries_are_counted_per_order(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.place_faults = [("before", VenueUnavailable("502", call="place", status=502))]
    ex.place_many(bids(0.40, 0.41, 0.42))
    stats = ex.caller.stats["place"]
    assert (stats.calls, stats.retries, stats.transient_errors) == (3, 3, 1)


def test_kill_switch_file_refuses_the_whole_batch_before_sending(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    (tmp_path / "KILL").write_text("operator\n")
    acks = ex.place_many(bids(0.40, 0.41))
    assert [a.reason for a in acks] == ["halted", "halted"]
    assert venue.place_calls == 0 and ex.trading_state == "HALTED"


def test_batch_answer_lost_after_landing_finds_every_order_and_resends_none(
    tmp_path: Path,
) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.place_faults = [("after", VenueTimeout("answer lost", call="place"))]
    acks = ex.place_many(bids(0.40, 0.41, 0.42))
    assert all(a.accepted and a.message == "found after a lost answer" for a in acks)
    assert venue.place_calls == 1 and len(venue.orders) == 3  # found by client id
    assert ex.caller.stats["place"].timeouts == 1


def test_batch_5xx_before_landing_resends_each_order_exactly_once(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    t0 = clock.now_ns()
    venue.place_faults = [("before", VenueUnavailable("502", call="place", status=502))]
    acks = ex.place_many(bids(0.40, 0.41))
    assert all(a.accepted for a in acks)
    assert venue.place_calls == 3  # the batch, then each order alone after looking it up
    assert sorted(venue.orders) == sorted(a.client_order_id for a in acks)
    assert clock.now_ns() > t0  # one backoff on the simulated clock, not per order


def test_batch_that_never_gets_an_answer_leaves_each_order_lost_not_doubled(
    tmp_path: Path,
) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"),
                         retry=RetryConfig(max_attempts=2, reconcile_attempts=1))  # fmt: skip
    ex, venue, _ = setup(tmp_path, config=cfg)
    venue.place_faults = [("before", VenueTimeout("no answer", call="place"))] * 5
    acks = ex.place_many(bids(0.40, 0.41))
    assert [a.reason for a in acks] == ["outcome_unknown", "outcome_unknown"]
    assert ex.lost == {a.client_order_id for a in acks} and not venue.orders
    assert "order_lost" in ex.memory_alerts.kinds()


def test_a_rejected_batch_is_refused_whole_and_never_retried(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.place_faults = [("before", VenueRejected("bad batch", reason="invalid_batch"))]
    acks = ex.place_many(bids(0.40, 0.41))
    assert [a.reason for a in acks] == ["invalid_batch", "invalid_batch"]
    assert venue.place_calls == 1 and not venue.orders
    assert [r.source for r in ex.refusals] == ["venue", "venue"]


def test_cancel_many_is_one_request_and_answers_per_id(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    a, b, c = (x.client_order_id for x in ex.place_many(bids(0.40, 0.41, 0.42)))
    assert ex.cancel(c)
    done = ex.cancel_many([a, "unknown", b, c])
    assert done == [True, False, True, False]  # unknown and finished ids are not sent
    assert venue.cancel_many_calls == 1
    assert {venue.orders[x].status for x in (a, b, c)} == {OrderStatus.CANCELED}
    assert ex.tracker.orders[a].status is OrderStatus.CANCELED


def test_a_failed_cancel_many_rechecks_each_order_at_the_next_check(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    a, b = (x.client_order_id for x in ex.place_many(bids(0.40, 0.41)))
    venue.cancel_faults = [VenueUnavailable("502", call="cancel", status=502)] * 5
    assert ex.cancel_many([a, b]) == [False, False]  # retried (a cancel is idempotent), failed
    assert ex.caller.stats["cancel"].retries >= 1
    assert "cancel_failed" in ex.memory_alerts.kinds()
    venue.cancel(a, deadline_s=1.0)  # it had landed for one of them after all
    ex._on_check()
    assert ex.tracker.orders[a].status is OrderStatus.CANCELED
    assert ex.tracker.orders[b].status is OrderStatus.OPEN


# ---------------------------------------------------------------------- the simulated venue
@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("batch"))


def _req(cid: str, price: float, side: Side = Side.BUY) -> OrderRequest:
    return OrderRequest(cid, YES, side, price, 10.0)


def test_sim_venue_batch_is_one_round_trip_matched_in_list_order(root: Path) -> None:
    venue, clock, _ = sim_venue(root)
    t0 = clock.now_ns()
    acks = venue.place_many([_req("a", 0.52), _req("b", 0.52), _req("c", 0.45)], deadline_s=5)
    assert [a.status for a in acks] == [OrderStatus.FILLED, OrderStatus.FILLED, OrderStatus.OPEN]
    assert venue.calls == {"place_many": 1}
    assert clock.now_ns() == t0  # zero latency by default: one answer, no extra trips
    assert venue.clob.position(YES) == pytest.approx(20.0 - sum(f.fee_shares for f in venue._fills))
    dup = venue.place_many([_req("c", 0.45)], deadline_s=5)
    assert dup[0].reason == "duplicated"


def test_sim_venue_refuses_an_oversized_batch_whole(root: Path) -> None:
    venue, _, _ = sim_venue(root)
    reqs = [_req(f"o{i}", 0.30) for i in range(MAX_BATCH_ORDERS + 1)]
    with pytest.raises(VenueRejected) as exc:
        venue.place_many(reqs, deadline_s=5)
    assert exc.value.reason == "batch_too_large" and venue.clob.n_orders == 0


def test_sim_venue_cancel_many_cancels_and_reports_each(root: Path) -> None:
    venue, _, _ = sim_venue(root)
    venue.place_many([_req("a", 0.40), _req("b", 0.41)], deadline_s=5)
    acks = venue.cancel_many(["a", "b", "zz"], deadline_s=5)
    assert [(a.client_order_id, a.canceled) for a in acks] == [
        ("a", True), ("b", True), ("zz", False),
    ]  # fmt: skip
    assert not venue._open and venue.calls["cancel_many"] == 1


def test_place_faults_hit_batches_once_per_request(root: Path) -> None:
    def quote(ctx):
        return ctx.orders.place_many(bids(0.45, 0.44))

    s = Script((1.0, quote))
    _, bt, inj = backtest(root, s, plan(FaultSpec("lost_response", at_s=1.0)))
    assert inj.counts == {"lost_response": 1}
    assert inj.injections[0].call == "place"
    acks = s.results[0]
    assert all(a.accepted and a.message == "found after a lost answer" for a in acks)
    assert bt.venue.calls["place_many"] == 1 and "place" not in bt.venue.calls  # none re-sent
    assert bt.venue.clob.n_orders == 2


def test_cancel_faults_hit_cancel_many(root: Path) -> None:
    ids: list[str] = []

    def quote(ctx):
        ids.extend(a.client_order_id for a in ctx.orders.place_many(bids(0.45, 0.44)))

    def pull(ctx):
        return ctx.orders.cancel_many(ids)

    s = Script((1.0, quote), (2.0, pull))
    spec = FaultSpec("server_error", calls=("cancel",), rate=1.0, status=500)  # down for good
    _, bt, inj = backtest(root, s, plan(spec))
    attempts = bt.executor.caller.stats["cancel"].attempts
    assert inj.counts == {"server_error": attempts} and attempts >= 2  # retried, one fault each
    assert bt.venue.calls["cancel_many"] == attempts and "cancel" not in bt.venue.calls
    assert s.results[1] == [False, False]
    assert "cancel_failed" in bt.executor.memory_alerts.kinds()
    assert bt.venue.clob.n_orders == 2  # both still rest: nothing was cancelled, nothing lost
    assert {bt.venue.clob.order(i).status for i in range(2)} == {OrderStatus.OPEN}


def test_batched_quotes_run_deterministically(root: Path) -> None:
    def run():
        def quote(ctx):
            return [a.client_order_id for a in ctx.orders.place_many(bids(0.52, 0.47))]

        res, _, _ = backtest(root, Script((1.0, quote), (3.0, quote)))
        return res.fills, res.orders, res.summary.drop(["Wall time [s]", "Events/s"])

    (fills_a, orders_a, sum_a), (fills_b, orders_b, sum_b) = run(), run()
    pd.testing.assert_frame_equal(fills_a, fills_b)
    pd.testing.assert_frame_equal(orders_a, orders_b)
    pd.testing.assert_series_equal(sum_a, sum_b)
    assert len(fills_a) >= 2


def test_a_one_shot_book_fault_moves_the_book_once_per_batch(root: Path) -> None:
    def takers(ctx):
        return ctx.orders.place_many(
            [
                OrderIntent.buy(YES, 0.53, 10.0, order_type=OrderType.FAK),
                OrderIntent.buy(YES, 0.53, 10.0, order_type=OrderType.FAK),
            ]
        )

    s = Script((1.0, takers))
    _, _, inj = backtest(root, s, plan(FaultSpec("slippage", at_s=1.0, slippage_ticks=1)))
    assert inj.counts == {"slippage": 1} and len(inj.injections) == 1
    assert s.results[0][0].client_order_id in inj.injections[0].detail  # the first taker only


def test_each_cancellation_is_also_announced_on_the_user_channel(root: Path) -> None:
    venue, clock, _ = sim_venue(root, plan(FaultSpec("delay", calls=("cancel",), at_s=0.0,
                                                     delay_s=8.0)))  # fmt: skip
    venue.place_many([_req("a", 0.40), _req("b", 0.41), _req("c", 0.42)], deadline_s=5)
    with pytest.raises(VenueTimeout):  # the answer is lost; the updates still come
        venue.cancel_many(["a", "b"], deadline_s=5)
    venue.cancel_many(["c"], deadline_s=5)  # answered: announced all the same
    updates = [e for _, _, e in sorted(venue._pending)]
    assert [(u.order.client_order_id, u.order.status) for u in updates] == [
        ("a", OrderStatus.CANCELED), ("b", OrderStatus.CANCELED), ("c", OrderStatus.CANCELED),
    ]  # fmt: skip
    assert updates[0].ts_recv_ns <= clock.now_ns()


def test_strategies_hear_on_order_for_their_cancels_and_for_a_halt(
    root: Path, tmp_path: Path
) -> None:
    """The executor already knows (the cancel's answer), yet the strategy is told."""
    told: list[tuple[str, OrderStatus]] = []

    class Listener(Script):
        def on_order(self, ctx, order) -> None:
            told.append((order.client_order_id, order.status))

    ids: list[str] = []

    def quote(ctx):
        ids.extend(a.client_order_id for a in ctx.orders.place_many(bids(0.45, 0.44, 0.43)))

    s = Listener((1.0, quote), (2.0, lambda ctx: ctx.orders.cancel_many(ids[:2])),
                 (3.0, lambda ctx: ctx.orders.halt("drill")))  # fmt: skip
    kill = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
    _, bt, _ = backtest(root, s, executor=kill)
    assert sorted(told) == sorted((c, OrderStatus.CANCELED) for c in ids)
    assert bt.executor.trading_state == "HALTED"


def test_a_malformed_batch_is_a_clear_error_and_sends_nothing(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    a = ex.buy(YES, 0.40, 10.0).client_order_id
    with pytest.raises(TypeError, match=r"cancel_many: client_order_ids must be a list of str"):
        ex.cancel_many(a)  # one id, not a list: would be read letter by letter
    # a malformed element is refused on its own; the good one is still sent
    acks = ex.place_many([OrderIntent.buy(YES, 0.40, 1.0), (YES, 0.41, 1.0)])
    assert acks[0].accepted and not acks[1].accepted and acks[1].reason == "invalid_order"
    assert "orders[1]: expected an OrderIntent, got tuple" in acks[1].message
    assert venue.place_calls == 2 and venue.cancel_many_calls == 0
    assert ex.tracker.orders[a].status is OrderStatus.OPEN and len(ex.tracker.orders) == 2
    assert ex.cancel_many([a, 7, None]) == [True, False, False]
    assert ex.place_many([]) == [] and ex.cancel_many([]) == []


def test_cancel_many_stays_one_batch_when_an_order_already_filled(tmp_path: Path) -> None:
    """Known filled: not sent, the rest still goes as a batch (not a single cancel). Filled
    at the venue but not heard of yet: that order's own answer says so, the others are
    cancelled by the same answer, and nothing is asked again."""
    ex, venue, _ = setup(tmp_path)
    a, b, c = (x.client_order_id for x in ex.place_many(bids(0.40, 0.41, 0.42)))
    ex.on_venue_event(venue.fill(a, 10.0))  # we know a filled
    assert ex.cancel_many([a, b]) == [False, True]
    assert venue.cancel_many_calls == 1 and ex.caller.stats["cancel"].calls == 1
    venue.orders[c] = replace(venue.orders[c], status=OrderStatus.FILLED, filled_shares=10.0)
    d = ex.buy(YES, 0.43, 10.0).client_order_id
    assert ex.cancel_many([c, d]) == [False, True]  # c matched before our cancel arrived
    assert venue.cancel_many_calls == 2 and ex.caller.stats["cancel"].calls == 2
    assert ex.tracker.orders[d].status is OrderStatus.CANCELED
    assert ex.tracker.orders[c].status is OrderStatus.OPEN  # until its fill is delivered
    assert "cancel_failed" not in ex.memory_alerts.kinds()
