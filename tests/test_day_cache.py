"""The day cache returns exactly what reading the Parquet files returns, and never a
stale or broken entry (sim.marketdata.day_cache)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from exchange_mock.synth import SynthConfig, generate_dataset
from sim.marketdata import Dataset, DayBatch
from sim.marketdata.day_cache import DayCache, default_dir

CONFIG = SynthConfig(
    days=2,
    seed=3,
    crypto_assets=("BTC",),
    neg_risk_groups=(3,),
    event_markets=1,
    intensity=0.01,
    feed_gaps_per_day=1.0,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "data"
    generate_dataset(CONFIG, out)
    return out


def read(path: Path, cache: DayCache | None, **kw: object) -> tuple[list[DayBatch], dict]:
    ds = Dataset.open(path)
    ds.day_cache = cache
    days = list(ds.iter_days(**kw))
    return days, dict(ds.repairs)


def assert_same(a: list[DayBatch], b: list[DayBatch]) -> None:
    assert [x.day for x in a] == [x.day for x in b]
    for x, y in zip(a, b, strict=True):
        assert x.events.equals(y.events)
        assert np.array_equal(x.venue_skip, y.venue_skip)
        assert x.repairs == y.repairs
        assert x.files == y.files


@pytest.mark.parametrize(
    "kw",
    [{}, {"markets": ["btc-updown-15m-*"]}, {"start": dt.date(2026, 11, 3)}],
    ids=["all", "filtered", "from-day-2"],
)
def test_cached_days_equal_read_days(dataset: Path, tmp_path: Path, kw: dict) -> None:
    plain, plain_repairs = read(dataset, None, **kw)
    assert plain_repairs.get("exchange_time_clamped", 0) > 0  # carried state matters
    cache = DayCache(tmp_path / "c")
    first, first_repairs = read(dataset, cache, **kw)
    stored = sorted(p.name for p in (tmp_path / "c").iterdir())
    assert len(stored) == len(Dataset.open(dataset).days())  # days before start too

    ds = Dataset.open(dataset)
    ds.day_cache = cache
    ds.read_file = lambda *a, **k: pytest.fail("a cached day was read from Parquet")  # type: ignore[method-assign]
    # not even the asset column the market filter reads: a hit touches no Parquet file
    ds._holds_wanted = lambda *a, **k: pytest.fail("a cached day's files were opened")  # type: ignore[method-assign]
    second = list(ds.iter_days(**kw))
    assert_same(plain, first)
    assert_same(plain, second)
    assert first_repairs == plain_repairs == dict(ds.repairs)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == stored


def test_a_changed_file_is_read_again(dataset: Path, tmp_path: Path) -> None:
    cache = DayCache(tmp_path / "c")
    read(dataset, cache)
    before = set((tmp_path / "c").iterdir())
    victim = Dataset.open(dataset).day_files(dt.date(2026, 11, 3))[0]
    st = victim.stat()
    try:
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        calls = _files_read(dataset, cache)
    finally:
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert victim in calls  # day 2 was read again; day 1 came from the cache
    assert all(p.parent.name == "date=2026-11-03" for p in calls)
    assert len(set((tmp_path / "c").iterdir()) - before) == 1


def test_a_broken_entry_is_ignored_and_replaced(
    dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plain, _ = read(dataset, None)
    cache = DayCache(tmp_path / "c")
    read(dataset, cache)
    for entry in (tmp_path / "c").iterdir():
        (entry / "price.npy").write_bytes(b"not an array")
    with caplog.at_level(logging.WARNING, logger="sim.marketdata.day_cache"):
        again, _ = read(dataset, cache)
    assert_same(plain, again)
    assert "unreadable" in caplog.text
    assert read(dataset, cache)[0][0].events.equals(plain[0].events)


def test_entries_beyond_the_cap_are_evicted_oldest_first(dataset: Path, tmp_path: Path) -> None:
    big = DayCache(tmp_path / "c")
    read(dataset, big)
    sizes = {e.name: sum(f.stat().st_size for f in e.iterdir()) for e in (tmp_path / "c").iterdir()}
    assert len(sizes) == 2
    # a cap that holds only the larger entry keeps the one stored last
    small = DayCache(tmp_path / "d", cap_bytes=max(sizes.values()))
    read(dataset, small)
    kept = [e.name for e in (tmp_path / "d").iterdir()]
    assert len(kept) == 1


def test_environment_switches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOBSIM_DAY_CACHE", "off")
    assert default_dir() is None and DayCache.from_env() is None
    monkeypatch.setenv("CLOBSIM_DAY_CACHE", str(tmp_path / "x"))
    assert default_dir() == tmp_path / "x"
    monkeypatch.delenv("CLOBSIM_DAY_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "clobsim" / "days"
    monkeypatch.setenv("CLOBSIM_DAY_CACHE_GB", "nonsense")
    assert DayCache(tmp_path).cap_bytes == 8_000_000_000


def test_the_cache_is_only_a_cost(dataset: Path, tmp_path: Path) -> None:
    """Same dataset, one shared cache, two different filters: neither sees the other's day."""
    cache = DayCache(tmp_path / "c")
    a, _ = read(dataset, cache, markets=["btc-updown-15m-*"])
    b, _ = read(dataset, cache)
    assert_same(b, read(dataset, None)[0])
    assert_same(a, read(dataset, None, markets=["btc-updown-15m-*"])[0])
    assert dataclasses.is_dataclass(a[0])


def test_another_version_of_the_reading_code_never_reuses_an_entry(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upgrade that changes how days are read or repaired must not be served days
    cached by the old code."""
    from sim.marketdata import day_cache

    cache = DayCache(tmp_path / "c")
    read(dataset, cache)
    before = set((tmp_path / "c").iterdir())
    monkeypatch.setattr(day_cache, "CODE_STAMP", "another-version")
    calls = _files_read(dataset, cache)
    assert calls  # read from Parquet again
    assert len(set((tmp_path / "c").iterdir()) - before) == len(before)  # and cached anew


def _files_read(dataset: Path, cache: DayCache) -> list[Path]:
    """Every Parquet file a full read of ``dataset`` over ``cache`` opened."""
    calls: list[Path] = []
    ds = Dataset.open(dataset)
    ds.day_cache = cache
    real = ds.read_file
    ds.read_file = lambda p, *a, **k: calls.append(p) or real(p, *a, **k)  # type: ignore[method-assign]
    list(ds.iter_days())
    return calls
