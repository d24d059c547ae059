"""Capture import on bad input: corrupt lines and files, refusals, receive order.

``live.capture_import``. Fixtures: ``tests/fixtures/capture/`` (README.md there).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pytest

from live.capture import CaptureWriter
from sim.errors import DataValidationError
from sim.events import TradePrint
from sim.marketdata import Dataset
from tests.test_capture_import_helpers import (
    BTC_DOWN,
    BTC_UP,
    DAY,
    FIXTURES,
    MIDNIGHT_MS,
    all_rows,
    book,
    btc_books,
    imported_events,
    norm,
    ns,
    price_change,
    run,
    trade,
    write_capture,
)

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
