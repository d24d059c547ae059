"""Writer -> reader round-trips any valid event stream exactly."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.marketdata import (
    SIDE_ASK,
    SIDE_BID,
    Dataset,
    DatasetWriter,
    EventColumns,
    EventKind,
    asset_table,
    day_start_ns,
)
from tests.helpers import DAY, make_market

MARKETS = [make_market(0, 0.01), make_market(1, 0.001)]
ASSETS = asset_table(MARKETS)
INITIAL_TICK = [0.01, 0.01, 0.001, 0.001]

row = st.tuples(
    st.integers(0, 5_000_000),  # gap to previous receive time, ns
    st.integers(-1, len(ASSETS) - 1),  # asset, -1 = connection row
    st.sampled_from([int(k) for k in EventKind]),
    st.booleans(),  # side: bid / ask
    st.integers(1, 10_000),  # price in ticks (clipped into (0, 1) below)
    st.floats(0, 1e9, allow_nan=False, allow_infinity=False),
)


def build_stream(rows: list[tuple]) -> EventColumns:
    """Turn arbitrary draws into a valid stream: sorted times, prices on the live tick."""
    tick = list(INITIAL_TICK)
    t = day_start_ns(DAY)
    cols: dict[str, list] = {
        k: []
        for k in ("ts_exchange_ns", "ts_recv_ns", "seq", "asset", "kind", "side", "price", "size")
    }
    for seq, (gap, asset, kind, bid, ticks, size) in enumerate(rows):
        t += gap
        if asset < 0:
            kind = int(EventKind.CONNECTION)
        elif kind == EventKind.CONNECTION:
            kind = int(EventKind.LEVEL_CHANGE)
        side, price = 0, 0.0
        if kind in (EventKind.SNAPSHOT_LEVEL, EventKind.LEVEL_CHANGE, EventKind.TRADE):
            n = round(1 / tick[asset])
            price = (1 + ticks % (n - 1)) * tick[asset]
            side = SIDE_BID if bid else SIDE_ASK
        elif kind == EventKind.TICK_SIZE:
            size, price = tick[asset], (0.001 if tick[asset] == 0.01 else 0.01)
            tick[asset] = price
        elif kind == EventKind.RESOLVED:
            price, size = float(bid), 0.0
        elif kind == EventKind.CONNECTION:
            side, size = int(bid), 0.0
        cols["ts_exchange_ns"].append(t - 1_000_000)
        cols["ts_recv_ns"].append(t)
        cols["seq"].append(seq * 3 + 1)
        cols["asset"].append(asset)
        cols["kind"].append(kind)
        cols["side"].append(side)
        cols["price"].append(price)
        cols["size"].append(size)
    return EventColumns.from_arrays(ASSETS, **cols)


@given(st.lists(row, min_size=0, max_size=300))
def test_write_then_read_is_exact(rows: list[tuple]) -> None:
    events = build_stream(rows)
    with tempfile.TemporaryDirectory() as tmp:
        writer = DatasetWriter(Path(tmp), MARKETS, {"source": "test"})
        writer.write_day(DAY, "all", events)
        ds = Dataset.open(tmp)
        assert ds.markets == MARKETS
        batches = list(ds.iter_days())
    assert len(batches) == 1
    assert batches[0].day == DAY
    assert batches[0].events.equals(events)


@given(st.lists(row, min_size=1, max_size=200), st.integers(0, 3))
def test_split_files_merge_back_in_receive_order(rows: list[tuple], cut_asset: int) -> None:
    """Rows spread over per-market files come back merged by (ts_recv_ns, seq)."""
    events = build_stream(rows)
    market_of_row = np.where(events.asset < 0, -1, events.asset // 2)
    with tempfile.TemporaryDirectory() as tmp:
        writer = DatasetWriter(Path(tmp), MARKETS)
        for m in (-1, 0, 1):
            part = events.take(np.flatnonzero(market_of_row == m))
            if len(part):
                writer.write_day(DAY, f"m{m + 1}", part)
        merged = next(Dataset.open(tmp).iter_days()).events
    expected = events.take(np.lexsort((events.seq, events.ts_recv_ns)))
    assert merged.equals(expected)


def test_iter_days_streams_one_day_at_a_time_and_filters_markets(tmp_path: Path) -> None:
    import datetime as dt

    writer = DatasetWriter(tmp_path, MARKETS)
    for d in range(3):
        day = DAY + dt.timedelta(days=d)
        t0 = day_start_ns(day)
        ev = EventColumns.from_arrays(
            ASSETS,
            ts_exchange_ns=[t0, t0 + 5],
            ts_recv_ns=[t0 + 1, t0 + 6],
            seq=[1, 2],
            asset=[0, 2],
            kind=[3, 3],
            side=[1, -1],
            price=[0.5, 0.123],
            size=[10.0, 0.0],
        )
        writer.write_day(day, "all", ev)
    ds = Dataset.open(tmp_path)
    assert ds.days() == [DAY + dt.timedelta(days=d) for d in range(3)]
    got = list(ds.iter_days(start=DAY + dt.timedelta(days=1), markets=["test-market-1"]))
    assert [b.day for b in got] == [DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=2)]
    for b in got:
        assert b.events.asset.tolist() == [2]
        assert b.events.price.tolist() == [0.123]


@given(st.lists(row, min_size=1, max_size=200), st.sampled_from(["test-market-0", "test-market-1"]))
def test_a_market_filter_reads_only_files_holding_that_market(rows: list[tuple], key: str) -> None:
    """Filtered days equal the unfiltered days with other markets' rows removed, and a
    file holding only other markets is never read (only its asset column is probed)."""
    events = build_stream(rows)
    market_of_row = np.where(events.asset < 0, -1, events.asset // 2)
    with tempfile.TemporaryDirectory() as tmp:
        writer = DatasetWriter(Path(tmp), MARKETS)
        for m in (-1, 0, 1):
            part = events.take(np.flatnonzero(market_of_row == m))
            if len(part):
                writer.write_day(DAY, f"m{m + 1}", part)
        ds = Dataset.open(tmp)
        read: list[str] = []
        real_read = ds.read_file

        def spy(path: Path, *args: object, **kwargs: object) -> EventColumns:
            read.append(path.name)
            return real_read(path, *args, **kwargs)

        ds.read_file = spy  # type: ignore[method-assign]
        wanted = int(key[-1])
        got = next(ds.iter_days(markets=[key])).events
    everything = events.take(np.lexsort((events.seq, events.ts_recv_ns)))
    keep = (everything.asset < 0) | (everything.asset // 2 == wanted)
    assert got.equals(everything.take(np.flatnonzero(keep)))
    other = f"market=m{2 - wanted}.parquet"
    assert other not in read
