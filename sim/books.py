"""The strategy's view of the books: built from rows at receive time, one ladder per asset.

The same books serve all three modes: the replay driver applies recorded rows
to them (backtest), the paper and live sessions apply the rows their
WebSocket feed produced. In a backtest the exchange-side book
(``exchange_mock.clob.SimBook``) moves at exchange timestamps and matches our
orders, while these books move at receive timestamps (plus any extra
market-data latency): what a strategy could have known. A strategy deciding
on them while its orders meet the exchange book is what makes latency cost
money in a backtest, as it does live.

``next_watched_row`` finds the next row the engine must deliver (a
subscribed asset's book or trade row, a tick change, a resolution, a
connection change); ``apply_local_until`` applies the rows before it up to a
time, so the caller can stop the clock exactly at each delivered row.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.events import BookSnapshot, LevelChange, MarketResolved, TickSizeChange, VenueEvent
from sim.marketdata.schema import (
    K_LEVEL,
    K_RESET,
    K_RESOLVED,
    K_SNAP,
    K_TICK,
    K_TRADE,
)
from sim.types import Side

BID = 0
ASK = 1


@njit(cache=True)
def set_level(ladder, best, a, bs, i, s, grid):
    """Set level ``i`` of side ``bs`` of asset ``a`` to ``s`` shares and keep its best
    price: the one ladder rule every book here follows (``apply_local_until`` inlines it,
    measured faster in its hot loop)."""
    ladder[a, bs, i] = s
    if bs == BID:
        if s > 0.0 and i > best[a, BID]:
            best[a, BID] = i
        elif s <= 0.0 and i == best[a, BID]:
            j = i - 1
            while j >= 0 and ladder[a, BID, j] <= 0.0:
                j -= 1
            best[a, BID] = j
    else:
        if s > 0.0 and i < best[a, ASK]:
            best[a, ASK] = i
        elif s <= 0.0 and i == best[a, ASK]:
            j = i + 1
            while j <= grid and ladder[a, ASK, j] <= 0.0:
                j += 1
            best[a, ASK] = j


@njit(cache=True)
def clear_levels(ladder, best, a, grid):
    ladder[a, BID, :] = 0.0
    ladder[a, ASK, :] = 0.0
    best[a, BID] = -1
    best[a, ASK] = grid + 1


@njit(cache=True)
def apply_one(asset, kind, side, price, size, r, ladder, best, tick, grid):
    """Apply row ``r`` whatever it is (the caller has decided to deliver it)."""
    a = asset[r]
    k = kind[r]
    if a < 0:
        return
    if k == K_TICK:
        tick[a] = price[r]
    elif k == K_RESET or k == K_RESOLVED:
        clear_levels(ladder, best, a, grid)
    elif k == K_LEVEL or k == K_SNAP:
        set_level(ladder, best, a, BID if side[r] > 0 else ASK, int(price[r] * grid + 0.5),
                  size[r], grid)  # fmt: skip


@njit(cache=True)
def apply_snapshot(ladder, best, a, bid_px, bid_sz, ask_px, ask_sz, grid):
    """Replace asset ``a``'s book with these levels (prices in (0, 1))."""
    clear_levels(ladder, best, a, grid)
    for k in range(len(bid_px)):
        set_level(ladder, best, a, BID, int(bid_px[k] * grid + 0.5), bid_sz[k], grid)
    for k in range(len(ask_px)):
        set_level(ladder, best, a, ASK, int(ask_px[k] * grid + 0.5), ask_sz[k], grid)


