"""The hot loop: apply recorded rows to the books while our resting orders wait.

One kernel walks rows in order and returns to Python only when something
happens to us (a fill, an expiry, a resolution) or a row/time limit is hit.
The per-row book update is written inline (the same rule as
``ladder.set_level``): moving it into a helper taking the book arrays was
measured ~4x slower. Helpers are called only for markets where we have
resting orders, or on rare rows (reset, tick change, resolution).

Book rows of one outcome token build a market's book: ``mkt_i[m,
MI_ROW_OUTCOME]`` picks which (the NO book mirrors the YES book, so applying
both would count every level twice). Trade prints of *both* tokens drive the
one book: the two tokens' prints are independent flow (a NO taker BUY at q
is the match a YES taker SELL at 1-q would be), so a NO print at q advances
queues and fills resting orders as the YES print at 1-q with the taker side
flipped, exactly as the venue matches. A row with ``skip[r]`` set (a NO print
mirroring a YES print of the same match, ``sim.marketdata.replay_rules``) is
not applied; a print with taker side 0 or size 0 (unknown) touches nothing.
"""

from __future__ import annotations

from numba import njit

from exchange_mock.clob.codes import STOP_END, STOP_EXPIRED, STOP_FILL, STOP_RESOLVED, STOP_TIME
from exchange_mock.clob.ladder import clear_book
from exchange_mock.clob.orders import (
    compact_active,
    expire_orders,
    match_cross,
    match_trade,
    queue_on_level,
    resolve_market,
)
from exchange_mock.clob.state import (
    ASK,
    BID,
    C_N_ACTIVE,
    C_N_FILLS,
    C_NEXT_EXPIRY,
    MF_TICK,
    MI_N_REST,
    MI_ROW_OUTCOME,
    OI_BOOK_SIDE,
    OI_MARKET,
    OI_SLOT,
)
from sim.marketdata.schema import EventKind

_RESET = int(EventKind.BOOK_RESET)
_SNAP = int(EventKind.SNAPSHOT_LEVEL)
_LEVEL = int(EventKind.LEVEL_CHANGE)
_TRADE = int(EventKind.TRADE)
_TICK = int(EventKind.TICK_SIZE)
_RESOLVED = int(EventKind.RESOLVED)


@njit(cache=True)
def replay_rows(
    ts, asset, kind, side, price, size, skip, start: int, end: int, until_ns: int, st
) -> tuple[int, int]:
    """Apply rows ``start:end`` of the event columns to ``st`` (a ``state.ClobState``);
    return (next row to apply, STOP_* code)."""
    # the arrays as locals, read once: the loop below indexes them per row
    ladder, best, mkt_f, mkt_i = st.ladder, st.best, st.mkt_f, st.mkt_i
    oi, active, ctr, grid = st.oi, st.active, st.ctr, st.grid
    n_fills0 = ctr[C_N_FILLS]
    for r in range(start, end):
        t = ts[r]
        if t > until_ns:
            return r, STOP_TIME
        if t >= ctr[C_NEXT_EXPIRY] and expire_orders(st, t) > 0:
            return r, STOP_EXPIRED
        a = asset[r]
        if a < 0:
            continue  # connection rows carry no book
        m = a >> 1
        o = a & 1
        k = kind[r]
        if k == _TRADE:
            if skip[r] or side[r] == 0 or not size[r] > 0.0:
                continue  # a mirrored print, or one whose taker side or size is unknown
        elif o != mkt_i[m, MI_ROW_OUTCOME]:
            continue
        if k == _LEVEL or k == _SNAP or k == _TRADE:
            i = int(price[r] * grid + 0.5)
            sd = side[r]
            if o == 1:  # NO row at q == YES row at 1-q, other side
                i = grid - i
                sd = -sd
            if k == _TRADE:
                # a trade touches our orders only on the side it takes from, at or through
                # its price: checked inline (calling the matcher per row costs ~8x per row)
                hit = False
                if mkt_i[m, MI_N_REST] > 0:
                    our = ASK if sd > 0 else BID
                    for q in range(ctr[C_N_ACTIVE]):
                        oid = active[q]
                        if oi[oid, OI_MARKET] == m and oi[oid, OI_BOOK_SIDE] == our:
                            sl = oi[oid, OI_SLOT]
                            if (sl <= i) if our == ASK else (sl >= i):
                                hit = True
                                break
                if hit:
                    match_trade(st, m, sd, i, size[r], t)
                    if ctr[C_N_FILLS] > n_fills0:
                        compact_active(st)
                        return r + 1, STOP_FILL
                continue
            s = size[r]
            bs = BID if sd > 0 else ASK
            prev = ladder[m, bs, i]
            ladder[m, bs, i] = s
            # inline best-bid/ask upkeep; a crossing level clears the stale other side
            if bs == BID:
                if s > 0.0:
                    if i > best[m, BID]:
                        best[m, BID] = i
                    if i >= best[m, ASK]:
                        for j in range(best[m, ASK], i + 1):
                            ladder[m, ASK, j] = 0.0
                        j = i + 1
                        while j <= grid and ladder[m, ASK, j] <= 0.0:
                            j += 1
                        best[m, ASK] = j
                elif i == best[m, BID]:
                    j = i - 1
                    while j >= 0 and ladder[m, BID, j] <= 0.0:
                        j -= 1
                    best[m, BID] = j
            else:
                if s > 0.0:
                    if i < best[m, ASK]:
                        best[m, ASK] = i
                    if i <= best[m, BID]:
                        for j in range(i, best[m, BID] + 1):
                            ladder[m, BID, j] = 0.0
                        j = i - 1
                        while j >= 0 and ladder[m, BID, j] <= 0.0:
                            j -= 1
                        best[m, BID] = j
                elif i == best[m, ASK]:
                    j = i + 1
                    while j <= grid and ladder[m, ASK, j] <= 0.0:
                        j += 1
                    best[m, ASK] = j
            # our orders care about this row only if one rests at this level (its queue
            # moves) or, when the level grew, one on the other side is at or through it
            at_level = False
            crossed = False
            if mkt_i[m, MI_N_REST] > 0 and s != prev:
                for q in range(ctr[C_N_ACTIVE]):
                    oid = active[q]
                    if oi[oid, OI_MARKET] != m:
                        continue
                    sl = oi[oid, OI_SLOT]
                    if oi[oid, OI_BOOK_SIDE] == bs:
                        if sl == i:
                            at_level = True
                    elif s > prev and ((sl <= i) if bs == BID else (sl >= i)):
                        crossed = True
            if at_level or crossed:
                if at_level:
                    queue_on_level(st, m, bs, i, prev, s)
                if crossed:
                    match_cross(st, m, bs, i, s - prev, t)
                    if ctr[C_N_FILLS] > n_fills0:
                        compact_active(st)
                        return r + 1, STOP_FILL
        elif k == _RESET:
            clear_book(ladder, best, m, grid)
        elif k == _TICK:
            mkt_f[m, MF_TICK] = price[r]
        elif k == _RESOLVED:
            payout_yes = price[r] if o == 0 else 1.0 - price[r]
            resolve_market(st, m, payout_yes)
            return r + 1, STOP_RESOLVED
    return end, STOP_END
