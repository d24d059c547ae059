"""Capture (raw market-channel frames, JSON lines) + Gamma JSON -> Parquet dataset.

``live.capture`` (format), ``live.gamma`` (metadata), ``live.capture_import``
(the import). Fixtures: ``tests/fixtures/capture/`` (README.md there).
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live.capture import (
    BadLine,
    CaptureConnection,
    CaptureFrame,
    CaptureWriter,
    read_capture,
)
from live.capture_import import ImportReport, import_capture
from live.gamma import load_gamma_markets, load_markets, market_from_gamma
from live.market_messages import MarketFrameParser
from sim.errors import DataValidationError
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata import Dataset, EventKind, day_start_ns
from sim.marketdata.from_events import rows_to_events
from sim.types import MarketInfo, Side

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "capture"
GAMMA = FIXTURES / "gamma_markets.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"

BTC = "0x69b7aedf2a57d711f9224cb433e56bdde784538e9555fbad701aa728ec5cf78f"
BTC_UP = "84831569838904791218418410612741109617111478451809583542668714941306103289877"
BTC_DOWN = "70289393152762927290909742986664820310412834280653190642870797128823495563834"
ETH = "0xf25fec4dbcf5e3d10e21b243ef4edea8eda47a16f039d7921395f4bc6b526d63"
ETH_UP = "44697759479775338187663519447233238784453408493293963121470703867984107996767"
ETH_DOWN = "58779037936359736878735448308899987843205457151222287948948646287649138019356"
OTHER = "0x9ede68b306ddc62d21b8bed69e9f8ceab8feff2bc5d290aa2cb957593172d6e0"
OTHER_YES = "71405762080559200205436812523477291210956339650809167716621739488709198395495"
OTHER_NO = "25512958672545459211993317042224031284754984290383242884213179815384123752886"
BTC_SLUG = "btc-updown-15m-1768485600"
ETH_SLUG = "eth-updown-15m-1768485600"

DAY = dt.date(2026, 1, 15)
MIDNIGHT_MS = day_start_ns(dt.date(2026, 1, 16)) // 1_000_000


# -- frame builders (field names as Polymarket sends them) ------------------------------------


def book(
    asset: str,
    ts_ms: int,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    market: str = BTC,
    tick: str | None = "0.01",
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "event_type": "book",
        "market": market,
        "asset_id": asset,
        "timestamp": str(ts_ms),
        "hash": "9f1c",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
    }
    if tick is not None:
        msg["tick_size"] = tick
    return msg


def price_change(ts_ms: int, *changes: tuple[str, str, str, str], market: str = BTC) -> dict:
    return {
        "event_type": "price_change",
        "market": market,
        "timestamp": str(ts_ms),
        "price_changes": [
            {"asset_id": a, "price": p, "size": s, "side": side, "hash": "77ab"}
            for a, p, s, side in changes
        ],
    }


def trade(asset: str, ts_ms: int, price: str, side: str, size: str, market: str = BTC) -> dict:
    return {
        "event_type": "last_trade_price",
        "asset_id": asset,
        "market": market,
        "price": price,
        "side": side,
        "size": size,
        "fee_rate_bps": "0",
        "timestamp": str(ts_ms),
    }


def tick_change(asset: str, ts_ms: int, old: str, new: str, market: str = ETH) -> dict:
    return {
        "event_type": "tick_size_change",
        "asset_id": asset,
        "market": market,
        "old_tick_size": old,
        "new_tick_size": new,
        "timestamp": str(ts_ms),
    }


def resolved(market: str, yes: str, no: str, winner: str, ts_ms: int) -> dict:
    return {
        "event_type": "market_resolved",
        "id": "1301790",
        "market": market,
        "assets_ids": [yes, no],
        "winning_asset_id": winner,
        "winning_outcome": "Up" if winner == yes else "Down",
        "timestamp": str(ts_ms),
        "tags": ["crypto"],
    }


def btc_books(ts_ms: int) -> list[dict]:
    up = book(BTC_UP, ts_ms, [("0.49", "250"), ("0.5", "310")], [("0.52", "200"), ("0.51", "150")])
    down = book(
        BTC_DOWN, ts_ms, [("0.48", "200"), ("0.49", "150")], [("0.51", "250"), ("0.5", "310")]
    )
    return [up, down]


def ns(ts_ms: int, latency_ms: int = 9) -> int:
    return (ts_ms + latency_ms) * 1_000_000


def write_capture(path: Path, records: list[tuple]) -> Path:
    """records: ("frame", recv_ns, frame-object-or-text) / ("conn", recv_ns, connected, reason)."""
    with CaptureWriter(path) as w:
        for rec in records:
            if rec[0] == "frame":
                text = rec[2] if isinstance(rec[2], str) else json.dumps(rec[2])
                w.frame(text, rec[1])
            else:
                w.connection(rec[2], rec[3], rec[1])
    return path


def run(capture: Path, out: Path, markets: list[Path] | None = None) -> ImportReport:
    return import_capture(capture, markets or [GAMMA], out)


# -- replaying into dict books ------------------------------------------------------------------

Books = dict[str, tuple[dict[float, float], dict[float, float]]]


def apply(books: Books, ev: MarketEvent) -> None:
    if isinstance(ev, BookSnapshot):
        books[ev.asset_id] = (dict(ev.bids), dict(ev.asks))
    elif isinstance(ev, LevelChange):
        side = books.setdefault(ev.asset_id, ({}, {}))[0 if ev.side is Side.BUY else 1]
        if ev.size == 0.0:
            side.pop(ev.price, None)
        else:
            side[ev.price] = ev.size
    elif isinstance(ev, ConnectionState) and not ev.connected:
        books.clear()  # the book is unknown until the fresh snapshots


def norm(ev: MarketEvent) -> tuple | None:
    """What the Parquet format keeps of an event (``rows_to_events`` is lossy elsewhere)."""
    if isinstance(ev, BookSnapshot):
        return ("book", ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.bids, ev.asks)
    if isinstance(ev, LevelChange | TradePrint):
        kind = "change" if isinstance(ev, LevelChange) else "trade"
        return (kind, ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.side, ev.price, ev.size)
    if isinstance(ev, TickSizeChange):
        return ("tick", ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.old_tick_size,
                ev.new_tick_size)  # fmt: skip
    if isinstance(ev, MarketResolved):
        assets = tuple(sorted(ev.asset_ids))
        return ("resolved", ev.ts_exchange_ns, ev.ts_recv_ns, ev.market, assets,
                ev.winning_asset_id)  # fmt: skip
    if isinstance(ev, ConnectionState):
        return ("connection", ev.ts_recv_ns, ev.connected)
    assert isinstance(ev, BestBidAsk)
    return None  # not stored: derivable from the book


def direct_events(capture: Path) -> list[MarketEvent]:
    """The parser's own events, straight from the capture (sorted by receive time)."""
    parser = MarketFrameParser()
    records = [r for r in read_capture(capture) if not isinstance(r, BadLine)]
    records.sort(key=lambda r: r.recv_ns)
    out: list[MarketEvent] = []
    for rec in records:
        if isinstance(rec, CaptureConnection):
            out.append(ConnectionState(rec.recv_ns, rec.recv_ns, rec.connected, rec.reason))
        else:
            out.extend(parser.parse(rec.frame, rec.recv_ns))
    return out


