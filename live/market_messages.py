"""Polymarket market-channel WebSocket frames -> ``sim.events``.

This is the edge: raw JSON goes in, frozen ``sim.events`` objects come out and
nothing deeper ever sees a dict. Formats follow the protocol reference, section
6.1 (``book``, ``price_change`` in its current, legacy and 2024 flat form,
``last_trade_price``, ``tick_size_change``, ``best_bid_ask``,
``market_resolved``). The user channel (6.2) has its own parser,
``live.user_messages``; this one refuses user-channel messages.

This module holds the entry points and the reference below; the work is done
in ``live.message_frames`` (frame decoding, keep-alives, ``TolerantParser``),
``live.message_shapes`` (user-channel detection, classifying untagged
messages), ``live.market_handlers`` (one parser per ``event_type``) and
``live.message_fields`` (field readers, ``ParseNote``).

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

from live.market_handlers import _HANDLERS
from live.market_handlers import MARKET_EVENT_TYPES as MARKET_EVENT_TYPES
from live.message_fields import Notes, ParseNote, _fail
from live.message_frames import TolerantParser, decode_frame, is_keepalive
from live.message_shapes import (
    USER_CHANNEL_FIELDS,
    USER_CHANNEL_TYPES,
    _infer_event_type,
    _user_evidence,
    is_user_channel_message,
)
from sim.events import MarketEvent

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

#: Every ``MessageParseError.reason`` the market-channel parser raises (module docstring).
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

#: Every ``ParseNote.reason`` the market-channel parser reports (module docstring).
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


class MarketFrameParser(TolerantParser[MarketEvent]):
    """A parser for a live market socket: never raises on bad input, counts and logs it.

    See ``TolerantParser`` for the counters (``errors``, ``notes``, ``messages``,
    ``keepalives``) and ``REASONS``/``NOTES`` for what they count.
    """

    _channel = "market"

    def _parse_message(self, msg: object, recv_ns: int, notes: Notes) -> list[MarketEvent]:
        return parse_market_message(msg, recv_ns, notes)
