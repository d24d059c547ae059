"""The recorder: what the market channel received, kept as it came, one file per UTC day.

``Recorder`` takes raw frames and connection changes from a ``MarketChannel``
(its ``recorder=``) and writes them in the capture format (``live/capture.py``,
``docs/data-capture.md``) to ``DIR/capture/<YYYY-MM-DD>.jsonl``:

* the day being written is ``<day>.jsonl.part``; it becomes ``<day>.jsonl`` when the
  first frame of the next UTC day arrives (the roll) or the recorder closes, after an
  fsync, so a finished name is always a finished file;
* what was written is pushed to the OS every ``flush_s`` by a background thread
  (and at every roll), so a killed process loses at most that much: the OS has the
  rest, and the capture reader takes a line cut off mid-write as the truncated end
  it is (``truncated_last_line``), never as a corrupt file;
* a ``.part`` left by a crash is kept: on start it is renamed ``<day>.<n>.jsonl``
  (readable as it is), and a restart the same day writes ``<day>.<n+1>.jsonl.part``;
* reconnects are connection rows (``connected``/``disconnected`` with the reason),
  so a replay sees the gap where it was;
* with ``ParquetRoll`` as ``on_finished``, each finished day is also imported into the
  Parquet dataset format (``DIR/parquet/<day>``, what ``clobsim backtest`` reads), in
  the background.

Frames are written from the channel's thread; the recorder is thread-safe.
``clobsim data import DIR/capture/<day>.jsonl --markets DIR/markets.json`` turns a
day into the Parquet dataset backtests read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from live.capture import CaptureWriter
from sim.types import MarketInfo

log = logging.getLogger("clobsim.recorder")

NS = 1_000_000_000
PART = ".part"
_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl$")


class FrameRecorder(Protocol):
    """Where a channel hands what it received, before parsing (``Recorder``)."""

    def frame(self, frame: str | bytes, recv_ns: int) -> None: ...

    def connection(self, connected: bool, reason: str, recv_ns: int) -> None: ...


@dataclass(frozen=True)
class RecorderStats:
    """Frames and connection rows written, bytes on disk, files finished, parts recovered."""

    frames: int
    connections: int
    bytes: int
    files: int
    recovered: int


def _day_of(recv_ns: int) -> str:
    return dt.datetime.fromtimestamp(recv_ns / NS, dt.UTC).date().isoformat()


class Recorder:
    """Raw market-channel frames to ``out_dir/capture`` (see the module doc)."""

    def __init__(self, out_dir: str | Path, *, flush_s: float = 1.0,
                 on_finished: Callable[[Path], None] | None = None) -> None:  # fmt: skip
        if not 0 < flush_s <= 60:
            raise ValueError(f"flush_s must be in (0, 60] seconds, got {flush_s!r}")
        self.dir = Path(out_dir) / "capture"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.flush_s = flush_s
        self._on_finished = on_finished  # told each finished day file (``ParquetRoll``)
        self._lock = threading.Lock()
        self._writer: CaptureWriter | None = None
        self._day: str | None = None
        self._part: Path | None = None
        self._frames = self._connections = self._files = 0
        self._closed = False
        self._recovered = self._recover()
        self._stop = threading.Event()
        self._flusher = threading.Thread(target=self._flush_loop, name="recorder-flush",
                                         daemon=True)  # fmt: skip
        self._flusher.start()

    # ------------------------------------------------------------------ files
    def _recover(self) -> int:
        """Parts a crashed recorder left: kept, under a finished name of their own."""
        n = 0
        for part in sorted(self.dir.glob(f"*.jsonl{PART}")):
            final = part.with_name(part.name.removesuffix(PART))
            if final.exists():
                final = self._free_name(part.name.split(".", 1)[0])
            part.rename(final)
            log.warning("recorder: %s was left by a stopped recorder: kept as %s (its last "
                        "line may be cut short)", part.name, final.name)  # fmt: skip
            n += 1
        return n

    def _free_name(self, day: str) -> Path:
        """``<day>.jsonl`` if unused, else ``<day>.<n>.jsonl`` with the next free ``n``."""
        names = (_NAME.match(p.name.removesuffix(PART)) for p in self.dir.iterdir())
        taken = [int(m.group(2) or 0) for m in names if m and m.group(1) == day]
        if not taken:
            return self.dir / f"{day}.jsonl"
        return self.dir / f"{day}.{max(taken) + 1}.jsonl"

    def _roll(self, recv_ns: int) -> CaptureWriter:
        day = _day_of(recv_ns)
        if self._writer is not None and day == self._day:
            return self._writer
        self._finish()
        final = self._free_name(day)
        self._part = final.with_name(final.name + PART)
        self._writer = CaptureWriter(self._part, compress=False)
        self._day = day
        return self._writer

    def _finish(self) -> None:
        """The day's part, flushed to disk and given its finished name."""
        if self._writer is None or self._part is None:
            return
        self._writer.flush(fsync=True)
        self._writer.close()
        final = self._part.with_name(self._part.name.removesuffix(PART))
        self._part.rename(final)
        self._files += 1
        self._writer = self._part = None
        if self._on_finished is not None:
            self._on_finished(final)

    # ------------------------------------------------------------------ records
    def frame(self, frame: str | bytes, recv_ns: int) -> None:
        """One raw frame, as received, at ``recv_ns`` (the channel's receive clock)."""
        with self._lock:
            if self._closed:
                return
            self._roll(recv_ns).frame(frame, recv_ns)
            self._frames += 1

    def connection(self, connected: bool, reason: str, recv_ns: int) -> None:
        """A connection change (a reconnect's gap shows between two of these)."""
        with self._lock:
            if self._closed:
                return
            self._roll(recv_ns).connection(connected, reason, recv_ns)
            self._connections += 1

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.flush()

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except OSError as exc:  # a full disk: said, and tried again next time
                log.error("recorder: flush failed: %s", exc)

    def close(self) -> None:
        """Flush, fsync and finish the day being written. Idempotent."""
        self._stop.set()
        self._flusher.join(timeout=5)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._finish()

    @property
    def stats(self) -> RecorderStats:
        with self._lock:
            size = sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())
            return RecorderStats(self._frames, self._connections, size, self._files,
                                 self._recovered)  # fmt: skip

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def gamma_row(m: MarketInfo) -> dict:
    """``m`` as a Gamma market object (what ``clobsim data import --markets`` reads)."""
    row = {
        "conditionId": m.condition_id, "question": m.question, "slug": m.slug,
        "clobTokenIds": json.dumps([m.yes_token_id, m.no_token_id]),
        "outcomes": json.dumps(["Yes", "No"]), "orderPriceMinTickSize": m.tick_size,
        "orderMinSize": m.min_order_size, "negRisk": m.neg_risk,
        "feesEnabled": bool(m.fee_rate),
    }  # fmt: skip
    if m.fee_rate:
        row["feeSchedule"] = {"rate": m.fee_rate, "exponent": m.fee_exponent}
    if m.end_ns:
        row["endDate"] = dt.datetime.fromtimestamp(m.end_ns / NS, dt.UTC).isoformat()
    if m.resolution in ("YES", "NO"):  # settled: as Gamma says it once UMA resolved it
        prices = ["1", "0"] if m.resolution == "YES" else ["0", "1"]
        row |= {"closed": True, "umaResolutionStatus": "resolved",
                "outcomePrices": json.dumps(prices)}  # fmt: skip
    return row