def imported_events(out: Path) -> tuple[Dataset, list[MarketEvent]]:
    ds = Dataset.open(out)
    events: list[MarketEvent] = []
    for batch in ds.iter_days():
        events += rows_to_events(batch.events, ds.markets)
    return ds, events


def replay(events: list[MarketEvent]) -> Books:
    books: Books = {}
    for ev in events:
        apply(books, ev)
    return books


def all_rows(ds: Dataset) -> dict[str, np.ndarray]:
    """Every file's rows concatenated in file order (days in order), plus a file index."""
    cols: dict[str, list[np.ndarray]] = {}
    for day in ds.days():
        for f in ds.day_files(day):
            part = ds.read_file(f)
            for name in ("seq", "ts_recv_ns", "kind", "side", "price", "size", "asset"):
                cols.setdefault(name, []).append(getattr(part, name))
    return {k: np.concatenate(v) for k, v in cols.items()}


# -- round trip ---------------------------------------------------------------------------------


def test_roundtrip_fixture_covers_every_message_kind() -> None:
    """The round-trip capture holds what the round-trip test claims to exercise."""
    events = direct_events(FIXTURES / "roundtrip.jsonl")
    books = {e.asset_id for e in events if isinstance(e, BookSnapshot)}
    assert books == {BTC_UP, BTC_DOWN, ETH_UP, ETH_DOWN}
    changes = [e for e in events if isinstance(e, LevelChange)]
    assert {BTC_UP, BTC_DOWN} <= {e.asset_id for e in changes}
    assert any(e.size == 0.0 for e in changes)  # a level removed
    assert {BTC_UP, BTC_DOWN} <= {e.asset_id for e in events if isinstance(e, TradePrint)}
    assert any(isinstance(e, TickSizeChange) for e in events)
    assert [e.connected for e in events if isinstance(e, ConnectionState)] == [True, False, True]
    drop = next(
        i for i, e in enumerate(events) if isinstance(e, ConnectionState) and not e.connected
    )
    assert {e.asset_id for e in events[drop:] if isinstance(e, BookSnapshot)} == books
    assert any(isinstance(e, MarketResolved) for e in events)
    assert any(isinstance(e, BestBidAsk) for e in events)


