"""Parsing Polymarket user-channel frames (live.user_messages)."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import live.user_messages as um
from live.market_messages import parse_market_frame
from live.message_fields import ParseNote
from live.message_shapes import is_user_channel_message
from live.user_messages import (
    USER_NOTES,
    USER_REASONS,
    MakerOrder,
    UserFrameParser,
    UserOrder,
    UserTrade,
    parse_user_frame,
    parse_user_message,
)
from sim.errors import MessageParseError
from sim.types import Side

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"
FIXTURES = Path(__file__).parent / "fixtures" / "ws_market"

MKT = "0x6b3216fdaeeb975729fae923d5a4fd12aabfe228f219e9cb0eb53f16947ccf25"
YES = "34860351219264002510127502876930881678393989031736188690584879294552619323435"
ORDER_ID = "0x06bc63e346ed4ceddce9efd6b3af37c8f8f440c92fe7da6b2d0f9e4ccbc50c42"
MAKER_ID = "0xff354cd7ca7539dfa9c28d90943ab5779a4eac34b9b37a757d7b32bdfb11790b"
OWNER = "9180014b-33c8-9240-a14b-bdca11c0a465"
RECV = 1_767_312_000_500_000_123  # 2026-01-02 00:00:00.5


def trade_msg(**changes: Any) -> dict[str, Any]:
    """A user-channel trade in the documented shape (reference 6.2), timestamps in ms."""
    msg: dict[str, Any] = {
        "event_type": "trade",
        "type": "TRADE",
        "id": "28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e",
        "taker_order_id": ORDER_ID,
        "market": MKT,
        "asset_id": YES,
        "side": "BUY",
        "size": "10",
        "price": "0.57",
        "fee_rate_bps": "0",
        "outcome": "YES",
        "owner": OWNER,
        "trade_owner": OWNER,
        "status": "MATCHED",
        "matchtime": "1767312000100",
        "last_update": "1767312000200",
        "timestamp": "1767312000300",
        "trader_side": "TAKER",
        "transaction_hash": "0x1f32aa",
        "bucket_index": 0,
        "maker_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "maker_orders": [
            {
                "order_id": MAKER_ID,
                "owner": OWNER,
                "matched_amount": "10",
                "price": "0.57",
                "asset_id": YES,
                "outcome": "YES",
            }
        ],
    }
    msg.update(changes)
    return msg


def order_msg(**changes: Any) -> dict[str, Any]:
    """A user-channel order in the documented shape (reference 6.2)."""
    msg: dict[str, Any] = {
        "event_type": "order",
        "type": "PLACEMENT",
        "id": ORDER_ID,
        "owner": OWNER,
        "order_owner": OWNER,
        "market": MKT,
        "asset_id": YES,
        "side": "SELL",
        "price": "0.5",
        "original_size": "100.0",
        "size_matched": "0.0",
        "outcome": "Yes",
        "order_type": "GTD",
        "associate_trades": None,
        "created_at": "1767312000000",
        "expiration": "1767398400",
        "status": "LIVE",
        "maker_address": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        "timestamp": "1767312000001",
    }
    msg.update(changes)
    return msg


def reason_of(frame: Any, recv_ns: int = RECV) -> MessageParseError:
    with pytest.raises(MessageParseError) as info:
        parse_user_frame(frame, recv_ns)
    assert info.value.reason in USER_REASONS
    return info.value


# -- the two message types, exact values --------------------------------------------------------


def test_trade_all_fields() -> None:
    notes: list[ParseNote] = []
    (trade,) = parse_user_frame(json.dumps(trade_msg()), RECV, notes)
    assert trade == UserTrade(
        ts_exchange_ns=1_767_312_000_300_000_000,
        ts_recv_ns=RECV,
        id="28c4d2eb-bbea-40e7-a9f0-b2fdb56b2c2e",
        taker_order_id=ORDER_ID,
        market=MKT,
        asset_id=YES,
        side=Side.BUY,
        price=0.57,
        size=10.0,
        status="MATCHED",
        maker_orders=(MakerOrder(MAKER_ID, YES, 0.57, 10.0, "YES", OWNER),),
        outcome="YES",
        owner=OWNER,
        trade_owner=OWNER,
        maker_address="0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        trader_side="TAKER",
        fee_rate_bps=0.0,
        transaction_hash="0x1f32aa",
        bucket_index=0,
        matchtime_ns=1_767_312_000_100_000_000,
        last_update_ns=1_767_312_000_200_000_000,
    )
    assert notes == []


def test_order_all_fields() -> None:
    (order,) = parse_user_frame(order_msg(), RECV)
    assert order == UserOrder(
        ts_exchange_ns=1_767_312_000_001_000_000,
        ts_recv_ns=RECV,
        id=ORDER_ID,
        type="PLACEMENT",
        market=MKT,
        asset_id=YES,
        side=Side.SELL,
        price=0.5,
        original_size=100.0,
        size_matched=0.0,
        status="LIVE",
        order_type="GTD",
        outcome="Yes",
        owner=OWNER,
        order_owner=OWNER,
        maker_address="0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        associate_trades=(),
        created_at_ns=1_767_312_000_000_000_000,
        expiration_ns=1_767_398_400_000_000_000,  # a day later: the future is fine here
    )


def test_types_are_frozen_with_slots() -> None:
    (trade,) = parse_user_frame(trade_msg(), RECV)
    for obj in (trade, trade.maker_orders[0], parse_user_frame(order_msg(), RECV)[0]):
        assert not hasattr(obj, "__dict__")
        assert "__slots__" in type(obj).__dict__
        assert type(obj).__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert dataclasses.replace(obj) == obj


def test_maker_order_optional_fields() -> None:
    maker = {
        "order_id": MAKER_ID,
        "asset_id": YES,
        "price": "0.43",
        "matched_amount": "5",
        "side": "SELL",
        "fee_rate_bps": "10",
        "maker_address": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    }
    (trade,) = parse_user_frame(trade_msg(maker_orders=[maker]), RECV)
    assert trade.maker_orders == (
        MakerOrder(
            MAKER_ID, YES, 0.43, 5.0, "", "", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
            10.0, Side.SELL,
        ),
    )  # fmt: skip


def test_order_statuses_and_types_are_kept_as_sent() -> None:
    fok = "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    (order,) = parse_user_frame(
        order_msg(type="CANCELLATION", status=fok, size_matched="", order_type="FOK"), RECV
    )
    assert (order.type, order.status, order.size_matched) == ("CANCELLATION", fok, 0.0)
    (order,) = parse_user_frame(order_msg(type="EXPIRY", status="INVALID"), RECV)
    assert (order.type, order.status) == ("EXPIRY", "INVALID")


@pytest.mark.parametrize("expiration", [None, "", "0", 0, "missing"])
def test_no_expiration(expiration: object) -> None:
    msg = order_msg(expiration=expiration)
    if expiration == "missing":
        del msg["expiration"]
    assert parse_user_frame(msg, RECV)[0].expiration_ns is None


def test_associate_trades_and_empty_created_at() -> None:
    (order,) = parse_user_frame(
        order_msg(type="UPDATE", associate_trades=["t-1", "t-2"], created_at=""), RECV
    )
    assert order.associate_trades == ("t-1", "t-2")
    assert order.created_at_ns is None


# -- timestamps: ms, seconds (as the docs show), ISO-8601 ---------------------------------------


def test_seconds_timestamps_are_converted_and_noted() -> None:
    # the docs' trade example: every timestamp in seconds
    msg = trade_msg(matchtime="1767312000", last_update="1767312000", timestamp="1767312000")
    parser = UserFrameParser()
    (trade,) = parser.parse(msg, RECV)
    assert trade.ts_exchange_ns == trade.matchtime_ns == trade.last_update_ns
    assert trade.ts_exchange_ns == 1_767_312_000 * 1_000_000_000
    assert parser.notes == {"timestamp_in_seconds": 3}
    assert {n.detail.split(":")[0] for n in parser.noted} == {
        "timestamp",
        "matchtime",
        "last_update",
    }


def test_expiration_in_seconds_is_not_noted() -> None:
    notes: list[ParseNote] = []
    (order,) = parse_user_frame(order_msg(), RECV, notes)
    assert order.expiration_ns == 1_767_398_400 * 10**9
    assert notes == []


def test_iso_match_time_and_match_time_spelling() -> None:
    msg = trade_msg(last_update="2026-01-01T00:01:00Z")
    del msg["matchtime"]
    msg["match_time"] = "2026-01-01T00:00:00.123456+00:00"
    (trade,) = parse_user_frame(msg, RECV)
    assert trade.matchtime_ns == 1_767_225_600_123_456_000
    assert trade.last_update_ns == 1_767_225_660_000_000_000


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("timestamp", "1767312000300000", "implausible_timestamp"),  # microseconds
        ("timestamp", "1767312000300000000", "implausible_timestamp"),  # nanoseconds
        ("timestamp", "999999999", "implausible_timestamp"),  # before 2001 as seconds
        ("timestamp", "0", "implausible_timestamp"),
        ("timestamp", str(RECV // 1_000_000 + 2 * 86_400_000), "implausible_timestamp"),
        ("timestamp", "1767312000.3", "bad_timestamp"),
        ("timestamp", None, "missing_field"),
        ("matchtime", "yesterday", "bad_timestamp"),
        ("matchtime", "2026-13-01T00:00:00Z", "bad_timestamp"),
        ("last_update", "2300-01-01T00:00:00Z", "implausible_timestamp"),
    ],
)
def test_bad_timestamps(field: str, value: object, reason: str) -> None:
    err = reason_of(trade_msg(**{field: value}))
    assert err.reason == reason
    assert field in err.detail


def test_future_check_needs_a_receive_time() -> None:
    ahead = trade_msg(timestamp=str(RECV // 1_000_000 + 2 * 86_400_000))
    assert parse_user_frame(ahead, 0)[0].ts_exchange_ns > RECV


# -- shapes: untagged user messages; market messages refused ------------------------------------


def test_untagged_trade_and_order_are_classified() -> None:
    for msg, kind in ((trade_msg(), UserTrade), (order_msg(), UserOrder)):
        del msg["event_type"]
        assert [type(e) for e in parse_user_frame(msg, RECV)] == [kind]
    bare = {k: v for k, v in order_msg().items() if k != "event_type" and k != "type"}
    (order,) = parse_user_frame(bare, RECV)  # recognised by original_size and friends
    assert isinstance(order, UserOrder) and order.type == ""


def test_every_user_message_is_refused_by_the_market_parser() -> None:
    for msg in (trade_msg(), order_msg()):
        for tagged in (True, False):
            m = dict(msg) if tagged else {k: v for k, v in msg.items() if k != "event_type"}
            assert is_user_channel_message(m)
            with pytest.raises(MessageParseError) as info:
                parse_market_frame(m, RECV)
            assert info.value.reason == "user_channel_message"


@pytest.mark.parametrize(
    "name",
    ["book.json", "price_change.json", "last_trade_price.json", "new_market.json"],
)
def test_market_messages_are_refused(name: str) -> None:
    msg = json.loads((FIXTURES / name).read_text())
    assert reason_of(msg).reason == "market_channel_message"
    del msg["event_type"]
    expected = "missing_field" if name == "new_market.json" else "market_channel_message"
    assert reason_of(msg).reason == expected


def test_parse_user_message_rejects_non_objects() -> None:
    with pytest.raises(MessageParseError) as info:
        parse_user_message([trade_msg()], RECV)
    assert info.value.reason == "not_an_object"
    assert [type(e) for e in parse_user_message(trade_msg(), RECV)] == [UserTrade]


def test_unknown_and_ambiguous_messages() -> None:
    assert reason_of({"event_type": "position", "id": "x"}).reason == "unknown_event_type"
    both = {k: v for k, v in trade_msg(original_size="10").items() if k != "event_type"}
    err = reason_of(both)
    assert err.reason == "missing_field" and "both" in err.detail


MALFORMED: list[tuple[str, dict[str, Any], str, str]] = [
    ("trade without id", trade_msg(id=None), "missing_field", "id"),
    ("trade empty asset", trade_msg(asset_id=""), "missing_field", "asset_id"),
    ("trade bad side", trade_msg(side="HOLD"), "bad_side", "side"),
    ("trade price 1", trade_msg(price="1"), "price_out_of_range", "price"),
    ("trade size text", trade_msg(size="ten"), "bad_number", "size"),
    ("trade negative fee", trade_msg(fee_rate_bps="-5"), "negative_size", "fee_rate_bps"),
    ("trade without status", trade_msg(status=None), "missing_field", "status"),
    ("maker_orders not a list", trade_msg(maker_orders={}), "bad_type", "maker_orders"),
    ("bucket_index text", trade_msg(bucket_index="one"), "bad_type", "bucket_index"),
    ("order without size", order_msg(original_size=None), "missing_field", "original_size"),
    ("order negative matched", order_msg(size_matched="-1"), "negative_size", "size_matched"),
    ("order trades not ids", order_msg(associate_trades=[1]), "bad_type", "associate_trades"),
    ("order numeric id", order_msg(id=7), "bad_type", "id"),
]


@pytest.mark.parametrize(
    ("msg", "reason", "names"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_messages(msg: dict[str, Any], reason: str, names: str) -> None:
    err = reason_of(msg)
    assert err.reason == reason, err
    assert names in err.detail
    assert err.raw is msg


def test_bad_maker_order_costs_only_itself() -> None:
    good = trade_msg()["maker_orders"][0]
    bad = {**good, "matched_amount": "lots"}
    parser = UserFrameParser()
    (trade,) = parser.parse(trade_msg(maker_orders=[bad, good, "x"]), RECV)
    assert [m.order_id for m in trade.maker_orders] == [MAKER_ID]
    assert parser.notes == {"bad_maker_order": 2}
    assert [n.detail.split(":")[0] for n in parser.noted] == ["bad_number", "not_an_object"]
    assert "maker_orders[0].matched_amount" in parser.noted[0].detail


# -- the tolerant parser ------------------------------------------------------------------------


def test_parser_keeps_good_elements_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    parser = UserFrameParser()
    frame = json.dumps([trade_msg(), order_msg(price="2"), order_msg()])
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        events = parser.parse(frame, RECV)
    assert [type(e) for e in events] == [UserTrade, UserOrder]
    assert parser.errors == {"price_out_of_range": 1}
    assert parser.messages == 2
    assert parser.parse("PONG", RECV) == [] and parser.keepalives == 1
    assert parser.parse("{", RECV) == [] and parser.errors["invalid_json"] == 1
    (record,) = [r for r in caplog.records if "price_out_of_range" in r.getMessage()]
    assert record.getMessage().startswith("user message rejected")


def test_every_reason_and_note_is_documented() -> None:
    doc = um.__doc__ or ""
    for name in USER_REASONS | USER_NOTES:
        assert f"``{name}``" in doc, name


# -- the shared captured/hand-made payloads ------------------------------------------------------


def _shared(name: str) -> str:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared Polymarket fixture {path} not found")
    return path.read_text()


def test_shared_untagged_user_trade() -> None:
    (trade,) = parse_user_frame(_shared("ws_user_trade.json"), RECV)
    assert isinstance(trade, UserTrade)
    assert (trade.id, trade.status, trade.trader_side) == (
        "trade-0xabcdef1234",
        "CONFIRMED",
        "TAKER",
    )
    assert (trade.side, trade.price, trade.size, trade.bucket_index) == (Side.BUY, 0.5, 25.0, 1)
    assert trade.ts_exchange_ns == 1_703_875_200_000_000_000
    assert trade.matchtime_ns == 1_704_067_200_000_000_000  # "2024-01-01T00:00:00Z"
    (maker,) = trade.maker_orders
    assert (maker.matched_amount, maker.price, maker.owner) == (
        25.0,
        0.5,
        "00000000-0000-0000-0000-000000000002",
    )
    # the market parser must not take it for a public print
    with pytest.raises(MessageParseError) as info:
        parse_market_frame(_shared("ws_user_trade.json"), RECV)
    assert info.value.reason == "user_channel_message"


@pytest.mark.parametrize(
    ("name", "kind", "status", "matched"),
    [
        ("ws_user_order_msg.json", "PLACEMENT", "LIVE", 0.0),
        ("ws_user_order_placement.json", "PLACEMENT", "LIVE", 0.0),
        ("ws_user_order_update.json", "UPDATE", "LIVE", 25.0),
        ("ws_user_order_matched.json", "UPDATE", "MATCHED", 100.0),
        ("ws_user_order_cancellation.json", "CANCELLATION", "CANCELED", 0.0),
        ("ws_user_order_venue_cancel.json", "CANCELLATION", "INVALID", 0.0),
        (
            "ws_user_order_fok_killed.json",
            "CANCELLATION",
            "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed.",
            0.0,
        ),
    ],
)
def test_shared_user_orders(name: str, kind: str, status: str, matched: float) -> None:
    notes: list[ParseNote] = []
    (order,) = parse_user_frame(_shared(name), 0, notes)  # captures of various dates
    assert isinstance(order, UserOrder)
    assert (order.type, order.status, order.size_matched) == (kind, status, matched)
    assert order.side is Side.BUY and order.expiration_ns is None
    assert notes == []


def test_shared_tagged_user_trade() -> None:
    (trade,) = parse_user_frame(_shared("ws_user_trade_msg.json"), RECV)
    assert isinstance(trade, UserTrade) and trade.maker_orders == ()


# -- property: never raises, accounts for every element ------------------------------------------

USER_FIELDS = [
    "event_type", "type", "id", "taker_order_id", "market", "asset_id", "side", "size",
    "price", "status", "matchtime", "match_time", "last_update", "timestamp", "maker_orders",
    "original_size", "size_matched", "associate_trades", "created_at", "expiration",
    "bucket_index", "fee_rate_bps", "order_id", "matched_amount",
]  # fmt: skip
leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(
        ["trade", "order", "book", "TRADE", "UPDATE", "BUY", "0.5", "1767312000", "2026-01-01T"]
    )
)
value = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(USER_FIELDS), inner, max_size=5)
    ),
    max_leaves=10,
)
message = st.dictionaries(st.sampled_from(USER_FIELDS), value, max_size=8)
frames = message | st.lists(message | value, max_size=4) | value | st.binary(max_size=20)


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(frames, max_size=4), as_text=st.booleans())
def test_user_parser_never_raises(batch: list[Any], as_text: bool) -> None:
    parser = UserFrameParser()
    elements = 0
    for frame in batch:
        if as_text and isinstance(frame, dict | list):
            frame = json.dumps(frame)
            decoded = json.loads(frame)
            elements += len(decoded) if isinstance(decoded, list) else 1
        else:
            elements += len(frame) if isinstance(frame, list) else 1
        parser.parse(frame, RECV)
    assert parser.messages + parser.error_count + parser.keepalives == elements
    assert set(parser.errors) <= USER_REASONS
    assert set(parser.notes) <= USER_NOTES
