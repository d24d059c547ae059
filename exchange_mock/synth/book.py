"""The book and message model: a numba kernel that turns a fair-value path
into the rows a recorder writes.

One simulation unit is one or more binary markets simulated together (a
crypto window, a standalone event market, or all outcomes of a neg-risk
group, which must share a clock because an arbitrageur trades across them).
Each market has ONE book, kept in YES prices on a 0.001 grid (index 1..999;
a 0.01 tick uses multiples of 10). The NO book is its exact mirror (a YES
bid at p size s is a NO ask at 1-p size s), so every level change is written
twice, the YES row and its NO mirror in the same ``price_change`` message,
and ask(YES) + ask(NO) = 1 + spread, row by row never below 1
(market-statistics.md section 4).

Per event the kernel does one of (sources: ``README.md`` of this package):

- **taker order**: on ONE token, the NO token 47 % of the time (issue 10:
  NO prints are independent flow, never a mirror of a YES print). A NO taker
  BUY at q is the YES-book SELL at 1-q, so it takes the YES bid at 1-q (= the
  NO ask at q); a NO SELL takes the YES ask. The order hits the best opposite
  level and walks further levels if it is larger, one TRADE row per level, on
  the token traded; the levels are depleted, and then each token gets a
  ``book`` message (a full snapshot: BOOK_RESET + SNAPSHOT_LEVEL rows), as
  Polymarket sends after every trade, instead of level changes. Sizes: 13 %
  small orders (0.5-5 shares), the rest 5 + lognormal shares, about two
  thirds whole shares (issue 10 size figures);
- **maker message**: re-quotes toward the target mid (fair value through a
  1-5 s AR(1) lag plus +-1-2 ticks of noise, stats 3.1), cancelling stale
  levels and improving inside the spread, or else resizes, adds or cancels a
  level near the top, further out or at the bound layer (stats 2 book shape).

After each change the tick switches 0.01 -> 0.001 once the book mid leaves
[0.04, 0.96] (stats 5 legacy rule; one-way). Scheduled actions: the refill of
a best level a taker emptied (replenishment arrives as a later level change,
on average 0.15 s later in crypto and 3 s in event markets [A]); a fresh
snapshot of every book after a recorder reconnect; and the neg-risk
arbitrageur, who about 2 s (lognormal) after the outcomes' YES best asks sum
below 1 buys every outcome's best ask until the sum is back at or above 1 (stats 4:
executable gaps appear across neg-risk outcome sets, not within a market).

Timestamps: exchange time is whole milliseconds (venue timestamps are ms
strings) and never goes back within a unit, with one exception Polymarket
shows: the ``book`` after a trade carries a timestamp 28-37 ms *before* the
trade's, for 0.4 % of trades (issue 10: 10-15 times per 15 minutes in a BTC
window; ``P_BACKSTEP``, 0 turns it off). Receive time adds a lognormal
latency (p50 125 ms, issue 10; p95 300 ms [A]) whose log drifts as an AR(1)
in time, and is made non-decreasing per unit, as one ordered feed
(TCP) delivers it. The two ``book`` messages of one trade leave a few ms
apart, now and then up to 1.7 s apart (issue 10); the feed delivers in order,
so a late one holds back the messages behind it. A message whose receive time
falls in a feed gap, or whose exchange time is before the gap's end while it
would arrive after the gap's start, is lost: the book still changes, the rows
are not written.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

# --- grid ------------------------------------------------------------------------------
#: Price points 0..1000 in units of 0.001; 0 and 1000 never hold a level.
LEVELS = 1001
#: Price points next to the best price that are kept almost always occupied
#: (stats 2.1: 8-10 of the 10 nearest points occupied).
NEAR = 10
NONE_NS = 9_223_372_036_854_775_807
_MS = 1_000_000

# --- row codes (sim.marketdata.schema values, stable on disk) ----------------------------
_RESET = 1
_SNAP = 2
_LC = 3
_TRADE = 4
_TICK = 5
_BID = 1
_ASK = -1

# --- receive latency (issue 10: recv - exchange p50 120-130 ms; the tail is [A]) ----------
LAT_P50_NS = 125e6
LAT_P95_NS = 300e6
LAT_MU = math.log(LAT_P50_NS)
LAT_SIGMA = math.log(LAT_P95_NS / LAT_P50_NS) / 1.6448536269514722
LAT_MAX_NS = 2_000_000_000

# --- the ``book`` messages after a trade (issue 10) ---------------------------------------
#: The first book leaves this long (mean, exponential) after the trade print [A].
BOOK_GAP_NS = 2_000_000
#: The second token's book follows the first after an exponential few ms [A] ...
BOOK_SKEW_NS = 3_000_000
#: ... or, for this share of trades, 0.1-1.7 s later (issue 10: up to 1.7 s apart).
BOOK_SKEW_LONG_PROB = 0.01
BOOK_SKEW_LONG_S = (0.1, 1.7)
#: How far a trailing book's timestamp is before its trade's, ms (issue 10: 28-37 ms).
BACKSTEP_MS = (28, 37)

# --- per-market parameters P[m, :] (filled by shape.py) ----------------------------------
P_TOP_MED = 0  # median size of the best level, shares
P_TOP_SIG = 1
P_NEAR_MED = 2  # median size of levels 1-10 points behind the best
P_NEAR_SIG = 3
P_FAR_MED = 4  # median size of levels further out
P_FAR_SIG = 5
P_POW2_PROB = 6  # share of far levels with a power-of-two size (laddering bots)
P_POW2_LO = 7  # smallest and largest exponent of those sizes
P_POW2_HI = 8
P_BOUND_LO = 9  # bound layer (0.01/0.99 or 0.001/0.999) size range, log-uniform
P_BOUND_HI = 10
P_SIZE_MED = 11  # taker order of 5+ shares: 5 + lognormal(median, sigma) shares
P_SIZE_SIG = 12
P_ROUND_PROB = 13  # share of whole-share orders at a round count (5, 10, 20, 50, ...)
P_SPREAD1 = 14  # probability of a 1-tick spread regime
P_SPREAD_EXTRA = 15  # otherwise 2 ticks + a geometric number of ticks with this mean
P_SPREAD_TAU = 16  # mean seconds between spread-regime changes
P_LAG_TAU = 17  # AR(1) lag of the quoted mid behind fair value, seconds
P_NOISE_TAU = 18  # correlation time of the quote noise, seconds
P_NOISE_SD = 19  # quote noise, ticks
P_NOISE_MAX = 20  # quote noise clip, ticks
P_INFORMED = 21  # how strongly takers lean toward fair value (0 = coin flip)
P_NEAR_CANCEL = 22  # chance a maker touch of an occupied near level cancels it
P_TICK_SWITCH = 23  # 1: tick may switch 0.01 -> 0.001 (crypto windows)
P_WIDEN_TICKS = 24  # extra spread after a fair-value jump
P_JUMP_CENTS = 25  # fair-value move within 1 s, in cents, that counts as a jump
P_MAX_WALK = 26  # price levels a taker walks at most
P_ARB_DELAY = 27  # median seconds before the arbitrageur acts on a gap
P_REFILL = 28  # mean seconds before makers refill a best level a taker emptied
P_SMALL_PROB = 29  # share of taker orders under 5 shares (market orders, residuals)
P_SMALL_LO = 30  # those are log-uniform on [P_SMALL_LO, 5) shares
P_WHOLE_PROB = 31  # share of 5+ share orders that are whole shares
P_SMALL_WHOLE = 32  # share of small orders that are whole shares (1-4)
P_NO_SHARE = 33  # share of taker orders on the NO token
P_BACKSTEP = 34  # chance the books after a trade carry a timestamp before the trade's
P_FAR_OCC = 35  # at a 0.01 tick: occupancy of far cents off the 5-cent points
P_WHALE_PROB = 36  # share of 5+ share orders drawn from the large-order tail
P_WHALE_MED = 37  # its median, shares (lognormal, sigma 1)
N_PARAMS = 38

# --- per-market state F[m, :] (float) and S[m, :] (int) ---------------------------------
F_LAG = 0  # lagged fair value (probability)
F_NOISE = 1  # quote noise, ticks
N_FSTATE = 2
I_TICK = 0  # current tick in 0.001 units: 10 or 1
I_SPREAD = 1  # spread regime, ticks
I_WIDEN_UNTIL = 2  # ns until which the spread is widened after a jump
I_TICK_UNRECORDED = 3  # 1: the tick changed during a feed gap, not yet written
I_BID = 4  # best bid index (0 = none)
I_ASK = 5  # best ask index (1000 = none)
I_LIVE = 6  # 1 once the book has been built
I_BOUND_LO = 7  # index of the bid bound layer
I_BOUND_HI = 8  # index of the ask bound layer
I_REFILL_AT = 9  # ns of the scheduled refill of an emptied best level (NONE_NS: none)
N_ISTATE = 10

# --- unit state U[:] -------------------------------------------------------------------
U_PREV_RECV = 0
U_LAST_EX = 1
U_ARB_AT = 2
U_LAT_AT = 3  # exchange time of the last latency draw
N_USTATE = 4
#: Float unit state: the latency's AR(1) deviation (in sigmas).
V_LAT = 0
N_VSTATE = 1
#: Correlation time of the receive latency: messages close together see the same
#: network, so latency drifts rather than jumping per message [A]. This keeps the
#: made-monotone latency at the measured p50/p95 instead of inflating it.
LAT_TAU_S = 1.0

#: Round share counts takers use (stats 1.1 [A]: 5, 10, 20, 50, 100 ...): 5 to 75,000.
_NICE = np.array(
    [m * 10.0**e for e in range(5) for m in (1, 1.5, 2, 2.5, 3, 4, 5, 7.5) if m * 10**e >= 5]
)
#: Polymarket's minimum limit order (stats 5): makers never quote less.
_MIN_SHARES = 5.0
#: The largest taker order, shares [A].
_MAX_ORDER = 50_000.0
#: The widest spread regime, ticks.
_SPREAD_MAX = 8
#: Rows one event can write per book at most: a snapshot of both tokens (2 x (1 + 998
#: levels)), prints and a tick change.
_BOOK_ROWS_MAX = 4100


class RowBlock(NamedTuple):
    """Rows of one unit run, in receive order (``seq`` is assigned per day later)."""

    ts_exchange_ns: np.ndarray
    ts_recv_ns: np.ndarray
    asset: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray


# ======================================================================================
# small helpers
# ======================================================================================
@njit(cache=True)
def _row(oi, of, pos, ex, recv, asset, kind, side, price, size):
    oi[0, pos] = ex
    oi[1, pos] = recv
    oi[2, pos] = asset
    oi[3, pos] = kind
    oi[4, pos] = side
    of[0, pos] = price
    of[1, pos] = size
    return pos + 1


@njit(cache=True)
def _pair(oi, of, pos, ex, recv, ya, kind, yes_side, idx, size):
    """The YES row and its NO mirror. ``recv < 0`` means the message is lost."""
    if recv < 0:
        return pos
    pos = _row(oi, of, pos, ex, recv, ya, kind, yes_side, idx / 1000.0, size)
    return _row(oi, of, pos, ex, recv, ya + 1, kind, -yes_side, (1000 - idx) / 1000.0, size)


@njit(cache=True)
def _ex(U, t_ns):
    """Exchange timestamp of a message sent at ``t_ns``: whole ms, never going back."""
    ex = t_ns - t_ns % _MS
    if ex < U[U_LAST_EX]:
        ex = U[U_LAST_EX]
    U[U_LAST_EX] = ex
    return ex


@njit(cache=True)
def _latency(gen, U, V, ex):
    """Feed latency of a message sent at ``ex``, ns.

    Lognormal (p50 125 ms, p95 300 ms) with its log following an AR(1) in
    time (``LAT_TAU_S``): messages close together see the same network.
    """
    rho = math.exp(-(ex - U[U_LAT_AT]) / (LAT_TAU_S * 1e9)) if U[U_LAT_AT] > 0 else 0.0
    U[U_LAT_AT] = ex
    V[V_LAT] = rho * V[V_LAT] + math.sqrt(1.0 - rho * rho) * gen.standard_normal()
    return min(int(math.exp(LAT_MU + LAT_SIGMA * V[V_LAT])), LAT_MAX_NS)


@njit(cache=True)
def _open(gen, U, V, ex, gaps, recv_limit):
    """Receive time of a message sent at ``ex``, or -1 if the recorder does not get it."""
    return _deliver(U, ex, ex + _latency(gen, U, V, ex), gaps, recv_limit)


@njit(cache=True)
def _deliver(U, ex, recv, gaps, recv_limit):
    """``recv`` made non-decreasing (one ordered feed), or -1 if the message is lost."""
    if recv < U[U_PREV_RECV]:
        recv = U[U_PREV_RECV]
    if recv >= recv_limit:
        return -1
    for j in range(gaps.shape[0]):
        if recv >= gaps[j, 0] and ex < gaps[j, 1]:
            return -1
    U[U_PREV_RECV] = recv
    return recv


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
# book construction and snapshots
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


@njit(cache=True)
def _snapshot(bid, ask, m, ya, oi, of, pos, ex, recv):
    """BOOK_RESET for both tokens, then every level, worst price first.

    Both resets come first so that no row leaves the YES book new while the
    NO book is still the old one (that would show a false complement gap to
    a strategy reacting row by row). Levels are written worst first, so a
    half-built side never shows a better price than the full one.
    """
    if recv < 0:
        return pos
    pos = _row(oi, of, pos, ex, recv, ya, _RESET, 0, 0.0, 0.0)
    pos = _row(oi, of, pos, ex, recv, ya + 1, _RESET, 0, 0.0, 0.0)
    for i in range(1, 1000):  # YES bids, ascending
        if bid[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya, _SNAP, _BID, i / 1000.0, bid[m, i])
    for i in range(999, 0, -1):  # YES asks, descending
        if ask[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya, _SNAP, _ASK, i / 1000.0, ask[m, i])
    for i in range(999, 0, -1):  # NO bids (YES asks mirrored), ascending
        if ask[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya + 1, _SNAP, _BID, (1000 - i) / 1000.0, ask[m, i])
    for i in range(1, 1000):  # NO asks (YES bids mirrored), descending
        if bid[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya + 1, _SNAP, _ASK, (1000 - i) / 1000.0, bid[m, i])
    return pos


@njit(cache=True)
def _token_book(bid, ask, m, ya, no, oi, of, pos, ex, recv):
    """One token's ``book`` message: BOOK_RESET, then bids ascending and asks
    descending (worst first, as Polymarket lists them); the NO book mirrored."""
    if no:
        a = ya + 1
        pos = _row(oi, of, pos, ex, recv, a, _RESET, 0, 0.0, 0.0)
        for i in range(999, 0, -1):
            if ask[m, i] > 0.0:
                pos = _row(oi, of, pos, ex, recv, a, _SNAP, _BID, (1000 - i) / 1000.0, ask[m, i])
        for i in range(1, 1000):
            if bid[m, i] > 0.0:
                pos = _row(oi, of, pos, ex, recv, a, _SNAP, _ASK, (1000 - i) / 1000.0, bid[m, i])
        return pos
    pos = _row(oi, of, pos, ex, recv, ya, _RESET, 0, 0.0, 0.0)
    for i in range(1, 1000):
        if bid[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya, _SNAP, _BID, i / 1000.0, bid[m, i])
    for i in range(999, 0, -1):
        if ask[m, i] > 0.0:
            pos = _row(oi, of, pos, ex, recv, ya, _SNAP, _ASK, i / 1000.0, ask[m, i])
    return pos


@njit(cache=True)
def _trade_books(gen, P, bid, ask, m, ya, U, V, ex, gaps, recv_limit, oi, of, pos):
    """The ``book`` of each token that Polymarket sends after a trade (issue 10).

    Both carry the trade's exchange time, or, with ``P_BACKSTEP``, one 28-37
    ms before it (the data layer replays each asset at its running maximum).
    They leave in random order, the second a few ms after the first and now
    and then up to 1.7 s after it; the feed delivers in order, so a late book
    holds back what follows. Each is lost on its own in a feed gap.
    """
    bex = ex
    if P[m, P_BACKSTEP] > 0.0 and gen.random() < P[m, P_BACKSTEP]:
        bex = ex - gen.integers(BACKSTEP_MS[0], BACKSTEP_MS[1] + 1) * _MS
    first_no = gen.random() < 0.5
    sent = ex + _latency(gen, U, V, ex) + int(gen.standard_exponential() * BOOK_GAP_NS)
    recv = _deliver(U, ex, sent, gaps, recv_limit)
    if recv >= 0:
        pos = _token_book(bid, ask, m, ya, first_no, oi, of, pos, bex, recv)
        sent = recv
    if gen.random() < BOOK_SKEW_LONG_PROB:
        sent += int(gen.uniform(BOOK_SKEW_LONG_S[0], BOOK_SKEW_LONG_S[1]) * 1e9)
    else:
        sent += int(gen.standard_exponential() * BOOK_SKEW_NS)
    recv = _deliver(U, ex, sent, gaps, recv_limit)
    if recv >= 0:
        pos = _token_book(bid, ask, m, ya, not first_no, oi, of, pos, bex, recv)
    return pos


# ======================================================================================
# events
# ======================================================================================
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


@njit(cache=True)
def _ask_sum(S, n):
    """Sum of the YES best asks of a group (0.001 units); 1000 * n if a side is empty."""
    s = 0
    for m in range(n):
        a = S[m, I_ASK]
        if a >= 1000:
            return 1000 * n
        s += a
    return s


@njit(cache=True)
def _arbitrage(gen, P, F, S, bid, ask, ya_arr, U, V, t, gaps, recv_limit, oi, of, pos):
    """Buy every outcome's best ask while the asks sum below 1 (neg-risk convert)."""
    n = S.shape[0]
    ex = _ex(U, t)
    for _ in range(50):
        if _ask_sum(S, n) >= 1000:
            break
        if pos + n * _BOOK_ROWS_MAX + 400 > oi.shape[1]:
            return -1
        q = 1e300
        for m in range(n):
            lvl = ask[m, S[m, I_ASK]]
            if lvl < q:
                q = lvl
        for m in range(n):
            a = S[m, I_ASK]
            lvl = ask[m, a]
            fill = min(q, lvl)
            recv = _open(gen, U, V, ex, gaps, recv_limit)
            if recv >= 0:
                pos = _row(oi, of, pos, ex, recv, ya_arr[m], _TRADE, _BID, a / 1000.0, fill)
            left = round(lvl - fill, 2)
            _put_ask(ask, S, m, a, left if left >= 0.01 else 0.0)
        for m in range(n):
            pos = _trade_books(
                gen, P, bid, ask, m, ya_arr[m], U, V, ex, gaps, recv_limit, oi, of, pos
            )
    # the makers learn from being picked off: no outcome is quoted below its lagged fair value
    for m in range(n):
        if F[m, F_NOISE] < 0.0:
            F[m, F_NOISE] = 0.0
    U[U_ARB_AT] = NONE_NS
    return pos


