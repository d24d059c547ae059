"""Submit one of our orders: validate, take what crosses, rest the remainder.

A marketable order walks the recorded book level by level up to its limit,
one taker fill per level at that level's price (slippage comes from depth),
and the shares it takes leave the recorded ladder. Our orders never match
each other: a taker order walks recorded liquidity only.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

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
from exchange_mock.clob.direct import direct_entry
from exchange_mock.clob.ladder import marketable, to_book, walk_take
from exchange_mock.clob.orders import record_fill, validate_order
from exchange_mock.clob.state import (
    C_N_ACTIVE,
    C_N_FILLS,
    C_N_ORDERS,
    C_NEXT_EXPIRY,
    CLOB_STATE,
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

_I8, _F8 = types.int64, types.float64


# st, market, outcome, side, price, size, order type, post_only, expire_ns, now_ns
@direct_entry(CLOB_STATE, _I8, _I8, _I8, _F8, _F8, _I8, types.boolean, _I8, _I8)
@njit(cache=True)
def submit_order(
    st,
    m: int,
    outcome: int,
    side: int,
    price: float,
    size: float,
    otype: int,
    post_only: bool,
    expire_ns: int,
    now_ns: int,
) -> tuple[int, int, int, int]:
    """Place an order; return (order id, reason code, status, fills pending in the table).

    The status (``codes.S_*``) and the fill count are returned so that the
    caller needs no second look at the tables. Order id -1: the order table is
    full and nothing was done (the caller grows the tables and calls again).
    """
    oi, of, ctr, grid = st.oi, st.of, st.ctr, st.grid
    oid = ctr[C_N_ORDERS]
    if oid >= oi.shape[0]:
        return -1, OK, 0, 0
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
    reason = validate_order(st, m, outcome, side, price, size, otype, post_only, expire_ns, now_ns)
    if reason != OK:
        oi[oid, OI_STATUS] = S_REJECTED
        return oid, reason, S_REJECTED, ctr[C_N_FILLS]
    oi[oid, OI_STATUS] = S_OPEN
    ladder, best = st.ladder, st.best
    if marketable(best, m, book_side, slot, grid):
        lv_slot = np.empty(grid + 1, dtype=np.int64)
        lv_size = np.empty(grid + 1)
        n = walk_take(ladder, best, m, book_side, slot, size, grid, lv_slot, lv_size)
        for j in range(n):
            record_fill(st, oid, lv_slot[j], lv_size[j], True, now_ns)
    if oi[oid, OI_STATUS] == S_FILLED:
        return oid, OK, S_FILLED, ctr[C_N_FILLS]
    if otype == T_FOK or otype == T_FAK:
        oi[oid, OI_STATUS] = S_CANCELED  # the unfilled rest of an immediate order
        return oid, OK, S_CANCELED, ctr[C_N_FILLS]
    # rest: behind the displayed size, and behind our own earlier orders here
    active = st.active
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
    st.mkt_i[m, MI_N_REST] += 1
    if otype == T_GTD and expire_ns < ctr[C_NEXT_EXPIRY]:
        ctr[C_NEXT_EXPIRY] = expire_ns
    if oi[oid, OI_STATUS] != S_PARTIAL:
        oi[oid, OI_STATUS] = S_OPEN
    return oid, OK, oi[oid, OI_STATUS], ctr[C_N_FILLS]


@direct_entry(CLOB_STATE, _I8)
@njit(cache=True)
def cancel_order(st, oid: int) -> bool:
    """Cancel a resting order; False if it does not rest (filled, canceled, unknown)."""
    oi, active, ctr = st.oi, st.active, st.ctr
    if oid < 0 or oid >= ctr[C_N_ORDERS]:
        return False
    status = oi[oid, OI_STATUS]
    if status != S_OPEN and status != S_PARTIAL:
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
    st.mkt_i[oi[oid, OI_MARKET], MI_N_REST] -= 1
    return True
