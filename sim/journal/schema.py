"""The SQLite journal's on-disk layout: tables, statements, and SQLite errors as reasons."""

from __future__ import annotations

import sqlite3

#: Version of the on-disk layout. A journal with another version is refused, never migrated
#: silently: a newer clobsim may have written records this one would misread.
SCHEMA_VERSION = 1

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
