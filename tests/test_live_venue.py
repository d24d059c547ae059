"""``LiveVenue`` over py-clob-client-v2 against the loopback mock: the Venue protocol on
the real wire, every call under its deadline, the client's errors mapped back to what
happened, and the executor on top finding orders whose answer was lost instead of
posting them again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from exchange_mock.faults import FaultSpec
from live.clob_api import ClobApi
from live.live_venue import LiveVenue
from sim.clock import WallClock
from sim.events import TickSizeChange
from sim.executor import Executor, ExecutorConfig
from sim.types import OrderRequest, OrderStatus, OrderType, Side
from sim.venue import VenueRateLimited, VenueRejected, VenueTimeout, VenueUnavailable
from tests.server_helpers import KEY, YES, M, plan, running_server, write_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("live") / "ds")


def venue(run, http_timeout_s: float = 2.0) -> LiveVenue:
    api = ClobApi(run.urls.rest, 137, KEY, http_timeout_s=http_timeout_s)
    return LiveVenue(api, [M], WallClock())


def bid(cid: str, price: float = 0.45, size: float = 10.0, **kw) -> OrderRequest:
    return OrderRequest(cid, YES, Side.BUY, price, size, **kw)


def once(kind: str, calls=("place",), **kw) -> FaultSpec:
    return FaultSpec(kind, calls=calls, every_n=1, max_count=1, **kw)


def test_the_venue_protocol_on_the_wire(data: Path) -> None:
    with running_server(data) as run:
        v = venue(run)
        order = bid("c-1")
        oid = v.order_id(order)  # signed and hashed before anything is sent
        assert oid.startswith("0x") and len(oid) == 66 and v.order_id(order) == oid
        ack = v.place(order, deadline_s=2.0)
        assert (ack.accepted, ack.venue_order_id, ack.status) == (True, oid, OrderStatus.OPEN)
        state = v.get_order("c-1", deadline_s=2.0)
        assert (state.client_order_id, state.status, state.price) == ("c-1", OrderStatus.OPEN, 0.45)
        assert [s.client_order_id for s in v.open_orders(deadline_s=2.0)] == ["c-1"]
        assert v.cancel("c-1", deadline_s=2.0).canceled
        assert not v.cancel("c-1", deadline_s=2.0).canceled
        assert v.get_order("never-sent", deadline_s=2.0) is None
        taker = bid("c-2", 0.52, 20.0, order_type=OrderType.FOK)
        ack = v.place(taker, deadline_s=2.0)
        assert ack.accepted and ack.status is OrderStatus.FILLED
        fills = v.fills(0, deadline_s=2.0)
        assert [(f.client_order_id, f.size_shares, f.price) for f in fills] == [("c-2", 20.0, 0.52)]
        assert v.balance(deadline_s=2.0).total_usdc == pytest.approx(10_000 - 10.4)
        refused = v.place(bid("c-3", size=2.0), deadline_s=2.0)  # under the minimum size
        assert not refused.accepted and refused.reason == "min_size"
        acks = v.place_many([bid("c-4", 0.40), bid("c-5", 0.41)], deadline_s=2.0)
        assert [a.status for a in acks] == [OrderStatus.OPEN] * 2
        assert {a.client_order_id for a in v.cancel_all(deadline_s=2.0)} == {"c-4", "c-5"}


def test_each_failure_reaches_the_executor_as_what_it_was(data: Path) -> None:
    faults = plan(
        FaultSpec("delay", calls=("place",), between_s=(0.0, 1e9), every_n=1, max_count=1,
                  delay_s=1.5),
        FaultSpec("connection_drop", calls=("cancel",), every_n=1, max_count=1),
        FaultSpec("rate_limit", calls=("balance",), every_n=1, max_count=1, retry_after_s=3.0),
        FaultSpec("server_error", calls=("get_order",), every_n=1, max_count=1, status=503),
    )  # fmt: skip
    with running_server(data, faults=faults) as run:
        v = venue(run, http_timeout_s=5.0)
        with pytest.raises(VenueTimeout) as late:
            v.place(bid("t-1"), deadline_s=0.5)  # our deadline, shorter than the stall
        assert "within 0.5 s" in str(late.value)  # ours, not the client's 5 s timeout
        with pytest.raises(VenueUnavailable) as err:
            v.cancel("t-1", deadline_s=2.0)
        assert err.value.status is None and "connection failed" in str(err.value)
        with pytest.raises(VenueRateLimited) as err:
            v.balance(deadline_s=2.0)
        assert err.value.retry_after_s == 3.0
        with pytest.raises(VenueUnavailable) as err:
            v.get_order("t-1", deadline_s=2.0)
        assert err.value.status == 503
        deadline = time.monotonic() + 10.0  # the stalled post lands (the venue acted)
        while (found := v.get_order("t-1", deadline_s=2.0)) is None:
            assert time.monotonic() < deadline, "the stalled order never showed up"
            time.sleep(0.05)
        assert found.status is OrderStatus.OPEN
        again = v.place(bid("t-1"), deadline_s=2.0)  # the same signed order, re-posted
        assert not again.accepted and again.reason == "duplicated"


def test_the_executor_finds_an_order_whose_answer_was_lost(data: Path, tmp_path: Path) -> None:
    with running_server(data, faults=plan(once("lost_response"))) as run:
        v = venue(run)
        cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
        ex = Executor(v, WallClock(), cash_usdc=10_000.0, config=cfg, markets=[M])
        ack = ex.buy(YES, 0.45, 10.0)
        assert ack.accepted  # found by its hash after the lost answer, never posted twice
        opened = v.open_orders(deadline_s=2.0)
        assert len(opened) == 1 and opened[0].venue_order_id == ack.venue_order_id
        assert run.server.exchange.venue.calls.get("place", 0) == 1


def test_an_order_the_venue_never_saw_is_none_and_bad_auth_is_a_refusal(data: Path) -> None:
    with running_server(data) as run:
        v = venue(run)
        assert v.api.get_order("0x" + "ab" * 32, deadline_s=2.0) is None  # 404: never seen
        v.api.client.creds.api_passphrase = "wrong"
        with pytest.raises(VenueRejected) as err:  # permanent: the executor never retries it
            v.open_orders(deadline_s=2.0)
        assert (err.value.status, err.value.reason) == (401, "unauthorized")


def test_an_order_the_client_will_not_sign_is_a_clear_refusal(data: Path, tmp_path: Path) -> None:
    with running_server(data) as run:
        v = venue(run)
        with pytest.raises(ValueError, match="refused to sign"):
            v.order_id(bid("bad", price=0.005))  # below the 0.01 tick: the client says no
        cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
        ex = Executor(v, WallClock(), cash_usdc=10_000.0, config=cfg, markets=[M])
        ack = ex.buy(YES, 0.45, 10.0, order_type=OrderType.GTD, expire_ns=1)
        assert not ack.accepted  # refused with a reason, never raised into the strategy


def test_a_tick_size_change_on_the_feed_reaches_the_checks_and_the_signer(
    data: Path, tmp_path: Path
) -> None:
    with running_server(data) as run:
        v = venue(run)
        cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
        ex = Executor(v, WallClock(), cash_usdc=10_000.0, config=cfg, markets=[M])
        assert ex.buy(YES, 0.45, 10.0).accepted
        ex.on_tick_size(TickSizeChange(0, 0, YES, M.condition_id, 0.01, 0.1))
        assert [m.tick_size for m in v.markets()] == [0.1]  # the signer's tick
        off_tick = ex.buy(YES, 0.45, 10.0)
        assert not off_tick.accepted and off_tick.reason == "invalid_tick"
        assert ex.buy(YES, 0.4, 10.0).accepted
        assert run.server.exchange.venue.calls.get("place", 0) == 2  # the off-tick one never


def test_an_off_tick_price_is_refused_before_the_client_rounds_it(
    data: Path, tmp_path: Path
) -> None:
    with running_server(data) as run:
        v = venue(run)
        cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
        ex = Executor(v, WallClock(), cash_usdc=10_000.0, config=cfg, markets=[M])
        ack = ex.buy(YES, 0.455, 10.0)  # the client would sign it as 0.46 without a word
        assert not ack.accepted and ack.reason == "invalid_tick"
        assert run.server.exchange.venue.calls.get("place", 0) == 0