def test_roundtrip_books_equal_direct_parse(tmp_path: Path) -> None:
    capture = FIXTURES / "roundtrip.jsonl"
    out = tmp_path / "ds"
    report = run(capture, out)
    assert report.ok, report.lines()
    assert (report.frames, report.connection_changes, report.keepalives) == (14, 3, 0)
    assert report.rejected == {} and report.ignored == {} and report.capture_issues == {}
    assert report.days == (DAY,)

    direct = direct_events(capture)
    ds, imported = imported_events(out)
    assert ds.markets == load_markets([GAMMA])
    # the same events, in the same order, as far as the format keeps them
    assert [n for n in map(norm, imported)] == [n for n in map(norm, direct) if n is not None]
    final = replay(imported)
    assert final == replay(direct)
    # and the books are not trivially equal: the last snapshot plus the trades' changes
    assert final[ETH_UP] == ({0.97: 500.0, 0.981: 40.0}, {0.999: 9000.0})
    assert final[BTC_UP] == ({0.5: 380.0, 0.51: 60.0}, {0.54: 300.0, 0.53: 75.0})
    assert sum(len(b) + len(a) for b, a in final.values()) == 4 + 4 + 3 + 3

    rows = all_rows(ds)
    assert report.rows == len(rows["seq"]) == 65
    assert sorted(rows["seq"].tolist()) == list(range(65))  # one seq per row, dataset-wide
    names = sorted(p.name for p in report.files)
    assert names == ["market=_feed.parquet", f"market={BTC_SLUG}.parquet",
                     f"market={ETH_SLUG}.parquet"]  # fmt: skip


def test_gzip_capture_imports_the_same_rows(tmp_path: Path) -> None:
    plain = FIXTURES / "roundtrip.jsonl"
    packed = tmp_path / "roundtrip.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a = run(plain, tmp_path / "a")
    b = run(packed, tmp_path / "b")
    assert a.rows == b.rows == 65
    for fa, fb in zip(a.files, b.files, strict=True):
        ta, tb = Dataset.open(a.out).read_file(fa), Dataset.open(b.out).read_file(fb)
        assert ta.equals(tb)


# -- every real-feed case ---------------------------------------------------------------------


def test_every_case_counts_per_reason(tmp_path: Path) -> None:
    """tests/fixtures/capture/every_case.jsonl, cases (a)-(l) of its README."""
    report = run(FIXTURES / "every_case.jsonl", tmp_path / "ds")
    assert report.capture_lines == 23
    assert report.frames == 20
    assert report.keepalives == 1  # (k)
    assert report.connection_changes == 3
    assert report.capture_issues == {}
    assert report.rejected == {
        "user_channel_message": 1,  # (g)
        "implausible_timestamp": 1,  # (h)
        "bad_number": 1,  # (l) the print with price "0.97.5"
        "missing_field": 1,  # (l) the book without asset_id
    }
    assert report.notes == {
        "entry_missing_size": 1,  # (d)
        "trade_missing_side": 1,  # (e)
        "trade_missing_size": 1,  # (e)
        "duplicate_level": 1,  # (i)
        "zero_size_level": 1,  # (i)
        "crossed_book": 1,  # (i)
    }
    assert report.ignored == {"unknown_market": 1}  # (j)
    assert report.messages == 24
    assert report.events == 27
    assert report.rows == 77
    assert report.ok, report.lines()
    by_reason = {r: n for n, r, _ in report.examples}
    assert by_reason == {"user_channel_message": 13, "implausible_timestamp": 14,
                         "bad_number": 16, "missing_field": 16}  # fmt: skip

    ds = Dataset.open(report.out)
    rows = all_rows(ds)
    btc_up = ds.asset_index[BTC_UP]
    trade_rows = (rows["kind"] == EventKind.TRADE) & (rows["asset"] == btc_up)
    # (e) the print without side/size is kept as side 0, size 0 (the format's "unknown")
    assert ((rows["side"] == 0) & trade_rows).sum() == 1
    # (f) the flat 2024 price_change is a level change at 0.48 x 95 on the bid side
    flat = (rows["kind"] == EventKind.LEVEL_CHANGE) & (rows["asset"] == btc_up)
    assert (
        (rows["price"] == 0.48) & (rows["size"] == 95.0) & (rows["side"] == 1) & flat
    ).sum() == 1
    # (c) two NO prints, neither the mirror of the YES print
    no_trades = (rows["kind"] == EventKind.TRADE) & (rows["asset"] == ds.asset_index[BTC_DOWN])
    assert sorted(zip(rows["price"][no_trades].tolist(), rows["size"][no_trades].tolist(),
                      strict=True)) == [(0.47, 12.5), (0.48, 7.0)]  # fmt: skip
    # (j) only the BTC resolution was written
    assert (rows["kind"] == EventKind.RESOLVED).sum() == 2
    # (a) the book stamped 30 ms before the print is stored as sent; replay clamps it
    (batch,) = list(ds.iter_days())
    assert len(batch.events) == 77
    assert batch.repairs.get("exchange_time_clamped", 0) > 0
    assert batch.repairs.get("mirrored_trade", 0) == 0


