"""Moves of the exchange book against an order, made just before it is matched.

Both model other takers reaching the book during our order's entry latency:

* ``slippage_ticks = k``: the opposite-side levels within ``k`` ticks of the
  touch (and no further than the order's limit) are taken, so the order's
  marketable fills start at least ``k`` ticks worse than the touch it saw
  (exactly ``k`` when the book has a level there); if nothing is left within
  the limit the order is not marketable any more (a GTC/GTD rests, a FAK
  finds no match, a FOK is killed).
* ``fill_fraction = f``: of the shares the order would have taken (up to its
  size and limit), only ``f`` are left, at the best prices; the order fills
  that much and its remainder follows its type: GTC/GTD rest at the limit,
  FAK is cancelled, FOK is killed whole.

Once the order is matched the hidden shares come back (the competition was
momentary), unless the order rests: a GTC/GTD remainder at its limit would
cross them, so they stay gone until the data next sets those levels, as with
our own taker fills (``exchange_mock.clob``). The strategy's local book does
not show the move. Post-only orders, and orders that do not cross the book,
are left alone.
"""

from __future__ import annotations

import math

from exchange_mock.clob.engine import SimBook
from exchange_mock.clob.ladder import set_level, to_book, walk_depth
from exchange_mock.clob.state import ASK, BID
from sim.types import OrderRequest


def _levels(book: SimBook, m: int, taker_side: int, limit_slot: int) -> list[int]:
    """Occupied opposite-side slots the taker could reach, best first."""
    a, g = book.a, book.grid
    if taker_side == BID:
        row = a.ladder[m, ASK]
        return [j for j in range(int(a.best[m, ASK]), min(limit_slot, g) + 1) if row[j] > 0]
    row = a.ladder[m, BID]
    return [j for j in range(int(a.best[m, BID]), max(limit_slot, 0) - 1, -1) if row[j] > 0]


#: levels hidden by a move: (market, book side, slot, shares)
Hidden = list[tuple[int, int, int, float]]


def move_against(
    book: SimBook, order: OrderRequest, *, slippage_ticks: int = 0, fill_fraction: float = 1.0
) -> Hidden:
    """Hide liquidity from ``order`` as described above; return what was hidden (empty when
    the order was not marketable, so nothing happened)."""
    if order.post_only:
        return []
    a, g = book.a, book.grid
    ai = book.asset(order.asset_id)
    m = ai >> 1
    taker_side, limit_slot = to_book(ai & 1, int(order.side), float(order.price), g)
    other = ASK if taker_side == BID else BID
    slots = _levels(book, m, taker_side, limit_slot)
    hidden: Hidden = []
    if not slots:
        return hidden
    if slippage_ticks > 0:
        span = slippage_ticks * max(round(book.tick_size(m) * g), 1)
        for j in slots:
            if (j < slots[0] + span) if taker_side == BID else (j > slots[0] - span):
                hidden.append((m, other, j, float(set_level(a.ladder, a.best, m, other, j, 0.0,
                                                            g))))  # fmt: skip
        slots = _levels(book, m, taker_side, limit_slot)
    if fill_fraction < 1.0 and slots:
        depth = float(walk_depth(a.ladder, a.best, m, taker_side, limit_slot, g))
        keep = math.floor(fill_fraction * min(order.size_shares, depth) * 100 + 1e-9) / 100
        for j in slots:
            size = float(a.ladder[m, other, j])
            left = min(size, keep)
            keep -= left
            if left < size:
                hidden.append((m, other, j, size - left))
                set_level(a.ladder, a.best, m, other, j, float(left), g)
    return hidden


def restore(book: SimBook, hidden: Hidden) -> None:
    """Put hidden shares back on top of whatever the levels hold now."""
    a, g = book.a, book.grid
    for m, side, j, shares in reversed(hidden):
        set_level(a.ladder, a.best, m, side, j, float(a.ladder[m, side, j]) + shares, g)
