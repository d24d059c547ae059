"""The executor's journal: what happened, written down before it is acted on.

Every order state change, fill, breaker event and kill-switch event is
appended here *before* the executor acts on it, so a restarted process can
reload exactly what it knew and reconcile the rest with the venue. Two
implementations share one interface (``Journal``):

* ``SqliteJournal`` for paper and live: SQLite in WAL mode with
  ``synchronous=FULL``, one transaction per append. When ``append`` returns,
  the record is on disk and survives a process kill (and a power loss to the
  extent SQLite and the disk keep their fsync promises).
* ``MemoryJournal`` for backtests: lists and dicts, no encoding, no fsync, so
  a 7-day replay pays a fraction of a microsecond per record instead of the
  milliseconds of an fsync.

The journal fails closed: any write it cannot make raises ``JournalError``, and
callers treat that as "refuse to open risk". It never repairs or recreates a
journal it cannot read, because that would lose the history it exists to keep.

Payload contract (both implementations)
---------------------------------------
A payload or state is a ``dict`` with ``str`` keys whose values are JSON
types: ``dict`` (``str`` keys), ``list``, ``str``, ``int``, ``float``, ``bool``
and ``None``. Subclasses of ``str``/``int``/``float`` (``IntEnum`` such as
``Side``, ``StrEnum``, ``numpy.float64``) are stored as their base value and
come back as plain ``str``/``int``/``float``; tuples, sets, ``numpy.int64``
and non-``str`` keys are refused because they would not come back as written.
Floats round-trip exactly (``repr`` is shortest-exact), including ``-0.0``.
NaN and +/-infinity are *allowed*: they are written as the ``NaN`` /
``Infinity`` tokens Python's ``json`` reads back, which strict JSON parsers
(and SQLite's ``json_*`` functions) do not accept. A breaker threshold or a
mark price may legitimately be infinite, and refusing it would make the
executor refuse risk for a reason that has nothing to do with safety.

The journal takes ownership of what is passed to ``append`` and
``save_state``: do not mutate those dicts afterwards, and treat the payloads
and states read back as read-only. ``MemoryJournal`` stores them as-is
(copying would cost more than the append itself); ``MemoryJournal(strict=True)``
validates and copies exactly like ``SqliteJournal`` and is meant for unit
tests that want the backtest journal to catch what the live one would refuse.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from sim.errors import ClobsimError, ConfigError

#: Version of the on-disk layout. A journal with another version is refused, never migrated
#: silently: a newer clobsim may have written records this one would misread.
SCHEMA_VERSION = 1

#: Records fetched per round trip by ``SqliteJournal.records``. Each batch is read to the end
#: under the lock, so no SQLite statement stays open while the caller handles a record.
_BATCH = 1000

#: Deeper payloads are refused; this also stops a self-referencing dict.
_MAX_DEPTH = 64

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

#: synchronous levels that keep an acknowledged append across a process kill. OFF is refused:
#: use MemoryJournal when durability is not wanted.
_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")

_ENCODE = json.JSONEncoder(
    allow_nan=True, separators=(",", ":"), ensure_ascii=True, check_circular=False
).encode
_DECODE = json.JSONDecoder().decode


class JournalError(ClobsimError):
    """The journal cannot be opened, read or written.

    ``reason`` is machine-readable:

    * ``not_writable``: the location cannot be created or written (permissions,
      read-only file system, parent is a file, disk full, I/O error);
    * ``corrupt``: the file is not an SQLite database, is damaged, is not a
      clobsim journal, or holds a record that does not decode;
    * ``schema_version``: a clobsim journal with a layout this version does not read;
    * ``locked``: another process has the journal open (one writer per journal);
    * ``closed``: the journal was closed;
    * ``failed``: an earlier write failed, so the journal refuses every further
      write until it is reopened (what is on disk is then checked again);
    * ``invalid_record``: the record or state breaks the payload contract.

    ``path`` is the journal file (``None`` for a ``MemoryJournal``).
    """

    def __init__(self, reason: str, detail: str, path: str | Path | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.path = None if path is None else str(path)
        where = "" if self.path is None else f"{self.path}: "
        super().__init__(f"{where}{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One appended record. ``seq`` is 1, 2, 3, ... in append order, never reused."""

    seq: int
    ts_ns: int
    kind: str
    key: str
    payload: dict


