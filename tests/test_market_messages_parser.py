"""The never-raising MarketFrameParser: counting, bounding, logging (live.market_messages)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.market_messages import NOTES, REASONS, MarketFrameParser, is_keepalive, parse_market_frame
from sim.errors import MessageParseError
from sim.events import TradePrint
from sim.types import Side
from tests.test_market_messages_helpers import A_NO, A_YES, RECV, fixture

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
