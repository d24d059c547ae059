"""The benchmark stream: deterministic, valid clobsim rows, the requested mix, and a faithful
conversion for hftbacktest. No timing assertions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.clobsim_runs import one_market_state
from benchmarks.stream import (
    EVENTS_PER_SECOND,
    SPARSE_EVENTS_PER_SECOND,
    STREAM_DAY,
    bench_market,
    make_stream,
    simulated_seconds,
)
from sim.marketdata import Dataset, DatasetWriter, EventKind
from sim.marketdata.columns import ARRAY_FIELDS

N = 20_000
K = EventKind
# hftbacktest's strategies cannot be numba-cached (ctypes pointers); that warning is expected.
pytestmark = pytest.mark.filterwarnings("ignore:Cannot cache compiled function")


@pytest.fixture(scope="module")
def stream():
    return make_stream(N, seed=3)


def test_same_seed_same_stream_other_seed_other_stream(stream) -> None:
    assert make_stream(N, seed=3).equals(stream)
    other = make_stream(N, seed=4)
    assert not other.equals(stream)
    assert len(other) == N


def test_rows_are_valid_clobsim_rows_and_round_trip(tmp_path, stream) -> None:
    # write_day validates every row (kinds, sides, ticks, clocks, the day) before writing
    writer = DatasetWriter(tmp_path / "ds", [bench_market()])
    writer.write_day(STREAM_DAY, "bench-market", stream)
    [batch] = list(Dataset.open(tmp_path / "ds").iter_days())
    assert batch.events.equals(stream)
    assert (stream.asset == 0).all()
    assert (np.diff(stream.seq) == 1).all()
    assert (stream.ts_recv_ns >= stream.ts_exchange_ns).all()
    assert (np.diff(stream.ts_exchange_ns) >= 0).all()
    assert (stream.ts_exchange_ns % 1_000_000 == 0).all()  # Polymarket's ms resolution


def test_kind_mix_snapshot_and_rate(stream) -> None:
    kinds = np.bincount(stream.kind, minlength=8)
    assert stream.kind[0] == K.BOOK_RESET and kinds[K.BOOK_RESET] == 1
    n_snap = kinds[K.SNAPSHOT_LEVEL]
    assert 20 <= n_snap <= 100
    assert (stream.kind[1 : 1 + n_snap] == K.SNAPSHOT_LEVEL).all()
    assert kinds[K.LEVEL_CHANGE] + kinds[K.TRADE] + n_snap + 1 == N
    assert kinds[K.LEVEL_CHANGE] / N == pytest.approx(0.87, abs=0.02)
    assert kinds[K.TRADE] / N == pytest.approx(0.13, abs=0.02)
    rate = N / simulated_seconds(stream)
    assert 0.7 * EVENTS_PER_SECOND < rate < 1.3 * EVENTS_PER_SECOND


def test_the_rate_stretches_the_clock_and_nothing_else(stream) -> None:
    sparse = make_stream(N, seed=3, events_per_second=SPARSE_EVENTS_PER_SECOND)
    for k in ("kind", "side", "price", "size", "asset", "seq"):  # the same rows ...
        assert (getattr(sparse, k) == getattr(stream, k)).all(), k
    rate = N / simulated_seconds(sparse)  # ... further apart
    assert 0.7 * SPARSE_EVENTS_PER_SECOND < rate < 1.3 * SPARSE_EVENTS_PER_SECOND
    assert (np.diff(sparse.ts_exchange_ns) >= 0).all()
    assert (sparse.ts_recv_ns >= sparse.ts_exchange_ns).all()
    assert (sparse.ts_exchange_ns % 1_000_000 == 0).all()


@pytest.mark.parametrize("rate", [0.0, -300.0, float("nan"), float("inf")])
def test_a_rate_that_is_not_a_positive_number_is_refused(rate) -> None:
    with pytest.raises(ValueError, match="events_per_second"):
        make_stream(1_000, seed=3, events_per_second=rate)


def test_the_sparse_stream_covers_the_default_streams_simulated_time(stream) -> None:
    from benchmarks.run import sparse_rows

    sparse = make_stream(sparse_rows(N), seed=3, events_per_second=SPARSE_EVENTS_PER_SECOND)
    assert simulated_seconds(sparse) == pytest.approx(simulated_seconds(stream), rel=0.1)


def test_the_cache_keeps_one_file_per_rate_and_drops_old_generators(tmp_path, monkeypatch) -> None:
    from benchmarks import stream_cache

    monkeypatch.setattr(stream_cache, "WORK", tmp_path)
    stale = tmp_path / "stream_v0_0000000000_n1000_s3.npz"
    stale.write_bytes(b"from an older generator")
    dense, cached = stream_cache.load_stream(1_000, 3)
    assert not cached and not stale.exists()
    sparse, cached = stream_cache.load_stream(1_000, 3, events_per_second=300.0)
    assert not cached
    assert len(list(tmp_path.glob("stream_*.npz"))) == 2
    again, cached = stream_cache.load_stream(1_000, 3, events_per_second=300.0)
    assert cached and again.equals(sparse)
    again, cached = stream_cache.load_stream(1_000, 3)
    assert cached and again.equals(dense)
    assert not sparse.equals(dense)


def test_book_never_crosses_and_trades_print_at_the_touch(stream) -> None:
    bid: dict[int, float] = {}
    ask: dict[int, float] = {}
    ticks = np.rint(stream.price * 100).astype(int)
    for k, s, p, q in zip(stream.kind, stream.side, ticks, stream.size, strict=True):
        if k == K.TRADE:
            touch = min(ask) if s == 1 else max(bid)
            assert p == touch
            assert q <= (ask if s == 1 else bid)[p] + 1e-9
            continue
        book = bid if s == 1 else ask
        if k in (K.SNAPSHOT_LEVEL, K.LEVEL_CHANGE):
            if q > 0:
                book[p] = q
            else:
                assert p in book, "a level removed that was not there"
                del book[p]
        if bid and ask:
            assert max(bid) < min(ask)
    assert 10 <= len(bid) <= 99 and 10 <= len(ask) <= 99  # a deep book at the end


def test_hftbacktest_conversion_keeps_every_event_and_depth_values(stream) -> None:
    hb = pytest.importorskip("hftbacktest")
    from benchmarks import hftb

    data = hftb.to_hftbacktest(stream)
    assert len(data) == len(stream)
    assert (data["exch_ts"] == stream.ts_exchange_ns).all()
    assert (data["local_ts"] == stream.ts_recv_ns).all()
    both = np.uint64(hb.EXCH_EVENT | hb.LOCAL_EVENT)
    assert ((data["ev"] & both) == both).all()
    low = data["ev"] & np.uint64(0xFF)
    depth = np.isin(stream.kind, [K.SNAPSHOT_LEVEL, K.LEVEL_CHANGE])
    assert (data["px"][depth] == stream.price[depth]).all()
    assert (data["qty"][depth] == stream.size[depth]).all()
    trade = stream.kind == K.TRADE
    assert (low[trade] == hb.TRADE_EVENT).all()
    assert (data["px"][trade] == stream.price[trade]).all()
    assert (low[stream.kind == K.LEVEL_CHANGE] == hb.DEPTH_EVENT).all()
    assert (low[stream.kind == K.SNAPSHOT_LEVEL] == hb.DEPTH_SNAPSHOT_EVENT).all()
    assert low[0] == hb.DEPTH_CLEAR_EVENT
    buy = (data["ev"] & np.uint64(hb.BUY_EVENT)) != 0
    sell = (data["ev"] & np.uint64(hb.SELL_EVENT)) != 0
    assert (buy[1:] == (stream.side[1:] == 1)).all()
    assert (sell[1:] == (stream.side[1:] == -1)).all()
    assert not buy[0] and not sell[0]  # a full, side-less clear


def test_hftbacktest_replay_ends_on_the_same_book_as_clobsim(stream) -> None:
    pytest.importorskip("hftbacktest")
    from benchmarks import hftb

    data = hftb.to_hftbacktest(stream)
    run = hftb.HftbRun(data)
    hftb._replay(run.hbt, hftb._REPLAY_ELAPSE_NS)
    depth = run.hbt.depth(0)
    ours = one_market_state()
    ours.replay(stream)
    assert depth.best_bid_tick * 10 == ours.best_bid[0]  # clobsim's grid is 1,000 per unit
    assert depth.best_ask_tick * 10 == ours.best_ask[0]
    for tick in range(1, 100):
        assert depth.bid_qty_at_tick(tick) == ours.bid[0, tick * 10]
        assert depth.ask_qty_at_tick(tick) == ours.ask[0, tick * 10]
    run.close()
    del data


def test_hftbacktest_quoter_requotes_every_100ms_without_order_errors(stream) -> None:
    pytest.importorskip("hftbacktest")
    from benchmarks import hftb

    out = hftb.quote_100ms(hftb.to_hftbacktest(stream))
    assert out["events"] == N
    assert out["order_errors"] == 0
    assert out["requotes"] == pytest.approx(simulated_seconds(stream) * 10, abs=2)
    assert out["orders_submitted"] >= 2 * out["requotes"] - 4
    for k in ARRAY_FIELDS:  # the stream itself is untouched by the runs
        assert len(getattr(stream, k)) == N


def test_clobsim_quoter_requotes_every_100ms_through_the_executor(stream, tmp_path,
                                                                  monkeypatch) -> None:  # fmt: skip
    from benchmarks import clobsim_runs

    monkeypatch.setattr(clobsim_runs, "WORK", tmp_path)  # its datasets, not the repo's
    out = clobsim_runs.quote_100ms(stream)
    assert out["events"] == N
    assert out["requotes"] == pytest.approx(simulated_seconds(stream) * 10, abs=2)
    assert out["orders"] == 2 * out["requotes"]  # both sides quoted each time (none refused)
    assert out["fills"] > 0
    assert out["no_executor_eps"] > 0 and out["us_per_requote"] > 0


def test_the_layers_share_one_timer_and_add_up(stream, tmp_path, monkeypatch) -> None:
    from benchmarks import clobsim_runs, layers

    monkeypatch.setattr(clobsim_runs, "WORK", tmp_path)  # its datasets, not the repo's
    out = layers.measure(stream, repeat=1)
    assert out["requotes"] == pytest.approx(simulated_seconds(stream) * 10, abs=2)
    rows = out["layers"]
    assert [r["layer"] for r in rows] == ["a", "b", "c", "d"]
    assert rows[0]["delta_us_per_requote"] is None
    for prev, row in itertools.pairwise(rows):
        assert row["us_per_requote"] > 0
        assert row["delta_us_per_requote"] == pytest.approx(
            row["us_per_requote"] - prev["us_per_requote"], abs=0.02
        )
