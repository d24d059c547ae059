"""The payload contract shared by both journals, its checks and the JSON codec.

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

import json
from collections.abc import Iterable

from sim.journal.interface import JournalError

#: Deeper payloads are refused; this also stops a self-referencing dict.
_MAX_DEPTH = 64

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_ENCODE = json.JSONEncoder(
    allow_nan=True, separators=(",", ":"), ensure_ascii=True, check_circular=False
).encode
_DECODE = json.JSONDecoder().decode


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
