"""Array layout of the simulated CLOB: books, markets, our orders, fills.

Everything the kernels touch is a plain numpy array, columns named here.

Books: one per market, in YES-price terms (a NO bid at q is a YES ask at
1-q). ``ladder[m, BID|ASK, slot]`` holds shares at price ``slot / grid``;
``best[m, BID]`` is the best bid slot (-1 when empty) and ``best[m, ASK]`` the
best ask slot (``grid + 1`` when empty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BID = 0
ASK = 1

# market float columns
MF_TICK = 0
MF_MIN_SIZE = 1
MF_FEE_RATE = 2
MF_FEE_EXP = 3
MF_PAYOUT_YES = 4  # -1 while unresolved
N_MF = 5

# market int columns
MI_CLOSED = 0
MI_ROW_OUTCOME = 1  # 0: build the book from YES rows, 1: from NO rows (mirrored)
MI_N_REST = 2  # our resting orders in this market
N_MI = 3

# order int columns
OI_MARKET = 0
OI_OUTCOME = 1  # 0 YES, 1 NO
OI_SIDE = 2  # +1 BUY, -1 SELL of the order's own token
OI_BOOK_SIDE = 3  # BID or ASK of the YES book
OI_SLOT = 4  # YES-book slot
OI_STATUS = 5
OI_TYPE = 6
OI_POST_ONLY = 7
OI_EXPIRE_NS = 8  # 0: never
OI_CREATED_NS = 9
N_OI = 10

# order float columns
OF_PRICE = 0  # in the order's own token terms
OF_SIZE = 1
OF_FILLED = 2
OF_QUEUE_AHEAD = 3  # recorded shares ahead of us at our level
OF_TRADE_CREDIT = 4  # traded shares at our level not yet seen as a level decrease
N_OF = 5

# counters
C_N_ORDERS = 0
C_N_ACTIVE = 1
C_N_FILLS = 2
C_NEXT_EXPIRY = 3  # smallest expire_ns among resting GTD orders, int64 max if none
N_C = 4
NO_EXPIRY = np.iinfo(np.int64).max

# account
A_CASH = 0
A_SETTLED = 1  # cash received from resolutions (included in A_CASH)
N_A = 2

# fill int columns
FI_ORDER = 0
FI_MARKET = 1
FI_OUTCOME = 2
FI_SIDE = 3
FI_LIQUIDITY = 4  # codes.MAKER / codes.TAKER
FI_TS_NS = 5
FI_SLOT = 6  # YES-book slot of the fill
N_FI = 7

# fill float columns
FF_PRICE = 0  # token price
FF_SIZE = 1  # shares matched
FF_FEE_USDC = 2
FF_FEE_SHARES = 3
FF_CASH_DELTA = 4
FF_POSITION_DELTA = 5  # change of the order's token position
N_FF = 6

#: One fill as a numpy record (what the Python wrapper hands out).
FILL_DTYPE = np.dtype(
    [
        ("order_id", np.int64),
        ("market", np.int64),
        ("outcome", np.int8),
        ("side", np.int8),
        ("liquidity", np.int8),
        ("ts_ns", np.int64),
        ("price", np.float64),
        ("size", np.float64),
        ("fee_usdc", np.float64),
        ("fee_shares", np.float64),
        ("cash_delta", np.float64),
        ("position_delta", np.float64),
    ]
)


_NO_FILLS = np.zeros(0, dtype=FILL_DTYPE)
_NO_FILLS.flags.writeable = False


def grid_for_ticks(ticks: list[float] | tuple[float, ...]) -> int:
    """Slots per unit price: 1,000 when every tick >= 0.001, else 10,000."""
    finest = min(ticks) if ticks else 0.01
    return 10_000 if finest < 0.001 - 1e-12 else 1_000


@dataclass
class ClobArrays:
    """All mutable state of the simulated CLOB for N markets."""

    grid: int
    ladder: np.ndarray  # [M, 2, grid + 1] float64
    best: np.ndarray  # [M, 2] int64
    mkt_f: np.ndarray  # [M, N_MF]
    mkt_i: np.ndarray  # [M, N_MI]
    pos: np.ndarray  # [M, 2] shares of YES, NO
    acct: np.ndarray  # [N_A]
    oi: np.ndarray  # [cap, N_OI]
    of: np.ndarray  # [cap, N_OF]
    active: np.ndarray  # [cap] resting order ids in time priority
    ctr: np.ndarray  # [N_C]
    fill_i: np.ndarray  # [fcap, N_FI]
    fill_f: np.ndarray  # [fcap, N_FF]

    @classmethod
    def allocate(cls, n_markets: int, grid: int, order_capacity: int = 256) -> ClobArrays:
        best = np.empty((n_markets, 2), dtype=np.int64)
        best[:, BID] = -1
        best[:, ASK] = grid + 1
        mkt_f = np.zeros((n_markets, N_MF))
        mkt_f[:, MF_PAYOUT_YES] = -1.0
        ctr = np.zeros(N_C, dtype=np.int64)
        ctr[C_NEXT_EXPIRY] = NO_EXPIRY
        a = cls(
            grid=grid,
            ladder=np.zeros((n_markets, 2, grid + 1)),
            best=best,
            mkt_f=mkt_f,
            mkt_i=np.zeros((n_markets, N_MI), dtype=np.int64),
            pos=np.zeros((n_markets, 2)),
            acct=np.zeros(N_A),
            oi=np.zeros((0, N_OI), dtype=np.int64),
            of=np.zeros((0, N_OF)),
            active=np.zeros(0, dtype=np.int64),
            ctr=ctr,
            fill_i=np.zeros((0, N_FI), dtype=np.int64),
            fill_f=np.zeros((0, N_FF)),
        )
        a.ensure_order_capacity(order_capacity)
        return a

    def fill_capacity_needed(self) -> int:
        # one submit walks at most grid + 1 levels; one replay row fills each order once
        return self.grid + 2 + self.oi.shape[0]

    def ensure_order_capacity(self, needed: int) -> None:
        """Grow the order and fill tables (doubling) so ``needed`` orders fit."""
        cap = self.oi.shape[0]
        if needed > cap:
            new_cap = max(needed, 2 * cap, 64)
            oi = np.zeros((new_cap, N_OI), dtype=np.int64)
            of = np.zeros((new_cap, N_OF))
            active = np.zeros(new_cap, dtype=np.int64)
            oi[:cap] = self.oi
            of[:cap] = self.of
            active[:cap] = self.active
            self.oi, self.of, self.active = oi, of, active
        fcap = self.fill_capacity_needed()
        if self.fill_i.shape[0] < fcap:
            n = int(self.ctr[C_N_FILLS])
            fi = np.zeros((fcap, N_FI), dtype=np.int64)
            ff = np.zeros((fcap, N_FF))
            fi[:n] = self.fill_i[:n]
            ff[:n] = self.fill_f[:n]
            self.fill_i, self.fill_f = fi, ff

    def drain_fills(self) -> np.ndarray:
        """The fills recorded since the last drain, as FILL_DTYPE records."""
        n = int(self.ctr[C_N_FILLS])
        if n == 0:
            return _NO_FILLS
        out = np.zeros(n, dtype=FILL_DTYPE)
        if n:
            fi = self.fill_i[:n]
            ff = self.fill_f[:n]
            out["order_id"] = fi[:, FI_ORDER]
            out["market"] = fi[:, FI_MARKET]
            out["outcome"] = fi[:, FI_OUTCOME]
            out["side"] = fi[:, FI_SIDE]
            out["liquidity"] = fi[:, FI_LIQUIDITY]
            out["ts_ns"] = fi[:, FI_TS_NS]
            out["price"] = ff[:, FF_PRICE]
            out["size"] = ff[:, FF_SIZE]
            out["fee_usdc"] = ff[:, FF_FEE_USDC]
            out["fee_shares"] = ff[:, FF_FEE_SHARES]
            out["cash_delta"] = ff[:, FF_CASH_DELTA]
            out["position_delta"] = ff[:, FF_POSITION_DELTA]
        self.ctr[C_N_FILLS] = 0
        return out