# -- bad input ------------------------------------------------------------------------------------


def test_bad_lines_are_counted_with_line_numbers_and_import_goes_on(tmp_path: Path) -> None:
    t = 1768485600000
    good = write_capture(tmp_path / "good.jsonl", [("frame", ns(t), btc_books(t))])
    lines = good.read_text().splitlines()
    lines += [
        "this is not json",  # 2
        "",  # 3: blank lines are skipped, not counted
        json.dumps({"frame": json.dumps(trade(BTC_UP, t + 5, "0.51", "BUY", "5"))}),  # 4
        json.dumps({"recv_ns": str(ns(t + 6)), "frame": "{}"}),  # 5: recv_ns not an int
        json.dumps([1, 2]),  # 6
        json.dumps({"recv_ns": ns(t + 7), "connection": "maybe"}),  # 7
        json.dumps({"recv_ns": ns(t + 8), "frame": trade(BTC_UP, t + 8, "0.51", "SELL", "7")}),
    ]
    capture = tmp_path / "c.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    report = run(capture, tmp_path / "ds")
    assert report.capture_issues == {"bad_capture_line": 5}
    assert [n for n, _, _ in report.bad_lines] == [2, 4, 5, 6, 7]
    assert "recv_ns is missing" in report.bad_lines[1][2]
    assert report.capture_lines == 8
    assert report.frames == 2  # the first line and the last (a decoded object in "frame")
    assert report.rows == 1 + 4 + 1 + 4 + 1  # two books, then the print after the bad lines
    assert not report.ok  # corrupt lines: the data is written, the exit status says so
    assert any("bad_capture_line" in line and "5" in line for line in report.lines())
    assert report.lines()[-1].startswith("result: NOT OK")


def test_last_line_cut_short_is_expected_wear(tmp_path: Path) -> None:
    t = 1768485600000
    capture = write_capture(tmp_path / "c.jsonl", [("frame", ns(t), btc_books(t))])
    with capture.open("a") as f:
        f.write('{"recv_ns": 1768485600020000000, "frame": "{\\"event_type\\": \\"bo')
    report = run(capture, tmp_path / "ds")
    assert report.capture_issues == {"truncated_last_line": 1}
    assert report.ok


def test_truncated_gzip_keeps_what_was_flushed(tmp_path: Path) -> None:
    t = 1768485600000
    path = tmp_path / "c.jsonl.gz"
    w = CaptureWriter(path)
    for i in range(50):
        w.frame(json.dumps(trade(BTC_UP, t + i, "0.51", "BUY", "5")), ns(t + i))
    w.flush(fsync=True)  # what a recorder killed right now leaves: no gzip trailer
    size = path.stat().st_size
    w.close()
    path.write_bytes(path.read_bytes()[:size])
    report = run(path, tmp_path / "ds")
    assert report.capture_issues == {"truncated_gzip": 1}
    assert report.rows == 50
    assert report.ok


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (bytes(range(256)) * 40, "binary data"),
        (b"\x28\xb5\x2f\xfd" + os.urandom(200), "zstd"),
        (b"\x1f\x8b\x08\x00" + os.urandom(300), "gzip"),
        (b"PK\x03\x04" + os.urandom(100), "zip"),
        (b"date,price\n2026-01-15,0.5\n2026-01-16,0.6\n", "none of its 3 lines"),
    ],
    ids=["random-bytes", "zstd", "corrupt-gzip", "zip", "csv"],
)
def test_garbage_capture_is_a_clear_error(tmp_path: Path, content: bytes, words: str) -> None:
    capture = tmp_path / "c.jsonl"
    capture.write_bytes(content)
    out = tmp_path / "ds"
    with pytest.raises(DataValidationError) as info:
        run(capture, out)
    assert info.value.reason == "corrupt_capture"
    assert info.value.path == str(capture)
    assert words in str(info.value)
    assert not out.exists()  # nothing left behind


