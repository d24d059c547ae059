"""Hand-made cases for the simulated CLOB kernels and ``SimBook``."""

from __future__ import annotations

import numpy as np
import pytest

from exchange_mock.clob import SimBook, codes
from exchange_mock.clob.fees import fill_accounting
from exchange_mock.clob.ladder import set_level, to_book, walk_take
from exchange_mock.clob.state import ASK, BID, MF_PAYOUT_YES
from sim.marketdata import EventColumns, EventKind, asset_table
from sim.types import OrderStatus, OrderType, Side, taker_fee_usdc
from tests.helpers import make_market

K = EventKind
BUY, SELL = Side.BUY, Side.SELL
YES, NO = 0, 1


def rows(markets, spec) -> EventColumns:
    """``spec``: (ts, asset, kind, side, price, size) tuples."""
    arr = np.array(spec, dtype=float).reshape(-1, 6)
    return EventColumns.from_arrays(
        asset_table(markets),
        ts_exchange_ns=arr[:, 0],
        ts_recv_ns=arr[:, 0],
        seq=np.arange(len(arr)),
        asset=arr[:, 1],
        kind=arr[:, 2],
        side=arr[:, 3],
        price=arr[:, 4],
        size=arr[:, 5],
    )


def book_with(levels, *, tick=0.01, min_size=5.0, fee_rate=0.0, **kw) -> SimBook:
    """A one-market book; ``levels``: (side, price, size) on the YES book."""
    markets = [make_market(0, tick, min_order_size=min_size, fee_rate=fee_rate)]
    b = SimBook(markets, cash_usdc=1000.0, **kw)
    spec = [(1, 0, K.BOOK_RESET, 0, 0.0, 0.0)]
    spec += [(1, 0, K.SNAPSHOT_LEVEL, s, p, z) for s, p, z in levels]
    b.apply_rows(rows(markets, spec))
    return b


def feed(b: SimBook, spec):
    """Apply all rows, collecting every stop; returns (stops, fills)."""
    ev = rows(b.markets, spec)
    start, stops, fills = 0, [], []
    while start < len(ev):
        st = b.apply_rows(ev, start)
        stops.append(st.stop)
        fills.append(st.fills)
        start = st.next_row
    return stops, np.concatenate(fills) if fills else np.array([])


BOOK = [(1, 0.40, 100.0), (1, 0.39, 200.0), (-1, 0.42, 50.0), (-1, 0.43, 50.0)]


# --- ladder kernels -------------------------------------------------------------
def test_to_book_maps_no_orders_to_the_yes_complement() -> None:
    assert to_book(YES, 1, 0.45, 1000) == (BID, 450)
    assert to_book(YES, -1, 0.45, 1000) == (ASK, 450)
    assert to_book(NO, 1, 0.55, 1000) == (ASK, 450)  # NO bid at q == YES ask at 1-q
    assert to_book(NO, -1, 0.55, 1000) == (BID, 450)


def test_set_level_keeps_best_and_never_crosses() -> None:
    g = 100
    ladder = np.zeros((1, 2, g + 1))
    best = np.array([[-1, g + 1]], dtype=np.int64)
    set_level(ladder, best, 0, BID, 40, 10.0, g)
    set_level(ladder, best, 0, ASK, 45, 5.0, g)
    set_level(ladder, best, 0, ASK, 47, 5.0, g)
    assert tuple(best[0]) == (40, 45)
    set_level(ladder, best, 0, ASK, 45, 0.0, g)  # best ask empties -> rescan
    assert best[0, ASK] == 47
    set_level(ladder, best, 0, BID, 47, 3.0, g)  # crossing bid clears stale asks
    assert tuple(best[0]) == (47, g + 1)
    assert ladder[0, ASK].sum() == 0.0


def test_walk_take_fills_one_per_level_and_removes_liquidity() -> None:
    g = 100
    ladder = np.zeros((1, 2, g + 1))
    best = np.array([[-1, g + 1]], dtype=np.int64)
    for slot, size in ((42, 10.0), (43, 5.0), (45, 100.0)):
        set_level(ladder, best, 0, ASK, slot, size, g)
    out_slot = np.zeros(g + 1, dtype=np.int64)
    out_size = np.zeros(g + 1)
    n = walk_take(ladder, best, 0, BID, 44, 30.0, g, out_slot, out_size)
    assert n == 2  # price-limited at 44: the 45 level is out of reach
    assert list(out_slot[:n]) == [42, 43] and list(out_size[:n]) == [10.0, 5.0]
    assert best[0, ASK] == 45 and ladder[0, ASK, 42] == 0.0


