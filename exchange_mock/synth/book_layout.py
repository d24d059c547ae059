"""Layout of the book model (``book.py``): the price grid, the row codes, the
columns of the per-market parameter array ``P`` (filled by ``shape.py``) and of
the state arrays the kernels carry, and ``RowBlock``, the rows of one run.

The calibrated constants the kernels compile in live next to those kernels
(``book_messages.py``, ``book_levels.py``, ``book_events.py``,
``book_kernel.py``): numba's cache checks a kernel's own file only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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


class RowBlock(NamedTuple):
    """Rows of one unit run, in receive order (``seq`` is assigned per day later)."""

    ts_exchange_ns: np.ndarray
    ts_recv_ns: np.ndarray
    asset: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