def test_occupied_output_folder_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        run(FIXTURES / "roundtrip.jsonl", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_rows_the_writer_refuses_leave_nothing_behind(tmp_path: Path) -> None:
    t = 1768485600000
    off_tick = book(BTC_UP, t, [("0.505", "10")], [("0.52", "10")], tick=None)
    capture = write_capture(tmp_path / "c.jsonl", [("frame", ns(t), off_tick)])
    out = tmp_path / "ds"
    out.mkdir()  # an existing empty folder is fine, and stays
    with pytest.raises(DataValidationError) as info:
        run(capture, out)
    assert info.value.reason == "price_off_tick"
    assert list(out.iterdir()) == []


def test_no_rows_is_not_ok(tmp_path: Path) -> None:
    capture = write_capture(tmp_path / "c.jsonl", [("frame", ns(1768485600000), "PONG")])
    report = run(capture, tmp_path / "ds")
    assert (report.keepalives, report.rows, report.ok) == (1, 0, False)
    assert report.lines()[-1] == "result: NOT OK: no rows written"


# -- receive order ---------------------------------------------------------------------------------


def _ordered_records(t: int) -> list[tuple]:
    return [
        ("conn", ns(t - 100, 0), True, "subscribed"),
        ("frame", ns(t), btc_books(t)),
        ("frame", ns(t + 10), price_change(t + 10, (BTC_UP, "0.5", "100", "BUY"),
                                          (BTC_DOWN, "0.5", "100", "SELL"))),
        ("frame", ns(t + 20), trade(BTC_UP, t + 20, "0.51", "BUY", "30")),
        ("frame", ns(t + 30), price_change(t + 30, (BTC_UP, "0.51", "120", "SELL"),
                                           (BTC_DOWN, "0.49", "120", "BUY"))),
        ("frame", ns(t + 40), price_change(t + 40, (BTC_UP, "0.49", "0", "BUY"),
                                           (BTC_DOWN, "0.51", "0", "SELL"))),
    ]  # fmt: skip


def test_recv_out_of_order_is_sorted_and_counted(tmp_path: Path) -> None:
    t = 1768485600000
    ordered = _ordered_records(t)
    shuffled = [ordered[0], ordered[1], ordered[3], ordered[2], ordered[5], ordered[4]]
    a = run(write_capture(tmp_path / "a.jsonl", ordered), tmp_path / "a")
    b = run(write_capture(tmp_path / "b.jsonl", shuffled), tmp_path / "b")
    assert a.capture_issues == {}
    assert b.capture_issues == {"recv_out_of_order": 2}
    assert b.ok and not b.sorted_passes
    rows = all_rows(Dataset.open(b.out))
    assert (np.diff(rows["seq"]) > 0).all()
    _, ea = imported_events(a.out)
    _, eb = imported_events(b.out)
    assert list(map(norm, ea)) == list(map(norm, eb))


def test_lines_far_out_of_order_across_midnight_take_the_exact_mode(tmp_path: Path) -> None:
    t = MIDNIGHT_MS - 2_000
    late = ("frame", ns(t + 900), trade(BTC_UP, t + 900, "0.51", "BUY", "3"))
    records = [
        ("frame", ns(t), btc_books(t)),
        ("frame", ns(t + 3_000), trade(BTC_UP, t + 3_000, "0.5", "SELL", "4")),  # day 2
        ("frame", ns(t + 600_000), trade(BTC_UP, t + 600_000, "0.51", "BUY", "6")),  # 10 min
        late,  # day 1 again, after day 1 was written
    ]
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds")
    assert report.sorted_passes
    assert report.capture_issues == {"recv_out_of_order": 1}
    assert report.days == (DAY, DAY + dt.timedelta(days=1))
    ds, events = imported_events(report.out)
    trades = [(e.ts_recv_ns, e.size) for e in events if isinstance(e, TradePrint)]
    assert trades == [(late[1], 3.0), (ns(t + 3_000), 4.0), (ns(t + 600_000), 6.0)]
    rows = all_rows(ds)
    assert rows["seq"].tolist() == list(range(len(rows["seq"])))
    assert any("once per day" in line for line in report.lines())


# -- markets outside the Gamma files -----------------------------------------------------------


def test_resolution_of_an_unknown_market_does_not_cost_the_batch(tmp_path: Path) -> None:
    t = 1768485600000
    frame = [
        resolved(OTHER, OTHER_YES, OTHER_NO, OTHER_YES, t),
        trade(BTC_UP, t, "0.51", "BUY", "9"),
        trade(OTHER_NO, t, "0.2", "BUY", "9", market=OTHER),
        resolved(BTC, BTC_UP, BTC_DOWN, BTC_DOWN, t + 1),
    ]
    report = run(write_capture(tmp_path / "c.jsonl", [("frame", ns(t), frame)]), tmp_path / "ds")
    assert report.ignored == {"unknown_market": 1, "unknown_asset": 1}
    assert report.rows == 1 + 2
    _, events = imported_events(report.out)
    assert [type(e) for e in events] == [TradePrint, MarketResolved]
    assert events[1].winning_asset_id == BTC_DOWN


# -- days ---------------------------------------------------------------------------------------


def test_multi_day_capture_splits_into_day_folders(tmp_path: Path) -> None:
    t = MIDNIGHT_MS - 1_500
    eth = [
        book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH),
        book(ETH_DOWN, t, [("0.02", "50")], [("0.04", "100")], market=ETH),
    ]
    records = [
        ("conn", ns(t - 1000, 0), True, "subscribed"),
        ("frame", ns(t), btc_books(t) + eth),
        ("frame", ns(t + 500), [tick_change(ETH_UP, t + 500, "0.01", "0.001"),
                                tick_change(ETH_DOWN, t + 500, "0.01", "0.001")]),
        ("frame", ns(t + 1_200), trade(BTC_UP, t + 1_200, "0.51", "BUY", "10")),
        # day 2: a sub-cent price, on the tick changed the day before
        ("frame", ns(t + 1_600), price_change(t + 1_600, (ETH_UP, "0.975", "30", "BUY"),
                                              (ETH_DOWN, "0.025", "30", "SELL"), market=ETH)),
        ("conn", ns(t + 2_000, 0), False, "connection closed: 1006"),
        ("conn", ns(t + 2_400_000, 0), True, "reconnected"),  # 40 min into day 2
        ("frame", ns(t + 2_400_100), btc_books(t + 2_400_100)),
    ]  # fmt: skip
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds")
    day2 = DAY + dt.timedelta(days=1)
    assert report.days == (DAY, day2)
    assert report.ok
    ds = Dataset.open(report.out)
    assert ds.days() == [DAY, day2]
    names = ["market=_feed.parquet", f"market={BTC_SLUG}.parquet", f"market={ETH_SLUG}.parquet"]
    assert [f.name for f in ds.day_files(DAY)] == names
    assert [f.name for f in ds.day_files(day2)] == names
    batches = list(ds.iter_days())
    for batch in batches:
        lo = day_start_ns(batch.day)
        assert (
            (batch.events.ts_recv_ns >= lo) & (batch.events.ts_recv_ns < lo + 86_400 * 10**9)
        ).all()
    seqs = np.concatenate([b.events.seq for b in batches])
    assert (np.diff(seqs) > 0).all()  # seq increases across the dataset
    # day 1: connection, 2 BTC books (1 + 4 rows), 2 ETH books (1 + 2), 2 ticks, a print;
    # day 2: the price change, drop + reconnect, 2 BTC books
    assert [len(b.events) for b in batches] == [1 + 10 + 6 + 2 + 1, 2 + 2 + 10]
    assert ds.markets[1].tick_size == 0.01  # the tick at the start of the data