@runtime_checkable
class Journal(Protocol):
    """What the executor writes before it acts, and reads back when it restarts.

    Single writer: one journal object per executor, one process per journal
    file. Any method raises ``JournalError`` when it cannot do what it says
    (``closed`` after ``close()``).
    """

    def append(self, kind: str, ts_ns: int, key: str, payload: dict) -> int:
        """Write one record and return its ``seq``.

        When this returns, the record is durable (for a durable journal). On
        ``JournalError`` nothing was acknowledged: refuse to open risk.
        """
        ...

    def records(
        self, kinds: Iterable[str] | None = None, since_seq: int = 0
    ) -> Iterator[JournalRecord]:
        """Records with ``seq > since_seq`` (of the given kinds, if any), in seq order.

        The upper bound is fixed when ``records`` is called: records appended
        while iterating are not yielded (iterate again with ``since_seq``).
        """
        ...

    def save_state(self, name: str, state: dict, ts_ns: int) -> None:
        """Replace the snapshot ``name`` (breaker counters, kill-switch state, ...)."""
        ...

    def load_state(self, name: str) -> dict | None:
        """The latest snapshot saved as ``name``, or None if there is none."""
        ...

    @property
    def last_seq(self) -> int:
        """The seq of the last record appended (0 for an empty journal); also after close."""
        ...

    def close(self) -> None:
        """Release the journal. Idempotent; every other call raises ``closed`` afterwards."""
        ...

    def __enter__(self) -> Journal: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


# -- validation shared by both implementations ---------------------------------------------


def _check_name(what: str, value: object, path: str | None) -> None:
    if type(value) is not str:
        raise JournalError(
            "invalid_record", f"{what} must be str, got {type(value).__name__}", path
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JournalError(
            "invalid_record", f"{what} {value!r} is not valid UTF-8: {exc}", path
        ) from exc


def _check_ts(ts_ns: object, path: str | None) -> None:
    if type(ts_ns) is not int:
        raise JournalError("invalid_record", f"ts_ns must be int, got {type(ts_ns).__name__}", path)
    if not _INT64_MIN <= ts_ns <= _INT64_MAX:
        raise JournalError("invalid_record", f"ts_ns {ts_ns} does not fit in 64 bits", path)


def _check_json(value: object, where: str, depth: int, path: str | None) -> None:
    """Refuse anything that would not come back from JSON as it went in."""
    t = type(value)
    if t is str or t is float or t is int or t is bool or value is None:
        return
    if t is dict:
        if depth >= _MAX_DEPTH:
            raise JournalError("invalid_record", f"{where}: nested deeper than {_MAX_DEPTH}", path)
        for k, v in value.items():  # type: ignore[attr-defined]
            if type(k) is not str:
                raise JournalError(
                    "invalid_record",
                    f"{where}: key {k!r} is {type(k).__name__}; JSON keys are str",
                    path,
                )
            _check_json(v, f"{where}.{k}", depth + 1, path)
        return
    if t is list:
        if depth >= _MAX_DEPTH:
            raise JournalError("invalid_record", f"{where}: nested deeper than {_MAX_DEPTH}", path)
        for i, v in enumerate(value):  # type: ignore[arg-type]
            _check_json(v, f"{where}[{i}]", depth + 1, path)
        return
    if isinstance(value, str | int | float):
        return  # IntEnum, StrEnum, numpy.float64: JSON keeps the value, not the type
    raise JournalError(
        "invalid_record",
        f"{where}: {t.__name__} is not a JSON type (dict, list, str, int, float, bool, None)",
        path,
    )


def _encode_checked(what: str, value: object, path: str | None) -> str:
    if type(value) is not dict:
        raise JournalError(
            "invalid_record", f"{what} must be a dict, got {type(value).__name__}", path
        )
    _check_json(value, what, 0, path)
    return _ENCODE(value)


def _check_kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        # records(kinds="fill") would otherwise filter on the letters f, i, l
        raise TypeError("kinds must be an iterable of str, not a str: use records(kinds=[kind])")
    return frozenset(kinds)


class _Closing:
    """``with journal:`` closes it (both journals)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()  # type: ignore[attr-defined]


# -- in memory ------------------------------------------------------------------------------


class MemoryJournal(_Closing):
    """The journal interface in memory, for backtests: nothing is durable.

    ``append`` costs a few hundred nanoseconds: no validation, no copy, no
    encoding. Payloads are kept by reference, so they must not be mutated after
    ``append`` (see the module docstring). The fields go into four parallel
    lists rather than one tuple per record: a tuple holding a dict is tracked
    by the cyclic GC, and a million of them made each append cost ~3x more in
    GC passes than the append itself.

    ``strict=True`` validates every record and state against the payload
    contract and stores the JSON text, decoding a fresh copy on every read:
    results, errors and aliasing are then exactly those of ``SqliteJournal``.

    Not thread-safe: a backtest drives the executor from one thread.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self._ts: list[int] = []
        self._kinds: list[str] = []
        self._keys: list[str] = []
        self._payloads: list[object] = []  # dicts, or their JSON text when strict
        self._states: dict[str, object] = {}
        self._closed = False

    def append(self, kind: str, ts_ns: int, key: str, payload: dict) -> int:
        if self._closed:
            raise JournalError("closed", "append after close")
        if self.strict:
            _check_name("kind", kind, None)
            _check_name("key", key, None)
            _check_ts(ts_ns, None)
            payload = _encode_checked("payload", payload, None)  # type: ignore[assignment]
        self._kinds.append(kind)
        self._keys.append(key)
        self._payloads.append(payload)
        ts = self._ts
        ts.append(ts_ns)
        return len(ts)

    @property
    def last_seq(self) -> int:
        return len(self._ts)

    def records(
        self, kinds: Iterable[str] | None = None, since_seq: int = 0
    ) -> Iterator[JournalRecord]:
        self._check_open("records")
        return self._iter(_check_kinds(kinds), max(int(since_seq), 0), len(self._ts))

    def _iter(self, kinds: frozenset[str] | None, lo: int, hi: int) -> Iterator[JournalRecord]:
        all_kinds, strict = self._kinds, self.strict
        for i in range(lo, hi):
            if self._closed:
                raise JournalError("closed", "journal closed while reading records")
            kind = all_kinds[i]
            if kinds is None or kind in kinds:
                payload = self._payloads[i]
                if strict:
                    payload = _DECODE(payload)  # type: ignore[arg-type]
                yield JournalRecord(i + 1, self._ts[i], kind, self._keys[i], payload)  # type: ignore[arg-type]

    def save_state(self, name: str, state: dict, ts_ns: int) -> None:
        self._check_open("save_state")
        if self.strict:
            _check_name("state name", name, None)
            _check_ts(ts_ns, None)
            state = _encode_checked("state", state, None)  # type: ignore[assignment]
        self._states[name] = state

    def load_state(self, name: str) -> dict | None:
        self._check_open("load_state")
        state = self._states.get(name)
        if self.strict and state is not None:
            return _DECODE(state)  # type: ignore[arg-type]
        return state  # type: ignore[return-value]

    def close(self) -> None:
        self._closed = True

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise JournalError("closed", f"{what} after close")

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._ts)} records"
        return f"MemoryJournal({state}{', strict' if self.strict else ''})"


