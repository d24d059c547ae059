"""Array layout of the simulated CLOB: books, markets, our orders, fills.

Everything the kernels touch is a plain numpy array, columns named here.

Books: one per market, in YES-price terms (a NO bid at q is a YES ask at
1-q). ``ladder[m, BID|ASK, slot]`` holds shares at price ``slot / grid``;
``best[m, BID]`` is the best bid slot (-1 when empty) and ``best[m, ASK]`` the
best ask slot (``grid + 1`` when empty).

The kernels receive all of it as one argument, ``st``: a ``ClobState``, a
numba structref holding the same arrays (shared, not copied) and the book's
settings. Kernels never replace a field of ``st``; only
``ClobArrays.ensure_order_capacity`` (Python, between calls) does, by building
a new ``ClobState``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from numba import njit, types
from numba.core import config as numba_config
from numba.experimental import structref

from exchange_mock.clob.codes import QUEUE_CONSERVATIVE
from exchange_mock.clob.direct import direct, direct_entry

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


#: The empty fill batch (read-only, shared).
NO_FILLS = np.zeros(0, dtype=FILL_DTYPE)
NO_FILLS.flags.writeable = False


def grid_for_ticks(ticks: list[float] | tuple[float, ...]) -> int:
    """Slots per unit price: 1,000 when every tick >= 0.001, else 10,000."""
    finest = min(ticks) if ticks else 0.01
    return 10_000 if finest < 0.001 - 1e-12 else 1_000


# --- the one argument every kernel takes ------------------------------------
@structref.register
class ClobStateType(types.StructRef):
    """numba type of ``ClobState``."""


_F1, _F2, _F3 = types.float64[::1], types.float64[:, ::1], types.float64[:, :, ::1]
_I1, _I2 = types.int64[::1], types.int64[:, ::1]
#: The one concrete ``ClobStateType``: C-contiguous arrays (ClobArrays makes them so).
CLOB_STATE = ClobStateType(
    [
        ("ladder", _F3),
        ("best", _I2),
        ("mkt_f", _F2),
        ("mkt_i", _I2),
        ("pos", _F2),
        ("acct", _F1),
        ("oi", _I2),
        ("of", _F2),
        ("active", _I1),
        ("ctr", _I1),
        ("fill_i", _I2),
        ("fill_f", _F2),
        ("grid", types.int64),
        ("queue_model", types.int64),  # codes.QUEUE_*
        ("queue_power", types.float64),
    ]
)


class ClobState(structref.StructRefProxy):
    """The kernels' view of a ``ClobArrays``: its arrays (shared) and settings, one object.

    Why not loose arrays or a tuple of them: numba types and unboxes every
    array argument on every call, a tuple's elements included. Measured for a
    submit-shaped call (CPU us per call, dispatcher / direct entry): the 12
    arrays loose 1.61 / 1.05, as one tuple 1.94 / 1.04, one namedtuple 3.22 /
    1.03, three namedtuples 4.74 / 1.09, this structref 1.23 / 0.42. Its
    typing is a Python-level fallback (~0.8 us), which ``direct.py`` skips
    for the fixed-signature kernels. Build it with ``new_clob_state`` (cached);
    ``StructRefProxy``'s own constructor is compiled uncached (~1 s a process).
    """

    # A class attribute, not StructRefProxy's property: numba's dispatcher
    # reads it on every call, and a plain attribute is the cheaper read.
    _numba_type_ = CLOB_STATE


structref.define_boxing(ClobStateType, ClobState)


@njit(cache=True)
def new_clob_state(
    ladder, best, mkt_f, mkt_i, pos, acct, oi, of, active, ctr, fill_i, fill_f,
    grid: int, queue_model: int, queue_power: float,
):  # fmt: skip
    st = structref.new(CLOB_STATE)
    st.ladder = ladder
    st.best = best
    st.mkt_f = mkt_f
    st.mkt_i = mkt_i
    st.pos = pos
    st.acct = acct
    st.oi = oi
    st.of = of
    st.active = active
    st.ctr = ctr
    st.fill_i = fill_i
    st.fill_f = fill_f
    st.grid = grid
    st.queue_model = queue_model
    st.queue_power = queue_power
    return st


if numba_config.DISABLE_JIT:
    # NUMBA_DISABLE_JIT=1 runs the kernels as Python (debugging): a namespace stands in

    def new_clob_state(*fields):
        return SimpleNamespace(**dict(zip(CLOB_STATE.field_dict, fields, strict=True)))


@direct_entry(CLOB_STATE)
@njit(cache=True)
def take_fill_records(st) -> np.ndarray:
    """The fill table's rows as FILL_DTYPE records, emptying the table.

    A kernel rather than twelve numpy column copies: ~1 us instead of ~6 us a
    drain (one drain follows every fill the replay stops for).
    """
    ctr, fill_i, fill_f = st.ctr, st.fill_i, st.fill_f
    n = ctr[C_N_FILLS]
    out = np.empty(n, dtype=FILL_DTYPE)
    for k in range(n):
        rec = out[k]
        rec["order_id"] = fill_i[k, FI_ORDER]
        rec["market"] = fill_i[k, FI_MARKET]
        rec["outcome"] = fill_i[k, FI_OUTCOME]
        rec["side"] = fill_i[k, FI_SIDE]
        rec["liquidity"] = fill_i[k, FI_LIQUIDITY]
        rec["ts_ns"] = fill_i[k, FI_TS_NS]
        rec["price"] = fill_f[k, FF_PRICE]
        rec["size"] = fill_f[k, FF_SIZE]
        rec["fee_usdc"] = fill_f[k, FF_FEE_USDC]
        rec["fee_shares"] = fill_f[k, FF_FEE_SHARES]
        rec["cash_delta"] = fill_f[k, FF_CASH_DELTA]
        rec["position_delta"] = fill_f[k, FF_POSITION_DELTA]
    ctr[C_N_FILLS] = 0
    return out


_STATE_FIELDS = frozenset(CLOB_STATE.field_dict)


@dataclass
class ClobArrays:
    """All mutable state of the simulated CLOB for N markets, and the kernels' view of it."""

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
    queue_model: int = QUEUE_CONSERVATIVE  # codes.QUEUE_*
    queue_power: float = 2.0
    #: The arrays above as the kernels' one argument; rebuilt whenever one is replaced.
    st: ClobState = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._sync_state()

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        # an array (or setting) replaced after construction: the kernels must get the new one
        if name in _STATE_FIELDS and "st" in self.__dict__:
            self._sync_state()

    def _sync_state(self) -> None:
        self.st = new_clob_state(
            self.ladder, self.best, self.mkt_f, self.mkt_i, self.pos, self.acct, self.oi,
            self.of, self.active, self.ctr, self.fill_i, self.fill_f, int(self.grid),
            int(self.queue_model), float(self.queue_power),
        )  # fmt: skip

    @classmethod
    def allocate(
        cls,
        n_markets: int,
        grid: int,
        order_capacity: int = 256,
        *,
        queue_model: int = QUEUE_CONSERVATIVE,
        queue_power: float = 2.0,
    ) -> ClobArrays:
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
            queue_model=queue_model,
            queue_power=queue_power,
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
            self.oi, self.of, self.active = oi, of, active  # each rebuilds self.st
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
        if self.ctr[C_N_FILLS] == 0:
            return NO_FILLS
        return direct(take_fill_records)(self.st)
