"""The recorder: raw market-channel frames kept as they came, one capture file per UTC
day, a finished name only for a finished file, and nothing unreadable after a crash
(``live/recorder.py``); ``clobsim record`` against the loopback server, killed with
SIGKILL mid-write, leaves files the capture reader and ``clobsim data import`` read."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from live.capture import TRUNCATED_LAST_LINE, BadLine, CaptureConnection, CaptureFrame, read_capture
from live.capture_import import import_capture
from live.recorder import Recorder, write_markets
from sim.marketdata import Dataset
from tests.server_helpers import M, running_server, write_dataset

NS = 1_000_000_000
DAY1 = int(dt.datetime(2026, 12, 5, 23, 59, 58, tzinfo=dt.UTC).timestamp()) * NS


def frames(path: Path) -> list:
    return list(read_capture(path))


def test_a_day_rolls_into_a_finished_file_at_utc_midnight(tmp_path: Path) -> None:
    with Recorder(tmp_path) as rec:
        rec.connection(True, "connected", DAY1)
        rec.frame('{"event_type":"book"}', DAY1 + NS)
        rec.frame('{"event_type":"price_change"}', DAY1 + 3 * NS)  # 00:00:01 the next day
        names = sorted(p.name for p in (tmp_path / "capture").iterdir())
        assert names == ["2026-12-05.jsonl", "2026-12-06.jsonl.part"]  # the roll finished day 1
    names = sorted(p.name for p in (tmp_path / "capture").iterdir())
    assert names == ["2026-12-05.jsonl", "2026-12-06.jsonl"]
    first, second = (frames(tmp_path / "capture" / n) for n in names)
    assert [type(r) for r in first] == [CaptureConnection, CaptureFrame]
    assert [r.recv_ns for r in first] == [DAY1, DAY1 + NS]
    assert [(r.recv_ns, r.frame) for r in second] == [
        (DAY1 + 3 * NS, '{"event_type":"price_change"}')
    ]
    assert rec.stats.frames == 2 and rec.stats.connections == 1 and rec.stats.files == 2


def test_a_part_left_by_a_crash_is_kept_readable_and_not_overwritten(tmp_path: Path) -> None:
    cap = tmp_path / "capture"
    cap.mkdir()
    line = json.dumps({"recv_ns": DAY1, "frame": "{}"})
    (cap / "2026-12-05.jsonl.part").write_text(line + "\n" + line[:20])  # cut mid-write
    with Recorder(tmp_path) as rec:
        assert rec.stats.recovered == 1
        rec.frame("{}", DAY1 + NS)  # the same day again: a new file, the old one kept
    names = sorted(p.name for p in cap.iterdir())
    assert names == ["2026-12-05.1.jsonl", "2026-12-05.jsonl"]
    kept = frames(cap / "2026-12-05.jsonl")
    assert isinstance(kept[0], CaptureFrame)
    assert isinstance(kept[-1], BadLine) and kept[-1].reason == TRUNCATED_LAST_LINE
    assert [r.recv_ns for r in frames(cap / "2026-12-05.1.jsonl")] == [DAY1 + NS]


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sigkill_mid_recording_leaves_files_that_read_and_import(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=10)
    out = tmp_path / "rec"
    with running_server(data, realtime_speed=5.0) as run:
        ws = run.urls.ws_market.rsplit("/", 1)[0] + "/"
        proc = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "record", "--markets", M.slug, "--out", str(out),
             "--host", run.urls.rest, "--ws-url", ws, "--flush-s", "0.2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1],
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60.0
            while True:  # frames reach the OS while it runs (no clean shutdown needed)
                parts = list((out / "capture").glob("*.jsonl.part")) if out.exists() else []
                if parts and _lines(parts[0]) >= 30:
                    break
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the recorder wrote nothing"
                time.sleep(0.05)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    part = parts[0]
    records = frames(part)
    assert not [r for r in records if isinstance(r, BadLine) and r.reason != TRUNCATED_LAST_LINE]
    assert sum(isinstance(r, CaptureFrame) for r in records) >= 29
    assert isinstance(records[0], CaptureConnection | CaptureFrame)
    Recorder(out).close()  # the next start keeps the part under a finished name
    (kept,) = list((out / "capture").glob("*.jsonl"))
    report = import_capture(kept, [out / "markets.json"], tmp_path / "imported")
    ds = Dataset.open(tmp_path / "imported")
    assert [m.condition_id for m in ds.markets] == [M.condition_id]
    assert report.ok and sum(len(d.events) for d in ds.iter_days()) > 0


def test_the_markets_file_is_what_data_import_reads(tmp_path: Path) -> None:
    path = write_markets(tmp_path, [M])
    from live.gamma import load_gamma_markets

    (back,) = load_gamma_markets(path)
    assert (back.condition_id, back.yes_token_id, back.no_token_id, back.tick_size) == (
        M.condition_id, M.yes_token_id, M.no_token_id, M.tick_size)  # fmt: skip


def test_a_resolution_reaches_the_markets_table(tmp_path: Path) -> None:
    import dataclasses

    from live.gamma import load_gamma_markets

    settled = dataclasses.replace(M, resolution="NO")
    (back,) = load_gamma_markets(write_markets(tmp_path, [settled]))
    assert back.resolution == "NO"
    (open_,) = load_gamma_markets(write_markets(tmp_path, [M]))
    assert open_.resolution == ""
