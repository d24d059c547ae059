"""``clobsim data check``: every problem in a dataset, grouped by reason and counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.cli import main
from sim.marketdata import DatasetWriter, EventColumns, EventKind, asset_table, day_start_ns
from sim.marketdata.check import check_dataset
from sim.marketdata.dataset import events_to_table
from tests.helpers import DAY, make_market

K = EventKind
MARKETS = [make_market(0, 0.01), make_market(1, 0.01)]
ASSETS = asset_table(MARKETS)
T0 = day_start_ns(DAY)


def events(spec) -> EventColumns:
    """``spec``: (ts_exchange_ms, ts_recv_ms, asset, kind, side, price, size)."""
    arr = np.array(spec, dtype=float).reshape(-1, 7)
    return EventColumns.from_arrays(
        ASSETS,
        ts_exchange_ns=T0 + (arr[:, 0] * 1e6).astype(np.int64),
        ts_recv_ns=T0 + (arr[:, 1] * 1e6).astype(np.int64),
        seq=np.arange(len(arr)),
        asset=arr[:, 2],
        kind=arr[:, 3],
        side=arr[:, 4],
        price=arr[:, 5],
        size=arr[:, 6],
    )


def book(t_ex, t_rv, asset, bids, asks):
    rows = [(t_ex, t_rv, asset, K.BOOK_RESET, 0, 0.0, 0.0)]
    rows += [(t_ex, t_rv, asset, K.SNAPSHOT_LEVEL, 1, p, s) for p, s in bids]
    rows += [(t_ex, t_rv, asset, K.SNAPSHOT_LEVEL, -1, p, s) for p, s in asks]
    return rows


def mirror(levels):
    return [(round(1 - p, 2), s) for p, s in levels]


BIDS, ASKS = [(0.40, 100.0), (0.39, 50.0)], [(0.42, 30.0)]


def write_raw(root: Path, name: str, ev: EventColumns) -> Path:
    folder = root / "events" / f"date={DAY.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"market={name}.parquet"
    pq.write_table(events_to_table(ev), path)
    return path


def test_a_real_looking_feed_checks_clean_with_its_repairs_and_notes_counted(tmp_path) -> None:
    spec = []
    spec += book(1000, 1100, 0, BIDS, ASKS)
    spec += book(1000, 2800, 1, mirror(ASKS), mirror(BIDS))  # the NO book, 1.7 s later
    spec += [(1500, 2900, 0, K.TRADE, 1, 0.42, 10.0)]  # a YES print
    spec += [(1500, 2900, 1, K.TRADE, -1, 0.58, 10.0)]  # its mirror on NO
    spec += [(1600, 2950, 1, K.TRADE, 1, 0.61, 7.0)]  # independent NO flow
    spec += book(1470, 3000, 0, BIDS, [(0.42, 20.0)])  # trails the trade by 30 ms
    spec += book(1470, 3000, 1, mirror([(0.42, 25.0)]), mirror(BIDS))  # not a mirror
    spec += [(1700, 3100, 0, K.TRADE, 0, 0.42, 0.0)]  # a print without side and size
    spec += book(1800, 3200, 0, [(0.45, 5.0), (0.40, 0.0), (0.40, 3.0)], [(0.44, 5.0)])
    DatasetWriter(tmp_path, MARKETS).write_day(DAY, "m0", events(spec))
    found = check_dataset(tmp_path)
    assert found.ok, found.lines()
    assert found.counts("repair") == {
        "exchange_time_clamped": 8,  # the rows of the YES and NO book of the trailing update
        "mirrored_trade": 1,
        "trade_side_unknown": 1,
    }
    notes = found.counts("note")
    assert notes == {
        "snapshot_pair_mismatch": 1,
        "snapshot_pairs_apart": 1,
        "zero_size_level": 1,
        "duplicate_level": 1,
        "crossed_book": 1,
    }  # the last YES book has no NO partner: unpaired only counts NO books without a YES one
    apart = next(f for f in found.of("note") if f.reason == "snapshot_pairs_apart")
    assert "1.700 s apart" in apart.examples[0]


def test_every_error_in_every_file_is_reported_not_just_the_first(tmp_path) -> None:
    DatasetWriter(tmp_path, MARKETS)
    good = [(t, t + 5, 0, K.LEVEL_CHANGE, 1, 0.40, 10.0) for t in range(10)]
    bad = list(good)
    bad[2] = (2, 7, 0, K.LEVEL_CHANGE, 1, 0.405, 10.0)  # off tick
    bad[4] = (4, 9, 0, K.LEVEL_CHANGE, 1, 0.40, -1.0)  # negative size
    bad[5] = (5, 10, 0, K.LEVEL_CHANGE, 1, 0.407, 10.0)  # off tick again
    write_raw(tmp_path, "a", events(bad))
    ev = events(good)
    seq = ev.seq.copy()
    seq[7] = seq[6]
    table = events_to_table(ev)
    table = table.set_column(table.column_names.index("seq"), "seq", pa.array(seq))
    folder = tmp_path / "events" / f"date={DAY.isoformat()}"
    pq.write_table(table, folder / "market=b.parquet")
    (folder / "market=c.parquet").write_bytes(b"not parquet at all")
    found = check_dataset(tmp_path)
    assert not found.ok
    assert found.counts("error") == {
        "price_off_tick": 2,
        "negative_size": 1,
        "seq_not_increasing": 1,
        "corrupt_file": 1,
    }
    off = next(f for f in found.of("error") if f.reason == "price_off_tick")
    assert "market=a.parquet, row 2" in off.examples[0]
    assert found.files == 3


def test_cli_exit_codes_and_json(tmp_path, capsys) -> None:
    DatasetWriter(tmp_path / "ok", MARKETS).write_day(
        DAY, "m", events([(1, 2, 0, K.LEVEL_CHANGE, 1, 0.4, 1.0)])
    )
    assert (
        main(["-q", "data", "check", str(tmp_path / "ok"), "--json", str(tmp_path / "f.json")]) == 0
    )
    assert json.loads((tmp_path / "f.json").read_text())["ok"] is True
    DatasetWriter(tmp_path / "bad", MARKETS)
    write_raw(tmp_path / "bad", "m", events([(1, 2, 0, K.LEVEL_CHANGE, 1, 0.4, -1.0)]))
    assert main(["-q", "data", "check", str(tmp_path / "bad")]) == 1
    assert "negative_size: 1" in capsys.readouterr().out
    assert main(["-q", "data", "check", str(tmp_path / "nothing")]) == 1
    assert "not_a_dataset" in capsys.readouterr().out
