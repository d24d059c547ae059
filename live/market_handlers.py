"""One parser per market-channel ``event_type``, and the per-entry repairs they share.

Each handler takes a decoded message, its receive time and a ``notes`` list,
and returns the message's ``sim.events`` or raises ``MessageParseError``. The
formats, reasons and notes are documented in ``live.market_messages``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from live.message_fields import (
    Notes,
    ParseNote,
    _absent,
    _fail,
    _get,
    _list,
    _obj,
    _opt_str,
    _price,
    _side,
    _size,
    _str,
    _tick,
    _top,
    _ts_ns,
)
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
