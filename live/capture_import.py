"""A capture of raw market-channel frames + Gamma metadata -> a Parquet dataset.

``import_capture(capture, markets, out)`` is ``clobsim data import CAPTURE
--market GAMMA.json ... --out DIR``: it reads the capture (``live.capture``,
format in ``docs/data-capture.md``) line by line, parses each frame with the
tolerant ``MarketFrameParser``, turns the events into rows with ``RowBuilder``
and writes them with ``DatasetWriter`` (which validates every file), one file
per UTC day (of the receive time) and market, named by the market's slug;
connection rows go to ``market=_feed``.

What it does with imperfect input (everything is counted in ``ImportReport``):

* a capture line that is not a record: counted (``bad_capture_line``, with line
  numbers), skipped. A last line cut short (``truncated_last_line``) or a gzip
  stream without its end (``truncated_gzip``) is what a stopped recorder
  leaves: counted, not an error. A file that is not a text capture at all raises
  ``DataValidationError`` (``corrupt_capture``), as does one without a single
  valid line.
* ``recv_ns`` stepping back from one line to the next: counted
  (``recv_out_of_order``); rows are stably sorted by receive time.
* a message the parser rejects: counted by the parser's reason; the other
  messages of its frame are kept. Parser repairs are counted as notes.
* an event of an asset or market not in the Gamma files: counted as ignored
  (``unknown_asset``/``unknown_market``), the rest of its frame kept.
* the tick size in force at the start of the capture (from the first ``book``'s
  ``tick_size`` or the first ``tick_size_change``'s old tick) wins over Gamma's
  ``orderPriceMinTickSize``, which is the tick when the metadata was fetched; a
  ``book`` announcing another tick than the one in force (a ``tick_size_change``
  missed while disconnected) gets a ``TICK_SIZE`` row before it (note
  ``tick_size_from_book``).

Memory: rows of one day (plus a few minutes of the next) are held at a time.
Lines more than ``GRACE_NS`` out of order across midnight make the import
restart in an exact mode that reads the capture once per day.

The output folder must be new or empty. On any error nothing is left in it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live.capture import (
    BAD_LINE,
    BadLine,
    CaptureConnection,
    CaptureFrame,
    CaptureReader,
    CaptureRecord,
)
from live.gamma import load_markets
from live.market_messages import MarketFrameParser
from sim.errors import ConfigError, DataValidationError
from sim.events import BookSnapshot, ConnectionState, MarketEvent, MarketResolved, TickSizeChange
from sim.marketdata import DatasetWriter, asset_table
from sim.marketdata.columns import EventColumns
from sim.marketdata.from_events import RowBuilder
from sim.marketdata.markets import write_markets
from sim.marketdata.schema import K_TICK
from sim.types import MarketInfo

__all__ = ["GRACE_NS", "ImportReport", "import_capture"]

logger = logging.getLogger(__name__)
# Rejected messages are summarised in the report; one log line each would flood a
# terminal on a large capture, so they reach only handlers an application installs.
_parser_log = logging.getLogger(__name__ + ".rejected")
_parser_log.addHandler(logging.NullHandler())

NS_PER_DAY = 86_400 * 1_000_000_000
#: A day's rows are written once a line this far into a later day has been read.
GRACE_NS = 5 * 60 * 1_000_000_000
FEED_FILE = "_feed"
#: Capture problems that make ``ImportReport.ok`` false (the others are expected wear).
CORRUPTION = frozenset({BAD_LINE})
_EXAMPLES = 5  # examples kept per reason
_BAD_LINES_KEPT = 50
_PROGRESS_EVERY = 20_000  # records
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_EPOCH = dt.date(1970, 1, 1)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportReport:
    """What ``import_capture`` read, wrote, repaired and refused.

    Counters are plain dicts, reason -> count. ``bad_lines``, ``examples`` and
    ``note_examples`` are (line number, reason, detail) triples: the first bad
    capture lines, and a few rejected messages and repairs per reason.
    """

    capture: Path
    out: Path
    markets: int  # markets in the Gamma files
    capture_lines: int  # lines read (blank ones included)
    frames: int  # frame lines (keep-alives included)
    keepalives: int
    connection_changes: int
    messages: int  # messages the parser accepted
    events: int  # events it produced
    rows: int  # rows written
    files: tuple[Path, ...]
    days: tuple[dt.date, ...]
    rejected: dict[str, int]  # messages refused by the parser, by reason
    notes: dict[str, int]  # repairs: the parser's notes and the importer's own
    ignored: dict[str, int]  # events dropped by RowBuilder (unknown asset/market)
    capture_issues: dict[str, int]  # bad_capture_line, recv_out_of_order, truncated_*
    bad_lines: tuple[tuple[int, str, str], ...] = ()
    examples: tuple[tuple[int, str, str], ...] = ()
    note_examples: tuple[tuple[int, str, str], ...] = ()
    market_notes: tuple[str, ...] = ()
    sorted_passes: bool = False  # the capture needed the exact one-pass-per-day mode

    @property
    def ok(self) -> bool:
        """At least one row was written and no capture line was corrupt."""
        return self.rows > 0 and not any(self.capture_issues.get(r) for r in CORRUPTION)

    def lines(self) -> list[str]:
        """A human-readable summary, one string per line."""
        out = [
            f"capture: {self.capture}: {self.capture_lines} lines: {self.frames} frames "
            f"(keep-alives: {self.keepalives}), connection changes: {self.connection_changes}",
            f"parsed: {self.messages} messages -> {self.events} events -> {self.rows} rows",
        ]
        if self.days:
            span = str(self.days[0]) if len(self.days) == 1 else f"{self.days[0]}..{self.days[-1]}"
            out.append(
                f"written: {len(self.files)} files, {len(self.days)} day(s) ({span}), "
                f"{self.markets} markets, in {self.out}"
            )
        else:
            out.append(f"written: nothing ({self.markets} markets in the Gamma files)")
        out += _counter_lines("rejected messages", self.rejected)
        out += [f"  line {n}: {r}: {d}" for n, r, d in self.examples]
        out += _counter_lines("noted (kept as sent, or one entry dropped)", self.notes)
        out += [f"  line {n}: {r}: {d}" for n, r, d in self.note_examples]
        out += _counter_lines("ignored events", self.ignored)
        out += _counter_lines("capture issues", self.capture_issues)
        out += [f"  line {n}: {r}: {d}" for n, r, d in self.bad_lines[:10]]
        if len(self.bad_lines) > 10:
            out.append(f"  ... {self.capture_issues.get(BAD_LINE, 0) - 10} more bad lines")
        out += [f"market: {note}" for note in self.market_notes]
        if self.sorted_passes:
            out.append("note: lines far out of receive order; the capture was read once per day")
        if self.ok:
            out.append("result: OK")
        else:
            why = []
            if self.rows == 0:
                why.append("no rows written")
            bad = sum(self.capture_issues.get(r, 0) for r in CORRUPTION)
            if bad:
                why.append(f"{bad} corrupt capture line(s)")
            out.append("result: NOT OK: " + ", ".join(why))
        return out


def _counter_lines(title: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return []
    total = sum(counts.values())
    parts = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    return [f"{title}: {total} ({parts})"]


def _day_of(recv_ns: int) -> int:
    """Days since the epoch of a receive time."""
    return recv_ns // NS_PER_DAY


def _file_names(markets: Sequence[MarketInfo]) -> list[str]:
    """Each market's file name: its slug, or its condition id when the slug cannot be one."""
    names: list[str] = []
    seen: dict[str, str] = {}
    for m in markets:
        name = m.slug if _NAME.match(m.slug) and m.slug != FEED_FILE else m.condition_id
        if name in seen:
            raise DataValidationError(
                "<markets>",
                "duplicate_market",
                f"markets {seen[name]} and {m.condition_id} share the slug {name!r}",
            )
        seen[name] = m.condition_id
        names.append(name)
    return names