class LocalBooks:
    """Per-asset ladders at receive time, and the ``BookView`` for each asset."""

    def __init__(self, assets: tuple[str, ...], ticks: np.ndarray, grid: int) -> None:
        n = len(assets)
        self.assets = assets
        self.grid = grid
        self.ladder = np.zeros((n, 2, grid + 1))
        self.best = np.empty((n, 2), dtype=np.int64)
        self.best[:, BID] = -1
        self.best[:, ASK] = grid + 1
        self.tick = np.asarray(ticks, dtype=np.float64).copy()
        self.watch = np.zeros(n, dtype=np.bool_)
        self._index = {a: i for i, a in enumerate(assets)}
        self._views: dict[int, AssetBookView] = {}

    def index(self, asset_id: str) -> int:
        return self._index[asset_id]

    def view(self, asset_id: str) -> AssetBookView:
        i = self._index[asset_id]
        v = self._views.get(i)
        if v is None:
            v = self._views[i] = AssetBookView(self, i)
        return v

    # Python floats, not numpy scalars: strategies do arithmetic on them (numpy scalar
    # arithmetic and round() are several times slower)
    def best_bid(self, i: int) -> float | None:
        s = int(self.best[i, BID])
        return s / self.grid if s >= 0 else None

    def best_ask(self, i: int) -> float | None:
        s = int(self.best[i, ASK])
        return s / self.grid if s <= self.grid else None

    def levels(self, i: int, side: int, depth: int) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        row = self.ladder[i, side]
        if side == BID:
            j = int(self.best[i, BID])
            while j >= 0 and len(out) < depth:
                if row[j] > 0:
                    out.append((j / self.grid, float(row[j])))
                j -= 1
        else:
            j = int(self.best[i, ASK])
            while j <= self.grid and len(out) < depth:
                if row[j] > 0:
                    out.append((j / self.grid, float(row[j])))
                j += 1
        return out

    def mark(self, asset_id: str) -> float | None:
        """Mid when both sides are quoted, else the one side present, else None."""
        i = self._index[asset_id]
        b, a = self.best_bid(i), self.best_ask(i)
        if b is not None and a is not None:
            return (b + a) / 2
        return b if b is not None else a

    def apply_event(self, ev: VenueEvent) -> bool:
        """Apply a market event as a live feed parsed it (paper and live modes); True when
        it changed a book. Prices off this book's grid are rounded to the nearest slot;
        events of assets not in the table are not for these books (False)."""
        if isinstance(ev, MarketResolved):
            hit = False
            for asset_id in ev.asset_ids:
                i = self._index.get(asset_id)
                if i is not None:
                    clear_levels(self.ladder, self.best, i, self.grid)
                    hit = True
            return hit
        i = self._index.get(getattr(ev, "asset_id", ""))
        if i is None:
            return False
        if isinstance(ev, LevelChange):
            bs = BID if ev.side is Side.BUY else ASK
            set_level(self.ladder, self.best, i, bs, int(ev.price * self.grid + 0.5),
                      float(ev.size), self.grid)  # fmt: skip
        elif isinstance(ev, BookSnapshot):
            bids = np.array(ev.bids, dtype=np.float64).reshape(-1, 2)
            asks = np.array(ev.asks, dtype=np.float64).reshape(-1, 2)
            apply_snapshot(self.ladder, self.best, i, bids[:, 0], bids[:, 1], asks[:, 0],
                           asks[:, 1], self.grid)  # fmt: skip
            if ev.tick_size:
                self.tick[i] = ev.tick_size
        elif isinstance(ev, TickSizeChange):
            self.tick[i] = ev.new_tick_size
        else:
            return False
        return True


class AssetBookView:
    """``sim.strategy.BookView`` of one asset, read straight from the local ladders."""

    __slots__ = ("_books", "_i", "asset_id")

    def __init__(self, books: LocalBooks, i: int) -> None:
        self._books = books
        self._i = i
        self.asset_id = books.assets[i]

    @property
    def tick_size(self) -> float:
        return float(self._books.tick[self._i])

    @property
    def best_bid(self) -> float | None:
        return self._books.best_bid(self._i)

    @property
    def best_ask(self) -> float | None:
        return self._books.best_ask(self._i)

    def bids(self, depth: int = 10) -> list[tuple[float, float]]:
        return self._books.levels(self._i, BID, depth)

    def asks(self, depth: int = 10) -> list[tuple[float, float]]:
        return self._books.levels(self._i, ASK, depth)


@njit(cache=True)
def next_watched_row(asset, kind, start, end, watch):
    """Index of the first row in ``start:end`` the engine must see, or ``end``."""
    for r in range(start, end):
        a = asset[r]
        k = kind[r]
        if a < 0 or k == K_TICK or k == K_RESOLVED:
            return r
        if watch[a] and (k == K_LEVEL or k == K_TRADE or k == K_RESET or k == K_SNAP):
            return r
    return end


@njit(cache=True)
def apply_local_until(
    ts_recv, asset, kind, side, price, size, start, end, until_ns, extra_ns, ladder, best, grid
):  # fmt: skip
    """Apply rows ``start:end`` (none of them watched) up to receive time ``until_ns``."""
    for r in range(start, end):
        if ts_recv[r] + extra_ns > until_ns:
            return r
        a = asset[r]
        k = kind[r]
        if k == K_LEVEL or k == K_SNAP:
            i = int(price[r] * grid + 0.5)
            s = size[r]
            if side[r] > 0:
                ladder[a, BID, i] = s
                b = best[a, BID]
                if s > 0.0:
                    if i > b:
                        best[a, BID] = i
                elif i == b:
                    j = i - 1
                    while j >= 0 and ladder[a, BID, j] <= 0.0:
                        j -= 1
                    best[a, BID] = j
            else:
                ladder[a, ASK, i] = s
                b = best[a, ASK]
                if s > 0.0:
                    if i < b:
                        best[a, ASK] = i
                elif i == b:
                    j = i + 1
                    while j <= grid and ladder[a, ASK, j] <= 0.0:
                        j += 1
                    best[a, ASK] = j
        elif k == K_RESET:
            ladder[a, BID, :] = 0.0
            ladder[a, ASK, :] = 0.0
            best[a, BID] = -1
            best[a, ASK] = grid + 1
    return end
