"""Trade prints of both tokens drive the one book (issue 10).

A NO print at q is the match a YES print at 1 - q with the taker side flipped
would be: it advances queues and fills resting orders on the YES book. A NO
print that mirrors a YES print of the same match (same exchange time, size,
YES-side price and side) is applied once.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_mock.clob import SimBook
from sim.marketdata import EventColumns, EventKind, asset_table
from sim.marketdata.replay_rules import mirrored_trades
from sim.types import OrderType, Side
from tests.helpers import make_market

K = EventKind
BUY, SELL = Side.BUY, Side.SELL
YES, NO = 0, 1
BOOK = [(1, 0.40, 100.0), (1, 0.39, 200.0), (-1, 0.42, 50.0), (-1, 0.43, 50.0)]


def rows(markets, spec, recv=None) -> EventColumns:
    """``spec``: (ts, asset, kind, side, price, size) tuples."""
    arr = np.array(spec, dtype=float).reshape(-1, 6)
    return EventColumns.from_arrays(
        asset_table(markets),
        ts_exchange_ns=arr[:, 0],
        ts_recv_ns=arr[:, 0] if recv is None else recv,
        seq=np.arange(len(arr)),
        asset=arr[:, 1],
        kind=arr[:, 2],
        side=arr[:, 3],
        price=arr[:, 4],
        size=arr[:, 5],
    )


def book_with(levels=BOOK) -> SimBook:
    markets = [make_market(0, 0.01)]
    b = SimBook(markets, cash_usdc=1000.0)
    spec = [(1, 0, K.BOOK_RESET, 0, 0.0, 0.0)]
    spec += [(1, 0, K.SNAPSHOT_LEVEL, s, p, z) for s, p, z in levels]
    b.apply_rows(rows(markets, spec))
    return b


def feed(b: SimBook, spec):
    ev = rows(b.markets, spec)
    start, fills = 0, []
    while start < len(ev):
        st_ = b.apply_rows(ev, start)
        fills.append(st_.fills)
        start = st_.next_row
    return np.concatenate(fills) if fills else np.array([])


def test_a_no_print_that_crosses_a_resting_yes_bid_fills_it() -> None:
    b = book_with()
    r = b.submit(YES, BUY, 0.40, 10)  # behind 100 at 0.40
    # a NO taker BUY at 0.60 takes NO asks at 0.60 == YES bids at 0.40
    fills = feed(b, [(5, NO, K.TRADE, 1, 0.60, 104.0)])
    assert fills["order_id"].tolist() == [r.order_id]
    assert fills["size"][0] == 4.0 and fills["price"][0] == pytest.approx(0.40)
    assert b.position(YES) == 4.0


def test_a_no_print_through_the_level_fills_the_whole_order() -> None:
    b = book_with()
    r = b.submit(YES, BUY, 0.40, 10)
    fills = feed(b, [(5, NO, K.TRADE, 1, 0.61, 50.0)])  # NO BUY 0.61 == YES SELL 0.39
    assert fills["order_id"].tolist() == [r.order_id] and fills["size"][0] == 10.0


def test_a_no_print_on_the_other_side_does_not_fill() -> None:
    b = book_with()
    b.submit(YES, BUY, 0.40, 10)
    # a NO taker SELL at 0.60 == a YES taker BUY at 0.40: it takes asks, not our bid
    assert len(feed(b, [(5, NO, K.TRADE, -1, 0.60, 500.0)])) == 0


def test_a_no_print_advances_the_queue_of_a_resting_yes_ask() -> None:
    b = book_with()
    r = b.submit(YES, SELL, 0.42, 10)  # behind 50 at 0.42
    feed(b, [(5, NO, K.TRADE, -1, 0.58, 30.0)])  # == YES taker BUY at 0.42
    assert b.order(r.order_id).queue_ahead == 20.0
    fills = feed(b, [(6, NO, K.TRADE, -1, 0.58, 25.0)])
    assert fills["size"].sum() == 5.0


def test_a_yes_print_fills_a_resting_no_order_as_before() -> None:
    b = book_with()
    r = b.submit(NO, SELL, 0.60, 10)  # == YES bid at 0.40
    fills = feed(b, [(5, YES, K.TRADE, -1, 0.40, 104.0)])
    assert fills["order_id"].tolist() == [r.order_id] and fills["size"][0] == 4.0


def test_mirrored_pairs_are_applied_once() -> None:
    b = book_with()
    r = b.submit(YES, BUY, 0.40, 10)
    yes_print = (5, YES, K.TRADE, -1, 0.40, 60.0)
    no_mirror = (5, NO, K.TRADE, 1, 0.60, 60.0)  # the same match reported on the NO token
    assert len(feed(b, [yes_print, no_mirror])) == 0
    assert b.order(r.order_id).queue_ahead == 40.0  # 60 traded once, not 120


def test_independent_no_flow_is_not_taken_for_a_mirror() -> None:
    markets = [make_market(0, 0.01)]
    spec = [
        (5, YES, K.TRADE, -1, 0.40, 60.0),
        (5, NO, K.TRADE, 1, 0.60, 61.0),  # another size: its own match
        (6, NO, K.TRADE, 1, 0.60, 60.0),  # another time
        (5, NO, K.TRADE, -1, 0.60, 60.0),  # another side
        (5, NO, K.TRADE, 1, 0.60, 60.0),  # the mirror
        (5, NO, K.TRADE, 1, 0.60, 60.0),  # a second one: only one YES print to mirror
    ]
    mirror = mirrored_trades(rows(markets, spec)).tolist()
    assert mirror == [False, False, False, False, True, False]


def test_prints_without_side_or_size_touch_nothing() -> None:
    b = book_with()
    r = b.submit(YES, BUY, 0.40, 10)
    assert len(feed(b, [(5, YES, K.TRADE, 0, 0.40, 500.0), (6, NO, K.TRADE, 1, 0.6, 0.0)])) == 0
    assert b.order(r.order_id).queue_ahead == 100.0


def test_no_book_rows_do_not_move_the_yes_built_book() -> None:
    b = book_with()
    feed(b, [(5, NO, K.LEVEL_CHANGE, -1, 0.60, 999.0)])  # a NO ask == a YES bid at 0.40
    assert b.depth(YES, BUY, 0.40) == 100.0


# --- property: a NO print is exactly its YES complement -------------------------------------
prints = st.lists(
    st.tuples(
        st.sampled_from([1, -1]),
        st.integers(min_value=35, max_value=47),
        st.floats(min_value=1.0, max_value=120.0).map(lambda x: float(round(x))),
    ),
    min_size=1,
    max_size=25,
)
orders = st.lists(
    st.tuples(
        st.sampled_from([YES, NO]),
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=36, max_value=46),
        st.integers(min_value=5, max_value=40),
    ),
    min_size=1,
    max_size=6,
)


def _run(order_spec, print_spec, on_no: list[bool]) -> tuple[list, list]:
    b = book_with()
    ids = []
    for outcome, side, tick, size in order_spec:
        price = tick / 100 if outcome == YES else round(1 - tick / 100, 2)
        r = b.submit(outcome, side, price, float(size), OrderType.GTC)
        ids.append(r.order_id)
    spec = []
    for t, ((sd, tick, size), no) in enumerate(zip(print_spec, on_no, strict=True)):
        p = tick / 100
        spec.append((10 + t, NO, K.TRADE, -sd, round(1 - p, 2), size) if no else
                    (10 + t, YES, K.TRADE, sd, p, size))  # fmt: skip
    fills = feed(b, spec)
    filled = [b.order(i).filled for i in ids]
    got = sorted(zip(fills["order_id"].tolist(), fills["size"].tolist(), strict=True))
    return filled, got


@settings(max_examples=60, deadline=None)
@given(orders, prints, st.data())
def test_any_print_on_either_token_fills_exactly_as_its_yes_complement(o, p, data) -> None:
    on_no = data.draw(st.lists(st.booleans(), min_size=len(p), max_size=len(p)))
    assert _run(o, p, [False] * len(p)) == _run(o, p, on_no)


@settings(max_examples=40, deadline=None)
@given(orders, prints)
def test_adding_mirrors_of_every_print_changes_nothing(o, p) -> None:
    b1, b2 = book_with(), book_with()
    for b in (b1, b2):
        for outcome, side, tick, size in o:
            price = tick / 100 if outcome == YES else round(1 - tick / 100, 2)
            b.submit(outcome, side, price, float(size), OrderType.GTC)
    spec = [(10 + t, YES, K.TRADE, sd, tick / 100, size) for t, (sd, tick, size) in enumerate(p)]
    mirrored = []
    for row in spec:
        t, _, k, sd, price, size = row
        mirrored += [row, (t, NO, k, -sd, round(1 - price, 2), size)]
    f1, f2 = feed(b1, spec), feed(b2, mirrored)
    assert sorted(f1["size"].tolist()) == sorted(f2["size"].tolist())
    assert np.array_equal(b1.a.of, b2.a.of)
