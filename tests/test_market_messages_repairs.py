"""Repairs that keep a market-channel message: dropped entries, book anomalies (notes)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from live.market_messages import NOTES, MarketFrameParser, ParseNote, parse_market_frame
from sim.errors import MessageParseError
from sim.types import Side
from tests.test_market_messages_helpers import (
    A_NO,
    A_YES,
    BOOK,
    GOOD_BIDS,
    MKT_A,
    RECV,
    book_with,
    fixture,
    pc_entry,
)

# -- a bad entry costs only itself (issue 10) --------------------------------------------------

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