def test_fill_accounting_buy_pays_fee_in_tokens_sell_in_usdc() -> None:
    cash, pos, fee, fee_sh = fill_accounting(1, 0.5, 100.0, True, 0.07, 1.0)
    assert fee == pytest.approx(1.75)  # the reference's worked example
    assert cash == pytest.approx(-50.0) and fee_sh == pytest.approx(3.5)
    assert pos == pytest.approx(96.5)
    cash, pos, fee, fee_sh = fill_accounting(-1, 0.5, 100.0, True, 0.07, 1.0)
    assert cash == pytest.approx(48.25) and pos == -100.0 and fee_sh == 0.0
    assert fill_accounting(1, 0.5, 100.0, False, 0.07, 1.0) == (-50.0, 100.0, 0.0, 0.0)


# --- rejection reasons ------------------------------------------------------------
REJECTIONS = {
    "invalid_tick": dict(side=BUY, price=0.405, size=10),
    "invalid_price": dict(side=BUY, price=0.0, size=10),
    "min_size": dict(side=BUY, price=0.30, size=4),
    "min_notional": dict(side=BUY, price=0.42, size=2, order_type=OrderType.FAK),
    "post_only_cross": dict(side=BUY, price=0.42, size=10, post_only=True),
    "fok_not_filled": dict(side=BUY, price=0.43, size=101, order_type=OrderType.FOK),
    "fak_no_match": dict(side=BUY, price=0.41, size=10, order_type=OrderType.FAK),
    "post_only_type": dict(
        side=SELL, price=0.40, size=10, order_type=OrderType.FAK, post_only=True
    ),
    "invalid_expiration": dict(
        side=BUY, price=0.30, size=10, order_type=OrderType.GTD, expire_ns=5, now_ns=5
    ),
}


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_every_rejection_reason_is_reachable(name: str) -> None:
    b = book_with(BOOK)
    r = b.submit(0, **REJECTIONS[name])
    assert r.reason_name == name
    assert r.status is OrderStatus.REJECTED and len(r.fills) == 0
    assert codes.reason_message(r.reason, price=0.0, tick=0.01, max=0.99, size=4, min=5)


def test_market_closed_rejects_and_resolution_settles() -> None:
    b = book_with(BOOK, fee_rate=0.0)
    b.submit(0, BUY, 0.42, 10, OrderType.FAK)
    resting = b.submit(1, BUY, 0.30, 10)  # NO bid at 0.30
    stops, _ = feed(b, [(5, 0, K.RESOLVED, 0, 1.0, 0.0)])
    assert stops == [codes.STOP_RESOLVED]
    assert b.position(0) == 0.0 and b.settled_usdc == pytest.approx(10.0)
    assert b.cash_usdc == pytest.approx(1000.0 - 4.2 + 10.0)
    assert b.order(resting.order_id).status is OrderStatus.CANCELED
    assert b.best_bid(0) is None and b.best_ask(0) is None
    assert b.submit(0, BUY, 0.42, 10).reason_name == "market_closed"
    assert set(codes.REASON_NAMES.values()) - {"ok"} == set(REJECTIONS) | {"market_closed"}


def test_tick_change_changes_validation() -> None:
    b = book_with(BOOK)
    assert b.submit(0, BUY, 0.305, 10).reason_name == "invalid_tick"
    assert b.submit(0, BUY, 0.995, 10).reason_name == "invalid_tick"
    feed(b, [(2, 0, K.TICK_SIZE, 0, 0.001, 0.01)])
    assert b.tick_size(0) == 0.001
    assert b.submit(0, BUY, 0.305, 10).accepted
    b2 = book_with(BOOK, tick=0.001)
    feed(b2, [(2, 0, K.TICK_SIZE, 0, 0.01, 0.001)])
    assert b2.submit(0, BUY, 0.305, 10).reason_name == "invalid_tick"


