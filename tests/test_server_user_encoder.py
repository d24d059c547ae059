"""The mock server's user-channel encoder against the project's parser and the fixtures.

``exchange_mock.server.user_encoder`` turns the order desk's REST dicts (an
OpenOrder, a Trade; reference 4.6) into user-channel ``order``/``trade``
messages (reference 6.2). Parsing an encoded frame with ``live.user_messages``
gives the order or trade back, field for field, except what the encoder's
docstring lists (ms truncation, a killed order's blanks, a maker trade's
stand-in taker order id); the messages have the shared fixtures' keys and value
types, except the documented deviations.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import exchange_mock.server.user_encoder as enc
from exchange_mock.server.market_encoder import encode_frame as market_encode_frame
from exchange_mock.server.user_encoder import (
    FAK_KILL_MESSAGE,
    FOK_KILL_MESSAGE,
    ORDER_KINDS,
    encode_frame,
    encode_order_event,
    encode_trade_event,
    kill_status,
    maker_taker_order_id,
)
from live.user_messages import (
    MakerOrder,
    UserFrameParser,
    UserOrder,
    UserTrade,
    parse_user_frame,
    parse_user_message,
)
from sim.types import Side

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"

MKT = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
TOKEN = {"Yes": YES, "No": NO}
API_KEY = "00000000-0000-0000-0000-000000000001"
OTHER_KEY = "00000000-0000-0000-0000-000000000002"
ADDR = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
OTHER_ADDR = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
OID = "0x" + "ab" * 32
TID = "4292dbf2-8b38-4b5c-a0a1-6f2c4a0d1e11"
TX = "0x" + "3f91" * 16

NS = 1_000_000_000
MS = 1_000_000
CREATED_S = 1_767_311_990  # 2026-01-01T23:59:50Z
TS = 1_767_312_000_123_456_789  # the event time: 10 s later, with sub-ms digits
RECV = TS + 7_654_321  # the receive time every parsed event gets
TS_MS = TS // MS * MS  # what the parser gives back as ts_exchange_ns
FIXTURE_RECV = 1_800_000_000 * NS  # after every fixture's timestamp (2027-01-15)

STATUSES = ("MATCHED", "MINED", "CONFIRMED", "FAILED")
OUTCOMES = ("Yes", "No")


# -- REST dicts as the order desk builds them (orders_desk.order_json / trade_json) --------------


def rest_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": OID,
        "status": "LIVE",
        "owner": API_KEY,
        "maker_address": ADDR,
        "market": MKT,
        "asset_id": YES,
        "side": "BUY",
        "original_size": "100.000000",
        "size_matched": "0",
        "price": "0.57",
        "associate_trades": [],
        "outcome": "Yes",
        "created_at": CREATED_S,
        "expiration": "0",
        "order_type": "GTC",
    }
    order.update(changes)
    return order


def rest_trade(
    status: str = "MATCHED", trader_side: str = "TAKER", outcome: str = "Yes", **changes: Any
) -> dict[str, Any]:
    asset = TOKEN[outcome]
    trade: dict[str, Any] = {
        "id": TID,
        "market": MKT,
        "asset_id": asset,
        "side": "BUY",
        "size": "12.5",
        "fee_rate_bps": "700",
        "price": "0.43",
        "status": status,
        "match_time": str(CREATED_S + 5),
        "last_update": str(TS // NS),
        "outcome": outcome,
        "bucket_index": 0,
        "owner": API_KEY,
        "maker_address": ADDR,
        "transaction_hash": "" if status == "MATCHED" else TX,
        "trader_side": trader_side,
    }
    if trader_side == "TAKER":
        trade["taker_order_id"] = OID
        trade["maker_orders"] = [
            {
                "order_id": "0x" + "cd" * 32,
                "owner": OTHER_KEY,
                "maker_address": OTHER_ADDR,
                "matched_amount": "12.500000",
                "price": "0.43",
                "fee_rate_bps": "0",
                "asset_id": asset,
                "outcome": outcome,
                "side": "SELL",
            }
        ]
    else:  # the desk's maker trade: our resting order in maker_orders, the taker unknown
        trade["taker_order_id"] = ""
        trade["maker_orders"] = [
            {
                "order_id": OID,
                "owner": API_KEY,
                "maker_address": ADDR,
                "matched_amount": "12.5",
                "price": "0.43",
                "fee_rate_bps": "700",
                "asset_id": asset,
                "outcome": outcome,
                "side": "BUY",
            }
        ]
    trade.update(changes)
    return trade


def roundtrip(msg: dict[str, Any], recv_ns: int = RECV) -> tuple[Any, list[Any]]:
    """The one event of ``msg`` sent as a frame, and the parser's notes."""
    notes: list[Any] = []
    events = parse_user_frame(encode_frame(msg), recv_ns, notes)
    assert len(events) == 1
    return events[0], notes


