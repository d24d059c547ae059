"""Polymarket market-channel WebSocket frames -> ``sim.events``.

This is the edge: raw JSON goes in, frozen ``sim.events`` objects come out and
nothing deeper ever sees a dict. Formats follow the protocol reference, section
6.1 (``book``, ``price_change`` in its current and legacy form,
``last_trade_price``, ``tick_size_change``, ``best_bid_ask``,
``market_resolved``).

Two entry points:

* ``parse_market_frame(frame, recv_ns)`` is strict: the first problem raises
  ``MessageParseError`` (for an array frame that loses the rest of the array).
  Use it where one bad byte should stop the world (tests, offline conversion).
* ``MarketFrameParser().parse(frame, recv_ns)`` never raises for bad input: each
  bad message is counted in ``.errors`` by reason, kept in ``.rejected`` (the
  last ``max_rejected``) and logged at WARNING, and the good messages of the same
  array frame are still returned. Use it on the live socket.

Every rejection carries a machine-readable ``reason`` (``REASONS`` lists them),
``raw`` (the offending message, or the whole frame when it could not be decoded)
and a detail naming the field, e.g. ``price_changes[1].price: 'abc' is not a
decimal number``. Nothing is dropped silently: ``new_market`` and any unknown
``event_type`` are rejected with ``unknown_event_type``.

Conventions:

* Timestamps are millisecond strings; ``ts_exchange_ns = int(ms) * 1_000_000``
  exactly (integer arithmetic, no float rounding).
* Prices and sizes are decimal strings (``"0.5"``, ``".48"``, ``"1e-3"``) parsed
  to ``float``; JSON numbers are accepted too. Non-finite values are
  ``bad_number``. Level and trade prices must lie strictly inside (0, 1).
* ``best_bid``/``best_ask`` (``price_change`` entries and ``best_bid_ask``): a
  missing, null or empty field, ``"0"`` or ``"1"`` means *that side is empty* and
  becomes ``None``. Polymarket reports an empty side with the sentinel prices 0
  and 1 (reference 6.1 shows ``"best_ask":"1"`` and ``"best_bid":"0"``); neither
  can be a resting price, so reading them as prices would invent a level.
* ``market`` (the condition id) is optional and defaults to ``""``: the asset id
  identifies the book, and rejecting a whole book over a missing label would be
  worse than carrying an empty one.
* ``book`` levels are re-sorted best first (bids descending, asks ascending).
  Polymarket sends the best level LAST, but some payloads in the wild (and the
  nautilus_trader test data) send it first, so the parser sorts instead of
  reversing.
* A message without ``event_type`` is classified by its shape when exactly one
  shape fits (``bids``+``asks`` -> book, ``price_changes``/``changes`` ->
  price_change, ``new_tick_size`` -> tick_size_change, ``winning_asset_id`` ->
  market_resolved, ``best_bid``+``best_ask`` -> best_bid_ask, ``price``+``side``
  +``size`` -> last_trade_price). The live feed always tags its messages, but
  tag-less copies of the same payloads exist (nautilus_trader's per-type test
  data ``ws_book_snapshot.json``, ``ws_quotes.json``, ``ws_last_trade.json``,
  ``ws_tick_size_change.json``; recordings made by deserialising into per-type
  structs). A message matching no shape, or several, is ``missing_field``.
* A ``price_change`` message is parsed atomically: one bad entry rejects the
  whole message, since its entries form one update of the venue's book.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from sim.errors import MessageParseError
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    Level,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.types import VALID_TICK_SIZES, Side

__all__ = [
    "REASONS",
    "MarketFrameParser",
    "is_keepalive",
    "parse_market_frame",
    "parse_market_message",
]

logger = logging.getLogger(__name__)

#: Every ``MessageParseError.reason`` this module raises.
REASONS: frozenset[str] = frozenset(
    {
        "keepalive",  # a text PING/PONG frame: not market data
        "invalid_json",  # not decodable as UTF-8 JSON
        "not_an_object",  # the frame (or an array element) is not a JSON object
        "missing_field",  # a required field is absent (or no event_type and no known shape)
        "bad_type",  # a field has the wrong JSON type (e.g. ``bids`` not a list)
        "bad_number",  # a price/size/fee is not a finite decimal number
        "bad_timestamp",  # a timestamp is not a non-negative integer of ms within int64 ns
        "bad_side",  # ``side`` is not BUY or SELL
        "price_out_of_range",  # a price outside (0, 1) (or a best bid/ask outside [0, 1])
        "negative_size",  # a size (or fee rate) below 0
        "bad_tick_size",  # a tick size Polymarket does not use
        "unknown_winner",  # ``winning_asset_id`` is not one of ``assets_ids``
        "unknown_event_type",  # ``new_market`` or an event_type this parser does not know
    }
)

_KEEPALIVES = frozenset({"PING", "PONG"})
#: A decimal number as Polymarket writes one; a leading minus is allowed so
#: negative sizes are reported as ``negative_size`` rather than ``bad_number``.
_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MAX_MS = (2**63 - 1) // 1_000_000  # larger ms timestamps overflow int64 nanoseconds
_SIDES: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}
_MAX_RAW_LOG = 500  # characters of an offending payload shown in a log line


# -- field helpers -----------------------------------------------------------------------------


def _fail(reason: str, detail: str, raw: object) -> MessageParseError:
    return MessageParseError(reason, detail, raw)


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
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            raise _fail("bad_number", f"{field}: {value!r} is not a decimal number", raw)
        out = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        out = float(value)
    else:
        raise _fail("bad_number", f"{field}: {value!r} is not a decimal number", raw)
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
    if value is None or value == "":
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


def _ts_ns(msg: Mapping[str, Any], where: str, raw: object) -> int:
    value = _get(msg, "timestamp", where, raw)
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise _fail("bad_timestamp", f"{where}timestamp: {value!r} is not integer ms", raw)
        ms = int(value)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        ms = value
    else:
        raise _fail("bad_timestamp", f"{where}timestamp: {value!r} is not integer ms", raw)
    if ms > _MAX_MS:
        raise _fail("bad_timestamp", f"{where}timestamp: {value!r} overflows int64 ns", raw)
    return ms * 1_000_000


def _list(msg: Mapping[str, Any], key: str, where: str, raw: object) -> list[Any]:
    value = _get(msg, key, where, raw)
    if not isinstance(value, list):
        raise _fail("bad_type", f"{where}{key}: expected a list, got {type(value).__name__}", raw)
    return value


def _obj(value: Any, field: str, raw: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _fail("not_an_object", f"{field}: expected an object, got {value!r}", raw)
    return value


# -- one message per event_type ----------------------------------------------------------------


def _levels(msg: Mapping[str, Any], key: str, raw: object) -> list[Level]:
    out: list[Level] = []
    for i, entry in enumerate(_list(msg, key, "", raw)):
        where = f"{key}[{i}]"
        lv = _obj(entry, where, raw)
        out.append(
            (
                _price(_get(lv, "price", where + ".", raw), where + ".price", raw),
                _size(_get(lv, "size", where + ".", raw), where + ".size", raw),
            )
        )
    return out


def _level_price(level: Level) -> float:
    return level[0]


def _book(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    bids = _levels(msg, "bids", msg)
    asks = _levels(msg, "asks", msg)
    tick = msg.get("tick_size")
    return [
        BookSnapshot(
            ts_exchange_ns=_ts_ns(msg, "", msg),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            # sorted() is stable and linear on the reversed runs Polymarket sends.
            bids=tuple(sorted(bids, key=_level_price, reverse=True)),
            asks=tuple(sorted(asks, key=_level_price)),
            tick_size=None if tick is None or tick == "" else _tick(tick, "tick_size", msg),
            hash=_opt_str(msg, "hash", "", msg),
        )
    ]


def _price_change(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    ts = _ts_ns(msg, "", msg)
    market = _opt_str(msg, "market", "", msg)
    out: list[MarketEvent] = []
    if "price_changes" in msg:  # current format (since 2025-09-15): asset id per entry
        for i, entry in enumerate(_list(msg, "price_changes", "", msg)):
            where = f"price_changes[{i}]."
            ch = _obj(entry, where[:-1], msg)
            out.append(
                LevelChange(
                    ts_exchange_ns=ts,
                    ts_recv_ns=recv_ns,
                    asset_id=_str(ch, "asset_id", where, msg),
                    market=market,
                    side=_side(_get(ch, "side", where, msg), where + "side", msg),
                    price=_price(_get(ch, "price", where, msg), where + "price", msg),
                    size=_size(_get(ch, "size", where, msg), where + "size", msg),
                    best_bid=_top(ch.get("best_bid"), where + "best_bid", msg),
                    best_ask=_top(ch.get("best_ask"), where + "best_ask", msg),
                )
            )
        return out
    if "changes" not in msg:
        raise _fail("missing_field", "price_changes: field is missing (nor legacy changes)", msg)
    # Legacy format (before 2025-09-15): one asset per message, no best bid/ask.
    asset_id = _str(msg, "asset_id", "", msg)
    for i, entry in enumerate(_list(msg, "changes", "", msg)):
        where = f"changes[{i}]."
        ch = _obj(entry, where[:-1], msg)
        out.append(
            LevelChange(
                ts_exchange_ns=ts,
                ts_recv_ns=recv_ns,
                asset_id=asset_id,
                market=market,
                side=_side(_get(ch, "side", where, msg), where + "side", msg),
                price=_price(_get(ch, "price", where, msg), where + "price", msg),
                size=_size(_get(ch, "size", where, msg), where + "size", msg),
            )
        )
    return out


def _last_trade(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    fee = msg.get("fee_rate_bps")
    fee_bps = 0.0 if fee is None or fee == "" else _size(fee, "fee_rate_bps", msg)
    return [
        TradePrint(
            ts_exchange_ns=_ts_ns(msg, "", msg),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            side=_side(_get(msg, "side", "", msg), "side", msg),
            price=_price(_get(msg, "price", "", msg), "price", msg),
            size=_size(_get(msg, "size", "", msg), "size", msg),
            fee_rate_bps=fee_bps,
        )
    ]


def _tick_size_change(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    return [
        TickSizeChange(
            ts_exchange_ns=_ts_ns(msg, "", msg),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            old_tick_size=_tick(_get(msg, "old_tick_size", "", msg), "old_tick_size", msg),
            new_tick_size=_tick(_get(msg, "new_tick_size", "", msg), "new_tick_size", msg),
        )
    ]


def _best_bid_ask(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    return [
        BestBidAsk(
            ts_exchange_ns=_ts_ns(msg, "", msg),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            best_bid=_top(msg.get("best_bid"), "best_bid", msg),
            best_ask=_top(msg.get("best_ask"), "best_ask", msg),
        )
    ]


def _market_resolved(msg: Mapping[str, Any], recv_ns: int) -> list[MarketEvent]:
    assets: list[str] = []
    for i, a in enumerate(_list(msg, "assets_ids", "", msg)):
        if not isinstance(a, str) or not a:
            raise _fail("bad_type", f"assets_ids[{i}]: expected a token id, got {a!r}", msg)
        assets.append(a)
    if not assets:
        raise _fail("missing_field", "assets_ids: list is empty", msg)
    winner = _str(msg, "winning_asset_id", "", msg)
    if winner not in assets:
        raise _fail("unknown_winner", f"winning_asset_id: {winner} is not in assets_ids", msg)
    return [
        MarketResolved(
            ts_exchange_ns=_ts_ns(msg, "", msg),
            ts_recv_ns=recv_ns,
            market=_opt_str(msg, "market", "", msg),
            asset_ids=tuple(assets),
            winning_asset_id=winner,
        )
    ]


_Handler = Callable[[Mapping[str, Any], int], list[MarketEvent]]
_HANDLERS: dict[str, _Handler] = {
    "book": _book,
    "price_change": _price_change,
    "last_trade_price": _last_trade,
    "tick_size_change": _tick_size_change,
    "best_bid_ask": _best_bid_ask,
    "market_resolved": _market_resolved,
}


def _infer_event_type(msg: Mapping[str, Any]) -> str:
    """The event_type of an untagged message, from the one shape it fits (module docstring)."""
    fits = []
    if "bids" in msg and "asks" in msg:
        fits.append("book")
    if "price_changes" in msg or "changes" in msg:
        fits.append("price_change")
    if "new_tick_size" in msg:
        fits.append("tick_size_change")
    if "winning_asset_id" in msg:
        fits.append("market_resolved")
    if "best_bid" in msg and "best_ask" in msg:
        fits.append("best_bid_ask")
    if "price" in msg and "side" in msg and "size" in msg:
        fits.append("last_trade_price")
    if len(fits) != 1:
        shapes = f"it fits {fits}" if fits else "it fits no known shape"
        raise _fail("missing_field", f"event_type: field is missing and {shapes}", msg)
    return fits[0]


# -- public API --------------------------------------------------------------------------------


def is_keepalive(frame: object) -> bool:
    """True for a text ``PING``/``PONG`` frame (any case, surrounding whitespace ignored).

    Keep-alives say nothing about data flow (reference 9.5), so callers want them
    apart from market data: a socket that only answers PONG is still stale.
    """
    if isinstance(frame, bytes | bytearray):
        if len(frame) > 16:
            return False
        try:
            frame = frame.decode("ascii")
        except UnicodeDecodeError:
            return False
    return isinstance(frame, str) and len(frame) <= 16 and frame.strip().upper() in _KEEPALIVES


def _decode(frame: str | bytes | bytearray | dict | list) -> list[Any]:
    """The messages of a frame: a list of (not yet checked) elements."""
    if isinstance(frame, dict):
        return [frame]
    if isinstance(frame, list):
        return frame
    if is_keepalive(frame):
        raise _fail("keepalive", f"{frame!r} is a keep-alive frame, not market data", frame)
    if isinstance(frame, bytes | bytearray):
        try:
            text = frame.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail("invalid_json", f"frame is not UTF-8: {exc}", frame) from None
    elif isinstance(frame, str):
        text = frame
    else:
        raise _fail("not_an_object", f"frame of type {type(frame).__name__}", frame)
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError; absurdly deep nesting
        raise _fail("invalid_json", f"frame is not JSON: {exc}", frame) from None
    if isinstance(decoded, dict):
        return [decoded]
    if isinstance(decoded, list):
        return decoded
    raise _fail("not_an_object", f"frame is a JSON {type(decoded).__name__}, not an object", frame)


def parse_market_message(msg: object, recv_ns: int) -> list[MarketEvent]:
    """Events of one decoded market-channel message (a dict). Raises MessageParseError."""
    if not isinstance(msg, dict):
        raise _fail("not_an_object", f"message is a {type(msg).__name__}, not an object", msg)
    event_type = msg.get("event_type")
    if event_type is None:
        event_type = _infer_event_type(msg)
    handler = _HANDLERS.get(event_type) if isinstance(event_type, str) else None
    if handler is None:
        raise _fail("unknown_event_type", f"event_type: {event_type!r} is not handled", msg)
    return handler(msg, recv_ns)


def parse_market_frame(
    frame: str | bytes | bytearray | dict | list, recv_ns: int
) -> list[MarketEvent]:
    """All events of one WebSocket frame, in the order the venue sent them.

    ``frame`` is the text (or bytes) of the frame, or the already decoded JSON
    object or array. Every event gets ``ts_recv_ns = recv_ns``. An empty array
    yields ``[]``. Raises ``MessageParseError`` on the first problem, which for an
    array frame discards the elements after it (and the events parsed before
    it); use ``MarketFrameParser`` to keep the good elements. A ``PING``/``PONG``
    text frame raises with reason ``keepalive`` (see ``is_keepalive``).
    """
    messages = _decode(frame)
    if len(messages) == 1:
        return parse_market_message(messages[0], recv_ns)
    out: list[MarketEvent] = []
    for msg in messages:
        out.extend(parse_market_message(msg, recv_ns))
    return out


class MarketFrameParser:
    """A parser for a live socket: never raises on bad input, counts and logs it instead.

    ``errors`` counts rejected messages by reason, ``rejected`` keeps the last
    ``max_rejected`` errors (each with ``raw``), ``keepalives`` counts PING/PONG
    frames (returned as ``[]`` and not logged: they are normal traffic, and they
    are not counted as errors). ``messages`` counts messages parsed successfully.
    In an array frame each element is parsed on its own, so one bad element
    costs only itself.
    """

    def __init__(self, max_rejected: int = 1000, log: logging.Logger | None = None) -> None:
        self.errors: Counter[str] = Counter()
        self.rejected: deque[MessageParseError] = deque(maxlen=max_rejected)
        self.keepalives = 0
        self.messages = 0
        self._log = log or logger

    def parse(
        self, frame: str | bytes | bytearray | dict | list, recv_ns: int
    ) -> list[MarketEvent]:
        try:
            messages = _decode(frame)
        except MessageParseError as exc:
            if exc.reason == "keepalive":
                self.keepalives += 1
            else:
                self._reject(exc)
            return []
        out: list[MarketEvent] = []
        for msg in messages:
            try:
                out.extend(parse_market_message(msg, recv_ns))
            except MessageParseError as exc:
                self._reject(exc)
            else:
                self.messages += 1
        return out

    @property
    def error_count(self) -> int:
        """Rejected messages so far, all reasons together."""
        return self.errors.total()

    def _reject(self, exc: MessageParseError) -> None:
        self.errors[exc.reason] += 1
        self.rejected.append(exc)
        raw = repr(exc.raw)
        if len(raw) > _MAX_RAW_LOG:
            raw = raw[:_MAX_RAW_LOG] + "..."
        self._log.warning("market frame rejected: %s: %s; raw=%s", exc.reason, exc.detail, raw)