@njit(cache=True)
def _reconnect(gen, P, S, bid, ask, ya_arr, U, V, t, gaps, recv_limit, oi, of, pos):
    """After a feed gap: any missed tick change, then a fresh snapshot of every book."""
    ex = _ex(U, t + (-t) % _MS)
    for m in range(S.shape[0]):
        if S[m, I_LIVE] == 0:
            continue
        recv = _open(gen, U, V, ex, gaps, recv_limit)
        if recv < 0:
            continue
        if S[m, I_TICK_UNRECORDED] == 1:
            pos = _row(oi, of, pos, ex, recv, ya_arr[m], _TICK, 0, 0.001, 0.01)
            pos = _row(oi, of, pos, ex, recv, ya_arr[m] + 1, _TICK, 0, 0.001, 0.01)
            S[m, I_TICK_UNRECORDED] = 0
        pos = _snapshot(bid, ask, m, ya_arr[m], oi, of, pos, ex, recv)
    return pos


@njit(cache=True)
def _scheduled(
    gen, P, F, S, bid, ask, ya_arr, U, V, until, gaps, gj, t_stop, recv_limit, oi, of, pos
):
    """Run the reconnects, refills and arbitrage due at or before ``until``, in time order.

    Returns (pos, next gap index); pos is -1 when the buffer is too small.
    """
    cap = oi.shape[1]
    n_books = S.shape[0]
    slack = n_books * _BOOK_ROWS_MAX + 400
    while True:
        t_gap = NONE_NS
        if gj < gaps.shape[0] and gaps[gj, 1] < t_stop:
            t_gap = gaps[gj, 1]
        t_arb = U[U_ARB_AT]
        t_fill = NONE_NS
        fill_book = -1
        for m in range(n_books):
            if S[m, I_REFILL_AT] < t_fill:
                t_fill = S[m, I_REFILL_AT]
                fill_book = m
        t_next = min(t_gap, t_arb, t_fill)
        if t_next > until:
            return pos, gj
        if pos + slack > cap:
            return -1, gj
        if t_gap == t_next:
            pos = _reconnect(
                gen, P, S, bid, ask, ya_arr, U, V, t_gap, gaps, recv_limit, oi, of, pos
            )
            gj += 1
        elif t_fill == t_next:
            S[fill_book, I_REFILL_AT] = NONE_NS
            pos = _maker(
                gen,
                P,
                F,
                S,
                bid,
                ask,
                fill_book,
                ya_arr[fill_book],
                U,
                V,
                t_fill,
                gaps,
                recv_limit,
                oi,
                of,
                pos,
            )
        else:
            pos = _arbitrage(
                gen, P, F, S, bid, ask, ya_arr, U, V, t_arb, gaps, recv_limit, oi, of, pos
            )
            if pos < 0:
                return -1, gj


