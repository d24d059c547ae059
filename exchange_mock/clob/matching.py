"""Submit one of our orders: validate, take what crosses, rest the remainder.

A marketable order walks the recorded book level by level up to its limit,
one taker fill per level at that level's price (slippage comes from depth),
and the shares it takes leave the recorded ladder. Our orders never match
each other: a taker order walks recorded liquidity only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from exchange_mock.clob.codes import (
    OK,
    S_CANCELED,
    S_FILLED,
    S_OPEN,
    S_PARTIAL,
    S_REJECTED,
    T_FAK,
    T_FOK,
    T_GTD,
)
from exchange_mock.clob.ladder import marketable, to_book, walk_take
from exchange_mock.clob.orders import record_fill, validate_order
from exchange_mock.clob.state import (
    C_N_ACTIVE,
    C_N_ORDERS,
    C_NEXT_EXPIRY,
    MI_N_REST,
    OF_FILLED,
    OF_PRICE,
    OF_QUEUE_AHEAD,
    OF_SIZE,
    OF_TRADE_CREDIT,
    OI_BOOK_SIDE,
    OI_CREATED_NS,
    OI_EXPIRE_NS,
    OI_MARKET,
    OI_OUTCOME,
    OI_POST_ONLY,
    OI_SIDE,
    OI_SLOT,
    OI_STATUS,
    OI_TYPE,
)


@njit(cache=True)
def submit_order(
    ladder,
    best,
    mkt_f,
    mkt_i,
    pos,
    acct,
    oi,
    of,
    active,
    ctr,
    fill_i,
    fill_f,
    m: int,
    outcome: int,
    side: int,
    price: float,
    size: float,
    otype: int,
    post_only: bool,
    expire_ns: int,
    now_ns: int,
    grid: int,
) -> tuple[int, int]:
    """Place an order; return (order id, reason code). The caller ensures capacity."""
    oid = ctr[C_N_ORDERS]
    ctr[C_N_ORDERS] = oid + 1
    book_side, slot = to_book(outcome, side, price, grid)
    oi[oid, OI_MARKET] = m
    oi[oid, OI_OUTCOME] = outcome
    oi[oid, OI_SIDE] = side
    oi[oid, OI_BOOK_SIDE] = book_side
    oi[oid, OI_SLOT] = slot
    oi[oid, OI_TYPE] = otype
    oi[oid, OI_POST_ONLY] = 1 if post_only else 0
    oi[oid, OI_EXPIRE_NS] = expire_ns if otype == T_GTD else 0
    oi[oid, OI_CREATED_NS] = now_ns
    of[oid, OF_PRICE] = price
    of[oid, OF_SIZE] = size
    of[oid, OF_FILLED] = 0.0
    of[oid, OF_QUEUE_AHEAD] = 0.0
    of[oid, OF_TRADE_CREDIT] = 0.0
    reason = validate_order(
        mkt_f,
        mkt_i,
        ladder,
        best,
        m,
        outcome,
        side,
        price,
        size,
        otype,
        post_only,
        expire_ns,
        now_ns,
        grid,
    )
    if reason != OK:
        oi[oid, OI_STATUS] = S_REJECTED
        return oid, reason
    oi[oid, OI_STATUS] = S_OPEN
    if marketable(best, m, book_side, slot, grid):
        lv_slot = np.empty(grid + 1, dtype=np.int64)
        lv_size = np.empty(grid + 1)
        n = walk_take(ladder, best, m, book_side, slot, size, grid, lv_slot, lv_size)
        for j in range(n):
            record_fill(
                oi,
                of,
                fill_i,
                fill_f,
                ctr,
                mkt_f,
                pos,
                acct,
                oid,
                lv_slot[j],
                lv_size[j],
                True,
                now_ns,
                grid,
            )
    if oi[oid, OI_STATUS] == S_FILLED:
        return oid, OK
    if otype == T_FOK or otype == T_FAK:
        oi[oid, OI_STATUS] = S_CANCELED  # the unfilled rest of an immediate order
        return oid, OK
    # rest: behind the displayed size, and behind our own earlier orders here
    q = ladder[m, book_side, slot]
    for k in range(ctr[C_N_ACTIVE]):
        other = active[k]
        if (
            oi[other, OI_MARKET] == m
            and oi[other, OI_BOOK_SIDE] == book_side
            and oi[other, OI_SLOT] == slot
            and of[other, OF_QUEUE_AHEAD] > q
        ):
            q = of[other, OF_QUEUE_AHEAD]
    of[oid, OF_QUEUE_AHEAD] = q
    n_act = ctr[C_N_ACTIVE]
    active[n_act] = oid
    ctr[C_N_ACTIVE] = n_act + 1
    mkt_i[m, MI_N_REST] += 1
    if otype == T_GTD and expire_ns < ctr[C_NEXT_EXPIRY]:
        ctr[C_NEXT_EXPIRY] = expire_ns
    if oi[oid, OI_STATUS] != S_PARTIAL:
        oi[oid, OI_STATUS] = S_OPEN
    return oid, OK


@njit(cache=True)
def cancel_order(oi, active, ctr, mkt_i, oid: int) -> bool:
    """Cancel a resting order; False if it does not rest (filled, canceled, unknown)."""
    if oid < 0 or oid >= ctr[C_N_ORDERS]:
        return False
    st = oi[oid, OI_STATUS]
    if st != S_OPEN and st != S_PARTIAL:
        return False
    oi[oid, OI_STATUS] = S_CANCELED
    # keep time priority: remove from the active list preserving order
    n = ctr[C_N_ACTIVE]
    w = 0
    for k in range(n):
        if active[k] != oid:
            active[w] = active[k]
            w += 1
    ctr[C_N_ACTIVE] = w
    mkt_i[oi[oid, OI_MARKET], MI_N_REST] -= 1
    return True
