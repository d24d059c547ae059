"""Parsing each market-channel message type and frame form (live.market_messages)."""

from __future__ import annotations

import json

import pytest

from live.market_messages import MarketFrameParser, is_keepalive, parse_market_frame
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.types import Side
from tests.test_market_messages_helpers import (
    A_NO,
    A_YES,
    B_YES,
    C_NO,
    C_YES,
    MKT_A,
    MKT_C,
    RECV,
    SHARED,
    book_with,
    fixture,
    reason_of,
    trade_with,
    without,
)

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
