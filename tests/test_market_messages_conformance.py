"""The market-channel parser on the shared captured/hand-made Polymarket payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from live.market_messages import parse_market_frame
from sim.errors import MessageParseError
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
from tests.test_market_messages_helpers import RECV, SHARED

# -- conformance with the shared captured/hand-made payloads -----------------------------------

# Files of the shared folder that are market-channel payloads, and what each must yield.
SHARED_EXPECTED: dict[str, list[type] | str] = {
    "ws_book_snapshot.json": [BookSnapshot],  # no event_type: classified by shape
    "ws_market_book_msg.json": [BookSnapshot],  # best level FIRST, unlike the live feed
    "ws_quotes.json": [LevelChange, LevelChange],  # untagged price_change
    "ws_market_price_change_msg.json": [LevelChange],
    "ws_last_trade.json": [TradePrint],  # untagged
    "ws_market_last_trade_msg.json": [TradePrint],
    "ws_tick_size_change.json": [TickSizeChange],  # untagged
    "ws_market_tick_size_msg.json": [TickSizeChange],
    "ws_market_best_bid_ask_msg.json": [BestBidAsk],
    "ws_market_resolved_msg.json": [MarketResolved],
    "ws_market_new_market_msg.json": "unknown_event_type",
    # the 2024 flat price_change shape: one change on the message itself (issue 10)
    "ws_market_price_change_2024_flat.json": [LevelChange],
}


def _market_channel_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("ws_*.json") if not p.name.startswith("ws_user_"))


def _check_sane(ev: MarketEvent) -> None:
    assert ev.ts_exchange_ns > 0 and ev.ts_exchange_ns % 1_000_000 == 0
    assert ev.ts_recv_ns == RECV
    assert ev.market.startswith("0x") and len(ev.market) == 66
    if isinstance(ev, MarketResolved):
        assert ev.winning_asset_id in ev.asset_ids
        return
    assert ev.asset_id.isdigit() and len(ev.asset_id) >= 70
    if isinstance(ev, BookSnapshot):
        assert ev.bids and ev.asks
        assert ev.bids[0][0] < ev.asks[0][0]  # best bid below best ask
        assert [p for p, _ in ev.bids] == sorted((p for p, _ in ev.bids), reverse=True)
        assert [p for p, _ in ev.asks] == sorted(p for p, _ in ev.asks)
        assert all(s > 0 for _, s in ev.bids + ev.asks)
    elif isinstance(ev, LevelChange | TradePrint):
        assert 0 < ev.price < 1 and (ev.size is None or ev.size >= 0)
    if isinstance(ev, LevelChange) and ev.best_bid is not None and ev.best_ask is not None:
        assert ev.best_bid < ev.best_ask
    if isinstance(ev, BestBidAsk):
        assert ev.best_bid is not None and ev.best_ask is not None
        assert ev.best_bid < ev.best_ask
    if isinstance(ev, TickSizeChange):
        assert ev.old_tick_size in VALID_TICK_SIZES and ev.new_tick_size in VALID_TICK_SIZES


def test_shared_polymarket_fixtures_conform() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared Polymarket fixtures not found at {SHARED}")
    files = _market_channel_files(SHARED)
    assert files, "no market-channel fixtures in the shared folder"
    for path in files:
        text = path.read_text()
        expected = SHARED_EXPECTED.get(path.name)
        if isinstance(expected, str) or expected is None:
            # A new market-channel file we have no expectation for must still parse
            # or be refused as an unknown type, never fail as malformed.
            try:
                events = parse_market_frame(text, RECV)
            except MessageParseError as exc:
                assert exc.reason == (expected or "unknown_event_type"), (path.name, exc)
                continue
            assert expected is None, f"{path.name} should have been refused"
        else:
            events = parse_market_frame(text, RECV)
            assert [type(e) for e in events] == expected, path.name
        for ev in events:
            _check_sane(ev)


def test_shared_fixture_specifics() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared Polymarket fixtures not found at {SHARED}")
    (snap,) = parse_market_frame((SHARED / "ws_book_snapshot.json").read_text(), RECV)
    assert snap.bids[0] == (0.5, 200.0) and snap.asks[0] == (0.51, 150.0)
    (book,) = parse_market_frame((SHARED / "ws_market_book_msg.json").read_text(), RECV)
    assert book.bids[0] == (0.5, 200.0) and book.asks[0] == (0.51, 150.0)
    quotes = parse_market_frame((SHARED / "ws_quotes.json").read_text(), RECV)
    assert [(q.side, q.price, q.best_bid, q.best_ask) for q in quotes] == [
        (Side.BUY, 0.51, 0.51, 0.52),
        (Side.SELL, 0.49, 0.48, 0.49),
    ]
    assert quotes[0].asset_id != quotes[1].asset_id
    (tick,) = parse_market_frame((SHARED / "ws_tick_size_change.json").read_text(), RECV)
    assert (tick.old_tick_size, tick.new_tick_size) == (0.1, 0.01)