# -- SQLite ---------------------------------------------------------------------------------

_SCHEMA = (
    """CREATE TABLE schema_version (
        version INTEGER NOT NULL,
        created_ns INTEGER NOT NULL,
        opened_ns INTEGER NOT NULL
    )""",
    """CREATE TABLE records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL
    )""",
    "CREATE INDEX records_kind_key ON records (kind, key)",
    """CREATE TABLE state (
        name TEXT PRIMARY KEY,
        ts_ns INTEGER NOT NULL,
        state TEXT NOT NULL
    )""",
)

#: Column names and declared types of each table, checked on every open.
_COLUMNS = {
    "schema_version": [
        ("version", "INTEGER"),
        ("created_ns", "INTEGER"),
        ("opened_ns", "INTEGER"),
    ],
    "records": [
        ("seq", "INTEGER"),
        ("ts_ns", "INTEGER"),
        ("kind", "TEXT"),
        ("key", "TEXT"),
        ("payload", "TEXT"),
    ],
    "state": [("name", "TEXT"), ("ts_ns", "INTEGER"), ("state", "TEXT")],
}

_INSERT = "INSERT INTO records (ts_ns, kind, key, payload) VALUES (?, ?, ?, ?)"
_UPSERT_STATE = (
    "INSERT INTO state (name, ts_ns, state) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET ts_ns = excluded.ts_ns, state = excluded.state"
)