def _shared(name: str) -> dict[str, Any]:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared Polymarket fixture {path} not found")
    return json.loads(path.read_text())


def expected_order(order: dict[str, Any], kind: str, **changes: Any) -> UserOrder:
    exp = order.get("expiration")
    out = UserOrder(
        ts_exchange_ns=TS_MS,
        ts_recv_ns=RECV,
        id=order["id"],
        type=kind,
        market=order["market"],
        asset_id=order["asset_id"],
        side=Side[order["side"]],
        price=float(order["price"]),
        original_size=float(order["original_size"]),
        size_matched=float(order["size_matched"]),
        status=order["status"],
        order_type=order["order_type"],
        outcome=order["outcome"],
        owner=order["owner"],
        order_owner=order["owner"],
        maker_address=order["maker_address"],
        associate_trades=tuple(order["associate_trades"] or ()),
        created_at_ns=order["created_at"] * NS,
        expiration_ns=None if exp in (None, "0", 0) else int(exp) * NS,
    )
    return replace(out, **changes)


# -- order messages: round trips ------------------------------------------------------------------


def test_placement_round_trip() -> None:
    order = rest_order()
    msg = encode_order_event(order, "PLACEMENT", TS)
    assert msg["event_type"] == "order"
    assert msg["type"] == "PLACEMENT"
    assert msg["timestamp"] == str(TS // MS)
    assert msg["created_at"] == str(CREATED_S * 1000)
    assert msg["original_size"] == "100"  # the REST "100.000000", as the venue writes it
    assert msg["owner"] == msg["order_owner"] == API_KEY
    assert msg["associate_trades"] == []
    assert msg["expiration"] == "0"
    event, notes = roundtrip(msg)
    assert notes == []
    assert event == expected_order(order, "PLACEMENT")


def test_update_partial_fill_round_trip() -> None:
    order = rest_order(size_matched="25.5", associate_trades=[TID])
    msg = encode_order_event(order, "UPDATE", TS)
    assert msg["status"] == "LIVE"
    assert msg["size_matched"] == "25.5"
    assert msg["associate_trades"] == [TID]
    event, notes = roundtrip(msg)
    assert notes == []
    assert event == expected_order(order, "UPDATE")
    assert isinstance(event, UserOrder)
    assert 0 < event.size_matched < event.original_size


def test_update_full_fill_round_trip() -> None:
    order = rest_order(status="MATCHED", size_matched="100", associate_trades=[TID, "t-2"])
    event, _ = roundtrip(encode_order_event(order, "UPDATE", TS))
    assert event == expected_order(order, "UPDATE")
    assert event.status == "MATCHED"
    assert event.associate_trades == (TID, "t-2")


def test_cancellation_round_trip() -> None:
    order = rest_order(status="CANCELED", size_matched="10", associate_trades=[TID])
    msg = encode_order_event(order, "CANCELLATION", TS)
    assert msg["status"] == "CANCELED"
    event, notes = roundtrip(msg)
    assert notes == []
    assert event == expected_order(order, "CANCELLATION")


def test_status_override_is_sent_verbatim() -> None:
    order = rest_order()  # the desk still says LIVE: the override wins
    msg = encode_order_event(order, "CANCELLATION", TS, status_override="INVALID")
    assert msg["status"] == "INVALID"
    event, _ = roundtrip(msg)
    assert event == expected_order(order, "CANCELLATION", status="INVALID")


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_order_outcomes_and_sides(outcome: str, side: str) -> None:
    order = rest_order(asset_id=TOKEN[outcome], outcome=outcome, side=side, price="0.061")
    event, _ = roundtrip(encode_order_event(order, "PLACEMENT", TS))
    assert event == expected_order(order, "PLACEMENT")
    assert event.side is Side[side]
    assert event.outcome == outcome


def test_side_enum_is_accepted() -> None:
    msg = encode_order_event(rest_order(side=Side.SELL), "PLACEMENT", TS)
    assert msg["side"] == "SELL"


def test_gtd_expiration_round_trip() -> None:
    for given_exp in ("1767400000", 1_767_400_000):
        order = rest_order(order_type="GTD", expiration=given_exp)
        msg = encode_order_event(order, "PLACEMENT", TS)
        assert msg["expiration"] == "1767400000"
        event, _ = roundtrip(msg)
        assert event.expiration_ns == 1_767_400_000 * NS
    for none in (None, "", "0", 0):
        assert encode_order_event(rest_order(expiration=none), "PLACEMENT", TS)["expiration"] == "0"


def test_missing_optional_fields_get_venue_defaults() -> None:
    order = rest_order()
    for key in ("associate_trades", "outcome", "created_at", "expiration", "size_matched"):
        del order[key]
    msg = encode_order_event(order, "PLACEMENT", TS)
    assert (msg["associate_trades"], msg["outcome"], msg["created_at"]) == ([], "", "")
    assert (msg["expiration"], msg["size_matched"]) == ("0", "0")
    event, _ = roundtrip(msg)
    assert (event.created_at_ns, event.expiration_ns, event.size_matched) == (None, None, 0.0)


def test_order_owner_when_given() -> None:
    msg = encode_order_event(rest_order(order_owner=OTHER_KEY), "PLACEMENT", TS)
    assert (msg["owner"], msg["order_owner"]) == (API_KEY, OTHER_KEY)


# -- killed orders ----------------------------------------------------------------------------


def test_kill_status() -> None:
    assert kill_status() == (
        "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    )
    assert kill_status(FAK_KILL_MESSAGE) == "CANCELED_" + FAK_KILL_MESSAGE


def test_fok_kill_round_trip() -> None:
    order = rest_order(order_type="FOK", status="CANCELED", original_size="12", price="0.6")
    msg = encode_order_event(order, "CANCELLATION", TS, status_override=kill_status())
    assert msg["status"] == "CANCELED_" + FOK_KILL_MESSAGE
    # as the venue's capture: the order never rested
    assert (msg["created_at"], msg["size_matched"], msg["outcome"]) == ("", "", "")
    event, notes = roundtrip(msg)
    assert notes == []
    assert event == expected_order(
        order,
        "CANCELLATION",
        status="CANCELED_" + FOK_KILL_MESSAGE,
        created_at_ns=None,
        outcome="",
        size_matched=0.0,
    )


def test_fok_kill_matches_the_capture_exactly() -> None:
    fix = _shared("ws_user_order_fok_killed.json")
    order = {
        "id": fix["id"],
        "status": "CANCELED",
        "owner": fix["owner"],
        "maker_address": fix["maker_address"],
        "market": fix["market"],
        "asset_id": fix["asset_id"],
        "side": fix["side"],
        "original_size": "12.000000",
        "size_matched": "0",
        "price": "0.6",
        "associate_trades": [],
        "outcome": "Yes",  # known to the desk, blanked on the wire as the venue does
        "created_at": 1_777_824_064,
        "expiration": "0",
        "order_type": "FOK",
    }
    ts = int(fix["timestamp"]) * MS
    msg = encode_order_event(order, "CANCELLATION", ts, status_override=kill_status())
    assert msg == fix
    assert parse_user_frame(encode_frame(msg), FIXTURE_RECV) == parse_user_frame(
        json.dumps(fix), FIXTURE_RECV
    )


def test_fak_kill_blanks_like_fok() -> None:
    order = rest_order(order_type="FAK")
    msg = encode_order_event(
        order, "CANCELLATION", TS, status_override=kill_status(FAK_KILL_MESSAGE)
    )
    assert (msg["created_at"], msg["size_matched"], msg["outcome"]) == ("", "", "")
    event, _ = roundtrip(msg)
    assert event.status == "CANCELED_" + FAK_KILL_MESSAGE


def test_kill_of_a_partly_filled_fak_keeps_its_fill() -> None:
    order = rest_order(order_type="FAK", size_matched="3", associate_trades=[TID])
    msg = encode_order_event(
        order, "CANCELLATION", TS, status_override=kill_status(FAK_KILL_MESSAGE)
    )
    assert (msg["size_matched"], msg["outcome"]) == ("3", "Yes")
    assert msg["created_at"] == str(CREATED_S * 1000)


def test_canceled_reason_of_a_resting_order_keeps_its_fields() -> None:
    order = rest_order()  # GTC: it rested, so it has a creation time and an outcome
    msg = encode_order_event(order, "CANCELLATION", TS, status_override="CANCELED_MARKET_RESOLVED")
    event, _ = roundtrip(msg)
    assert event == expected_order(order, "CANCELLATION", status="CANCELED_MARKET_RESOLVED")


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


# -- property tests ------------------------------------------------------------------------------

GRIDS = (100, 1000)  # ticks 0.01 and 0.001


@st.composite
def prices(draw: st.DrawFn) -> tuple[object, float]:
    """A price on a 0.01 or 0.001 grid, as a REST string or a (noisy) float, and its value."""
    denom = draw(st.sampled_from(GRIDS))
    k = draw(st.integers(1, denom - 1))
    value = k / denom
    form = draw(st.sampled_from(["str", "float", "noisy"]))
    if form == "str":
        return str(Decimal(k) / Decimal(denom)), value
    if form == "float":
        return value, value
    return k * (1.0 / denom), value  # e.g. 57 * 0.01 = 0.5700000000000001


def size_of(units: int, form: str) -> object:
    """A size of ``units`` micro-shares (6 decimals) in one of the desk's forms."""
    d = Decimal(units).scaleb(-6)
    if form == "fixed":
        return f"{d:.6f}"  # order_json's original_size
    if form == "plain":
        return format(d.normalize(), "f")
    return units / 1_000_000


@st.composite
def orders(draw: st.DrawFn) -> tuple[dict[str, Any], str, int, float, float, float]:
    price, price_value = draw(prices())
    units = draw(st.integers(1, 10**12))
    matched_units = draw(st.integers(0, units))
    kind = draw(st.sampled_from(ORDER_KINDS))
    outcome = draw(st.sampled_from(OUTCOMES))
    created = draw(st.integers(1_600_000_000, 1_900_000_000))
    ts_ns = created * NS + draw(st.integers(0, 10**13))
    status = {"PLACEMENT": "LIVE", "UPDATE": "LIVE", "CANCELLATION": "CANCELED"}[kind]
    if kind == "UPDATE" and matched_units == units:
        status = "MATCHED"
    order = rest_order(
        id="0x" + draw(st.binary(min_size=32, max_size=32)).hex(),
        status=status,
        asset_id=TOKEN[outcome],
        outcome=outcome,
        side=draw(st.sampled_from(["BUY", "SELL"])),
        price=price,
        original_size=size_of(units, draw(st.sampled_from(["fixed", "plain", "float"]))),
        size_matched=size_of(matched_units, draw(st.sampled_from(["plain", "float"]))),
        associate_trades=draw(st.lists(st.uuids().map(str), max_size=3)),
        created_at=created,
        expiration=draw(st.sampled_from(["0", str(created + 3600)])),
        order_type=draw(st.sampled_from(["GTC", "GTD", "FOK", "FAK"])),
    )
    return order, kind, ts_ns, price_value, units / 10**6, matched_units / 10**6


@given(orders())
def test_order_property_round_trip(
    case: tuple[dict[str, Any], str, int, float, float, float],
) -> None:
    order, kind, ts_ns, price, size, matched = case
    msg = encode_order_event(order, kind, ts_ns)
    assert all(isinstance(msg[k], str) for k in ("price", "original_size", "size_matched"))
    assert "e" not in msg["price"].lower() and "e" not in msg["original_size"].lower()
    (event,) = parse_user_message(json.loads(encode_frame(msg)), ts_ns)
    assert isinstance(event, UserOrder)
    assert (event.price, event.original_size, event.size_matched) == (price, size, matched)
    assert (event.id, event.type, event.status) == (order["id"], kind, order["status"])
    assert event.side is Side[order["side"]]
    assert (event.asset_id, event.outcome) == (order["asset_id"], order["outcome"])
    assert event.associate_trades == tuple(order["associate_trades"])
    assert event.created_at_ns == order["created_at"] * NS
    assert event.ts_exchange_ns == ts_ns // MS * MS
    exp = order["expiration"]
    assert event.expiration_ns == (None if exp == "0" else int(exp) * NS)


@given(orders(), st.sampled_from([FOK_KILL_MESSAGE, FAK_KILL_MESSAGE]))
def test_kill_property(
    case: tuple[dict[str, Any], str, int, float, float, float], why: str
) -> None:
    order, _, ts_ns, price, size, matched = case
    msg = encode_order_event(order, "CANCELLATION", ts_ns, status_override=kill_status(why))
    (event,) = parse_user_frame(encode_frame(msg), ts_ns)
    assert event.status == "CANCELED_" + why
    assert (event.price, event.original_size, event.size_matched) == (price, size, matched)
    blanked = order["order_type"] in ("FOK", "FAK") and matched == 0
    assert (msg["created_at"] == "") is blanked
    assert event.created_at_ns == (None if blanked else order["created_at"] * NS)
    assert event.outcome == ("" if blanked else order["outcome"])


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
        ({"side": "buy"}, ValueError),
        ({"price": float("nan")}, ValueError),
        ({"price": "abc"}, ValueError),
        ({"price": True}, TypeError),
        ({"original_size": "-1"}, ValueError),
        ({"size_matched": -0.5}, ValueError),
        ({"created_at": 1_767_311_990_000}, ValueError),  # ms, not seconds
        ({"created_at": "yesterday"}, ValueError),
        ({"associate_trades": "t-1"}, TypeError),
        ({"associate_trades": [1]}, TypeError),
        ({"status": ""}, ValueError),
    ],
)
def test_order_refusals(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        encode_order_event(rest_order(**changes), "PLACEMENT", TS)


def test_order_refuses_unknown_kind_and_missing_fields() -> None:
    with pytest.raises(ValueError, match="type"):
        encode_order_event(rest_order(), "FILL", TS)
    order = rest_order()
    del order["price"]
    with pytest.raises(KeyError):
        encode_order_event(order, "PLACEMENT", TS)
    with pytest.raises(ValueError, match="negative"):
        encode_order_event(rest_order(), "PLACEMENT", -1)


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
