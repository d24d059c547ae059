"""Book-shape and trading parameters of each market class (the ``P`` rows of
the book model, laid out in ``book_layout.py``). The source of every default is
in this package's ``README.md`` ("issue 10" = the real-capture figures of GitHub
issue 10, "stats x.y" = a section of ``reference/market-statistics.md``, [A] =
assumption).

Crypto up/down (issue 10, stats 2.1 "Crypto up/down" and 7):
    top level lognormal, median 120-200 shares (issue 10: top-of-book p50
    95-174); levels 1-10 ticks behind it 150-400, further out every 5-10
    ticks (stats 2.1), 5-20k shares at the 0.01/0.99 bounds; one-tick spread
    by asset (issue 10: 56 % of the time on BTC, 10 % on SOL; ETH between
    [A]), wider regimes 2 + geometric ticks, +2 ticks for 1-3 s after a jump
    (fair value moving > 5 cents within 1 s, beyond the p95 1-s move of a
    window's last 10 %: 0.02-0.04); quoted mid = fair value through a 1-5 s
    AR(1) lag with +-1-2 ticks of noise (stats 3.1 [A]); a best level a taker
    empties is refilled 0.15 s later on average [A].
Event markets (stats 2.1 real books, 7):
    sizes scaled by a per-market depth factor (real tops 1.3k-60k shares,
    median levels 1.2k-104k), power-of-two ladders 512-32768 (Xi book), a
    bound layer of 0.5-16M shares; spread 1-3 ticks at 0.001, 1-2 at 0.01;
    slow quote noise (minutes), since their fair value barely moves; emptied
    best levels refilled about 3 s later [A].
Taker orders, every class (issue 10, measured on BTC 15m):
    13 % under 5 shares (log-uniform 0.5-5, 30 % of them whole), the rest
    5 + lognormal(median 9.5, sigma 1.65) shares, 67 % of them whole and 30 %
    of those at a round count (stats 1.1: 5, 10, 20, 50, 100 ...); 47 % on
    the NO token; 0.4 % of trades are followed by books timed 28-37 ms before
    the trade.
"""

from __future__ import annotations

import math

import numpy as np

from exchange_mock.synth import book_layout as B

#: Chance a crypto book's maker regime is one tick wide, and the mean extra ticks of
#: a wider one, by asset (issue 10: one-tick spread 56 % of the time on BTC 1h, 10 %
#: on SOL 15m; ETH and the others are [A]). Regime shares are above the measured
#: time shares: takers emptying the best level widen the spread until the refill.
CRYPTO_SPREAD: dict[str, tuple[tuple[float, float], float]] = {
    "BTC": ((0.50, 0.58), 0.6),
    "ETH": ((0.28, 0.36), 1.0),
}
#: Any other asset (SOL, XRP, DOGE, ...): mostly two ticks or wider.
SMALL_ASSET_SPREAD: tuple[tuple[float, float], float] = ((0.03, 0.06), 1.2)


def _loguniform(g: np.random.Generator, lo: float, hi: float) -> float:
    return math.exp(g.uniform(math.log(lo), math.log(hi)))


def _trades(g: np.random.Generator, p: np.ndarray) -> None:
    p[B.P_SMALL_PROB] = g.uniform(0.12, 0.14)
    p[B.P_SMALL_LO] = 0.5
    p[B.P_SMALL_WHOLE] = 0.3
    p[B.P_SIZE_MED] = g.uniform(8.5, 10.5)
    p[B.P_SIZE_SIG] = 1.35
    p[B.P_WHOLE_PROB] = g.uniform(0.68, 0.78)
    p[B.P_ROUND_PROB] = 0.3
    p[B.P_NO_SHARE] = 0.47
    p[B.P_BACKSTEP] = 0.004
    p[B.P_WHALE_PROB] = 0.015
    p[B.P_WHALE_MED] = 1500.0
    p[B.P_MAX_WALK] = 5
    p[B.P_LAG_TAU] = g.uniform(1.0, 5.0)
    p[B.P_NOISE_SD] = 0.7
    p[B.P_NOISE_MAX] = 2.0
    p[B.P_WIDEN_TICKS] = 2
    p[B.P_JUMP_CENTS] = 5.0
    p[B.P_NEAR_CANCEL] = 0.12


def crypto_params(g: np.random.Generator, symbol: str = "BTC") -> np.ndarray:
    """Parameters of one up/down window's book on the asset ``symbol``."""
    p = np.zeros(B.N_PARAMS)
    _trades(g, p)
    p[B.P_TOP_MED] = g.uniform(90.0, 150.0)
    p[B.P_TOP_SIG] = 0.8
    p[B.P_NEAR_MED] = g.uniform(150.0, 400.0)
    p[B.P_NEAR_SIG] = 0.9
    p[B.P_FAR_MED] = g.uniform(300.0, 900.0)
    p[B.P_FAR_SIG] = 1.0
    p[B.P_FAR_OCC] = 0.08
    p[B.P_POW2_PROB] = 0.08
    p[B.P_POW2_LO] = 6
    p[B.P_POW2_HI] = 12
    p[B.P_BOUND_LO] = 5_000.0
    p[B.P_BOUND_HI] = 20_000.0
    (lo, hi), extra = CRYPTO_SPREAD.get(symbol, SMALL_ASSET_SPREAD)
    p[B.P_SPREAD1] = g.uniform(lo, hi)
    p[B.P_SPREAD_EXTRA] = extra
    p[B.P_SPREAD_TAU] = 10.0
    p[B.P_NOISE_TAU] = g.uniform(2.0, 6.0)
    p[B.P_INFORMED] = 0.45
    p[B.P_TICK_SWITCH] = 1.0
    p[B.P_ARB_DELAY] = 2.0
    p[B.P_REFILL] = 0.15
    return p


def event_params(g: np.random.Generator, tick: float) -> np.ndarray:
    """Parameters of one event market's book (standalone or a neg-risk outcome)."""
    p = np.zeros(B.N_PARAMS)
    _trades(g, p)
    depth = _loguniform(g, 2.0, 30.0)
    p[B.P_TOP_MED] = 600.0 * depth
    p[B.P_TOP_SIG] = 0.8
    p[B.P_NEAR_MED] = 1_200.0 * depth
    p[B.P_NEAR_SIG] = 0.9
    p[B.P_FAR_MED] = 2_000.0 * depth
    p[B.P_FAR_SIG] = 1.1
    p[B.P_FAR_OCC] = 0.75
    p[B.P_POW2_PROB] = 0.15
    p[B.P_POW2_LO] = 9
    p[B.P_POW2_HI] = 15
    bound = _loguniform(g, 500_000.0, 10_000_000.0)
    p[B.P_BOUND_LO] = bound
    p[B.P_BOUND_HI] = bound * 1.6
    if tick < 0.005:
        p[B.P_SPREAD1], p[B.P_SPREAD_EXTRA] = 0.5, 0.4
    else:
        p[B.P_SPREAD1], p[B.P_SPREAD_EXTRA] = 0.75, 0.0
    p[B.P_SPREAD_TAU] = 300.0
    p[B.P_NOISE_TAU] = g.uniform(60.0, 600.0)
    p[B.P_INFORMED] = 0.3
    p[B.P_TICK_SWITCH] = 0.0
    p[B.P_ARB_DELAY] = 2.0
    p[B.P_REFILL] = 3.0
    return p