# ======================================================================================
# the kernel
# ======================================================================================
@njit(cache=True, nogil=True)
def simulate(
    gen,
    t0_ns,
    step_ns,
    fair,
    lam_trade,
    lam_lc,
    P,
    F,
    S,
    U,
    V,
    bid,
    ask,
    ya_arr,
    gaps,
    recv_limit,
    initial,
    arbitrage,
    oi,
    of,
):
    """Simulate ``fair.shape[1]`` grid steps of ``fair.shape[0]`` books from ``t0_ns``.

    ``fair``, ``lam_trade`` and ``lam_lc`` are (books, steps). ``P``, ``F``,
    ``S``, ``U``, ``bid``, ``ask`` are the parameters and the carried state
    (modified in place). ``gaps`` are the recorder's feed gaps (receive-time
    [start, end) rows, sorted). ``initial`` builds the books and writes their
    opening snapshot. Rows go to ``oi`` (ex, recv, asset, kind, side) and
    ``of`` (price, size). Returns the row count, or -1 if the buffers are too
    small (the caller retries from saved state with larger ones).
    """
    n_books = fair.shape[0]
    steps = fair.shape[1]
    cap = oi.shape[1]
    slack = n_books * _BOOK_ROWS_MAX + 400
    step_s = step_ns / 1e9
    t_stop = t0_ns + steps * step_ns
    pos = 0
    alpha = np.empty(n_books)
    rho = np.empty(n_books)
    shock = np.empty(n_books)
    for m in range(n_books):
        alpha[m] = 1.0 - math.exp(-step_s / P[m, P_LAG_TAU])
        rho[m] = math.exp(-step_s / P[m, P_NOISE_TAU])
        shock[m] = math.sqrt(1.0 - rho[m] * rho[m]) * P[m, P_NOISE_SD]
    lookback = max(1, round(1.0 / step_s))  # a jump: fair moved this much within 1 s
    gj = 0
    while gj < gaps.shape[0] and gaps[gj, 1] <= t0_ns:
        gj += 1
    if initial:
        ex = _ex(U, t0_ns)
        for m in range(n_books):
            F[m, F_LAG] = fair[m, 0]
            F[m, F_NOISE] = 0.0
            _build(gen, P, F, S, bid, ask, m)
            recv = _open(gen, U, V, ex, gaps, recv_limit)
            pos = _snapshot(bid, ask, m, ya_arr[m], oi, of, pos, ex, recv)
    rem = gen.standard_exponential()
    for g in range(steps):
        tg = t0_ns + g * step_ns
        lam = 0.0
        for m in range(n_books):
            f = fair[m, g]
            F[m, F_LAG] += alpha[m] * (f - F[m, F_LAG])
            nz = rho[m] * F[m, F_NOISE] + shock[m] * gen.standard_normal()
            cap_n = P[m, P_NOISE_MAX]
            F[m, F_NOISE] = min(max(nz, -cap_n), cap_n)
            if gen.random() < step_s / P[m, P_SPREAD_TAU]:
                S[m, I_SPREAD] = _spread_regime(gen, P, m)
            if abs(f - fair[m, max(g - lookback, 0)]) * 100.0 > P[m, P_JUMP_CENTS]:
                S[m, I_WIDEN_UNTIL] = tg + int(gen.uniform(1.0, 3.0) * 1e9)
            lam += lam_trade[m, g] + lam_lc[m, g]
        budget = lam * step_s
        used = 0.0
        while lam > 0.0 and rem <= budget - used:
            used += rem
            rem = gen.standard_exponential()
            te = tg + int(used / lam * 1e9)
            pos, gj = _scheduled(
                gen, P, F, S, bid, ask, ya_arr, U, V, te, gaps, gj, t_stop, recv_limit, oi, of, pos
            )
            if pos < 0 or pos + slack > cap:
                return -1
            x = gen.random() * lam
            book = n_books - 1
            trade = False
            for m in range(n_books):
                if x < lam_trade[m, g]:
                    book = m
                    trade = True
                    break
                x -= lam_trade[m, g]
                if x < lam_lc[m, g]:
                    book = m
                    break
                x -= lam_lc[m, g]
            if trade:
                pos = _taker(
                    gen,
                    P,
                    F,
                    S,
                    bid,
                    ask,
                    book,
                    ya_arr[book],
                    U,
                    V,
                    te,
                    gaps,
                    recv_limit,
                    oi,
                    of,
                    pos,
                )
            else:
                pos = _maker(
                    gen,
                    P,
                    F,
                    S,
                    bid,
                    ask,
                    book,
                    ya_arr[book],
                    U,
                    V,
                    te,
                    gaps,
                    recv_limit,
                    oi,
                    of,
                    pos,
                )
            if arbitrage and U[U_ARB_AT] == NONE_NS and _ask_sum(S, n_books) < 1000:
                delay = _lognormal(gen, P[0, P_ARB_DELAY], 0.7)
                U[U_ARB_AT] = te + int(delay * 1e9)
        rem -= budget - used
        pos, gj = _scheduled(
            gen,
            P,
            F,
            S,
            bid,
            ask,
            ya_arr,
            U,
            V,
            tg + step_ns - 1,
            gaps,
            gj,
            t_stop,
            recv_limit,
            oi,
            of,
            pos,
        )
        if pos < 0:
            return -1
    return pos


