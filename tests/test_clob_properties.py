"""Property tests of the simulated CLOB: random books, orders and market data."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from exchange_mock.clob import SimBook, codes
from exchange_mock.clob.ladder import set_level
from exchange_mock.clob.state import ASK, BID, OI_BOOK_SIDE, OI_SLOT, OI_STATUS
from sim.marketdata import EventColumns, EventKind, asset_table
from sim.types import OrderType, taker_fee_usdc
from tests.helpers import make_market

K = EventKind
FEE_RATE = 0.07
START_CASH = 10_000.0
TYPES = [OrderType.GTC, OrderType.GTD, OrderType.FOK, OrderType.FAK]

cents = st.integers(44, 56)  # around the touch, so orders and data interact
level_op = st.tuples(
    st.just("level"), st.sampled_from([1, -1]), cents, st.sampled_from([0.0, 5.0, 20.0, 60.0])
)
trade_op = st.tuples(
    st.just("trade"), st.sampled_from([1, -1]), cents, st.sampled_from([1.0, 7.0, 30.0, 120.0])
)
order_op = st.tuples(
    st.just("order"),
    st.sampled_from([0, 1]),
    st.sampled_from([1, -1]),
    cents,
    st.sampled_from([10.0, 25.0, 80.0]),
    st.sampled_from(TYPES),
    st.booleans(),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 30))
ops_strategy = st.lists(
    st.one_of(level_op, trade_op, trade_op, order_op, order_op, cancel_op), min_size=4, max_size=40
)
snapshot = st.tuples(
    st.integers(45, 49),
    st.integers(51, 55),
    st.lists(st.sampled_from([0.0, 10.0, 50.0]), min_size=8, max_size=8),
)


def make_book(snap, queue_model=codes.QUEUE_CONSERVATIVE) -> tuple[SimBook, list]:
    markets = [make_market(0, 0.01, fee_rate=FEE_RATE)]
    b = SimBook(markets, cash_usdc=START_CASH, queue_model=queue_model)
    bid, ask, sizes = snap
    spec = [(1, 0, K.BOOK_RESET, 0, 0.0, 0.0)]
    for j in range(4):
        spec.append((1, 0, K.SNAPSHOT_LEVEL, 1, (bid - j) / 100, sizes[j]))
        spec.append((1, 0, K.SNAPSHOT_LEVEL, -1, (ask + j) / 100, sizes[4 + j]))
    b.apply_rows(_cols(markets, spec))
    return b, markets


def _cols(markets, spec) -> EventColumns:
    arr = np.array(spec, dtype=float).reshape(-1, 6)
    return EventColumns.from_arrays(
        asset_table(markets), ts_exchange_ns=arr[:, 0], ts_recv_ns=arr[:, 0],
        seq=np.arange(len(arr)), asset=arr[:, 1], kind=arr[:, 2], side=arr[:, 3],
        price=arr[:, 4], size=arr[:, 5],
    )  # fmt: skip


def run(snap, ops, *, mirror=False, queue_model=codes.QUEUE_CONSERVATIVE):
    """Play ``ops``; with ``mirror`` every order is sent as its complement on the other token.

    Returns (book, fills, results, crossed_seen).
    """
    b, markets = make_book(snap, queue_model)
    fills, results, crossed = [], [], False
    t = 10
    for op in ops:
        t += 10
        if op[0] in ("level", "trade"):
            kind = K.LEVEL_CHANGE if op[0] == "level" else K.TRADE
            ev = _cols(markets, [(t, 0, kind, op[1], op[2] / 100, op[3])])
            start = 0
            while start < len(ev):
                stop = b.apply_rows(ev, start)
                fills.append(stop.fills)
                start = stop.next_row
        elif op[0] == "order":
            _, outcome, side, c, size, otype, post = op
            if mirror:
                outcome, side, c = 1 - outcome, -side, 100 - c
            r = b.submit(
                outcome, side, c / 100, size, otype,
                post_only=post and otype.rests, expire_ns=t + 25 if otype is OrderType.GTD else 0,
                now_ns=t,
            )  # fmt: skip
            results.append((r.order_id, r.status, r.reason))
            fills.append(r.fills)
        else:
            b.cancel(op[1])
        bb, ba = b.a.best[0]
        crossed |= bool(bb >= 0 and ba <= b.grid and bb >= ba)
    fills = np.concatenate(fills) if fills else np.zeros(0)
    return b, fills, results, crossed


@given(snapshot, ops_strategy)
def test_no_overfill_sizes_conserved_book_never_crossed(snap, ops) -> None:
    b, fills, _, crossed = run(snap, ops)
    assert not crossed
    for oid in range(b.n_orders):
        o = b.order(oid)
        mine = fills[fills["order_id"] == oid] if len(fills) else fills
        assert 0.0 <= o.filled <= o.size + 1e-9
        assert abs(o.filled + o.remaining - o.size) < 1e-9
        assert abs((mine["size"].sum() if len(mine) else 0.0) - o.filled) < 1e-9
        if o.order_type in (OrderType.FOK, OrderType.FAK):
            assert o.status.terminal
        if o.order_type is OrderType.FOK and o.filled > 0:
            assert abs(o.filled - o.size) < 1e-9  # all or nothing


@given(snapshot, ops_strategy)
def test_fees_cash_and_positions_reconcile(snap, ops) -> None:
    b, fills, _, _ = run(snap, ops)
    if not len(fills):
        assert b.cash_usdc == START_CASH
        return
    buy = fills["side"] == 1
    notional = fills["price"] * fills["size"]
    fee = np.array(
        [taker_fee_usdc(s, p, FEE_RATE) for s, p in zip(fills["size"], fills["price"], strict=True)]
    )
    fee = np.where(fills["liquidity"] == codes.TAKER, fee, 0.0)
    assert np.allclose(fills["fee_usdc"], fee, atol=1e-12)
    assert np.allclose(fills["fee_shares"], np.where(buy, fee / fills["price"], 0.0))
    expected_cash = START_CASH - notional[buy].sum() + notional[~buy].sum() - fee[~buy].sum()
    assert abs(b.cash_usdc - expected_cash) < 0.005  # to the cent (in fact to 1e-9)
    assert abs(b.cash_usdc - expected_cash) < 1e-7
    for outcome in (0, 1):
        f = fills[fills["outcome"] == outcome]
        b_ = f["side"] == 1
        pos = f["size"][b_].sum() - f["fee_shares"][b_].sum() - f["size"][~b_].sum()
        assert abs(b.position(outcome) - pos) < 1e-9


@given(snapshot, ops_strategy)
def test_no_order_is_the_mirror_of_the_complement_yes_order(snap, ops) -> None:
    a, fa, ra, _ = run(snap, ops)
    m, fm, rm, _ = run(snap, ops, mirror=True)
    # min_notional applies to BUYs only, so a BUY and its complement SELL may differ
    # there; the generated sizes and prices keep every BUY notional >= $1.
    assert [(s, r) for _, s, r in ra] == [(s, r) for _, s, r in rm]
    assert np.array_equal(a.a.ladder, m.a.ladder) and np.array_equal(a.a.best, m.a.best)
    assert len(fa) == len(fm)
    if len(fa):
        assert np.array_equal(fa["size"], fm["size"])
        assert np.allclose(fa["price"] + fm["price"], 1.0)
        assert np.array_equal(fa["outcome"], 1 - fm["outcome"])
        assert np.array_equal(fa["side"], -fm["side"])
        assert np.allclose(fa["fee_usdc"], fm["fee_usdc"])


@given(snapshot, ops_strategy, st.sampled_from([0, 1, 2]))
def test_replay_is_deterministic(snap, ops, model) -> None:
    a, fa, ra, _ = run(snap, ops, queue_model=model)
    b, fb, rb, _ = run(snap, ops, queue_model=model)
    assert ra == rb and fa.tobytes() == fb.tobytes()
    for name in ("ladder", "best", "oi", "of", "pos", "acct"):
        assert np.array_equal(getattr(a.a, name), getattr(b.a, name))


@given(snapshot, ops_strategy, st.sampled_from([0, 1, 2]))
def test_price_time_priority_among_our_resting_orders(snap, ops, model) -> None:
    """After any maker fill, no better-or-earlier order of ours on that side still rests."""
    b, markets = make_book(snap, model)
    t = 10
    placed_at: dict[int, int] = {}
    for op in ops:
        t += 10
        if op[0] == "order":
            _, outcome, side, c, size, otype, post = op
            r = b.submit(
                outcome,
                side,
                c / 100,
                size,
                otype,
                post_only=post and otype.rests,
                expire_ns=t + 25 if otype is OrderType.GTD else 0,
                now_ns=t,
            )
            placed_at[r.order_id] = t
            continue
        if op[0] == "cancel":
            b.cancel(op[1])
            continue
        kind = K.LEVEL_CHANGE if op[0] == "level" else K.TRADE
        ev = _cols(markets, [(t, 0, kind, op[1], op[2] / 100, op[3])])
        start = 0
        while start < len(ev):
            stop = b.apply_rows(ev, start)
            start = stop.next_row
            for f in stop.fills:
                oid = int(f["order_id"])
                bs, slot = b.a.oi[oid, OI_BOOK_SIDE], b.a.oi[oid, OI_SLOT]
                for other in range(b.n_orders):
                    if other == oid or b.a.oi[other, OI_BOOK_SIDE] != bs:
                        continue
                    if b.a.oi[other, OI_STATUS] not in (codes.S_OPEN, codes.S_PARTIAL):
                        continue
                    oslot = b.a.oi[other, OI_SLOT]
                    better = oslot > slot if bs == BID else oslot < slot
                    assert bs in (BID, ASK)
                    assert not better, "a better-priced order of ours was skipped"
                    assert not (oslot == slot and other < oid), "an earlier order was skipped"


@given(
    st.lists(
        st.tuples(st.sampled_from([1, -1]), st.integers(1, 99), st.sampled_from([0.0, 3.0, 9.0])),
        max_size=80,
    )
)
def test_inline_replay_levels_match_the_reference_kernel(levels) -> None:
    """The replay loop's inlined level rule equals ``ladder.set_level`` (and never crosses)."""
    markets = [make_market(0, 0.01)]
    b = SimBook(markets)
    if levels:
        b.apply_rows(_cols(markets, [(1, 0, K.LEVEL_CHANGE, s, c / 100, z) for s, c, z in levels]))
    g = b.grid
    ladder = np.zeros((1, 2, g + 1))
    best = np.array([[-1, g + 1]], dtype=np.int64)
    for s, c, z in levels:
        set_level(ladder, best, 0, BID if s > 0 else ASK, c * g // 100, z, g)
    assert np.array_equal(b.a.ladder, ladder) and np.array_equal(b.a.best, best)
    bb, ba = best[0]
    assert bb < ba
    assert bb == (np.flatnonzero(ladder[0, BID]).max() if ladder[0, BID].any() else -1)
    assert ba == (np.flatnonzero(ladder[0, ASK]).min() if ladder[0, ASK].any() else g + 1)