def test_initial_tick_comes_from_the_capture_not_later_gamma(tmp_path: Path) -> None:
    """Gamma fetched after a tick change says 0.001; the capture starts on 0.01."""
    gamma = json.loads(GAMMA.read_text())
    gamma[1]["orderPriceMinTickSize"] = 0.001
    gamma_path = tmp_path / "gamma.json"
    gamma_path.write_text(json.dumps(gamma))
    t = 1768485600000
    records = [
        ("frame", ns(t), book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH)),
        ("frame", ns(t + 5), tick_change(ETH_UP, t + 5, "0.01", "0.001")),
    ]
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds", [gamma_path])
    assert Dataset.open(report.out).markets[1].tick_size == 0.01
    assert report.notes == {"initial_tick_from_capture": 1}
    assert any("eth-updown-15m" in n and "0.01" in n for n in report.market_notes)


def test_a_book_on_another_tick_gets_the_missed_tick_change(tmp_path: Path) -> None:
    t = 1768485600000
    records = [
        ("frame", ns(t), book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH)),
        ("conn", ns(t + 10, 0), False, "closed"),
        ("conn", ns(t + 20, 0), True, "reconnected"),
        # the tick changed while disconnected: only the fresh book says so
        ("frame", ns(t + 30), book(ETH_UP, t + 30, [("0.975", "100")], [("0.982", "50")],
                                   market=ETH, tick="0.001")),
    ]  # fmt: skip
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds")
    assert report.notes == {"tick_size_from_book": 1}
    _, events = imported_events(report.out)
    ticks = [e for e in events if isinstance(e, TickSizeChange)]
    assert [(e.asset_id, e.old_tick_size, e.new_tick_size) for e in ticks] == [
        (ETH_UP, 0.01, 0.001)
    ]


# -- the capture format ---------------------------------------------------------------------------


def test_capture_writer_round_trips_frames_exactly(tmp_path: Path) -> None:
    frames = ['{"event_type":"book","q":"Bitcoin \u2191 \u00e9\\n"}', "PONG", "[]", 'a\nb "c"']
    for name in ("c.jsonl", "c.jsonl.gz"):
        path = tmp_path / name
        with CaptureWriter(path) as w:
            for i, f in enumerate(frames):
                w.frame(f, 1000 + i)
            w.connection(False, "socket closed", 2000)
        with CaptureWriter(path) as w:  # a restarted recorder appends
            w.frame(b"PING", 3000)
        records = list(read_capture(path))
        assert records == [
            *(CaptureFrame(i + 1, 1000 + i, f) for i, f in enumerate(frames)),
            CaptureConnection(5, 2000, False, "socket closed"),
            CaptureFrame(6, 3000, "PING"),
        ]
    first = (tmp_path / "c.jsonl").read_text().splitlines()[0]
    assert first.startswith('{"recv_ns":1000,"frame":')