# ======================================================================================
# Python side
# ======================================================================================
class BookUnit:
    """The carried state of one simulation unit and the calls into the kernel.

    ``params`` is (books, N_PARAMS) from ``shape.py``; ``yes_assets`` the YES
    asset index of each book (its NO token is the next index); ``ticks`` the
    starting tick of each book in 0.001 units (10 or 1).
    """

    def __init__(
        self,
        gen: np.random.Generator,
        params: np.ndarray,
        yes_assets: np.ndarray,
        ticks: np.ndarray,
        *,
        arbitrage: bool = False,
    ) -> None:
        n = len(params)
        self.gen = gen
        self.params = np.ascontiguousarray(params, dtype=np.float64)
        self.yes_assets = np.ascontiguousarray(yes_assets, dtype=np.int64)
        self.arbitrage = arbitrage
        self.bid = np.zeros((n, LEVELS))
        self.ask = np.zeros((n, LEVELS))
        self.fstate = np.zeros((n, N_FSTATE))
        self.istate = np.zeros((n, N_ISTATE), dtype=np.int64)
        self.istate[:, I_TICK] = ticks
        self.istate[:, I_SPREAD] = 1
        self.istate[:, I_REFILL_AT] = NONE_NS
        self.ustate = np.zeros(N_USTATE, dtype=np.int64)
        self.ustate[U_PREV_RECV] = np.iinfo(np.int64).min
        self.ustate[U_LAST_EX] = np.iinfo(np.int64).min
        self.ustate[U_ARB_AT] = NONE_NS
        self.vstate = np.zeros(N_VSTATE)

    def run(
        self,
        t0_ns: int,
        step_ns: int,
        fair: np.ndarray,
        lam_trade: np.ndarray,
        lam_lc: np.ndarray,
        gaps: np.ndarray,
        recv_limit: int,
        *,
        initial: bool,
    ) -> RowBlock:
        """Simulate one stretch of time; returns its rows in receive order."""
        fair = np.ascontiguousarray(np.atleast_2d(fair), dtype=np.float64)
        lam_trade = np.ascontiguousarray(np.atleast_2d(lam_trade), dtype=np.float64)
        lam_lc = np.ascontiguousarray(np.atleast_2d(lam_lc), dtype=np.float64)
        gaps = np.ascontiguousarray(gaps, dtype=np.int64).reshape(-1, 2)
        n = len(self.params)
        # a trade writes its prints and one book per token; a maker message ~2.5 rows
        levels = max(int(np.count_nonzero(self.bid) + np.count_nonzero(self.ask)) // n, 150)
        per_trade = 2.0 * (levels + 1) + 3.0
        expected = float((lam_trade.sum() * per_trade + lam_lc.sum() * 2.5) * step_ns / 1e9)
        cap = int(expected * 1.3) + (n * _BOOK_ROWS_MAX + 400) * (len(gaps) + 3) + 4096
        while True:
            saved = (
                self.gen.bit_generator.state,
                self.bid.copy(),
                self.ask.copy(),
                self.fstate.copy(),
                self.istate.copy(),
                self.ustate.copy(),
                self.vstate.copy(),
            )
            oi = np.empty((5, cap), dtype=np.int64)
            of = np.empty((2, cap), dtype=np.float64)
            rows = simulate(
                self.gen,
                t0_ns,
                step_ns,
                fair,
                lam_trade,
                lam_lc,
                self.params,
                self.fstate,
                self.istate,
                self.ustate,
                self.vstate,
                self.bid,
                self.ask,
                self.yes_assets,
                gaps,
                recv_limit,
                initial,
                self.arbitrage,
                oi,
                of,
            )
            if rows >= 0:
                break
            state, self.bid, self.ask, self.fstate, self.istate, self.ustate, self.vstate = saved
            self.gen.bit_generator.state = state
            cap *= 2
        return RowBlock(
            oi[0, :rows].copy(),
            oi[1, :rows].copy(),
            oi[2, :rows].astype(np.int32),
            oi[3, :rows].astype(np.uint8),
            oi[4, :rows].astype(np.int8),
            of[0, :rows].copy(),
            of[1, :rows].copy(),
        )

    @property
    def prev_recv_ns(self) -> int:
        """Receive time of the last recorded message (for rows appended after a run)."""
        return int(self.ustate[U_PREV_RECV])

    @property
    def tick(self) -> np.ndarray:
        """Current tick of each book in 0.001 units."""
        return self.istate[:, I_TICK].copy()
