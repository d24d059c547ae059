"""Order-desk dicts -> Polymarket user-channel messages: the mock's side of ``/ws/user``.

The server's order desk (``exchange_mock.server.orders_desk``) answers REST with
the venue's OpenOrder and Trade objects (protocol reference 4.6); the user
channel (reference 6.2) reports the same orders and trades as ``order`` and
``trade`` messages. ``encode_order_event`` and ``encode_trade_event`` turn one of
those REST-shaped dicts into the JSON-able ``dict`` the venue sends;
``encode_frame`` (re-exported from ``market_encoder``) makes the text of one
WebSocket frame of one message or a batched array of several (reference 6,
"Framing": user frames may be batched).

The shapes are the shared fixtures' (``ws_user_*.json``: nautilus_trader test
data and 2026 captures), key for key, with every message tagged
``event_type``. This module imports nothing from ``live``: the project's parser
(``live.user_messages``) and this encoder meet only in the tests.

Values
------

* **Numbers** (``price``, ``original_size``, ``size_matched``, ``size``,
  ``matched_amount``, ``fee_rate_bps``) are decimal strings without exponent or
  trailing zeros, as the 2026 captures send them (``"12"``, ``"0.53"``): the
  REST ``"100.000000"`` goes out as ``"100"``. A string is rewritten exactly (in
  decimal); a float goes through ``format_decimal`` (prices to 4 places, sizes
  and fees to 6, within float noise), so a float on a tick grid round-trips.
* **Times.** ``timestamp`` is the event time ``ts_ns`` in whole milliseconds
  (``format_ms``). An order's ``created_at`` (REST: integer seconds) is sent in
  ms, as the fixtures and captures have it: ``"1703875200000"``. A trade's
  ``match_time`` and ``last_update`` (REST: seconds strings; ISO-8601 is
  accepted too, its fraction of a second dropped) are sent in seconds, as the
  reference's docs example and a third-party 2026 capture (note below) have
  them; a missing one is ``ts_ns``'s second. The parser converts second stamps with a
  ``timestamp_in_seconds`` note (a note, not an error), as it does for the venue.
* ``expiration`` is seconds, ``"0"`` for none (the 2026 captures; the nautilus
  fixtures send ``null``, which the parser reads the same).
* ``associate_trades`` is always a list, ``[]`` when empty (the 2026 captures;
  the nautilus fixtures send ``null``, read the same).
* ``bucket_index`` is an integer (``0`` when the trade has none).

What does not survive a round trip (encode, then ``live.user_messages``)
------------------------------------------------------------------------

* **Sub-millisecond time**: ``timestamp`` is truncated to the ms;
  ``ts_recv_ns`` is the receiver's.
* **A killed order** (a ``CANCELLATION`` whose status is ``"CANCELED_"`` + the
  venue's message, see ``kill_status``, of an FOK/FAK order that matched
  nothing) is sent as the venue's capture ``ws_user_order_fok_killed.json`` has
  it: ``created_at``, ``size_matched`` and ``outcome`` are ``""`` (the order never
  rested). The parser reads them as ``None``, ``0.0`` and ``""``: the creation time
  and the outcome are lost.
* **A maker trade without the taker's order id.** The parser requires
  ``taker_order_id``; the desk leaves it ``""`` when our resting order was the
  maker (it does not know the taker's id). Such a trade is sent with a stable
  stand-in, ``maker_taker_order_id(trade id)`` (``"0x"`` + 64 hex), never ``""``.
  A TAKER trade without it raises ``ValueError``.
* The nautilus fixtures' ISO-8601 ``match_time``/``last_update`` and ``null``
  ``expiration``/``associate_trades`` are never produced (see above).

Deviations from the fixtures' key sets (documented, tested)
-----------------------------------------------------------

* Every message has ``event_type`` (the untagged fixtures lack it).
* A ``trade`` always has ``transaction_hash`` (``""`` until the trade is mined),
  which the fixtures lack; the reference (6.2) lists it among the fields the
  venue sends, and the third-party 2026 capture has it.
* A ``maker_orders`` entry has ``side`` when the desk's entry has one (REST
  maker orders do, reference 4.6); the fixtures' entry lacks it. The parser
  reads it into ``MakerOrder.side``.
* The trade's match time is sent as ``match_time`` (the fixtures' key and the
  third-party capture's), not ``matchtime`` (the reference's docs example); the
  parser reads both.

The third-party capture is a trade payload "verified 2026-02-22" in
HELLKING66666/poly-sdk's ``websocket-events.md``: ``match_time`` and
``last_update`` in seconds, ``timestamp`` in ms, ``transaction_hash`` present.
It is not in the shared fixtures: treat it as corroboration, not a source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from exchange_mock.server.market_encoder import (
    PRICE_PLACES,
    SIZE_PLACES,
    encode_frame,
    format_decimal,
    format_ms,
)

__all__ = [
    "FAK_KILL_MESSAGE",
    "FOK_KILL_MESSAGE",
    "ORDER_KINDS",
    "TRADER_SIDES",
    "encode_frame",
    "encode_order_event",
    "encode_trade_event",
    "kill_status",
    "maker_taker_order_id",
]

#: The ``type`` of an ``order`` message (reference 6.2).
ORDER_KINDS: tuple[str, ...] = ("PLACEMENT", "UPDATE", "CANCELLATION")
#: A trade's ``trader_side``: which side of the trade the subscriber was.
TRADER_SIDES: tuple[str, ...] = ("TAKER", "MAKER")
#: The venue's words for an FOK order it killed (reference 4.7, 6.2).
FOK_KILL_MESSAGE = "order couldn't be fully filled. FOK orders are fully filled or killed."
#: ... and for an FAK order that found nothing to match (reference 4.7).
FAK_KILL_MESSAGE = (
    "no orders found to match with FAK order. "
    "FAK orders are partially filled or killed if no match is found."
)

_KILLED_PREFIX = "CANCELED_"
_KILLABLE = frozenset({"FOK", "FAK"})
_SIDES = frozenset({"BUY", "SELL"})
_NO_EXPIRATION = "0"
_NS_PER_S = 1_000_000_000
_MS_PER_S = 1_000
_SECONDS_BELOW = 100_000_000_000  # a larger "seconds" stamp is ms (or finer): a desk bug
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


# -- scalars -----------------------------------------------------------------------------------


def kill_status(message: str = FOK_KILL_MESSAGE) -> str:
    """The ``status`` of a killed order's ``CANCELLATION``: ``"CANCELED_" + message``.

    Reference 6.2: an FOK kill arrives with ``"CANCELED_order couldn't be fully
    filled. FOK orders are fully filled or killed."``. Pass it as
    ``encode_order_event(..., status_override=kill_status())``.
    """
    return _KILLED_PREFIX + message


def maker_taker_order_id(trade_id: str) -> str:
    """The stand-in ``taker_order_id`` of a maker trade whose taker order is unknown.

    ``"0x"`` + the SHA-256 of ``"taker-of:" + trade_id`` in hex: an order-hash-like
    string, the same for every status of one trade (module docstring).
    """
    return "0x" + hashlib.sha256(b"taker-of:" + trade_id.encode()).hexdigest()


def _absent(value: object) -> bool:
    return value is None or value == ""


def _plain(d: Decimal) -> str:
    """``d`` in positional notation without trailing zeros (``-0`` is ``0``)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _number(value: object, field: str, places: int) -> str:
    """A price, size or fee as the venue writes it (module docstring, "Numbers")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise TypeError(f"{field}: expected a number or a decimal string, got {value!r}")
    if isinstance(value, float):
        if value < 0:
            raise ValueError(f"{field}: {value!r} is negative")
        return format_decimal(value, places)  # ValueError for NaN and infinities
    try:
        d = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{field}: {value!r} is not a decimal number") from None
    if not d.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite number")
    if d < 0:
        raise ValueError(f"{field}: {value!r} is negative")
    return _plain(d)


def _seconds(value: object, field: str) -> int | None:
    """A REST time in whole seconds as an int; ``None`` if absent.

    Whole seconds as an int or a digit string (the desk's), or an ISO-8601 string
    (the REST fixtures'; UTC unless it says otherwise; a fraction is dropped).
    """
    if _absent(value):
        return None
    if isinstance(value, str) and "T" in value:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not ISO-8601") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        n = (when - _EPOCH) // dt.timedelta(seconds=1)
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        n = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    else:
        raise ValueError(f"{field}: {value!r} is not whole seconds")
    if n < 0:
        raise ValueError(f"{field}: {value!r} is negative")
    if n >= _SECONDS_BELOW:
        raise ValueError(f"{field}: {value!r} is not seconds (ms?)")
    return n


def _side(value: object, field: str) -> str:
    name = getattr(value, "name", value)  # a sim.types.Side, or its name
    if not isinstance(name, str) or name not in _SIDES:
        raise ValueError(f"{field}: {value!r} is not BUY or SELL")
    return name


def _text(mapping: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = mapping.get(key)
    if _absent(value):
        if required:
            raise ValueError(f"{key}: field is missing or empty")
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string, got {value!r}")
    return value


def _expiration(value: object) -> str:
    if _absent(value) or value == 0 or value == "0":
        return _NO_EXPIRATION
    n = _seconds(value, "expiration")
    return _NO_EXPIRATION if not n else str(n)


def _trade_ids(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise TypeError(f"associate_trades: expected a list of trade ids, got {value!r}")
    for i, t in enumerate(value):
        if not isinstance(t, str) or not t:
            raise TypeError(f"associate_trades[{i}]: expected a trade id, got {t!r}")
    return list(value)


# -- messages ----------------------------------------------------------------------------------


def encode_order_event(
    order: Mapping[str, Any], kind: str, ts_ns: int, *, status_override: str | None = None
) -> dict[str, Any]:
    """The user-channel ``order`` message of a REST OpenOrder (reference 6.2).

    ``order`` is the desk's ``order_json`` dict (reference 4.6: ``id``,
    ``status``, ``owner``, ``maker_address``, ``market``, ``asset_id``, ``side``,
    ``original_size``, ``size_matched``, ``price``, ``associate_trades``,
    ``outcome``, ``created_at`` in seconds, ``expiration``, ``order_type``);
    ``kind`` is the message ``type``: ``PLACEMENT``, ``UPDATE`` (a fill raised
    ``size_matched``) or ``CANCELLATION``; ``ts_ns`` is the event time (the
    ``timestamp``, in ms). ``status`` is the order's, or ``status_override``
    verbatim (e.g. ``kill_status()`` for an FOK kill, ``"INVALID"`` for a venue
    cancel). ``order_owner`` is the order's ``order_owner`` if given, else its
    ``owner`` (the API key). Emits, in the reference's order: ``event_type``,
    ``type``, ``id``, ``owner``, ``order_owner``, ``market``, ``asset_id``,
    ``side``, ``price``, ``original_size``, ``size_matched``, ``outcome``,
    ``order_type``, ``associate_trades``, ``created_at``, ``expiration``,
    ``status``, ``maker_address``, ``timestamp``. A killed FOK/FAK order is sent
    as the venue's capture (module docstring). Raises ``ValueError``/``TypeError``
    for a kind, side, number or time it cannot send, ``KeyError`` for a missing
    required field (``id``, ``owner``, ``market``, ``asset_id``, ``side``,
    ``price``, ``original_size``; ``status`` unless overridden).
    """
    if kind not in ORDER_KINDS:
        raise ValueError(f"type: {kind!r} is not one of {ORDER_KINDS}")
    status = order["status"] if status_override is None else status_override
    if not isinstance(status, str) or not status:
        raise ValueError(f"status: {status!r} is not a status")
    owner = order["owner"]
    if not isinstance(owner, str):
        raise TypeError(f"owner: expected a string, got {owner!r}")
    order_type = _text(order, "order_type")
    raw_matched = order.get("size_matched")
    size_matched = (
        "0" if _absent(raw_matched) else _number(raw_matched, "size_matched", SIZE_PLACES)
    )
    created_s = _seconds(order.get("created_at"), "created_at")
    created_at = "" if created_s is None else str(created_s * _MS_PER_S)
    outcome = _text(order, "outcome")
    if (
        kind == "CANCELLATION"
        and status.startswith(_KILLED_PREFIX)
        and order_type in _KILLABLE
        and Decimal(size_matched) == 0
    ):  # never rested: the venue's capture blanks these (ws_user_order_fok_killed.json)
        size_matched = created_at = outcome = ""
    return {
        "event_type": "order",
        "type": kind,
        "id": order["id"],
        "owner": owner,
        "order_owner": _text(order, "order_owner") or owner,
        "market": order["market"],
        "asset_id": order["asset_id"],
        "side": _side(order["side"], "side"),
        "price": _number(order["price"], "price", PRICE_PLACES),
        "original_size": _number(order["original_size"], "original_size", SIZE_PLACES),
        "size_matched": size_matched,
        "outcome": outcome,
        "order_type": order_type,
        "associate_trades": _trade_ids(order.get("associate_trades")),
        "created_at": created_at,
        "expiration": _expiration(order.get("expiration")),
        "status": status,
        "maker_address": _text(order, "maker_address"),
        "timestamp": format_ms(ts_ns),
    }


def _maker_order(mo: Mapping[str, Any], i: int) -> dict[str, Any]:
    where = f"maker_orders[{i}]."
    if not isinstance(mo, Mapping):
        raise TypeError(f"{where[:-1]}: expected an object, got {mo!r}")
    out: dict[str, Any] = {
        "order_id": _text(mo, "order_id", required=True),
        "owner": _text(mo, "owner"),
        "maker_address": _text(mo, "maker_address"),
        "matched_amount": _number(mo["matched_amount"], where + "matched_amount", SIZE_PLACES),
        "price": _number(mo["price"], where + "price", PRICE_PLACES),
        "fee_rate_bps": _number(mo.get("fee_rate_bps") or 0, where + "fee_rate_bps", SIZE_PLACES),
        "asset_id": _text(mo, "asset_id", required=True),
        "outcome": _text(mo, "outcome"),
    }
    if not _absent(mo.get("side")):
        out["side"] = _side(mo["side"], where + "side")
    return out


def encode_trade_event(trade: Mapping[str, Any], ts_ns: int) -> dict[str, Any]:
    """The user-channel ``trade`` message of a REST Trade (reference 6.2), at its status.

    ``trade`` is the desk's ``trade_json`` dict (reference 4.6: ``id``,
    ``taker_order_id``, ``market``, ``asset_id``, ``side``, ``size``,
    ``fee_rate_bps``, ``price``, ``status``, ``match_time`` and ``last_update``
    in seconds, ``outcome``, ``bucket_index``, ``owner``, ``maker_address``,
    ``transaction_hash``, ``trader_side``, ``maker_orders``); ``ts_ns`` is the
    event time (the ``timestamp``, in ms). The same trade is sent again at each
    status change (``MATCHED``, ``MINED``, ``CONFIRMED``; ``RETRYING``,
    ``FAILED``): encode the dict as it is at each. Emits ``event_type``, ``type``
    (``"TRADE"``), ``id``, ``taker_order_id`` (a stand-in for a maker trade that
    lacks it: module docstring), ``market``, ``asset_id``, ``side``, ``size``,
    ``price``, ``fee_rate_bps``, ``outcome``, ``owner``, ``trade_owner`` (the
    trade's, else ``owner``), ``maker_address``, ``transaction_hash`` (``""`` until
    mined), ``trader_side``, ``bucket_index``, ``status``, ``match_time`` and
    ``last_update`` (seconds; ``ts_ns``'s second when absent), ``timestamp`` and
    ``maker_orders`` (``order_id``, ``owner``, ``maker_address``,
    ``matched_amount``, ``price``, ``fee_rate_bps``, ``asset_id``, ``outcome``, and
    ``side`` when the entry has one). Raises ``ValueError``/``TypeError`` for a
    value it cannot send, ``KeyError`` for a missing required field (``id``,
    ``owner``, ``market``, ``asset_id``, ``side``, ``size``, ``price``,
    ``status``, ``trader_side``).
    """
    trade_id = trade["id"]
    if not isinstance(trade_id, str) or not trade_id:
        raise ValueError(f"id: {trade_id!r} is not a trade id")
    owner = trade["owner"]
    if not isinstance(owner, str):
        raise TypeError(f"owner: expected a string, got {owner!r}")
    status = trade["status"]
    if not isinstance(status, str) or not status:
        raise ValueError(f"status: {status!r} is not a status")
    trader_side = trade["trader_side"]
    if trader_side not in TRADER_SIDES:
        raise ValueError(f"trader_side: {trader_side!r} is not one of {TRADER_SIDES}")
    taker_order_id = _text(trade, "taker_order_id")
    if not taker_order_id:
        if trader_side == "TAKER":
            raise ValueError("taker_order_id: a TAKER trade must name our order")
        taker_order_id = maker_taker_order_id(trade_id)
    now_s = ts_ns // _NS_PER_S
    match_s = _seconds(trade.get("match_time", trade.get("matchtime")), "match_time")
    last_s = _seconds(trade.get("last_update"), "last_update")
    bucket = trade.get("bucket_index")
    if bucket is None or bucket == "":
        bucket = 0
    elif isinstance(bucket, str) and bucket.isascii() and bucket.isdigit():
        bucket = int(bucket)
    elif isinstance(bucket, bool) or not isinstance(bucket, int) or bucket < 0:
        raise ValueError(f"bucket_index: {bucket!r} is not an index")
    makers = trade.get("maker_orders") or []
    if not isinstance(makers, list | tuple):
        raise TypeError(f"maker_orders: expected a list, got {makers!r}")
    return {
        "event_type": "trade",
        "type": "TRADE",
        "id": trade_id,
        "taker_order_id": taker_order_id,
        "market": trade["market"],
        "asset_id": trade["asset_id"],
        "side": _side(trade["side"], "side"),
        "size": _number(trade["size"], "size", SIZE_PLACES),
        "price": _number(trade["price"], "price", PRICE_PLACES),
        "fee_rate_bps": _number(trade.get("fee_rate_bps") or 0, "fee_rate_bps", SIZE_PLACES),
        "outcome": _text(trade, "outcome"),
        "owner": owner,
        "trade_owner": _text(trade, "trade_owner") or owner,
        "maker_address": _text(trade, "maker_address"),
        "transaction_hash": _text(trade, "transaction_hash"),
        "trader_side": trader_side,
        "bucket_index": bucket,
        "status": status,
        "match_time": str(now_s if match_s is None else match_s),
        "last_update": str(now_s if last_s is None else last_s),
        "timestamp": format_ms(ts_ns),
        "maker_orders": [_maker_order(mo, i) for i, mo in enumerate(makers)],
    }
