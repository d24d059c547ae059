"""Network faults from fault plans, through the official client: each gives the symptom
the protocol reference documents for the real venue (reference §1, §9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from py_clob_client_v2 import OrderArgs
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    MarketOrderArgs,
    OrderPayload,
    OrderType,
    TradeParams,
)
from py_clob_client_v2.exceptions import PolyApiException

from exchange_mock.faults import FaultSpec
from tests.server_helpers import YES, client, client_timeout, plan, running_server, write_dataset

BID = OrderArgs(token_id=YES, price=0.45, size=10, side="BUY")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("faults") / "ds")


def once(kind: str, calls: tuple[str, ...] = ("place",), **kw) -> FaultSpec:
    return FaultSpec(kind, calls=calls, every_n=1, max_count=1, **kw)


def _post_fails(c, args: OrderArgs = BID) -> PolyApiException:
    signed = c.create_order(args)
    with pytest.raises(PolyApiException) as err:
        c.post_order(signed)
    return err.value


def test_a_stall_past_the_clients_timeout_times_out_and_the_order_still_rests(data) -> None:
    with running_server(data, faults=plan(once("delay", delay_s=1.0))) as run:
        c = client(run.urls)
        with client_timeout(0.3):
            err = _post_fails(c)
        assert err.status_code is None and "timed out" in repr(err.__context__).lower()
        assert len(c.get_open_orders()) == 1  # the venue acted: the ambiguity of live
        assert [r.effect for r in run.fault_log] == ["answer delayed 1 s"]


def test_5xx_is_answered_before_the_venue_acts(data) -> None:
    with running_server(data, faults=plan(once("server_error", status=500))) as run:
        c = client(run.urls)
        err = _post_fails(c)
        assert err.status_code == 500
        assert err.error_msg == {"error": "could not run the execution"}
        assert c.get_open_orders() == []
        assert c.post_order(c.create_order(BID))["status"] == "live"  # the next one passes


def test_429_says_when_to_retry(data) -> None:
    with running_server(data, faults=plan(once("rate_limit", retry_after_s=3.0))) as run:
        c = client(run.urls)
        err = _post_fails(c)
        assert (err.status_code, err.error_msg) == (429, {"error": "Too Many Requests"})
        assert run.fault_log[0].effect == "429 Too Many Requests"
        assert c.get_open_orders() == []


def test_a_connection_dropped_before_acting_places_nothing(data) -> None:
    with running_server(data, faults=plan(once("connection_drop"))) as run:
        c = client(run.urls)
        err = _post_fails(c)
        assert err.status_code is None and err.error_msg == "Request exception!"
        assert c.get_open_orders() == []


@pytest.mark.parametrize("kind", ["lost_response", "half_body"])
def test_an_answer_lost_after_acting_leaves_a_resting_order_the_client_never_heard_of(
    data, kind: str
) -> None:
    with running_server(data, faults=plan(once(kind))) as run:
        c = client(run.urls)
        signed = c.create_order(BID)
        with pytest.raises(PolyApiException) as err:
            c.post_order(signed)
        assert err.value.status_code is None  # a transport error, whatever was received
        rests = c.get_open_orders()
        assert len(rests) == 1 and rests[0]["status"] == "LIVE"
        with pytest.raises(PolyApiException) as dup:  # the safe retry: same signed order
            c.post_order(signed)
        assert dup.value.error_msg == {"error": f"order {rests[0]['id']} is invalid. Duplicated."}


def test_a_cloudflare_page_instead_of_json(data) -> None:
    with running_server(data, faults=plan(once("html_error"))) as run:
        c = client(run.urls)
        err = _post_fails(c)
        assert err.status_code == 403 and "Cloudflare" in str(err.error_msg)
        assert c.get_open_orders() == []


def test_cancel_only_mode_refuses_places_and_lets_cancels_through(data) -> None:
    spec = FaultSpec("cancel_only", between_s=(10.0, 100.0))
    with running_server(data, faults=plan(spec)) as run:
        c = client(run.urls)
        oid = c.post_order(c.create_order(BID))["orderID"]
        run.advance(15.0)
        err = _post_fails(c)
        assert err.status_code == 503 and "cancel-only" in err.error_msg["error"]
        assert c.cancel_order(OrderPayload(orderID=oid))["canceled"] == [oid]
        run.advance(100.0)
        assert c.post_order(c.create_order(BID))["status"] == "live"


def test_a_zero_balance_answer(data) -> None:
    spec = FaultSpec("zero_balance", calls=("balance",), every_n=1, max_count=1)
    with running_server(data, faults=plan(spec)) as run:
        c = client(run.urls)
        params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
        assert c.get_balance_allowance(params)["balance"] == "0"
        assert c.get_balance_allowance(params)["balance"] == "10000000000"


def test_the_same_plan_and_seed_decide_the_same_calls(data) -> None:
    spec = FaultSpec("server_error", calls=("place",), rate=0.5, status=500)
    outcomes = []
    for _ in range(2):
        with running_server(data, faults=plan(spec, seed=7)) as run:
            c = client(run.urls)
            seen = []
            for i in range(8):
                args = OrderArgs(token_id=YES, price=0.30 + i / 100, size=10, side="BUY")
                try:
                    seen.append(c.post_order(c.create_order(args))["status"])
                except PolyApiException as exc:
                    seen.append(exc.status_code)
            outcomes.append(seen)
    assert outcomes[0] == outcomes[1] and 500 in outcomes[0] and "live" in outcomes[0]


def test_trades_that_stay_matched_then_fail_are_reversed(data) -> None:
    with running_server(data, faults=plan(once("trade_fail"))) as run:
        c = client(run.urls)
        order = c.create_market_order(MarketOrderArgs(token_id=YES, amount=10.4, side="BUY",
                                                      price=0.52))  # fmt: skip
        resp = c.post_order(order, OrderType.FOK, defer_exec=True)
        tid = resp["tradeIDs"][0]
        statuses = []
        for step in (0.0, 3.0, 2.0):
            run.advance(step)
            trade = c.get_trades(TradeParams(id=tid))[0]
            statuses.append((trade["status"], trade["transaction_hash"]))
        assert statuses == [("MATCHED", ""), ("RETRYING", ""), ("FAILED", "")]
        usdc = c.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL))
        assert usdc["balance"] == "10000000000"  # the failed trade moved nothing
        shares = c.get_balance_allowance(BalanceAllowanceParams(
            asset_type=AssetType.CONDITIONAL, token_id=YES))  # fmt: skip
        assert shares["balance"] == "0"


def test_a_backtest_refuses_a_settlement_fault_it_cannot_simulate() -> None:
    from exchange_mock.faults import FaultInjector
    from exchange_mock.matching_venue import MatchingVenue
    from sim.clock import SimClock
    from sim.errors import ConfigError
    from tests.server_helpers import M

    with pytest.raises(ConfigError, match="only the loopback server simulates"):
        MatchingVenue([M], clock=SimClock(0), cash_usdc=100.0,
                      fault_hook=FaultInjector(plan(once("trade_fail")), 0))  # fmt: skip
