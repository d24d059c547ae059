"""The user-channel encoder's ``trade`` messages and frames against the project's parser.

``exchange_mock.server.user_encoder`` turns the order desk's REST Trade (reference 4.6)
into a user-channel ``trade`` message (reference 6.2). Parsing an encoded frame with
``live.user_messages`` gives the trade back, field for field, except what the
encoder's docstring lists (ms truncation, a maker trade's stand-in taker order id).
The orders are in ``test_server_user_encoder_orders.py``.
"""

from __future__ import annotations

import ast
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import exchange_mock.server.user_encoder as enc
from exchange_mock.server.market_encoder import encode_frame as market_encode_frame
from exchange_mock.server.user_encoder import (
    encode_frame,
    encode_order_event,
    encode_trade_event,
    kill_status,
    maker_taker_order_id,
)
from live.user_messages import MakerOrder, UserFrameParser, UserTrade, parse_user_frame
from sim.types import Side
from tests.server_encoder_helpers import (
    ADDR,
    API_KEY,
    CREATED_S,
    MS,
    NS,
    OID,
    OTHER_ADDR,
    OTHER_KEY,
    OUTCOMES,
    STATUSES,
    TID,
    TOKEN,
    TS,
    TS_MS,
    YES,
    prices,
    rest_order,
    rest_trade,
    roundtrip,
    size_of,
)
from tests.server_encoder_helpers import USER_RECV as RECV

# -- trade messages: round trips ------------------------------------------------------------------


