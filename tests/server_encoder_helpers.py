"""Shared constants, builders and strategies of the mock server's encoder tests (no tests here).

The user-channel half serves ``test_server_user_encoder_*.py``: the order desk's REST
dicts (an OpenOrder, a Trade; reference 4.6), the parsed ``UserOrder`` an order should
come back as, and the strategies for prices and sizes in the desk's forms. The
market-channel half serves ``test_server_market_encoder_*.py``: the two test markets
and the parse helpers. Each half has its own receive time (``USER_RECV``,
``MARKET_RECV``), which its tests import as ``RECV``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from exchange_mock.server.user_encoder import encode_frame
from live.market_messages import ParseNote, parse_market_frame
from live.user_messages import UserOrder, parse_user_frame
from sim.events import MarketEvent
from sim.types import Side

SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"

NS = 1_000_000_000
MS = 1_000_000

# -- the user channel ------------------------------------------------------------------------------

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

CREATED_S = 1_767_311_990  # 2026-01-01T23:59:50Z
TS = 1_767_312_000_123_456_789  # the event time: 10 s later, with sub-ms digits
USER_RECV = TS + 7_654_321  # the receive time every parsed event gets
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


def roundtrip(msg: dict[str, Any], recv_ns: int = USER_RECV) -> tuple[Any, list[Any]]:
    """The one event of ``msg`` sent as a frame, and the parser's notes."""
    notes: list[Any] = []
    events = parse_user_frame(encode_frame(msg), recv_ns, notes)
    assert len(events) == 1
    return events[0], notes


def user_fixture(name: str) -> dict[str, Any]:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared Polymarket fixture {path} not found")
    return json.loads(path.read_text())


def expected_order(order: dict[str, Any], kind: str, **changes: Any) -> UserOrder:
    exp = order.get("expiration")
    out = UserOrder(
        ts_exchange_ns=TS_MS,
        ts_recv_ns=USER_RECV,
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


# -- the user channel: strategies of the desk's numbers --------------------------------------------

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


# -- the market channel ----------------------------------------------------------------------------

MKT_A = "0x311d0c4b6671ab54af4970c06fcf58662516f5168997bdda209ec3db5aa6b0c1"
A_YES = "76043073756653678226373981964075571318267289248134717369284518995922789326425"
A_NO = "31690934263385727664202099278545688007799199447969475608906331829650099442770"
MKT_B = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917"
B_YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
B_NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
MARKET_OF = {A_YES: MKT_A, A_NO: MKT_A, B_YES: MKT_B, B_NO: MKT_B}
PAIRS = {MKT_A: (A_YES, A_NO), MKT_B: (B_YES, B_NO)}

MARKET_RECV = 1_767_312_000_500_000_123  # the receive time every parsed event gets


def market_fixture(name: str) -> dict[str, Any]:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared fixture {path} is absent")
    return json.loads(path.read_text())


def ms_floor(ev: MarketEvent) -> MarketEvent:
    """``ev`` as it comes back from the wire: ms exchange time, the test's receive time."""
    return replace(ev, ts_exchange_ns=ev.ts_exchange_ns // MS * MS, ts_recv_ns=MARKET_RECV)


def parse(frame: Any) -> tuple[list[MarketEvent], list[ParseNote]]:
    notes: list[ParseNote] = []
    return parse_market_frame(frame, MARKET_RECV, notes), notes
