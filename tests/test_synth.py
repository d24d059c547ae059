"""Behaviour of the synthetic recording generator (exchange_mock.synth): its config,
output format, determinism, market metadata, feed gaps, event markets and neg-risk
groups. The book and trade checks are in ``test_synth_books.py``.

Two small datasets are generated once per test run and shared with that module: a
crypto one (one asset, two days, low intensity, several feed gaps) and an event one
(standalone markets and neg-risk groups at full intensity for one day). The checks
replay rows into tiny pure-Python books (defined here, used by both modules).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from exchange_mock.synth import SynthConfig, SynthSummary, generate_dataset
from sim.errors import ConfigError
from sim.marketdata import Dataset, EventColumns, EventKind, day_start_ns

RESET = int(EventKind.BOOK_RESET)
SNAP = int(EventKind.SNAPSHOT_LEVEL)
LC = int(EventKind.LEVEL_CHANGE)
TRADE = int(EventKind.TRADE)
TICK = int(EventKind.TICK_SIZE)
RESOLVED = int(EventKind.RESOLVED)
CONNECTION = int(EventKind.CONNECTION)

CRYPTO = SynthConfig(
    days=2,
    seed=11,
    crypto_assets=("BTC",),
    window_minutes=15,
    neg_risk_groups=(),
    event_markets=0,
    intensity=0.02,
    feed_gaps_per_day=3.0,
)
EVENTS = SynthConfig(
    days=1,
    seed=5,
    crypto_assets=(),
    neg_risk_groups=(4, 3),
    event_markets=2,
    intensity=1.0,
    feed_gaps_per_day=1.0,
)

#: The shared datasets, generated once per test run (both test_synth*.py modules use them).
_DATASETS: dict[SynthConfig, tuple[Path, SynthSummary]] = {}


def synth_dataset(
    config: SynthConfig, name: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, SynthSummary]:
    """``config`` generated into a fresh folder, once: the checks only read it."""
    if config not in _DATASETS:
        out = tmp_path_factory.mktemp("synth") / name
        _DATASETS[config] = (out, generate_dataset(config, out))
    return _DATASETS[config]


@pytest.fixture(scope="module")
def crypto(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    return synth_dataset(CRYPTO, "crypto", tmp_path_factory)


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthSummary]:
    return synth_dataset(EVENTS, "events", tmp_path_factory)


# ---------------------------------------------------------------------------------------
# a tiny replayer
# ---------------------------------------------------------------------------------------
class Book:
    """One asset's book: price -> size per side (prices rounded to 1e-6), best prices cached."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self._bb: float | None = None
        self._ba: float | None = None

    def apply(self, kind: int, side: int, price: float, size: float) -> None:
        if kind == RESET:
            self.bids.clear()
            self.asks.clear()
            self._bb = self._ba = None
        elif kind in (SNAP, LC):
            key = round(price, 6)
            if side == 1:
                if size == 0.0:
                    self.bids.pop(key, None)
                    if key == self._bb:
                        self._bb = max(self.bids) if self.bids else None
                else:
                    self.bids[key] = size
                    self._bb = key if self._bb is None else max(self._bb, key)
            elif size == 0.0:
                self.asks.pop(key, None)
                if key == self._ba:
                    self._ba = min(self.asks) if self.asks else None
            else:
                self.asks[key] = size
                self._ba = key if self._ba is None else min(self._ba, key)

    def best_bid(self) -> float | None:
        return self._bb

    def best_ask(self) -> float | None:
        return self._ba

    def mirrored(self) -> tuple[dict[float, float], dict[float, float]]:
        """The complement token's (bids, asks) as this book implies them."""
        return (
            {round(1.0 - p, 6): s for p, s in self.asks.items()},
            {round(1.0 - p, 6): s for p, s in self.bids.items()},
        )


@dataclass(frozen=True)
class Row:
    ex: int
    recv: int
    asset: int
    kind: int
    side: int
    price: float
    size: float


