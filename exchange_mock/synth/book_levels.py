"""Price levels, the numba side of the book model (``book.py``).

Maker quote sizes (top, near, far, bound layer), how often a far price point is
quoted, the spread regime, finding and changing the best levels, the bid and ask
the makers aim for, and building a fresh book around it.
"""

from __future__ import annotations

import math

from numba import njit

from exchange_mock.synth.book_layout import (
    _ASK,
    _BID,
    _LC,
    F_LAG,
    F_NOISE,
    I_ASK,
    I_BID,
    I_BOUND_HI,
    I_BOUND_LO,
    I_LIVE,
    I_SPREAD,
    I_TICK,
    I_WIDEN_UNTIL,
    NEAR,
    P_BOUND_HI,
    P_BOUND_LO,
    P_FAR_MED,
    P_FAR_OCC,
    P_FAR_SIG,
    P_NEAR_MED,
    P_NEAR_SIG,
    P_POW2_HI,
    P_POW2_LO,
    P_POW2_PROB,
    P_SPREAD1,
    P_SPREAD_EXTRA,
    P_TOP_MED,
    P_TOP_SIG,
    P_WIDEN_TICKS,
)
from exchange_mock.synth.book_messages import _pair

#: Polymarket's minimum limit order (stats 5): makers never quote less.
_MIN_SHARES = 5.0
#: The widest spread regime, ticks.
_SPREAD_MAX = 8


# ======================================================================================
# level sizes and the spread
# ======================================================================================
@njit(cache=True)
def _lognormal(gen, med, sig):
    return med * math.exp(sig * gen.standard_normal())


@njit(cache=True)
def _level_size(gen, med, sig):
    """A maker quote: lognormal whole shares [A], never below 5 (partial fills
    leave the fractions seen in real books)."""
    v = float(round(_lognormal(gen, med, sig)))
    return v if v >= _MIN_SHARES else _MIN_SHARES


@njit(cache=True)
def _far_size(gen, P, m):
    if gen.random() < P[m, P_POW2_PROB]:
        e = gen.integers(int(P[m, P_POW2_LO]), int(P[m, P_POW2_HI]) + 1)
        return float(2**e)
    return _level_size(gen, P[m, P_FAR_MED], P[m, P_FAR_SIG])


@njit(cache=True)
def _bound_size(gen, P, m):
    lo = math.log(P[m, P_BOUND_LO])
    hi = math.log(P[m, P_BOUND_HI])
    return round(math.exp(lo + (hi - lo) * gen.random()), 2)


@njit(cache=True)
def _occupancy(P, m, idx, k):
    """Chance a price point far from the top holds a level (stats 2.1).

    At a 0.01 tick the 5-cent points are quoted 3 times in 4, the other cents
    with ``P_FAR_OCC``: 0.75 in event markets (Fed: 67 bid levels over 80
    points), less in crypto windows, whose far levels thin to one every 5-10
    ticks (stats 2.1 "further out"). At 0.001 the far levels cluster on whole
    cents (NT: 45 of 76).
    """
    if k >= 10:
        return 0.75 if idx % 50 == 0 else P[m, P_FAR_OCC]
    if idx % 10 == 0:
        return 0.75
    if idx % 5 == 0:
        return 0.3
    return 0.015


@njit(cache=True)
def _spread_regime(gen, P, m):
    """Spread the makers aim for, ticks: 1 with ``P_SPREAD1``, else 2 + geometric extra."""
    if gen.random() < P[m, P_SPREAD1]:
        return 1
    mu = P[m, P_SPREAD_EXTRA]
    if mu <= 0.0:
        return 2
    extra = int(math.log(1.0 - gen.random()) / math.log(mu / (1.0 + mu)))
    return min(2 + extra, _SPREAD_MAX)


# ======================================================================================
# the best levels and the quotes the makers want
# ======================================================================================
@njit(cache=True)
def _bid_below(bid, m, start):
    for i in range(start, 0, -1):
        if bid[m, i] > 0.0:
            return i
    return 0


@njit(cache=True)
def _ask_above(ask, m, start):
    for i in range(start, 1000):
        if ask[m, i] > 0.0:
            return i
    return 1000


