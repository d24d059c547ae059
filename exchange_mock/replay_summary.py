"""Per-market and per-group summary of a replayed dataset, as pandas DataFrames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from exchange_mock.replay_stats import ReplayState
from sim.marketdata import Dataset, EventKind


@dataclass(frozen=True)
class ReplaySummary:
    markets: pd.DataFrame  # one row per market
    groups: pd.DataFrame  # one row per multi-outcome event group
    days: list[dt.date]
    total_events: int


def summarize(
    ds: Dataset,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    on_day: Callable[[dt.date, int], None] | None = None,
) -> ReplaySummary:
    """Replay ``ds`` day by day and summarise it. ``on_day(day, rows)`` reports progress."""
    state = ReplayState.for_dataset(ds)
    days_seen = np.zeros((len(ds.assets),), dtype=np.int64)
    days: list[dt.date] = []
    total = 0
    for batch in ds.iter_days(start=start, end=end):
        ev = batch.events
        state.replay(ev)
        present = np.unique(ev.asset[ev.asset >= 0])
        days_seen[present] += 1
        days.append(batch.day)
        total += len(ev)
        if on_day is not None:
            on_day(batch.day, len(ev))
    st, grp = state.stats, state.groups
    rows = []
    for i, m in enumerate(ds.markets):
        y, n = 2 * i, 2 * i + 1
        ev_count = int(st.events[y].sum() + st.events[n].sum())
        if ev_count == 0:
            continue
        quoted = st.quoted_ns[y]
        rows.append(
            {
                "market": m.slug or m.condition_id,
                "category": m.category,
                "event_id": m.event_id,
                "events": ev_count,
                "trades": int(st.events[y, EventKind.TRADE] + st.events[n, EventKind.TRADE]),
                "days": int(max(days_seen[y], days_seen[n])),
                "first_ns": int(st.first_ts[y]),
                "last_ns": int(max(st.last_ts[y], st.last_ts[n])),
                "spread [¢]": (st.spread_ns[y] / quoted * 100) if quoted else np.nan,
                "top-5 depth [shares]": (st.depth_ns[y] / quoted) if quoted else np.nan,
                "resolution": m.resolution,
            }
        )
    markets = pd.DataFrame(rows)
    group_ids = list(dict.fromkeys(m.event_id for m in ds.markets if m.neg_risk and m.event_id))
    grows = []
    for g, event_id in enumerate(group_ids):
        members = [a for a in grp.members[g] if a >= 0]
        grows.append(
            {
                "event_id": event_id,
                "outcomes": len(members),
                "sum<1 episodes": int(grp.episodes[g]),
                "sum<1 time [s]": grp.below_ns[g] / 1e9,
                "min sum of YES asks": float(grp.min_sum[g])
                if np.isfinite(grp.min_sum[g])
                else np.nan,
            }
        )
    return ReplaySummary(markets, pd.DataFrame(grows), days, total)
