"""Replay a recorded stream through tick-indexed books and measure it.

One numba kernel walks a day's events in order, keeps a bid and an ask
ladder per asset (prices live in (0, 1), so a whole ladder is one array),
maintains best bid/ask incrementally and accumulates, per asset,
time-weighted spread and top-5 depth, and, per multi-outcome (neg-risk)
event group, the episodes in which the sum of the outcomes' YES best asks
is below 1. State carries over from day to day, so a week is replayed one
day at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.marketdata import Dataset, EventColumns
from sim.marketdata.schema import K_LEVEL, K_RESET, K_RESOLVED, K_SNAP

N_KINDS = 8  # EventKind values are 1..7; index 0 unused


def price_grid(ds: Dataset) -> int:
    """Ladder slots per unit price: 1,000 for ticks >= 0.001, else 10,000."""
    finest = min(m.tick_size for m in ds.markets) if ds.markets else 0.01
    return 10_000 if finest < 0.001 - 1e-12 else 1_000


@dataclass
class ReplayState:
    """Books and accumulators for every asset and group of one dataset."""

    grid: int
    bid: np.ndarray  # [asset, slot] shares
    ask: np.ndarray
    best_bid: np.ndarray  # slot, -1 when the side is empty
    best_ask: np.ndarray  # slot, grid + 1 when the side is empty
    last_ts: np.ndarray  # last exchange timestamp applied per asset
    events: np.ndarray  # [asset, kind] counts
    spread_ns: np.ndarray  # sum of spread (price) x time quoted on both sides
    depth_ns: np.ndarray  # sum of top-5 shares (both sides) x time
    quoted_ns: np.ndarray  # time with both sides present
    first_ts: np.ndarray
    group_members: np.ndarray  # [group, k] YES asset index, -1 padding
    group_of_asset: np.ndarray  # group index of a YES asset, -1 otherwise
    group_below: np.ndarray  # bool: currently below 1
    group_start: np.ndarray  # ns the current episode began
    group_episodes: np.ndarray
    group_below_ns: np.ndarray
    group_min_sum: np.ndarray

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
        ng = group_members.shape[0]
        return cls(
            grid=grid,
            bid=np.zeros((n, grid + 1)),
            ask=np.zeros((n, grid + 1)),
            best_bid=np.full(n, -1, dtype=np.int64),
            best_ask=np.full(n, grid + 1, dtype=np.int64),
            last_ts=np.zeros(n, dtype=np.int64),
            events=np.zeros((n, N_KINDS), dtype=np.int64),
            spread_ns=np.zeros(n),
            depth_ns=np.zeros(n),
            quoted_ns=np.zeros(n),
            first_ts=np.full(n, -1, dtype=np.int64),
            group_members=group_members,
            group_of_asset=group_of_asset,
            group_below=np.zeros(ng, dtype=np.bool_),
            group_start=np.zeros(ng, dtype=np.int64),
            group_episodes=np.zeros(ng, dtype=np.int64),
            group_below_ns=np.zeros(ng, dtype=np.int64),
            group_min_sum=np.full(ng, np.inf),
        )

    def replay(self, ev: EventColumns) -> None:
        _replay_kernel(
            ev.ts_exchange_ns,
            ev.asset,
            ev.kind,
            ev.side,
            ev.price,
            ev.size,
            self.grid,
            self.bid,
            self.ask,
            self.best_bid,
            self.best_ask,
            self.last_ts,
            self.events,
            self.spread_ns,
            self.depth_ns,
            self.quoted_ns,
            self.first_ts,
            self.group_members,
            self.group_of_asset,
            self.group_below,
            self.group_start,
            self.group_episodes,
            self.group_below_ns,
            self.group_min_sum,
        )


@njit(cache=True)
def _top_depth(ladder: np.ndarray, best: int, step: int, levels: int, grid: int) -> float:
    """Shares in the best ``levels`` occupied slots, walking from ``best`` by ``step``."""
    total = 0.0
    found = 0
    i = best
    while 0 <= i <= grid and found < levels:
        s = ladder[i]
        if s > 0.0:
            total += s
            found += 1
        i += step
    return total


@njit(cache=True)
def _replay_kernel(
    ts,
    asset,
    kind,
    side,
    price,
    size,
    grid,
    bid,
    ask,
    best_bid,
    best_ask,
    last_ts,
    events,
    spread_ns,
    depth_ns,
    quoted_ns,
    first_ts,
    group_members,
    group_of_asset,
    group_below,
    group_start,
    group_episodes,
    group_below_ns,
    group_min_sum,
):
    empty_ask = grid + 1
    for r in range(len(ts)):
        a = asset[r]
        k = kind[r]
        t = ts[r]
        if a < 0:
            continue  # connection rows carry no book
        events[a, k] += 1
        if first_ts[a] < 0:
            first_ts[a] = t
        # time-weight the state that held since this asset's previous event
        if best_bid[a] >= 0 and best_ask[a] <= grid and last_ts[a] > 0:
            dt = t - last_ts[a]
            spread_ns[a] += (best_ask[a] - best_bid[a]) / grid * dt
            quoted_ns[a] += dt
            depth_ns[a] += (
                _top_depth(bid[a], best_bid[a], -1, 5, grid)
                + _top_depth(ask[a], best_ask[a], 1, 5, grid)
            ) * dt
        last_ts[a] = t
        if k == K_RESET or k == K_RESOLVED:
            bid[a, :] = 0.0
            ask[a, :] = 0.0
            best_bid[a] = -1
            best_ask[a] = empty_ask
        elif k == K_SNAP or k == K_LEVEL:
            i = int(price[r] * grid + 0.5)
            s = size[r]
            if side[r] > 0:
                bid[a, i] = s
                if s > 0.0:
                    if i > best_bid[a]:
                        best_bid[a] = i
                elif i == best_bid[a]:
                    j = i - 1
                    while j >= 0 and bid[a, j] <= 0.0:
                        j -= 1
                    best_bid[a] = j
            else:
                ask[a, i] = s
                if s > 0.0:
                    if i < best_ask[a]:
                        best_ask[a] = i
                elif i == best_ask[a]:
                    j = i + 1
                    while j <= grid and ask[a, j] <= 0.0:
                        j += 1
                    best_ask[a] = j
        else:
            continue  # trades, tick changes: the book itself does not change
        g = group_of_asset[a]
        if g >= 0:
            total = 0.0
            complete = True
            for m in group_members[g]:
                if m < 0:
                    break
                if best_ask[m] > grid:
                    complete = False
                    break
                total += best_ask[m] / grid
            below = complete and total < 1.0 - 1e-9
            if complete and total < group_min_sum[g]:
                group_min_sum[g] = total
            if below and not group_below[g]:
                group_below[g] = True
                group_start[g] = t
                group_episodes[g] += 1
            elif not below and group_below[g]:
                group_below[g] = False
                group_below_ns[g] += t - group_start[g]
