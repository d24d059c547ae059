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

The code: ``book_layout.py`` (grid, row codes, array columns), ``book_messages.py``
(rows, timestamps, latency, snapshots), ``book_levels.py`` (level sizes, best
levels, quotes, building a book), ``book_events.py`` (taker orders, maker
messages, the tick switch), ``book_kernel.py`` (scheduled actions and
``simulate``); this file holds ``BookUnit``, the Python side. numba caches each
kernel together with the kernels it calls, but checks only the kernel's own file
for changes: after editing a ``book_*.py`` file, delete this package's
``__pycache__`` before generating, or a cached caller keeps the old code.
"""

from __future__ import annotations

import numpy as np

from exchange_mock.synth.book_kernel import _BOOK_ROWS_MAX, simulate
from exchange_mock.synth.book_layout import (
    I_REFILL_AT,
    I_SPREAD,
    I_TICK,
    LEVELS,
    N_FSTATE,
    N_ISTATE,
    N_USTATE,
    N_VSTATE,
    NONE_NS,
    U_ARB_AT,
    U_LAST_EX,
    U_PREV_RECV,
    RowBlock,
)


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
