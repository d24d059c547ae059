"""Book-shape and trading parameters of each market class (the ``P`` rows of
``book.py``), with the market-statistics.md figure each one follows.

Crypto up/down (stats 2.1 "Crypto up/down" and 7):
    top level 100-2,000 shares (lognormal, median 300-600), top 5 about
    1-10k, levels >= 50 shares inside the reward band, a 5-20k bound layer at
    0.01/0.99; 1-tick spread 80-90 % of the time, 2-3 ticks otherwise,
    +2 ticks for 1-3 s after a jump (fair value moving > 5 cents within 1 s,
    beyond the p95 1-s move of a window's last 10 %: 0.02-0.04); quoted
    mid = fair value through a 1-5 s AR(1) lag with +-1-2 ticks of noise
    (stats 3.1 [A]); a best level a taker empties is refilled 0.15 s later
    on average [A].
Event markets (stats 2.1 real books, 7):
    sizes scaled by a per-market depth factor (real tops 1.3k-60k shares,
    median levels 1.2k-104k), power-of-two ladders 512-32768 (Xi book), a
    bound layer of 0.5-16M shares; spread 1-3 ticks at 0.001, 1-2 at 0.01;
    slow quote noise (minutes), since their fair value barely moves; emptied
    best levels refilled about 3 s later [A].
Trades, every class (stats 1.1 [A]):
    lognormal notional with median $8-10 and mean $29 (volume / prints), so
    sigma = sqrt(2 ln(29 / median)); 20-30 % round share counts; 5-share floor.
"""

from __future__ import annotations

import math

import numpy as np

from exchange_mock.synth import book as B

#: Mean trade notional, USDC (stats 1.1: daily volume / prints, 07-24).
MEAN_NOTIONAL = 29.0


def _loguniform(g: np.random.Generator, lo: float, hi: float) -> float:
    return math.exp(g.uniform(math.log(lo), math.log(hi)))


def _trades(g: np.random.Generator, p: np.ndarray) -> None:
    med = g.uniform(8.0, 10.0)
    p[B.P_NOTIONAL_MED] = med
    p[B.P_NOTIONAL_SIG] = math.sqrt(2.0 * math.log(MEAN_NOTIONAL / med))
    p[B.P_ROUND_PROB] = g.uniform(0.1, 0.15)
    p[B.P_MAX_WALK] = 5
    p[B.P_LAG_TAU] = g.uniform(1.0, 5.0)
    p[B.P_NOISE_SD] = 0.7
    p[B.P_NOISE_MAX] = 2.0
    p[B.P_WIDEN_TICKS] = 2
    p[B.P_JUMP_CENTS] = 5.0
    p[B.P_NEAR_CANCEL] = 0.12


def crypto_params(g: np.random.Generator) -> np.ndarray:
    """Parameters of one up/down window's book."""
    p = np.zeros(B.N_PARAMS)
    _trades(g, p)
    p[B.P_TOP_MED] = g.uniform(300.0, 600.0)
    p[B.P_TOP_SIG] = 0.7
    p[B.P_NEAR_MED] = g.uniform(400.0, 800.0)
    p[B.P_NEAR_SIG] = 0.8
    p[B.P_FAR_MED] = g.uniform(500.0, 1200.0)
    p[B.P_FAR_SIG] = 1.0
    p[B.P_POW2_PROB] = 0.08
    p[B.P_POW2_LO] = 6
    p[B.P_POW2_HI] = 12
    p[B.P_BOUND_LO] = 5_000.0
    p[B.P_BOUND_HI] = 20_000.0
    p[B.P_SPREAD1] = g.uniform(0.8, 0.9)
    p[B.P_SPREAD2] = p[B.P_SPREAD1] + 0.6 * (1.0 - p[B.P_SPREAD1])
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
    p[B.P_POW2_PROB] = 0.15
    p[B.P_POW2_LO] = 9
    p[B.P_POW2_HI] = 15
    bound = _loguniform(g, 500_000.0, 10_000_000.0)
    p[B.P_BOUND_LO] = bound
    p[B.P_BOUND_HI] = bound * 1.6
    if tick < 0.005:
        p[B.P_SPREAD1], p[B.P_SPREAD2] = 0.5, 0.8
    else:
        p[B.P_SPREAD1], p[B.P_SPREAD2] = 0.75, 1.0
    p[B.P_SPREAD_TAU] = 300.0
    p[B.P_NOISE_TAU] = g.uniform(60.0, 600.0)
    p[B.P_INFORMED] = 0.3
    p[B.P_TICK_SWITCH] = 0.0
    p[B.P_ARB_DELAY] = 2.0
    p[B.P_REFILL] = 3.0
    return p
