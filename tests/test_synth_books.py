"""Books and trades of the synthetic recording generator (exchange_mock.synth),
replayed into the tiny pure-Python books of ``test_synth.py``: the behaviour the
calibration promises (issue 10): mirrored YES/NO books that never cross, prints on
one token, NO prints independent of YES prints, a book per token after each trade,
books that may trail their trade by 28-37 ms, small and whole-share prints; windows
opening at 0.50/0.51, the one-way tick switch, resolutions, files across midnight.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from exchange_mock.synth import SynthSummary, generate_dataset
from sim.marketdata import Dataset, day_start_ns
from sim.marketdata.replay_rules import mirrored_trades
from tests.test_synth import (
    CRYPTO,
    EVENTS,
    LC,
    RESET,
    RESOLVED,
    SNAP,
    TICK,
    TRADE,
    Book,
    Row,
    all_market_rows,
    day_events,
    market_rows,
    messages,
    synth_dataset,
    token_book,
)


@pytest.fixture(scope="module")
def crypto(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    return synth_dataset(CRYPTO, "crypto", tmp_path_factory)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    return synth_dataset(EVENTS, "events", tmp_path_factory)


# ---------------------------------------------------------------------------------------
# books
# ---------------------------------------------------------------------------------------
def test_yes_and_no_books_mirror_and_never_cross(crypto, events) -> None:
    pair_checks = 0
    for path in (crypto[0], events[0]):
        for m, rows in all_market_rows(path):
            yes, no = Book(), Book()
            last_book: tuple[int, int] | None = None  # (asset, exchange time) of the last book
            for msg in messages(rows):
                for r in msg:
                    (yes if r.asset == 2 * m else no).apply(r.kind, r.side, r.price, r.size)
                    ay, an = yes.best_ask(), no.best_ask()
                    if ay is not None and an is not None:
                        assert ay + an >= 1.0 - 1e-9
                    by, bn = yes.best_bid(), no.best_bid()
                    if by is not None and bn is not None:
                        assert by + bn <= 1.0 + 1e-9
                # a price_change carries both tokens: every YES level row has its NO mirror
                mirror = sorted(
                    (-r.side, round(1.0 - r.price, 6), r.size)
                    for r in msg
                    if r.asset == 2 * m and r.kind == LC
                )
                no_rows = sorted(
                    (r.side, round(r.price, 6), r.size)
                    for r in msg
                    if r.asset == 2 * m + 1 and r.kind == LC
                )
                assert mirror == no_rows
                # the two books of one update are exact mirrors (issue 10)
                asset = token_book(msg)
                if asset is None:
                    last_book = None
                    continue
                if last_book is not None and last_book == (asset ^ 1, msg[0].ex):
                    assert (no.bids, no.asks) == yes.mirrored()
                    pair_checks += 1
                last_book = (asset, msg[0].ex)
    assert pair_checks > 1000


def test_each_print_is_one_token_and_no_prints_are_not_mirrors(crypto, events) -> None:
    for path in (crypto[0], events[0]):
        no_prints = yes_prints = 0
        for _, cols in day_events(path):
            trades = cols.kind == TRADE
            no_prints += int(np.count_nonzero(trades & (cols.asset % 2 == 1)))
            yes_prints += int(np.count_nonzero(trades & (cols.asset % 2 == 0)))
            assert not mirrored_trades(cols).any()
        assert no_prints > 100 and yes_prints > 100
        assert 0.3 < no_prints / (no_prints + yes_prints) < 0.6
        for _, rows in all_market_rows(path):
            for msg in messages(rows):
                assert len({r.asset for r in msg if r.kind == TRADE}) <= 1


def test_trades_deplete_the_levels_they_hit_and_books_follow(crypto, events) -> None:
    """A print takes an existing level of its token's book, no larger than the level;
    the next books show that level reduced by the print, one book per token."""
    checked = followed = trade_msgs = 0
    for path in (crypto[0], events[0]):
        for m, rows in all_market_rows(path):
            book = {2 * m: Book(), 2 * m + 1: Book()}
            msgs = list(messages(rows))
            for n, msg in enumerate(msgs):
                prints = [r for r in msg if r.kind == TRADE]
                expect: dict[tuple[int, float], float] = {}
                # row by row: a maker message and a trade can share both timestamps
                for r in msg:
                    b = book[r.asset]
                    if r.kind != TRADE:
                        b.apply(r.kind, r.side, r.price, r.size)
                        continue
                    levels = b.asks if r.side == 1 else b.bids
                    key = (r.asset, round(r.price, 6))
                    level = expect.get(key, levels.get(key[1]))
                    assert level is not None and level >= r.size - 1e-9
                    expect[key] = level - r.size
                if not prints or msg[-1].kind != TRADE:
                    continue
                trade_msgs += 1
                after = msgs[n + 1 : n + 3]
                tokens = [token_book(x) for x in after]
                if sorted(t for t in tokens if t is not None) != [2 * m, 2 * m + 1]:
                    continue  # lost in a feed gap, or after the window's feed closed
                followed += 1
                assert all(0 <= prints[0].ex - x[0].ex <= 37_000_000 for x in after)
                for x in after:
                    book[x[0].asset].apply(RESET, 0, 0.0, 0.0)
                    for r in x[1:]:
                        book[r.asset].apply(r.kind, r.side, r.price, r.size)
                for (asset, price), left in expect.items():
                    b = book[asset]
                    side = b.asks if prints[0].side == 1 else b.bids
                    assert side.get(price, 0.0) == pytest.approx(max(left, 0.0), abs=0.011)
                    checked += 1
    assert checked > 1000
    assert followed > 0.95 * trade_msgs


def test_print_sizes_include_small_whole_and_fractional_shares(crypto, events) -> None:
    for path in (crypto[0], events[0]):
        sizes = np.concatenate([cols.size[cols.kind == TRADE] for _, cols in day_events(path)])
        whole = np.abs(sizes - np.rint(sizes)) < 1e-9
        assert (sizes > 0).all()
        assert 0.05 < np.mean(sizes < 5.0) < 0.3  # market orders and residuals (issue 10)
        assert 0.4 < np.mean(whole) < 0.8  # most orders are in whole shares
        assert np.median(sizes) < np.quantile(sizes, 0.9) / 3  # a long tail of large prints


def test_books_can_trail_their_trade_and_the_knob_turns_it_off(crypto, tmp_path: Path) -> None:
    """Exchange time steps back only on a book following a trade, by 28-37 ms."""
    steps = 0
    for _, rows in all_market_rows(crypto[0]):
        top: dict[int, int] = {}
        for r in rows:
            if r.ex < top.get(r.asset, r.ex):
                assert r.kind in (RESET, SNAP)
                assert 28_000_000 <= top[r.asset] - r.ex <= 37_000_000
                steps += r.kind == RESET
            top[r.asset] = max(top.get(r.asset, r.ex), r.ex)
    assert steps > 10
    off = dataclasses.replace(CRYPTO, days=1, feed_gaps_per_day=0.0, exchange_time_backsteps=False)
    out = tmp_path / "off"
    generate_dataset(off, out)
    for _, cols in day_events(out):
        for a in np.unique(cols.asset[cols.asset >= 0]).tolist():
            assert np.all(np.diff(cols.ts_exchange_ns[cols.asset == a]) >= 0)


def test_windows_open_at_050_051(crypto) -> None:
    path, _ = crypto
    ds = Dataset.open(path)
    opened = 0
    near_occupied: list[float] = []
    for _, cols in day_events(path):
        for m in np.unique(cols.asset[cols.asset >= 0] // 2).tolist():
            rows = market_rows(cols, m)
            first = next(messages(rows))
            if first[0].ex != ds.markets[m].start_ns:
                continue  # the open fell in a feed gap, or this is the next day's tail
            assert [r.kind for r in first[:2]] == [RESET, RESET]
            yes = Book()
            for r in first:
                if r.kind not in (RESET, SNAP):
                    break  # a message in the same millisecond, received at the same time
                if r.asset == 2 * m:
                    yes.apply(r.kind, r.side, r.price, r.size)
            assert (yes.best_bid(), yes.best_ask()) == (0.5, 0.51)
            assert 10 <= len(yes.bids) <= 80 and 10 <= len(yes.asks) <= 80
            # dense near the top (stats 2.1), thinning further out
            near = [round(0.5 - 0.01 * d, 2) in yes.bids for d in range(1, 11)]
            near_occupied.append(np.mean(near))
            assert 5_000 <= yes.bids[0.01] <= 20_000 and 5_000 <= yes.asks[0.99] <= 20_000
            opened += 1
    assert opened > 150
    assert np.mean(near_occupied) > 0.8


def test_tick_switches_only_beyond_096_004_and_one_way(crypto) -> None:
    path, _ = crypto
    switches = 0
    for m, rows in all_market_rows(path):
        yes = Book()
        ticks: list[float] = []
        for i, r in enumerate(rows):
            if r.asset == 2 * m:
                yes.apply(r.kind, r.side, r.price, r.size)
            if r.kind == TICK:
                assert (r.price, r.size) == (0.001, 0.01)
                ticks.append(r.price)
                if any(x.kind == RESET for x in rows[i + 1 : i + 3]):
                    continue  # missed in a feed gap, re-stated before the reconnect snapshot
                mid = (yes.best_bid() + yes.best_ask()) / 2
                assert mid > 0.96 or mid < 0.04
                switches += r.asset == 2 * m
        assert len(ticks) <= 2
    assert switches > 50


def test_resolution_rows_match_market_info(crypto) -> None:
    path, _ = crypto
    ds = Dataset.open(path)
    resolved: dict[int, list[Row]] = {}
    last_recv: dict[int, int] = {}
    for m, rows in all_market_rows(path):
        for r in rows:
            if r.kind == RESOLVED:
                resolved.setdefault(m, []).append(r)
            elif m in resolved:
                pytest.fail(f"row after RESOLVED in market {m}")
            last_recv[m] = r.recv
    assert len(resolved) > 150
    for i, info in enumerate(ds.markets):
        if info.resolution == "":
            assert i not in resolved
            continue
        rows = resolved[i]
        payout = {r.asset: r.price for r in rows}
        assert payout == (
            {2 * i: 1.0, 2 * i + 1: 0.0}
            if info.resolution == "YES"
            else {2 * i: 0.0, 2 * i + 1: 1.0}
        )
        assert all(r.size == 0.0 and r.side == 0 for r in rows)
        delay = rows[0].ex - info.end_ns
        assert 15e9 <= delay <= 320e9
    ups = sum(m.resolution == "YES" for m in ds.markets)
    assert 0.3 < ups / len(resolved) < 0.7


def test_a_market_across_midnight_gets_a_file_on_each_day(crypto) -> None:
    path, _ = crypto
    ds = Dataset.open(path)
    last = max(
        (m for m in ds.markets if m.end_ns == day_start_ns(CRYPTO.start_date) + 86_400 * 10**9),
        key=lambda m: m.start_ns,
    )
    days_with_file = [
        d
        for d in ds.days()
        if any(f"market={last.slug}.parquet" == f.name for f in ds.day_files(d))
    ]
    if last.resolution:
        assert days_with_file == ds.days()[:2]
    final = [m for m in ds.markets if m.end_ns == day_start_ns(CRYPTO.end_date)]
    assert final and all(m.resolution == "" for m in final)  # resolved after the recording