class _Restart(Exception):
    """A line belongs to a day already written: redo the import in the exact mode."""


class _Importer:
    def __init__(
        self, capture: Path, markets: list[MarketInfo], out: Path, progress: Progress | None
    ) -> None:
        self.capture = capture
        self.out = out
        self.progress = progress
        self.markets = list(markets)
        self.assets = asset_table(self.markets)
        self.asset_index = {a: i for i, a in enumerate(self.assets)}
        self.names = _file_names(self.markets)
        self.parser = MarketFrameParser(max_rejected=64, log=_parser_log)
        self.writer: DatasetWriter | None = None
        # file-order accounting
        self.capture_lines = 0
        self.capture_issues: Counter[str] = Counter()
        self.bad_lines: list[tuple[int, str, str]] = []
        self.prev_recv: int | None = None
        # feeding
        self.frames = 0
        self.connections = 0
        self.events = 0
        self.notes: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        self.examples: dict[str, list[tuple[int, str, str]]] = {}
        self.note_examples: dict[str, list[tuple[int, str, str]]] = {}
        self.builders: dict[int, RowBuilder] = {}
        self.flushed: set[int] = set()
        # ticks: the first seen per market (recv_ns, tick); the one in force per asset
        self.first_tick: dict[int, tuple[int, float]] = {}
        self.locked: set[int] = set()
        self.tick_fed: dict[int, float] = {}
        self.market_notes: list[str] = []
        # writing
        self.next_seq = 0
        self.rows = 0
        self.files: list[Path] = []
        self.days: list[dt.date] = []
        self.tick_state = np.repeat(np.array([m.tick_size for m in self.markets]), 2)

    # -- file-order accounting ---------------------------------------------------------
    def account(self, rec: CaptureRecord) -> bool:
        """Count a record in file order; False for a bad line (nothing to feed)."""
        self.capture_lines = max(self.capture_lines, rec.line)
        if isinstance(rec, BadLine):
            self.capture_issues[rec.reason] += 1
            if len(self.bad_lines) < _BAD_LINES_KEPT:
                self.bad_lines.append((rec.line, rec.reason, rec.detail))
            return False
        if self.prev_recv is not None and rec.recv_ns < self.prev_recv:
            self.capture_issues["recv_out_of_order"] += 1
        self.prev_recv = rec.recv_ns
        return True

    # -- records -> rows -----------------------------------------------------------------
    def builder(self, day: int) -> RowBuilder:
        b = self.builders.get(day)
        if b is None:
            b = self.builders[day] = RowBuilder(self.assets)
        return b

    def feed(self, rec: CaptureFrame | CaptureConnection) -> None:
        b = self.builder(_day_of(rec.recv_ns))
        if isinstance(rec, CaptureConnection):
            self.connections += 1
            b.append(ConnectionState(rec.recv_ns, rec.recv_ns, rec.connected, rec.reason))
            return
        self.frames += 1
        parser = self.parser
        errors_before = parser.error_count
        notes_before = getattr(parser, "note_count", 0)
        events = parser.parse(rec.frame, rec.recv_ns)
        new_errors = parser.error_count - errors_before
        if new_errors:
            for exc in list(parser.rejected)[-new_errors:]:
                kept = self.examples.setdefault(exc.reason, [])
                if len(kept) < _EXAMPLES:
                    kept.append((rec.line, exc.reason, exc.detail))
        self.events += len(events)
        note_count = getattr(parser, "note_count", None)
        if note_count is not None and note_count > notes_before:
            for note in list(parser.noted)[-(note_count - notes_before) :]:
                kept = self.note_examples.setdefault(note.reason, [])
                if len(kept) < _EXAMPLES:
                    kept.append((rec.line, note.reason, note.detail))
        batch: list[MarketEvent] = []
        for ev in events:
            if isinstance(ev, BookSnapshot | TickSizeChange):
                injected = self.track_tick(ev)
                if injected is not None:
                    batch.append(injected)
            batch.append(ev)
        self.add(b, batch)

    def add(self, b: RowBuilder, batch: list[MarketEvent]) -> None:
        """Rows of ``batch``; events of assets/markets outside the Gamma files are counted."""
        if hasattr(b, "ignored"):  # extend skips them and counts them in b.ignored
            b.extend(batch)
            return
        for ev in batch:  # a RowBuilder whose extend raises on them: one event at a time
            try:
                b.append(ev)
            except ValueError:
                what = "unknown_market" if isinstance(ev, MarketResolved) else "unknown_asset"
                self.ignored[what] += 1

    def track_tick(self, ev: BookSnapshot | TickSizeChange) -> TickSizeChange | None:
        """Follow the tick per asset; a ``TickSizeChange`` to insert before a book, if any."""
        a = self.asset_index.get(ev.asset_id)
        if a is None:
            return None
        injected = None
        if isinstance(ev, TickSizeChange):
            seen = ev.old_tick_size
            self.tick_fed[a] = ev.new_tick_size
        else:
            if ev.tick_size is None:
                return None
            seen = ev.tick_size
            fed = self.tick_fed.get(a)
            if fed is not None and abs(fed - seen) > 1e-12:
                # the book announces another tick: a tick_size_change was missed
                injected = TickSizeChange(
                    ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.market,
                    old_tick_size=fed, new_tick_size=seen,
                )  # fmt: skip
                self.notes["tick_size_from_book"] += 1
            self.tick_fed[a] = seen
        m = a // 2
        first = self.first_tick.get(m)
        if m not in self.locked and (first is None or ev.ts_recv_ns < first[0]):
            self.first_tick[m] = (ev.ts_recv_ns, seen)
        return injected

    # -- rows -> files ---------------------------------------------------------------------
    def flush(self, day: int) -> None:
        b = self.builders.pop(day, None)
        self.flushed.add(day)
        if b is None:
            return
        self.ignored.update(getattr(b, "ignored", {}))
        cols = b.flush()
        if len(cols) == 0:
            return
        if (np.diff(cols.ts_recv_ns) < 0).any():
            cols = cols.take(np.argsort(cols.ts_recv_ns, kind="stable"))
        n = len(cols)
        seq = np.arange(self.next_seq, self.next_seq + n, dtype=np.int64)
        cols = dataclasses.replace(cols, seq=seq)
        self.next_seq += n
        market_of_row = np.where(cols.asset >= 0, cols.asset // 2, -1)
        present = np.unique(market_of_row)
        self.lock_ticks([int(m) for m in present if m >= 0])
        writer = self.ensure_writer()
        date = _EPOCH + dt.timedelta(days=day)
        for m in present.tolist():
            part = cols.take(np.flatnonzero(market_of_row == m))
            name = FEED_FILE if m < 0 else self.names[m]
            self.files.append(self.write(writer, date, name, part))
        self.rows += n
        self.days.append(date)
        # the tick in force after this day, for the next day's files
        is_tick = cols.kind == K_TICK
        for r in np.flatnonzero(is_tick).tolist():
            self.tick_state[cols.asset[r]] = cols.price[r]

    def write(self, writer: DatasetWriter, date: dt.date, name: str, part: EventColumns) -> Path:
        """``write_day`` validating against the ticks in force at the start of ``date``.

        ``DatasetWriter.write_day`` checks prices against the markets table's tick
        (the tick at the start of the data), so a file after a tick change would be
        refused; it is given the markets with the tick in force instead.
        """
        start_ticks = np.repeat(np.array([m.tick_size for m in self.markets]), 2)
        if np.array_equal(start_ticks, self.tick_state):
            return writer.write_day(date, name, part)
        saved = writer.markets
        writer.markets = [
            dataclasses.replace(m, tick_size=float(self.tick_state[2 * i]))
            for i, m in enumerate(self.markets)
        ]
        try:
            return writer.write_day(date, name, part)
        finally:
            writer.markets = saved

    def lock_ticks(self, markets: list[int]) -> None:
        """Fix the start-of-data tick of markets about to be written for the first time."""
        changed = False
        for m in markets:
            if m in self.locked:
                continue
            self.locked.add(m)
            first = self.first_tick.get(m)
            info = self.markets[m]
            if first is not None and abs(first[1] - info.tick_size) > 1e-12:
                self.markets[m] = dataclasses.replace(info, tick_size=first[1])
                self.tick_state[2 * m : 2 * m + 2] = first[1]
                self.notes["initial_tick_from_capture"] += 1
                self.market_notes.append(
                    f"{info.slug or info.condition_id}: tick {first[1]} at the start of the "
                    f"capture (Gamma's orderPriceMinTickSize: {info.tick_size}); using {first[1]}"
                )
                changed = True
        if changed and self.writer is not None:
            self.writer.markets = list(self.markets)
            write_markets(self.out / "markets.parquet", self.markets)

    def ensure_writer(self) -> DatasetWriter:
        if self.writer is None:
            meta = {"source": "polymarket market-channel capture", "capture": self.capture.name}
            self.writer = DatasetWriter(self.out, self.markets, meta)
        return self.writer

    # -- the two modes -------------------------------------------------------------------
    def tick_progress(self, reader: CaptureReader, count: int) -> None:
        if self.progress is not None and count % _PROGRESS_EVERY == 0:
            self.progress(reader.bytes_read, reader.size)

    def run_streaming(self) -> None:
        """One pass in file order; raises ``_Restart`` for a line of a day already written."""
        with CaptureReader(self.capture) as reader:
            for count, rec in enumerate(reader, 1):
                self.tick_progress(reader, count)
                if not self.account(rec):
                    continue
                assert not isinstance(rec, BadLine)
                day = _day_of(rec.recv_ns)
                if day in self.flushed:
                    raise _Restart
                for open_day in sorted(self.builders):
                    if rec.recv_ns >= (open_day + 1) * NS_PER_DAY + GRACE_NS:
                        self.flush(open_day)
                self.feed(rec)
            self.finish_progress(reader)
        for day in sorted(self.builders):
            self.flush(day)

    def run_sorted(self) -> None:
        """Exact mode: one pass to find the days, then one pass per day, stably sorted."""
        days: set[int] = set()
        with CaptureReader(self.capture) as reader:
            for count, rec in enumerate(reader, 1):
                self.tick_progress(reader, count)
                if self.account(rec):
                    assert not isinstance(rec, BadLine)
                    days.add(_day_of(rec.recv_ns))
            self.finish_progress(reader)
        for day in sorted(days):
            records: list[CaptureFrame | CaptureConnection] = []
            with CaptureReader(self.capture) as reader:
                for count, rec in enumerate(reader, 1):
                    self.tick_progress(reader, count)
                    if not isinstance(rec, BadLine) and _day_of(rec.recv_ns) == day:
                        records.append(rec)
                self.finish_progress(reader)
            records.sort(key=lambda r: r.recv_ns)  # stable: file order among equal times
            for rec in records:
                self.feed(rec)
            self.flush(day)

    def finish_progress(self, reader: CaptureReader) -> None:
        if self.progress is not None:
            self.progress(reader.size, reader.size)

    def report(self, markets: int, sorted_passes: bool) -> ImportReport:
        examples = [e for reason in sorted(self.examples) for e in self.examples[reason]]
        note_examples = [e for r in sorted(self.note_examples) for e in self.note_examples[r]]
        return ImportReport(
            capture=self.capture,
            out=self.out,
            markets=markets,
            capture_lines=self.capture_lines,
            frames=self.frames,
            keepalives=self.parser.keepalives,
            connection_changes=self.connections,
            messages=self.parser.messages,
            events=self.events,
            rows=self.rows,
            files=tuple(self.files),
            days=tuple(self.days),
            rejected=dict(sorted(self.parser.errors.items())),
            notes=dict(sorted((Counter(getattr(self.parser, "notes", {})) + self.notes).items())),
            ignored=dict(sorted(self.ignored.items())),
            capture_issues=dict(sorted(self.capture_issues.items())),
            bad_lines=tuple(self.bad_lines),
            examples=tuple(examples),
            note_examples=tuple(note_examples),
            market_notes=tuple(self.market_notes),
            sorted_passes=sorted_passes,
        )


def _prepare_out(out: Path) -> bool:
    """Refuse an occupied output folder; return True if it already existed (empty)."""
    if out.exists():
        if not out.is_dir():
            raise FileExistsError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty: import into a new or empty folder")
        return True
    return False


def _clear_out(out: Path, existed: bool) -> None:
    if not out.exists():
        return
    if existed:
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    else:
        shutil.rmtree(out)


def import_capture(
    capture: Path,
    markets: list[Path],
    out: Path,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a capture (``docs/data-capture.md``) into a new dataset at ``out``.

    ``markets`` are Gamma JSON files (``live.gamma``) describing the markets
    whose rows to keep; events of other markets are counted as ignored.
    ``progress(done, total)`` is called now and then with the bytes of the
    capture file read so far and its size (a restart in the exact mode reads it
    again from 0). Raises ``FileExistsError`` if ``out`` is not new or empty,
    ``FileNotFoundError`` for a missing input, ``DataValidationError`` for an
    unreadable capture or Gamma file, or when the writer's validation refuses
    the rows (then ``out`` is left empty).
    """
    capture, out = Path(capture), Path(out)
    if not markets:
        raise ConfigError("markets", "give at least one Gamma market JSON file")
    if not capture.is_file():
        raise FileNotFoundError(f"capture {capture} does not exist")
    infos = load_markets([Path(p) for p in markets])
    existed = _prepare_out(out)
    sorted_passes = False
    try:
        imp = _Importer(capture, infos, out, progress)
        try:
            imp.run_streaming()
        except _Restart:
            logger.info("%s: lines far out of receive order; re-reading once per day", capture)
            _clear_out(out, existed)
            sorted_passes = True
            imp = _Importer(capture, infos, out, progress)
            imp.run_sorted()
        if imp.capture_lines and not (imp.frames or imp.connections):
            raise DataValidationError(
                str(capture),
                "corrupt_capture",
                f"none of its {imp.capture_lines} lines is a capture record "
                f"(first problem: line {imp.bad_lines[0][0]}: {imp.bad_lines[0][2]})"
                if imp.bad_lines
                else "no capture record",
            )
    except BaseException:
        _clear_out(out, existed)
        raise
    return imp.report(len(infos), sorted_passes)
