"""``sim.events`` -> Polymarket market-channel messages: the mock's side of ``/ws/market``.

The exact inverse of the project's market-channel parser for the *current*
formats of the protocol reference, section 6.1 (``book``, ``price_change`` with a
``price_changes`` array, ``last_trade_price``, ``tick_size_change``,
``best_bid_ask``, ``market_resolved``; ``new_market`` from a ``MarketInfo``).
Each ``encode_*`` function returns the JSON-able ``dict`` the venue sends;
``encode_frame`` turns one message or several into the text of one WebSocket
frame (section 6: a frame is a JSON object or array).

This module imports nothing from ``live``: the parser and the encoder meet only
in the tests. What does not survive the trip (the parser maps several inputs to
one event, or the event lacks a field the venue sends):

* **Time.** ``timestamp`` is the exchange time in whole milliseconds, as a
  decimal string (section 6: "Timestamps are ms strings"):
  ``ts_exchange_ns // 1_000_000``. Sub-millisecond precision is lost, as it is
  on the venue; ``ts_recv_ns`` is not sent at all (the receiver stamps it).
* **Numbers** are decimal strings without exponent or trailing zeros (``"0.52"``,
  ``"100"``, ``"0.00001"``; see ``format_decimal``). A float on a tick grid
  (``k / 100``) round-trips exactly; one within float noise of a price on the
  finest tick grid (4 decimals) or of a size in token units (6 decimals) is
  written as that decimal, so ``0.1 + 0.2`` goes out as ``"0.3"`` and parses back
  as ``0.3``, not as the float it was computed as.
* **Empty sides.** ``best_bid``/``best_ask`` of ``None`` (an empty side) are sent
  as the venue's sentinels ``"0"`` and ``"1"``; the parser reads both back as
  ``None``.
* **Fields the events do not carry** are arguments with venue-like defaults:
  each ``price_changes`` entry's ``hash`` (``""``), a ``book``'s
  ``last_trade_price`` (omitted), ``market_resolved``'s ``id``,
  ``winning_outcome`` and ``tags``. ``best_bid_ask``'s ``spread`` is computed.
* **Books** are sent in the venue's order whatever order the event holds:
  bids ascending, asks descending, the best level *last* (section 6.1,
  "Ordering quirk"). Levels are sent as they are otherwise: a snapshot with a
  repeated price or a size-0 level is encoded as is (the parser merges or drops
  those, with a note). ``hash`` is the event's, verbatim.
* Only the current ``price_change`` format is written (never the legacy
  ``changes`` or the 2024 flat form), every message carries ``event_type``,
  sides are ``"BUY"``/``"SELL"``, and a trade's absent ``side``/``size`` or empty
  ``transaction_hash`` is an absent key.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

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
from sim.types import MarketInfo

__all__ = [
    "PRICE_PLACES",
    "SIZE_PLACES",
    "encode_best_bid_ask",
    "encode_book",
    "encode_event",
    "encode_events",
    "encode_frame",
    "encode_last_trade",
    "encode_market_resolved",
    "encode_new_market",
    "encode_price_change",
    "encode_tick_size_change",
    "format_decimal",
    "format_ms",
    "group_level_changes",
]

#: Decimals of the finest Polymarket tick (0.0001, reference 4.3): prices and tick sizes.
PRICE_PLACES = 4
#: Decimals of a size: outcome tokens (and pUSD) have 6 (reference 4.3, "Amounts").
SIZE_PLACES = 6

_NS_PER_MS = 1_000_000
# How far a float may sit from the decimal it was meant to be and still be written as it:
# a few ulps of itself, or (for results of cancellation near 0) a tiny part of a grid step.
_NOISE_ULPS = 4
_NOISE_STEPS = 1e-7
_EMPTY_BID = "0"  # the venue's best_bid when the bid side is empty (reference 6.1)
_EMPTY_ASK = "1"  # ... and best_ask when the ask side is empty


# -- scalars -----------------------------------------------------------------------------------


def format_decimal(x: float, places: int | None = None) -> str:
    """``x`` as the venue writes a number: the shortest exact decimal, no exponent.

    Emits e.g. ``"0.52"``, ``"100"`` (never ``"100.0"``), ``"0.00001"`` (never
    ``"1e-05"``), ``"10000000000000000"`` (never ``"1e+16"``); ``-0.0`` is ``"0"``.
    The digits are those of ``repr(x)``, the shortest decimal that reads back as
    exactly ``x``, so a float on a tick grid (``k / 100``) round-trips exactly.
    With ``places``, a float within float noise of a decimal of that many places
    (4 ulps, or 1e-7 of a ``10**-places`` step: ``0.1 + 0.2``, ``57 * 0.01``,
    ``0.3 - 0.1 - 0.2``) is written as that decimal; a value further away keeps
    all its digits (nothing is silently rounded off). Raises
    ``ValueError`` for NaN and infinities. Reference 6.1: prices and sizes are
    decimal strings.
    """
    if not math.isfinite(x):
        raise ValueError(f"{x!r} is not a finite number")
    d = Decimal(repr(float(x)))
    exponent = d.as_tuple().exponent  # an int: d is finite
    if places is not None and isinstance(exponent, int) and exponent < -places:
        with localcontext() as ctx:
            ctx.prec = 60
            q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
        tolerance = max(_NOISE_ULPS * math.ulp(x), _NOISE_STEPS * 10.0**-places)
        if abs(float(q) - x) <= tolerance:
            d = q
    return _plain(d)


def _plain(d: Decimal) -> str:
    """``d`` in positional notation without trailing zeros (``-0`` is ``0``)."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _price(x: float) -> str:
    return format_decimal(x, PRICE_PLACES)