def expected_trade(trade: dict[str, Any]) -> UserTrade:
    makers = tuple(
        MakerOrder(
            order_id=mo["order_id"],
            asset_id=mo["asset_id"],
            price=float(mo["price"]),
            matched_amount=float(mo["matched_amount"]),
            outcome=mo["outcome"],
            owner=mo["owner"],
            maker_address=mo["maker_address"],
            fee_rate_bps=float(mo["fee_rate_bps"]),
            side=Side[mo["side"]],
        )
        for mo in trade["maker_orders"]
    )
    return UserTrade(
        ts_exchange_ns=TS_MS,
        ts_recv_ns=RECV,
        id=trade["id"],
        taker_order_id=trade["taker_order_id"] or maker_taker_order_id(trade["id"]),
        market=trade["market"],
        asset_id=trade["asset_id"],
        side=Side[trade["side"]],
        price=float(trade["price"]),
        size=float(trade["size"]),
        status=trade["status"],
        maker_orders=makers,
        outcome=trade["outcome"],
        owner=trade["owner"],
        trade_owner=trade["owner"],
        maker_address=trade["maker_address"],
        trader_side=trade["trader_side"],
        fee_rate_bps=float(trade["fee_rate_bps"]),
        transaction_hash=trade["transaction_hash"],
        bucket_index=trade["bucket_index"],
        matchtime_ns=int(trade["match_time"]) * NS,
        last_update_ns=int(trade["last_update"]) * NS,
    )


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("trader_side", ["TAKER", "MAKER"])
@pytest.mark.parametrize("status", STATUSES)
def test_trade_round_trip(status: str, trader_side: str, outcome: str) -> None:
    trade = rest_trade(status, trader_side, outcome)
    msg = encode_trade_event(trade, TS)
    assert (msg["event_type"], msg["type"], msg["status"]) == ("trade", "TRADE", status)
    assert msg["trade_owner"] == msg["owner"] == API_KEY
    assert msg["match_time"] == str(CREATED_S + 5)  # seconds, as the venue sends it
    assert msg["timestamp"] == str(TS // MS)
    assert isinstance(msg["bucket_index"], int)
    event, notes = roundtrip(msg)
    assert event == expected_trade(trade)
    # the two second stamps are converted with a note each: notes, never errors
    assert sorted(n.reason for n in notes) == ["timestamp_in_seconds"] * 2


def test_maker_trade_gets_a_stable_stand_in_taker_order_id() -> None:
    ids = {encode_trade_event(rest_trade(s, "MAKER"), TS)["taker_order_id"] for s in STATUSES}
    assert ids == {maker_taker_order_id(TID)}
    (stand_in,) = ids
    assert stand_in.startswith("0x") and len(stand_in) == 66
    assert stand_in != OID
    # a maker trade that names the taker keeps it
    named = rest_trade("MATCHED", "MAKER", taker_order_id="0x" + "ee" * 32)
    assert encode_trade_event(named, TS)["taker_order_id"] == "0x" + "ee" * 32


def test_trade_dedupes_on_id_and_status() -> None:
    frame = encode_frame([encode_trade_event(rest_trade(s), TS) for s in STATUSES])
    events = parse_user_frame(frame, RECV)
    assert len({(e.id, e.status) for e in events}) == len(STATUSES)
    assert {e.id for e in events} == {TID}


def test_trade_defaults() -> None:
    trade = rest_trade()
    for key in ("match_time", "last_update", "bucket_index", "fee_rate_bps", "transaction_hash"):
        del trade[key]
    msg = encode_trade_event(trade, TS)
    assert (msg["match_time"], msg["last_update"]) == (str(TS // NS),) * 2
    assert (msg["bucket_index"], msg["fee_rate_bps"], msg["transaction_hash"]) == (0, "0", "")
    event, _ = roundtrip(msg)
    assert event.matchtime_ns == event.last_update_ns == TS // NS * NS


def test_trade_times_in_iso_are_accepted() -> None:
    trade = rest_trade(match_time="2026-01-01T23:59:55Z", last_update="2026-01-02T00:00:00.9Z")
    msg = encode_trade_event(trade, TS)
    assert (msg["match_time"], msg["last_update"]) == (str(CREATED_S + 5), str(CREATED_S + 10))


def test_matchtime_key_of_the_docs_is_read_too() -> None:
    trade = rest_trade()
    trade["matchtime"] = trade.pop("match_time")
    assert encode_trade_event(trade, TS)["match_time"] == str(CREATED_S + 5)


def test_maker_order_without_side_has_no_side() -> None:
    trade = rest_trade()
    del trade["maker_orders"][0]["side"]
    msg = encode_trade_event(trade, TS)
    assert "side" not in msg["maker_orders"][0]
    event, _ = roundtrip(msg)
    assert event.maker_orders[0].side is None


# -- frames ------------------------------------------------------------------------------------


def test_array_frame_batches_several_messages_without_errors() -> None:
    messages = [
        encode_order_event(rest_order(), "PLACEMENT", TS),
        encode_order_event(rest_order(size_matched="12.5", associate_trades=[TID]), "UPDATE", TS),
        encode_trade_event(rest_trade("MATCHED"), TS),
        encode_trade_event(rest_trade("MINED", "MAKER", "No"), TS + MS),
        encode_order_event(
            rest_order(status="CANCELED", size_matched="12.5", associate_trades=[TID]),
            "CANCELLATION",
            TS + 2 * MS,
        ),
        encode_order_event(
            rest_order(id="0x" + "0f" * 32, order_type="FOK"),
            "CANCELLATION",
            TS + 3 * MS,
            status_override=kill_status(),
        ),
        encode_trade_event(rest_trade("FAILED"), TS + 4 * MS),
    ]
    frame = encode_frame(messages)
    assert frame.startswith("[") and frame == market_encode_frame(messages)
    parser = UserFrameParser()
    events = parser.parse(frame, RECV)
    assert parser.error_count == 0, list(parser.rejected)
    assert parser.messages == len(messages)
    assert set(parser.notes) <= {"timestamp_in_seconds"}
    assert parser.notes["timestamp_in_seconds"] == 2 * 3  # match_time, last_update per trade
    kinds = [(type(e).__name__, getattr(e, "type", ""), e.status) for e in events]
    assert kinds == [
        ("UserOrder", "PLACEMENT", "LIVE"),
        ("UserOrder", "UPDATE", "LIVE"),
        ("UserTrade", "", "MATCHED"),
        ("UserTrade", "", "MINED"),
        ("UserOrder", "CANCELLATION", "CANCELED"),
        ("UserOrder", "CANCELLATION", kill_status()),
        ("UserTrade", "", "FAILED"),
    ]
    assert [e.ts_exchange_ns for e in events] == [TS_MS, TS_MS, TS_MS] + [
        TS_MS + k * MS for k in range(1, 5)
    ]


def test_single_message_frame_is_an_object() -> None:
    msg = encode_order_event(rest_order(), "PLACEMENT", TS)
    frame = encode_frame(msg)
    assert frame.startswith("{")
    parser = UserFrameParser()
    assert len(parser.parse(frame, RECV)) == 1
    assert parser.error_count == 0


def test_messages_are_json_stable() -> None:
    for msg in (
        encode_order_event(rest_order(), "PLACEMENT", TS),
        encode_trade_event(rest_trade("CONFIRMED", "MAKER"), TS),
    ):
        assert json.loads(encode_frame(msg)) == msg


# -- property tests ------------------------------------------------------------------------------


@st.composite
def maker_orders(draw: st.DrawFn, asset: str, outcome: str) -> dict[str, Any]:
    price, _ = draw(prices())
    return {
        "order_id": "0x" + draw(st.binary(min_size=32, max_size=32)).hex(),
        "owner": draw(st.sampled_from([API_KEY, OTHER_KEY])),
        "maker_address": draw(st.sampled_from([ADDR, OTHER_ADDR])),
        "matched_amount": size_of(
            draw(st.integers(1, 10**12)), draw(st.sampled_from(["fixed", "plain", "float"]))
        ),
        "price": price,
        "fee_rate_bps": draw(st.sampled_from(["0", "700", 1000, "25.5"])),
        "asset_id": asset,
        "outcome": outcome,
        "side": draw(st.sampled_from(["BUY", "SELL"])),
    }


@st.composite
def trades(draw: st.DrawFn) -> tuple[dict[str, Any], int, float, float]:
    price, price_value = draw(prices())
    units = draw(st.integers(1, 10**12))
    outcome = draw(st.sampled_from(OUTCOMES))
    status = draw(st.sampled_from((*STATUSES, "RETRYING")))
    trader_side = draw(st.sampled_from(["TAKER", "MAKER"]))
    matched_s = draw(st.integers(1_600_000_000, 1_900_000_000))
    ts_ns = matched_s * NS + draw(st.integers(0, 10**11))
    asset = TOKEN[outcome]
    makers = draw(
        st.lists(
            maker_orders(asset, outcome), min_size=1 if trader_side == "MAKER" else 0, max_size=3
        )
    )
    trade = rest_trade(
        status,
        trader_side,
        outcome,
        id=str(draw(st.uuids())),
        side=draw(st.sampled_from(["BUY", "SELL"])),
        size=size_of(units, draw(st.sampled_from(["fixed", "plain", "float"]))),
        price=price,
        match_time=str(matched_s),
        last_update=str(ts_ns // NS),
        bucket_index=draw(st.integers(0, 5)),
        maker_orders=makers,
    )
    return trade, ts_ns, price_value, units / 10**6


@given(trades())
def test_trade_property_round_trip(case: tuple[dict[str, Any], int, float, float]) -> None:
    trade, ts_ns, price, size = case
    msg = encode_trade_event(trade, ts_ns)
    parser = UserFrameParser()
    (event,) = parser.parse(encode_frame(msg), ts_ns)
    assert parser.error_count == 0
    assert set(parser.notes) <= {"timestamp_in_seconds"}
    assert isinstance(event, UserTrade)
    assert (event.price, event.size) == (price, size)
    assert (event.id, event.status, event.trader_side) == (
        trade["id"],
        trade["status"],
        trade["trader_side"],
    )
    assert event.side is Side[trade["side"]]
    assert event.bucket_index == trade["bucket_index"]
    assert event.matchtime_ns == int(trade["match_time"]) * NS
    assert event.last_update_ns == ts_ns // NS * NS
    assert event.ts_exchange_ns == ts_ns // MS * MS
    assert event.taker_order_id == (trade["taker_order_id"] or maker_taker_order_id(trade["id"]))
    assert len(event.maker_orders) == len(trade["maker_orders"])
    for got, mo in zip(event.maker_orders, trade["maker_orders"], strict=True):
        assert got.order_id == mo["order_id"]
        assert got.price == float(Decimal(str(mo["price"])).quantize(Decimal("0.0001")))
        assert got.matched_amount == float(
            Decimal(str(mo["matched_amount"])).quantize(Decimal("0.000001"))
        )
        assert got.fee_rate_bps == float(mo["fee_rate_bps"])
        assert got.side is Side[mo["side"]]


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"trader_side": "taker"}, ValueError),
        ({"taker_order_id": ""}, ValueError),  # a TAKER trade must name our order
        ({"status": None}, ValueError),
        ({"size": "1e400x"}, ValueError),
        ({"bucket_index": -1}, ValueError),
        ({"bucket_index": True}, ValueError),
        ({"match_time": "2026-13-01T00:00:00Z"}, ValueError),
        ({"maker_orders": "none"}, TypeError),
        ({"maker_orders": [{"order_id": "x", "asset_id": YES, "price": "0.5"}]}, KeyError),
    ],
)
def test_trade_refusals(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_trade_event(rest_trade(**changes), TS)


def test_encoder_does_not_import_the_parser() -> None:
    tree = ast.parse(Path(enc.__file__).read_text())
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(m == "live" or m.startswith("live.") for m in modules), modules