def test_capture_accepts_decoded_frames_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"recv_ns": 5, "frame": {"event_type": "book"}}\n'
        '{"recv_ns": 6, "frame": [1]}\n'
        '{"recv_ns": 7, "frame": 3}\n'
        '{"recv_ns": true, "frame": "x"}\n'
        '{"recv_ns": 8, "frame": "x", "connection": "connected"}\n'
        '{"recv_ns": 9, "connection": "disconnected"}\n'
    )
    records = list(read_capture(path))
    assert records[:2] == [CaptureFrame(1, 5, {"event_type": "book"}), CaptureFrame(2, 6, [1])]
    assert [(r.line, r.reason) for r in records[2:5]] == [
        (3, "bad_capture_line"), (4, "bad_capture_line"), (5, "bad_capture_line")]  # fmt: skip
    assert records[5] == CaptureConnection(6, 9, False, "")


# -- Gamma metadata -----------------------------------------------------------------------------


def test_fixture_gamma_markets() -> None:
    btc, eth = load_gamma_markets(GAMMA)
    assert btc == MarketInfo(
        condition_id=BTC,
        question="Bitcoin Up or Down - January 15, 9:00AM-9:15AM ET",
        yes_token_id=BTC_UP,
        no_token_id=BTC_DOWN,
        tick_size=0.01,
        min_order_size=5.0,
        fee_rate=0.07,
        fee_exponent=1.0,
        neg_risk=False,
        event_id="201822",
        slug=BTC_SLUG,
        category="",
        start_ns=1768485600 * 10**9,  # eventStartTime, the window start
        end_ns=(1768485600 + 900) * 10**9,
        resolution="",
    )
    assert (eth.yes_token_id, eth.no_token_id, eth.slug) == (ETH_UP, ETH_DOWN, ETH_SLUG)


def _shared(name: str) -> Any:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared Polymarket fixtures not found at {SHARED}")
    return json.loads(path.read_text())


