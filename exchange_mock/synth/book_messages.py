"""Rows and their timing, the numba side of the book model (``book.py``).

Writing a row and its NO mirror; the exchange timestamp (whole ms, never going
back); the receive time (AR(1) lognormal latency, one ordered feed, lost in a
feed gap); full-book snapshots and the ``book`` of each token Polymarket sends
after a trade.
"""

from __future__ import annotations

import math

from numba import njit

from exchange_mock.synth.book_layout import (
    _ASK,
    _BID,
    _MS,
    _RESET,
    _SNAP,
    P_BACKSTEP,
    U_LAST_EX,
    U_LAT_AT,
    U_PREV_RECV,
    V_LAT,
)

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

#: Correlation time of the receive latency: messages close together see the same
#: network, so latency drifts rather than jumping per message [A]. This keeps the
#: made-monotone latency at the measured p50/p95 instead of inflating it.
LAT_TAU_S = 1.0


# ======================================================================================
# rows and timestamps
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


# ======================================================================================
# snapshots and the books after a trade
# ======================================================================================
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
