"""``MemoryJournal``: the journal interface in memory, for backtests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sim.journal.interface import JournalError, JournalRecord, _Closing
from sim.journal.payload import _DECODE, _check_kinds, _check_name, _check_ts, _encode_checked


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
