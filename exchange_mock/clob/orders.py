"""Kernels for our own orders: validation, fills, resting-order matching, queue.

Rules for our resting orders (all prices in YES-book terms):

* **Queue position.** A resting order joins behind the displayed size at its
  level: ``queue_ahead`` = recorded shares at that price and side when it is
  placed, and never less than the ``queue_ahead`` of our own earlier order at
  the same level (price-time priority among our orders).
* **Trade at our price.** A recorded trade of ``v`` shares whose taker hits
  our side at our price first reduces ``v`` by what our better-priced orders
  took (below); our orders at that price then fill, in time order, by
  ``v - queue_ahead - (what our earlier orders there took)``, clamped to
  [0, remaining]. Afterwards every order there has ``queue_ahead -= v``.
* **Trade through our price.** A trade whose price is worse than ours (a
  taker SELL below our bid) proves the taker consumed our whole level, so our
  orders at better prices fill first, best price then time, up to ``v``
  shares in total, at their own price.
* **Book moves through our price.** A recorded level that appears, or grows,
  on the other side at or beyond our price (an ask at or below our bid) is a
  taker that would have hit us: our crossing orders fill, best price then
  time, up to the level's increase (new - previous size), at our price, and
  the shares we took are removed from that level.
* **Cancels.** A decrease of our level's size, beyond the traded shares seen
  there (``trade_credit``), is a cancel. ``QUEUE_CONSERVATIVE``: cancels never
  advance us. ``QUEUE_CLAMPED``: ``queue_ahead <= displayed size``.
  ``QUEUE_PROBABILISTIC``: we advance by ``cancel * f(front) / (f(front) +
  f(back))``, ``f(x) = x**power``, then clamp to the displayed size.

Fills are written to the fill table with cash and position deltas already
applied to the account (fees.py). Every kernel here takes the state as one
argument, ``st`` (a ``state.ClobState``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, types

from exchange_mock.clob.codes import (
    FAK_NO_MATCH,
    FOK_NOT_FILLED,
    INVALID_EXPIRATION,
    INVALID_PRICE,
    INVALID_TICK,
    MARKET_CLOSED,
    MIN_NOTIONAL,
    MIN_SIZE,
    OK,
    POST_ONLY_CROSS,
    POST_ONLY_TYPE,
    QUEUE_CLAMPED,
    QUEUE_PROBABILISTIC,
    S_CANCELED,
    S_EXPIRED,
    S_FILLED,
    S_OPEN,
    S_PARTIAL,
    T_FAK,
    T_FOK,
    T_GTD,
)
from exchange_mock.clob.direct import direct_entry
from exchange_mock.clob.fees import fill_accounting
from exchange_mock.clob.ladder import (
    clear_book,
    marketable,
    rescan_ask,
    rescan_bid,
    to_book,
    token_price,
    walk_depth,
)
from exchange_mock.clob.state import (
    A_CASH,
    A_SETTLED,
    ASK,
    BID,
    C_N_ACTIVE,
    C_N_FILLS,
    C_NEXT_EXPIRY,
    CLOB_STATE,
    FF_CASH_DELTA,
    FF_FEE_SHARES,
    FF_FEE_USDC,
    FF_POSITION_DELTA,
    FF_PRICE,
    FF_SIZE,
    FI_LIQUIDITY,
    FI_MARKET,
    FI_ORDER,
    FI_OUTCOME,
    FI_SIDE,
    FI_SLOT,
    FI_TS_NS,
    MF_FEE_EXP,
    MF_FEE_RATE,
    MF_MIN_SIZE,
    MF_PAYOUT_YES,
    MF_TICK,
    MI_CLOSED,
    MI_N_REST,
    NO_EXPIRY,
    OF_FILLED,
    OF_QUEUE_AHEAD,
    OF_SIZE,
    OF_TRADE_CREDIT,
    OI_BOOK_SIDE,
    OI_EXPIRE_NS,
    OI_MARKET,
    OI_OUTCOME,
    OI_SIDE,
    OI_SLOT,
    OI_STATUS,
    OI_TYPE,
)

EPS = 1e-9


@njit(cache=True)
def is_resting(status: int) -> bool:
    return status == S_OPEN or status == S_PARTIAL


@njit(cache=True)
def validate_order(
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
) -> int:
    """The reason code (codes.py) refusing this order, or ``OK``."""
    if st.mkt_i[m, MI_CLOSED] != 0:
        return MARKET_CLOSED
    if post_only and (otype == T_FOK or otype == T_FAK):
        return POST_ONLY_TYPE
    if otype == T_GTD and expire_ns <= now_ns:
        return INVALID_EXPIRATION
    grid = st.grid
    mkt_f = st.mkt_f
    tick = mkt_f[m, MF_TICK]
    ticks = price / tick
    on_grid = price * grid
    if abs(ticks - np.round(ticks)) > 1e-6 or abs(on_grid - np.round(on_grid)) > 1e-6:
        return INVALID_TICK
    if price < tick - EPS or price > 1.0 - tick + EPS:
        return INVALID_PRICE
    book_side, slot = to_book(outcome, side, price, grid)
    crosses = marketable(st.best, m, book_side, slot, grid)
    rests = otype != T_FOK and otype != T_FAK
    if rests and size < mkt_f[m, MF_MIN_SIZE] - EPS:
        return MIN_SIZE
    if side > 0 and crosses and price * size < 1.0 - EPS:
        return MIN_NOTIONAL
    if post_only and crosses:
        return POST_ONLY_CROSS
    if otype == T_FOK and walk_depth(st.ladder, st.best, m, book_side, slot, grid) < size - EPS:
        return FOK_NOT_FILLED
    if otype == T_FAK and not crosses:
        return FAK_NO_MATCH
    return OK


@njit(cache=True)
def record_fill(st, oid: int, slot: int, shares: float, is_taker: bool, ts_ns: int) -> float:
    """Fill ``min(shares, remaining)`` of order ``oid`` at YES-book ``slot``.

    Updates the order (filled, status), the account (cash, position) and
    appends a fill row. Returns the shares filled.
    """
    oi, of = st.oi, st.of
    rem = of[oid, OF_SIZE] - of[oid, OF_FILLED]
    take = rem if shares >= rem - EPS else shares
    if take <= 0.0:
        return 0.0
    m = oi[oid, OI_MARKET]
    outcome = oi[oid, OI_OUTCOME]
    side = oi[oid, OI_SIDE]
    price = token_price(outcome, slot, st.grid)
    cash_d, pos_d, fee_usdc, fee_shares = fill_accounting(
        side, price, take, is_taker, st.mkt_f[m, MF_FEE_RATE], st.mkt_f[m, MF_FEE_EXP]
    )
    of[oid, OF_FILLED] += take
    if take == rem:
        of[oid, OF_FILLED] = of[oid, OF_SIZE]  # exact: filled + remaining == size
        oi[oid, OI_STATUS] = S_FILLED
    else:
        oi[oid, OI_STATUS] = S_PARTIAL
    st.acct[A_CASH] += cash_d
    st.pos[m, outcome] += pos_d
    ctr, fill_i, fill_f = st.ctr, st.fill_i, st.fill_f
    n = ctr[C_N_FILLS]
    fill_i[n, FI_ORDER] = oid
    fill_i[n, FI_MARKET] = m
    fill_i[n, FI_OUTCOME] = outcome
    fill_i[n, FI_SIDE] = side
    fill_i[n, FI_LIQUIDITY] = 1 if is_taker else 0
    fill_i[n, FI_TS_NS] = ts_ns
    fill_i[n, FI_SLOT] = slot
    fill_f[n, FF_PRICE] = price
    fill_f[n, FF_SIZE] = take
    fill_f[n, FF_FEE_USDC] = fee_usdc
    fill_f[n, FF_FEE_SHARES] = fee_shares
    fill_f[n, FF_CASH_DELTA] = cash_d
    fill_f[n, FF_POSITION_DELTA] = pos_d
    ctr[C_N_FILLS] = n + 1
    return take


@njit(cache=True)
def compact_active(st) -> None:
    """Drop orders that no longer rest; recount per-market resting orders and next expiry."""
    oi, active, ctr, mkt_i = st.oi, st.active, st.ctr, st.mkt_i
    n = ctr[C_N_ACTIVE]
    for k in range(n):
        mkt_i[oi[active[k], OI_MARKET], MI_N_REST] = 0
    w = 0
    next_exp = NO_EXPIRY
    for k in range(n):
        oid = active[k]
        if is_resting(oi[oid, OI_STATUS]):
            active[w] = oid
            w += 1
            mkt_i[oi[oid, OI_MARKET], MI_N_REST] += 1
            if oi[oid, OI_TYPE] == T_GTD and oi[oid, OI_EXPIRE_NS] < next_exp:
                next_exp = oi[oid, OI_EXPIRE_NS]
    ctr[C_N_ACTIVE] = w
    ctr[C_NEXT_EXPIRY] = next_exp


@njit(cache=True)
def _better(book_side: int, a: int, b: int) -> bool:
    """True if slot ``a`` is a strictly better price than ``b`` for ``book_side``."""
    return a > b if book_side == BID else a < b


@njit(cache=True)
def _fill_best_first(
    st, m: int, book_side: int, bound: int, inclusive: bool, avail: float, ts_ns: int
) -> float:
    """Fill our resting orders beyond ``bound`` (best price, then time) up to ``avail``.

    "Beyond" means a better price than ``bound`` for ``book_side`` (or equal
    when ``inclusive``). Returns the shares filled.
    """
    oi, active = st.oi, st.active
    total = 0.0
    n = st.ctr[C_N_ACTIVE]
    while avail - total > EPS:
        pick = -1
        pick_slot = 0
        for k in range(n):
            oid = active[k]
            if oi[oid, OI_MARKET] != m or oi[oid, OI_BOOK_SIDE] != book_side:
                continue
            if not is_resting(oi[oid, OI_STATUS]):
                continue
            s = oi[oid, OI_SLOT]
            if not (_better(book_side, s, bound) or (inclusive and s == bound)):
                continue
            if pick < 0 or _better(book_side, s, pick_slot):
                pick = oid
                pick_slot = s
        if pick < 0:
            break
        total += record_fill(st, pick, pick_slot, avail - total, False, ts_ns)
    return total


@njit(cache=True)
def match_trade(st, m: int, taker_side: int, slot: int, volume: float, ts_ns: int) -> float:
    """Resting fills caused by a recorded trade (YES terms; ``taker_side`` +1 BUY)."""
    book_side = ASK if taker_side > 0 else BID
    through = _fill_best_first(st, m, book_side, slot, False, volume, ts_ns)
    oi, of, active = st.oi, st.of, st.active
    avail = volume - through
    used = 0.0
    for k in range(st.ctr[C_N_ACTIVE]):
        oid = active[k]
        if oi[oid, OI_MARKET] != m or oi[oid, OI_BOOK_SIDE] != book_side:
            continue
        if oi[oid, OI_SLOT] != slot or not is_resting(oi[oid, OI_STATUS]):
            continue
        reach = avail - of[oid, OF_QUEUE_AHEAD] - used
        if reach > EPS:
            used += record_fill(st, oid, slot, reach, False, ts_ns)
        q = of[oid, OF_QUEUE_AHEAD] - volume
        of[oid, OF_QUEUE_AHEAD] = q if q > 0.0 else 0.0
        of[oid, OF_TRADE_CREDIT] += volume
    return through + used


@njit(cache=True)
def match_cross(st, m: int, level_side: int, slot: int, increase: float, ts_ns: int) -> float:
    """Resting fills when a recorded level at ``slot`` grows across our orders.

    Our orders on the other side at ``slot`` or beyond fill (best price, then
    time) up to ``increase`` shares, and the shares taken leave the level.
    """
    our_side = ASK if level_side == BID else BID
    taken = _fill_best_first(st, m, our_side, slot, True, increase, ts_ns)
    if taken > 0.0:
        ladder, best = st.ladder, st.best
        left = ladder[m, level_side, slot] - taken
        ladder[m, level_side, slot] = left if left > EPS else 0.0
        if ladder[m, level_side, slot] <= 0.0:
            if level_side == BID and best[m, BID] == slot:
                best[m, BID] = rescan_bid(ladder[m, BID], slot - 1)
            elif level_side == ASK and best[m, ASK] == slot:
                best[m, ASK] = rescan_ask(ladder[m, ASK], slot + 1, st.grid)
    return taken


@njit(cache=True)
def queue_on_level(st, m: int, book_side: int, slot: int, prev: float, new: float) -> None:
    """Update ``queue_ahead`` of our orders at a level whose size went ``prev`` -> ``new``.

    The queue model and its power are the book's (``st.queue_model``, ``st.queue_power``).
    """
    oi, of, active = st.oi, st.of, st.active
    model, power = st.queue_model, st.queue_power
    decrease = prev - new
    last_q = 0.0
    for k in range(st.ctr[C_N_ACTIVE]):
        oid = active[k]
        if oi[oid, OI_MARKET] != m or oi[oid, OI_BOOK_SIDE] != book_side:
            continue
        if oi[oid, OI_SLOT] != slot or not is_resting(oi[oid, OI_STATUS]):
            continue
        q = of[oid, OF_QUEUE_AHEAD]
        if decrease > 0.0:
            credit = of[oid, OF_TRADE_CREDIT]
            cancel = decrease - credit if decrease > credit else 0.0
            of[oid, OF_TRADE_CREDIT] = credit - decrease if credit > decrease else 0.0
            if model == QUEUE_PROBABILISTIC and cancel > 0.0:
                back = prev - q if prev > q else 0.0
                f_front = q**power
                f_back = back**power
                p_front = f_front / (f_front + f_back) if f_front + f_back > 0.0 else 1.0
                q -= p_front * cancel
        if (model == QUEUE_CLAMPED or model == QUEUE_PROBABILISTIC) and q > new:
            q = new
        if q < last_q:
            q = last_q  # never ahead of our own earlier order at this level
        if q < 0.0:
            q = 0.0
        of[oid, OF_QUEUE_AHEAD] = q
        last_q = q


@direct_entry(CLOB_STATE, types.int64)
@njit(cache=True)
def expire_orders(st, now_ns: int) -> int:
    """Expire resting GTD orders with ``expire_ns <= now_ns``; return how many."""
    oi, active = st.oi, st.active
    n_exp = 0
    for k in range(st.ctr[C_N_ACTIVE]):
        oid = active[k]
        if (
            oi[oid, OI_TYPE] == T_GTD
            and is_resting(oi[oid, OI_STATUS])
            and oi[oid, OI_EXPIRE_NS] <= now_ns
        ):
            oi[oid, OI_STATUS] = S_EXPIRED
            n_exp += 1
    compact_active(st)
    return n_exp


@njit(cache=True)
def resolve_market(st, m: int, payout_yes: float) -> float:
    """Close market ``m``: cancel its resting orders, clear its book, settle positions.

    YES pays ``payout_yes`` per share, NO pays ``1 - payout_yes``. Returns the
    USDC credited.
    """
    st.mkt_i[m, MI_CLOSED] = 1
    st.mkt_f[m, MF_PAYOUT_YES] = payout_yes
    oi, active = st.oi, st.active
    for k in range(st.ctr[C_N_ACTIVE]):
        oid = active[k]
        if oi[oid, OI_MARKET] == m and is_resting(oi[oid, OI_STATUS]):
            oi[oid, OI_STATUS] = S_CANCELED
    compact_active(st)
    clear_book(st.ladder, st.best, m, st.grid)
    pos, acct = st.pos, st.acct
    paid = pos[m, 0] * payout_yes + pos[m, 1] * (1.0 - payout_yes)
    acct[A_CASH] += paid
    acct[A_SETTLED] += paid
    pos[m, 0] = 0.0
    pos[m, 1] = 0.0
    return paid