def write_markets(out_dir: str | Path, markets: Sequence[MarketInfo]) -> Path:
    """``out_dir/markets.json``: the recorded markets, in Gamma's shape."""
    path = Path(out_dir) / "markets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + PART)
    tmp.write_text(json.dumps([gamma_row(m) for m in markets], indent=1))
    tmp.replace(path)
    return path


class ParquetRoll:
    """Each finished capture day imported into ``out_dir/parquet/<file stem>`` (the
    dataset format) on a background thread, with ``out_dir/markets.json`` as the market
    table; a failed import is logged with its reason and the capture stays the record.
    ``close()`` waits for the imports still running."""

    def __init__(self, out_dir: str | Path) -> None:
        self.out = Path(out_dir)
        self.done: list[Path] = []
        self.failed: list[tuple[Path, str]] = []
        self._threads: list[threading.Thread] = []

    def __call__(self, capture: Path) -> None:
        th = threading.Thread(target=self._import, args=(capture,), daemon=True,
                              name=f"parquet-{capture.stem}")  # fmt: skip
        self._threads.append(th)
        th.start()

    def _import(self, capture: Path) -> None:
        from live.capture_import import import_capture

        target = self.out / "parquet" / capture.name.removesuffix(".jsonl")
        try:
            report = import_capture(capture, [self.out / "markets.json"], target)
        except Exception as exc:  # logged and kept: the capture is still the record
            self.failed.append((capture, f"{type(exc).__name__}: {exc}"))
            log.error("recorder: importing %s into %s failed: %s", capture.name, target, exc)
            return
        self.done.append(target)
        log.info("recorder: %s imported into %s (%d rows)", capture.name, target,
                 report.rows)  # fmt: skip

    def close(self, timeout_s: float = 600.0) -> None:
        for th in self._threads:
            th.join(timeout_s)