def _reason_for(exc: sqlite3.Error) -> str:
    """Map an SQLite error to a JournalError reason."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return "corrupt"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "locked"
    return "not_writable"


class SqliteJournal(_Closing):
    """A durable journal in one SQLite file (WAL mode), for paper and live trading.

    Opening creates the parent folder and the schema if the file is new or
    empty; anything else must already be a clobsim journal of this schema
    version and pass ``PRAGMA quick_check`` (``check_integrity=False`` skips
    that scan for very large journals). Opening also writes to the file, so a
    journal that cannot be written is refused at open (``not_writable``) rather
    than on the first order. A journal that cannot be read is never recreated.

    Durability: one transaction per ``append`` / ``save_state``, committed
    before the call returns. With ``synchronous="FULL"`` (the default) every
    commit fsyncs the WAL, so an acknowledged record survives a process kill
    and a power loss (to the extent the disk honours fsync); it costs one
    fsync per record (milliseconds on an ordinary disk).
    ``synchronous="NORMAL"`` skips that fsync: a process kill still loses
    nothing acknowledged (the record is in the OS page cache), a power loss may
    lose the last commits. There is no group commit: batching appends would
    delay the acknowledgement the executor waits for before acting.

    One writer: the file is held with an exclusive lock (``locking_mode=
    EXCLUSIVE``) while open, so a second process (a second executor on the same
    journal) is refused with ``locked`` and other programs cannot read it until
    it is closed. The lock dies with the process, also on SIGKILL. Within the
    process the object may be shared between threads: every use of the
    connection is serialised by a lock.

    After a failed write the journal refuses every further write
    (``failed``): SQLite may not know what reached the disk (an fsync error),
    and only a reopen checks that again.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "FULL",
        check_integrity: bool = True,
        busy_timeout_s: float = 1.0,
    ) -> None:
        sync = str(synchronous).upper()
        if sync not in _SYNCHRONOUS:
            raise ConfigError(
                "journal.synchronous",
                f"must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r} "
                "(use MemoryJournal when durability is not wanted)",
            )
        self.path = Path(path).absolute()
        self.synchronous = sync
        self._where = str(self.path)
        self._lock = threading.Lock()
        self._failed: str | None = None
        self._closed = False
        self._conn = self._open(check_integrity, busy_timeout_s)
        try:
            rows = self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchall()
        except sqlite3.Error as exc:
            self._conn.close()
            raise JournalError(
                _reason_for(exc), f"cannot read records: {exc}", self._where
            ) from exc
        self._last_seq: int = rows[0][0]

    # -- opening ----------------------------------------------------------------------------
    def _open(self, check_integrity: bool, busy_timeout_s: float) -> sqlite3.Connection:
        where = self._where
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError("not_writable", f"cannot create the folder: {exc}", where) from exc
        if self.path.is_dir():
            raise JournalError("not_writable", "is a directory", where)
        try:
            conn = sqlite3.connect(
                where, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise JournalError(_reason_for(exc), f"cannot open: {exc}", where) from exc
        try:
            self._configure(conn, check_integrity)
            self._init_schema(conn)
        except JournalError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise JournalError(_reason_for(exc), f"cannot open: {exc}", where) from exc
        return conn

    def _configure(self, conn: sqlite3.Connection, check_integrity: bool) -> None:
        where = self._where
        # Exclusive before WAL: no shared-memory index, and a second writer is refused.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE").fetchall()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchall()[0][0]
        if str(mode).lower() != "wal":
            raise JournalError("not_writable", f"WAL mode unavailable (journal_mode={mode})", where)
        conn.execute(f"PRAGMA synchronous={self.synchronous}").fetchall()
        if check_integrity:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise JournalError("corrupt", f"quick_check: {'; '.join(problems[:5])}", where)

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        """Create the schema in a new file, check it in an existing one, and prove writability."""
        now = time.time_ns()
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
            }
            if not tables:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?)", (SCHEMA_VERSION, now, now)
                )
            else:
                self._check_schema(conn, tables)
                # a real write, so an unwritable journal is refused now, not on the first order
                conn.execute("UPDATE schema_version SET opened_ns = ?", (now,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # keep the original error
                    conn.execute("ROLLBACK")
            raise

    def _check_schema(self, conn: sqlite3.Connection, tables: set[str]) -> None:
        where = self._where
        if "schema_version" not in tables:
            raise JournalError(
                "corrupt", f"not a clobsim journal (tables: {', '.join(sorted(tables))})", where
            )
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
        if len(versions) != 1:
            raise JournalError("corrupt", f"{len(versions)} schema_version rows, expected 1", where)
        if versions[0][0] != SCHEMA_VERSION:
            raise JournalError(
                "schema_version",
                f"journal schema version {versions[0][0]!r}, this clobsim reads {SCHEMA_VERSION}",
                where,
            )
        for table, expected in _COLUMNS.items():
            found = [
                (r[1], str(r[2]).upper())
                for r in conn.execute(f"PRAGMA table_info({table})").fetchall()
            ]
            if found != expected:
                raise JournalError(
                    "corrupt", f"table {table} has columns {found}, expected {expected}", where
                )

    # -- writing ----------------------------------------------------------------------------
    def append(self, kind: str, ts_ns: int, key: str, payload: dict) -> int:
        where = self._where
        _check_name("kind", kind, where)
        _check_name("key", key, where)
        _check_ts(ts_ns, where)
        text = _encode_checked("payload", payload, where)
        with self._lock:
            conn = self._writable("append")
            try:
                seq = conn.execute(_INSERT, (ts_ns, kind, key, text)).lastrowid
            except sqlite3.Error as exc:
                raise self._fail("append", exc) from exc
            self._last_seq = seq  # type: ignore[assignment]
            return seq  # type: ignore[return-value]

    def save_state(self, name: str, state: dict, ts_ns: int) -> None:
        where = self._where
        _check_name("state name", name, where)
        _check_ts(ts_ns, where)
        text = _encode_checked("state", state, where)
        with self._lock:
            conn = self._writable("save_state")
            try:
                conn.execute(_UPSERT_STATE, (name, ts_ns, text))
            except sqlite3.Error as exc:
                raise self._fail("save_state", exc) from exc

    def _writable(self, what: str) -> sqlite3.Connection:
        if self._closed:
            raise JournalError("closed", f"{what} after close", self._where)
        if self._failed is not None:
            raise JournalError(
                "failed", f"{what} refused: an earlier write failed ({self._failed})", self._where
            )
        return self._conn

    def _fail(self, what: str, exc: sqlite3.Error) -> JournalError:
        """A write failed: refuse all further writes and say why."""
        self._failed = f"{what}: {exc}"
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        return JournalError(_reason_for(exc), f"{what} failed: {exc}", self._where)

    # -- reading ----------------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        return self._last_seq

    def records(
        self, kinds: Iterable[str] | None = None, since_seq: int = 0
    ) -> Iterator[JournalRecord]:
        self._check_open("records")
        kindset = _check_kinds(kinds)
        if kindset is not None and not kindset:
            return iter(())
        return self._iter(kindset, max(int(since_seq), 0), self._last_seq)

    def _iter(self, kinds: frozenset[str] | None, lo: int, hi: int) -> Iterator[JournalRecord]:
        # Rowid range scan (the kind filter must not pick the (kind, key) index: that would
        # re-sort every matching record per batch). Keyset pagination, each batch read to
        # the end, so appends between batches commit as usual.
        sql = "SELECT seq, ts_ns, kind, key, payload FROM records WHERE seq > ? AND seq <= ?"
        args: list[object] = []
        if kinds is not None:
            sql += f" AND +kind IN ({', '.join('?' * len(kinds))})"
            args.extend(sorted(kinds))
        sql += f" ORDER BY seq LIMIT {_BATCH}"
        while lo < hi:
            with self._lock:
                self._check_open("records")
                try:
                    rows = self._conn.execute(sql, (lo, hi, *args)).fetchall()
                except sqlite3.Error as exc:
                    raise JournalError(
                        _reason_for(exc), f"reading records: {exc}", self._where
                    ) from exc
            if not rows:
                return
            for seq, ts_ns, kind, key, text in rows:
                if self._closed:
                    raise JournalError(
                        "closed", "journal closed while reading records", self._where
                    )
                yield JournalRecord(seq, ts_ns, kind, key, self._decode(text, f"record {seq}"))
            lo = rows[-1][0]

    def load_state(self, name: str) -> dict | None:
        with self._lock:
            self._check_open("load_state")
            try:
                rows = self._conn.execute(
                    "SELECT state FROM state WHERE name = ?", (name,)
                ).fetchall()
            except sqlite3.Error as exc:
                raise JournalError(_reason_for(exc), f"reading state: {exc}", self._where) from exc
        return self._decode(rows[0][0], f"state {name!r}") if rows else None

    def _decode(self, text: object, what: str) -> dict:
        try:
            value = _DECODE(text)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise JournalError("corrupt", f"{what} does not decode: {exc}", self._where) from exc
        if type(value) is not dict:
            raise JournalError(
                "corrupt", f"{what} is {type(value).__name__}, expected a dict", self._where
            )
        return value

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise JournalError("closed", f"{what} after close", self._where)

    # -- closing ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()

    def __del__(self) -> None:
        # sqlite3 connections sit in reference cycles, so a journal dropped without close()
        # would hold its exclusive lock until the cyclic GC runs: release it now instead.
        conn = getattr(self, "_conn", None)
        if conn is not None and not getattr(self, "_closed", True):
            self._closed = True
            with contextlib.suppress(Exception):
                conn.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"last_seq={self._last_seq}"
        return f"SqliteJournal({self._where!r}, synchronous={self.synchronous}, {state})"
