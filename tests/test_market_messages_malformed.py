"""Rejected market-channel messages: one reason each, the field named (live.market_messages)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from live.market_messages import NOTES, REASONS, parse_market_message
from sim.errors import MessageParseError
from tests.test_market_messages_helpers import (
    A_YES,
    MKT_A,
    RECV,
    book_with,
    fixture,
    pc_entry,
    reason_of,
    trade_with,
    without,
)

# -- malformed input: each with its reason, the field named, the payload kept ------------------


MALFORMED: list[tuple[str, Any, str, str]] = [
    ("truncated json", '{"event_type": "book", ', "invalid_json", "JSON"),
    ("empty text", "", "invalid_json", "JSON"),
    ("not utf-8", b'{"a": "\xff"}', "invalid_json", "UTF-8"),
    ("json number", "42", "not_an_object", "int"),
    ("json string", '"PONG"', "not_an_object", "str"),
    ("array of numbers", "[1]", "not_an_object", "int"),
    ("nested array", [[json.loads(fixture("book.json"))]], "not_an_object", "list"),
    ("frame of wrong type", 3.5, "not_an_object", "float"),
    ("book without asset_id", without(book_with(), "asset_id"), "missing_field", "asset_id"),
    ("book without asks", without(book_with(), "asks"), "missing_field", "asks"),
    ("null timestamp", book_with(timestamp=None), "missing_field", "timestamp"),
    ("empty asset_id", book_with(asset_id=""), "missing_field", "asset_id"),
    ("numeric asset_id", book_with(asset_id=12), "bad_type", "asset_id"),
    ("bids not a list", book_with(bids={"0.5": "1"}), "bad_type", "bids"),
    ("book tick size", book_with(tick_size="0.05"), "bad_tick_size", "tick_size"),
    ("timestamp float", book_with(timestamp="1767312000.5"), "bad_timestamp", "timestamp"),
    ("timestamp negative", book_with(timestamp=-5), "bad_timestamp", "timestamp"),
    ("timestamp unicode digits", book_with(timestamp="١٢٣"), "bad_timestamp", "timestamp"),
    ("timestamp in seconds", book_with(timestamp="1767312000"), "implausible_timestamp", "1973"),
    ("timestamp 0", book_with(timestamp=0), "implausible_timestamp", "timestamp"),
    ("timestamp in us", book_with(timestamp="1767312000123000"), "implausible_timestamp", "2200"),
    (
        "timestamp in ns",
        book_with(timestamp="1767312000123000000"),
        "implausible_timestamp",
        "2200",
    ),
    (
        "timestamp overflow",
        book_with(timestamp="9223372036855"),
        "implausible_timestamp",
        "timestamp",
    ),
    (
        "timestamp two days ahead",
        book_with(timestamp=str(RECV // 1_000_000 + 2 * 86_400_000)),
        "implausible_timestamp",
        "more than a day after",
    ),
    (
        "change timestamp in seconds",
        {**pc_entry(), "timestamp": "1767312001"},
        "implausible_timestamp",
        "timestamp",
    ),
    (
        "trade timestamp in ns",
        trade_with(timestamp=1_767_312_003_017_000_000),
        "implausible_timestamp",
        "timestamp",
    ),
    (
        "all book levels bad",
        book_with(bids=[{"price": "abc", "size": "1"}], asks=[{"price": "1", "size": "1"}]),
        "bad_number",
        "bids[0].price",
    ),
    (
        "all changes without size",
        {
            "event_type": "price_change",
            "market": MKT_A,
            "timestamp": "1767312001500",
            "price_changes": [{"asset_id": A_YES, "price": "0.5", "side": "BUY"}],
        },
        "missing_field",
        "price_changes[0].size",
    ),
    (
        "all changes bad",
        {**pc_entry(side="HOLD"), "price_changes": [pc_entry(side="HOLD")["price_changes"][1]]},
        "bad_side",
        "price_changes[0].side",
    ),
    (
        "flat change without size",
        {
            "event_type": "price_change",
            "asset_id": A_YES,
            "market": MKT_A,
            "price": "0.5",
            "side": "SELL",
            "timestamp": "1767312001500",
        },
        "missing_field",
        "size",
    ),
    (
        "flat change bad price",
        {
            "event_type": "price_change",
            "asset_id": A_YES,
            "market": MKT_A,
            "price": "1.5",
            "side": "SELL",
            "size": "10",
            "timestamp": "1767312001500",
        },
        "price_out_of_range",
        "price",
    ),
    (
        "flat change without asset",
        {
            "event_type": "price_change",
            "market": MKT_A,
            "price": "0.5",
            "side": "SELL",
            "size": "10",
            "timestamp": "1767312001500",
        },
        "missing_field",
        "asset_id",
    ),
    ("trade side not BUY/SELL", trade_with(side="HOLD"), "bad_side", "side"),
    ("change without timestamp", without(pc_entry(), "timestamp"), "missing_field", "timestamp"),
    (
        "price_change without list",
        {"event_type": "price_change", "market": MKT_A, "timestamp": "1767312001500"},
        "missing_field",
        "price_changes",
    ),
    (
        "legacy without asset",
        without(json.loads(fixture("price_change_legacy.json")), "asset_id"),
        "missing_field",
        "asset_id",
    ),
    ("trade side number", trade_with(side=1), "bad_side", "side"),
    ("trade negative fee", trade_with(fee_rate_bps="-1"), "negative_size", "fee_rate_bps"),
    ("trade fee text", trade_with(fee_rate_bps="low"), "bad_number", "fee_rate_bps"),
    ("trade price 1.2", trade_with(price="1.2"), "price_out_of_range", "price"),
    (
        "tick size not polymarket",
        {**json.loads(fixture("tick_size_change.json")), "new_tick_size": "0.02"},
        "bad_tick_size",
        "new_tick_size",
    ),
    (
        "winner not an asset",
        {**json.loads(fixture("market_resolved.json")), "winning_asset_id": A_YES},
        "unknown_winner",
        "winning_asset_id",
    ),
    (
        "resolved no assets",
        {**json.loads(fixture("market_resolved.json")), "assets_ids": []},
        "missing_field",
        "assets_ids",
    ),
    (
        "resolved numeric asset",
        {**json.loads(fixture("market_resolved.json")), "assets_ids": [1, 2]},
        "bad_type",
        "assets_ids[0]",
    ),
    (
        "untagged unknown shape",
        {"asset_id": A_YES, "timestamp": "1"},
        "missing_field",
        "event_type",
    ),
    (
        "untagged ambiguous shape",
        {"bids": [], "asks": [], "new_tick_size": "0.01"},
        "missing_field",
        "event_type",
    ),
    ("event_type not a string", {"event_type": 3}, "unknown_event_type", "3"),
    (
        "tagged user trade",
        {**trade_with(), "event_type": "trade"},
        "user_channel_message",
        "'trade'",
    ),
    (
        "tagged user order",
        {"event_type": "order", "asset_id": A_YES, "timestamp": "1767312001500"},
        "user_channel_message",
        "'order'",
    ),
    (
        "untagged with taker_order_id",
        {**without(trade_with(), "event_type"), "taker_order_id": "0x01"},
        "user_channel_message",
        "taker_order_id",
    ),
    (
        "untagged with type TRADE",
        {**without(trade_with(), "event_type"), "type": "TRADE"},
        "user_channel_message",
        "'TRADE'",
    ),
]


@pytest.mark.parametrize(
    ("frame", "reason", "names"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_frames_raise_specific_reason(frame: Any, reason: str, names: str) -> None:
    err = reason_of(frame)
    assert err.reason == reason, err
    assert names in err.detail, err.detail
    assert str(err).startswith(reason + ": ")
    if isinstance(frame, dict):
        assert err.raw is frame  # the offending message itself, for logging/replay
    elif isinstance(frame, str | bytes) and not frame.startswith(
        b"[" if isinstance(frame, bytes) else "["
    ):
        assert err.raw == frame  # undecodable or non-object: the whole frame
    elif isinstance(frame, str):
        assert err.raw == json.loads(frame)[0]  # a bad array element: just that element


def test_array_element_error_raw_is_the_element() -> None:
    frame = json.loads(fixture("mixed_batch.json"))
    err = reason_of(frame)
    assert err.reason == "bad_number"
    assert err.raw is frame[1]
    assert "price_changes[0].price" in err.detail


def test_parse_market_message_rejects_non_objects() -> None:
    with pytest.raises(MessageParseError) as info:
        parse_market_message(["book"], RECV)
    assert info.value.reason == "not_an_object"


# -- every reason and note is documented -------------------------------------------------------


def test_every_reason_and_note_is_documented() -> None:
    import live.market_messages as mm

    doc = mm.__doc__ or ""
    for name in REASONS | NOTES:
        assert f"``{name}``" in doc, name
    assert not REASONS & NOTES
