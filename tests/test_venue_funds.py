"""The simulated venue refuses what Polymarket refuses for lack of funds.

``not enough balance / allowance`` (reference 1, 4.7, 7): a BUY needs its order amount
(price * size) beyond what our open BUYs reserve, out of the cash and out of the
allowance; a SELL needs its shares beyond what our open SELLs of that token reserve. A
refused order never reaches the book. So an executor bug that over-sends is caught by a
backtest instead of ending with negative cash or a short position.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchange_mock import Backtest
from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec
from exchange_mock.sim_venue import SimVenue
from sim.clock import SimClock
from sim.executor.balance import BalanceCache
from sim.executor.checks import PreTradeChecks
from sim.marketdata import (
    Dataset,
    DatasetWriter,
    EventColumns,
    EventKind,
    asset_table,
    day_start_ns,
)
from sim.risk import RiskConfig
from sim.types import OrderRequest, OrderStatus, OrderType, Side
from tests.helpers import DAY, make_market
from tests.test_faults_helpers import Script, drive

K = EventKind
MS = 1_000_000
S = 1_000_000_000
M = make_market(0, 0.01, fee_rate=0.07)  # a BUY's taker fee is paid in shares
YES, NO = M.yes_token_id, M.no_token_id
ASSETS = asset_table([M])
T0 = day_start_ns(DAY) + 3_600 * S
RUN_S = 60
NO_FUNDS = ("not_enough_balance", "not enough balance / allowance")
EPS = 1e-9


def write_dataset(root: Path) -> Path:
    """YES book: bids 0.48 (100) / 0.47 (200), asks 0.52 (50) / 0.53 (300) / 0.54 (500).

    Every 400 ms a buyer lifts 40 at 0.56 (our YES asks up to 0.56 and NO bids from 0.44
    fill), 200 ms later a seller hits 40 at 0.44 (our YES bids from 0.44 and NO asks up to
    0.56 fill); a far ask changes in between. Orders resting nearer the touch than that
    fill as makers, so cash and positions also move while nobody sends anything.
    """
    rows = [
        (0, K.BOOK_RESET, 0, 0.0, 0.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.48, 100.0),
        (0, K.SNAPSHOT_LEVEL, 1, 0.47, 200.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.52, 50.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.53, 300.0),
        (0, K.SNAPSHOT_LEVEL, -1, 0.54, 500.0),
    ]
    for i in range(1, RUN_S * 10 + 1):
        t = i * 100 * MS
        if i % 4 == 0:
            rows.append((t, K.TRADE, 1, 0.56, 40.0))
        elif i % 4 == 2:
            rows.append((t, K.TRADE, -1, 0.44, 40.0))
        else:
            rows.append((t, K.LEVEL_CHANGE, -1, 0.60, 100.0 + i))
    ts = np.array([T0 + r[0] for r in rows])
    cols = EventColumns.from_arrays(
        ASSETS, ts_exchange_ns=ts, ts_recv_ns=ts + 5 * MS, seq=np.arange(1, len(rows) + 1),
        asset=np.zeros(len(rows)), kind=[r[1] for r in rows], side=[r[2] for r in rows],
        price=[r[3] for r in rows], size=[r[4] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, [M]).write_day(DAY, "m0", cols)
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("funds"))


@pytest.fixture(scope="module")
def dataset(root: Path) -> Dataset:
    return Dataset.open(root)


def make_venue(dataset: Dataset, cash: float = 1_000.0, **kw) -> tuple[SimVenue, SimClock]:
    clock = SimClock(day_start_ns(DAY))
    venue = SimVenue(dataset, clock=clock, cash_usdc=cash, **kw)
    clock.advance_to(venue.first_event_ns())
    venue.subscribe([YES, NO])
    return venue, clock


_ids = iter(range(10**9))


def req(side: Side, price: float, size: float, asset: str = YES,
        order_type: OrderType = OrderType.GTC, cid: str | None = None) -> OrderRequest:  # fmt: skip
    return OrderRequest(cid or f"o{next(_ids)}", asset, side, price, size, order_type)


def place(venue: SimVenue, *args, **kw):
    return venue.place(req(*args, **kw), deadline_s=5)


def refused_for_funds(ack) -> bool:
    return (ack.reason, ack.message) == NO_FUNDS


def assert_refused_without_trace(venue: SimVenue, ack, cash: float, n_orders: int) -> None:
    assert (ack.accepted, ack.status, ack.venue_order_id) == (False, OrderStatus.REJECTED, None)
    assert refused_for_funds(ack)
    assert venue.clob.cash_usdc == cash and venue.clob.n_orders == n_orders  # never matched
    assert ack.client_order_id not in {s.client_order_id for s in venue.order_states()}
    assert venue.get_order(ack.client_order_id, deadline_s=5) is None


# ---------------------------------------------------------------------- BUY: collateral
def test_a_buy_beyond_the_cash_is_refused_with_polymarkets_words(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    ack = place(venue, Side.BUY, 0.50, 20_000.0)  # 10,000 USDC against 1,000
    assert_refused_without_trace(venue, ack, 1_000.0, 0)
    assert not venue.fills(0, deadline_s=5) and not venue.positions()
    ack = place(venue, Side.BUY, 0.54, 20_000.0, order_type=OrderType.FAK)  # marketable too
    assert_refused_without_trace(venue, ack, 1_000.0, 0)
    ack = place(venue, Side.BUY, 0.50, 2_000.0)  # exactly the cash: fits
    assert ack.accepted and ack.status is OrderStatus.OPEN


def test_open_buys_reserve_their_collateral(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    first = place(venue, Side.BUY, 0.40, 1_500.0)  # rests: reserves 600
    assert first.accepted and venue.balance(deadline_s=5).available_usdc == pytest.approx(400.0)
    n = venue.clob.n_orders
    ack = place(venue, Side.BUY, 0.45, 1_000.0)  # 450 <= 1,000 cash, > 400 free
    assert_refused_without_trace(venue, ack, 1_000.0, n)
    ack = place(venue, Side.BUY, 0.30, 1_500.0, asset=NO)  # 450: the NO token draws on it too
    assert_refused_without_trace(venue, ack, 1_000.0, n)
    assert place(venue, Side.BUY, 0.45, 800.0).accepted  # 360 fits
    assert venue.cancel(first.client_order_id, deadline_s=5).canceled
    assert place(venue, Side.BUY, 0.45, 1_000.0).accepted  # the reservation came back


def test_a_partial_fill_spends_part_and_releases_part_of_a_reservation(dataset: Dataset) -> None:
    venue, clock = make_venue(dataset)
    ack = place(venue, Side.BUY, 0.45, 2_000.0)  # rests at 0.45: reserves 900
    assert ack.accepted
    drive(venue, clock, T0 + 900 * MS)  # two sellers hit it at 0.44: 80 filled at 0.45
    assert venue.positions()[YES] == pytest.approx(80.0)  # a maker pays no fee
    assert venue.clob.cash_usdc == pytest.approx(1_000.0 - 36.0)
    assert venue.balance(deadline_s=5).available_usdc == pytest.approx(1_000.0 - 900.0)
    assert refused_for_funds(place(venue, Side.BUY, 0.40, 251.0))  # 100.4 > 100
    assert place(venue, Side.BUY, 0.40, 250.0).accepted  # 100


def test_a_batch_counts_its_earlier_orders(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    reqs = [req(Side.BUY, 0.40, 1_000.0) for _ in range(3)]  # 400 each
    acks = venue.place_many(reqs, deadline_s=5)
    assert [a.accepted for a in acks] == [True, True, False]
    assert refused_for_funds(acks[2]) and venue.calls == {"place_many": 1}
    assert venue.balance(deadline_s=5).available_usdc == pytest.approx(200.0)


# ---------------------------------------------------------------------- allowance
def test_an_allowance_below_the_cash_refuses_and_an_approval_lifts_it(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset, allowance_usdc=300.0)
    assert venue.allowance_usdc == 300.0
    bal = venue.balance(deadline_s=5)
    assert (bal.total_usdc, bal.available_usdc) == (1_000.0, 300.0)
    ack = place(venue, Side.BUY, 0.40, 1_000.0)  # 400: cash enough, allowance not
    assert_refused_without_trace(venue, ack, 1_000.0, 0)
    assert place(venue, Side.BUY, 0.40, 700.0).accepted  # 280
    assert refused_for_funds(place(venue, Side.BUY, 0.40, 100.0))  # 40 > 300 - 280
    venue.approve(None)  # unlimited, as the usual setup leaves it
    assert place(venue, Side.BUY, 0.40, 1_000.0).accepted
    assert venue.balance(deadline_s=5).available_usdc == pytest.approx(1_000.0 - 680.0)


def test_a_finite_allowance_is_used_up_by_buy_fills(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset, allowance_usdc=100.0)
    assert place(venue, Side.BUY, 0.52, 50.0, order_type=OrderType.FAK).accepted  # 26 spent
    assert venue.allowance_usdc == pytest.approx(74.0)
    held = venue.positions()[YES]
    assert place(venue, Side.SELL, 0.48, held, order_type=OrderType.FAK).accepted
    assert venue.allowance_usdc == pytest.approx(74.0)  # a sale spends none
    assert refused_for_funds(place(venue, Side.BUY, 0.40, 190.0))  # 76 > 74 (cash is plenty)
    assert place(venue, Side.BUY, 0.40, 185.0).accepted  # 74


def test_an_allowance_must_be_a_non_negative_amount(dataset: Dataset) -> None:
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="allowance_usdc"):
            make_venue(dataset, allowance_usdc=bad)
    venue, _ = make_venue(dataset, allowance_usdc=0.0)
    assert refused_for_funds(place(venue, Side.BUY, 0.10, 10.0))


# ---------------------------------------------------------------------- SELL: tokens
def test_selling_shares_never_held_is_refused(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    ack = place(venue, Side.SELL, 0.40, 100.0, asset=NO)  # would cross: a NO bid is at 0.48
    assert_refused_without_trace(venue, ack, 1_000.0, 0)
    assert refused_for_funds(place(venue, Side.SELL, 0.60, 10.0))  # resting, YES: the same
    assert not venue.positions()


def test_shares_held_can_be_sold_less_what_open_sells_reserve(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    assert place(venue, Side.BUY, 0.52, 50.0, order_type=OrderType.FAK).accepted
    held = venue.positions()[YES]
    assert held == pytest.approx(50.0 - 50 * 0.07 * 0.52 * 0.48 / 0.52)  # fee in shares
    assert refused_for_funds(place(venue, Side.SELL, 0.60, 50.0))  # the fee shares are gone
    assert refused_for_funds(place(venue, Side.SELL, 0.60, 10.0, asset=NO))  # other token
    assert place(venue, Side.SELL, 0.60, 30.0).accepted  # rests: reserves 30
    n, cash = venue.clob.n_orders, venue.clob.cash_usdc
    ack = place(venue, Side.SELL, 0.59, 30.0)  # 30 > held - 30
    assert_refused_without_trace(venue, ack, cash, n)
    sold = place(venue, Side.SELL, 0.48, held - 30.0, order_type=OrderType.FAK)  # the rest
    assert sold.accepted and sold.status is OrderStatus.FILLED
    assert venue.positions()[YES] == pytest.approx(30.0)
    assert refused_for_funds(place(venue, Side.SELL, 0.48, 5.0))  # all reserved by the 0.60


# ---------------------------------------------------------------------- ids
def test_a_resent_order_that_landed_is_still_a_duplicate(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    order = req(Side.BUY, 0.50, 2_000.0)  # every cent: its own reservation leaves 0
    assert venue.place(order, deadline_s=5).accepted
    again = venue.place(order, deadline_s=5)
    assert again.reason == "duplicated"  # not a refusal for funds: the executor adopts it


def test_a_refused_order_is_unknown_so_the_same_order_may_be_sent_later(dataset: Dataset) -> None:
    venue, _ = make_venue(dataset)
    blocker = place(venue, Side.BUY, 0.40, 2_000.0)  # reserves 800
    order = req(Side.BUY, 0.40, 1_000.0, cid="same-id")
    assert refused_for_funds(venue.place(order, deadline_s=5))
    assert refused_for_funds(venue.place(order, deadline_s=5))  # still unfunded, not a dup
    assert "same-id" not in {s.client_order_id for s in venue.order_states()}
    assert venue.cancel(blocker.client_order_id, deadline_s=5).canceled
    ack = venue.place(order, deadline_s=5)  # never reached the book: no duplicate
    assert ack.accepted and venue.place(order, deadline_s=5).reason == "duplicated"


# ---------------------------------------------------------------------- random sequences
TYPES = [OrderType.GTC, OrderType.GTC, OrderType.FAK, OrderType.FOK]
order_spec = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.sampled_from([YES, NO]),
    st.integers(30, 70).map(lambda t: t / 100),
    # shares, or (negative) a fraction of what is free: just under, all of it, or over
    st.sampled_from([5.0, 12.5, 40.0, 150.0, 600.0, 2_500.0, -0.5, -1.0, -1.0, -1.3]),
    st.sampled_from(TYPES),
)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("order"), order_spec),
        st.tuples(st.just("batch"), st.lists(order_spec, min_size=2, max_size=4)),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("wait"), st.floats(0.1, 3.0)),
    ),
    min_size=1,
    max_size=30,
)


def free_funds(venue: SimVenue) -> tuple[float, dict[str, float]]:
    """What a new BUY may commit, and the shares a new SELL may, from the public calls."""
    available = venue.balance(deadline_s=5).available_usdc
    held = venue.positions()
    free = {a: held.get(a, 0.0) for a in (YES, NO)}
    for o in venue.open_orders(deadline_s=5):
        if o.side is Side.SELL:
            free[o.asset_id] -= o.remaining_shares
    return available, free


def sized(side: Side, asset: str, price: float, size: float, funds: tuple) -> float:
    """``size`` shares, or its (negative) fraction of what is free for this order."""
    if size > 0:
        return size
    available, free = funds
    whole = available / price if side is Side.BUY else free[asset]
    return max(round(-size * whole, 4), 1.0)


def check_invariants(venue: SimVenue) -> None:
    cash = venue.clob.cash_usdc
    assert cash >= -EPS
    assert all(p >= -EPS for p in venue.positions().values())
    opens = venue.open_orders(deadline_s=5)
    reserved = sum(o.price * o.remaining_shares for o in opens if o.side is Side.BUY)
    assert reserved <= cash + EPS
    if venue.allowance_usdc is not None:
        assert reserved <= venue.allowance_usdc + EPS
    available, free = free_funds(venue)
    assert available >= -EPS and all(f >= -EPS for f in free.values())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, cash=st.sampled_from([50.0, 400.0, 2_000.0]),
       allowance=st.sampled_from([None, None, 30.0, 250.0]))  # fmt: skip
def test_cash_and_positions_never_go_below_zero(
    dataset: Dataset, ops: list, cash: float, allowance: float | None
) -> None:
    venue, clock = make_venue(dataset, cash=cash, allowance_usdc=allowance)
    sent: list[str] = []
    for kind, arg in ops:
        if kind == "wait":
            drive(venue, clock, clock.now_ns() + round(arg * S), step_s=0.1)
        elif kind == "cancel":
            if sent:
                venue.cancel(sent[arg % len(sent)], deadline_s=5)
        elif kind == "order":
            side, asset, price, size, otype = arg
            available, free = funds = free_funds(venue)  # the exchange is already at "now"
            size = sized(side, asset, price, size, funds)
            funded = (price * size <= available + EPS if side is Side.BUY
                      else size <= free[asset] + EPS)  # fmt: skip
            n_orders = venue.clob.n_orders
            ack = place(venue, side, price, size, asset=asset, order_type=otype)
            sent.append(ack.client_order_id)
            assert refused_for_funds(ack) == (not funded), (arg, available, free)
            assert venue.clob.n_orders == n_orders + funded  # refused: never matched
        else:
            funds = free_funds(venue)
            reqs = [req(side, price, sized(side, asset, price, size, funds), asset=asset,
                        order_type=otype) for side, asset, price, size, otype in arg]  # fmt: skip
            acks = venue.place_many(reqs, deadline_s=5)
            sent += [a.client_order_id for a in acks]
        check_invariants(venue)
    drive(venue, clock, T0 + RUN_S * S)  # everything left rests until the data ends
    check_invariants(venue)


# ---------------------------------------------------------------------- the executor
def over_sender(*orders) -> Script:
    """One order per entry, one every 0.2 s, from the first tick on."""
    return Script(*((0.2 * i, o) for i, o in enumerate(orders)))


def run(root: Path, strategy: Script, cash: float) -> tuple:
    bt = Backtest(strategy=strategy, data=root, cash_usdc=cash, risk=RiskConfig(enabled=False))
    return bt.run(), bt


def test_an_executor_that_skips_its_funds_check_is_caught_by_the_venue(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BalanceCache, "funds_check", lambda self, *a: ("", ""))
    monkeypatch.setattr(PreTradeChecks, "shares_check", lambda self, *a: ("", ""))
    s = over_sender(
        lambda ctx: ctx.orders.buy(YES, 0.53, 300.0),  # takes 50 @ .52 + 250 @ .53: 158.5
        lambda ctx: ctx.orders.sell(NO, 0.40, 100.0),  # never held
        lambda ctx: ctx.orders.buy(YES, 0.40, 150.0),  # 60: fits
    )
    result, bt = run(root, s, cash=100.0)
    buy, sell, ok = s.results
    for ack in (buy, sell):
        assert (ack.accepted, ack.reason, ack.message) == (False, *NO_FUNDS)
    assert ok.accepted
    venue_refusals = result.refusals[result.refusals["source"] == "venue"]
    assert list(venue_refusals["reason"]) == ["not_enough_balance"] * 2
    assert set(venue_refusals["message"]) == {"not enough balance / allowance"}
    assert bt.venue.clob.cash_usdc >= 0.0
    assert all(p >= 0.0 for p in bt.venue.positions().values())
    assert bt.executor.tracker.orders[buy.client_order_id].status is OrderStatus.REJECTED
    assert bt.venue.calls["place"] == 3  # refused once, never retried


def test_with_its_checks_the_executor_refuses_first(root: Path) -> None:
    s = over_sender(
        lambda ctx: ctx.orders.buy(YES, 0.53, 300.0),
        lambda ctx: ctx.orders.sell(NO, 0.40, 100.0),
    )
    result, bt = run(root, s, cash=100.0)
    assert [a.reason for a in s.results] == ["insufficient_funds", "insufficient_position"]
    assert set(result.refusals["source"]) == {"executor"} and "place" not in bt.venue.calls


def test_a_refusal_whose_answer_was_lost_is_looked_up_and_refused_again(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BalanceCache, "funds_check", lambda self, *a: ("", ""))
    s = Script((1.0, lambda ctx: ctx.orders.buy(YES, 0.53, 300.0)))
    inj = FaultInjector(FaultPlan((FaultSpec("lost_response", at_s=1.0),), 0))
    bt = Backtest(strategy=s, data=root, cash_usdc=100.0, fault_hook=inj,
                  risk=RiskConfig(enabled=False))  # fmt: skip
    result = bt.run()
    (ack,) = s.results
    assert inj.counts == {"lost_response": 1}
    assert (ack.accepted, ack.reason, ack.message) == (False, *NO_FUNDS)  # not outcome_unknown
    assert not bt.executor.lost and bt.venue.calls["place"] == 2  # unknown there: sent again
    assert list(result.refusals["reason"]) == ["not_enough_balance"]
    assert bt.venue.clob.cash_usdc == 100.0 and not bt.venue.order_states()