# --- order types -------------------------------------------------------------------
def test_marketable_buy_walks_levels_with_fees() -> None:
    b = book_with(BOOK, fee_rate=0.07)
    r = b.submit(0, BUY, 0.43, 60, OrderType.FOK, now_ns=7)
    assert r.status is OrderStatus.FILLED
    assert list(r.fills["price"]) == [0.42, 0.43] and list(r.fills["size"]) == [50.0, 10.0]
    assert all(r.fills["liquidity"] == codes.TAKER) and all(r.fills["ts_ns"] == 7)
    fee = taker_fee_usdc(50, 0.42, 0.07) + taker_fee_usdc(10, 0.43, 0.07)
    assert r.fills["fee_usdc"].sum() == pytest.approx(fee)
    assert b.cash_usdc == pytest.approx(1000.0 - 50 * 0.42 - 10 * 0.43)
    assert b.position(0) == pytest.approx(
        60 - taker_fee_usdc(50, 0.42, 0.07) / 0.42 - taker_fee_usdc(10, 0.43, 0.07) / 0.43
    )
    assert b.best_ask(0) == 0.43 and b.depth(0, SELL, 0.43) == 40.0


def test_fok_is_all_or_nothing() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.43, 100.5, OrderType.FOK)
    assert r.reason_name == "fok_not_filled"
    assert b.depth(0, SELL, 0.42) == 50.0 and b.cash_usdc == 1000.0
    r = b.submit(0, SELL, 0.39, 300, OrderType.FOK)
    assert r.status is OrderStatus.FILLED and r.fills["size"].sum() == 300.0


def test_fak_fills_what_it_can_then_cancels() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.42, 80, OrderType.FAK)
    assert r.status is OrderStatus.CANCELED
    o = b.order(r.order_id)
    assert o.filled == 50.0 and o.remaining == 30.0
    assert b.best_ask(0) == 0.43  # nothing of ours rests
    _stops, fills = feed(b, [(5, 0, K.TRADE, 1, 0.42, 500.0)])
    assert len(fills) == 0


def test_post_only_rests_when_it_does_not_cross() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.41, 10, post_only=True)
    assert r.status is OrderStatus.OPEN and b.order(r.order_id).queue_ahead == 0.0


def test_gtc_remainder_rests_after_taking() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.42, 70)
    assert r.status is OrderStatus.PARTIALLY_FILLED and r.fills["size"].sum() == 50.0
    _stops, fills = feed(b, [(5, 0, K.TRADE, -1, 0.42, 20.0)])
    assert fills["size"].sum() == 20.0 and all(fills["liquidity"] == codes.MAKER)
    assert b.order(r.order_id).status is OrderStatus.FILLED


def test_gtd_expires_before_the_row_at_its_expiry() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.35, 10, OrderType.GTD, expire_ns=100, now_ns=1)
    ev = rows(
        b.markets, [(50, 0, K.LEVEL_CHANGE, 1, 0.35, 5.0), (100, 0, K.TRADE, -1, 0.35, 500.0)]
    )
    st = b.apply_rows(ev)
    assert (st.stop, st.next_row) == (codes.STOP_EXPIRED, 1)
    assert b.order(r.order_id).status is OrderStatus.EXPIRED
    st = b.apply_rows(ev, st.next_row)
    assert st.stop == codes.STOP_END and len(st.fills) == 0
    r2 = b.submit(0, BUY, 0.35, 10, OrderType.GTD, expire_ns=300, now_ns=200)
    assert b.advance_to(299) == 0 and b.advance_to(300) == 1
    assert b.order(r2.order_id).status is OrderStatus.EXPIRED


def test_cancel() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.35, 10)
    assert b.cancel(r.order_id) and not b.cancel(r.order_id) and not b.cancel(999)
    assert b.order(r.order_id).status is OrderStatus.CANCELED
    _, fills = feed(b, [(5, 0, K.TRADE, -1, 0.35, 50.0)])
    assert len(fills) == 0


def test_limits_stop_the_replay() -> None:
    b = book_with(BOOK)
    spec = [(t, 0, K.LEVEL_CHANGE, 1, 0.30, float(t)) for t in range(10, 60, 10)]
    ev = rows(b.markets, spec)
    assert b.apply_rows(ev, max_rows=2).next_row == 2
    st = b.apply_rows(ev, 2, until_ns=35)
    assert (st.stop, st.next_row) == (codes.STOP_TIME, 3)
    assert b.depth(0, BUY, 0.30) == 30.0


