"""The user-channel encoder's messages against the shared Polymarket fixtures.

The ``order``/``trade`` messages of ``exchange_mock.server.user_encoder`` have the
shared fixtures' keys and value types, except the documented deviations, and the
parser (``live.user_messages``) reads them as it reads the fixtures.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from exchange_mock.server.user_encoder import (
    encode_frame,
    encode_order_event,
    encode_trade_event,
)
from live.user_messages import parse_user_frame
from sim.types import Side
from tests.server_encoder_helpers import (
    FIXTURE_RECV,
    MS,
    NS,
    SHARED,
    TS,
    roundtrip,
)
from tests.server_encoder_helpers import user_fixture as _shared

# -- the shared fixtures: keys and value types --------------------------------------------------

ORDER_FIXTURES = [
    "ws_user_order_msg.json",
    "ws_user_order_placement.json",
    "ws_user_order_update.json",
    "ws_user_order_matched.json",
    "ws_user_order_cancellation.json",
    "ws_user_order_venue_cancel.json",
    "ws_user_order_fok_killed.json",
]
TRADE_FIXTURES = ["ws_user_trade.json", "ws_user_trade_msg.json"]

# (key, the fixture's type) -> the type sent instead: the encoder docstring's deviations
ORDER_TYPE_DEVIATIONS = {
    ("associate_trades", type(None)): list,  # nautilus null; the 2026 captures send []
    ("expiration", type(None)): str,  # nautilus null; the 2026 captures send "0"
}
TRADE_EXTRA_KEYS = {"event_type", "transaction_hash"}


def test_every_ws_user_fixture_is_covered() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"shared fixtures {SHARED} not found")
    on_disk = {p.name for p in SHARED.glob("ws_user_*.json")}
    assert on_disk == set(ORDER_FIXTURES) | set(TRADE_FIXTURES)


def order_from_fixture(fix: dict[str, Any]) -> dict[str, Any]:
    """The REST OpenOrder the desk would hold for a fixture's order (created_at in s)."""
    created = fix["created_at"]
    return {
        "id": fix["id"],
        "status": fix["status"],
        "owner": fix["owner"],
        "maker_address": fix["maker_address"],
        "market": fix["market"],
        "asset_id": fix["asset_id"],
        "side": fix["side"],
        "original_size": fix["original_size"],
        "size_matched": fix["size_matched"],
        "price": fix["price"],
        "associate_trades": fix["associate_trades"],
        "outcome": fix["outcome"],
        "created_at": int(created) // 1000 if created else None,
        "expiration": fix["expiration"],
        "order_type": fix["order_type"],
    }


def trade_from_fixture(fix: dict[str, Any]) -> dict[str, Any]:
    """The REST Trade the desk would hold for a fixture's trade."""
    keys = [
        "id",
        "taker_order_id",
        "market",
        "asset_id",
        "side",
        "size",
        "fee_rate_bps",
        "price",
        "status",
        "match_time",
        "last_update",
        "outcome",
        "bucket_index",
        "owner",
        "maker_address",
        "trader_side",
        "maker_orders",
    ]
    return {k: fix[k] for k in keys}


@pytest.mark.parametrize("name", ORDER_FIXTURES)
def test_order_fixture_keys_and_types(name: str) -> None:
    fix = _shared(name)
    ts = int(fix["timestamp"]) * MS
    msg = encode_order_event(order_from_fixture(fix), fix["type"], ts)
    assert set(msg) == set(fix) | {"event_type"}
    for key, value in fix.items():
        want = ORDER_TYPE_DEVIATIONS.get((key, type(value)), type(value))
        assert type(msg[key]) is want, (key, value, msg[key])
    assert all(isinstance(t, str) for t in msg["associate_trades"])
    # and the parser reads our message as it reads the fixture
    notes: list[Any] = []
    ours = parse_user_frame(encode_frame(msg), FIXTURE_RECV, notes)
    assert notes == []
    assert ours == parse_user_frame(json.dumps(fix), FIXTURE_RECV)


@pytest.mark.parametrize(
    "name", ["ws_user_order_venue_cancel.json", "ws_user_order_fok_killed.json"]
)
def test_captured_order_messages_are_reproduced_exactly(name: str) -> None:
    """The 2026 captures write numbers and empties as the encoder does: equal dicts."""
    fix = _shared(name)
    msg = encode_order_event(order_from_fixture(fix), fix["type"], int(fix["timestamp"]) * MS)
    assert msg == {"event_type": "order", **fix}


@pytest.mark.parametrize("name", TRADE_FIXTURES)
def test_trade_fixture_keys_and_types(name: str) -> None:
    fix = _shared(name)
    msg = encode_trade_event(trade_from_fixture(fix), int(fix["timestamp"]) * MS)
    assert set(msg) == set(fix) | TRADE_EXTRA_KEYS
    for key, value in fix.items():
        assert type(msg[key]) is type(value), (key, value, msg[key])
    for ours, theirs in zip(msg["maker_orders"], fix["maker_orders"], strict=True):
        assert set(ours) == set(theirs)
        for key, value in theirs.items():
            assert type(ours[key]) is type(value), (key, value, ours[key])
    ours_ev = parse_user_frame(encode_frame(msg), FIXTURE_RECV)
    assert ours_ev == parse_user_frame(json.dumps(fix), FIXTURE_RECV)


def test_rest_fixtures_encode_and_parse() -> None:
    """The shared REST OpenOrder/Trade payloads (nautilus data) go out and come back."""
    order = _shared("http_open_order.json")
    msg = encode_order_event(order, "UPDATE", TS)
    assert (msg["original_size"], msg["size_matched"], msg["price"]) == ("100", "25", "0.5")
    event, _ = roundtrip(msg)
    assert (event.size_matched, event.associate_trades) == (25.0, ("0xabc001",))
    fok = _shared("http_open_order_sell_fok.json")
    event, _ = roundtrip(encode_order_event(fok, "UPDATE", TS))
    assert (event.status, event.expiration_ns, event.side) == (
        "MATCHED",
        1_735_689_600 * NS,
        Side.SELL,
    )
    trade = _shared("http_trade_report.json")
    msg = encode_trade_event(trade, TS)
    assert len(msg["maker_orders"]) == 2
    assert {mo["side"] for mo in msg["maker_orders"]} == {"SELL"}
    event, _ = roundtrip(msg)
    assert event.matchtime_ns == 1_704_067_200 * NS
    assert [m.fee_rate_bps for m in event.maker_orders] == [0.0, 10.0]
