"""The mock server's market-channel encoder round-tripped through the project's parser.

``exchange_mock.server.market_encoder`` must be the exact inverse of
``live.market_messages`` for the current formats (reference 6.1): encoding an
event and parsing the frame gives the event back, with ``ts_exchange_ns``
truncated to the millisecond and ``ts_recv_ns`` the receive time passed in.
The venue's message shapes are in ``test_server_market_encoder_shapes.py``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

import exchange_mock.server.market_encoder as enc
from exchange_mock.server.market_encoder import (
    encode_book,
    encode_event,
    encode_events,
    encode_frame,
    encode_last_trade,
    encode_price_change,
    format_decimal,
    format_ms,
    group_level_changes,
)
from live.market_messages import MarketFrameParser, parse_market_frame
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
from tests.server_encoder_helpers import B_YES, MARKET_OF, MKT_B, PAIRS, ms_floor, parse
from tests.server_encoder_helpers import MARKET_RECV as RECV
from tests.server_encoder_helpers import MS as _MS


def expected_notes(events: list[MarketEvent]) -> Counter[str]:
    """The only notes an exact encoding may cause: a trade print's unknown side/size."""
    return Counter(
        f"trade_missing_{f}"
        for e in events
        if isinstance(e, TradePrint)
        for f in ("side", "size")
        if getattr(e, f) is None
    )


# -- strategies --------------------------------------------------------------------------------

