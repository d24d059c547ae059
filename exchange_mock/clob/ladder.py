"""Tick-indexed ladder kernels: price slots, YES/NO mapping, level updates, taker walks.

A market's two tokens share one book kept in YES-price terms: a NO order at
q is the complement YES order at 1-q (a NO BUY is a YES-book ask, a NO SELL
a YES-book bid). Each function is a short ``@njit(cache=True)`` kernel that
tests can drive with hand-made arrays. The replay loop (replay.py) inlines
the same level rule for speed; ``set_level`` is its reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from exchange_mock.clob.state import ASK, BID


@njit(cache=True)
def slot_of(price: float, grid: int) -> int:
    """The ladder slot of ``price`` (nearest)."""
    return int(price * grid + 0.5)


@njit(cache=True)
def to_book(outcome: int, side: int, price: float, grid: int) -> tuple[int, int]:
    """(book side, YES-book slot) of an order for ``outcome`` (0 YES, 1 NO).

    ``side`` is +1 BUY / -1 SELL of the order's own token. A YES BUY rests on
    the bid side at p; a NO BUY at q rests on the ask side at 1-q, and a NO
    SELL at q on the bid side at 1-q. The slot of 1-q is ``grid - slot(q)``,
    exact in integers.
    """
    s = slot_of(price, grid)
    if outcome == 0:
        return (BID if side > 0 else ASK), s
    return (ASK if side > 0 else BID), grid - s


@njit(cache=True)
def token_price(outcome: int, slot: int, grid: int) -> float:
    """The price, in the token's own terms, of YES-book slot ``slot``."""
    if outcome == 0:
        return slot / grid
    return (grid - slot) / grid


@njit(cache=True)
def rescan_bid(row: np.ndarray, start: int) -> int:
    """Highest occupied slot at or below ``start``, -1 if none."""
    j = start
    while j >= 0 and row[j] <= 0.0:
        j -= 1
    return j


@njit(cache=True)
def rescan_ask(row: np.ndarray, start: int, grid: int) -> int:
    """Lowest occupied slot at or above ``start``, ``grid + 1`` if none."""
    j = start
    while j <= grid and row[j] <= 0.0:
        j += 1
    return j


@njit(cache=True)
def set_level(ladder, best, m: int, book_side: int, slot: int, size: float, grid: int) -> float:
    """Set an absolute level size; keep best bid/ask; return the previous size.

    A level that crosses the other side (a recorded bid at or above the best
    ask, or an ask at or below the best bid) is the newer news: the stale
    crossed levels on the other side are cleared, so the book never crosses.
    """
    prev = ladder[m, book_side, slot]
    ladder[m, book_side, slot] = size
    if book_side == BID:
        if size > 0.0:
            if slot > best[m, BID]:
                best[m, BID] = slot
            if slot >= best[m, ASK]:
                for j in range(best[m, ASK], slot + 1):
                    ladder[m, ASK, j] = 0.0
                best[m, ASK] = rescan_ask(ladder[m, ASK], slot + 1, grid)
        elif slot == best[m, BID]:
            best[m, BID] = rescan_bid(ladder[m, BID], slot - 1)
    else:
        if size > 0.0:
            if slot < best[m, ASK]:
                best[m, ASK] = slot
            if slot <= best[m, BID]:
                for j in range(slot, best[m, BID] + 1):
                    ladder[m, BID, j] = 0.0
                best[m, BID] = rescan_bid(ladder[m, BID], slot - 1)
        elif slot == best[m, ASK]:
            best[m, ASK] = rescan_ask(ladder[m, ASK], slot + 1, grid)
    return prev


@njit(cache=True)
def clear_book(ladder, best, m: int, grid: int) -> None:
    ladder[m, BID, :] = 0.0
    ladder[m, ASK, :] = 0.0
    best[m, BID] = -1
    best[m, ASK] = grid + 1


@njit(cache=True)
def marketable(best, m: int, book_side: int, slot: int, grid: int) -> bool:
    """True if an order at ``slot`` on ``book_side`` crosses the recorded book."""
    if book_side == BID:
        return best[m, ASK] <= slot
    return best[m, BID] >= slot


@njit(cache=True)
def walk_depth(ladder, best, m: int, book_side: int, limit_slot: int, grid: int) -> float:
    """Shares a taker on ``book_side`` could take now at prices up to ``limit_slot``."""
    total = 0.0
    if book_side == BID:
        j = best[m, ASK]
        while j <= limit_slot and j <= grid:
            total += ladder[m, ASK, j]
            j += 1
    else:
        j = best[m, BID]
        while j >= limit_slot and j >= 0:
            total += ladder[m, BID, j]
            j -= 1
    return total


@njit(cache=True)
def walk_take(
    ladder,
    best,
    m: int,
    book_side: int,
    limit_slot: int,
    want: float,
    grid: int,
    out_slot,
    out_size,
) -> int:
    """Take up to ``want`` shares level by level (price-limited) from the other side.

    Writes one (slot, shares) per level touched into ``out_slot``/``out_size``,
    removes the shares from the ladder (our taker fills consume recorded
    liquidity until the data next sets that level) and keeps best bid/ask.
    Returns the number of levels filled.
    """
    n = 0
    left = want
    if book_side == BID:
        j = best[m, ASK]
        while left > 1e-12 and j <= limit_slot and j <= grid:
            avail = ladder[m, ASK, j]
            if avail > 0.0:
                take = avail if avail < left else left
                out_slot[n] = j
                out_size[n] = take
                n += 1
                left -= take
                ladder[m, ASK, j] = avail - take if avail - take > 1e-12 else 0.0
            if ladder[m, ASK, j] <= 0.0:
                j += 1
        best[m, ASK] = rescan_ask(ladder[m, ASK], j, grid)
    else:
        j = best[m, BID]
        while left > 1e-12 and j >= limit_slot and j >= 0:
            avail = ladder[m, BID, j]
            if avail > 0.0:
                take = avail if avail < left else left
                out_slot[n] = j
                out_size[n] = take
                n += 1
                left -= take
                ladder[m, BID, j] = avail - take if avail - take > 1e-12 else 0.0
            if ladder[m, BID, j] <= 0.0:
                j -= 1
        best[m, BID] = rescan_bid(ladder[m, BID], j)
    return n
