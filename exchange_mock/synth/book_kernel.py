"""The book-model kernel (``book.py``): ``simulate`` runs a unit's books over a
stretch of fair-value grid steps, drawing taker and maker events from the rates,
and, between events, the scheduled actions in time order: the snapshots after a
feed gap, the refill of an emptied best level and the neg-risk arbitrageur.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from exchange_mock.synth.book_events import _maker, _taker
from exchange_mock.synth.book_layout import (
    _BID,
    _MS,
    _TICK,
    _TRADE,
    F_LAG,
    F_NOISE,
    I_ASK,
    I_LIVE,
    I_REFILL_AT,
    I_SPREAD,
    I_TICK_UNRECORDED,
    I_WIDEN_UNTIL,
    NONE_NS,
    P_ARB_DELAY,
    P_JUMP_CENTS,
    P_LAG_TAU,
    P_NOISE_MAX,
    P_NOISE_SD,
    P_NOISE_TAU,
    P_SPREAD_TAU,
    U_ARB_AT,
)
from exchange_mock.synth.book_levels import _build, _lognormal, _put_ask, _spread_regime
from exchange_mock.synth.book_messages import _ex, _open, _row, _snapshot, _trade_books

#: Rows one event can write per book at most: a snapshot of both tokens (2 x (1 + 998
#: levels)), prints and a tick change.
_BOOK_ROWS_MAX = 4100


# ======================================================================================
# scheduled actions: reconnect snapshots, refills, neg-risk arbitrage
# ======================================================================================
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
