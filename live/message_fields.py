"""Field readers shared by the market- and user-channel parsers.

Each helper reads one field of a decoded message and either returns it as a
Python value or raises ``MessageParseError`` with a reason from
``live.market_messages.REASONS`` and a detail naming the field. ``ParseNote``
is the repair record both parsers append to a caller's ``notes`` list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sim.errors import MessageParseError
from sim.types import VALID_TICK_SIZES, Side

#: A decimal number as Polymarket writes one; a leading minus is allowed so
#: negative sizes are reported as ``negative_size`` rather than ``bad_number``.
_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MIN_MS = 100_000_000_000  # 1973-03-03 in ms; anything smaller is seconds (or junk)
_MAX_MS = 7_258_118_400_000  # 2200-01-01 in ms; anything larger is us or ns (or junk)
_MAX_AHEAD_NS = 86_400 * 1_000_000_000  # how far past recv_ns a venue clock may be
_SIDES: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}


@dataclass(frozen=True, slots=True)
class ParseNote:
    """A repair made while parsing a message that was still returned (``NOTES``)."""

    reason: str
    detail: str
    raw: object = None


Notes = list[ParseNote]


# -- field helpers -----------------------------------------------------------------------------


def _fail(reason: str, detail: str, raw: object) -> MessageParseError:
    return MessageParseError(reason, detail, raw)


def _absent(value: Any) -> bool:
    """An optional field the venue left out: absent (``None`` from ``.get``), null or ``""``."""
    return value is None or (isinstance(value, str) and value == "")


def _get(msg: Mapping[str, Any], key: str, where: str, raw: object) -> Any:
    try:
        value = msg[key]
    except KeyError:
        raise _fail("missing_field", f"{where}{key}: field is missing", raw) from None
    if value is None:
        raise _fail("missing_field", f"{where}{key}: field is null", raw)
    return value


def _str(msg: Mapping[str, Any], key: str, where: str, raw: object) -> str:
    value = _get(msg, key, where, raw)
    if not isinstance(value, str):
        raise _fail("bad_type", f"{where}{key}: expected a string, got {value!r}", raw)
    if not value:
        raise _fail("missing_field", f"{where}{key}: field is empty", raw)
    return value


def _opt_str(msg: Mapping[str, Any], key: str, where: str, raw: object) -> str:
    value = msg.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _fail("bad_type", f"{where}{key}: expected a string, got {value!r}", raw)
    return value


def _number(value: Any, field: str, raw: object) -> float:
    """A finite float from a decimal string (or a JSON number, but never a bool)."""
    try:
        if isinstance(value, str):
            if not _DECIMAL.fullmatch(value):
                raise _fail("bad_number", f"{field}: {value!r} is not a decimal number", raw)
            out = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out = float(value)
        else:
            raise _fail("bad_number", f"{field}: {value!r} is not a decimal number", raw)
    except OverflowError:  # float() of an integer beyond the float range
        raise _fail("bad_number", f"{field}: {value!r} is not finite", raw) from None
    if not math.isfinite(out):
        raise _fail("bad_number", f"{field}: {value!r} is not finite", raw)
    return out


def _price(value: Any, field: str, raw: object) -> float:
    p = _number(value, field, raw)
    if not 0.0 < p < 1.0:
        raise _fail("price_out_of_range", f"{field}: {value!r} is outside (0, 1)", raw)
    return p


def _size(value: Any, field: str, raw: object) -> float:
    s = _number(value, field, raw)
    if s < 0.0:
        raise _fail("negative_size", f"{field}: {value!r} is negative", raw)
    return s


def _top(value: Any, field: str, raw: object) -> float | None:
    """A best bid/ask: ``None`` for an empty side (absent, null, ``""``, 0 or 1)."""
    if _absent(value):
        return None
    p = _number(value, field, raw)
    if p == 0.0 or p == 1.0:
        return None
    if not 0.0 < p < 1.0:
        raise _fail("price_out_of_range", f"{field}: {value!r} is outside [0, 1]", raw)
    return p


def _tick(value: Any, field: str, raw: object) -> float:
    t = _number(value, field, raw)
    for valid in VALID_TICK_SIZES:
        if abs(t - valid) < 1e-12:
            return valid
    raise _fail("bad_tick_size", f"{field}: {value!r} is not one of {VALID_TICK_SIZES}", raw)


def _side(value: Any, field: str, raw: object) -> Side:
    side = _SIDES.get(value) if isinstance(value, str) else None
    if side is None and isinstance(value, str):
        side = _SIDES.get(value.strip().upper())
    if side is None:
        raise _fail("bad_side", f"{field}: {value!r} is not BUY or SELL", raw)
    return side


def _int_stamp(value: Any, field: str, raw: object) -> int:
    """The non-negative integer a timestamp field holds (a digit string or a JSON integer)."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise _fail("bad_timestamp", f"{field}: {value!r} is not an integer", raw)
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise _fail("bad_timestamp", f"{field}: {value!r} is not an integer", raw)


def _check_ms(ms: int, value: Any, field: str, raw: object, recv_ns: int) -> int:
    """``ms`` as ns, or ``implausible_timestamp`` (module docstring)."""
    if ms < _MIN_MS:
        raise _fail(
            "implausible_timestamp", f"{field}: {value!r} is before 1973 as ms (seconds?)", raw
        )
    if ms > _MAX_MS:
        raise _fail(
            "implausible_timestamp",
            f"{field}: {value!r} is after 2200 as ms (micro- or nanoseconds?)",
            raw,
        )
    ns = ms * 1_000_000
    if recv_ns > 0 and ns - recv_ns > _MAX_AHEAD_NS:
        raise _fail(
            "implausible_timestamp",
            f"{field}: {value!r} is more than a day after the receive time {recv_ns} ns",
            raw,
        )
    return ns


def _ts_ns(msg: Mapping[str, Any], raw: object, recv_ns: int) -> int:
    value = _get(msg, "timestamp", "", raw)
    return _check_ms(_int_stamp(value, "timestamp", raw), value, "timestamp", raw, recv_ns)


def _list(msg: Mapping[str, Any], key: str, where: str, raw: object) -> list[Any]:
    value = _get(msg, key, where, raw)
    if not isinstance(value, list):
        raise _fail("bad_type", f"{where}{key}: expected a list, got {type(value).__name__}", raw)
    return value


def _obj(value: Any, field: str, raw: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail("not_an_object", f"{field}: expected an object, got {value!r}", raw)
    return value
