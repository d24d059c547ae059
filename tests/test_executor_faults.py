"""Each NO-GO item of the readiness review, proven by injecting its fault into a venue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sim.clock import SimClock
from sim.events import FillEvent
from sim.executor import Executor, ExecutorConfig, LimitsConfig, RetryConfig, TradingState
from sim.journal import JournalError, MemoryJournal
from sim.types import Balance, Fill, Liquidity, OrderStatus, OrderType
from sim.venue import VenueRateLimited, VenueTimeout, VenueUnavailable
from tests.fakes import FakeBook, FakeVenue
from tests.helpers import make_market

M = make_market(0, 0.01, fee_rate=0.07)
YES, NO = M.yes_token_id, M.no_token_id


def setup(tmp_path: Path, *, cash=1_000.0, config: ExecutorConfig | None = None, **kw):
    clock = SimClock(10**18)
    venue = FakeVenue(clock, [M], [], cash_usdc=cash)
    venue.books[YES] = FakeBook(YES, 0.01, 0.48, 0.52)
    cfg = config or ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
    ex = Executor(venue, clock, cash_usdc=cash, config=cfg, books=venue.book, markets=[M], **kw)
    return ex, venue, clock


def fill_of(venue: FakeVenue, cid: str, shares: float, price: float, trade: str, liq="TAKER"):
    o = venue.orders[cid]
    f = Fill(trade, cid, o.venue_order_id, o.asset_id, o.side, price, shares, 0.0, 0.0,
             Liquidity(liq), venue.clock.now_ns())  # fmt: skip
    return FillEvent(f.ts_ns, f.ts_ns, f)


# -- retries that never double an order ------------------------------------------------------
def test_accepted_but_answer_lost_gives_exactly_one_order(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.place_faults = [("after", VenueTimeout("answer lost", call="place"))]
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.accepted and ack.message == "found after a lost answer"
    assert len(venue.orders) == 1 and venue.place_calls == 1  # found, never re-sent
    assert ex.tracker.orders[ack.client_order_id].status is OrderStatus.OPEN


def test_timeout_before_landing_resends_the_same_order_once(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.place_faults = [("before", VenueTimeout("no answer", call="place"))]
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.accepted
    assert venue.place_calls == 2 and list(venue.orders) == [ack.client_order_id]


def test_transient_5xx_is_retried_with_backoff_in_simulated_time(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    t0 = clock.now_ns()
    venue.place_faults = [("before", VenueUnavailable("500", call="place"))] * 2
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.accepted and venue.place_calls == 3 and len(venue.orders) == 1
    # two backoffs of at least 0.25 s and 0.5 s passed on the simulated clock
    assert clock.now_ns() - t0 >= 0.75e9
    assert ex.caller.stats["place"].retries == 2


def test_429_honours_retry_after(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    t0 = clock.now_ns()
    venue.place_faults = [("before", VenueRateLimited("429", call="place", retry_after_s=7.0))]
    assert ex.buy(YES, 0.45, 10.0).accepted
    assert clock.now_ns() - t0 >= 7e9


def test_permanent_rejection_is_never_retried(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.reject_reason = "post_only_cross"
    ack = ex.buy(YES, 0.45, 10.0)
    assert not ack.accepted and ack.reason == "post_only_cross" and venue.place_calls == 1


def test_answer_never_comes_back_leaves_the_order_lost_and_alerted(tmp_path: Path) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "K"), retry=RetryConfig(max_attempts=2))
    ex, venue, _ = setup(tmp_path, config=cfg)
    venue.place_faults = [("before", VenueTimeout("x", call="place"))] * 2
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.status is OrderStatus.UNKNOWN and ack.reason == "outcome_unknown"
    assert ack.client_order_id in ex.lost and "order_lost" in ex.memory_alerts.kinds()
    assert not venue.orders  # nothing landed, nothing doubled


# -- balance and funds ------------------------------------------------------------------------
def test_failing_balance_source_refuses_new_risk(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.balance_error = VenueUnavailable("rpc down", call="balance")
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.reason == "balance_unknown" and venue.place_calls == 0
    assert "balance" in ex.memory_alerts.kinds()


def test_zero_balance_is_a_state_not_a_number(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.cash_usdc = 0.0
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.reason == "zero_balance" and venue.place_calls == 0
    assert "balance" in ex.memory_alerts.kinds()


def test_insufficient_funds_counts_fees_and_open_orders_and_is_never_sent(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, cash=10.0)
    assert ex.buy(YES, 0.45, 12.0).accepted  # 5.40 reserved
    ack = ex.buy(YES, 0.45, 12.0)  # 5.40 more > 4.60 left
    assert ack.reason == "insufficient_funds" and venue.place_calls == 1
    assert "reserved by open orders" in ack.message


def test_balance_is_cached_for_its_ttl_and_moved_by_fills(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    attempts = lambda: ex.caller.stats["balance"].attempts  # noqa: E731
    a = ex.buy(YES, 0.40, 5.0)
    ex.buy(YES, 0.40, 5.0)
    assert attempts() == 1  # within the 5 s TTL: cached
    clock.sleep(6.0)
    ex.buy(YES, 0.40, 5.0)
    assert attempts() == 2  # stale: refreshed
    ex.on_venue_event(fill_of(venue, a.client_order_id, 5.0, 0.40, "T1", "MAKER"))
    assert ex._balance.total_usdc == pytest.approx(1_000.0 - 2.0)  # the fill's exact cost
    assert ex._balance.available_usdc == pytest.approx(1_000.0 - 2.0)
    ex.buy(YES, 0.40, 5.0)
    assert attempts() == 2  # no round trip per fill: the cache moved by the fill instead
    clock.sleep(6.0)
    ex.buy(YES, 0.40, 5.0)
    assert attempts() == 3  # the TTL still bounds how old the venue's number may be


def test_a_sell_fill_never_raises_the_cached_balance(tmp_path: Path) -> None:
    """Its proceeds wait for the venue's next answer: that answer may already hold them,
    and counting them twice would overstate what may be spent."""
    ex, venue, _ = setup(tmp_path)
    a = ex.buy(YES, 0.40, 10.0)
    ex.on_venue_event(fill_of(venue, a.client_order_id, 10.0, 0.40, "T1", "MAKER"))
    before = ex._balance
    s = ex.sell(YES, 0.60, 10.0)
    assert s.accepted
    ex.on_venue_event(fill_of(venue, s.client_order_id, 10.0, 0.60, "T2", "MAKER"))
    assert ex._balance == before  # not 6 USDC richer until the venue says so
    assert ex.tracker.cash_usdc == pytest.approx(1_000.0 - 4.0 + 6.0)  # our own books are


def test_no_refusal_is_decided_on_a_balance_moved_by_fills(tmp_path: Path) -> None:
    """The local adjustment is conservative (a filled resting BUY lowers 'available' although
    the venue had reserved it already): before refusing, the executor asks the venue."""
    ex, venue, _ = setup(tmp_path, cash=10.0)

    def venue_balance(*, deadline_s: float):  # the venue reserves its open BUY orders
        reserved = sum(o.price * (o.size_shares - o.filled_shares) for o in venue.orders.values()
                       if not o.status.terminal and o.side.name == "BUY")  # fmt: skip
        return Balance(venue.cash_usdc, venue.cash_usdc - reserved, venue.clock.now_ns())

    venue.balance = venue_balance
    a = ex.buy(YES, 0.40, 10.0)  # 4.00 reserved
    assert a.accepted
    assert ex.buy(YES, 0.40, 10.0).accepted  # 8.00 reserved in all (balance read: 10 / 10)
    venue.orders[a.client_order_id] = replace(
        venue.orders[a.client_order_id], filled_shares=10.0, status=OrderStatus.FILLED
    )
    venue.cash_usdc = 6.0  # the venue settled the fill: 6 cash, 4 reserved, 2 available
    ex.on_venue_event(fill_of(venue, a.client_order_id, 10.0, 0.40, "T1", "MAKER"))
    before = ex.caller.stats["balance"].attempts
    # locally: available 6 - 4 = 2, reserved 4 -> min(2, 6 - 4) = 2 -> a 1.60 order may go
    assert ex.buy(YES, 0.40, 4.0).accepted
    assert ex.caller.stats["balance"].attempts == before  # decided without a round trip
    venue.cash_usdc = 100.0  # a deposit the cache cannot know of
    ack = ex.buy(YES, 0.40, 50.0)  # 20 USDC: refused by the cache, so the venue is asked
    assert ack.accepted, ack.message
    assert ex.caller.stats["balance"].attempts == before + 1
    refused = ex.buy(YES, 0.40, 500.0)  # 200 USDC: refused on the venue's own number
    assert refused.reason == "insufficient_funds"


# -- slippage -----------------------------------------------------------------------------------
def test_marketable_limit_is_bounded_by_max_slippage(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.90, 10.0, order_type=OrderType.FOK)  # touch 0.52, max 0.02
    assert ack.accepted
    assert venue.orders[ack.client_order_id].price == pytest.approx(0.54)


def test_excess_slippage_alerts_and_trips_the_slippage_breaker(tmp_path: Path) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "K"), slippage_breaker_fills=2)
    ex, venue, _ = setup(tmp_path, config=cfg)
    for i in range(2):
        ack = ex.buy(YES, 0.54, 10.0, order_type=OrderType.FAK)
        ex.on_venue_event(fill_of(venue, ack.client_order_id, 10.0, 0.54, f"T{i}"))
    assert [round(s.excess_per_share, 6) for s in ex.slippage] == [0.02, 0.02]
    assert ex.memory_alerts.kinds().count("slippage") == 2
    assert ex.state is TradingState.REDUCING and ex.state_reason == "slippage_breaker"
    assert ex.buy(YES, 0.40, 5.0).reason == "slippage_breaker"


# -- kill switch --------------------------------------------------------------------------------
def test_kill_switch_file_halts_cancels_everything_and_refuses(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    a = ex.buy(YES, 0.40, 10.0)
    (tmp_path / "KILL").write_text("stop\n")
    ack = ex.buy(YES, 0.40, 10.0)
    assert ack.reason == "halted" and venue.place_calls == 1
    assert ex.state is TradingState.HALTED and venue.cancel_all_calls >= 1
    assert venue.orders[a.client_order_id].status is OrderStatus.CANCELED
    assert ex.tracker.orders[a.client_order_id].status is OrderStatus.CANCELED
    kinds = [r.kind for r in ex.journal.records(kinds=["kill_switch"])]
    assert kinds == ["kill_switch"] and "kill_switch" in ex.memory_alerts.kinds()


def test_kill_switch_api_and_reset(tmp_path: Path) -> None:
    ex, _, _ = setup(tmp_path)
    ex.trip_kill_switch("operator")
    assert ex.buy(YES, 0.40, 10.0).reason == "halted"
    assert (tmp_path / "KILL").exists()  # visible to other processes
    ex.reset_kill_switch()
    assert ex.buy(YES, 0.40, 10.0).accepted


def test_reducing_orders_still_allowed_when_reducing(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.52, 10.0, order_type=OrderType.FAK)
    ex.on_venue_event(fill_of(venue, ack.client_order_id, 10.0, 0.52, "T1"))
    ex._reduce("daily_loss")
    assert ex.buy(YES, 0.40, 5.0).reason == "daily_loss"
    assert ex.sell(YES, 0.48, 10.0).accepted
    assert ex.sell(YES, 0.48, 1.0).reason == "daily_loss"  # more than held: not reducing


# -- limits -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("limits", "orders", "reason"),
    [
        (LimitsConfig(max_order_shares=5), [(0.40, 6.0)], "max_order_size"),
        (LimitsConfig(max_order_usdc=2), [(0.40, 6.0)], "max_order_usdc"),
        (LimitsConfig(max_open_orders=1), [(0.40, 5.0), (0.41, 5.0)], "max_open_orders"),
        (LimitsConfig(max_orders_per_day=1), [(0.40, 5.0), (0.41, 5.0)], "max_orders_per_day"),
        (
            LimitsConfig(max_position_shares_per_market=8),
            [(0.40, 5.0), (0.41, 5.0)],
            "max_position_market",
        ),
        (LimitsConfig(max_total_position_usdc=3), [(0.40, 5.0), (0.41, 5.0)], "max_position_total"),
    ],
)
def test_limits(tmp_path: Path, limits, orders, reason) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "K"), limits=limits)
    ex, venue, _ = setup(tmp_path, config=cfg)
    acks = [ex.buy(YES, p, s) for p, s in orders]
    assert acks[-1].reason == reason
    assert venue.place_calls == len(orders) - 1


# -- partial fills ------------------------------------------------------------------------------
def test_partials_tracked_to_completion_dedup_and_late_fill_after_cancel(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.45, 10.0)
    cid = ack.client_order_id
    ex.on_venue_event(fill_of(venue, cid, 4.0, 0.45, "T1", "MAKER"))
    ex.on_venue_event(fill_of(venue, cid, 4.0, 0.45, "T1", "MAKER"))  # duplicate
    assert ex.tracker.orders[cid].status is OrderStatus.PARTIALLY_FILLED
    assert ex.cancel(cid)
    ex.on_venue_event(fill_of(venue, cid, 3.0, 0.45, "T2", "MAKER"))  # late fill
    assert ex.tracker.positions[YES] == pytest.approx(7.0)
    assert ex.tracker.duplicate_fills == 1
    assert sum(f.size_shares for f in ex.tracker.fills) == ex.tracker.positions[YES]


def test_fok_partial_fill_is_flagged(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.52, 10.0, order_type=OrderType.FOK)
    cid = ack.client_order_id
    ex.on_venue_event(fill_of(venue, cid, 6.0, 0.52, "T1"))
    ex.cancel(cid)
    assert "fok_partial" in ex.memory_alerts.kinds()


# -- journal ------------------------------------------------------------------------------------
class BrokenJournal(MemoryJournal):
    def append(self, kind, ts_ns, key, payload):
        raise JournalError("not_writable", "disk full")


def test_unwritable_journal_refuses_new_risk(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, journal=BrokenJournal())
    ack = ex.buy(YES, 0.40, 10.0)
    assert ack.reason == "journal_unavailable" and venue.place_calls == 0
    assert "journal" in ex.memory_alerts.kinds()


def test_every_state_change_is_journaled_before_the_next(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.45, 10.0)
    ex.on_venue_event(fill_of(venue, ack.client_order_id, 10.0, 0.45, "T1", "MAKER"))
    kinds = [r.kind for r in ex.journal.records()]
    assert kinds == ["order_new", "order_ack", "fill"]


# -- deadlines ----------------------------------------------------------------------------------
def test_no_call_ever_exceeds_its_deadline(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    venue.latency_s = 30.0  # the fake caps its sleep at the deadline, then answers
    ex.buy(YES, 0.45, 10.0)
    for kind, st in ex.caller.stats.items():
        assert st.over_deadline == 0, kind
        assert st.max_elapsed_s <= st.deadline_s + 1e-9


def test_sides_are_checked(tmp_path: Path) -> None:
    ex, _, _ = setup(tmp_path)
    assert ex.sell(YES, 0.48, 5.0).reason == "insufficient_position"
    assert ex.buy("123", 0.48, 5.0).reason == "unknown_asset"


def test_cancel_whose_answer_is_lost_is_confirmed_by_asking_the_venue(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    ack = ex.buy(YES, 0.40, 10.0)
    real_cancel = venue.cancel

    def cancel_then_lose_answer(cid, *, deadline_s):
        real_cancel(cid, deadline_s=deadline_s)
        raise VenueTimeout("answer lost", call="cancel")

    venue.cancel = cancel_then_lose_answer
    assert ex.cancel(ack.client_order_id) is False  # we do not know yet
    assert ex.tracker.orders[ack.client_order_id].status is OrderStatus.OPEN
    clock.sleep(1.0)
    ex._on_check()
    assert ex.tracker.orders[ack.client_order_id].status is OrderStatus.CANCELED


def test_a_placement_never_found_is_settled_after_the_lost_window(tmp_path: Path) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "K"), retry=RetryConfig(max_attempts=2))
    ex, venue, clock = setup(tmp_path, config=cfg)
    venue.place_faults = [("before", VenueTimeout("x", call="place"))] * 2
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.client_order_id in ex.lost
    clock.sleep(30.0)
    ex._on_check()
    assert ack.client_order_id in ex.lost  # still inside the window: keep looking
    clock.sleep(31.0)
    ex._on_check()
    assert ack.client_order_id not in ex.lost
    assert ex.tracker.orders[ack.client_order_id].status is OrderStatus.REJECTED
    assert ex.tracker.orders[ack.client_order_id].reason == "never_reached_venue"


# -- a stale book: nothing marketable while the market feed is down ---------------------------
def test_a_stale_book_refuses_marketable_orders_even_reducing_ones(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    bought = ex.buy(YES, 0.52, 10.0, order_type=OrderType.FAK)
    ex.on_venue_event(fill_of(venue, bought.client_order_id, 10.0, 0.52, "T1"))
    ex.on_feed_state(False, "socket dropped")
    taker = ex.sell(YES, 0.48, 5.0, order_type=OrderType.FOK)  # reducing, but it would take
    assert (taker.accepted, taker.reason) == (False, "stale_book")
    crossing = ex.sell(YES, 0.40, 5.0)  # a GTC at or through the bid takes too
    assert crossing.reason == "stale_book"
    resting = ex.sell(YES, 0.60, 5.0)  # above the ask: takes nothing, reduces: allowed
    assert resting.accepted
    assert ex.buy(YES, 0.40, 5.0).reason == "feed_down"  # new risk stays refused
    ex.on_feed_state(True, "fresh snapshots")
    assert ex.sell(YES, 0.48, 5.0, order_type=OrderType.FOK).accepted