# --- YES/NO -----------------------------------------------------------------------
def test_no_rows_build_the_same_book_as_yes_rows() -> None:
    markets = [make_market(0, 0.01)]
    yes = SimBook(markets)
    no = SimBook(markets)
    no.set_row_outcome(0, 1)
    spec = [(1, 0, K.SNAPSHOT_LEVEL, 1, 0.40, 10.0), (1, 0, K.SNAPSHOT_LEVEL, -1, 0.43, 7.0)]
    mirror = [(t, 1, k, -s, round(1 - p, 2), z) for t, _, k, s, p, z in spec]
    yes.apply_rows(rows(markets, spec + mirror))  # NO rows are ignored by default
    no.apply_rows(rows(markets, mirror + spec))
    assert np.array_equal(yes.a.ladder, no.a.ladder) and np.array_equal(yes.a.best, no.a.best)
    assert yes.best_bid(1) == pytest.approx(0.57) and yes.best_ask(1) == pytest.approx(0.60)


def test_no_buy_takes_the_yes_bids() -> None:
    b = book_with(BOOK, fee_rate=0.07)
    r = b.submit(1, BUY, 0.60, 20, OrderType.FAK)  # NO ask is 1 - 0.40 = 0.60
    assert r.fills["price"][0] == pytest.approx(0.60) and r.fills["size"][0] == 20.0
    assert b.position(1) == pytest.approx(20 - taker_fee_usdc(20, 0.6, 0.07) / 0.6)
    assert b.position(0) == 0.0 and b.depth(0, BUY, 0.40) == 80.0


# --- resting orders and the queue --------------------------------------------------
def test_conservative_queue_fills_only_after_traded_volume_exceeds_queue() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.40, 10)
    assert b.order(r.order_id).queue_ahead == 100.0
    _, fills = feed(
        b,
        [
            (5, 0, K.TRADE, -1, 0.40, 60.0),
            (6, 0, K.LEVEL_CHANGE, 1, 0.40, 40.0),
            (7, 0, K.TRADE, -1, 0.40, 40.0),
            (8, 0, K.LEVEL_CHANGE, 1, 0.40, 0.0),
        ],
    )
    assert len(fills) == 0 and b.order(r.order_id).queue_ahead == 0.0
    stops, fills = feed(b, [(9, 0, K.TRADE, -1, 0.40, 3.0)])
    assert stops == [codes.STOP_FILL] and fills["size"].sum() == 3.0
    assert fills["price"][0] == 0.40 and fills["fee_usdc"][0] == 0.0


def test_cancels_do_not_advance_conservative_but_do_probabilistic() -> None:
    spec = [
        (5, 0, K.LEVEL_CHANGE, 1, 0.40, 20.0),  # 80 shares cancelled, no trade
        (6, 0, K.TRADE, -1, 0.40, 30.0),
    ]
    filled = {}
    for model in (codes.QUEUE_CONSERVATIVE, codes.QUEUE_CLAMPED, codes.QUEUE_PROBABILISTIC):
        b = book_with(BOOK, queue_model=model)
        r = b.submit(0, BUY, 0.40, 10)
        feed(b, spec)
        filled[model] = b.order(r.order_id).filled
    assert filled[codes.QUEUE_CONSERVATIVE] == 0.0
    assert filled[codes.QUEUE_CLAMPED] == 10.0  # queue clamped to 20 shown
    assert filled[codes.QUEUE_PROBABILISTIC] == 10.0


def test_probabilistic_queue_advances_by_share_of_front() -> None:
    b = book_with(BOOK, queue_model=codes.QUEUE_PROBABILISTIC, queue_power=1.0)
    r = b.submit(0, BUY, 0.40, 10)
    feed(b, [(5, 0, K.LEVEL_CHANGE, 1, 0.40, 150.0)])  # 50 join behind us
    feed(b, [(6, 0, K.LEVEL_CHANGE, 1, 0.40, 120.0)])  # 30 cancel: 100/150 of them in front
    assert b.order(r.order_id).queue_ahead == pytest.approx(100 - 30 * 100 / 150)


def test_trades_explain_level_decreases_in_probabilistic_model() -> None:
    b = book_with(BOOK, queue_model=codes.QUEUE_PROBABILISTIC)
    r = b.submit(0, BUY, 0.40, 10)
    feed(b, [(5, 0, K.TRADE, -1, 0.40, 30.0), (6, 0, K.LEVEL_CHANGE, 1, 0.40, 70.0)])
    assert b.order(r.order_id).queue_ahead == pytest.approx(70.0)


