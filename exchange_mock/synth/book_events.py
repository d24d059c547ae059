"""Events, the numba side of the book model (``book.py``): one taker order
(its size, its prints on one token, the levels it depletes, the books after it),
one maker message (a re-quote toward the target or a touch of one level), and the
one-way tick switch after a book change.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from exchange_mock.synth.book_layout import (
    _ASK,
    _BID,
    _TICK,
    _TRADE,
    I_ASK,
    I_BID,
    I_BOUND_HI,
    I_BOUND_LO,
    I_REFILL_AT,
    I_SPREAD,
    I_TICK,
    I_TICK_UNRECORDED,
    NEAR,
    NONE_NS,
    P_INFORMED,
    P_MAX_WALK,
    P_NEAR_CANCEL,
    P_NEAR_MED,
    P_NEAR_SIG,
    P_NO_SHARE,
    P_REFILL,
    P_ROUND_PROB,
    P_SIZE_MED,
    P_SIZE_SIG,
    P_SMALL_LO,
    P_SMALL_PROB,
    P_SMALL_WHOLE,
    P_TICK_SWITCH,
    P_TOP_MED,
    P_TOP_SIG,
    P_WHALE_MED,
    P_WHALE_PROB,
    P_WHOLE_PROB,
)
from exchange_mock.synth.book_levels import (
    _MIN_SHARES,
    _ask_above,
    _bid_below,
    _bound_size,
    _desired,
    _far_size,
    _level_size,
    _lognormal,
    _occupancy,
    _put_ask,
    _put_bid,
    _set_ask,
    _set_bid,
    _spread_regime,
    _target,
)
from exchange_mock.synth.book_messages import _ex, _open, _row, _trade_books

#: Round share counts takers use (stats 1.1 [A]: 5, 10, 20, 50, 100 ...): 5 to 75,000.
_NICE = np.array(
    [m * 10.0**e for e in range(5) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 7.5) if m * 10**e >= 5]
)
#: The largest taker order, shares [A].
_MAX_ORDER = 50_000.0


# ======================================================================================
# taker orders
# ======================================================================================
@njit(cache=True)
def _nice(shares):
    best = _NICE[0]
    err = abs(math.log(shares / best))
    for v in _NICE:
        e = abs(math.log(shares / v))
        if e < err:
            err = e
            best = v
    return best


@njit(cache=True)
def _order_shares(gen, P, m):
    """A taker order's size, shares (issue 10: p10/p50/p90 about 3 / 7-20 / 75,
    12-14 % under 5 shares, 55-69 % whole shares)."""
    if gen.random() < P[m, P_SMALL_PROB]:
        lo = math.log(P[m, P_SMALL_LO])
        s = math.exp(lo + (math.log(_MIN_SHARES) - lo) * gen.random())
        if gen.random() < P[m, P_SMALL_WHOLE]:
            return float(max(1, int(s)))
        return max(0.01, round(s, 2))
    if gen.random() < P[m, P_WHALE_PROB]:
        s = _lognormal(gen, P[m, P_WHALE_MED], 1.0)
    else:
        s = _lognormal(gen, P[m, P_SIZE_MED], P[m, P_SIZE_SIG])
    s = min(_MIN_SHARES + s, _MAX_ORDER)
    if gen.random() < P[m, P_WHOLE_PROB]:
        if gen.random() < P[m, P_ROUND_PROB]:
            return _nice(s)
        return float(round(s))
    return round(s, 2)


@njit(cache=True)
def _taker(gen, P, F, S, bid, ask, m, ya, U, V, t, gaps, recv_limit, oi, of, pos):
    """One taker order on one token: its TRADE rows, the depleted levels, the books."""
    b = S[m, I_BID]
    a = S[m, I_ASK]
    if b == 0 and a == 1000:
        return pos
    k = S[m, I_TICK]
    lean = (_target(F, S, m) - 0.5 * (a + b)) / (1.5 * k)
    # buy: the order takes the YES asks (a YES BUY, or a NO SELL)
    buy = gen.random() < 0.5 + P[m, P_INFORMED] * math.tanh(lean)
    if buy and a == 1000:
        buy = False
    elif not buy and b == 0:
        buy = True
    on_no = gen.random() < P[m, P_NO_SHARE]
    shares = _order_shares(gen, P, m)
    top = a if buy else b
    max_walk = int(P[m, P_MAX_WALK])
    limit = top + 10 * k if buy else top - 10 * k
    asset = ya + 1 if on_no else ya
    side = _BID if buy else _ASK
    if on_no:
        side = -side  # a NO taker SELL at 1 - p is the YES BUY at p, and vice versa
    ex = _ex(U, t)
    recv = _open(gen, U, V, ex, gaps, recv_limit)
    remaining = shares
    idx = top
    n = 0
    while n < max_walk and remaining >= 0.005:
        lvl = ask[m, idx] if buy else bid[m, idx]
        fill = round(min(remaining, lvl), 2)
        if recv >= 0:
            price = (1000 - idx) / 1000.0 if on_no else idx / 1000.0
            pos = _row(oi, of, pos, ex, recv, asset, _TRADE, side, price, fill)
        remaining -= fill
        left = round(lvl - fill, 2)
        if left < 0.01:
            left = 0.0
        nxt = _ask_above(ask, m, idx + 1) if buy else _bid_below(bid, m, idx - 1)
        if buy:
            _put_ask(ask, S, m, idx, left)
        else:
            _put_bid(bid, S, m, idx, left)
        n += 1
        idx = nxt
        if (buy and (idx >= 1000 or idx > limit)) or (not buy and (idx <= 0 or idx < limit)):
            break
    emptied = (S[m, I_ASK] != top) if buy else (S[m, I_BID] != top)
    if emptied and S[m, I_REFILL_AT] == NONE_NS:
        S[m, I_REFILL_AT] = t + int(gen.standard_exponential() * P[m, P_REFILL] * 1e9)
    pos = _trade_books(gen, P, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos)
    return _after(gen, P, S, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos)


# ======================================================================================
# maker messages and the tick switch
# ======================================================================================
@njit(cache=True)
def _maker(gen, P, F, S, bid, ask, m, ya, U, V, t, gaps, recv_limit, oi, of, pos):
    """One maker message: re-quote toward the target, or touch one level."""
    k = S[m, I_TICK]
    b = S[m, I_BID]
    a = S[m, I_ASK]
    bd, ad = _desired(F, S, P, m, t)
    stale_ask = a < 1000 and a <= bd
    stale_bid = b > 0 and b >= ad
    if stale_ask or stale_bid or b < bd or a > ad:
        ex = _ex(U, t)
        recv = _open(gen, U, V, ex, gaps, recv_limit)
        while S[m, I_ASK] < 1000 and S[m, I_ASK] <= bd:
            pos = _set_ask(ask, S, m, S[m, I_ASK], 0.0, oi, of, pos, ex, recv, ya)
        while S[m, I_BID] > 0 and S[m, I_BID] >= ad:
            pos = _set_bid(bid, S, m, S[m, I_BID], 0.0, oi, of, pos, ex, recv, ya)
        b = S[m, I_BID]
        a = S[m, I_ASK]
        if b < bd:
            nb = min(bd, a - k)
            if nb > b:
                size = _level_size(gen, P[m, P_TOP_MED], P[m, P_TOP_SIG])
                pos = _set_bid(bid, S, m, nb, size, oi, of, pos, ex, recv, ya)
        b = S[m, I_BID]
        if a > ad:
            na = max(ad, b + k)
            if na < a:
                size = _level_size(gen, P[m, P_TOP_MED], P[m, P_TOP_SIG])
                pos = _set_ask(ask, S, m, na, size, oi, of, pos, ex, recv, ya)
        # the quotes move together: a side left inside the spread regime steps back one level
        b = S[m, I_BID]
        a = S[m, I_ASK]
        if b > 0 and a < 1000 and a - b < ad - bd:
            if a < ad and _ask_above(ask, m, a + 1) < 1000:
                pos = _set_ask(ask, S, m, a, 0.0, oi, of, pos, ex, recv, ya)
            elif b > bd and _bid_below(bid, m, b - 1) > 0:
                pos = _set_bid(bid, S, m, b, 0.0, oi, of, pos, ex, recv, ya)
        return _after(gen, P, S, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos)
    return _touch(gen, P, S, bid, ask, m, ya, U, V, t, bd, ad, gaps, recv_limit, oi, of, pos)


@njit(cache=True)
def _touch(gen, P, S, bid, ask, m, ya, U, V, t, bd, ad, gaps, recv_limit, oi, of, pos):
    """Maker activity on a book that is where it should be: one level changes."""
    k = S[m, I_TICK]
    b = S[m, I_BID]
    a = S[m, I_ASK]
    on_bid = gen.random() < 0.5
    if on_bid and b == 0:
        on_bid = False
    if not on_bid and a == 1000:
        on_bid = True
    if on_bid and b == 0:
        return pos
    r = gen.random()
    idx = -1
    size = 0.0
    best = b if on_bid else a
    book = bid if on_bid else ask
    sign = -1 if on_bid else 1
    # r < 0.55 (and no step back): the best level is resized, after this chain;
    # half the touches of a book narrower than its spread regime step back
    if r < 0.5 and b > 0 and a < 1000 and a - b < ad - bd:
        # the spread regime is wider than the book: the top level steps back
        behind = _bid_below(bid, m, b - 1) if on_bid else _ask_above(ask, m, a + 1)
        if 0 < behind < 1000:
            idx = best
            size = 0.0
    elif 0.55 <= r < 0.88:
        q = 0.3  # depth 1.. geometric, mean ~3.3 points behind the best
        d = 1 + int(math.log(1.0 - gen.random()) / math.log(1.0 - q))
        if d > NEAR:
            d = NEAR
        cand = best + sign * d * k
        if k <= cand <= 1000 - k:
            cur = book[m, cand]
            if cur == 0.0:
                idx = cand
                size = _level_size(gen, P[m, P_NEAR_MED], P[m, P_NEAR_SIG])
            elif gen.random() < P[m, P_NEAR_CANCEL]:
                idx = cand
                size = 0.0
            else:
                tgt = _level_size(gen, P[m, P_NEAR_MED], P[m, P_NEAR_SIG])
                idx = cand
                size = round(cur + float(round(gen.uniform(0.2, 1.0) * (tgt - cur))), 2)
    elif 0.88 <= r < 0.995:
        # far out: a random point on the tick grid beyond the near zone
        if on_bid:
            lo_i = S[m, I_BOUND_LO] + k
            hi_i = b - (NEAR + 1) * k
        else:
            lo_i = a + (NEAR + 1) * k
            hi_i = S[m, I_BOUND_HI] - k
        if hi_i >= lo_i:
            cand = lo_i + k * gen.integers(0, (hi_i - lo_i) // k + 1)
            w = _occupancy(P, m, cand, k)
            cur = book[m, cand]
            if cur == 0.0:
                if gen.random() < w:
                    idx = cand
                    size = _far_size(gen, P, m)
            elif gen.random() < 1.0 - w:
                idx = cand
                size = 0.0
            else:
                idx = cand
                size = round(cur * math.exp(0.3 * gen.standard_normal()), 2)
    elif r >= 0.995:
        cand = S[m, I_BOUND_LO] if on_bid else S[m, I_BOUND_HI]
        beyond = cand < b if on_bid else cand > a
        if beyond:
            cur = book[m, cand]
            idx = cand
            if cur == 0.0:
                size = _bound_size(gen, P, m)
            else:
                size = round(cur * math.exp(0.1 * gen.standard_normal()), 2)
    if idx < 0:
        # the default touch: the best level is topped up toward a fresh quote size
        idx = best
        cur = book[m, idx]
        tgt = _level_size(gen, P[m, P_TOP_MED], P[m, P_TOP_SIG])
        size = round(cur + float(round(gen.uniform(0.2, 1.0) * (tgt - cur))), 2)
    if 0.0 < size < _MIN_SHARES:
        size = _MIN_SHARES
    if size == book[m, idx]:
        return pos
    ex = _ex(U, t)
    recv = _open(gen, U, V, ex, gaps, recv_limit)
    if on_bid:
        pos = _set_bid(bid, S, m, idx, size, oi, of, pos, ex, recv, ya)
    else:
        pos = _set_ask(ask, S, m, idx, size, oi, of, pos, ex, recv, ya)
    return _after(gen, P, S, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos)


@njit(cache=True)
def _after(gen, P, S, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos):
    """After a book change: switch the tick to 0.001 once the mid leaves [0.04, 0.96]."""
    if P[m, P_TICK_SWITCH] <= 0.0 or S[m, I_TICK] != 10:
        return pos
    b = S[m, I_BID]
    a = S[m, I_ASK]
    if b == 0 or a == 1000 or 80 <= a + b <= 1920:
        return pos
    S[m, I_TICK] = 1
    S[m, I_SPREAD] = _spread_regime(gen, P, m)
    recv = _open(gen, U, V, ex, gaps, recv_limit)
    if recv < 0:
        S[m, I_TICK_UNRECORDED] = 1
        return pos
    pos = _row(oi, of, pos, ex, recv, ya, _TICK, 0, 0.001, 0.01)
    return _row(oi, of, pos, ex, recv, ya + 1, _TICK, 0, 0.001, 0.01)
