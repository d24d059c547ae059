"""The user-channel encoder's ``order`` messages against the project's parser.

``exchange_mock.server.user_encoder`` turns the order desk's REST OpenOrder (reference
4.6) into a user-channel ``order`` message (reference 6.2). Parsing an encoded frame
with ``live.user_messages`` gives the order back, field for field, except what the
encoder's docstring lists (ms truncation, a killed order's blanks). The trades are in
``test_server_user_encoder_trades.py``, the shared fixtures in
``test_server_user_encoder_fixtures.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_mock.server.user_encoder import (
    FAK_KILL_MESSAGE,
    FOK_KILL_MESSAGE,
    ORDER_KINDS,
    encode_frame,
    encode_order_event,
    kill_status,
)
from live.user_messages import UserOrder, parse_user_frame, parse_user_message
from sim.types import Side
from tests.server_encoder_helpers import (
    API_KEY,
    CREATED_S,
    FIXTURE_RECV,
    MS,
    NS,
    OTHER_KEY,
    OUTCOMES,
    TID,
    TOKEN,
    TS,
    expected_order,
    prices,
    rest_order,
    roundtrip,
    size_of,
)
from tests.server_encoder_helpers import user_fixture as _shared

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


# -- property tests ------------------------------------------------------------------------------


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
