"""The validator rejects each kind of corrupt data with its own reason, file and row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import DataValidationError
from sim.marketdata import Dataset, DatasetWriter, EventColumns, asset_table, day_start_ns
from sim.marketdata.dataset import events_to_table
from tests.helpers import DAY, make_market

MARKETS = [make_market(0, 0.01), make_market(1, 0.001)]
ASSETS = asset_table(MARKETS)
N = 40


def valid_events() -> EventColumns:
    t0 = day_start_ns(DAY)
    i = np.arange(N)
    return EventColumns.from_arrays(
        ASSETS,
        ts_exchange_ns=t0 + i * 1000,
        ts_recv_ns=t0 + i * 1000 + 7,
        seq=i + 1,
        asset=i % 4,
        kind=np.full(N, 3),
        side=np.where(i % 2 == 0, 1, -1),
        price=np.where(i % 4 < 2, 0.42, 0.421),
        size=np.full(N, 25.0),
    )


def write_raw(root: Path, table: pa.Table) -> Path:
    """Write a dataset whose one event file holds ``table`` as-is (bypassing the writer)."""
    DatasetWriter(root, MARKETS)
    folder = root / "events" / f"date={DAY.isoformat()}"
    folder.mkdir(parents=True)
    path = folder / "market=x.parquet"
    pq.write_table(table, path)
    return path


def read_error(root: Path) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        list(Dataset.open(root).iter_days())
    return info.value


def with_column(table: pa.Table, name: str, values: np.ndarray) -> pa.Table:
    i = table.column_names.index(name)
    return table.set_column(i, table.schema.field(name), pa.array(values))


def test_valid_file_reads(tmp_path: Path) -> None:
    write_raw(tmp_path, events_to_table(valid_events()))
    (batch,) = Dataset.open(tmp_path).iter_days()
    assert batch.events.equals(valid_events())


@pytest.mark.parametrize("column", ["ts_recv_ns", "asset_id", "price", "seq"])
def test_missing_column(tmp_path: Path, column: str) -> None:
    path = write_raw(tmp_path, events_to_table(valid_events()).drop_columns([column]))
    err = read_error(tmp_path)
    assert (err.reason, err.path, err.row) == ("missing_column", str(path), None)
    assert repr(column) in str(err)


def test_wrong_type(tmp_path: Path) -> None:
    table = events_to_table(valid_events())
    i = table.column_names.index("price")
    table = table.set_column(i, "price", pa.array([str(p) for p in valid_events().price]))
    write_raw(tmp_path, table)
    err = read_error(tmp_path)
    assert err.reason == "wrong_type"
    assert "'price'" in str(err) and "string" in str(err)


@given(st.integers(1, N - 1))
def test_timestamps_going_backwards(row: int) -> None:
    import tempfile

    ev = valid_events()
    ts = ev.ts_recv_ns.copy()
    ts[row] = ts[row - 1] - 1
    with tempfile.TemporaryDirectory() as tmp:
        write_raw(Path(tmp), with_column(events_to_table(ev), "ts_recv_ns", ts))
        err = read_error(Path(tmp))
    assert (err.reason, err.row) == ("timestamp_backwards", row)


def test_exchange_time_stepping_back_is_repaired_and_counted_not_refused(tmp_path: Path) -> None:
    # Polymarket's book can trail the trade before it by ~30 ms: a feed it could have sent
    ev = valid_events()
    ts = ev.ts_exchange_ns.copy()
    ts[9] = ts[5] - 30_000_000  # rows 1, 5 and 9 are all asset 1
    write_raw(tmp_path, with_column(events_to_table(ev), "ts_exchange_ns", ts))
    ds = Dataset.open(tmp_path)
    (batch,) = ds.iter_days()
    assert batch.repairs == {"exchange_time_clamped": 1}
    assert ds.repairs["exchange_time_clamped"] == 1
    got = batch.events.ts_exchange_ns
    assert got[9] == ts[5]  # replayed at the asset's running maximum
    assert np.array_equal(np.delete(got, 9), np.delete(ts, 9))  # nothing else moved
    for a in range(4):  # every asset's replay clock is non-decreasing
        assert (np.diff(got[batch.events.asset == a]) >= 0).all()


def test_exchange_clock_carries_over_to_the_next_day(tmp_path: Path) -> None:
    writer = DatasetWriter(tmp_path, MARKETS)
    day1 = valid_events()
    writer.write_day(DAY, "x", day1)
    t0 = day_start_ns(DAY + dt.timedelta(days=1))
    late = int(day1.ts_exchange_ns[36])  # asset 0's last exchange time on day 1
    day2 = EventColumns.from_arrays(
        ASSETS, ts_exchange_ns=[late - 100, late + 10], ts_recv_ns=[t0 + 1, t0 + 2], seq=[100, 101],
        asset=[0, 0], kind=[3, 3], side=[1, 1], price=[0.42, 0.42], size=[1.0, 2.0],
    )  # fmt: skip
    writer.write_day(DAY + dt.timedelta(days=1), "x", day2)
    _, second = Dataset.open(tmp_path).iter_days()
    assert second.repairs == {"exchange_time_clamped": 1}
    assert second.events.ts_exchange_ns.tolist() == [day1.ts_exchange_ns[36], late + 10]


def test_a_timestamp_in_the_wrong_unit_is_refused(tmp_path: Path) -> None:
    ev = valid_events()
    ts = ev.ts_exchange_ns.copy()
    ts[6] = ts[6] // 1_000_000  # milliseconds stored as if they were nanoseconds
    write_raw(tmp_path, with_column(events_to_table(ev), "ts_exchange_ns", ts))
    err = read_error(tmp_path)
    assert (err.reason, err.row) == ("implausible_timestamp", 6)


def test_a_print_without_taker_side_reads(tmp_path: Path) -> None:
    ev = valid_events()
    kind, side = ev.kind.copy(), ev.side.copy()
    kind[2], side[2] = 4, 0  # a TRADE whose taker side the venue did not say
    table = events_to_table(ev)
    for name, arr in (("kind", kind), ("side", side)):
        i = table.column_names.index(name)
        table = table.set_column(
            i, table.schema.field(name), pa.array(arr, table.schema.field(name).type)
        )
    write_raw(tmp_path, table)
    (batch,) = Dataset.open(tmp_path).iter_days()
    assert batch.repairs == {"trade_side_unknown": 1}


@given(st.integers(0, N - 1), st.sampled_from([0.4255, 0.42001, 0.1234567]))
def test_price_off_tick(row: int, price: float) -> None:
    import tempfile

    ev = valid_events()
    prices = ev.price.copy()
    prices[row] = price
    with tempfile.TemporaryDirectory() as tmp:
        write_raw(Path(tmp), with_column(events_to_table(ev), "price", prices))
        err = read_error(Path(tmp))
    assert (err.reason, err.row) == ("price_off_tick", row)


def test_finer_price_is_valid_after_a_tick_size_change(tmp_path: Path) -> None:
    ev = valid_events()
    kind, price, size, side = ev.kind.copy(), ev.price.copy(), ev.size.copy(), ev.side.copy()
    kind[4], price[4], size[4], side[4] = 5, 0.001, 0.01, 0  # asset 0: tick 0.01 -> 0.001
    price[8] = 0.423  # asset 0 again, now on the finer tick
    table = events_to_table(ev)
    for name, arr in (("kind", kind), ("price", price), ("size", size), ("side", side)):
        table = table.set_column(
            table.column_names.index(name),
            table.schema.field(name),
            pa.array(arr, table.schema.field(name).type),
        )
    write_raw(tmp_path, table)
    (batch,) = Dataset.open(tmp_path).iter_days()
    assert batch.events.price[8] == 0.423


@given(st.integers(0, N - 1), st.sampled_from([-1.0, -1e-9, float("nan")]))
def test_negative_size(row: int, size: float) -> None:
    import tempfile

    ev = valid_events()
    sizes = ev.size.copy()
    sizes[row] = size
    with tempfile.TemporaryDirectory() as tmp:
        write_raw(Path(tmp), with_column(events_to_table(ev), "size", sizes))
        err = read_error(Path(tmp))
    assert (err.reason, err.row) == ("negative_size", row)


def test_unknown_asset(tmp_path: Path) -> None:
    ev = valid_events()
    ids = [ASSETS[a] for a in ev.asset]
    ids[13] = "999"
    table = events_to_table(ev)
    i = table.column_names.index("asset_id")
    table = table.set_column(i, table.schema.field("asset_id"), pa.array(ids).dictionary_encode())
    write_raw(tmp_path, table)
    err = read_error(tmp_path)
    assert (err.reason, err.row) == ("unknown_asset", 13)
    assert "'999'" in str(err)


def test_corrupt_parquet_file(tmp_path: Path) -> None:
    path = write_raw(tmp_path, events_to_table(valid_events()))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    err = read_error(tmp_path)
    assert (err.reason, err.path) == ("corrupt_file", str(path))


def test_writer_refuses_invalid_rows_and_writes_nothing(tmp_path: Path) -> None:
    ev = valid_events()
    sizes = ev.size.copy()
    sizes[3] = -5.0
    bad = EventColumns.from_arrays(
        ASSETS,
        **{
            **{
                k: getattr(ev, k)
                for k in ("ts_exchange_ns", "ts_recv_ns", "seq", "asset", "kind", "side", "price")
            },
            "size": sizes,
        },
    )
    writer = DatasetWriter(tmp_path, MARKETS)
    with pytest.raises(DataValidationError) as info:
        writer.write_day(DAY, "x", bad)
    assert (info.value.reason, info.value.row) == ("negative_size", 3)
    assert not list((tmp_path / "events").rglob("*.parquet"))


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError) as info:
        Dataset.open(tmp_path)
    assert info.value.reason == "not_a_dataset"
