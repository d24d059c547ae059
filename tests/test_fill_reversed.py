"""A fill the venue reverses (its trade FAILED on chain) leaves no trace: positions, cash,
P&L and the order's filled shares are as if it never happened, in the process that heard
it and in one restarted from its journal; the strategy hears of the order; and, against
the loopback mock, the executor's position ends where the venue's does."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_mock.faults import FaultSpec
from live.clob_api import ClobApi
from live.live_venue import LiveVenue
from live.user_feed import UserChannel
from live.user_memory import UserChannelMemory
from sim.clock import SimClock, WallClock
from sim.context import EngineContext
from sim.engine import Engine
from sim.events import FillEvent, FillReversed, MarketResolved, OrderUpdate
from sim.executor import Executor, ExecutorConfig
from sim.executor.fills import FillHandler
from sim.journal import MemoryJournal
from sim.strategy import Strategy
from sim.types import Fill, Liquidity, OrderRequest, OrderStatus, OrderType, Side
from tests.fakes import FakeVenue
from tests.server_helpers import KEY, plan, running_server, write_dataset
from tests.server_helpers import YES as WIRE_YES
from tests.server_helpers import M as WIRE_M
from tests.test_executor_faults import NO, YES, M, fill_of, setup
from tests.test_live_user_feed import Relay, Sink

EPS = 1e-9
WAIT_S = 10.0  # the longest anything may take to arrive (a deadline, never a sleep);
# a trade fails 4 wall seconds after its match (the chain's time, at any replay speed)


def state(ex: Executor) -> dict:
    """What a fill moves: positions, cash, fees, P&L (marked at 0.5), filled shares."""
    return {
        "positions": {a: ex.tracker.positions.get(a, 0.0) for a in (YES, NO)},
        "cash": ex.tracker.cash_usdc,
        "fees": ex.tracker.fees_usdc,
        "realized": ex.pnl.realized_usdc,
        "pnl": ex.pnl.pnl_by_market(lambda a: 0.5),
        "filled": {c: o.filled_shares for c, o in ex.tracker.orders.items()},
    }


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            keys = x.keys() | y.keys()
            assert all(abs(x.get(k, 0.0) - y.get(k, 0.0)) <= EPS for k in keys), (key, x, y)
        else:
            assert abs(x - y) <= EPS, (key, x, y)


def reversal(fill_event: FillEvent, reason: str = "trade FAILED on chain") -> FillReversed:
    return FillReversed(fill_event.ts_exchange_ns, fill_event.ts_recv_ns, fill_event.fill, reason)


# ------------------------------------------------------------------------------ the executor


def fill_then_reverse(tmp_path: Path) -> tuple[dict, dict, Executor]:
    """A resting bid filled twice, then its second fill reversed: the state before that
    fill and after its reversal."""
    ex, venue, _ = setup(tmp_path)
    cid = ex.buy(YES, 0.45, 30.0).client_order_id
    ex.on_venue_event(fill_of(venue, cid, 10.0, 0.45, "t-1", "MAKER"))
    before = state(ex)
    second = fill_of(venue, cid, 15.0, 0.45, "t-2", "MAKER")
    ex.on_venue_event(second)
    assert ex.tracker.positions[YES] == pytest.approx(25.0)
    ex.on_venue_event(reversal(second))
    return before, state(ex), ex


def test_a_reversed_fill_is_taken_back_out_of_everything(tmp_path: Path) -> None:
    before, after, ex = fill_then_reverse(tmp_path)
    assert_same(before, after)
    (order,) = ex.tracker.orders.values()
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.fills == ["t-1"]
    assert [f.trade_id for f in ex.tracker.fills] == ["t-1"]
    alert = ex.memory_alerts.alerts[-1]
    assert (alert.kind, alert.level, alert.data["trade_id"]) == ("fill_reversed", "critical", "t-2")
    (rec,) = ex.journal.records(kinds=["fill_reversed"])
    assert (rec.key, rec.payload["reason"], rec.payload["size_shares"]) == (
        "t-2", "trade FAILED on chain", 15.0)  # fmt: skip


def test_with_the_handler_off_the_state_keeps_the_undone_fill(tmp_path: Path, monkeypatch) -> None:
    """Mechanism off: the same scenario with the reversal ignored fails the check above."""
    monkeypatch.setattr(FillHandler, "on_reversed", lambda self, event: None)
    before, after, _ = fill_then_reverse(tmp_path)
    with pytest.raises(AssertionError):
        assert_same(before, after)


def test_a_fill_reversed_twice_or_never_applied_changes_nothing(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    cid = ex.buy(YES, 0.45, 30.0).client_order_id
    first = fill_of(venue, cid, 10.0, 0.45, "t-1", "MAKER")
    ex.on_venue_event(first)
    assert ex.on_venue_event(reversal(first)) is not None
    done, alerts, records = state(ex), len(ex.memory_alerts.alerts), ex.journal.last_seq
    assert ex.on_venue_event(reversal(first)) is None  # twice
    stranger = replace(first.fill, trade_id="t-never")
    assert ex.on_venue_event(FillReversed(1, 1, stranger)) is None  # never applied
    ghost = replace(first.fill, trade_id="t-ghost", client_order_id="c-unknown")
    assert ex.on_venue_event(FillReversed(1, 1, ghost)) is None  # an order we never had
    assert_same(done, state(ex))
    assert (len(ex.memory_alerts.alerts), ex.journal.last_seq) == (alerts, records)
    ex.on_venue_event(first)  # the undone trade heard again: never applied again
    assert_same(done, state(ex)) and ex.tracker.duplicate_fills == 1


def test_an_order_filled_by_a_reversed_fill_is_asked_about_again(tmp_path: Path) -> None:
    ex, venue, _ = setup(tmp_path)
    ack = ex.buy(YES, 0.52, 20.0, order_type=OrderType.FOK)
    cid = ack.client_order_id
    fill = fill_of(venue, cid, 20.0, 0.52, "t-1")
    ex.on_venue_event(fill)
    assert ex.tracker.orders[cid].status is OrderStatus.FILLED
    order = ex.on_venue_event(reversal(fill))
    assert order is not None and order.status is OrderStatus.UNKNOWN and cid in ex.lost
    assert order.filled_shares == 0.0 and order.reason == "fill_reversed"
    # the venue still counts the order matched (it undid the trade, not the order)
    venue.orders[cid] = replace(venue.orders[cid], status=OrderStatus.FILLED, filled_shares=20.0)
    ex._on_check()  # the periodic check asks about lost orders
    assert order.status is OrderStatus.CANCELED and cid not in ex.lost
    assert "fok_partial" not in ex.memory_alerts.kinds()  # the venue did fill it whole


def test_a_fill_reversed_after_its_market_resolved_unsettles_its_shares(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    cid = ex.buy(YES, 0.45, 30.0).client_order_id
    before = state(ex)
    fill = fill_of(venue, cid, 10.0, 0.45, "t-1", "MAKER")
    ex.on_venue_event(fill)
    ex.on_resolved(MarketResolved(clock.now_ns(), clock.now_ns(), M.condition_id, (YES, NO), YES))
    assert ex.tracker.cash_usdc == pytest.approx(before["cash"] + 10.0 * (1.0 - 0.45))
    ex.on_venue_event(reversal(fill))
    assert_same(before, state(ex))


# ------------------------------------------------------------------------------ properties

FILLS = st.lists(
    st.tuples(
        st.sampled_from(["buy-yes", "sell-yes", "buy-no"]),
        st.integers(1, 99).map(lambda c: c / 100),  # price
        st.integers(1, 400).map(lambda s: s / 4),  # shares
        st.sampled_from([0.0, 0.01, 0.37]),  # fee (USDC, takers)
    ),
    min_size=1,
    max_size=8,
)


@pytest.fixture(scope="module")
def kill_path(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("kill") / "KILL")


def bookkeeping(kill_path: str) -> Executor:
    """An executor with three resting orders, large enough never to fill up."""
    venue = FakeVenue(SimClock(10**18), [M], [])
    ex = Executor(venue, venue.clock, cash_usdc=1_000.0, markets=[M],
                  config=ExecutorConfig(kill_switch_path=kill_path))  # fmt: skip
    for cid, side, asset in (("buy-yes", Side.BUY, YES), ("sell-yes", Side.SELL, YES),
                             ("buy-no", Side.BUY, NO)):  # fmt: skip
        ex.tracker.add(OrderRequest(cid, asset, side, 0.5, 1e9), 0, None).status = OrderStatus.OPEN
    return ex


def event(ex: Executor, i: int, spec: tuple) -> FillEvent:
    cid, price, shares, fee = spec
    order = ex.tracker.orders[cid]
    liquidity = Liquidity.TAKER if fee else Liquidity.MAKER
    f = Fill(f"t-{i}", cid, f"v-{cid}", order.request.asset_id, order.request.side, price,
             shares, fee, 0.0, liquidity, 10**18 + i)  # fmt: skip
    return FillEvent(f.ts_ns, f.ts_ns, f)


@settings(max_examples=150, deadline=None)
@given(fills=FILLS, last=FILLS.map(lambda fs: fs[0]))
def test_a_fill_and_its_reversal_restore_the_state_before_it(kill_path, fills, last) -> None:
    ex = bookkeeping(kill_path)
    for i, spec in enumerate(fills):
        ex.on_venue_event(event(ex, i, spec))
    before = state(ex)
    ev = event(ex, len(fills), last)
    ex.on_venue_event(ev)
    ex.on_venue_event(reversal(ev))
    assert_same(before, state(ex))


@settings(max_examples=150, deadline=None)
@given(fills=FILLS, data=st.data())
def test_reversing_any_fill_is_the_run_without_it(kill_path, fills, data) -> None:
    k = data.draw(st.integers(0, len(fills) - 1))
    ex, without = bookkeeping(kill_path), bookkeeping(kill_path)
    events = [event(ex, i, spec) for i, spec in enumerate(fills)]
    for i, ev in enumerate(events):
        ex.on_venue_event(ev)
        if i != k:
            without.on_venue_event(ev)
    ex.on_venue_event(reversal(events[k]))
    assert_same(state(without), state(ex))


# ------------------------------------------------------------------------------ restart


def test_a_restart_replays_the_reversal(tmp_path: Path) -> None:
    journal = MemoryJournal(strict=True)
    ex, venue, clock = setup(tmp_path, journal=journal)
    rest = ex.buy(YES, 0.45, 30.0).client_order_id
    fok = ex.buy(YES, 0.52, 20.0, order_type=OrderType.FOK).client_order_id
    kept = fill_of(venue, rest, 10.0, 0.45, "t-1", "MAKER")
    undone = fill_of(venue, fok, 20.0, 0.52, "t-2")
    for ev in (kept, undone, reversal(undone), fill_of(venue, rest, 5.0, 0.45, "t-3", "MAKER")):
        ex.on_venue_event(ev)
    live = state(ex)
    assert live["positions"][YES] == pytest.approx(15.0)
    again = Executor(venue, clock, cash_usdc=1_000.0, config=ex.config, books=venue.book,
                     markets=[M], journal=journal)  # fmt: skip
    again.recover()
    assert_same(live, state(again))
    assert [f.trade_id for f in again.tracker.fills] == ["t-1", "t-3"]
    # the FOK's state after the reversal is the venue's: asked at the restart's reconcile
    assert again.tracker.orders[fok].status is not OrderStatus.FILLED
    again.on_venue_event(undone)  # heard again after the restart: still never applied
    assert_same(live, state(again))


# ------------------------------------------------------------------------------ the engine


class Watcher(Strategy):
    def on_start(self, ctx):
        self.orders: list = []
        self.fills: list = []
        self.cid = ctx.orders.buy(YES, 0.45, 30.0).client_order_id

    def on_fill(self, ctx, fill):
        self.fills.append(fill.trade_id)

    def on_order(self, ctx, order):
        self.orders.append((order.status, order.filled_shares))


def test_the_engine_hands_the_reversal_to_the_executor_and_tells_the_strategy(tmp_path) -> None:
    ex, venue, clock = setup(tmp_path)
    strategy = Watcher()
    ctx = EngineContext(clock=clock, executor=ex, feed=venue, markets=[M],
                        log=logging.getLogger("t"))  # fmt: skip
    engine = Engine(strategy=strategy, feed=venue, executor=ex, context=ctx, clock=clock)
    engine.start()
    fill = venue.fill(strategy.cid, 10.0, trade_id="t-1")
    engine.run_until(clock.now_ns() + 1)
    venue.pending.append(reversal(fill))
    engine.run_until(clock.now_ns() + 2)
    assert strategy.fills == ["t-1"]
    assert strategy.orders[-1] == (OrderStatus.OPEN, 0.0)
    assert ex.tracker.positions[YES] == 0.0 and engine.stats.callbacks["fill_reversed"] == 1


# ------------------------------------------------------------------------------ the channel


def test_the_channel_reverses_a_fill_once_and_never_one_it_did_not_put() -> None:
    said, out = UserChannelMemory(Counter()), []
    leg = Fill("trade-1:0xa", "c-1", "0xa", YES, Side.BUY, 0.52, 10.0, 0.0, 0.0,
               Liquidity.TAKER, 5)  # fmt: skip
    said.offer_fill(leg, 5, 6, out, "socket")
    said.offer_failure(leg, 7, 8, out, "poll")  # the poller heard the failure first
    said.offer_failure(leg, 9, 9, out, "socket")  # then the socket: said already
    assert [type(e) for e in out] == [FillEvent, FillReversed]
    assert (out[1].fill.trade_id, out[1].ts_recv_ns) == ("trade-1:0xa", 8)
    never = replace(leg, trade_id="trade-2:0xa")
    said.offer_failure(never, 10, 10, out, "socket")  # FAILED before any fill was put
    said.offer_fill(never, 11, 11, out, "poll")  # and its fill is never put afterwards
    assert len(out) == 2 and said.failed_fills() == [leg]


# ------------------------------------------------------------------------------ on the wire


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("reversals") / "ds", minutes=4)


def wait(done, what: str, deliver) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        deliver()
        if done():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {WAIT_S} s: {what}")
        time.sleep(0.01)


def test_against_the_mock_the_position_ends_where_the_venues_does(data: Path, tmp_path) -> None:
    """Every trade of ours fails on chain: each fill is heard, then reversed once (socket
    or poller, whichever first), and the executor ends where the venue ends."""
    faults = plan(FaultSpec("trade_fail", rate=1.0))
    with running_server(data, faults=faults, realtime_speed=10.0) as run:
        v = LiveVenue(ClobApi(run.urls.rest, 137, KEY, http_timeout_s=2.0), [WIRE_M], WallClock())
        ex = Executor(v, WallClock(), cash_usdc=10_000.0, markets=[WIRE_M],
                      config=ExecutorConfig(kill_switch_path=str(tmp_path / "KILL")))  # fmt: skip
        sink = Sink()
        ch = UserChannel(run.urls.ws_user, v, poll_s=0.2, poll_deadline_s=2.0)
        events: list = []

        def deliver() -> None:
            for ev in sink.feed.advance(0):
                events.append(ev)
                if isinstance(ev, FillEvent | OrderUpdate | FillReversed):
                    ex.on_venue_event(ev)

        ch.start(sink.feed)
        try:
            assert ch.wait_up(WAIT_S)
            acks = [ex.buy(WIRE_YES, 0.52, 10.0, order_type=OrderType.FOK) for _ in range(2)]
            assert all(a.accepted for a in acks)
            wait(lambda: len(ex.tracker.fills) == 2, "both fills", deliver)
            assert ex.tracker.positions[WIRE_YES] == pytest.approx(20.0)
            wait(lambda: ch.stats.failed_after_fill == 2 and not ex.tracker.fills,
                 "both reversals", deliver)  # fmt: skip
            ch.poll_once()  # the poller sees the FAILED trades too: nothing said twice
            wait(lambda: True, "drained", deliver)
            reversed_ids = [e.fill.trade_id for e in events if isinstance(e, FillReversed)]
            assert sorted(reversed_ids) == sorted(f.fill.trade_id for f in events
                                                  if isinstance(f, FillEvent))  # fmt: skip
            report = ex.reconcile()  # the FOKs, in doubt since their fill went, are asked
            mock = run.server.exchange.venue
            assert ex.tracker.positions.get(WIRE_YES, 0.0) == pytest.approx(
                mock.positions().get(WIRE_YES, 0.0), abs=EPS)  # fmt: skip
            assert ex.tracker.positions[WIRE_YES] == pytest.approx(0.0, abs=EPS)
            assert ex.tracker.cash_usdc == pytest.approx(mock.balance(deadline_s=1).total_usdc)
            assert not [line for line in report if line.startswith("balance")], report
            assert {ex.tracker.orders[a.client_order_id].status for a in acks} == {
                OrderStatus.CANCELED}  # fmt: skip
            assert ex.memory_alerts.kinds().count("fill_reversed") == 2
        finally:
            assert ch.stop()
            v.api.close()


def test_a_failure_heard_only_by_the_poller_is_reversed_once(data: Path, tmp_path) -> None:
    faults = plan(FaultSpec("trade_fail", rate=1.0))
    with running_server(data, faults=faults) as run:
        v = LiveVenue(ClobApi(run.urls.rest, 137, KEY, http_timeout_s=2.0), [WIRE_M], WallClock())
        sink, relay = Sink(), Relay(run.urls.ws_user)
        ch = UserChannel(relay.url, v, poll_s=3600.0, poll_deadline_s=2.0,
                         backoff_base_s=0.05, backoff_cap_s=0.2)  # fmt: skip
        ch.start(sink.feed)
        try:
            assert ch.wait_up(WAIT_S)
            v.place(OrderRequest("f-1", WIRE_YES, Side.BUY, 0.52, 10.0, OrderType.FOK),
                    deadline_s=2.0)  # fmt: skip
            sink.wait(lambda: sink.fills("f-1"), "the fill at MATCHED")
            relay.cut()  # the socket will not hear the failure
            sink.wait(lambda: not ch.up, "the socket noticed the drop")
            run.advance(5.0)  # FAILED, and reversed at the venue
            assert v.fills_and_failures(0, deadline_s=2.0)[1]  # the venue says so by REST
            ch.poll_once()
            ch.poll_once()
            sink.wait(lambda: True)
            reversals = [e for e in sink.events if isinstance(e, FillReversed)]
            assert [r.fill.trade_id for r in reversals] == [sink.fills("f-1")[0].trade_id]
            assert reversals[0].reason == "trade FAILED on chain"
            st_ = ch.stats
            assert (st_.reversals_poll, st_.reversals_socket, st_.failed_after_fill) == (1, 0, 1)
        finally:
            assert ch.stop()
            relay.close()
            v.api.close()
