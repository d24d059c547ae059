"""Parsing Polymarket market-channel frames (live.market_messages)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.market_messages import (
    NOTES,
    REASONS,
    MarketFrameParser,
    ParseNote,
    is_keepalive,
    is_user_channel_message,
    parse_market_frame,
    parse_market_message,
)
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

FIXTURES = Path(__file__).parent / "fixtures" / "ws_market"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"

MKT_A = "0x6b3216fdaeeb975729fae923d5a4fd12aabfe228f219e9cb0eb53f16947ccf25"
A_YES = "34860351219264002510127502876930881678393989031736188690584879294552619323435"
A_NO = "511183180510583158009520980060539110451967225853546896107514173838373250748632"
MKT_B = "0xec84d8dbc74254770f58904dba41ecccc3fc1626e53a13043b026c48bbf33fef"
B_YES = "82651803759443294369999944137997843937867091976150297475274571134237382139318"
B_NO = "328834707676642092114016981281024022664500768848761945226071415867967935564017"
MKT_C = "0xf9243a8f506b40928b5b7a767c76fb008f86bebb2737f6a6f0fb23c6f5da2cec"
C_YES = "72607148532682125320735693988242748598151008302008539873409394852366744606640"
C_NO = "575101392757983478598199151932707616678413284224908535505310801888076181774784"

RECV = 1_767_312_000_500_000_123


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def reason_of(frame: Any) -> MessageParseError:
    with pytest.raises(MessageParseError) as info:
        parse_market_frame(frame, RECV)
    assert info.value.reason in REASONS
    return info.value


# -- each message type, exact values -----------------------------------------------------------


def test_book_levels_are_sorted_best_first_and_fields_exact() -> None:
    (book,) = parse_market_frame(fixture("book.json"), RECV)
    assert book == BookSnapshot(
        ts_exchange_ns=1_767_312_000_123_000_000,
        ts_recv_ns=RECV,
        asset_id=A_YES,
        market=MKT_A,
        bids=((0.42, 220.0), (0.41, 500.5), (0.35, 1200.0), (0.01, 3149725.72)),
        asks=((0.45, 150.25), (0.47, 300.0), (0.6, 800.0), (0.99, 156606.14)),
        tick_size=0.01,
        hash="255404e4fb440034d6608697a8d41bed440e5045",
    )


def test_book_sent_best_first_is_kept_best_first() -> None:
    # Some payloads (nautilus_trader's ws_market_book_msg.json) list the best level first.
    msg = {
        "event_type": "book",
        "asset_id": A_YES,
        "market": MKT_A,
        "timestamp": "1767312000000",
        "bids": [{"price": "0.50", "size": "1"}, {"price": "0.49", "size": "2"}],
        "asks": [{"price": "0.51", "size": "3"}, {"price": "0.52", "size": "4"}],
    }
    (book,) = parse_market_frame(msg, RECV)
    assert book.bids == ((0.5, 1.0), (0.49, 2.0))
    assert book.asks == ((0.51, 3.0), (0.52, 4.0))
    assert book.tick_size is None
    assert book.hash == ""


def test_initial_dump_array_of_books() -> None:
    events = parse_market_frame(fixture("initial_dump.json"), RECV)
    assert [type(e) for e in events] == [BookSnapshot] * 3
    yes, no, b = events
    assert (yes.asset_id, no.asset_id, b.asset_id) == (A_YES, A_NO, B_YES)
    assert yes.bids[0] == (0.42, 220.0) and yes.asks[0] == (0.45, 150.25)
    assert no.bids == ((0.55, 150.25), (0.53, 300.0))
    assert no.asks == ((0.58, 220.0), (0.59, 500.5))
    assert no.ts_exchange_ns == 1_767_312_000_124_000_000
    assert b.bids == ()
    assert b.asks == ((0.905, 42.5), (0.999, 10.0))
    assert b.tick_size == 0.001
    assert all(e.ts_recv_ns == RECV for e in events)


def test_price_change_current_format_one_event_per_entry() -> None:
    events = parse_market_frame(fixture("price_change.json"), RECV)
    ts = 1_767_312_001_500_000_000
    assert events == [
        LevelChange(ts, RECV, A_YES, MKT_A, Side.BUY, 0.42, 0.0, best_bid=0.41, best_ask=0.45),
        LevelChange(ts, RECV, A_NO, MKT_A, Side.SELL, 0.58, 0.0, best_bid=0.55, best_ask=0.59),
    ]


def test_price_change_empty_side_sentinels_become_none() -> None:
    yes, no = parse_market_frame(fixture("price_change_one_sided.json"), RECV)
    assert (yes.best_bid, yes.best_ask) == (0.5, None)  # "1": no asks
    assert (no.best_bid, no.best_ask) == (None, 0.5)  # "0": no bids
    assert (yes.side, yes.price, yes.size) == (Side.BUY, 0.5, 200.0)


def test_price_change_legacy_format() -> None:
    events = parse_market_frame(fixture("price_change_legacy.json"), RECV)
    ts = 1_757_900_000_000_000_000
    assert events == [
        LevelChange(ts, RECV, A_YES, MKT_A, Side.BUY, 0.4, 3300.5),
        LevelChange(ts, RECV, A_YES, MKT_A, Side.SELL, 0.46, 0.0),
    ]


def test_last_trade_price() -> None:
    (trade,) = parse_market_frame(fixture("last_trade_price.json"), RECV)
    assert trade == TradePrint(
        1_767_312_003_017_000_000,
        RECV,
        A_YES,
        MKT_A,
        Side.BUY,
        0.45,
        219.217767,
        1000.0,
        "0xb484e73cf575dcad6ba2b0aee0ca923732881584d8c4fa2815d2802827283e0a",
    )


@pytest.mark.parametrize("fee", [None, "", "missing"])
def test_last_trade_fee_defaults_to_zero(fee: str | None) -> None:
    msg = json.loads(fixture("last_trade_price.json"))
    if fee == "missing":
        del msg["fee_rate_bps"]
    else:
        msg["fee_rate_bps"] = fee
    (trade,) = parse_market_frame(msg, RECV)
    assert trade.fee_rate_bps == 0.0


def test_tick_size_change() -> None:
    (ev,) = parse_market_frame(fixture("tick_size_change.json"), RECV)
    assert ev == TickSizeChange(1_767_312_004_000_000_000, RECV, A_YES, MKT_A, 0.01, 0.001)


def test_best_bid_ask() -> None:
    (ev,) = parse_market_frame(fixture("best_bid_ask.json"), RECV)
    assert ev == BestBidAsk(1_767_312_005_000_000_000, RECV, A_YES, MKT_A, 0.41, 0.45)


@pytest.mark.parametrize("empty", ["", "0", "1", None, "missing", 0])
def test_best_bid_ask_empty_side_is_none(empty: object) -> None:
    msg = json.loads(fixture("best_bid_ask.json"))
    if empty == "missing":
        del msg["best_bid"]
    else:
        msg["best_bid"] = empty
    (ev,) = parse_market_frame(msg, RECV)
    assert ev.best_bid is None
    assert ev.best_ask == 0.45


def test_market_resolved() -> None:
    (ev,) = parse_market_frame(fixture("market_resolved.json"), RECV)
    assert ev == MarketResolved(1_767_398_400_000_000_000, RECV, MKT_C, (C_YES, C_NO), C_NO)
    assert ev.payout(C_NO) == 1.0 and ev.payout(C_YES) == 0.0


def test_new_market_is_refused_not_dropped() -> None:
    err = reason_of(fixture("new_market.json"))
    assert err.reason == "unknown_event_type"
    assert err.raw["event_type"] == "new_market"


def test_unknown_event_type() -> None:
    err = reason_of({"event_type": "orderbook_v3", "asset_id": A_YES})
    assert err.reason == "unknown_event_type"
    assert "orderbook_v3" in err.detail


# -- frame forms -------------------------------------------------------------------------------


def test_str_bytes_dict_and_list_frames_are_equivalent() -> None:
    text = fixture("price_change.json")
    expected = parse_market_frame(text, RECV)
    assert parse_market_frame(text.encode(), RECV) == expected
    assert parse_market_frame(bytearray(text.encode()), RECV) == expected
    assert parse_market_frame(json.loads(text), RECV) == expected
    assert parse_market_frame([json.loads(text)], RECV) == expected
    assert parse_market_frame("[" + text + "]", RECV) == expected


def test_empty_array_frame_yields_nothing() -> None:
    assert parse_market_frame("[]", RECV) == []


def test_array_keeps_order_across_types() -> None:
    frame = "[" + ",".join(fixture(n) for n in ("tick_size_change.json", "book.json")) + "]"
    assert [type(e) for e in parse_market_frame(frame, RECV)] == [TickSizeChange, BookSnapshot]


def test_timestamps_are_exact_integers() -> None:
    msg = json.loads(fixture("tick_size_change.json"))
    msg["timestamp"] = "1767312000501"  # as ns far beyond 2**53: a float would round it
    (ev,) = parse_market_frame(msg, RECV)
    assert ev.ts_exchange_ns == 1_767_312_000_501_000_000
    msg["timestamp"] = 1_767_312_004_001  # a JSON number is accepted too
    assert parse_market_frame(msg, RECV)[0].ts_exchange_ns == 1_767_312_004_001_000_000


def test_lowercase_side_is_accepted() -> None:
    msg = json.loads(fixture("last_trade_price.json"))
    msg["side"] = "sell"
    assert parse_market_frame(msg, RECV)[0].side is Side.SELL


# -- keep-alives -------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", ["PONG", "PING", b"PONG", " pong\n", bytearray(b"ping")])
def test_keepalive_frames(frame: str | bytes) -> None:
    assert is_keepalive(frame)
    assert reason_of(frame).reason == "keepalive"


@pytest.mark.parametrize("frame", ['"PONG"', "PONGS", "{}", b"\xff", {"PONG": 1}, ["PING"], 7])
def test_not_keepalive(frame: object) -> None:
    assert not is_keepalive(frame)


# -- malformed input: each with its reason, the field named, the payload kept ------------------


def book_with(**changes: Any) -> dict[str, Any]:
    msg = json.loads(fixture("book.json"))
    msg.update(changes)
    return msg


def pc_entry(**changes: Any) -> dict[str, Any]:
    msg = json.loads(fixture("price_change.json"))
    msg["price_changes"][1].update(changes)
    return msg


def trade_with(**changes: Any) -> dict[str, Any]:
    msg = json.loads(fixture("last_trade_price.json"))
    msg.update(changes)
    return msg


def without(msg: dict[str, Any], key: str) -> dict[str, Any]:
    msg = dict(msg)
    del msg[key]
    return msg


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


# -- untagged payloads -------------------------------------------------------------------------


def test_untagged_messages_are_classified_by_shape() -> None:
    tagged = [
        "book.json",
        "price_change.json",
        "price_change_legacy.json",
        "last_trade_price.json",
        "tick_size_change.json",
        "best_bid_ask.json",
        "market_resolved.json",
    ]
    for name in tagged:
        msg = json.loads(fixture(name))
        expected = parse_market_frame(msg, RECV)
        del msg["event_type"]
        assert parse_market_frame(msg, RECV) == expected, name


# -- the forgiving parser class ----------------------------------------------------------------


def test_parser_keeps_good_elements_and_counts_the_bad(caplog: pytest.LogCaptureFixture) -> None:
    parser = MarketFrameParser()
    frame = fixture("mixed_batch.json")
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        events = parser.parse(frame, RECV)
    assert [(type(e), e.asset_id, e.side) for e in events] == [
        (TradePrint, A_YES, Side.SELL),
        (TradePrint, A_NO, Side.BUY),
    ]
    assert events[1].fee_rate_bps == 0.0
    assert parser.errors == {"bad_number": 1}
    assert parser.error_count == 1
    assert parser.messages == 2
    (err,) = parser.rejected
    assert err.raw == json.loads(frame)[1]
    (record,) = [r for r in caplog.records if r.name == "live.market_messages"]
    assert record.levelno == logging.WARNING
    assert "bad_number" in record.getMessage()
    assert "price_changes[0].price" in record.getMessage()


def test_parser_never_raises_and_counts_by_reason() -> None:
    parser = MarketFrameParser()
    assert parser.parse("PONG", RECV) == []
    assert parser.parse("not json", RECV) == []
    assert parser.parse(b"\x00\x01", RECV) == []
    assert parser.parse(fixture("new_market.json"), RECV) == []
    assert parser.parse('"x"', RECV) == []
    assert len(parser.parse(fixture("initial_dump.json"), RECV)) == 3
    assert parser.keepalives == 1
    assert parser.errors == {"invalid_json": 2, "unknown_event_type": 1, "not_an_object": 1}
    assert [e.reason for e in parser.rejected] == [
        "invalid_json",
        "invalid_json",
        "unknown_event_type",
        "not_an_object",
    ]
    assert parser.messages == 3


def test_parser_rejected_is_bounded() -> None:
    parser = MarketFrameParser(max_rejected=3)
    for i in range(5):
        parser.parse(f"bad {i}", RECV)
    assert parser.error_count == 5
    assert [e.raw for e in parser.rejected] == ["bad 2", "bad 3", "bad 4"]


def test_parser_logs_long_payloads_truncated(caplog: pytest.LogCaptureFixture) -> None:
    parser = MarketFrameParser()
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        parser.parse("x" * 10_000, RECV)
    (record,) = caplog.records
    assert len(record.getMessage()) < 1000


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


# -- a bad entry costs only itself (issue 10) --------------------------------------------------

BOOK = json.loads(fixture("book.json"))
GOOD_BIDS = BOOK["bids"]

BAD_ENTRIES: list[tuple[str, Any, str, str]] = [
    ("level without size", {"price": "0.3"}, "entry_missing_size", "bids[0].size"),
    ("level null size", {"price": "0.3", "size": None}, "entry_missing_size", "bids[0].size"),
    ("level not an object", ["0.3", "1"], "bad_entry", "not_an_object: bids[0]"),
    ("level price text", {"price": "abc", "size": "1"}, "bad_entry", "bad_number: bids[0].price"),
    ("level price NaN", {"price": "NaN", "size": "1"}, "bad_entry", "bad_number: bids[0].price"),
    ("size overflows", {"price": "0.3", "size": "1e999"}, "bad_entry", "bad_number: bids[0].size"),
    ("underscore digits", {"price": "0.3", "size": "1_0"}, "bad_entry", "bad_number"),
    ("bool size", {"price": "0.3", "size": True}, "bad_entry", "bad_number: bids[0].size"),
    ("huge int size", {"price": "0.3", "size": 10**400}, "bad_entry", "bad_number"),
    ("price 1", {"price": "1", "size": "1"}, "bad_entry", "price_out_of_range: bids[0]"),
    ("price 0", {"price": "0", "size": "1"}, "bad_entry", "price_out_of_range: bids[0]"),
    ("negative size", {"price": "0.3", "size": "-2"}, "bad_entry", "negative_size: bids[0]"),
]


@pytest.mark.parametrize(
    ("level", "note", "names"), [b[1:] for b in BAD_ENTRIES], ids=[b[0] for b in BAD_ENTRIES]
)
def test_bad_book_level_is_dropped_and_noted(level: Any, note: str, names: str) -> None:
    expected = parse_market_frame(BOOK, RECV)
    notes: list[ParseNote] = []
    got = parse_market_frame(book_with(bids=[level, *GOOD_BIDS]), RECV, notes)
    assert got == expected  # the other levels all kept
    (n,) = notes
    assert n.reason == note and note in NOTES
    assert names in n.detail, n.detail
    assert n.raw["bids"][0] == level


PC_BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("bad side", {"side": "HOLD"}, "bad_entry", "bad_side: price_changes[1].side"),
    ("null side", {"side": None}, "bad_entry", "missing_field: price_changes[1].side"),
    ("bad price", {"price": "0.5.1"}, "bad_entry", "bad_number: price_changes[1].price"),
    ("best_ask above 1", {"best_ask": "1.5"}, "bad_entry", "price_out_of_range"),
    ("best_bid negative", {"best_bid": "-0.1"}, "bad_entry", "price_changes[1].best_bid"),
    ("no asset", {"asset_id": ""}, "bad_entry", "price_changes[1].asset_id"),
    ("null size", {"size": None}, "entry_missing_size", "price_changes[1].size"),
]


@pytest.mark.parametrize(
    ("change", "note", "names"), [b[1:] for b in PC_BAD], ids=[b[0] for b in PC_BAD]
)
def test_bad_price_change_entry_is_dropped_and_noted(
    change: dict[str, Any], note: str, names: str
) -> None:
    first = parse_market_frame(fixture("price_change.json"), RECV)[0]
    notes: list[ParseNote] = []
    assert parse_market_frame(pc_entry(**change), RECV, notes) == [first]
    assert [n.reason for n in notes] == [note]
    assert names in notes[0].detail, notes[0].detail


def test_price_change_entry_without_size_skipped_in_both_formats() -> None:
    current = json.loads(fixture("price_change.json"))
    del current["price_changes"][0]["size"]
    legacy = json.loads(fixture("price_change_legacy.json"))
    del legacy["changes"][1]["size"]
    parser = MarketFrameParser()
    events = parser.parse([current, legacy], RECV)
    assert [(e.asset_id, e.side, e.price, e.size) for e in events] == [
        (A_NO, Side.SELL, 0.58, 0.0),
        (A_YES, Side.BUY, 0.4, 3300.5),
    ]
    assert parser.notes == {"entry_missing_size": 2}
    assert not parser.errors and parser.messages == 2
    assert [n.detail for n in parser.noted] == [
        "price_changes[0].size: field is missing; entry dropped",
        "changes[1].size: field is missing; entry dropped",
    ]


def test_strict_parser_does_not_raise_for_dropped_entries_without_a_notes_list() -> None:
    first = parse_market_frame(fixture("price_change.json"), RECV)[0]
    assert parse_market_frame(pc_entry(price="abc"), RECV) == [first]


def test_notes_of_a_rejected_message_are_not_reported() -> None:
    msg = book_with(bids=[{"price": "0.3", "size": "0"}], timestamp="soon")
    notes: list[ParseNote] = []
    with pytest.raises(MessageParseError):
        parse_market_frame(msg, RECV, notes)
    assert notes == []
    parser = MarketFrameParser()
    assert parser.parse(msg, RECV) == []
    assert parser.errors == {"bad_timestamp": 1} and not parser.notes


def test_empty_price_changes_and_empty_book_are_not_errors() -> None:
    pc = {"event_type": "price_change", "market": MKT_A, "timestamp": "1767312001500"}
    notes: list[ParseNote] = []
    assert parse_market_frame({**pc, "price_changes": []}, RECV, notes) == []
    (book,) = parse_market_frame(book_with(bids=[], asks=[]), RECV, notes)
    assert book.bids == () and book.asks == ()
    assert notes == []


# -- book anomalies: repaired or kept, always noted --------------------------------------------


def test_zero_size_levels_are_dropped_and_noted() -> None:
    notes: list[ParseNote] = []
    (book,) = parse_market_frame(
        book_with(bids=[{"price": "0.3", "size": "0"}, *GOOD_BIDS]), RECV, notes
    )
    assert 0.3 not in [p for p, _ in book.bids]
    assert book.bids == parse_market_frame(BOOK, RECV)[0].bids
    assert [(n.reason, n.detail) for n in notes] == [
        ("zero_size_level", "bids: level 0.3 has size 0; dropped")
    ]


def test_duplicate_prices_merge_keeping_the_last() -> None:
    asks = [
        {"price": "0.6", "size": "5"},
        {"price": "0.60", "size": "7"},  # same price, other spelling: still a repeat
        {"price": ".45", "size": "1"},
        {"price": "0.45", "size": "0"},  # the last word on 0.45: gone
    ]
    notes: list[ParseNote] = []
    (book,) = parse_market_frame(book_with(asks=asks), RECV, notes)
    assert book.asks == ((0.6, 7.0),)
    assert [n.reason for n in notes] == ["duplicate_level", "duplicate_level", "zero_size_level"]
    assert "0.6" in notes[0].detail and "7.0" in notes[0].detail


def test_crossed_book_is_kept_as_sent_and_noted() -> None:
    notes: list[ParseNote] = []
    crossed = book_with(bids=[{"price": "0.5", "size": "1"}], asks=[{"price": "0.5", "size": "2"}])
    (book,) = parse_market_frame(crossed, RECV, notes)
    assert book.bids == ((0.5, 1.0),) and book.asks == ((0.5, 2.0),)
    assert [n.reason for n in notes] == ["crossed_book"]
    notes.clear()
    parse_market_frame(BOOK, RECV, notes)  # a normal book is not crossed
    assert notes == []


def test_parser_counts_and_logs_notes(caplog: pytest.LogCaptureFixture) -> None:
    parser = MarketFrameParser()
    msg = book_with(bids=[{"price": "0.3", "size": "0"}, {"price": "0.46", "size": "1"}])
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        (book,) = parser.parse(msg, RECV)
    assert book.bids == ((0.46, 1.0),)
    assert parser.notes == {"zero_size_level": 1, "crossed_book": 1}
    assert parser.note_count == 2
    assert parser.messages == 1 and not parser.errors
    assert [n.reason for n in parser.noted] == ["zero_size_level", "crossed_book"]
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(logged) == 2
    assert "zero_size_level" in logged[0] and "crossed_book" in logged[1]


def test_logging_is_throttled_but_counting_is_not(caplog: pytest.LogCaptureFixture) -> None:
    parser = MarketFrameParser(log_first=2, log_every=5)
    with caplog.at_level(logging.WARNING, logger="live.market_messages"):
        for i in range(12):
            parser.parse(f"bad {i}", RECV)
    assert parser.errors == {"invalid_json": 12}
    logged = [r.getMessage() for r in caplog.records]
    assert [re.search(r"invalid_json #(\d+)", m)[1] for m in logged] == ["1", "2", "5", "10"]
    assert "every 5th" in logged[1]


# -- price_change formats ----------------------------------------------------------------------


def test_flat_2024_price_change_is_one_level_change() -> None:
    msg = {
        "asset_id": A_YES,
        "event_type": "price_change",
        "hash": "bf32b3746fff40c76c98021b7f3f07261169dd26",
        "market": MKT_A,
        "price": "0.514",
        "side": "SELL",
        "size": "21574.08",
        "timestamp": "1723967931411",
    }
    assert parse_market_frame(msg, RECV) == [
        LevelChange(1_723_967_931_411_000_000, RECV, A_YES, MKT_A, Side.SELL, 0.514, 21574.08)
    ]


def test_shared_flat_2024_fixture_is_accepted() -> None:
    path = SHARED / "ws_market_price_change_2024_flat.json"
    if not path.is_file():
        pytest.skip(f"shared fixture {path} not found")
    (ev,) = parse_market_frame(path.read_text(), RECV)
    assert isinstance(ev, LevelChange)
    assert (ev.side, ev.price, ev.size) == (Side.SELL, 0.514, 21574.08)
    assert ev.ts_exchange_ns == 1_723_967_931_411_000_000
    assert ev.asset_id.startswith("4833104333661288")


# -- last_trade_price optional fields ----------------------------------------------------------


@pytest.mark.parametrize("missing", [("side",), ("size",), ("side", "size")])
def test_trade_without_side_or_size_is_parsed_with_none(missing: tuple[str, ...]) -> None:
    msg = trade_with()
    for key in missing:
        del msg[key]
    parser = MarketFrameParser()
    (trade,) = parser.parse(msg, RECV)
    assert isinstance(trade, TradePrint)
    assert trade.side is (None if "side" in missing else Side.BUY)
    assert trade.size == (None if "size" in missing else 219.217767)
    assert trade.price == 0.45
    assert parser.notes == {f"trade_missing_{k}": 1 for k in missing}


@pytest.mark.parametrize("empty", [None, ""])
def test_trade_null_or_empty_side_is_unknown(empty: str | None) -> None:
    (trade,) = parse_market_frame(trade_with(side=empty, size=empty), RECV)
    assert trade.side is None and trade.size is None


def test_trade_transaction_hash_is_optional() -> None:
    (trade,) = parse_market_frame(without(trade_with(), "transaction_hash"), RECV)
    assert trade.transaction_hash == ""


# -- timestamps --------------------------------------------------------------------------------


def test_future_check_only_with_a_receive_time() -> None:
    ahead = book_with(timestamp=str(RECV // 1_000_000 + 2 * 86_400_000))
    assert reason_of(ahead).reason == "implausible_timestamp"
    (book,) = parse_market_frame(ahead, 0)  # recv_ns 0: unknown, so no comparison
    assert book.ts_exchange_ns == RECV // 1_000_000 * 1_000_000 + 2 * 86_400_000_000_000
    within = book_with(timestamp=str(RECV // 1_000_000 + 86_400_000))
    assert parse_market_frame(within, RECV)[0].ts_exchange_ns > RECV


def test_oldest_plausible_timestamp_is_accepted() -> None:
    (book,) = parse_market_frame(book_with(timestamp="100000000000"), RECV)
    assert book.ts_exchange_ns == 100_000_000_000_000_000
    assert reason_of(book_with(timestamp="99999999999")).reason == "implausible_timestamp"


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


# -- every reason and note is documented -------------------------------------------------------


def test_every_reason_and_note_is_documented() -> None:
    import live.market_messages as mm

    doc = mm.__doc__ or ""
    for name in REASONS | NOTES:
        assert f"``{name}``" in doc, name
    assert not REASONS & NOTES


# -- property: the tolerant parser never raises and accounts for every element ----------------

FIELD_NAMES = [
    "event_type", "asset_id", "market", "timestamp", "hash", "bids", "asks", "price", "size",
    "side", "price_changes", "changes", "best_bid", "best_ask", "tick_size", "old_tick_size",
    "new_tick_size", "fee_rate_bps", "assets_ids", "winning_asset_id", "transaction_hash",
    "type", "taker_order_id", "maker_orders", "original_size",
]  # fmt: skip
EVENT_TYPES = [
    "book", "price_change", "last_trade_price", "tick_size_change", "best_bid_ask",
    "market_resolved", "new_market", "trade", "order",
]  # fmt: skip
SAMPLE_STRINGS = ["0.5", "1", "0", "-1", "1e999", "BUY", "sell", "1767312000123", "0.01", A_YES]
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from([*SAMPLE_STRINGS, *EVENT_TYPES])
)
json_ish = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=10,
)
message_ish = st.builds(
    lambda tag, fields: fields if tag is None else {**fields, "event_type": tag},
    st.none() | st.sampled_from(EVENT_TYPES),
    st.dictionaries(st.sampled_from(FIELD_NAMES), json_ish, max_size=6),
)
frame_ish = (
    message_ish
    | st.lists(message_ish | json_ish, max_size=4)
    | json_ish
    | st.binary(max_size=30)
    | st.sampled_from(["PING", "pong", "", "[", "{}", "[]"])
)


def _elements(frame: Any) -> int | None:
    """How many messages a frame holds (None: a keep-alive frame)."""
    if is_keepalive(frame):
        return None
    if isinstance(frame, list):
        return len(frame)
    if isinstance(frame, str | bytes):
        try:
            decoded = json.loads(frame)
        except (ValueError, RecursionError):
            return 1
        return len(decoded) if isinstance(decoded, list) else 1
    return 1


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(frame_ish, max_size=4), as_text=st.booleans())
def test_tolerant_parser_never_raises_and_accounts_for_everything(
    frames: list[Any], as_text: bool
) -> None:
    parser = MarketFrameParser()
    expected_elements = expected_keepalives = 0
    for frame in frames:
        if as_text and isinstance(frame, dict | list):
            frame = json.dumps(frame)
        n = _elements(frame)
        if n is None:
            expected_keepalives += 1
        else:
            expected_elements += n
        events = parser.parse(frame, RECV)
        assert isinstance(events, list)
        try:  # the strict parser agrees: it may only raise MessageParseError
            strict = parse_market_frame(frame, RECV)
        except MessageParseError as exc:
            assert exc.reason in REASONS
        else:
            assert strict == events
    assert parser.keepalives == expected_keepalives
    assert parser.messages + parser.error_count == expected_elements
    assert set(parser.errors) <= REASONS
    assert set(parser.notes) <= NOTES
