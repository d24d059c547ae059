"""The capture import's inputs: the capture format and the Gamma metadata.

``live.capture`` (format), ``live.gamma`` (metadata). Fixtures:
``tests/fixtures/capture/`` (README.md there).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from live.capture import CaptureConnection, CaptureFrame, CaptureWriter, read_capture
from live.gamma import load_gamma_markets, load_markets, market_from_gamma
from sim.errors import DataValidationError
from sim.types import MarketInfo
from tests.test_capture_import_helpers import (
    BTC,
    BTC_DOWN,
    BTC_SLUG,
    BTC_UP,
    ETH_DOWN,
    ETH_SLUG,
    ETH_UP,
    GAMMA,
    SHARED,
)

# -- the capture format ---------------------------------------------------------------------------


def test_capture_writer_round_trips_frames_exactly(tmp_path: Path) -> None:
    frames = ['{"event_type":"book","q":"Bitcoin \u2191 \u00e9\\n"}', "PONG", "[]", 'a\nb "c"']
    for name in ("c.jsonl", "c.jsonl.gz"):
        path = tmp_path / name
        with CaptureWriter(path) as w:
            for i, f in enumerate(frames):
                w.frame(f, 1000 + i)
            w.connection(False, "socket closed", 2000)
        with CaptureWriter(path) as w:  # a restarted recorder appends
            w.frame(b"PING", 3000)
        records = list(read_capture(path))
        assert records == [
            *(CaptureFrame(i + 1, 1000 + i, f) for i, f in enumerate(frames)),
            CaptureConnection(5, 2000, False, "socket closed"),
            CaptureFrame(6, 3000, "PING"),
        ]
    first = (tmp_path / "c.jsonl").read_text().splitlines()[0]
    assert first.startswith('{"recv_ns":1000,"frame":')


def test_capture_accepts_decoded_frames_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"recv_ns": 5, "frame": {"event_type": "book"}}\n'
        '{"recv_ns": 6, "frame": [1]}\n'
        '{"recv_ns": 7, "frame": 3}\n'
        '{"recv_ns": true, "frame": "x"}\n'
        '{"recv_ns": 8, "frame": "x", "connection": "connected"}\n'
        '{"recv_ns": 9, "connection": "disconnected"}\n'
    )
    records = list(read_capture(path))
    assert records[:2] == [CaptureFrame(1, 5, {"event_type": "book"}), CaptureFrame(2, 6, [1])]
    assert [(r.line, r.reason) for r in records[2:5]] == [
        (3, "bad_capture_line"), (4, "bad_capture_line"), (5, "bad_capture_line")]  # fmt: skip
    assert records[5] == CaptureConnection(6, 9, False, "")


# -- Gamma metadata -----------------------------------------------------------------------------


def test_fixture_gamma_markets() -> None:
    btc, eth = load_gamma_markets(GAMMA)
    assert btc == MarketInfo(
        condition_id=BTC,
        question="Bitcoin Up or Down - January 15, 9:00AM-9:15AM ET",
        yes_token_id=BTC_UP,
        no_token_id=BTC_DOWN,
        tick_size=0.01,
        min_order_size=5.0,
        fee_rate=0.07,
        fee_exponent=1.0,
        neg_risk=False,
        event_id="201822",
        slug=BTC_SLUG,
        category="",
        start_ns=1768485600 * 10**9,  # eventStartTime, the window start
        end_ns=(1768485600 + 900) * 10**9,
        resolution="",
    )
    assert (eth.yes_token_id, eth.no_token_id, eth.slug) == (ETH_UP, ETH_DOWN, ETH_SLUG)


def _shared(name: str) -> Any:
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"shared Polymarket fixtures not found at {SHARED}")
    return json.loads(path.read_text())


def test_shared_gamma_sports_market() -> None:
    doc = _shared("gamma_market_sports_market_money_line.json")
    m = market_from_gamma(doc)
    tokens = json.loads(doc["clobTokenIds"])
    assert (m.yes_token_id, m.no_token_id) == (tokens[0], tokens[1])  # "FaZe" is the first outcome
    assert m.condition_id == doc["conditionId"]
    assert (m.tick_size, m.min_order_size, m.neg_risk) == (0.001, 5.0, False)
    assert (m.fee_rate, m.fee_exponent) == (0.03, 1.0)  # feeSchedule, not takerBaseFee
    assert m.start_ns == int(dt.datetime(2026, 4, 5, 15, 10, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.end_ns == int(dt.datetime(2026, 4, 5, 21, 10, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.resolution == "YES"  # closed, umaResolutionStatus resolved, prices ["1", "0"]
    assert m.event_id == doc["events"][0]["id"]


def test_shared_gamma_closed_markets() -> None:
    no = market_from_gamma(_shared("gamma_market_closed_binary_accepting_false.json"))
    assert (no.resolution, no.tick_size, no.fee_rate) == ("NO", 0.001, 0.0)
    # a fractional-second startDate ("...05.41Z") and no eventStartTime
    yes = market_from_gamma(_shared("gamma_market_closed_binary_accepting_true.json"))
    assert yes.resolution == "YES"
    assert yes.start_ns == 1775067845_410_000_000


def test_shared_gamma_event_list() -> None:
    doc = _shared("gamma_event.json")
    path = SHARED / "gamma_event.json"
    markets = load_gamma_markets(path)
    assert [m.condition_id for m in markets] == [m["conditionId"] for m in doc[0]["markets"]]
    assert all(m.neg_risk and m.event_id == "30829" for m in markets)
    assert markets[0].resolution == ""  # open
    assert "politics" in markets[0].tags


def test_shared_gamma_market_without_fee_schedule() -> None:
    """Fees enabled but no feeSchedule (a March 2026 answer): the rate is unknown, say so."""
    doc = _shared("gamma_market.json")
    with pytest.raises(DataValidationError) as info:
        market_from_gamma(doc, source="gamma_market.json")
    assert "'feeSchedule'" in str(info.value) and "gamma_market.json" in str(info.value)
    doc = dict(doc, feeSchedule={"rate": 0.07, "exponent": 1, "takerOnly": True})
    m = market_from_gamma(doc)
    assert json.loads(doc["clobTokenIds"]) == [m.yes_token_id, m.no_token_id]  # Up first
    assert (m.fee_rate, m.tick_size) == (0.07, 0.01)
    assert m.start_ns == int(dt.datetime(2026, 3, 12, 9, 20, tzinfo=dt.UTC).timestamp()) * 10**9
    assert m.end_ns - m.start_ns == 300 * 10**9  # the 5-minute window
    assert m.event_id == "260654"


def test_shared_gamma_legacy_market_names_the_missing_field() -> None:
    doc = _shared("gamma_market_closed_zero_zero_legacy.json")
    with pytest.raises(DataValidationError) as info:
        market_from_gamma(doc, source="legacy.json")
    assert info.value.reason == "missing_field"
    assert "'orderMinSize'" in str(info.value)


@pytest.mark.parametrize(
    "field",
    ["conditionId", "question", "slug", "clobTokenIds", "outcomes", "orderPriceMinTickSize",
     "orderMinSize"],
)  # fmt: skip
def test_missing_gamma_field_names_field_and_file(tmp_path: Path, field: str) -> None:
    doc = json.loads(GAMMA.read_text())
    del doc[1][field]
    path = tmp_path / "markets.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataValidationError) as info:
        load_gamma_markets(path)
    assert info.value.reason == "missing_field"
    assert info.value.path == str(path)
    assert f"'{field}'" in str(info.value)
    assert "[1]" in str(info.value)  # which market of the list


def test_gamma_shapes_and_outcome_order(tmp_path: Path) -> None:
    btc, eth = json.loads(GAMMA.read_text())
    event = {"id": "9001", "negRisk": False, "category": "Crypto",
             "tags": [{"label": "Crypto", "slug": "crypto"}],
             "markets": [btc, eth]}  # fmt: skip
    (tmp_path / "event.json").write_text(json.dumps(event))
    (tmp_path / "one.json").write_text(json.dumps(btc))
    from_event = load_gamma_markets(tmp_path / "event.json")
    assert [m.event_id for m in from_event] == ["9001", "9001"]
    assert from_event[0].category == "Crypto" and from_event[0].tags == ("crypto",)
    assert load_gamma_markets(tmp_path / "one.json")[0].condition_id == BTC
    # the same market in two files is kept once; a different one with the same id is an error
    assert len(load_markets([GAMMA, tmp_path / "one.json"])) == 2
    changed = copy.deepcopy(btc)
    changed["orderMinSize"] = 10
    (tmp_path / "two.json").write_text(json.dumps(changed))
    with pytest.raises(DataValidationError, match="duplicate_market"):
        load_markets([GAMMA, tmp_path / "two.json"])
    # outcomes listed Down first: YES is still the Up token
    flipped = dict(btc, outcomes='["Down", "Up"]', clobTokenIds=json.dumps([BTC_DOWN, BTC_UP]))
    m = market_from_gamma(flipped)
    assert (m.yes_token_id, m.no_token_id) == (BTC_UP, BTC_DOWN)
    # resolution: closed, resolved, prices ["0", "1"]: Down (NO) won
    closed = dict(btc, closed=True, umaResolutionStatus="resolved", outcomePrices='["0", "1"]')
    assert market_from_gamma(closed).resolution == "NO"
    proposed = dict(closed, umaResolutionStatus="proposed")
    assert market_from_gamma(proposed).resolution == ""
    with pytest.raises(DataValidationError, match="orderPriceMinTickSize"):
        market_from_gamma(dict(btc, orderPriceMinTickSize=0.05))
