"""Polymarket market-channel WebSocket frames -> ``sim.events``.

This is the edge: raw JSON goes in, frozen ``sim.events`` objects come out and
nothing deeper ever sees a dict. Formats follow the protocol reference, section
6.1 (``book``, ``price_change`` in its current, legacy and 2024 flat form,
``last_trade_price``, ``tick_size_change``, ``best_bid_ask``,
``market_resolved``). The user channel (6.2) has its own parser,
``live.user_messages``; this one refuses user-channel messages.

Two entry points:

* ``parse_market_frame(frame, recv_ns, notes=None)`` is strict: the first bad
  message raises ``MessageParseError`` (for an array frame that loses the rest of
  the array). Use it where one bad byte should stop the world (tests, offline
  conversion).
* ``MarketFrameParser().parse(frame, recv_ns)`` never raises for bad input: each
  bad message is counted in ``.errors`` by reason, kept in ``.rejected`` (the
  last ``max_rejected``) and logged at WARNING, and the good messages of the same
  array frame are still returned. Use it on the live socket.

Rejections and notes
--------------------

A *rejection* costs a whole message: its envelope is unusable (not JSON, not an
object, no or a bad timestamp, no asset id, a ``bids`` that is not a list, ...)
or the message is one indivisible fact (a trade print, a tick-size change, a
resolution, a flat 2024 ``price_change``) and that fact is malformed. Every
rejection carries a machine-readable ``reason``, ``raw`` (the offending message,
or the whole frame when it could not be decoded) and a detail naming the field,
e.g. ``price_changes[1].price: 'abc' is not a decimal number``. The reasons
(``REASONS``):

======================== =============================================================
``keepalive``            a text PING/PONG frame: not market data (not an error)
``invalid_json``         not decodable as UTF-8 JSON
``not_an_object``        the frame (or an array element) is not a JSON object
``missing_field``        a required field is absent, null or empty (or no event_type
                         and no single known shape)
``bad_type``             a field has the wrong JSON type (e.g. ``bids`` not a list)
``bad_number``           a price/size/fee is not a finite decimal number
``bad_timestamp``        a timestamp is not a non-negative integer (of ms)
``implausible_timestamp`` an integer timestamp that cannot be ms of now: below 1e11
                         (seconds: before 1973), beyond 2200-01-01 as ms (micro- or
                         nanoseconds), or more than one day after ``recv_ns`` (when
                         ``recv_ns > 0``)
``bad_side``             ``side`` is present but not BUY or SELL
``price_out_of_range``   a price outside (0, 1) (or a best bid/ask outside [0, 1])
``negative_size``        a size (or fee rate) below 0
``bad_tick_size``        a tick size Polymarket does not use
``unknown_winner``       ``winning_asset_id`` is not one of ``assets_ids``
``unknown_event_type``   ``new_market`` or an event_type this parser does not know
``user_channel_message`` a user-channel ``trade``/``order`` (tagged, or untagged with
                         a user-channel shape, see ``is_user_channel_message``): it
                         must never be read as a public trade print
======================== =============================================================

A *note* is a repair that keeps the message: one entry of it was dropped or
fixed, the rest is returned. Notes never raise; they are appended to the
``notes`` list the caller passes (``ParseNote``: reason, detail, raw), and
``MarketFrameParser`` counts them in ``.notes`` and logs them at WARNING. Only
the notes of messages that were returned are reported. The notes (``NOTES``):

======================== =============================================================
``entry_missing_size``   a ``price_changes``/``changes`` entry or a ``book`` level
                         without ``size``: it cannot say the level's size, so it is
                         dropped
``bad_entry``            a ``price_changes``/``changes`` entry or a ``book`` level
                         that is otherwise malformed (not an object, bad price or
                         side, ...; the detail starts with the rejection reason it
                         would have had): dropped
``zero_size_level``      a ``book`` level of size 0 (a snapshot lists resting
                         liquidity, so it says nothing): dropped
``duplicate_level``      a price repeated on one side of a ``book``: merged, the last
                         occurrence kept (one note per repeat)
``crossed_book``         a ``book`` whose best bid >= best ask: kept as sent
``trade_missing_side``   a ``last_trade_price`` without ``side``: ``TradePrint.side``
                         is ``None`` (optional in Polymarket's Rust client)
``trade_missing_size``   a ``last_trade_price`` without ``size``: ``TradePrint.size``
                         is ``None``
======================== =============================================================

A message whose entries are *all* bad (at least one entry, none usable) is
rejected with the reason of its first bad entry rather than returned empty;
``mixed_batch.json``'s middle element (one entry, bad price) is ``bad_number``.
An empty ``price_changes`` list or an empty book is not an error.

Nothing is dropped silently: every message is returned, rejected or a
keep-alive, and every dropped entry is a note.

Conventions
-----------

* Timestamps are millisecond strings (or JSON integers);
  ``ts_exchange_ns = int(ms) * 1_000_000`` exactly (integer arithmetic, no float
  rounding). See ``implausible_timestamp`` for the range accepted.
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
* ``price_change`` comes in three formats: current (``price_changes``, asset id
  and best bid/ask per entry), legacy before 2025-09-15 (``changes``, asset id on
  the message) and the 2024 flat form (one change: ``asset_id``, ``price``,
  ``side``, ``size`` on the message itself). Each entry becomes a
  ``LevelChange``; ``size`` is the level's new total.
* ``last_trade_price``: ``side`` (the taker's) and ``size`` are optional; an
  absent, null or empty one is ``None`` in the ``TradePrint`` (and noted).
  ``transaction_hash`` is kept when present (2026 captures), ``""`` otherwise.
* A message without ``event_type`` is first checked for a user-channel shape
  (``user_channel_message``), then classified by its shape when exactly one
  shape fits (``bids``+``asks`` -> book, ``price_changes``/``changes`` ->
  price_change, ``new_tick_size`` -> tick_size_change, ``winning_asset_id`` ->
  market_resolved, ``best_bid``+``best_ask`` -> best_bid_ask, ``price``+``side``
  +``size`` -> last_trade_price; an untagged flat 2024 price_change therefore
  reads as a trade, which is why only tagged flat messages are accepted as
  price changes). The live feed always tags its messages, but tag-less copies of
  the same payloads exist (nautilus_trader's per-type test data
  ``ws_book_snapshot.json``, ``ws_quotes.json``, ``ws_last_trade.json``,
  ``ws_tick_size_change.json``; recordings made by deserialising into per-type
  structs). A message matching no shape, or several, is ``missing_field``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
    "NOTES",
    "REASONS",
    "USER_CHANNEL_FIELDS",
    "USER_CHANNEL_TYPES",
    "MarketFrameParser",
    "ParseNote",
    "is_keepalive",
    "is_user_channel_message",
    "parse_market_frame",
    "parse_market_message",
]

logger = logging.getLogger(__name__)

#: Every ``MessageParseError.reason`` this module raises (module docstring).
REASONS: frozenset[str] = frozenset(
    {
        "keepalive",
        "invalid_json",
        "not_an_object",
        "missing_field",
        "bad_type",
        "bad_number",
        "bad_timestamp",
        "implausible_timestamp",
        "bad_side",
        "price_out_of_range",
        "negative_size",
        "bad_tick_size",
        "unknown_winner",
        "unknown_event_type",
        "user_channel_message",
    }
)

#: Every ``ParseNote.reason`` this module reports (module docstring).
NOTES: frozenset[str] = frozenset(
    {
        "entry_missing_size",
        "bad_entry",
        "zero_size_level",
        "duplicate_level",
        "crossed_book",
        "trade_missing_side",
        "trade_missing_size",
    }
)

#: Fields only user-channel messages carry (reference 6.2): a message with any of
#: them is never market data.
USER_CHANNEL_FIELDS: frozenset[str] = frozenset(
    {
        "taker_order_id",
        "maker_orders",
        "trader_side",
        "trade_owner",
        "matchtime",
        "match_time",
        "original_size",
        "size_matched",
        "order_type",
        "order_owner",
        "associate_trades",
    }
)
#: User-channel ``type`` values (``trade``: TRADE; ``order``: the other three).
USER_CHANNEL_TYPES: frozenset[str] = frozenset({"TRADE", "PLACEMENT", "UPDATE", "CANCELLATION"})
_USER_EVENT_TYPES = frozenset({"trade", "order"})

_KEEPALIVES = frozenset({"PING", "PONG"})
#: A decimal number as Polymarket writes one; a leading minus is allowed so
#: negative sizes are reported as ``negative_size`` rather than ``bad_number``.
_DECIMAL = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MIN_MS = 100_000_000_000  # 1973-03-03 in ms; anything smaller is seconds (or junk)
_MAX_MS = 7_258_118_400_000  # 2200-01-01 in ms; anything larger is us or ns (or junk)
_MAX_AHEAD_NS = 86_400 * 1_000_000_000  # how far past recv_ns a venue clock may be
_SIDES: dict[str, Side] = {"BUY": Side.BUY, "SELL": Side.SELL}
_MAX_RAW_LOG = 500  # characters of an offending payload shown in a log line


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


# -- entries: each one on its own --------------------------------------------------------------

_T = TypeVar("_T")
#: A dropped entry: the note reason and the rejection it would have been on its own.
_Dropped = tuple[str, MessageParseError]


def _entries(
    items: list[Any],
    key: str,
    raw: object,
    parse: Callable[[Mapping[str, Any], str], _T],
) -> tuple[list[_T], list[_Dropped]]:
    """Parse each element of ``items`` on its own; a bad one is dropped, not fatal."""
    out: list[_T] = []
    dropped: list[_Dropped] = []
    for i, item in enumerate(items):
        where = f"{key}[{i}]"
        try:
            entry = _obj(item, where, raw)
            if entry.get("size") is None:
                what = "missing" if "size" not in entry else "null"
                dropped.append(
                    (
                        "entry_missing_size",
                        _fail("missing_field", f"{where}.size: field is {what}", raw),
                    )
                )
                continue
            out.append(parse(entry, where + "."))
        except MessageParseError as exc:
            dropped.append(("bad_entry", exc))
    return out, dropped


def _settle(parsed: int, dropped: list[_Dropped], notes: Notes, raw: object) -> None:
    """Note the dropped entries, or reject the message if no entry at all was usable."""
    if dropped and not parsed:
        raise dropped[0][1]
    for reason, exc in dropped:
        detail = exc.detail if reason == "entry_missing_size" else f"{exc.reason}: {exc.detail}"
        notes.append(ParseNote(reason, detail + "; entry dropped", raw))


# -- one message per event_type ----------------------------------------------------------------


def _level_price(level: Level) -> float:
    return level[0]


def _clean_side(levels: list[Level], key: str, notes: Notes, raw: object) -> list[Level]:
    """Merge repeated prices (last wins) and drop zero sizes, noting each."""
    merged: dict[float, float] = {}
    for price, size in levels:
        if price in merged:
            notes.append(
                ParseNote(
                    "duplicate_level",
                    f"{key}: price {price!r} appears more than once; the last size "
                    f"({size!r}) is kept",
                    raw,
                )
            )
        merged[price] = size
    out: list[Level] = []
    for price, size in merged.items():
        if size == 0.0:
            notes.append(
                ParseNote("zero_size_level", f"{key}: level {price!r} has size 0; dropped", raw)
            )
        else:
            out.append((price, size))
    return out


def _book(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    ts = _ts_ns(msg, msg, recv_ns)
    asset_id = _str(msg, "asset_id", "", msg)
    tick = msg.get("tick_size")

    def level(lv: Mapping[str, Any], where: str) -> Level:
        return (
            _price(_get(lv, "price", where, msg), where + "price", msg),
            _size(_get(lv, "size", where, msg), where + "size", msg),
        )

    bid_items = _list(msg, "bids", "", msg)
    ask_items = _list(msg, "asks", "", msg)
    bids, bid_drops = _entries(bid_items, "bids", msg, level)
    asks, ask_drops = _entries(ask_items, "asks", msg, level)
    _settle(len(bids) + len(asks), bid_drops + ask_drops, notes, msg)
    # sorted() is stable and linear on the reversed runs Polymarket sends.
    bids = sorted(_clean_side(bids, "bids", notes, msg), key=_level_price, reverse=True)
    asks = sorted(_clean_side(asks, "asks", notes, msg), key=_level_price)
    if bids and asks and bids[0][0] >= asks[0][0]:
        notes.append(
            ParseNote(
                "crossed_book",
                f"best bid {bids[0][0]!r} >= best ask {asks[0][0]!r}; kept as sent",
                msg,
            )
        )
    return [
        BookSnapshot(
            ts_exchange_ns=ts,
            ts_recv_ns=recv_ns,
            asset_id=asset_id,
            market=_opt_str(msg, "market", "", msg),
            bids=tuple(bids),
            asks=tuple(asks),
            tick_size=None if _absent(tick) else _tick(tick, "tick_size", msg),
            hash=_opt_str(msg, "hash", "", msg),
        )
    ]


def _price_change(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    ts = _ts_ns(msg, msg, recv_ns)
    market = _opt_str(msg, "market", "", msg)

    def change(ch: Mapping[str, Any], where: str, asset_id: str | None) -> LevelChange:
        return LevelChange(
            ts_exchange_ns=ts,
            ts_recv_ns=recv_ns,
            asset_id=_str(ch, "asset_id", where, msg) if asset_id is None else asset_id,
            market=market,
            side=_side(_get(ch, "side", where, msg), where + "side", msg),
            price=_price(_get(ch, "price", where, msg), where + "price", msg),
            size=_size(_get(ch, "size", where, msg), where + "size", msg),
            best_bid=_top(ch.get("best_bid"), where + "best_bid", msg),
            best_ask=_top(ch.get("best_ask"), where + "best_ask", msg),
        )

    out: list[LevelChange]
    if "price_changes" in msg:  # current format (since 2025-09-15): asset id per entry
        items = _list(msg, "price_changes", "", msg)
        out, dropped = _entries(items, "price_changes", msg, lambda ch, w: change(ch, w, None))
    elif "changes" in msg:  # legacy (before 2025-09-15): one asset per message
        asset_id = _str(msg, "asset_id", "", msg)
        items = _list(msg, "changes", "", msg)
        out, dropped = _entries(items, "changes", msg, lambda ch, w: change(ch, w, asset_id))
    elif "price" in msg or "side" in msg or "size" in msg:  # 2024 flat: the message is the change
        return [change(msg, "", _str(msg, "asset_id", "", msg))]
    else:
        raise _fail(
            "missing_field",
            "price_changes: field is missing (nor legacy changes, nor a flat price/side/size)",
            msg,
        )
    _settle(len(out), dropped, notes, msg)
    return list(out)


def _last_trade(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    ts = _ts_ns(msg, msg, recv_ns)
    asset_id = _str(msg, "asset_id", "", msg)
    price = _price(_get(msg, "price", "", msg), "price", msg)
    side_v, size_v, fee = msg.get("side"), msg.get("size"), msg.get("fee_rate_bps")
    side = None if _absent(side_v) else _side(side_v, "side", msg)
    size = None if _absent(size_v) else _size(size_v, "size", msg)
    fee_bps = 0.0 if _absent(fee) else _size(fee, "fee_rate_bps", msg)
    trade = TradePrint(
        ts_exchange_ns=ts,
        ts_recv_ns=recv_ns,
        asset_id=asset_id,
        market=_opt_str(msg, "market", "", msg),
        side=side,
        price=price,
        size=size,
        fee_rate_bps=fee_bps,
        transaction_hash=_opt_str(msg, "transaction_hash", "", msg),
    )
    if side is None:
        notes.append(ParseNote("trade_missing_side", "side: absent; taker side unknown", msg))
    if size is None:
        notes.append(ParseNote("trade_missing_size", "size: absent; trade size unknown", msg))
    return [trade]


def _tick_size_change(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    return [
        TickSizeChange(
            ts_exchange_ns=_ts_ns(msg, msg, recv_ns),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            old_tick_size=_tick(_get(msg, "old_tick_size", "", msg), "old_tick_size", msg),
            new_tick_size=_tick(_get(msg, "new_tick_size", "", msg), "new_tick_size", msg),
        )
    ]


def _best_bid_ask(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    return [
        BestBidAsk(
            ts_exchange_ns=_ts_ns(msg, msg, recv_ns),
            ts_recv_ns=recv_ns,
            asset_id=_str(msg, "asset_id", "", msg),
            market=_opt_str(msg, "market", "", msg),
            best_bid=_top(msg.get("best_bid"), "best_bid", msg),
            best_ask=_top(msg.get("best_ask"), "best_ask", msg),
        )
    ]


def _market_resolved(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> list[MarketEvent]:
    ts = _ts_ns(msg, msg, recv_ns)
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
            ts_exchange_ns=ts,
            ts_recv_ns=recv_ns,
            market=_opt_str(msg, "market", "", msg),
            asset_ids=tuple(assets),
            winning_asset_id=winner,
        )
    ]


_Handler = Callable[[Mapping[str, Any], int, Notes], list[MarketEvent]]
_HANDLERS: dict[str, _Handler] = {
    "book": _book,
    "price_change": _price_change,
    "last_trade_price": _last_trade,
    "tick_size_change": _tick_size_change,
    "best_bid_ask": _best_bid_ask,
    "market_resolved": _market_resolved,
}
#: event_types of the market channel, parsed or not (``live.user_messages`` refuses them).
MARKET_EVENT_TYPES: frozenset[str] = frozenset(_HANDLERS) | {"new_market"}


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


def _user_evidence(msg: Mapping[str, Any]) -> list[str]:
    """What marks ``msg`` as a user-channel message (empty if nothing does)."""
    event_type = msg.get("event_type")
    if isinstance(event_type, str):
        return [f"event_type {event_type!r}"] if event_type in _USER_EVENT_TYPES else []
    evidence = sorted(k for k in USER_CHANNEL_FIELDS if k in msg)
    kind = msg.get("type")
    if isinstance(kind, str) and kind in USER_CHANNEL_TYPES:
        evidence.insert(0, f"type {kind!r}")
    return evidence


def is_user_channel_message(msg: Mapping[str, Any]) -> bool:
    """True for a user-channel message (reference 6.2), tagged or not.

    Tagged: ``event_type`` ``trade`` or ``order``. Untagged: a ``type`` in
    ``USER_CHANNEL_TYPES`` or any field of ``USER_CHANNEL_FIELDS``. A message
    with a market-channel ``event_type`` is never a user message.
    """
    return bool(_user_evidence(msg))


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


def decode_frame(frame: str | bytes | bytearray | dict | list) -> list[Any]:
    """The messages of a frame: a list of (not yet checked) elements.

    Raises ``MessageParseError`` (``keepalive``, ``invalid_json``,
    ``not_an_object``) when the frame has no messages to give. Shared with
    ``live.user_messages``: both channels frame their messages the same way.
    """
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


def parse_market_message(
    msg: object, recv_ns: int, notes: Notes | None = None
) -> list[MarketEvent]:
    """Events of one decoded market-channel message (a dict). Raises MessageParseError.

    Repairs are appended to ``notes`` (when given) only if the message is returned.
    """
    if not isinstance(msg, dict):
        raise _fail("not_an_object", f"message is a {type(msg).__name__}, not an object", msg)
    evidence = _user_evidence(msg)
    if evidence:
        raise _fail(
            "user_channel_message",
            f"a user-channel message ({', '.join(evidence)}), not market data",
            msg,
        )
    event_type = msg.get("event_type")
    if event_type is None:
        event_type = _infer_event_type(msg)
    handler = _HANDLERS.get(event_type) if isinstance(event_type, str) else None
    if handler is None:
        raise _fail("unknown_event_type", f"event_type: {event_type!r} is not handled", msg)
    mine: Notes = []
    events = handler(msg, recv_ns, mine)
    if notes is not None:
        notes.extend(mine)
    return events


def parse_market_frame(
    frame: str | bytes | bytearray | dict | list, recv_ns: int, notes: Notes | None = None
) -> list[MarketEvent]:
    """All events of one WebSocket frame, in the order the venue sent them.

    ``frame`` is the text (or bytes) of the frame, or the already decoded JSON
    object or array. Every event gets ``ts_recv_ns = recv_ns``. An empty array
    yields ``[]``. Raises ``MessageParseError`` on the first rejected message,
    which for an array frame discards the elements after it (and the events
    parsed before it); use ``MarketFrameParser`` to keep the good elements. A
    ``PING``/``PONG`` text frame raises with reason ``keepalive`` (see
    ``is_keepalive``). Dropped entries and other repairs do not raise: they are
    appended to ``notes`` when a list is given (``NOTES``).
    """
    messages = decode_frame(frame)
    out: list[MarketEvent] = []
    for msg in messages:
        out.extend(parse_market_message(msg, recv_ns, notes))
    return out


_E = TypeVar("_E")


class TolerantParser(Generic[_E]):
    """Shared machinery of the never-raising frame parsers (market and user channel).

    ``errors`` counts rejected messages by reason, ``rejected`` keeps the last
    ``max_rejected`` errors (each with ``raw``), ``notes`` counts repairs by reason
    (``noted`` keeps the last ``max_rejected``), ``keepalives`` counts PING/PONG
    frames (returned as ``[]`` and not logged: they are normal traffic, and they
    are not counted as errors), ``messages`` counts messages parsed successfully.
    Every element of every frame is exactly one of a message, an error or (a
    whole frame) a keep-alive. In an array frame each element is parsed on its
    own, so one bad element costs only itself.

    Each rejection and note is logged at WARNING, throttled per reason: the first
    ``log_first`` of a reason, then every ``log_every``-th (0: never again). The
    counters always count all of them.
    """

    _channel = "frame"

    def __init__(
        self,
        max_rejected: int = 1000,
        log: logging.Logger | None = None,
        log_first: int = 10,
        log_every: int = 1000,
    ) -> None:
        self.errors: Counter[str] = Counter()
        self.rejected: deque[MessageParseError] = deque(maxlen=max_rejected)
        self.notes: Counter[str] = Counter()
        self.noted: deque[ParseNote] = deque(maxlen=max_rejected)
        self.keepalives = 0
        self.messages = 0
        self._log = log or logger
        self._log_first = log_first
        self._log_every = log_every

    def _parse_message(self, msg: object, recv_ns: int, notes: Notes) -> list[_E]:
        raise NotImplementedError

    def parse(self, frame: str | bytes | bytearray | dict | list, recv_ns: int) -> list[_E]:
        try:
            messages = decode_frame(frame)
        except MessageParseError as exc:
            if exc.reason == "keepalive":
                self.keepalives += 1
            else:
                self._reject(exc)
            return []
        out: list[_E] = []
        for msg in messages:
            notes: Notes = []
            try:
                out.extend(self._parse_message(msg, recv_ns, notes))
            except MessageParseError as exc:
                self._reject(exc)
            else:
                self.messages += 1
                for note in notes:
                    self._note(note)
        return out

    @property
    def error_count(self) -> int:
        """Rejected messages so far, all reasons together."""
        return self.errors.total()

    @property
    def note_count(self) -> int:
        """Repairs so far, all reasons together."""
        return self.notes.total()

    def _should_log(self, count: int) -> bool:
        return count <= self._log_first or (self._log_every > 0 and count % self._log_every == 0)

    def _throttle_hint(self, count: int) -> str:
        if count == self._log_first:
            return f" (further ones logged every {self._log_every}th)" if self._log_every else ""
        return ""

    def _reject(self, exc: MessageParseError) -> None:
        self.errors[exc.reason] += 1
        self.rejected.append(exc)
        count = self.errors[exc.reason]
        if self._should_log(count):
            self._log.warning(
                "%s message rejected: %s #%d%s: %s; raw=%s",
                self._channel,
                exc.reason,
                count,
                self._throttle_hint(count),
                exc.detail,
                _short(exc.raw),
            )

    def _note(self, note: ParseNote) -> None:
        self.notes[note.reason] += 1
        self.noted.append(note)
        count = self.notes[note.reason]
        if self._should_log(count):
            self._log.warning(
                "%s message repaired: %s #%d%s: %s; raw=%s",
                self._channel,
                note.reason,
                count,
                self._throttle_hint(count),
                note.detail,
                _short(note.raw),
            )


def _short(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= _MAX_RAW_LOG else text[:_MAX_RAW_LOG] + "..."


class MarketFrameParser(TolerantParser[MarketEvent]):
    """A parser for a live market socket: never raises on bad input, counts and logs it.

    See ``TolerantParser`` for the counters (``errors``, ``notes``, ``messages``,
    ``keepalives``) and ``REASONS``/``NOTES`` for what they count.
    """

    _channel = "market"

    def _parse_message(self, msg: object, recv_ns: int, notes: Notes) -> list[MarketEvent]:
        return parse_market_message(msg, recv_ns, notes)
