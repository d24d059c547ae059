"""The journal's interface: the ``Journal`` protocol, ``JournalRecord`` and ``JournalError``.

Both implementations (``sim.journal.memory``, ``sim.journal.sqlite``) share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self, runtime_checkable

from sim.errors import ClobsimError


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
