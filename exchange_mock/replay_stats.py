"""Replay a recorded stream through tick-indexed books and measure it.

One numba kernel walks a day's events in order, keeps each asset's book as
the strategy's books do (``sim.books``: one ``ladder[asset, side, slot]``,
prices live in (0, 1), so a whole side is one row, and ``best[asset, side]``
kept by ``set_level``) and accumulates, per asset, time-weighted spread and
top-5 depth, and, per multi-outcome (neg-risk) event group, the episodes in
which the sum of the outcomes' YES best asks is below 1. State carries over
from day to day, so a week is replayed one day at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.books import ASK, BID, clear_levels, set_level
from sim.marketdata import Dataset, EventColumns
from sim.marketdata.schema import K_LEVEL, K_RESET, K_RESOLVED, K_SNAP

N_KINDS = 8  # EventKind values are 1..7; index 0 unused


def price_grid(ds: Dataset) -> int:
    """Ladder slots per unit price: 1,000 for ticks >= 0.001, else 10,000."""
    finest = min(m.tick_size for m in ds.markets) if ds.markets else 0.01
    return 10_000 if finest < 0.001 - 1e-12 else 1_000


class AssetStats(NamedTuple):
    """Per-asset accumulators (index: the dataset's asset)."""

    last_ts: np.ndarray  # last exchange timestamp applied
    events: np.ndarray  # [asset, kind] counts
    spread_ns: np.ndarray  # sum of spread (price) x time quoted on both sides
    depth_ns: np.ndarray  # sum of top-5 shares (both sides) x time
    quoted_ns: np.ndarray  # time with both sides present
    first_ts: np.ndarray  # first exchange timestamp, -1 before any

    @classmethod
    def zeros(cls, n: int) -> AssetStats:
        return cls(
            last_ts=np.zeros(n, dtype=np.int64),
            events=np.zeros((n, N_KINDS), dtype=np.int64),
            spread_ns=np.zeros(n),
            depth_ns=np.zeros(n),
            quoted_ns=np.zeros(n),
            first_ts=np.full(n, -1, dtype=np.int64),
        )


class GroupStats(NamedTuple):
    """Neg-risk event groups (index: group) and their sum<1 episodes."""

    members: np.ndarray  # [group, k] YES asset index, -1 padding
    of_asset: np.ndarray  # group index of a YES asset, -1 otherwise
    below: np.ndarray  # bool: currently below 1
    start: np.ndarray  # ns the current episode began
    episodes: np.ndarray
    below_ns: np.ndarray
    min_sum: np.ndarray

    @classmethod
    def zeros(cls, members: np.ndarray, of_asset: np.ndarray) -> GroupStats:
        ng = members.shape[0]
        return cls(
            members=members,
            of_asset=of_asset,
            below=np.zeros(ng, dtype=np.bool_),
            start=np.zeros(ng, dtype=np.int64),
            episodes=np.zeros(ng, dtype=np.int64),
            below_ns=np.zeros(ng, dtype=np.int64),
            min_sum=np.full(ng, np.inf),
        )


@dataclass
class ReplayState:
    """Books and accumulators for every asset and group of one dataset."""

    grid: int
    ladder: np.ndarray  # [asset, BID/ASK, slot] shares (``sim.books``)
    best: np.ndarray  # [asset, BID/ASK] slot; -1 / grid + 1 when the side is empty
    stats: AssetStats
    groups: GroupStats

    # one side of the books, as views: [asset, slot] shares and [asset] best slot
    @property
    def bid(self) -> np.ndarray:
        return self.ladder[:, BID]

    @property
    def ask(self) -> np.ndarray:
        return self.ladder[:, ASK]

    @property
    def best_bid(self) -> np.ndarray:
        return self.best[:, BID]

    @property
    def best_ask(self) -> np.ndarray:
        return self.best[:, ASK]

    @classmethod
    def for_dataset(cls, ds: Dataset) -> ReplayState:
        grid = price_grid(ds)
        n = len(ds.assets)
        groups: dict[str, list[int]] = {}
        for i, m in enumerate(ds.markets):
            if m.neg_risk and m.event_id:
                groups.setdefault(m.event_id, []).append(2 * i)
        width = max((len(v) for v in groups.values()), default=1)
        members = np.full((max(len(groups), 1), width), -1, dtype=np.int64)
        group_of = np.full(n, -1, dtype=np.int64)
        for g, assets in enumerate(groups.values()):
            members[g, : len(assets)] = assets
            group_of[assets] = g
        return cls.allocate(grid, n, members, group_of)

    @classmethod
    def allocate(
        cls, grid: int, n_assets: int, group_members: np.ndarray | None = None,
        group_of_asset: np.ndarray | None = None,
    ) -> ReplayState:  # fmt: skip
        """Empty books for ``n_assets`` on a ``grid``-slot ladder; no neg-risk group unless
        ``group_members`` / ``group_of_asset`` say so (as ``for_dataset`` builds them)."""
        n = n_assets
        if group_members is None:
            group_members = np.full((1, 1), -1, dtype=np.int64)
        if group_of_asset is None:
            group_of_asset = np.full(n, -1, dtype=np.int64)
        best = np.empty((n, 2), dtype=np.int64)
        best[:, BID] = -1
        best[:, ASK] = grid + 1
        return cls(
            grid=grid,
            ladder=np.zeros((n, 2, grid + 1)),
            best=best,
            stats=AssetStats.zeros(n),
            groups=GroupStats.zeros(group_members, group_of_asset),
        )

    def replay(self, ev: EventColumns) -> None:
        _replay_kernel(ev.ts_exchange_ns, ev.asset, ev.kind, ev.side, ev.price, ev.size,
                       self.ladder, self.best, self.stats, self.groups)  # fmt: skip


@njit(cache=True)
def _top_depth(ladder, a, bs, best, step, levels, grid):
    """Shares in the best ``levels`` occupied slots of side ``bs`` of asset ``a``, walking
    from slot ``best`` by ``step`` (indexes the ladder: no per-call view of a side)."""
    total = 0.0
    found = 0
    i = best
    while 0 <= i <= grid and found < levels:
        s = ladder[a, bs, i]
        if s > 0.0:
            total += s
            found += 1
        i += step
    return total


@njit(cache=True)
def _replay_kernel(ts, asset, kind, side, price, size, ladder, best, stats, groups):
    """Apply rows ``ts``/``asset``/... to ``ladder``/``best`` (``sim.books``), accumulating
    into ``stats`` (``AssetStats``) and ``groups`` (``GroupStats``).

    ``set_level`` is called with a constant side: so LLVM inlines it (measured; with the
    side as a variable it stays a call, ~20 % slower here)."""
    grid = ladder.shape[2] - 1
    for r in range(len(ts)):
        a = asset[r]
        k = kind[r]
        t = ts[r]
        if a < 0:
            continue  # connection rows carry no book
        stats.events[a, k] += 1
        if stats.first_ts[a] < 0:
            stats.first_ts[a] = t
        # time-weight the state that held since this asset's previous event
        b, o = best[a, BID], best[a, ASK]
        if b >= 0 and o <= grid and stats.last_ts[a] > 0:
            dt = t - stats.last_ts[a]
            stats.spread_ns[a] += (o - b) / grid * dt
            stats.quoted_ns[a] += dt
            top = _top_depth(ladder, a, BID, b, -1, 5, grid)
            top += _top_depth(ladder, a, ASK, o, 1, 5, grid)
            stats.depth_ns[a] += top * dt
        stats.last_ts[a] = t
        if k == K_RESET or k == K_RESOLVED:
            clear_levels(ladder, best, a, grid)
        elif k == K_SNAP or k == K_LEVEL:
            i = int(price[r] * grid + 0.5)
            if side[r] > 0:
                set_level(ladder, best, a, BID, i, size[r], grid)
            else:
                set_level(ladder, best, a, ASK, i, size[r], grid)
        else:
            continue  # trades, tick changes: the book itself does not change
        g = groups.of_asset[a]
        if g < 0:
            continue
        # this group's sum of YES best asks, and its sum<1 episode
        total = 0.0
        complete = True
        for m in groups.members[g]:
            if m < 0:
                break
            if best[m, ASK] > grid:
                complete = False
                break
            total += best[m, ASK] / grid
        below = complete and total < 1.0 - 1e-9
        if complete and total < groups.min_sum[g]:
            groups.min_sum[g] = total
        if below and not groups.below[g]:
            groups.below[g] = True
            groups.start[g] = t
            groups.episodes[g] += 1
        elif not below and groups.below[g]:
            groups.below[g] = False
            groups.below_ns[g] += t - groups.start[g]
