"""The order-identity step: the venue's id of an order is computed before it is sent and
journaled with it, so an order whose answer is lost (or whose process dies mid-call) is
still known by the id the venue knows it by. Polymarket has no client order ids: live,
this id (the signed order's hash) is the only way to find the order again."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_mock.matching_venue import MatchingVenue
from sim.clock import SimClock
from sim.executor import Executor
from sim.journal import MemoryJournal
from sim.types import OrderRequest, OrderType, Side
from sim.venue import VenueTimeout, VenueUnavailable
from tests.test_executor_faults import YES, M, setup


def _order_new(journal) -> list:
    return list(journal.records(kinds=["order_new"]))


def test_the_venue_id_is_journaled_before_the_request_leaves(tmp_path: Path) -> None:
    journal = MemoryJournal()
    ex, venue, _ = setup(tmp_path, journal=journal)
    seen_at_send = []
    real = venue._request

    def spy(orders, deadline_s):
        seen_at_send.append([(r.key, r.payload.get("venue_order_id")) for r in _order_new(journal)])
        return real(orders, deadline_s)

    venue._request = spy
    ack = ex.buy(YES, 0.45, 10.0)
    assert ack.accepted
    cid = ack.client_order_id
    assert seen_at_send == [[(cid, f"v-{cid}")]]  # on the record before the venue saw it
    assert ack.venue_order_id == f"v-{cid}" == ex.tracker.orders[cid].venue_order_id


def test_an_order_whose_answer_never_came_keeps_its_venue_id(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, journal=MemoryJournal())
    venue.place_faults = [("before", VenueTimeout("no answer", call="place"))] * 20
    ack = ex.buy(YES, 0.45, 10.0)
    assert not venue.orders  # it never landed: no answer ever named its id
    order = ex.tracker.orders[ack.client_order_id]
    assert order.venue_order_id == venue.order_id(order.request)


def test_a_restart_after_a_crash_mid_call_knows_the_orders_venue_id(tmp_path: Path) -> None:
    """The process dies inside the request: only the journal's order_new survives."""
    journal = MemoryJournal()
    ex, venue, clock = setup(tmp_path, journal=journal)

    class Crash(BaseException):
        pass

    def dies(orders, deadline_s):
        raise Crash

    venue._request = dies
    with pytest.raises(Crash):
        ex.buy(YES, 0.45, 10.0)
    (rec,) = _order_new(journal)
    again = Executor(venue, clock, cash_usdc=1_000.0, config=ex.config, books=venue.book,
                     markets=[M], journal=journal)  # fmt: skip
    again.recover()
    assert again.tracker.orders[rec.key].venue_order_id == f"v-{rec.key}"


def test_an_order_the_venue_cannot_identify_is_refused_and_never_sent(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path, journal=MemoryJournal())

    def cannot(order):
        raise VenueUnavailable("signer unavailable", call="place")

    venue.order_id = cannot
    ack = ex.buy(YES, 0.45, 10.0)
    assert not ack.accepted and ack.reason == "order_identity"
    assert venue.place_calls == 0 and not _order_new(ex.journal)


def test_the_matching_venue_answers_with_the_id_it_gave_before():
    venue = MatchingVenue([M], clock=SimClock(0), cash_usdc=100.0)
    req = OrderRequest("c-1", YES, Side.BUY, 0.40, 10.0, OrderType.GTC)
    before = venue.order_id(req)
    ack = venue.place(req, deadline_s=5.0)
    assert ack.accepted and ack.venue_order_id == before
    assert venue.get_order("c-1", deadline_s=5.0).venue_order_id == before
    assert venue.order_id(OrderRequest("c-2", YES, Side.BUY, 0.40, 10.0)) != before
