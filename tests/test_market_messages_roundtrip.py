"""Property: market events encoded as Polymarket JSON parse back to themselves."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from live.market_messages import MarketFrameParser, parse_market_frame
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.types import VALID_TICK_SIZES, Side
from tests.test_market_messages_helpers import (
    A_NO,
    A_YES,
    B_NO,
    B_YES,
    C_NO,
    C_YES,
    MKT_A,
    MKT_B,
    MKT_C,
    RECV,
)

# -- property: Polymarket JSON encoding round-trips --------------------------------------------

TOKENS = (A_YES, A_NO, B_YES, B_NO, C_YES, C_NO)
MARKET_OF = {A_YES: MKT_A, A_NO: MKT_A, B_YES: MKT_B, B_NO: MKT_B, C_YES: MKT_C, C_NO: MKT_C}
PAIRS = ((A_YES, A_NO), (B_YES, B_NO), (C_YES, C_NO))

# plausible ms: from 1973 to a day after the receive time
ms_st = st.integers(100_000_000_000, RECV // 1_000_000 + 86_400_000)
price_st = st.integers(1, 999).map(lambda k: k / 1000)
size_st = st.integers(0, 10**12).map(lambda c: c / 100)
resting_st = st.integers(1, 10**12).map(lambda c: c / 100)
top_st = st.none() | price_st
asset_st = st.sampled_from(TOKENS)
side_st = st.sampled_from([Side.BUY, Side.SELL])
tick_st = st.sampled_from(VALID_TICK_SIZES)


@st.composite
def books(draw: st.DrawFn) -> BookSnapshot:
    asset = draw(asset_st)
    # an uncrossed book of resting (non-zero) levels: nothing for the parser to repair
    prices = sorted(draw(st.lists(st.integers(1, 999), unique=True, max_size=12)))
    split = draw(st.integers(0, len(prices)))
    bid_p = sorted((k / 1000 for k in prices[:split]), reverse=True)
    ask_p = [k / 1000 for k in prices[split:]]
    return BookSnapshot(
        ts_exchange_ns=draw(ms_st) * 1_000_000,
        ts_recv_ns=RECV,
        asset_id=asset,
        market=MARKET_OF[asset],
        bids=tuple((p, draw(resting_st)) for p in bid_p),
        asks=tuple((p, draw(resting_st)) for p in ask_p),
        tick_size=draw(st.none() | tick_st),
        hash=draw(st.text("0123456789abcdef", max_size=40)),
    )


@st.composite
def level_changes(draw: st.DrawFn) -> LevelChange:
    asset = draw(asset_st)
    return LevelChange(
        draw(ms_st) * 1_000_000,
        RECV,
        asset,
        MARKET_OF[asset],
        draw(side_st),
        draw(price_st),
        draw(size_st),
        draw(top_st),
        draw(top_st),
    )


@st.composite
def trades(draw: st.DrawFn) -> TradePrint:
    asset = draw(asset_st)
    fee = draw(st.integers(0, 10_000).map(float))
    return TradePrint(
        draw(ms_st) * 1_000_000,
        RECV,
        asset,
        MARKET_OF[asset],
        draw(st.none() | side_st),  # side and size are optional in last_trade_price
        draw(price_st),
        draw(st.none() | size_st),
        fee,
        draw(st.sampled_from(["", "0x" + "ab" * 32])),
    )


@st.composite
def tick_changes(draw: st.DrawFn) -> TickSizeChange:
    asset = draw(asset_st)
    ts = draw(ms_st) * 1_000_000
    return TickSizeChange(ts, RECV, asset, MARKET_OF[asset], draw(tick_st), draw(tick_st))


@st.composite
def best_bid_asks(draw: st.DrawFn) -> BestBidAsk:
    asset = draw(asset_st)
    ts = draw(ms_st) * 1_000_000
    return BestBidAsk(ts, RECV, asset, MARKET_OF[asset], draw(top_st), draw(top_st))


@st.composite
def resolutions(draw: st.DrawFn) -> MarketResolved:
    pair = draw(st.sampled_from(PAIRS))
    ts = draw(ms_st) * 1_000_000
    return MarketResolved(ts, RECV, MARKET_OF[pair[0]], pair, draw(st.sampled_from(pair)))


feed_events = st.one_of(
    books(), level_changes(), trades(), tick_changes(), best_bid_asks(), resolutions()
)


def num(x: float) -> str:
    return repr(x)  # shortest round-tripping decimal, as the venue's strings are


def encode(ev: MarketEvent, fmt: str) -> dict[str, Any]:
    """``ev`` in Polymarket's market-channel JSON (reference 6.1).

    ``fmt`` picks the price_change format: ``current``, ``legacy`` or ``flat`` (2024);
    the older two are used only for changes without best bid/ask (they carry none).
    """
    ms = str(ev.ts_exchange_ns // 1_000_000)
    if isinstance(ev, BookSnapshot):
        msg: dict[str, Any] = {
            "event_type": "book",
            "market": ev.market,
            "asset_id": ev.asset_id,
            "timestamp": ms,
            "hash": ev.hash,
            # The venue sends the best level last.
            "bids": [{"price": num(p), "size": num(s)} for p, s in reversed(ev.bids)],
            "asks": [{"price": num(p), "size": num(s)} for p, s in reversed(ev.asks)],
        }
        if ev.tick_size is not None:
            msg["tick_size"] = num(ev.tick_size)
        return msg
    if isinstance(ev, LevelChange):
        change = {"price": num(ev.price), "size": num(ev.size), "side": ev.side.name}
        if fmt == "flat" and ev.best_bid is None and ev.best_ask is None:
            return {
                "asset_id": ev.asset_id,
                "event_type": "price_change",
                "hash": "bf32b3746fff40c76c98021b7f3f07261169dd26",
                "market": ev.market,
                **change,
                "timestamp": ms,
            }
        if fmt == "legacy" and ev.best_bid is None and ev.best_ask is None:
            return {
                "event_type": "price_change",
                "asset_id": ev.asset_id,
                "market": ev.market,
                "timestamp": ms,
                "hash": "",
                "changes": [change],
            }
        return {
            "event_type": "price_change",
            "market": ev.market,
            "timestamp": ms,
            "price_changes": [
                {
                    "asset_id": ev.asset_id,
                    **change,
                    "hash": "",
                    "best_bid": "0" if ev.best_bid is None else num(ev.best_bid),
                    "best_ask": "1" if ev.best_ask is None else num(ev.best_ask),
                }
            ],
        }
    if isinstance(ev, TradePrint):
        msg = {
            "event_type": "last_trade_price",
            "asset_id": ev.asset_id,
            "market": ev.market,
            "price": num(ev.price),
            "fee_rate_bps": str(int(ev.fee_rate_bps)),
            "timestamp": ms,
        }
        if ev.side is not None:
            msg["side"] = ev.side.name
        if ev.size is not None:
            msg["size"] = num(ev.size)
        if ev.transaction_hash:
            msg["transaction_hash"] = ev.transaction_hash
        return msg
    if isinstance(ev, TickSizeChange):
        return {
            "event_type": "tick_size_change",
            "asset_id": ev.asset_id,
            "market": ev.market,
            "old_tick_size": num(ev.old_tick_size),
            "new_tick_size": num(ev.new_tick_size),
            "timestamp": ms,
        }
    if isinstance(ev, BestBidAsk):
        msg = {"event_type": "best_bid_ask", "market": ev.market, "asset_id": ev.asset_id}
        if ev.best_bid is not None:
            msg["best_bid"] = num(ev.best_bid)
        msg["best_ask"] = "" if ev.best_ask is None else num(ev.best_ask)
        msg["timestamp"] = ms
        return msg
    assert isinstance(ev, MarketResolved)
    return {
        "event_type": "market_resolved",
        "market": ev.market,
        "assets_ids": list(ev.asset_ids),
        "winning_asset_id": ev.winning_asset_id,
        "timestamp": ms,
    }


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(feed_events, max_size=8),
    fmt=st.sampled_from(["current", "legacy", "flat"]),
    as_bytes=st.booleans(),
)
def test_encode_then_parse_round_trips(events: list[MarketEvent], fmt: str, as_bytes: bool) -> None:
    encoded = [encode(e, fmt) for e in events]
    text = json.dumps(encoded[0] if len(encoded) == 1 else encoded)
    frame = text.encode() if as_bytes else text
    assert parse_market_frame(frame, RECV) == events
    parser = MarketFrameParser()
    assert parser.parse(frame, RECV) == events
    assert not parser.errors
    # the only notes an exact encoding can cause: the trades' optional fields
    missing = Counter(
        f"trade_missing_{f}"
        for e in events
        if isinstance(e, TradePrint)
        for f in ("side", "size")
        if getattr(e, f) is None
    )
    assert parser.notes == missing
