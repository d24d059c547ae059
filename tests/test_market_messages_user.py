"""User-channel messages are never read as public market data (live.market_messages)."""

from __future__ import annotations

import json
import logging

import pytest

from live.market_messages import MarketFrameParser, is_user_channel_message, parse_market_frame
from sim.errors import MessageParseError
from sim.events import TradePrint
from tests.test_market_messages_helpers import (
    A_YES,
    MKT_A,
    RECV,
    SHARED,
    fixture,
    reason_of,
    trade_with,
)

# -- user-channel messages are never public prints ---------------------------------------------

# The user channel's trade as Polymarket's docs show it (reference 6.2), without event_type:
# it has price, side and size, the shape of an untagged last_trade_price.
UNTAGGED_USER_TRADE = {
    "type": "TRADE",
    "id": "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e",
    "taker_order_id": "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42",
    "market": MKT_A,
    "asset_id": A_YES,
    "side": "BUY",
    "size": "10",
    "price": "0.57",
    "outcome": "YES",
    "owner": "9180014b-33c8-9240-a14b-bdca11c0a465",
    "trade_owner": "9180014b-33c8-9240-a14b-bdca11c0a465",
    "status": "MATCHED",
    "matchtime": "1767312000",
    "last_update": "1767312000",
    "timestamp": "1767312000",
    "maker_orders": [
        {
            "order_id": "0xff354cd7ca7539dfa9c28d90943ab5779a4eac34b9b37a757d7b32bdfb11790b",
            "owner": "9180014b-33c8-9240-a14b-bdca11c0a465",
            "matched_amount": "10",
            "price": "0.57",
            "asset_id": A_YES,
            "outcome": "YES",
        }
    ],
}


@pytest.mark.parametrize(
    "evidence",
    ["type", "taker_order_id", "maker_orders", "trade_owner", "matchtime"],
)
def test_untagged_user_trade_is_refused_not_a_trade_print(evidence: str) -> None:
    # strip the message down to price/side/size/asset_id/timestamp plus one user-only field
    keep = {"asset_id", "market", "price", "side", "size", "timestamp", evidence}
    msg = {k: v for k, v in UNTAGGED_USER_TRADE.items() if k in keep}
    msg["timestamp"] = "1767312000000"
    assert is_user_channel_message(msg)
    err = reason_of(msg)
    assert err.reason == "user_channel_message"
    assert evidence in err.detail
    # without the user-only field it is (rightly) an untagged trade print
    del msg[evidence]
    assert not is_user_channel_message(msg)
    assert [type(e) for e in parse_market_frame(msg, RECV)] == [TradePrint]


def test_parser_counts_user_messages_and_returns_no_prints(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parser = MarketFrameParser()
    frame = json.dumps([UNTAGGED_USER_TRADE, json.loads(fixture("last_trade_price.json"))])
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        events = parser.parse(frame, RECV)
    assert [e.size for e in events] == [219.217767]  # only the public print
    assert parser.errors == {"user_channel_message": 1}
    assert "user_channel_message" in caplog.records[0].getMessage()


def test_shared_user_fixtures_are_refused_by_the_market_parser() -> None:
    files = sorted(SHARED.glob("ws_user_*.json")) if SHARED.is_dir() else []
    if not files:
        pytest.skip(f"shared Polymarket user fixtures not found at {SHARED}")
    assert any(p.name == "ws_user_trade.json" for p in files)
    for path in files:
        with pytest.raises(MessageParseError) as info:
            parse_market_frame(path.read_text(), 0)
        assert info.value.reason == "user_channel_message", path.name


def test_market_messages_are_not_user_messages() -> None:
    for name in ("book.json", "price_change.json", "last_trade_price.json", "new_market.json"):
        assert not is_user_channel_message(json.loads(fixture(name))), name
    # a market event_type wins over a stray user-looking field
    assert not is_user_channel_message({**trade_with(), "type": "TRADE"})
