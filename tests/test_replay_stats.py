"""The replay kernel keeps best bid/ask right and measures spread, depth and sum<1 episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from exchange_mock.replay_stats import ReplayState
from exchange_mock.replay_summary import summarize
from sim.marketdata import Dataset, DatasetWriter, EventColumns, EventKind, asset_table
from sim.marketdata import day_start_ns as day0
from tests.helpers import DAY, make_market

K = EventKind


def cols(assets, rows):
    t0 = day0(DAY)
    arr = np.array(rows, dtype=object)
    return EventColumns.from_arrays(
        assets,
        ts_exchange_ns=[t0 + r[0] for r in rows],
        ts_recv_ns=[t0 + r[0] for r in rows],
        seq=np.arange(1, len(rows) + 1),
        asset=arr[:, 1].astype(int),
        kind=arr[:, 2].astype(int),
        side=arr[:, 3].astype(int),
        price=arr[:, 4].astype(float),
        size=arr[:, 5].astype(float),
    )


def state_for(markets):
    ds = Dataset.__new__(Dataset)
    Dataset.__init__(ds, Path("."), markets, {})
    return ReplayState.for_dataset(ds)


@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(1, 99), st.sampled_from([0.0, 5.0, 40.0])),
        max_size=120,
    )
)
def test_best_bid_ask_match_a_brute_force_book(ops) -> None:
    markets = [make_market(0, 0.01)]
    assets = asset_table(markets)
    st_ = state_for(markets)
    book = {1: {}, -1: {}}
    rows = []
    for i, (is_bid, cents, size) in enumerate(ops):
        side = 1 if is_bid else -1
        rows.append((i + 1, 0, K.LEVEL_CHANGE, side, cents / 100, size))
    for _, _, _, side, price, size in rows:
        if size > 0:
            book[side][price] = size
        else:
            book[side].pop(price, None)
    if rows:
        st_.replay(cols(assets, rows))
    exp_bid = round(max(book[1]) * 1000) if book[1] else -1
    exp_ask = round(min(book[-1]) * 1000) if book[-1] else 1001
    assert st_.best_bid[0] == exp_bid
    assert st_.best_ask[0] == exp_ask


def test_time_weighted_spread_and_depth() -> None:
    markets = [make_market(0, 0.01)]
    assets = asset_table(markets)
    s = state_for(markets)
    s.replay(
        cols(
            assets,
            [
                (0, 0, K.BOOK_RESET, 0, 0.0, 0.0),
                (0, 0, K.SNAPSHOT_LEVEL, 1, 0.40, 100.0),
                (0, 0, K.SNAPSHOT_LEVEL, -1, 0.42, 50.0),
                (1_000, 0, K.LEVEL_CHANGE, -1, 0.41, 10.0),  # spread 0.02 for 1000 ns, then 0.01
                (3_000, 0, K.TRADE, 1, 0.41, 5.0),  # 2000 ns at spread 0.01
            ],
        )
    )
    acc = s.stats
    assert acc.quoted_ns[0] == 3_000
    assert np.isclose(acc.spread_ns[0] / acc.quoted_ns[0], (0.02 * 1000 + 0.01 * 2000) / 3000)
    assert np.isclose(acc.depth_ns[0] / acc.quoted_ns[0], (150 * 1000 + 160 * 2000) / 3000)
    assert acc.events[0, K.TRADE] == 1 and acc.events[0, K.SNAPSHOT_LEVEL] == 2


def test_group_sum_below_one_episodes(tmp_path: Path) -> None:
    markets = [make_market(i, 0.01, neg_risk=True, event_id="ev1") for i in range(3)]
    assets = asset_table(markets)
    rows = [
        (1, 0, K.LEVEL_CHANGE, -1, 0.40, 10.0),
        (2, 2, K.LEVEL_CHANGE, -1, 0.35, 10.0),
        (3, 4, K.LEVEL_CHANGE, -1, 0.30, 10.0),  # sum 1.05
        (10, 4, K.LEVEL_CHANGE, -1, 0.20, 10.0),  # sum 0.95: episode 1 starts
        (25, 4, K.LEVEL_CHANGE, -1, 0.20, 0.0),  # back to 0.30: sum 1.05, 15 ns below
        (40, 2, K.LEVEL_CHANGE, -1, 0.20, 5.0),  # sum 0.90: episode 2 starts
        (50, 2, K.LEVEL_CHANGE, -1, 0.20, 0.0),  # sum 1.05 again, 10 ns below
    ]
    w = DatasetWriter(tmp_path, markets)
    w.write_day(DAY, "ev1", cols(assets, rows))
    result = summarize(Dataset.open(tmp_path))
    (g,) = result.groups.to_dict("records")
    assert g["outcomes"] == 3
    assert g["sum<1 episodes"] == 2
    assert g["sum<1 time [s]"] == 25e-9
    assert np.isclose(g["min sum of YES asks"], 0.90)
    assert result.total_events == len(rows)
