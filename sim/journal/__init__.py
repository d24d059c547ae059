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

The package, one module per concern:

* ``sim.journal.interface``: ``Journal`` (the protocol), ``JournalRecord``, ``JournalError``;
* ``sim.journal.payload``: the payload contract, its checks and the JSON codec;
* ``sim.journal.memory``: ``MemoryJournal``;
* ``sim.journal.schema``: the SQLite layout, ``SCHEMA_VERSION``, SQLite error reasons;
* ``sim.journal.sqlite``: ``SqliteJournal`` (opening, durable writes, reading back).

What the executor writes here, and how a restart reads it back, is in ``docs/journal.md``.
"""

from sim.journal.interface import Journal, JournalError, JournalRecord
from sim.journal.memory import MemoryJournal
from sim.journal.schema import SCHEMA_VERSION
from sim.journal.sqlite import SqliteJournal

__all__ = [
    "SCHEMA_VERSION",
    "Journal",
    "JournalError",
    "JournalRecord",
    "MemoryJournal",
    "SqliteJournal",
]
