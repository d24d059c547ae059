"""``SqliteJournal``: the durable journal (SQLite, WAL mode) for paper and live trading."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sim.errors import ConfigError
from sim.journal.interface import JournalError, JournalRecord, _Closing
from sim.journal.payload import _DECODE, _check_kinds, _check_name, _check_ts, _encode_checked
from sim.journal.schema import (
    _COLUMNS,
    _INSERT,
    _SCHEMA,
    _UPSERT_STATE,
    SCHEMA_VERSION,
    _reason_for,
)

#: Records fetched per round trip by ``SqliteJournal.records``. Each batch is read to the end
#: under the lock, so no SQLite statement stays open while the caller handles a record.
_BATCH = 1000

#: synchronous levels that keep an acknowledged append across a process kill. OFF is refused:
#: use MemoryJournal when durability is not wanted.
_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


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
