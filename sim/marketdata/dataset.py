"""Reading and writing a market-data dataset (format in ``data/README.md``).

``Dataset.open(path).iter_days()`` streams one UTC day at a time, so a week of
many markets never has to fit in memory at once. Every row is validated on
the way in (``sim.marketdata.validate``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.errors import ConfigError, DataValidationError
from sim.marketdata.columns import EventColumns
from sim.marketdata.day_cache import CachedDay, DayCache
from sim.marketdata.markets import read_markets, write_markets
from sim.marketdata.replay_rules import clamp_exchange_time, mirrored_trades, unknown_side_trades
from sim.marketdata.schema import EVENT_SCHEMA, SCHEMA_VERSION
from sim.marketdata.validate import table_to_columns, validate_columns
from sim.types import MarketInfo

_DAY_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_SLUG = re.compile(r"^[A-Za-z0-9._-]+$")
NS_PER_DAY = 86_400 * 1_000_000_000


def day_start_ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def asset_table(markets: list[MarketInfo]) -> tuple[str, ...]:
    """Asset ids in index order: market ``i`` has YES at ``2*i`` and NO at ``2*i+1``."""
    out: list[str] = []
    for m in markets:
        out += [m.yes_token_id, m.no_token_id]
    return tuple(out)


@dataclass(frozen=True, slots=True)
class DayBatch:
    """All events of one UTC day (of the selected markets), in replay order.

    ``events`` has the replay rules applied (``sim.marketdata.replay_rules``):
    exchange time never steps back for an asset. ``venue_skip`` marks the rows
    the matching venue must not apply (NO prints mirroring a YES print; the
    strategy still receives them). ``repairs`` counts what the rules changed.
    """

    day: dt.date
    events: EventColumns
    files: tuple[Path, ...]
    venue_skip: np.ndarray
    repairs: dict[str, int]


class Dataset:
    """A recorded (or synthetic) market-data folder, opened for reading."""

    def __init__(self, root: Path, markets: list[MarketInfo], meta: dict) -> None:
        self.root = root
        self.markets = markets
        self.meta = meta
        self.assets = asset_table(markets)
        self.asset_index = {a: i for i, a in enumerate(self.assets)}
        #: Replay-ready days from earlier reads (``sim.marketdata.day_cache``); None: off.
        self.day_cache: DayCache | None = DayCache.from_env()
        self._by_condition = {m.condition_id: i for i, m in enumerate(markets)}
        #: Repairs the replay rules made in the last ``iter_days`` (``DayBatch.repairs``).
        self.repairs: Counter[str] = Counter()

    @classmethod
    def open(cls, path: str | Path) -> Dataset:
        root = Path(path)
        meta_path = root / "dataset.json"
        if not meta_path.is_file():
            raise DataValidationError(str(root), "not_a_dataset", "no dataset.json in this folder")
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DataValidationError(str(meta_path), "corrupt_file", str(exc)) from exc
        version = meta.get("schema_version")
        if version != SCHEMA_VERSION:
            raise DataValidationError(
                str(meta_path),
                "schema_version",
                f"schema_version {version!r}; this clobsim reads version {SCHEMA_VERSION}",
            )
        markets = read_markets(root / "markets.parquet")
        return cls(root, markets, meta)

    # -- discovery -------------------------------------------------------------------
    def days(self) -> list[dt.date]:
        events = self.root / "events"
        if not events.is_dir():
            return []
        out = []
        for d in events.iterdir():
            m = _DAY_DIR.match(d.name)
            if m and d.is_dir():
                out.append(dt.date.fromisoformat(m.group(1)))
        return sorted(out)

    def day_files(self, day: dt.date) -> list[Path]:
        folder = self.root / "events" / f"date={day.isoformat()}"
        return sorted(folder.glob("*.parquet"))

    def market(self, condition_id: str) -> MarketInfo:
        return self.markets[self._by_condition[condition_id]]

    # -- reading ----------------------------------------------------------------------
    def read_file(
        self,
        path: Path,
        tick_state: np.ndarray | None = None,
        last_exchange_ns: np.ndarray | None = None,
    ) -> EventColumns:
        """Read and validate one event file."""
        try:
            table = pq.read_table(path, schema=None)
        except (OSError, pa.ArrowException) as exc:
            raise DataValidationError(
                str(path), "corrupt_file", f"cannot read Parquet: {exc}"
            ) from exc
        cols = table_to_columns(table, str(path), self.asset_index, self.assets)
        if tick_state is None:
            tick_state = self.initial_ticks()
        validate_columns(cols, str(path), tick_state, last_exchange_ns)
        return cols

    def initial_ticks(self) -> np.ndarray:
        return np.repeat(np.array([m.tick_size for m in self.markets], dtype=np.float64), 2)

    def iter_days(
        self,
        start: dt.date | None = None,
        end: dt.date | None = None,
        markets: list[str] | None = None,
    ) -> Iterator[DayBatch]:
        """Yield one ``DayBatch`` per day in ``[start, end]`` (inclusive), in order.

        ``markets`` filters by condition id, event id or slug; a slug may be a
        glob pattern (``btc-updown-15m-*``); a file holding none of those
        markets (and no connection row) is not read at all, so its errors
        surface only unfiltered or in ``clobsim data check``. Rows of a day's files are
        merged by (``ts_recv_ns``, ``seq``), ties kept in file order, and the
        replay rules applied (``DayBatch``); ``self.repairs`` counts the repairs
        of the days yielded so far.
        """
        wanted = self.select(markets)
        tick_state = self.initial_ticks()
        last_ex = np.full(len(self.assets), np.iinfo(np.int64).min, dtype=np.int64)
        self.repairs = Counter()
        for day in self.days():
            if end is not None and day > end:
                break
            day_files = self.day_files(day)
            # days before ``start`` are read too: tick sizes and exchange clocks carry over
            before = start is not None and day < start
            # the cache is keyed on every file of the day and the selection, so a hit reads
            # no Parquet at all (not even the asset column ``_holds_wanted`` reads)
            cache = self.day_cache if day_files else None
            key = cache.key(self.root, day_files, wanted, tick_state, last_ex) if cache else ""
            hit = cache.load(key, self.assets) if cache else None
            if hit is not None:
                tick_state[:] = hit.tick_state
                last_ex[:] = hit.last_exchange_ns
                if not before:
                    self.repairs.update(hit.repairs)
                    names = set(hit.files)
                    read = tuple(f for f in day_files if f.name in names)
                    yield DayBatch(day, hit.events, read, hit.venue_skip, hit.repairs)
                continue
            files = [f for f in day_files if self._holds_wanted(f, wanted)]
            parts = []
            for f in files:
                part = self.read_file(f, tick_state)
                if wanted is not None:
                    keep = (part.asset < 0) | wanted[np.maximum(part.asset, 0) // 2]
                    if not keep.all():
                        part = part.take(np.flatnonzero(keep))
                parts.append(part)
            if not parts:
                if not before:
                    empty = EventColumns.empty(self.assets)
                    yield DayBatch(day, empty, (), np.zeros(0, dtype=bool), {})
                continue
            cols = EventColumns.concat(parts) if len(parts) > 1 else parts[0]
            del parts
            if len(files) > 1:
                cols = cols.take(np.lexsort((cols.seq, cols.ts_recv_ns)))
            skip = mirrored_trades(cols)  # on the exchange times as sent
            cols, clamped = clamp_exchange_time(cols, last_ex)
            repairs = {
                "exchange_time_clamped": clamped,
                "mirrored_trade": int(np.count_nonzero(skip)),
                "trade_side_unknown": unknown_side_trades(cols),
            }
            repairs = {k: v for k, v in repairs.items() if v}
            if cache is not None:
                cache.store(key, CachedDay(cols, skip, repairs, tick_state.copy(), last_ex.copy(),
                                           tuple(f.name for f in files)))  # fmt: skip
            if not before:
                self.repairs.update(repairs)
                yield DayBatch(day, cols, tuple(files), skip, repairs)

    def _holds_wanted(self, path: Path, wanted: np.ndarray | None) -> bool:
        """False if the file holds no row of a wanted market and no connection row.

        Only its ``asset_id`` column is read (dictionary-encoded: a few KB), so
        a backtest of one series never reads, validates or holds the rows of the
        others. An unreadable file is kept: reading it reports the error.
        """
        if wanted is None:
            return True
        try:
            col = pq.read_table(path, columns=["asset_id"]).column("asset_id").combine_chunks()
        except (OSError, pa.ArrowException, KeyError):
            return True
        if pa.types.is_dictionary(col.type):
            present = set(col.dictionary.to_pylist()) if len(col) else set()
        else:
            present = set(pc.unique(col).to_pylist())
        for a in present:
            i = self.asset_index.get(a)
            if a == "" or i is None or wanted[i // 2]:
                return True  # a connection row, a wanted market, or an error to report
        return False

    def select(self, markets: list[str] | None) -> np.ndarray | None:
        """Boolean mask over ``markets`` for the given keys (None: no filter)."""
        if markets is None:
            return None
        wanted = np.zeros(len(self.markets), dtype=bool)
        for key in markets:
            hits = [
                i
                for i, m in enumerate(self.markets)
                if fnmatch.fnmatchcase(m.slug, key)
                or m.condition_id == key
                or (m.event_id and m.event_id == key)
            ]
            if not hits:
                raise ConfigError("data.markets", f"no market matches {key!r} in {self.root}")
            wanted[hits] = True
        return wanted


class DatasetWriter:
    """Writes a dataset folder. Rows are validated before anything is written."""

    def __init__(
        self, root: str | Path, markets: list[MarketInfo], meta: dict | None = None
    ) -> None:
        self.root = Path(root)
        self.markets = list(markets)
        self.assets = asset_table(self.markets)
        self.asset_index = {a: i for i, a in enumerate(self.assets)}
        #: Replay-ready days from earlier reads (``sim.marketdata.day_cache``); None: off.
        self.day_cache: DayCache | None = DayCache.from_env()
        self.meta = dict(meta or {})
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "events").mkdir(exist_ok=True)
        write_markets(self.root / "markets.parquet", self.markets)
        self._write_meta()

    def _write_meta(self) -> None:
        meta = {"schema_version": SCHEMA_VERSION, **self.meta}
        (self.root / "dataset.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    def write_day(self, day: dt.date, name: str, events: EventColumns) -> Path:
        """Write ``events`` as ``events/date=DAY/market=NAME.parquet`` and return the path."""
        if not _SLUG.match(name):
            raise ValueError(f"file name part {name!r} must match {_SLUG.pattern}")
        if events.assets != self.assets:
            raise ValueError("events were built against a different asset table")
        folder = self.root / "events" / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"market={name}.parquet"
        tick_state = np.repeat(np.array([m.tick_size for m in self.markets]), 2)
        validate_columns(events, str(path), tick_state)
        lo, hi = day_start_ns(day), day_start_ns(day) + NS_PER_DAY
        outside = (events.ts_recv_ns < lo) | (events.ts_recv_ns >= hi)
        if outside.any():
            raise DataValidationError(
                str(path),
                "wrong_day",
                f"ts_recv_ns {events.ts_recv_ns[np.argmax(outside)]} is not on {day}",
                row=int(np.argmax(outside)),
            )
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(events_to_table(events), tmp, compression="zstd", row_group_size=1 << 20)
        tmp.replace(path)
        return path

    def update_meta(self, **extra: object) -> None:
        self.meta.update(extra)
        self._write_meta()


def events_to_table(events: EventColumns) -> pa.Table:
    """An Arrow table in ``EVENT_SCHEMA``; the asset dictionary holds only the assets used."""
    used, codes = np.unique(events.asset, return_inverse=True)
    names = ["" if a < 0 else events.assets[a] for a in used]
    asset_arr = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32), pa.int32()), pa.array(names, pa.string())
    )
    return pa.Table.from_arrays(
        [
            pa.array(events.ts_exchange_ns),
            pa.array(events.ts_recv_ns),
            pa.array(events.seq),
            asset_arr,
            pa.array(events.kind),
            pa.array(events.side),
            pa.array(events.price),
            pa.array(events.size),
        ],
        schema=EVENT_SCHEMA,
    )