def test_shared_gamma_sports_market() -> None:
    doc = _shared("gamma_market_sports_market_money_line.json")
    m = market_from_gamma(doc)
    tokens = json.loads(doc["clobTokenIds"])
    assert (m.yes_token_id, m.no_token_id) == (tokens[0], tokens[1])  # "FaZe" is the first outcome
    assert m.condition_id == doc["conditionId"]
    assert (m.tick_size, m.min_order_size, m.neg_risk) == (0.001, 5.0, False)
    assert (m.fee_rate, m.fee_exponent) == (0.03, 1.0)  # feeSchedule, not takerBaseFee
    assert m.start_ns == int(dt.datetime(2026, 4, 5, 15, 10, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.end_ns == int(dt.datetime(2026, 4, 5, 21, 10, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.resolution == "YES"  # closed, umaResolutionStatus resolved, prices ["1", "0"]
    assert m.event_id == doc["events"][0]["id"]


def test_shared_gamma_closed_markets() -> None:
    no = market_from_gamma(_shared("gamma_market_closed_binary_accepting_false.json"))
    assert (no.resolution, no.tick_size, no.fee_rate) == ("NO", 0.001, 0.0)
    # a fractional-second startDate ("...05.41Z") and no eventStartTime
    yes = market_from_gamma(_shared("gamma_market_closed_binary_accepting_true.json"))
    assert yes.resolution == "YES"
    assert yes.start_ns == 1775067845_410_000_000


def test_shared_gamma_event_list() -> None:
    doc = _shared("gamma_event.json")
    path = SHARED / "gamma_event.json"
    markets = load_gamma_markets(path)
    assert [m.condition_id for m in markets] == [m["conditionId"] for m in doc[0]["markets"]]
    assert all(m.neg_risk and m.event_id == "30829" for m in markets)
    assert markets[0].resolution == ""  # open
    assert "politics" in markets[0].tags


def test_shared_gamma_market_without_fee_schedule() -> None:
    """Fees enabled but no feeSchedule (a March 2026 answer): the rate is unknown, say so."""
    doc = _shared("gamma_market.json")
    with pytest.raises(DataValidationError) as info:
        market_from_gamma(doc, source="gamma_market.json")
    assert "'feeSchedule'" in str(info.value) and "gamma_market.json" in str(info.value)
    doc = dict(doc, feeSchedule={"rate": 0.07, "exponent": 1, "takerOnly": True})
    m = market_from_gamma(doc)
    assert json.loads(doc["clobTokenIds"]) == [m.yes_token_id, m.no_token_id]  # Up first
    assert (m.fee_rate, m.tick_size) == (0.07, 0.01)
    assert m.start_ns == int(dt.datetime(2026, 3, 12, 9, 20, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.end_ns - m.start_ns == 300 * 10**9  # the 5-minute window
    assert m.event_id == "260654"


def test_shared_gamma_legacy_market_names_the_missing_field() -> None:
    doc = _shared("gamma_market_closed_zero_zero_legacy.json")
    with pytest.raises(DataValidationError) as info:
        market_from_gamma(doc, source="legacy.json")
    assert info.value.reason == "missing_field"
    assert "'orderMinSize'" in str(info.value)


@pytest.mark.parametrize(
    "field",
    ["conditionId", "question", "slug", "clobTokenIds", "outcomes", "orderPriceMinTickSize",
     "orderMinSize"],
)  # fmt: skip
def test_missing_gamma_field_names_field_and_file(tmp_path: Path, field: str) -> None:
    doc = json.loads(GAMMA.read_text())
    del doc[1][field]
    path = tmp_path / "markets.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataValidationError) as info:
        load_gamma_markets(path)
    assert info.value.reason == "missing_field"
    assert info.value.path == str(path)
    assert f"'{field}'" in str(info.value)
    assert "[1]" in str(info.value)  # which market of the list


def test_gamma_shapes_and_outcome_order(tmp_path: Path) -> None:
    btc, eth = json.loads(GAMMA.read_text())
    event = {"id": "9001", "negRisk": False, "category": "Crypto",
             "tags": [{"label": "Crypto", "slug": "crypto"}],
             "markets": [btc, eth]}  # fmt: skip
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "one.json").write_text(json.dumps(btc))
    from_event = load_gamma_markets(tmp_path / "event.json")
    assert [m.event_id for m in from_event] == ["9001", "9001"]
    assert from_event[0].category == "Crypto" and from_event[0].tags == ("crypto",)
    assert load_gamma_markets(tmp_path / "one.json")[0].condition_id == BTC
    # the same market in two files is kept once; a different one with the same id is an error
    assert len(load_markets([GAMMA, tmp_path / "one.json"])) == 2
    changed = copy.deepcopy(btc)
    changed["orderMinSize"] = 10
    (tmp_path / "two.json").write_text(json.dumps(changed))
    with pytest.raises(DataValidationError, match="duplicate_market"):
        load_markets([GAMMA, tmp_path / "two.json"])
    # outcomes listed Down first: YES is still the Up token
    flipped = dict(btc, outcomes='["Down", "Up"]', clobTokenIds=json.dumps([BTC_DOWN, BTC_UP]))
    m = market_from_gamma(flipped)
    assert (m.yes_token_id, m.no_token_id) == (BTC_UP, BTC_DOWN)
    # resolution: closed, resolved, prices ["0", "1"]: Down (NO) won
    closed = dict(btc, closed=True, umaResolutionStatus="resolved", outcomePrices='["0", "1"]')
    assert market_from_gamma(closed).resolution == "NO"
    proposed = dict(closed, umaResolutionStatus="proposed")
    assert market_from_gamma(proposed).resolution == ""
    with pytest.raises(DataValidationError, match="orderPriceMinTickSize"):
        market_from_gamma(dict(btc, orderPriceMinTickSize=0.05))


def test_every_case_capture_checks_clean_and_replays(tmp_path: Path) -> None:
    """Issue 10's end-to-end case: import, check (repairs counted, no errors), replay."""
    from exchange_mock import Backtest
    from sim.marketdata.check import check_dataset
    from sim.risk import RiskConfig
    from sim.strategy import Strategy

    out = tmp_path / "ds"
    report = import_capture(FIXTURES / "every_case.jsonl", [FIXTURES / "gamma_markets.json"], out)
    assert report.ok
    found = check_dataset(out)
    assert found.ok, found.lines()
    repairs = found.counts("repair")
    assert repairs["exchange_time_clamped"] > 0 and repairs["trade_side_unknown"] == 1
    assert "mirrored_trade" not in repairs  # the Down prints are independent flow
    assert found.counts("note")["snapshot_pairs_apart"] == 1

    class Watch(Strategy):
        def on_start(self, ctx):
            self.prints = []

        def on_trade(self, ctx, trade):
            self.prints.append((trade.asset_id, trade.side, trade.size))

    watch = Watch()
    result = Backtest(
        strategy=watch, data=out, cash_usdc=100.0, risk=RiskConfig(enabled=False)
    ).run()
    assert result.error is None
    assert int(result.summary["Events"]) == report.rows
    assert "exchange_time_clamped" in result.summary["Data repairs"]
    gamma = load_markets([FIXTURES / "gamma_markets.json"])
    btc = next(m for m in gamma if m.slug.startswith("btc"))
    down = [p for p in watch.prints if p[0] == btc.no_token_id]
    assert len(down) >= 2  # Down prints reach the strategy too
    assert (btc.yes_token_id, None, None) in watch.prints  # the print without side/size