def day_events(path: Path) -> Iterator[tuple[dt.date, EventColumns]]:
    """Each day's rows as the generator wrote them (exchange times not clamped), merged
    in replay order."""
    ds = Dataset.open(path)
    ticks = ds.initial_ticks()
    for day in ds.days():
        parts = [ds.read_file(f, ticks) for f in ds.day_files(day)]
        if not parts:
            continue
        cols = EventColumns.concat(parts)
        yield day, cols.take(np.lexsort((cols.seq, cols.ts_recv_ns)))


def market_rows(cols: EventColumns, market: int) -> list[Row]:
    """Rows of one market (both tokens), in replay order."""
    idx = np.flatnonzero((cols.asset >= 0) & (cols.asset // 2 == market))
    return [
        Row(*r)
        for r in zip(
            cols.ts_exchange_ns[idx].tolist(),
            cols.ts_recv_ns[idx].tolist(),
            cols.asset[idx].tolist(),
            cols.kind[idx].tolist(),
            cols.side[idx].tolist(),
            cols.price[idx].tolist(),
            cols.size[idx].tolist(),
            strict=True,
        )
    ]


def messages(rows: list[Row]) -> Iterator[list[Row]]:
    """One venue message at a time: consecutive rows sharing exchange and receive time,
    where a BOOK_RESET after another kind of row starts a new one (a ``book`` can be
    received in the same nanosecond as the trade before it)."""
    start = 0
    for i in range(1, len(rows) + 1):
        if (
            i == len(rows)
            or (rows[i].ex, rows[i].recv) != (rows[start].ex, rows[start].recv)
            or (rows[i].kind == RESET and rows[i - 1].kind != RESET)
        ):
            yield rows[start:i]
            start = i


def token_book(msg: list[Row]) -> int | None:
    """The asset of a one-token ``book`` message (BOOK_RESET + its levels), else None."""
    if msg[0].kind != RESET or any(r.kind != SNAP for r in msg[1:]):
        return None
    return msg[0].asset if all(r.asset == msg[0].asset for r in msg) else None


_ROWS_CACHE: dict[Path, list[tuple[int, list[Row]]]] = {}


def all_market_rows(path: Path) -> list[tuple[int, list[Row]]]:
    """(market index, its rows of one day) for every market with rows that day.

    Read once per dataset: several tests replay the same rows.
    """
    if path not in _ROWS_CACHE:
        out = []
        for _, cols in day_events(path):
            for m in np.unique(cols.asset[cols.asset >= 0] // 2).tolist():
                out.append((m, market_rows(cols, m)))
        _ROWS_CACHE[path] = out
    return _ROWS_CACHE[path]


# ---------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"days": 0}, "days"),
        ({"window_minutes": 7}, "window_minutes"),
        ({"neg_risk_groups": (4, 1)}, "neg_risk_groups"),
        ({"intensity": 0.0}, "intensity"),
        ({"intensity": float("nan")}, "intensity"),
        ({"feed_gaps_per_day": -1.0}, "feed_gaps_per_day"),
        ({"exchange_time_backsteps": 1}, "exchange_time_backsteps"),
        ({"crypto_assets": ("btc",)}, "crypto_assets"),
        ({"crypto_assets": ("BTC", "BTC")}, "crypto_assets"),
        ({"seed": -1}, "seed"),
        ({"start_date": "2026-11-02"}, "start_date"),
        ({"crypto_assets": (), "neg_risk_groups": (), "event_markets": 0}, "crypto_assets"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        SynthConfig(**kwargs)
    assert err.value.key == key


def test_config_is_keyword_only_with_documented_defaults() -> None:
    with pytest.raises(TypeError):
        SynthConfig(dt.date(2026, 11, 2))  # type: ignore[misc]
    c = SynthConfig()
    assert (c.start_date, c.days, c.seed) == (dt.date(2026, 11, 2), 7, 7)
    assert c.crypto_assets == ("BTC", "ETH") and c.window_minutes == 15
    assert c.neg_risk_groups == (4, 3) and c.event_markets == 2
    assert c.intensity == 1.0 and c.feed_gaps_per_day == 1.0
    assert c.exchange_time_backsteps is True
    assert SynthConfig(window_minutes=60).window_label == "1h"


# ---------------------------------------------------------------------------------------
# format, determinism, metadata
# ---------------------------------------------------------------------------------------
def test_every_file_reads_back_and_validates(crypto, events) -> None:
    for path, summary in (crypto, events):
        ds = Dataset.open(path)
        total = sum(len(batch.events) for batch in ds.iter_days())
        assert total == summary.rows > 0
        assert len(ds.days()) == summary.days
        files = [f for d in ds.days() for f in ds.day_files(d)]
        assert len(files) == summary.files
        assert summary.bytes_on_disk > 0 and summary.markets == len(ds.markets)


def test_seq_is_one_counter_in_receive_order(crypto) -> None:
    path, _ = crypto
    last = -1
    for _, cols in day_events(path):
        assert len(np.unique(cols.seq)) == len(cols.seq)
        assert np.all(np.diff(cols.seq) > 0)  # merged by (recv, seq) = numbered in recv order
        assert cols.seq[0] == last + 1
        last = int(cols.seq[-1])


def _read_all(path: Path) -> list[tuple[dt.date, EventColumns]]:
    return list(day_events(path))


def test_same_seed_same_data_and_different_seed_differs(tmp_path: Path) -> None:
    cfg = SynthConfig(
        days=1,
        seed=3,
        crypto_assets=("ETH",),
        neg_risk_groups=(3,),
        event_markets=1,
        intensity=0.03,
        feed_gaps_per_day=1.0,
    )
    a = generate_dataset(cfg, tmp_path / "a", progress=True)
    b = generate_dataset(cfg, tmp_path / "b")
    c = generate_dataset(dataclasses.replace(cfg, seed=4), tmp_path / "c")
    assert a.rows == b.rows
    da, db, dc = (_read_all(tmp_path / x) for x in "abc")
    assert all(x[1].equals(y[1]) for x, y in zip(da, db, strict=True))
    assert Dataset.open(tmp_path / "a").markets == Dataset.open(tmp_path / "b").markets
    assert not da[0][1].equals(dc[0][1]) or a.rows != c.rows
    assert Dataset.open(tmp_path / "a").markets != Dataset.open(tmp_path / "c").markets


def test_refuses_to_write_over_other_files(crypto, tmp_path: Path) -> None:
    cfg = SynthConfig(days=1, crypto_assets=(), neg_risk_groups=(), event_markets=1)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_dataset(cfg, tmp_path)
    with pytest.raises(FileExistsError):
        generate_dataset(cfg, tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    again = tmp_path / "again"
    generate_dataset(cfg, again)
    with pytest.raises(FileExistsError):
        generate_dataset(cfg, again)
    summary = generate_dataset(dataclasses.replace(cfg, days=2), again, overwrite=True)
    assert len(Dataset.open(again).days()) == summary.days == 2


def test_market_metadata(crypto, events) -> None:
    ds = Dataset.open(crypto[0])
    windows = [m for m in ds.markets if m.category == "crypto"]
    assert len(windows) == 96 * CRYPTO.days
    for m in windows:
        start = m.start_ns // 1_000_000_000
        assert m.slug == f"btc-updown-15m-{start}"
        assert m.end_ns - m.start_ns == 15 * 60 * 1_000_000_000
        assert re.fullmatch(
            r"Bitcoin Up or Down - November \d+, \d+:\d\d[AP]M-\d+:\d\d[AP]M ET", m.question
        )
        assert (m.fee_rate, m.fee_exponent, m.min_order_size) == (0.07, 1.0, 5.0)
        assert m.tick_size == 0.01 and not m.neg_risk
    first = min(windows, key=lambda m: m.start_ns)
    assert first.start_ns == day_start_ns(CRYPTO.start_date)
    assert first.question == "Bitcoin Up or Down - November 1, 7:00PM-7:15PM ET"
    for m in Dataset.open(events[0]).markets + ds.markets:
        for token in (m.yes_token_id, m.no_token_id):
            assert token.isdigit() and 76 <= len(token) <= 78 and token[0] != "0"
        assert re.fullmatch(r"0x[0-9a-f]{64}", m.condition_id)
    ev = Dataset.open(events[0]).markets
    groups: dict[str, list] = {}
    for m in ev:
        if m.neg_risk:
            groups.setdefault(m.event_id, []).append(m)
    assert sorted(len(g) for g in groups.values()) == [3, 4]
    assert sum(not m.neg_risk for m in ev) == 2
    assert all(m.resolution == "" and m.end_ns > day_start_ns(EVENTS.end_date) for m in ev)


# ---------------------------------------------------------------------------------------
# feed gaps
# ---------------------------------------------------------------------------------------
def test_feed_gaps_drop_rows_then_resnapshot(crypto) -> None:
    path, _ = crypto
    ds = Dataset.open(path)
    gaps_seen = 0
    for day, cols in day_events(path):
        feed = [f for f in ds.day_files(day) if f.name == "market=_feed.parquet"]
        assert feed
        conn = np.flatnonzero(cols.kind == CONNECTION)
        assert np.all(cols.asset[conn] == -1)
        assert cols.side[conn].tolist() == [0, 1] * (len(conn) // 2)
        for lo, hi in cols.ts_recv_ns[conn].reshape(-1, 2).tolist():
            assert 5e9 <= hi - lo <= 60e9
            inside = (cols.ts_recv_ns >= lo) & (cols.ts_recv_ns < hi) & (cols.asset >= 0)
            assert not inside.any()
            live = [i for i, m in enumerate(ds.markets) if m.start_ns < hi < m.end_ns]
            after = np.flatnonzero(cols.ts_recv_ns > hi)
            first_kind = {}
            for j in after[:20_000].tolist():
                m = int(cols.asset[j]) // 2
                if cols.asset[j] >= 0 and m not in first_kind:
                    first_kind[m] = int(cols.kind[j])
            for m in live:
                assert first_kind.get(m) in (RESET, TICK)
            gaps_seen += 1
    assert gaps_seen == 2 * 3


# ---------------------------------------------------------------------------------------
# event markets and neg-risk groups
# ---------------------------------------------------------------------------------------
def test_neg_risk_ask_sum_dips_below_one_briefly(events) -> None:
    path, _ = events
    ds = Dataset.open(path)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(ds.markets):
        if m.neg_risk:
            groups.setdefault(m.event_id, []).append(i)
    episodes: list[float] = []
    for _, cols in day_events(path):
        for members in groups.values():
            yes_assets = [2 * i for i in members]
            books = {a: Book() for a in yes_assets}
            sel = np.flatnonzero(np.isin(cols.asset, yes_assets))
            below_since: int | None = None
            for j in sel.tolist():
                books[int(cols.asset[j])].apply(
                    int(cols.kind[j]), int(cols.side[j]), float(cols.price[j]), float(cols.size[j])
                )
                asks = [b.best_ask() for b in books.values()]
                if None in asks:
                    continue
                t = int(cols.ts_recv_ns[j])
                if sum(asks) < 1.0 - 1e-9 and below_since is None:
                    below_since = t
                elif sum(asks) >= 1.0 - 1e-9 and below_since is not None:
                    episodes.append((t - below_since) / 1e9)
                    below_since = None
    assert len(episodes) >= 2
    assert max(episodes) < 120.0
    assert float(np.median(episodes)) < 10.0


def test_event_markets_have_quiet_hours(events) -> None:
    path, _ = events
    ds = Dataset.open(path)
    event_assets = [
        a for i, m in enumerate(ds.markets) for a in (2 * i, 2 * i + 1) if m.category != "crypto"
    ]
    hourly = np.zeros(24)
    for day, cols in day_events(path):
        sel = np.isin(cols.asset, event_assets) & (cols.kind == TRADE)
        hours = (cols.ts_exchange_ns[sel] - day_start_ns(day)) // 3_600_000_000_000
        hourly += np.bincount(hours, minlength=24)
    quiet = hourly[4:10].mean()
    busy = hourly[14:20].mean()
    assert quiet < busy / 2


def test_event_market_volume_is_in_range(events) -> None:
    path, _ = events
    trade_msgs: dict[int, set[tuple[int, int, int]]] = {}
    for m, rows in all_market_rows(path):
        trade_msgs.setdefault(m, set()).update(
            (r.asset, r.ex, r.recv) for r in rows if r.kind == TRADE
        )
    counts = [len(v) for v in trade_msgs.values()]
    assert len(counts) == 9
    assert all(30 <= c <= 6_000 for c in counts)
