"""Shared pieces of the market-channel parser tests: fixtures, ids, message builders.

(Named ``test_market_messages_*`` to live beside them; it holds no tests.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from live.market_messages import REASONS, parse_market_frame
from sim.errors import MessageParseError

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


BOOK = json.loads(fixture("book.json"))
GOOD_BIDS = BOOK["bids"]