def _size(x: float) -> str:
    return format_decimal(x, SIZE_PLACES)


def format_ms(ts_ns: int) -> str:
    """The venue's ``timestamp``: whole milliseconds of ``ts_ns`` as a decimal string.

    ``ts_ns // 1_000_000``: the sub-millisecond part is dropped, as the venue
    sends only ms (reference 6, "Timestamps are ms strings"; 6.1 examples).
    Raises ``ValueError`` for a negative time.
    """
    if ts_ns < 0:
        raise ValueError(f"timestamp {ts_ns} ns is negative")
    return str(ts_ns // _NS_PER_MS)


def _top(x: float | None, empty: str) -> str:
    return empty if x is None else _price(x)


def _levels(levels: Iterable[Level], *, descending: bool) -> list[dict[str, str]]:
    ordered = sorted(levels, key=lambda lv: lv[0], reverse=descending)
    return [{"price": _price(p), "size": _size(s)} for p, s in ordered]


# -- one message per event ---------------------------------------------------------------------


def encode_book(ev: BookSnapshot, *, last_trade_price: float | None = None) -> dict[str, Any]:
    """The ``book`` message of a snapshot (reference 6.1, ``book``).

    Emits ``event_type``, ``market``, ``asset_id``, ``timestamp``, ``hash``,
    ``tick_size`` (only when the event knows it), ``last_trade_price`` (only when
    given: the event does not carry it), ``bids`` and ``asks``, in the order of
    the reference's real capture. Levels are ``{"price": str, "size": str}`` in the
    venue's order: bids ascending and asks descending, so the best level of
    each side is the LAST element (6.1, "Ordering quirk"); the event's own order
    does not matter.
    """
    msg: dict[str, Any] = {
        "event_type": "book",
        "market": ev.market,
        "asset_id": ev.asset_id,
        "timestamp": format_ms(ev.ts_exchange_ns),
        "hash": ev.hash,
    }
    if ev.tick_size is not None:
        msg["tick_size"] = _price(ev.tick_size)
    if last_trade_price is not None:
        msg["last_trade_price"] = _price(last_trade_price)
    msg["bids"] = _levels(ev.bids, descending=False)
    msg["asks"] = _levels(ev.asks, descending=True)
    return msg


def encode_price_change(
    changes: Sequence[LevelChange], *, hashes: Sequence[str] | None = None
) -> dict[str, Any]:
    """One ``price_change`` message (current format, since 2025-09-15) of ``changes``.

    Reference 6.1, ``price_change``: emits ``event_type``, ``market``,
    ``timestamp`` and ``price_changes``, one entry per change in the given order:
    ``asset_id``, ``price``, ``size`` (the level's new total, ``"0"`` removes it),
    ``side`` (``"BUY"`` = bid side, ``"SELL"`` = ask side), ``hash`` (``hashes[i]``,
    else ``""``: a ``LevelChange`` has no hash) and the post-change ``best_bid``/
    ``best_ask`` (``"0"``/``"1"`` for an empty side). The changes may be of
    several assets (both tokens of a market) but must share the market and the
    millisecond of ``ts_exchange_ns`` (the message has one of each); raises
    ``ValueError`` otherwise, when ``changes`` is empty, or when ``hashes`` has
    the wrong length. See ``group_level_changes`` to split a stream.
    """
    if not changes:
        raise ValueError("a price_change message needs at least one change")
    if hashes is not None and len(hashes) != len(changes):
        raise ValueError(f"{len(hashes)} hashes for {len(changes)} changes")
    first = changes[0]
    ms = format_ms(first.ts_exchange_ns)
    for ch in changes[1:]:
        if ch.market != first.market or format_ms(ch.ts_exchange_ns) != ms:
            raise ValueError(
                f"changes of one price_change must share market and ms timestamp: "
                f"{first.market!r}@{ms} vs {ch.market!r}@{format_ms(ch.ts_exchange_ns)}"
            )
    entries = [
        {
            "asset_id": ch.asset_id,
            "price": _price(ch.price),
            "size": _size(ch.size),
            "side": ch.side.name,
            "hash": "" if hashes is None else hashes[i],
            "best_bid": _top(ch.best_bid, _EMPTY_BID),
            "best_ask": _top(ch.best_ask, _EMPTY_ASK),
        }
        for i, ch in enumerate(changes)
    ]
    return {
        "event_type": "price_change",
        "market": first.market,
        "timestamp": ms,
        "price_changes": entries,
    }


def group_level_changes(changes: Iterable[LevelChange]) -> list[dict[str, Any]]:
    """``price_change`` messages for a stream of changes, several changes per message.

    Each maximal run of consecutive changes with the same ``market`` and the same
    millisecond timestamp becomes one message (``encode_price_change``), so the
    changes keep their order across messages and one message can cover both
    tokens of a market, as on the venue (reference 6.1, ``price_change``). Changes
    of one market and ms separated by another market's are not merged (that would
    reorder the stream).
    """
    out: list[dict[str, Any]] = []
    run: list[LevelChange] = []
    key: tuple[str, int] | None = None
    for ch in changes:
        k = (ch.market, ch.ts_exchange_ns // _NS_PER_MS)
        if run and k != key:
            out.append(encode_price_change(run))
            run = []
        run.append(ch)
        key = k
    if run:
        out.append(encode_price_change(run))
    return out


def encode_last_trade(ev: TradePrint) -> dict[str, Any]:
    """The ``last_trade_price`` message of a trade print (reference 6.1).

    Emits ``event_type``, ``asset_id``, ``market``, ``price``, ``side`` (the
    taker's; omitted when the print does not know it), ``size`` (omitted when
    unknown), ``fee_rate_bps``, ``timestamp`` and ``transaction_hash`` (only when
    the print has one: 2026 captures carry it, older ones do not).
    """
    msg: dict[str, Any] = {
        "event_type": "last_trade_price",
        "asset_id": ev.asset_id,
        "market": ev.market,
        "price": _price(ev.price),
    }
    if ev.side is not None:
        msg["side"] = ev.side.name
    if ev.size is not None:
        msg["size"] = _size(ev.size)
    msg["fee_rate_bps"] = _size(ev.fee_rate_bps)
    msg["timestamp"] = format_ms(ev.ts_exchange_ns)
    if ev.transaction_hash:
        msg["transaction_hash"] = ev.transaction_hash
    return msg


def encode_tick_size_change(ev: TickSizeChange) -> dict[str, Any]:
    """The ``tick_size_change`` message (reference 6.1).

    Emits ``event_type``, ``asset_id``, ``market``, ``old_tick_size``,
    ``new_tick_size`` (e.g. ``"0.01"``, ``"0.001"``) and ``timestamp``.
    """
    return {
        "event_type": "tick_size_change",
        "asset_id": ev.asset_id,
        "market": ev.market,
        "old_tick_size": _price(ev.old_tick_size),
        "new_tick_size": _price(ev.new_tick_size),
        "timestamp": format_ms(ev.ts_exchange_ns),
    }


def encode_best_bid_ask(ev: BestBidAsk) -> dict[str, Any]:
    """The ``best_bid_ask`` message (reference 6.1; sent with ``custom_feature_enabled``).

    Emits ``event_type``, ``market``, ``asset_id``, ``best_bid``, ``best_ask``,
    ``spread`` and ``timestamp``. An empty side is the sentinel ``"0"`` (bid) or
    ``"1"`` (ask), as in ``price_change``; ``spread`` is ``best_ask - best_bid`` of
    the strings sent, computed in decimal (``"0.77" - "0.73"`` is ``"0.04"``, not
    float noise), so with an empty side it is measured from the sentinel (what
    the venue sends then is unconfirmed).
    """
    bid = _top(ev.best_bid, _EMPTY_BID)
    ask = _top(ev.best_ask, _EMPTY_ASK)
    return {
        "event_type": "best_bid_ask",
        "market": ev.market,
        "asset_id": ev.asset_id,
        "best_bid": bid,
        "best_ask": ask,
        "spread": _plain(Decimal(ask) - Decimal(bid)),
        "timestamp": format_ms(ev.ts_exchange_ns),
    }


def encode_market_resolved(
    ev: MarketResolved,
    *,
    market_id: str = "",
    outcomes: Sequence[str] = ("Yes", "No"),
    tags: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``market_resolved`` message (reference 6.1; sent with ``custom_feature_enabled``).

    Emits ``event_type``, ``id`` (the Gamma market id, ``market_id``: the event
    has none), ``market``, ``assets_ids``, ``winning_asset_id``,
    ``winning_outcome``, ``timestamp`` and ``tags``. ``winning_outcome`` is the
    entry of ``outcomes`` at the winner's position in ``asset_ids`` (Polymarket
    lists a binary market's tokens YES first, outcomes ``["Yes", "No"]``), or
    ``""`` when ``outcomes`` does not match the assets one to one.
    """
    winner = ev.winning_asset_id
    outcome = ""
    if len(outcomes) == len(ev.asset_ids) and winner in ev.asset_ids:
        outcome = outcomes[ev.asset_ids.index(winner)]
    return {
        "event_type": "market_resolved",
        "id": market_id,
        "market": ev.market,
        "assets_ids": list(ev.asset_ids),
        "winning_asset_id": winner,
        "winning_outcome": outcome,
        "timestamp": format_ms(ev.ts_exchange_ns),
        "tags": list(tags),
    }


def encode_new_market(
    info: MarketInfo,
    ts_ns: int,
    *,
    market_id: str = "",
    description: str = "",
    active: bool = True,
    event: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``new_market`` message announcing ``info`` (sent with ``custom_feature_enabled``).

    Reference 6.1 names the message but marks its fields **unconfirmed**; the
    shape here is that of the shared fixture ``ws_market_new_market_msg.json``
    (nautilus_trader test data), key for key: ``event_type``, ``id``
    (``market_id``), ``question``, ``market`` and ``condition_id`` (the condition
    id), ``slug``, ``description``, ``assets_ids`` and ``clob_token_ids`` (YES then
    NO), ``outcomes`` (``["Yes", "No"]``), ``event_message`` (``id``, ``ticker``,
    ``slug``, ``title``, ``description``: ``id`` defaults to ``info.event_id``,
    the rest to ``""`` unless ``event`` gives them), ``timestamp`` (``ts_ns`` in
    ms), ``tags``, ``active``, ``sports_market_type``, ``line``,
    ``game_start_time`` (``""``: clobsim has no sports metadata),
    ``order_price_min_tick_size`` and ``group_item_title`` (``""``). The
    project's parser refuses ``new_market`` (``unknown_event_type``), so this
    message has no round trip.
    """
    tokens = [info.yes_token_id, info.no_token_id]
    event_message = {
        "id": info.event_id,
        "ticker": "",
        "slug": "",
        "title": "",
        "description": "",
    }
    if event:
        unknown = set(event) - set(event_message)
        if unknown:
            raise ValueError(f"event_message has no field(s) {sorted(unknown)}")
        event_message.update(event)
    return {
        "event_type": "new_market",
        "id": market_id,
        "question": info.question,
        "market": info.condition_id,
        "slug": info.slug,
        "description": description,
        "assets_ids": list(tokens),
        "outcomes": ["Yes", "No"],
        "event_message": event_message,
        "timestamp": format_ms(ts_ns),
        "tags": list(info.tags),
        "condition_id": info.condition_id,
        "active": active,
        "clob_token_ids": list(tokens),
        "sports_market_type": "",
        "line": "",
        "game_start_time": "",
        "order_price_min_tick_size": _price(info.tick_size),
        "group_item_title": "",
    }


# -- streams and frames ------------------------------------------------------------------------


def encode_event(ev: MarketEvent) -> dict[str, Any]:
    """The one market-channel message of ``ev`` (reference 6.1), with default extras.

    Dispatches on the type: ``BookSnapshot`` -> ``book``, ``LevelChange`` -> a
    one-entry ``price_change``, ``TradePrint`` -> ``last_trade_price``,
    ``TickSizeChange`` -> ``tick_size_change``, ``BestBidAsk`` -> ``best_bid_ask``,
    ``MarketResolved`` -> ``market_resolved``. Raises ``TypeError`` for anything
    else (a ``ConnectionState`` is the receiver's, never a venue message).
    """
    if isinstance(ev, BookSnapshot):
        return encode_book(ev)
    if isinstance(ev, LevelChange):
        return encode_price_change([ev])
    if isinstance(ev, TradePrint):
        return encode_last_trade(ev)
    if isinstance(ev, TickSizeChange):
        return encode_tick_size_change(ev)
    if isinstance(ev, BestBidAsk):
        return encode_best_bid_ask(ev)
    if isinstance(ev, MarketResolved):
        return encode_market_resolved(ev)
    raise TypeError(f"{type(ev).__name__} is not a market-channel message")


def encode_events(events: Iterable[MarketEvent]) -> list[dict[str, Any]]:
    """Messages for a stream of events, in order (reference 6.1).

    Consecutive ``LevelChange`` events of one market and millisecond share a
    ``price_change`` message (``group_level_changes``); every other event is one
    message (``encode_event``). Parsing the messages in order gives the events
    back in order (times truncated to ms).
    """
    out: list[dict[str, Any]] = []
    run: list[LevelChange] = []
    for ev in events:
        if isinstance(ev, LevelChange):
            run.append(ev)
            continue
        if run:
            out.extend(group_level_changes(run))
            run = []
        out.append(encode_event(ev))
    if run:
        out.extend(group_level_changes(run))
    return out


def encode_frame(messages: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> str:
    """The text of one WebSocket frame: compact JSON of one message or an array of them.

    Reference 6 ("Framing"): a frame is a JSON object or an array; the initial
    snapshot is an array of ``book`` messages, later updates usually one object
    each. A mapping is sent as an object, a sequence as an array (also of one
    element, or empty: the venue's snapshot of no assets). Keys keep the
    messages' order; separators are compact and non-ASCII text is sent as UTF-8.
    """
    payload: Any = dict(messages) if isinstance(messages, Mapping) else list(messages)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