def test_time_priority_among_our_orders() -> None:
    b = book_with(BOOK)
    first = b.submit(0, BUY, 0.40, 10)
    second = b.submit(0, BUY, 0.40, 10)
    _, fills = feed(b, [(5, 0, K.TRADE, -1, 0.40, 105.0)])
    assert list(fills["order_id"]) == [first.order_id] and fills["size"][0] == 5.0
    _, fills = feed(b, [(6, 0, K.TRADE, -1, 0.40, 8.0)])
    assert list(fills["order_id"]) == [first.order_id, second.order_id]
    assert list(fills["size"]) == [5.0, 3.0]


def test_trade_through_our_price_fills_best_price_first() -> None:
    b = book_with(BOOK)
    low = b.submit(0, BUY, 0.38, 10)
    high = b.submit(0, BUY, 0.40, 10)
    _, fills = feed(b, [(5, 0, K.TRADE, -1, 0.37, 15.0)])
    assert list(fills["order_id"]) == [high.order_id, low.order_id]
    assert list(fills["size"]) == [10.0, 5.0] and list(fills["price"]) == [0.40, 0.38]


def test_book_moving_through_our_price_fills_at_our_price() -> None:
    b = book_with(BOOK)
    r = b.submit(0, BUY, 0.41, 10)
    stops, fills = feed(
        b,
        [
            (5, 0, K.LEVEL_CHANGE, 1, 0.40, 0.0),
            (6, 0, K.LEVEL_CHANGE, 1, 0.39, 0.0),
            (7, 0, K.LEVEL_CHANGE, -1, 0.39, 4.0),
        ],
    )  # a seller crosses us
    assert stops[-1] == codes.STOP_FILL
    assert fills["size"].sum() == 4.0 and fills["price"][0] == 0.41
    assert b.depth(0, SELL, 0.39) == 0.0 and b.best_ask(0) == 0.42
    assert b.order(r.order_id).remaining == 6.0


def test_taker_fill_removes_liquidity_until_the_data_sets_the_level() -> None:
    b = book_with(BOOK)
    b.submit(0, BUY, 0.42, 50, OrderType.FAK)
    assert b.depth(0, SELL, 0.42) == 0.0 and b.best_ask(0) == 0.43
    assert b.submit(0, BUY, 0.42, 10, OrderType.FAK).reason_name == "fak_no_match"
    feed(b, [(5, 0, K.LEVEL_CHANGE, -1, 0.42, 60.0)])
    assert b.best_ask(0) == 0.42 and b.depth(0, SELL, 0.42) == 60.0


def test_no_resting_order_fills_from_yes_trades() -> None:
    b = book_with(BOOK)
    r = b.submit(1, SELL, 0.60, 10)  # == YES bid at 0.40, behind 100
    _, fills = feed(b, [(5, 0, K.TRADE, -1, 0.40, 104.0)])
    assert fills["order_id"][0] == r.order_id and fills["size"][0] == 4.0
    assert fills["price"][0] == pytest.approx(0.60) and b.position(1) == -4.0


def test_resolve_settles_both_tokens_and_no_row_payout_is_mirrored() -> None:
    b = book_with(BOOK)
    b.submit(0, BUY, 0.42, 10, OrderType.FAK)
    b.submit(1, BUY, 0.60, 10, OrderType.FAK)
    assert b.resolve(0, 0.0) == pytest.approx(10.0)  # NO pays 1
    markets = [make_market(0, 0.01)]
    nb = SimBook(markets)
    nb.set_row_outcome(0, 1)
    nb.apply_rows(rows(markets, [(1, 1, K.RESOLVED, 0, 1.0, 0.0)]))  # NO row: NO won
    assert nb.closed(0) and nb.a.mkt_f[0, MF_PAYOUT_YES] == 0.0


def test_apply_rows_refuses_another_asset_table() -> None:
    b = book_with(BOOK)
    other = [make_market(5, 0.01)]
    with pytest.raises(ValueError, match="asset table"):
        b.apply_rows(rows(other, [(1, 0, K.TRADE, 1, 0.5, 1.0)]))