@njit(cache=True)
def _put_bid(bid, S, m, idx, size):
    """Change a bid level (no row: the caller reports it)."""
    bid[m, idx] = size
    if size > 0.0:
        if idx > S[m, I_BID]:
            S[m, I_BID] = idx
    elif idx == S[m, I_BID]:
        S[m, I_BID] = _bid_below(bid, m, idx - 1)


@njit(cache=True)
def _put_ask(ask, S, m, idx, size):
    """Change an ask level (no row: the caller reports it)."""
    ask[m, idx] = size
    if size > 0.0:
        if idx < S[m, I_ASK]:
            S[m, I_ASK] = idx
    elif idx == S[m, I_ASK]:
        S[m, I_ASK] = _ask_above(ask, m, idx + 1)


@njit(cache=True)
def _set_bid(bid, S, m, idx, size, oi, of, pos, ex, recv, ya):
    """A maker's bid change: the level, then its ``price_change`` rows (YES and NO)."""
    _put_bid(bid, S, m, idx, size)
    return _pair(oi, of, pos, ex, recv, ya, _LC, _BID, idx, size)


@njit(cache=True)
def _set_ask(ask, S, m, idx, size, oi, of, pos, ex, recv, ya):
    """A maker's ask change: the level, then its ``price_change`` rows (YES and NO)."""
    _put_ask(ask, S, m, idx, size)
    return _pair(oi, of, pos, ex, recv, ya, _LC, _ASK, idx, size)


@njit(cache=True)
def _target(F, S, m):
    """Target mid in 0.001 units: lagged fair value plus the quote noise."""
    return F[m, F_LAG] * 1000.0 + F[m, F_NOISE] * S[m, I_TICK]


@njit(cache=True)
def _desired(F, S, P, m, t):
    """The best bid and ask the makers want now (0.001 units, on the tick)."""
    k = S[m, I_TICK]
    s = S[m, I_SPREAD]
    if t < S[m, I_WIDEN_UNTIL]:
        s += int(P[m, P_WIDEN_TICKS])
    c = _target(F, S, m)
    bd = k * math.floor((c - (s - 1) * k * 0.5) / k)
    if bd < k:
        bd = k
    if bd > 1000 - 2 * k:
        bd = 1000 - 2 * k
    ad = bd + s * k
    if ad > 1000 - k:
        ad = 1000 - k
    return bd, ad


# ======================================================================================
# book construction
# ======================================================================================
@njit(cache=True)
def _build(gen, P, F, S, bid, ask, m):
    """A fresh book around the target: dense near the top, sparse further, bound layers."""
    k = S[m, I_TICK]
    S[m, I_SPREAD] = 1
    bd, ad = _desired(F, S, P, m, 0)
    bid[m, :] = 0.0
    ask[m, :] = 0.0
    lo = k
    hi = 1000 - k
    S[m, I_BOUND_LO] = lo
    S[m, I_BOUND_HI] = hi
    for idx in range(bd, 0, -k):
        d = (bd - idx) // k
        if idx == lo:
            bid[m, idx] = _bound_size(gen, P, m)
        elif d == 0:
            bid[m, idx] = _level_size(gen, P[m, P_TOP_MED], P[m, P_TOP_SIG])
        elif d <= NEAR:
            if gen.random() < 0.9:
                bid[m, idx] = _level_size(gen, P[m, P_NEAR_MED], P[m, P_NEAR_SIG])
        elif gen.random() < _occupancy(P, m, idx, k):
            bid[m, idx] = _far_size(gen, P, m)
    for idx in range(ad, 1000, k):
        d = (idx - ad) // k
        if idx == hi:
            ask[m, idx] = _bound_size(gen, P, m)
        elif d == 0:
            ask[m, idx] = _level_size(gen, P[m, P_TOP_MED], P[m, P_TOP_SIG])
        elif d <= NEAR:
            if gen.random() < 0.9:
                ask[m, idx] = _level_size(gen, P[m, P_NEAR_MED], P[m, P_NEAR_SIG])
        elif gen.random() < _occupancy(P, m, idx, k):
            ask[m, idx] = _far_size(gen, P, m)
    S[m, I_BID] = bd
    S[m, I_ASK] = ad
    S[m, I_LIVE] = 1
