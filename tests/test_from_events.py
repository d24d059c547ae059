"""sim.events -> Parquet event rows (sim.marketdata.from_events)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.market_messages import parse_market_frame
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata import Dataset, DatasetWriter, EventKind, asset_table, day_start_ns
from sim.marketdata.columns import EventColumns
from sim.marketdata.from_events import IGNORE_REASONS, RowBuilder, rows_to_events
from sim.marketdata.schema import SIDE_ASK, SIDE_BID, SIDE_NONE
from sim.types import VALID_TICK_SIZES, MarketInfo, Side

FIXTURES = Path(__file__).parent / "fixtures" / "ws_market"

MKT_A = "0x6b3216fdaeeb975729fae923d5a4fd12aabfe228f219e9cb0eb53f16947ccf25"
A_YES = "34860351219264002510127502876930881678393989031736188690584879294552619323435"
A_NO = "511183180510583158009520980060539110451967225853546896107514173838373250748632"
MKT_B = "0xec84d8dbc74254770f58904dba41ecccc3fc1626e53a13043b026c48bbf33fef"
B_YES = "82651803759443294369999944137997843937867091976150297475274571134237382139318"
B_NO = "328834707676642092114016981281024022664500768848761945226071415867967935564017"
MKT_C = "0xf9243a8f506b40928b5b7a767c76fb008f86bebb2737f6a6f0fb23c6f5da2cec"
C_YES = "72607148532682125320735693988242748598151008302008539873409394852366744606640"
C_NO = "575101392757983478598199151932707616678413284224908535505310801888076181774784"

MARKETS = [
    MarketInfo(MKT_A, "A?", A_YES, A_NO, tick_size=0.01, slug="market-a"),
    MarketInfo(MKT_B, "B?", B_YES, B_NO, tick_size=0.001, slug="market-b"),
    MarketInfo(MKT_C, "C?", C_YES, C_NO, tick_size=0.01, slug="market-c"),
]
ASSETS = asset_table(MARKETS)
MARKET_OF = {t: m.condition_id for m in MARKETS for t in (m.yes_token_id, m.no_token_id)}
DAY = dt.date(2026, 1, 2)
T0 = day_start_ns(DAY)


def rows(cols: EventColumns) -> list[tuple[int, int, int, int, int, int, float, float]]:
    return list(
        zip(
            cols.ts_exchange_ns.tolist(),
            cols.ts_recv_ns.tolist(),
            cols.seq.tolist(),
            cols.asset.tolist(),
            cols.kind.tolist(),
            cols.side.tolist(),
            cols.price.tolist(),
            cols.size.tolist(),
            strict=True,
        )
    )


def test_book_snapshot_is_reset_then_levels_best_first() -> None:
    book = BookSnapshot(
        10, 20, A_NO, MKT_A, bids=((0.42, 5.0), (0.41, 6.0)), asks=((0.45, 7.0),), tick_size=0.01
    )
    b = RowBuilder(ASSETS, seq_start=100)
    assert b.append(book) == 4
    cols = b.build()
    assert cols.assets == ASSETS
    assert rows(cols) == [
        (10, 20, 100, 1, EventKind.BOOK_RESET, SIDE_NONE, 0.0, 0.0),
        (10, 20, 101, 1, EventKind.SNAPSHOT_LEVEL, SIDE_BID, 0.42, 5.0),
        (10, 20, 102, 1, EventKind.SNAPSHOT_LEVEL, SIDE_BID, 0.41, 6.0),
        (10, 20, 103, 1, EventKind.SNAPSHOT_LEVEL, SIDE_ASK, 0.45, 7.0),
    ]


def test_empty_book_is_just_a_reset() -> None:
    b = RowBuilder(ASSETS)
    assert b.append(BookSnapshot(1, 2, A_YES, MKT_A, (), ())) == 1
    assert rows(b.build()) == [(1, 2, 0, 0, EventKind.BOOK_RESET, 0, 0.0, 0.0)]


def test_each_event_kind_maps_to_its_rows() -> None:
    b = RowBuilder(ASSETS)
    counts = [
        b.append(LevelChange(1, 11, A_YES, MKT_A, Side.BUY, 0.4, 0.0, 0.39, 0.41)),
        b.append(LevelChange(2, 12, A_YES, MKT_A, Side.SELL, 0.5, 3.5)),
        b.append(TradePrint(3, 13, B_NO, MKT_B, Side.SELL, 0.123, 9.0, 1000.0)),
        b.append(TradePrint(4, 14, B_NO, MKT_B, Side.BUY, 0.124, 1.0)),
        b.append(TickSizeChange(5, 15, B_YES, MKT_B, 0.001, 0.01)),
        b.append(BestBidAsk(6, 16, A_YES, MKT_A, 0.39, 0.41)),
        b.append(MarketResolved(7, 17, MKT_C, (C_YES, C_NO), C_NO)),
        b.append(ConnectionState(8, 18, connected=False, reason="socket closed")),
        b.append(ConnectionState(9, 19, connected=True)),
    ]
    assert counts == [1, 1, 1, 1, 1, 0, 2, 1, 1]
    assert len(b) == 9 and b.next_seq == 9
    assert rows(b.build()) == [
        (1, 11, 0, 0, EventKind.LEVEL_CHANGE, SIDE_BID, 0.4, 0.0),
        (2, 12, 1, 0, EventKind.LEVEL_CHANGE, SIDE_ASK, 0.5, 3.5),
        (3, 13, 2, 3, EventKind.TRADE, SIDE_ASK, 0.123, 9.0),
        (4, 14, 3, 3, EventKind.TRADE, SIDE_BID, 0.124, 1.0),
        (5, 15, 4, 2, EventKind.TICK_SIZE, SIDE_NONE, 0.01, 0.001),
        (7, 17, 5, 4, EventKind.RESOLVED, SIDE_NONE, 0.0, 0.0),
        (7, 17, 6, 5, EventKind.RESOLVED, SIDE_NONE, 1.0, 0.0),
        (8, 18, 7, -1, EventKind.CONNECTION, 0, 0.0, 0.0),
        (9, 19, 8, -1, EventKind.CONNECTION, 1, 0.0, 0.0),
    ]


def test_unknown_asset_is_a_clear_error_and_adds_nothing() -> None:
    b = RowBuilder(ASSETS[:4])
    b.append(TradePrint(1, 1, A_YES, MKT_A, Side.BUY, 0.5, 1.0))
    with pytest.raises(ValueError, match=C_YES):
        b.append(MarketResolved(2, 2, MKT_C, (A_YES, C_YES), A_YES))  # second asset unknown
    with pytest.raises(ValueError, match=C_NO):
        b.append(BestBidAsk(3, 3, C_NO, MKT_C, None, None))
    with pytest.raises(ValueError, match=C_NO):
        b.append(BookSnapshot(3, 3, C_NO, MKT_C, ((0.5, 1.0),), ()))
    assert len(b) == 1 and b.next_seq == 1


def test_not_an_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="dict"):
        RowBuilder(ASSETS).append({"event_type": "book"})  # type: ignore[arg-type]


def test_duplicate_asset_table_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RowBuilder((A_YES, A_YES))


def test_flush_keeps_seq_counting() -> None:
    b = RowBuilder(ASSETS, seq_start=7)
    b.extend([ConnectionState(1, 1, True), TradePrint(2, 2, A_YES, MKT_A, Side.BUY, 0.5, 1.0)])
    first = b.flush()
    assert first.seq.tolist() == [7, 8]
    assert len(b) == 0 and len(b.build()) == 0
    b.append(BookSnapshot(3, 3, A_YES, MKT_A, ((0.5, 1.0),), ((0.6, 2.0),)))
    assert b.flush().seq.tolist() == [9, 10, 11]
    assert b.next_seq == 12


def test_build_has_the_on_disk_dtypes() -> None:
    b = RowBuilder(ASSETS)
    cols = b.build()
    assert len(cols) == 0
    b.append(TradePrint(1, 1, A_YES, MKT_A, Side.BUY, 0.5, 1.0))
    cols = b.build()
    assert cols.seq.dtype == np.int64 and cols.kind.dtype == np.uint8
    assert cols.side.dtype == np.int8 and cols.asset.dtype == np.int32


def test_fixture_stream_written_and_read_back_through_a_dataset(tmp_path: Path) -> None:
    """What a recorder would do: parse frames, build rows, write a day file, read it back."""
    names = [
        "initial_dump.json",
        "price_change.json",
        "price_change_one_sided.json",
        "last_trade_price.json",
        "tick_size_change.json",
        "best_bid_ask.json",
        "market_resolved.json",
    ]
    b = RowBuilder(ASSETS)
    events: list[MarketEvent] = [ConnectionState(T0, T0, True, "subscribed")]
    for i, name in enumerate(names, start=1):
        events += parse_market_frame((FIXTURES / name).read_text(), T0 + i * 1_000_000)
    events.append(ConnectionState(T0 + 10**9, T0 + 10**9, False, "closed"))
    b.extend(events)
    cols = b.flush()
    writer = DatasetWriter(tmp_path / "ds", MARKETS, {"source": "test"})
    writer.write_day(DAY, "all", cols)  # validates every row on the way out
    (batch,) = list(Dataset.open(tmp_path / "ds").iter_days())
    assert batch.events.equals(cols)
    kinds = batch.events.kind.tolist()
    assert kinds.count(EventKind.BOOK_RESET) == 3
    assert kinds.count(EventKind.SNAPSHOT_LEVEL) == 10
    assert kinds.count(EventKind.RESOLVED) == 2
    assert kinds.count(EventKind.CONNECTION) == 2
    back = rows_to_events(batch.events, MARKETS)
    assert back == [normalize(e) for e in events if not isinstance(e, BestBidAsk)]


def test_rows_to_events_refuses_orphan_snapshot_level() -> None:
    b = RowBuilder(ASSETS)
    b.append(BookSnapshot(1, 1, A_YES, MKT_A, ((0.5, 1.0),), ()))
    cols = b.build().take(np.array([1]))
    with pytest.raises(ValueError, match="BOOK_RESET"):
        rows_to_events(cols)


def test_rows_to_events_without_markets_leaves_market_empty() -> None:
    b = RowBuilder(ASSETS)
    b.append(TradePrint(1, 1, A_YES, MKT_A, Side.SELL, 0.5, 1.0))
    (ev,) = rows_to_events(b.build())
    assert ev == TradePrint(1, 1, A_YES, "", Side.SELL, 0.5, 1.0)


# -- property: row counts and kinds match the events; the reverse recovers them ----------------

ts_st = st.integers(0, 2**62)
price_st = st.integers(1, 999).map(lambda k: k / 1000)
size_st = st.integers(0, 10**9).map(lambda c: c / 100)
top_st = st.none() | price_st
asset_st = st.sampled_from(ASSETS)
side_st = st.sampled_from([Side.BUY, Side.SELL])


@st.composite
def events_st(draw: st.DrawFn) -> MarketEvent:
    ex, rv = draw(ts_st), draw(ts_st)
    asset = draw(asset_st)
    market = MARKET_OF[asset]
    kind = draw(st.sampled_from(["book", "lc", "trade", "tick", "bba", "res", "conn"]))
    if kind == "book":
        prices = draw(st.lists(st.integers(1, 999), unique=True, max_size=10))
        split = draw(st.integers(0, len(prices)))
        bids = tuple((p / 1000, draw(size_st)) for p in sorted(prices[:split], reverse=True))
        asks = tuple((p / 1000, draw(size_st)) for p in sorted(prices[split:]))
        return BookSnapshot(ex, rv, asset, market, bids, asks, draw(st.none() | price_st), "h")
    if kind == "lc":
        return LevelChange(
            ex,
            rv,
            asset,
            market,
            draw(side_st),
            draw(price_st),
            draw(size_st),
            *draw(st.tuples(top_st, top_st)),
        )
    if kind == "trade":
        fee = float(draw(st.integers(0, 500)))
        side, size = draw(st.none() | side_st), draw(st.none() | size_st)
        tx = draw(st.sampled_from(["", "0x1f32"]))
        return TradePrint(ex, rv, asset, market, side, draw(price_st), size, fee, tx)
    if kind == "tick":
        old, new = draw(st.sampled_from(VALID_TICK_SIZES)), draw(st.sampled_from(VALID_TICK_SIZES))
        return TickSizeChange(ex, rv, asset, market, old, new)
    if kind == "bba":
        return BestBidAsk(ex, rv, asset, market, draw(top_st), draw(top_st))
    if kind == "res":
        m = next(m for m in MARKETS if m.condition_id == market)
        pair = (m.yes_token_id, m.no_token_id)
        return MarketResolved(ex, rv, market, pair, draw(st.sampled_from(pair)))
    return ConnectionState(ex, rv, draw(st.booleans()), draw(st.text(max_size=5)))


def expected_rows(ev: MarketEvent) -> list[EventKind]:
    if isinstance(ev, BookSnapshot):
        return [EventKind.BOOK_RESET] + [EventKind.SNAPSHOT_LEVEL] * (len(ev.bids) + len(ev.asks))
    if isinstance(ev, MarketResolved):
        return [EventKind.RESOLVED] * len(ev.asset_ids)
    return {
        LevelChange: [EventKind.LEVEL_CHANGE],
        TradePrint: [EventKind.TRADE],
        TickSizeChange: [EventKind.TICK_SIZE],
        BestBidAsk: [],
        ConnectionState: [EventKind.CONNECTION],
    }[type(ev)]


def normalize(ev: MarketEvent) -> MarketEvent:
    """``ev`` with the fields the row format does not keep set to their defaults."""
    if isinstance(ev, BookSnapshot):
        return dataclasses.replace(ev, tick_size=None, hash="")
    if isinstance(ev, LevelChange):
        return dataclasses.replace(ev, best_bid=None, best_ask=None)
    if isinstance(ev, TradePrint):
        # a size of 0 is stored as "unknown" (0.0) and comes back as None
        size = None if ev.size == 0.0 else ev.size
        return dataclasses.replace(ev, size=size, fee_rate_bps=0.0, transaction_hash="")
    if isinstance(ev, ConnectionState):
        return dataclasses.replace(ev, reason="")
    return ev


def separated(events: list[MarketEvent]) -> bool:
    """No two resolutions of one market back to back with equal timestamps (they would merge)."""
    return not any(
        isinstance(a, MarketResolved)
        and isinstance(b, MarketResolved)
        and (a.market, a.ts_exchange_ns, a.ts_recv_ns) == (b.market, b.ts_exchange_ns, b.ts_recv_ns)
        for a, b in itertools.pairwise(events)
    )


@settings(max_examples=200, deadline=None)
@given(events=st.lists(events_st(), max_size=20), seq_start=st.integers(-(2**40), 2**40))
def test_rows_match_events_and_reverse(events: list[MarketEvent], seq_start: int) -> None:
    b = RowBuilder(ASSETS, seq_start=seq_start)
    per_event = [b.append(e) for e in events]
    cols = b.build()
    want = [k for e in events for k in expected_rows(e)]
    assert per_event == [len(expected_rows(e)) for e in events]
    assert cols.kind.tolist() == [int(k) for k in want]
    assert cols.seq.tolist() == list(range(seq_start, seq_start + len(want)))
    assert b.next_seq == seq_start + len(want)
    # every row carries its event's timestamps, in event order
    stamps = [(e.ts_exchange_ns, e.ts_recv_ns) for e in events for _ in expected_rows(e)]
    assert list(zip(cols.ts_exchange_ns.tolist(), cols.ts_recv_ns.tolist(), strict=True)) == stamps
    assert ((cols.asset == -1) == (cols.kind == EventKind.CONNECTION)).all()
    if separated(events):
        kept = [normalize(e) for e in events if not isinstance(e, BestBidAsk)]
        assert rows_to_events(cols, MARKETS) == kept


# -- trades whose taker side or size the venue did not say -------------------------------------


def test_unknown_trade_side_and_size_are_stored_as_zero_and_read_back_as_none() -> None:
    b = RowBuilder(ASSETS)
    b.append(TradePrint(1, 11, A_YES, MKT_A, None, 0.5, 3.0))
    b.append(TradePrint(2, 12, A_YES, MKT_A, Side.SELL, 0.5, None))
    b.append(TradePrint(3, 13, A_YES, MKT_A, None, 0.5, None, 0.0, "0x1f32"))
    cols = b.build()
    assert rows(cols) == [
        (1, 11, 0, 0, EventKind.TRADE, SIDE_NONE, 0.5, 3.0),
        (2, 12, 1, 0, EventKind.TRADE, SIDE_ASK, 0.5, 0.0),
        (3, 13, 2, 0, EventKind.TRADE, SIDE_NONE, 0.5, 0.0),
    ]
    assert rows_to_events(cols, MARKETS) == [
        TradePrint(1, 11, A_YES, MKT_A, None, 0.5, 3.0),
        TradePrint(2, 12, A_YES, MKT_A, Side.SELL, 0.5, None),
        TradePrint(3, 13, A_YES, MKT_A, None, 0.5, None),  # transaction_hash is not stored
    ]


def test_parsed_sideless_trade_goes_through_the_validating_writer(tmp_path: Path) -> None:
    msg = {
        "event_type": "last_trade_price",
        "asset_id": A_YES,
        "market": MKT_A,
        "price": "0.45",
        "timestamp": "1767312003017",
    }
    events = parse_market_frame(msg, T0 + 5)
    b = RowBuilder(ASSETS)
    b.extend(events)
    cols = b.flush()
    DatasetWriter(tmp_path / "ds", MARKETS, {}).write_day(DAY, "a", cols)
    (batch,) = list(Dataset.open(tmp_path / "ds").iter_days())
    (back,) = rows_to_events(batch.events, MARKETS)
    assert (back.side, back.size, back.price) == (None, None, 0.45)


# -- unknown markets and assets: skipped per event by extend, never per batch ------------------


def test_extend_skips_unknown_assets_and_keeps_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    b = RowBuilder(ASSETS[:4])  # markets A and B only
    batch = [
        TradePrint(1, 1, A_YES, MKT_A, Side.BUY, 0.5, 1.0),
        MarketResolved(2, 2, MKT_C, (C_YES, C_NO), C_NO),  # announced to every connection
        LevelChange(3, 3, C_YES, MKT_C, Side.BUY, 0.4, 1.0),
        BestBidAsk(4, 4, C_NO, MKT_C, 0.4, 0.5),
        BookSnapshot(5, 5, C_YES, MKT_C, ((0.4, 2.0),), ()),
        ConnectionState(6, 6, False, "closed"),
        TradePrint(7, 7, B_NO, MKT_B, Side.SELL, 0.5, 2.0),
    ]
    with caplog.at_level(logging.INFO, logger="sim.marketdata.from_events"):
        assert b.extend(batch) == 3
    assert [r[3:5] for r in rows(b.build())] == [
        (0, EventKind.TRADE),
        (-1, EventKind.CONNECTION),
        (3, EventKind.TRADE),
    ]
    assert b.ignored == {"unknown_market": 1, "unknown_asset": 3}
    assert set(b.ignored) <= IGNORE_REASONS
    # one warning per distinct asset, however many events name it
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2
    assert C_YES in warned[0] and "unknown_market" in warned[0]
    assert C_NO in warned[1]
    b.extend([LevelChange(8, 8, C_YES, MKT_C, Side.SELL, 0.6, 1.0)])
    assert len(caplog.records) == 2 and b.ignored["unknown_asset"] == 4


def test_extend_writes_the_known_asset_of_a_partly_known_resolution() -> None:
    b = RowBuilder((*ASSETS[:4], C_YES))  # C's NO token is not in the table
    assert b.extend([MarketResolved(2, 2, MKT_C, (C_YES, C_NO), C_NO)]) == 1
    assert rows(b.build()) == [(2, 2, 0, 4, EventKind.RESOLVED, SIDE_NONE, 0.0, 0.0)]
    assert b.ignored == {"unknown_asset": 1}


def test_append_still_raises_for_an_unknown_asset() -> None:
    b = RowBuilder(ASSETS[:4])
    with pytest.raises(ValueError, match=C_YES):
        b.append(MarketResolved(2, 2, MKT_C, (C_YES, C_NO), C_NO))
    with pytest.raises(ValueError, match=C_NO):
        b.append(BestBidAsk(3, 3, C_NO, MKT_C, None, None))
    assert not b.ignored and len(b) == 0
