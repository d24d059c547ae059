"""A fault decision is data: the same plan and seed decide the same ``CallFault``s and
``FeedFault``s, which serialize as plain values (what the loopback server will apply on
the wire) and which the in-process venue turns into the exceptions a client sees."""

from __future__ import annotations

import dataclasses
import json

import pytest

from exchange_mock.fault_hook import BookMove, CallFault, FeedFault, venue_error
from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec, library
from sim.venue import VenueRateLimited, VenueRejected, VenueUnavailable

S = 1_000_000_000
CALLS = ("place", "cancel", "balance", "get_order", "cancel_all")


def decisions(plan: FaultPlan, n: int = 3_000) -> list[CallFault | None]:
    inj = FaultInjector(plan, start_ns=0)
    return [inj.on_call(CALLS[i % len(CALLS)], i * S // 10) for i in range(n)]


PLAN = FaultPlan((
    FaultSpec("server_error", calls=("place", "cancel"), rate=0.05),
    FaultSpec("rate_limit", calls=("balance",), rate=0.1, retry_after_s=2.0),
    FaultSpec("delay", calls=("cancel",), rate=0.05, delay_s=8.0),
    FaultSpec("lost_response", calls=("place",), rate=0.05),
    FaultSpec("slippage", rate=0.1, slippage_ticks=2),
    FaultSpec("zero_balance", between_s=(100.0, 160.0)),
    FaultSpec("clock_skew", between_s=(200.0, 250.0), skew_s=1.5),
), seed=5)  # fmt: skip


def test_same_plan_and_seed_decide_the_same_data():
    a, b = decisions(PLAN), decisions(PLAN)
    assert a == b
    made = [d for d in a if d is not None]
    kinds = {("refuse", d.status) for d in made if d.refuse} | {
        k for d in made for k, on in (("drop", d.act_then_drop), ("delay", d.delay_ns > 0),
                                      ("move", bool(d.book_moves)), ("zero", d.zero_balance),
                                      ("skew", d.skew_ns != 0)) if on}  # fmt: skip
    assert {("refuse", 500), ("refuse", 429), "drop", "delay", "move", "zero", "skew"} <= kinds
    assert decisions(PLAN.with_seed(6)) != a


def test_a_decision_is_plain_data():
    made = [d for d in decisions(PLAN) if d is not None]
    for d in made:
        as_json = json.dumps(dataclasses.asdict(d))
        back = json.loads(as_json)
        back["book_moves"] = tuple(BookMove(**m) for m in back["book_moves"])
        assert CallFault(**back) == d


def test_a_refusal_stands_alone():
    """Refused before acting: no delay, drop or book move rides along with it."""
    for d in decisions(PLAN):
        if d is not None and d.refuse:
            assert not (d.delay_ns or d.act_then_drop or d.book_moves or d.zero_balance)


@pytest.mark.parametrize(
    ("fault", "kind", "check"),
    [
        (CallFault(refuse=True, status=429, message="Too Many Requests", retry_after_s=2.0),
         VenueRateLimited, lambda e: e.retry_after_s == 2.0 and e.status == 429),
        (CallFault(refuse=True, status=503, message="cancel-only", reason="cancel_only"),
         VenueRejected, lambda e: e.reason == "cancel_only" and not e.retryable),
        (CallFault(refuse=True, status=500, message="could not run the execution"),
         VenueUnavailable, lambda e: e.retryable and e.status == 500),
        (CallFault(act_then_drop=True), VenueUnavailable,
         lambda e: e.status is None and "Request exception" in str(e)),
    ],
)  # fmt: skip
def test_the_in_process_venue_raises_what_a_client_sees(fault, kind, check):
    err = venue_error(fault, "place")
    assert type(err) is kind and err.call == "place" and check(err)


def test_websocket_faults_are_decided_as_windows():
    inj = FaultInjector(library.ws_drop() + library.ws_silent(), start_ns=0)
    drop_at = int(2.0 * 3600 * S) + S  # 02:00 + 1 s of day 0
    silent_at = int(5.0 * 3600 * S) + S
    assert inj.feed_fault_at(drop_at) == FeedFault(int(2 * 3600 * S), int(2 * 3600 * S) + 60 * S,
                                                   True, 1006)  # fmt: skip
    silent = inj.feed_fault_at(silent_at)
    assert silent is not None and not silent.dropped and silent.close_code is None
    assert inj.feed_fault_at(int(3.0 * 3600 * S)) is None


def _first(kind: str) -> CallFault:
    inj = FaultInjector(FaultPlan((FaultSpec(kind, every_n=1, max_count=1),), seed=1), 0)
    fault = inj.on_call("place", 0)
    assert fault is not None and inj.on_call("place", 1) is None  # max_count 1
    return fault


def test_broken_transport_kinds_as_data_and_as_the_exception_in_process():
    drop = _first("connection_drop")
    assert drop.refuse and drop.status is None and not drop.act_then_drop
    err = venue_error(drop, "place")
    assert type(err) is VenueUnavailable and err.status is None  # nothing happened: retry
    html = _first("html_error")
    assert html.refuse and html.html and html.status == 403 and "<html>" in html.message
    assert venue_error(html, "place").status == 403
    half = _first("half_body")
    assert half.act_then_drop and half.half_body and half.status is None and not half.refuse


def test_no_pong_is_a_feed_window_that_cuts_the_client_off_in_process():
    plan = FaultPlan((FaultSpec("ws_no_pong", at_s=10.0, duration_s=5.0),), seed=1)
    inj = FaultInjector(plan, start_ns=0)
    assert inj.feed_fault_at(9 * S) is None
    fault = inj.feed_fault_at(12 * S)
    assert fault == FeedFault(10 * S, 15 * S, dropped=False, close_code=None, no_pong=True)
