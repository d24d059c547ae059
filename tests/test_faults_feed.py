"""Feed faults: a dropped or silent WebSocket, a stale book. Driven on a SimVenue, and
through the engine."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from exchange_mock.faults import FaultSpec
from sim.events import AccountEvent, BookSnapshot, ConnectionState, LevelChange
from sim.types import Side
from tests.test_faults_helpers import (
    RUN_S,
    YES,
    S,
    Script,
    backtest,
    drive,
    plan,
    sim_venue,
    write_dataset,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("faults_feed"))


def window(start: int, a_s: float, b_s: float):
    return start + round(a_s * S), start + round(b_s * S)


def market(events):
    return [(t, e) for t, e in events if not isinstance(e, AccountEvent)]


def test_ws_drop_disconnects_then_reconnects_with_a_fresh_snapshot(root: Path) -> None:
    venue0, clock0, _ = sim_venue(root)
    start = clock0.now_ns()
    end = start + RUN_S * S
    base, _ = drive(venue0, clock0, end)
    venue, clock, inj = sim_venue(root, plan(FaultSpec("ws_drop", at_s=10.0, duration_s=20.0)))
    got, _ = drive(venue, clock, end)
    w0, w1 = window(start, 10.0, 20.0 + 10.0)

    conn = [(t, e) for t, e in got if isinstance(e, ConnectionState)]
    assert [e.connected for _, e in conn] == [False, True]
    (t_down, down), (t_up, up) = conn
    assert w0 <= t_down < w0 + S and w1 <= t_up < w1 + S  # noticed with the next batch
    assert (down.ts_recv_ns, up.ts_recv_ns) == (t_down, t_up)
    # nothing of the market channel in between; outside the window the same as without
    assert not [e for t, e in market(got) if t_down < t < t_up]
    assert [e for t, e in market(got) if t < t_down] == [e for t, e in base if t < t_down]
    assert [e for t, e in market(got) if t > t_up] == [e for t, e in base if t > t_up]
    # the reconnect delivers a snapshot right after ConnectionState(True): the book as is
    i = next(k for k, (_, e) in enumerate(got) if e is up)
    snap = got[i + 1][1]
    assert isinstance(snap, BookSnapshot) and snap.asset_id == YES
    assert snap.bids[0] == (0.48, 100.0 + (t_up - start) // S)
    assert snap.asks[:2] == ((0.52, 50.0), (0.53, 300.0))
    # the local book was kept current and ends where the undisturbed one does
    assert venue.book(YES).bids() == venue0.book(YES).bids()
    assert venue.book(YES).asks(20) == venue0.book(YES).asks(20)
    assert inj.counts == {"ws_drop": 1}
    assert inj.injections[0].ts_ns == w0 and inj.injections[0].call == "feed"
    assert inj.withheld["ws_drop"] == len(base) - len(market(got)) + 3


def test_ws_silent_withholds_events_without_a_connection_change(root: Path) -> None:
    venue, clock, inj = sim_venue(root, plan(FaultSpec("ws_silent", at_s=10.0, duration_s=20.0)))
    start = clock.now_ns()
    got, books = drive(venue, clock, start + RUN_S * S, sample=lambda: venue.book(YES).bids()[0])
    w0, w1 = window(start, 10.0, 30.0)
    assert not [e for _, e in got if isinstance(e, ConnectionState | BookSnapshot)][1:]
    assert not [t for t, _ in got if w0 <= t < w1]
    assert [t for t, _ in got if t >= w1]  # delivery resumed
    assert inj.counts == {"ws_silent": 1} and inj.withheld["ws_silent"] > 150
    # the book views stay current (only callbacks stop): combine with stale_book to freeze them
    for t, (_, size) in books:
        assert size == 100.0 + (t - start) // S  # start: the first row's receive time


def test_stale_book_freezes_the_strategy_view_while_the_exchange_moves(root: Path) -> None:
    venue, clock, inj = sim_venue(root, plan(FaultSpec("stale_book", at_s=10.0, duration_s=20.0)))
    start = clock.now_ns()

    def sample():
        return venue.book(YES).bids()[0][1], venue.clob.depth(YES, Side.BUY, 0.48)

    got, samples = drive(venue, clock, start + RUN_S * S, sample=sample)
    w0, w1 = window(start, 10.0, 30.0)
    for t, (local, exchange) in samples:
        truth = 100.0 + (t - start) // S  # rows are received 5 ms after the exchange time
        assert exchange == 100.0 + (t - start + 5_000_000) // S  # the exchange never stops
        if w0 <= t < w1:
            assert local == 100.0 + 9  # as of the window's start (the 9 s row)
        else:
            assert local == truth  # caught up at the end
    # the rows received in the window are delivered in a burst when it ends
    changes = [(t, e) for t, e in got if isinstance(e, LevelChange)]
    assert not [t for t, _ in changes if w0 <= t < w1]
    burst = [e for t, e in changes if t == w1 and e.ts_recv_ns < w1]
    assert len(burst) == 200  # 20 s of rows, 10 a second
    assert inj.counts == {"stale_book": 1}
    assert inj.injections[0].ts_ns == w0


def test_rate_stale_windows_open_on_batches_and_catch_up(root: Path) -> None:
    spec = FaultSpec("stale_book", rate=0.02, duration_s=2.0, max_count=3)
    venue, clock, inj = sim_venue(root, plan(spec, seed=4))
    start = clock.now_ns()
    drive(venue, clock, start + RUN_S * S)
    assert inj.counts == {"stale_book": 3}
    assert venue.book(YES).bids()[0] == (0.48, 100.0 + RUN_S)  # caught up by the end


def test_ws_drop_through_the_engine(root: Path) -> None:
    s = Script()
    spec = FaultSpec("ws_drop", at_s=10.0, duration_s=20.0)
    _, bt, inj = backtest(root, s, plan(spec))
    assert bt.engine.stats.connection_changes == 2
    snaps = [e for e in s.books if isinstance(e, BookSnapshot)]
    assert len(snaps) == 2  # the recorded one at the start, the reconnect's
    gap = [e.ts_recv_ns for e in s.books]
    assert max(b - a for a, b in itertools.pairwise(gap)) >= 20 * S
    assert inj.counts == {"ws_drop": 1}


def test_feed_faults_do_not_hold_back_our_own_fills(root: Path) -> None:
    from sim.types import OrderType
    from tests.test_faults_helpers import buy

    s = Script((15.0, buy(0.52, 10.0, order_type=OrderType.FOK)))
    spec = FaultSpec("ws_silent", at_s=10.0, duration_s=20.0)
    res, bt, inj = backtest(root, s, plan(spec))
    assert res.fills.size_shares.sum() == pytest.approx(10.0)
    assert bt.executor.tracker.orders[s.results[0].client_order_id].status.value == "FILLED"
    assert inj.counts == {"ws_silent": 1}
