"""Polymarket user-channel WebSocket frames -> ``UserTrade`` / ``UserOrder``.

The user channel (``/ws/user``, protocol reference 6.2) reports *our* orders
and *our* trades. Its ``trade`` messages share ``price``/``side``/``size`` with
the market channel's ``last_trade_price``, so a user message read by the market
parser would look like a public print; ``live.market_messages`` refuses them
(``user_channel_message``), and this module parses them.

Two entry points, as for the market channel:

* ``parse_user_frame(frame, recv_ns, notes=None)`` / ``parse_user_message(msg,
  recv_ns, notes=None)`` are strict: the first rejected message raises
  ``MessageParseError``; repairs are appended to ``notes`` (``ParseNote``).
* ``UserFrameParser().parse(frame, recv_ns)`` never raises for bad input; it
  counts ``errors``/``notes`` by reason, keeps the last ``rejected``/``noted``,
  counts ``messages`` and ``keepalives``, and logs each rejection and note at
  WARNING (throttled per reason; see ``live.message_frames.TolerantParser``).

Messages
--------

* ``event_type`` ``trade`` (``type`` ``TRADE``) -> ``UserTrade``. The same trade
  id repeats at each status change (MATCHED, MINED, CONFIRMED, RETRYING,
  FAILED), so dedupe on ``(id, status)``. ``maker_orders`` -> a tuple of
  ``MakerOrder``: when we were the maker our fill is in there.
* ``event_type`` ``order`` (``type`` PLACEMENT, UPDATE, CANCELLATION) ->
  ``UserOrder``. ``status`` is kept as sent: an FOK kill arrives as
  ``"CANCELED_order couldn't be fully filled. ..."``, a venue cancel as
  ``"INVALID"``. ``type`` is kept as sent too (not checked against a list;
  ``""`` when absent, which only an untagged recording could do).
* Untagged messages are classified by shape: ``type`` ``TRADE`` or any of
  ``taker_order_id``, ``maker_orders``, ``trader_side``, ``trade_owner``,
  ``matchtime``/``match_time`` -> trade; ``type`` PLACEMENT/UPDATE/CANCELLATION
  or any of ``original_size``, ``size_matched``, ``order_type``,
  ``order_owner``, ``associate_trades`` -> order. Fitting both or neither is
  ``missing_field`` (or ``market_channel_message`` for a market-channel shape).

Field names are Polymarket's, except that timestamps become integer
nanoseconds with an ``_ns`` suffix (``timestamp`` -> ``ts_exchange_ns``,
``matchtime``/``match_time`` -> ``matchtime_ns``, ``last_update`` ->
``last_update_ns``, ``created_at`` -> ``created_at_ns``, ``expiration`` ->
``expiration_ns``), and prices, sizes and fee rates become ``float``.

Timestamps. Polymarket's docs show user-channel ``timestamp``/``matchtime`` in
*seconds* (``"1672290701"``), captures in milliseconds, and nautilus test data
ISO-8601 strings for ``match_time``/``last_update``. All three are accepted: an
integer below 1e11 is seconds (x 1e9; note ``timestamp_in_seconds``, one per
field), otherwise ms (x 1e6); a string with a ``T`` is ISO-8601 (UTC unless it
says otherwise). An integer below 1e9 (before 2001 as seconds), beyond
2200-01-01 as ms, or (except ``expiration``) more than a day after ``recv_ns``
is ``implausible_timestamp``. ``expiration`` ``"0"``/null/absent means none
(``None``); it is in seconds by definition (an order's expiry), so converting it
is not noted. Optional timestamps absent, null or ``""`` are ``None``.

Optional numbers: ``fee_rate_bps`` absent/null/``""`` is 0.0; ``size_matched``
absent/null/``""`` is 0.0 (the FOK-kill capture sends ``""``).

Reasons (``USER_REASONS``): ``keepalive``, ``invalid_json``, ``not_an_object``,
``missing_field``, ``bad_type``, ``bad_number``, ``bad_timestamp``,
``implausible_timestamp``, ``bad_side``, ``price_out_of_range``,
``negative_size`` (all as in ``live.market_messages``), ``unknown_event_type``
(an ``event_type`` neither channel knows), ``market_channel_message`` (a
market-channel message, tagged or by shape, on the user parser).

Notes (``USER_NOTES``): ``timestamp_in_seconds`` (a timestamp field in seconds,
converted), ``bad_maker_order`` (a malformed ``maker_orders`` entry: dropped,
the trade kept; the detail names the field and the reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from live.market_handlers import MARKET_EVENT_TYPES
from live.message_fields import (
    _MAX_AHEAD_NS,
    _MAX_MS,
    Notes,
    ParseNote,
    _absent,
    _fail,
    _get,
    _int_stamp,
    _list,
    _obj,
    _opt_str,
    _price,
    _side,
    _size,
    _str,
)
from live.message_frames import TolerantParser, decode_frame
from live.message_shapes import USER_CHANNEL_TYPES, _infer_event_type
from sim.errors import MessageParseError
from sim.types import Side

__all__ = [
    "USER_NOTES",
    "USER_REASONS",
    "MakerOrder",
    "UserEvent",
    "UserFrameParser",
    "UserOrder",
    "UserTrade",
    "parse_user_frame",
    "parse_user_message",
]

#: Every ``MessageParseError.reason`` this module raises (module docstring).
USER_REASONS: frozenset[str] = frozenset(
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
        "unknown_event_type",
        "market_channel_message",
    }
)

#: Every ``ParseNote.reason`` this module reports (module docstring).
USER_NOTES: frozenset[str] = frozenset({"timestamp_in_seconds", "bad_maker_order"})

_TRADE_FIELDS = frozenset(
    {"taker_order_id", "maker_orders", "trader_side", "trade_owner", "matchtime", "match_time"}
)
_ORDER_FIELDS = frozenset(
    {"original_size", "size_matched", "order_type", "order_owner", "associate_trades"}
)
_ORDER_TYPES = USER_CHANNEL_TYPES - {"TRADE"}
_MIN_SECONDS = 1_000_000_000  # 2001-09-09: older "seconds" are not Polymarket's
_SECONDS_BELOW = 100_000_000_000  # below this an integer stamp is seconds, else ms
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class MakerOrder:
    """One resting order a user-channel trade matched (an element of ``maker_orders``)."""

    order_id: str
    asset_id: str
    price: float
    matched_amount: float
    outcome: str = ""
    owner: str = ""
    maker_address: str = ""
    fee_rate_bps: float = 0.0
    side: Side | None = None


@dataclass(frozen=True, slots=True)
class UserTrade:
    """A user-channel ``trade``: one of our trades, at one status (module docstring)."""

    ts_exchange_ns: int
    ts_recv_ns: int
    id: str
    taker_order_id: str
    market: str
    asset_id: str
    side: Side  # the taker order's side
    price: float
    size: float
    status: str
    maker_orders: tuple[MakerOrder, ...] = ()
    outcome: str = ""
    owner: str = ""
    trade_owner: str = ""
    maker_address: str = ""
    trader_side: str = ""  # TAKER or MAKER: which side of this trade we were
    fee_rate_bps: float = 0.0
    transaction_hash: str = ""
    bucket_index: int | None = None
    matchtime_ns: int | None = None
    last_update_ns: int | None = None


@dataclass(frozen=True, slots=True)
class UserOrder:
    """A user-channel ``order``: one of our orders was placed, filled more or cancelled."""

    ts_exchange_ns: int
    ts_recv_ns: int
    id: str
    type: str  # PLACEMENT, UPDATE or CANCELLATION ("" if the message did not say)
    market: str
    asset_id: str
    side: Side
    price: float
    original_size: float
    size_matched: float
    status: str
    order_type: str = ""
    outcome: str = ""
    owner: str = ""
    order_owner: str = ""
    maker_address: str = ""
    associate_trades: tuple[str, ...] = ()
    created_at_ns: int | None = None
    expiration_ns: int | None = None


UserEvent = UserTrade | UserOrder


# -- fields ------------------------------------------------------------------------------------


def _stamp_ns(
    value: Any,
    field: str,
    raw: object,
    recv_ns: int,
    notes: Notes,
    *,
    future_ok: bool = False,
    note_seconds: bool = True,
) -> int:
    """A user-channel timestamp as ns: seconds, ms or ISO-8601 (module docstring)."""
    if isinstance(value, str) and "T" in value:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _fail("bad_timestamp", f"{field}: {value!r} is not ISO-8601", raw) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        ns = (when - _EPOCH) // _US * 1_000
    else:
        n = _int_stamp(value, field, raw)
        if n < _MIN_SECONDS:
            raise _fail("implausible_timestamp", f"{field}: {value!r} is before 2001", raw)
        if n > _MAX_MS:
            raise _fail(
                "implausible_timestamp",
                f"{field}: {value!r} is after 2200 as ms (micro- or nanoseconds?)",
                raw,
            )
        if n < _SECONDS_BELOW:
            ns = n * 1_000_000_000
            if note_seconds:
                notes.append(
                    ParseNote(
                        "timestamp_in_seconds", f"{field}: {value!r} is in seconds; x 1e9", raw
                    )
                )
        else:
            ns = n * 1_000_000
    if ns < _MIN_SECONDS * 1_000_000_000:
        raise _fail("implausible_timestamp", f"{field}: {value!r} is before 2001", raw)
    if ns > _MAX_MS * 1_000_000:
        raise _fail("implausible_timestamp", f"{field}: {value!r} is after 2200", raw)
    if not future_ok and recv_ns > 0 and ns - recv_ns > _MAX_AHEAD_NS:
        raise _fail(
            "implausible_timestamp",
            f"{field}: {value!r} is more than a day after the receive time {recv_ns} ns",
            raw,
        )
    return ns


def _opt_stamp(
    msg: Mapping[str, Any], keys: tuple[str, ...], raw: object, recv_ns: int, notes: Notes
) -> int | None:
    for key in keys:
        value = msg.get(key)
        if not _absent(value):
            return _stamp_ns(value, key, raw, recv_ns, notes)
    return None


def _opt_amount(msg: Mapping[str, Any], key: str, where: str, raw: object) -> float:
    value = msg.get(key)
    return 0.0 if _absent(value) else _size(value, where + key, raw)


# -- messages ----------------------------------------------------------------------------------


def _maker_order(mo: Mapping[str, Any], where: str, raw: object) -> MakerOrder:
    side = mo.get("side")
    return MakerOrder(
        order_id=_str(mo, "order_id", where, raw),
        asset_id=_str(mo, "asset_id", where, raw),
        price=_price(_get(mo, "price", where, raw), where + "price", raw),
        matched_amount=_size(_get(mo, "matched_amount", where, raw), where + "matched_amount", raw),
        outcome=_opt_str(mo, "outcome", where, raw),
        owner=_opt_str(mo, "owner", where, raw),
        maker_address=_opt_str(mo, "maker_address", where, raw),
        fee_rate_bps=_opt_amount(mo, "fee_rate_bps", where, raw),
        side=None if _absent(side) else _side(side, where + "side", raw),
    )


def _trade(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> UserTrade:
    ts = _stamp_ns(_get(msg, "timestamp", "", msg), "timestamp", msg, recv_ns, notes)
    makers: list[MakerOrder] = []
    raw_makers = msg.get("maker_orders")
    for i, item in enumerate([] if raw_makers is None else _list(msg, "maker_orders", "", msg)):
        where = f"maker_orders[{i}]"
        try:
            makers.append(_maker_order(_obj(item, where, msg), where + ".", msg))
        except MessageParseError as exc:
            notes.append(
                ParseNote("bad_maker_order", f"{exc.reason}: {exc.detail}; entry dropped", msg)
            )
    bucket = msg.get("bucket_index")
    if bucket is not None and not (
        (isinstance(bucket, int) and not isinstance(bucket, bool))
        or (isinstance(bucket, str) and bucket.isascii() and bucket.isdigit())
    ):
        raise _fail("bad_type", f"bucket_index: expected an integer, got {bucket!r}", msg)
    return UserTrade(
        ts_exchange_ns=ts,
        ts_recv_ns=recv_ns,
        id=_str(msg, "id", "", msg),
        taker_order_id=_str(msg, "taker_order_id", "", msg),
        market=_opt_str(msg, "market", "", msg),
        asset_id=_str(msg, "asset_id", "", msg),
        side=_side(_get(msg, "side", "", msg), "side", msg),
        price=_price(_get(msg, "price", "", msg), "price", msg),
        size=_size(_get(msg, "size", "", msg), "size", msg),
        status=_str(msg, "status", "", msg),
        maker_orders=tuple(makers),
        outcome=_opt_str(msg, "outcome", "", msg),
        owner=_opt_str(msg, "owner", "", msg),
        trade_owner=_opt_str(msg, "trade_owner", "", msg),
        maker_address=_opt_str(msg, "maker_address", "", msg),
        trader_side=_opt_str(msg, "trader_side", "", msg),
        fee_rate_bps=_opt_amount(msg, "fee_rate_bps", "", msg),
        transaction_hash=_opt_str(msg, "transaction_hash", "", msg),
        bucket_index=None if bucket is None else int(bucket),
        matchtime_ns=_opt_stamp(msg, ("matchtime", "match_time"), msg, recv_ns, notes),
        last_update_ns=_opt_stamp(msg, ("last_update",), msg, recv_ns, notes),
    )


def _order(msg: Mapping[str, Any], recv_ns: int, notes: Notes) -> UserOrder:
    ts = _stamp_ns(_get(msg, "timestamp", "", msg), "timestamp", msg, recv_ns, notes)
    trades_v = msg.get("associate_trades")
    trades: list[str] = []
    for i, t in enumerate([] if trades_v is None else _list(msg, "associate_trades", "", msg)):
        if not isinstance(t, str):
            raise _fail("bad_type", f"associate_trades[{i}]: expected a trade id, got {t!r}", msg)
        trades.append(t)
    expiration = msg.get("expiration")
    no_expiry = _absent(expiration) or expiration == "0" or expiration == 0
    return UserOrder(
        ts_exchange_ns=ts,
        ts_recv_ns=recv_ns,
        id=_str(msg, "id", "", msg),
        type=_opt_str(msg, "type", "", msg),
        market=_opt_str(msg, "market", "", msg),
        asset_id=_str(msg, "asset_id", "", msg),
        side=_side(_get(msg, "side", "", msg), "side", msg),
        price=_price(_get(msg, "price", "", msg), "price", msg),
        original_size=_size(_get(msg, "original_size", "", msg), "original_size", msg),
        size_matched=_opt_amount(msg, "size_matched", "", msg),
        status=_str(msg, "status", "", msg),
        order_type=_opt_str(msg, "order_type", "", msg),
        outcome=_opt_str(msg, "outcome", "", msg),
        owner=_opt_str(msg, "owner", "", msg),
        order_owner=_opt_str(msg, "order_owner", "", msg),
        maker_address=_opt_str(msg, "maker_address", "", msg),
        associate_trades=tuple(trades),
        created_at_ns=_opt_stamp(msg, ("created_at",), msg, recv_ns, notes),
        expiration_ns=None
        if no_expiry
        else _stamp_ns(
            expiration, "expiration", msg, recv_ns, notes, future_ok=True, note_seconds=False
        ),
    )


def _infer_user_type(msg: Mapping[str, Any]) -> str:
    kind = msg.get("type")
    trade = kind == "TRADE" or any(k in msg for k in _TRADE_FIELDS)
    order = (isinstance(kind, str) and kind in _ORDER_TYPES) or any(k in msg for k in _ORDER_FIELDS)
    if trade != order:
        return "trade" if trade else "order"
    if not trade:
        try:
            market_type = _infer_event_type(msg)
        except MessageParseError:
            pass
        else:
            raise _fail(
                "market_channel_message",
                f"an untagged market-channel {market_type} message, not user data",
                msg,
            )
    shapes = "both a trade and an order" if trade else "no user-channel shape"
    raise _fail("missing_field", f"event_type: field is missing and it fits {shapes}", msg)


# -- public API --------------------------------------------------------------------------------


def parse_user_message(msg: object, recv_ns: int, notes: Notes | None = None) -> list[UserEvent]:
    """The event of one decoded user-channel message (a dict), as a one-element list.

    Raises ``MessageParseError`` (``USER_REASONS``); repairs go to ``notes``
    (``USER_NOTES``) only if the message is returned.
    """
    if not isinstance(msg, dict):
        raise _fail("not_an_object", f"message is a {type(msg).__name__}, not an object", msg)
    event_type = msg.get("event_type")
    if event_type is None:
        event_type = _infer_user_type(msg)
    mine: Notes = []
    if event_type == "trade":
        event: UserEvent = _trade(msg, recv_ns, mine)
    elif event_type == "order":
        event = _order(msg, recv_ns, mine)
    elif isinstance(event_type, str) and event_type in MARKET_EVENT_TYPES:
        raise _fail(
            "market_channel_message",
            f"event_type: {event_type!r} is a market-channel message, not user data",
            msg,
        )
    else:
        raise _fail("unknown_event_type", f"event_type: {event_type!r} is not handled", msg)
    if notes is not None:
        notes.extend(mine)
    return [event]


def parse_user_frame(
    frame: str | bytes | bytearray | dict | list, recv_ns: int, notes: Notes | None = None
) -> list[UserEvent]:
    """All events of one user-channel frame (object or batched array), in order.

    Strict: raises ``MessageParseError`` on the first rejected message (a
    ``PING``/``PONG`` frame raises ``keepalive``). Repairs go to ``notes``.
    """
    out: list[UserEvent] = []
    for msg in decode_frame(frame):
        out.extend(parse_user_message(msg, recv_ns, notes))
    return out


class UserFrameParser(TolerantParser[UserEvent]):
    """A parser for a live user socket: never raises on bad input, counts and logs it.

    The counters are ``TolerantParser``'s: ``errors`` (``USER_REASONS``),
    ``notes`` (``USER_NOTES``), ``rejected``, ``noted``, ``messages``,
    ``keepalives``.
    """

    _channel = "user"

    def _parse_message(self, msg: object, recv_ns: int, notes: Notes) -> list[UserEvent]:
        return parse_user_message(msg, recv_ns, notes)