# any ns whose ms the parser finds plausible: 1973 .. the receive time
ts_st = st.builds(
    lambda ms, sub: ms * _MS + sub,
    st.integers(100_000_000_000, RECV // _MS),
    st.sampled_from([0, 1, _MS // 2 - 1, _MS // 2, _MS - 1]) | st.integers(0, _MS - 1),
)
grid_st = st.sampled_from([100, 1000])  # ticks 0.01 and 0.001, as steps per unit
price_st = grid_st.flatmap(lambda n: st.integers(1, n - 1).map(lambda k: k / n))
size_st = st.integers(0, 10**10).map(lambda c: c / 100)  # up to 2 decimals, 0 allowed
resting_st = st.integers(1, 10**10).map(lambda c: c / 100)  # a resting level is never 0
top_st = st.none() | price_st
asset_st = st.sampled_from(sorted(MARKET_OF))
side_st = st.sampled_from([Side.BUY, Side.SELL])
tick_st = st.sampled_from(VALID_TICK_SIZES)
hex_st = st.text("0123456789abcdef", min_size=0, max_size=40)


@st.composite
def books(draw: st.DrawFn) -> BookSnapshot:
    n = draw(grid_st)
    # an uncrossed book of distinct resting levels: nothing for the parser to repair
    ks = sorted(draw(st.lists(st.integers(1, n - 1), unique=True, max_size=12)))
    split = draw(st.integers(0, len(ks)))
    asset = draw(asset_st)
    return BookSnapshot(
        ts_exchange_ns=draw(ts_st),
        ts_recv_ns=0,
        asset_id=asset,
        market=MARKET_OF[asset],
        bids=tuple((k / n, draw(resting_st)) for k in reversed(ks[:split])),  # best first
        asks=tuple((k / n, draw(resting_st)) for k in ks[split:]),
        tick_size=draw(st.none() | tick_st),
        hash=draw(hex_st),
    )


def level_change(draw: st.DrawFn, asset: str, ts: int) -> LevelChange:
    return LevelChange(
        ts_exchange_ns=ts,
        ts_recv_ns=0,
        asset_id=asset,
        market=MARKET_OF[asset],
        side=draw(side_st),
        price=draw(price_st),
        size=draw(size_st),
        best_bid=draw(top_st),
        best_ask=draw(top_st),
    )


@st.composite
def level_changes(draw: st.DrawFn) -> LevelChange:
    return level_change(draw, draw(asset_st), draw(ts_st))


@st.composite
def change_batches(draw: st.DrawFn) -> list[LevelChange]:
    """1..6 changes of one market and one ms (both tokens, any sub-ms times)."""
    market = draw(st.sampled_from(sorted(PAIRS)))
    ms = draw(ts_st) // _MS
    size = draw(st.integers(1, 6))
    return [
        level_change(
            draw, draw(st.sampled_from(PAIRS[market])), ms * _MS + draw(st.integers(0, _MS - 1))
        )
        for _ in range(size)
    ]


@st.composite
def trades(draw: st.DrawFn, complete: bool = False) -> TradePrint:
    asset = draw(asset_st)
    return TradePrint(
        ts_exchange_ns=draw(ts_st),
        ts_recv_ns=0,
        asset_id=asset,
        market=MARKET_OF[asset],
        side=draw(side_st if complete else st.none() | side_st),
        price=draw(price_st),
        size=draw(size_st if complete else st.none() | size_st),
        fee_rate_bps=draw(st.integers(0, 1000).map(float)),
        transaction_hash=draw(st.sampled_from(["", "0x" + "1f32" * 16])),
    )


@st.composite
def tick_changes(draw: st.DrawFn) -> TickSizeChange:
    asset = draw(asset_st)
    return TickSizeChange(draw(ts_st), 0, asset, MARKET_OF[asset], draw(tick_st), draw(tick_st))


@st.composite
def best_bid_asks(draw: st.DrawFn) -> BestBidAsk:
    asset = draw(asset_st)
    return BestBidAsk(draw(ts_st), 0, asset, MARKET_OF[asset], draw(top_st), draw(top_st))


@st.composite
def resolutions(draw: st.DrawFn) -> MarketResolved:
    market = draw(st.sampled_from(sorted(PAIRS)))
    pair = PAIRS[market]
    return MarketResolved(draw(ts_st), 0, market, pair, draw(st.sampled_from(pair)))


def feed_events(complete: bool = False) -> st.SearchStrategy[MarketEvent]:
    return st.one_of(
        books(),
        level_changes(),
        trades(complete),
        tick_changes(),
        best_bid_asks(),
        resolutions(),
    )


# -- numbers and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "places", "text"),
    [
        (0.52, 4, "0.52"),
        (0.5, 4, "0.5"),
        (100.0, 6, "100"),
        (0.0, 6, "0"),
        (-0.0, None, "0"),
        (1e-05, None, "0.00001"),
        (0.0001, 4, "0.0001"),
        (1e16, 6, "10000000000000000"),
        (219.217767, 6, "219.217767"),
        (3149725.72, 6, "3149725.72"),
        (0.1 + 0.2, 4, "0.3"),  # float noise on the grid: written as the grid value
        (57 * 0.01, 4, "0.57"),
        (0.3 - 0.1 - 0.2, 6, "0"),  # cancellation noise around 0
        (0.1 + 0.2, None, "0.30000000000000004"),  # no grid given: every digit kept
        (0.12345, 4, "0.12345"),  # off the grid, not noise: never silently rounded
        (7, None, "7"),
    ],
)
def test_format_decimal_examples(x: float, places: int | None, text: str) -> None:
    assert format_decimal(x, places) == text


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_format_decimal_refuses_non_finite(x: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_decimal(x)


@given(n=st.sampled_from([10, 100, 1000, 10_000]), data=st.data())
def test_format_decimal_is_exact_and_plain_on_grids(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, n - 1))
    price = k / n
    text = format_decimal(price, enc.PRICE_PLACES)
    assert float(text) == price  # exact: shortest decimal of the float
    assert text == repr(price) or "e" in repr(price)
    size = data.draw(size_st)
    stext = format_decimal(size, enc.SIZE_PLACES)
    assert float(stext) == size
    for t in (text, stext):
        assert "e" not in t and "E" not in t
        assert not ("." in t and t.endswith("0")) and not t.endswith(".")
    # the same grid value computed with float noise is written the same way
    assert format_decimal(k * (1 / n), enc.PRICE_PLACES) == text


def test_format_ms_truncates_to_ms() -> None:
    assert format_ms(1_703_875_200_000_999_999) == "1703875200000"
    assert format_ms(1_703_875_200_001_000_000) == "1703875200001"
    assert format_ms(0) == "0"
    with pytest.raises(ValueError):
        format_ms(-1)


# -- round trips -------------------------------------------------------------------------------


@given(ev=feed_events())
def test_each_event_round_trips(ev: MarketEvent) -> None:
    msg = encode_event(ev)
    assert msg == json.loads(encode_frame(msg))  # JSON-able, unchanged by the trip
    events, notes = parse(encode_frame(msg))
    assert events == [ms_floor(ev)]
    assert Counter(n.reason for n in notes) == expected_notes([ev])
    # the decoded dict parses the same as the text
    assert parse_market_frame(msg, RECV) == events


@given(batch=change_batches(), with_hashes=st.booleans())
def test_price_change_with_several_changes_round_trips(
    batch: list[LevelChange], with_hashes: bool
) -> None:
    hashes = [f"{i:040x}" for i in range(len(batch))] if with_hashes else None
    msg = encode_price_change(batch, hashes=hashes)
    assert msg["timestamp"] == str(batch[0].ts_exchange_ns // _MS)
    assert len(msg["price_changes"]) == len(batch)
    for entry, ch in zip(msg["price_changes"], batch, strict=True):
        assert entry["side"] == ("BUY" if ch.side is Side.BUY else "SELL")
        assert entry["best_bid"] == ("0" if ch.best_bid is None else format_decimal(ch.best_bid))
        assert entry["best_ask"] == ("1" if ch.best_ask is None else format_decimal(ch.best_ask))
    if hashes is not None:
        assert [e["hash"] for e in msg["price_changes"]] == hashes
    events, notes = parse(encode_frame(msg))
    assert events == [ms_floor(ch) for ch in batch]
    assert notes == []


@given(changes=st.lists(level_changes() | change_batches(), max_size=6))
def test_group_level_changes_keeps_order_and_merges_runs(
    changes: list[LevelChange | list[LevelChange]],
) -> None:
    stream = [c for item in changes for c in (item if isinstance(item, list) else [item])]
    messages = group_level_changes(stream)
    # one message per maximal run of (market, ms)
    keys = [(c.market, c.ts_exchange_ns // _MS) for c in stream]
    runs = sum(1 for i, k in enumerate(keys) if i == 0 or k != keys[i - 1])
    assert len(messages) == runs
    for msg in messages:
        assert msg["event_type"] == "price_change" and msg["price_changes"]
    assert sum(len(m["price_changes"]) for m in messages) == len(stream)
    events, notes = parse(encode_frame(messages))
    assert events == [ms_floor(c) for c in stream]
    assert notes == []


@given(events=st.lists(feed_events(), max_size=10), as_bytes=st.booleans())
def test_stream_round_trips_through_one_array_frame(
    events: list[MarketEvent], as_bytes: bool
) -> None:
    text = encode_frame(encode_events(events))
    frame = text.encode() if as_bytes else text
    got, notes = parse(frame)
    assert got == [ms_floor(e) for e in events]
    assert Counter(n.reason for n in notes) == expected_notes(events)


@given(events=st.lists(feed_events(complete=True), min_size=1, max_size=10))
def test_parser_reports_no_errors_or_notes_on_encoded_frames(events: list[MarketEvent]) -> None:
    parser = MarketFrameParser()
    got: list[MarketEvent] = []
    for msg in encode_events(events):  # one object frame per message, as live updates come
        got.extend(parser.parse(encode_frame(msg), RECV))
    got.extend(parser.parse(encode_frame(encode_events(events)), RECV))  # and one array frame
    assert parser.error_count == 0 and not parser.rejected
    assert parser.note_count == 0 and not parser.noted
    assert parser.keepalives == 0
    assert got == [ms_floor(e) for e in events] * 2


def test_trade_without_side_or_size_only_costs_the_documented_notes() -> None:
    ev = TradePrint(1_703_875_202_000_000_000, 0, B_YES, MKT_B, None, 0.51, None)
    msg = encode_last_trade(ev)
    assert "side" not in msg and "size" not in msg and "transaction_hash" not in msg
    parser = MarketFrameParser()
    assert parser.parse(encode_frame(msg), RECV) == [ms_floor(ev)]
    assert parser.error_count == 0
    assert parser.notes == Counter({"trade_missing_side": 1, "trade_missing_size": 1})


def test_noisy_prices_come_back_as_the_grid_value() -> None:
    ev = LevelChange(
        1_703_875_201_000_000_000, 0, B_YES, MKT_B, Side.BUY, 57 * 0.01, 0.1 + 0.2, None, 0.58
    )
    entry = encode_price_change([ev])["price_changes"][0]
    assert (entry["price"], entry["size"]) == ("0.57", "0.3")
    (got,), _ = parse(encode_frame(encode_price_change([ev])))
    assert isinstance(got, LevelChange)
    assert (got.price, got.size) == (0.57, 0.3)


# -- the venue's level order -------------------------------------------------------------------


@given(book=books(), data=st.data())
def test_book_levels_are_sent_best_last_whatever_the_event_order(
    book: BookSnapshot, data: st.DataObject
) -> None:
    shuffled = replace(
        book,
        bids=tuple(data.draw(st.permutations(book.bids))),
        asks=tuple(data.draw(st.permutations(book.asks))),
    )
    msg = encode_book(shuffled)
    bid_prices = [float(lv["price"]) for lv in msg["bids"]]
    ask_prices = [float(lv["price"]) for lv in msg["asks"]]
    assert bid_prices == sorted(bid_prices)  # ascending: best bid last
    assert ask_prices == sorted(ask_prices, reverse=True)  # descending: best ask last
    if book.bids:
        assert bid_prices[-1] == book.bids[0][0]
    if book.asks:
        assert ask_prices[-1] == book.asks[0][0]
    assert all(set(lv) == {"price", "size"} for lv in msg["bids"] + msg["asks"])
    assert all(isinstance(v, str) for lv in msg["bids"] + msg["asks"] for v in lv.values())
    assert parse(encode_frame(msg))[0] == [ms_floor(book)]
