"""Capture (raw market-channel frames, JSON lines) + Gamma JSON -> Parquet dataset.

``live.capture_import`` (the import): round trip, every real-feed case, unknown
markets, days, end to end. Bad input and receive order are in
``test_capture_import_bad_input.py``; the capture format (``live.capture``) and
Gamma metadata (``live.gamma``) in ``test_capture_import_inputs.py``. Fixtures:
``tests/fixtures/capture/`` (README.md there).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np

from live.capture_import import import_capture
from live.gamma import load_markets
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata import Dataset, EventKind, day_start_ns
from tests.test_capture_import_helpers import (
    BTC,
    BTC_DOWN,
    BTC_SLUG,
    BTC_UP,
    DAY,
    ETH,
    ETH_DOWN,
    ETH_SLUG,
    ETH_UP,
    FIXTURES,
    GAMMA,
    MIDNIGHT_MS,
    OTHER,
    OTHER_NO,
    OTHER_YES,
    all_rows,
    book,
    btc_books,
    direct_events,
    imported_events,
    norm,
    ns,
    price_change,
    replay,
    resolved,
    run,
    tick_change,
    trade,
    write_capture,
)

# -- round trip ---------------------------------------------------------------------------------


def test_roundtrip_fixture_covers_every_message_kind() -> None:
    """The round-trip capture holds what the round-trip test claims to exercise."""
    events = direct_events(FIXTURES / "roundtrip.jsonl")
    books = {e.asset_id for e in events if isinstance(e, BookSnapshot)}
    assert books == {BTC_UP, BTC_DOWN, ETH_UP, ETH_DOWN}
    changes = [e for e in events if isinstance(e, LevelChange)]
    assert {BTC_UP, BTC_DOWN} <= {e.asset_id for e in changes}
    assert any(e.size == 0.0 for e in changes)  # a level removed
    assert {BTC_UP, BTC_DOWN} <= {e.asset_id for e in events if isinstance(e, TradePrint)}
    assert any(isinstance(e, TickSizeChange) for e in events)
    assert [e.connected for e in events if isinstance(e, ConnectionState)] == [True, False, True]
    drop = next(
        i for i, e in enumerate(events) if isinstance(e, ConnectionState) and not e.connected
    )
    assert {e.asset_id for e in events[drop:] if isinstance(e, BookSnapshot)} == books
    assert any(isinstance(e, MarketResolved) for e in events)
    assert any(isinstance(e, BestBidAsk) for e in events)


def test_roundtrip_books_equal_direct_parse(tmp_path: Path) -> None:
    capture = FIXTURES / "roundtrip.jsonl"
    out = tmp_path / "ds"
    report = run(capture, out)
    assert report.ok, report.lines()
    assert (report.frames, report.connection_changes, report.keepalives) == (14, 3, 0)
    assert report.rejected == {} and report.ignored == {} and report.capture_issues == {}
    assert report.days == (DAY,)

    direct = direct_events(capture)
    ds, imported = imported_events(out)
    assert ds.markets == load_markets([GAMMA])
    # the same events, in the same order, as far as the format keeps them
    assert [n for n in map(norm, imported)] == [n for n in map(norm, direct) if n is not None]
    final = replay(imported)
    assert final == replay(direct)
    # and the books are not trivially equal: the last snapshot plus the trades' changes
    assert final[ETH_UP] == ({0.97: 500.0, 0.981: 40.0}, {0.999: 9000.0})
    assert final[BTC_UP] == ({0.5: 380.0, 0.51: 60.0}, {0.54: 300.0, 0.53: 75.0})
    assert sum(len(b) + len(a) for b, a in final.values()) == 4 + 4 + 3 + 3

    rows = all_rows(ds)
    assert report.rows == len(rows["seq"]) == 65
    assert sorted(rows["seq"].tolist()) == list(range(65))  # one seq per row, dataset-wide
    names = sorted(p.name for p in report.files)
    assert names == ["market=_feed.parquet", f"market={BTC_SLUG}.parquet",
                     f"market={ETH_SLUG}.parquet"]  # fmt: skip


def test_gzip_capture_imports_the_same_rows(tmp_path: Path) -> None:
    plain = FIXTURES / "roundtrip.jsonl"
    packed = tmp_path / "roundtrip.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a = run(plain, tmp_path / "a")
    b = run(packed, tmp_path / "b")
    assert a.rows == b.rows == 65
    for fa, fb in zip(a.files, b.files, strict=True):
        ta, tb = Dataset.open(a.out).read_file(fa), Dataset.open(b.out).read_file(fb)
        assert ta.equals(tb)


# -- every real-feed case ---------------------------------------------------------------------


def test_every_case_counts_per_reason(tmp_path: Path) -> None:
    """tests/fixtures/capture/every_case.jsonl, cases (a)-(l) of its README."""
    report = run(FIXTURES / "every_case.jsonl", tmp_path / "ds")
    assert report.capture_lines == 23
    assert report.frames == 20
    assert report.keepalives == 1  # (k)
    assert report.connection_changes == 3
    assert report.capture_issues == {}
    assert report.rejected == {
        "user_channel_message": 1,  # (g)
        "implausible_timestamp": 1,  # (h)
        "bad_number": 1,  # (l) the print with price "0.97.5"
        "missing_field": 1,  # (l) the book without asset_id
    }
    assert report.notes == {
        "entry_missing_size": 1,  # (d)
        "trade_missing_side": 1,  # (e)
        "trade_missing_size": 1,  # (e)
        "duplicate_level": 1,  # (i)
        "zero_size_level": 1,  # (i)
        "crossed_book": 1,  # (i)
    }
    assert report.ignored == {"unknown_market": 1}  # (j)
    assert report.messages == 24
    assert report.events == 27
    assert report.rows == 77
    assert report.ok, report.lines()
    by_reason = {r: n for n, r, _ in report.examples}
    assert by_reason == {"user_channel_message": 13, "implausible_timestamp": 14,
                         "bad_number": 16, "missing_field": 16}  # fmt: skip

    ds = Dataset.open(report.out)
    rows = all_rows(ds)
    btc_up = ds.asset_index[BTC_UP]
    trade_rows = (rows["kind"] == EventKind.TRADE) & (rows["asset"] == btc_up)
    # (e) the print without side/size is kept as side 0, size 0 (the format's "unknown")
    assert ((rows["side"] == 0) & trade_rows).sum() == 1
    # (f) the flat 2024 price_change is a level change at 0.48 x 95 on the bid side
    flat = (rows["kind"] == EventKind.LEVEL_CHANGE) & (rows["asset"] == btc_up)
    assert (
        (rows["price"] == 0.48) & (rows["size"] == 95.0) & (rows["side"] == 1) & flat
    ).sum() == 1
    # (c) two NO prints, neither the mirror of the YES print
    no_trades = (rows["kind"] == EventKind.TRADE) & (rows["asset"] == ds.asset_index[BTC_DOWN])
    assert sorted(zip(rows["price"][no_trades].tolist(), rows["size"][no_trades].tolist(),
                      strict=True)) == [(0.47, 12.5), (0.48, 7.0)]  # fmt: skip
    # (j) only the BTC resolution was written
    assert (rows["kind"] == EventKind.RESOLVED).sum() == 2
    # (a) the book stamped 30 ms before the print is stored as sent; replay clamps it
    (batch,) = list(ds.iter_days())
    assert len(batch.events) == 77
    assert batch.repairs.get("exchange_time_clamped", 0) > 0
    assert batch.repairs.get("mirrored_trade", 0) == 0


# -- markets outside the Gamma files -----------------------------------------------------------


def test_resolution_of_an_unknown_market_does_not_cost_the_batch(tmp_path: Path) -> None:
    t = 1768485600000
    frame = [
        resolved(OTHER, OTHER_YES, OTHER_NO, OTHER_YES, t),
        trade(BTC_UP, t, "0.51", "BUY", "9"),
        trade(OTHER_NO, t, "0.2", "BUY", "9", market=OTHER),
        resolved(BTC, BTC_UP, BTC_DOWN, BTC_DOWN, t + 1),
    ]
    report = run(write_capture(tmp_path / "c.jsonl", [("frame", ns(t), frame)]), tmp_path / "ds")
    assert report.ignored == {"unknown_market": 1, "unknown_asset": 1}
    assert report.rows == 1 + 2
    _, events = imported_events(report.out)
    assert [type(e) for e in events] == [TradePrint, MarketResolved]
    assert events[1].winning_asset_id == BTC_DOWN


# -- days ---------------------------------------------------------------------------------------


def test_multi_day_capture_splits_into_day_folders(tmp_path: Path) -> None:
    t = MIDNIGHT_MS - 1_500
    eth = [
        book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH),
        book(ETH_DOWN, t, [("0.02", "50")], [("0.04", "100")], market=ETH),
    ]
    records = [
        ("conn", ns(t - 1000, 0), True, "subscribed"),
        ("frame", ns(t), btc_books(t) + eth),
        ("frame", ns(t + 500), [tick_change(ETH_UP, t + 500, "0.01", "0.001"),
                                tick_change(ETH_DOWN, t + 500, "0.01", "0.001")]),
        ("frame", ns(t + 1_200), trade(BTC_UP, t + 1_200, "0.51", "BUY", "10")),
        # day 2: a sub-cent price, on the tick changed the day before
        ("frame", ns(t + 1_600), price_change(t + 1_600, (ETH_UP, "0.975", "30", "BUY"),
                                              (ETH_DOWN, "0.025", "30", "SELL"), market=ETH)),
        ("conn", ns(t + 2_000, 0), False, "connection closed: 1006"),
        ("conn", ns(t + 2_400_000, 0), True, "reconnected"),  # 40 min into day 2
        ("frame", ns(t + 2_400_100), btc_books(t + 2_400_100)),
    ]  # fmt: skip
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds")
    day2 = DAY + dt.timedelta(days=1)
    assert report.days == (DAY, day2)
    assert report.ok
    ds = Dataset.open(report.out)
    assert ds.days() == [DAY, day2]
    names = ["market=_feed.parquet", f"market={BTC_SLUG}.parquet", f"market={ETH_SLUG}.parquet"]
    assert [f.name for f in ds.day_files(DAY)] == names
    assert [f.name for f in ds.day_files(day2)] == names
    batches = list(ds.iter_days())
    for batch in batches:
        lo = day_start_ns(batch.day)
        assert (
            (batch.events.ts_recv_ns >= lo) & (batch.events.ts_recv_ns < lo + 86_400 * 10**9)
        ).all()
    seqs = np.concatenate([b.events.seq for b in batches])
    assert (np.diff(seqs) > 0).all()  # seq increases across the dataset
    # day 1: connection, 2 BTC books (1 + 4 rows), 2 ETH books (1 + 2), 2 ticks, a print;
    # day 2: the price change, drop + reconnect, 2 BTC books
    assert [len(b.events) for b in batches] == [1 + 10 + 6 + 2 + 1, 2 + 2 + 10]
    assert ds.markets[1].tick_size == 0.01  # the tick at the start of the data


def test_initial_tick_comes_from_the_capture_not_later_gamma(tmp_path: Path) -> None:
    """Gamma fetched after a tick change says 0.001; the capture starts on 0.01."""
    gamma = json.loads(GAMMA.read_text())
    gamma[1]["orderPriceMinTickSize"] = 0.001
    gamma_path = tmp_path / "gamma.json"
    gamma_path.write_text(json.dumps(gamma))
    t = 1768485600000
    records = [
        ("frame", ns(t), book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH)),
        ("frame", ns(t + 5), tick_change(ETH_UP, t + 5, "0.01", "0.001")),
    ]
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds", [gamma_path])
    assert Dataset.open(report.out).markets[1].tick_size == 0.01
    assert report.notes == {"initial_tick_from_capture": 1}
    assert any("eth-updown-15m" in n and "0.01" in n for n in report.market_notes)


def test_a_book_on_another_tick_gets_the_missed_tick_change(tmp_path: Path) -> None:
    t = 1768485600000
    records = [
        ("frame", ns(t), book(ETH_UP, t, [("0.96", "100")], [("0.98", "50")], market=ETH)),
        ("conn", ns(t + 10, 0), False, "closed"),
        ("conn", ns(t + 20, 0), True, "reconnected"),
        # the tick changed while disconnected: only the fresh book says so
        ("frame", ns(t + 30), book(ETH_UP, t + 30, [("0.975", "100")], [("0.982", "50")],
                                   market=ETH, tick="0.001")),
    ]  # fmt: skip
    report = run(write_capture(tmp_path / "c.jsonl", records), tmp_path / "ds")
    assert report.notes == {"tick_size_from_book": 1}
    _, events = imported_events(report.out)
    ticks = [e for e in events if isinstance(e, TickSizeChange)]
    assert [(e.asset_id, e.old_tick_size, e.new_tick_size) for e in ticks] == [
        (ETH_UP, 0.01, 0.001)
    ]


# -- end to end: import, check, replay ----------------------------------------------------------


def test_every_case_capture_checks_clean_and_replays(tmp_path: Path) -> None:
    """Issue 10's end-to-end case: import, check (repairs counted, no errors), replay."""
    from exchange_mock import Backtest
    from sim.marketdata.check import check_dataset
    from sim.risk import RiskConfig
    from sim.strategy import Strategy

    out = tmp_path / "ds"
    report = import_capture(FIXTURES / "every_case.jsonl", [FIXTURES / "gamma_markets.json"], out)
    assert report.ok
    found = check_dataset(out)
    assert found.ok, found.lines()
    repairs = found.counts("repair")
    assert repairs["exchange_time_clamped"] > 0 and repairs["trade_side_unknown"] == 1
    assert "mirrored_trade" not in repairs  # the Down prints are independent flow
    assert found.counts("note")["snapshot_pairs_apart"] == 1

    class Watch(Strategy):
        def on_start(self, ctx):
            self.prints = []

        def on_trade(self, ctx, trade):
            self.prints.append((trade.asset_id, trade.side, trade.size))

    watch = Watch()
    result = Backtest(
        strategy=watch, data=out, cash_usdc=100.0, risk=RiskConfig(enabled=False)
    ).run()
    assert result.error is None
    assert int(result.summary["Events"]) == report.rows
    assert "exchange_time_clamped" in result.summary["Data repairs"]
    gamma = load_markets([FIXTURES / "gamma_markets.json"])
    btc = next(m for m in gamma if m.slug.startswith("btc"))
    down = [p for p in watch.prints if p[0] == btc.no_token_id]
    assert len(down) >= 2  # Down prints reach the strategy too
    assert (btc.yes_token_id, None, None) in watch.prints  # the print without side/size
