"""``QueueFeed``: the paper/live feed. WebSocket threads put parsed events, the engine
thread pulls them in order and the strategy's books follow exactly what was handed out."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.books import LocalBooks
from sim.clock import SimClock, WallClock
from sim.context import EngineContext
from sim.engine import Engine
from sim.events import (
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.executor import Executor
from sim.feed import MarketFeed, QueueFeed
from sim.types import Side
from tests.fakes import FakeVenue
from tests.helpers import make_market
from tests.test_engine import Recorder

MARKETS = [make_market(i) for i in range(4)]
ASSETS = tuple(t for m in MARKETS for t in (m.yes_token_id, m.no_token_id))
GRID = 100
M = MARKETS[0]
YES = M.yes_token_id


def feed(clock=None) -> QueueFeed:
    books = LocalBooks(ASSETS, np.full(len(ASSETS), 0.01), GRID)
    return QueueFeed(clock or SimClock(0), books)


def lc(t: int, asset: str, side: Side, price: float, size: float) -> LevelChange:
    return LevelChange(t, t, asset, M.condition_id, side, price, size)


def test_it_is_a_market_feed():
    assert isinstance(feed(), MarketFeed)


def test_events_from_many_threads_come_out_in_each_threads_order_and_books_follow():
    f = feed()
    n = 400

    def writer(k: int) -> None:
        asset = ASSETS[k]
        for j in range(n):
            f.put([lc(j + 1, asset, Side.BUY, 0.30, float(j + 1))])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(ASSETS))]
    for t in threads:
        t.start()
    got = []
    while any(t.is_alive() for t in threads) or len(got) < n * len(ASSETS):
        got.extend(f.advance(10**12))
    for t in threads:
        t.join()
    assert len(got) == n * len(ASSETS)
    for asset in ASSETS:
        sizes = [e.size for e in got if e.asset_id == asset]
        assert sizes == [float(j + 1) for j in range(n)]  # nothing lost, nothing reordered
        assert f.book(asset).bids(1) == [(0.30, float(n))]
    assert f.counts == {"LevelChange": n * len(ASSETS)}


def test_a_snapshot_replaces_the_book_and_changes_and_ticks_apply():
    f = feed()
    f.put([lc(1, YES, Side.BUY, 0.10, 5.0)])  # replaced by the snapshot below
    f.put([BookSnapshot(2, 2, YES, M.condition_id, ((0.48, 100.0), (0.47, 50.0)),
                        ((0.52, 30.0), (0.55, 10.0)), tick_size=0.01)])  # fmt: skip
    f.advance(10)
    book = f.book(YES)
    assert book.bids() == [(0.48, 100.0), (0.47, 50.0)] and book.asks()[0] == (0.52, 30.0)
    f.put([lc(3, YES, Side.BUY, 0.48, 0.0), lc(4, YES, Side.SELL, 0.51, 7.0),
           TickSizeChange(5, 5, YES, M.condition_id, 0.01, 0.001)])  # fmt: skip
    f.advance(10)
    assert book.best_bid == 0.47 and book.best_ask == 0.51 and book.tick_size == 0.001
    assert f.mark(YES) == pytest.approx(0.49)
    f.put([MarketResolved(6, 6, M.condition_id, (YES, M.no_token_id), YES)])
    f.advance(10)
    assert book.best_bid is None and book.best_ask is None


def test_trades_and_connection_changes_pass_through_without_touching_books():
    f = feed()
    f.put([lc(1, YES, Side.BUY, 0.40, 5.0), TradePrint(2, 2, YES, M.condition_id, Side.SELL,
                                                       0.40, 5.0),
           ConnectionState(3, 3, False, "socket closed")])  # fmt: skip
    out = f.advance(10)
    assert [type(e).__name__ for e in out] == ["LevelChange", "TradePrint", "ConnectionState"]
    assert f.book(YES).bids() == [(0.40, 5.0)]
    assert f.last_update_ns == 2  # market data, not the connection row


def test_an_event_of_an_unknown_asset_is_handed_out_and_touches_no_book():
    f = feed()
    f.put([lc(1, "123", Side.BUY, 0.40, 5.0)])
    out = f.advance(10)
    assert len(out) == 1
    assert all(f.book(a).best_bid is None for a in ASSETS)


def test_close_ends_the_feed_after_what_is_queued_and_refuses_more():
    f = feed()
    f.put([lc(1, YES, Side.BUY, 0.40, 5.0)])
    f.close()
    assert len(f.advance(10)) == 1 and f.exhausted
    assert f.advance(20) == []
    with pytest.raises(RuntimeError, match="closed"):
        f.put([lc(2, YES, Side.BUY, 0.40, 6.0)])


def test_a_wall_clock_feed_returns_empty_when_nothing_came_by_the_time_asked():
    clock = WallClock()
    f = feed(clock)
    assert f.advance(clock.now_ns() + 5_000_000) == []
    assert not f.exhausted


def test_the_engine_runs_a_strategy_on_a_queue_feed_to_its_close():
    clock = SimClock(0)
    f = feed(clock)
    venue = FakeVenue(clock, MARKETS, [])
    ex = Executor(venue, clock, cash_usdc=100.0, books=f.book, markets=MARKETS)
    ctx = EngineContext(clock=clock, executor=ex, feed=f, markets=MARKETS,
                        log=logging.getLogger("t"))  # fmt: skip
    strategy = Recorder(subscribe=[YES])
    engine = Engine(strategy=strategy, feed=f, executor=ex, context=ctx, clock=clock)
    f.put([lc(10, YES, Side.BUY, 0.40, 5.0), lc(20, ASSETS[2], Side.BUY, 0.40, 5.0),
           lc(30, YES, Side.SELL, 0.45, 1.0)])  # fmt: skip
    f.close()
    engine.run(10**12)
    books = [(t, e.price) for kind, t, e in strategy.seen if kind == "book"]
    assert books == [(10, 0.40), (30, 0.45)]  # subscribed asset only, at receive time
    assert strategy.seen[-1][0] == "stop" and f.exhausted


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.integers(1, 99),
                          st.sampled_from([0.0, 1.0, 5.0, 20.0])), max_size=60))  # fmt: skip
def test_books_built_from_events_equal_a_plain_dict_of_levels(changes):
    """Invariant: after any sequence of level changes the book is exactly the non-zero
    levels set last, best first (best prices kept right through removals)."""
    f = feed()
    levels: dict[tuple[Side, int], float] = {}
    f.put([lc(i + 1, YES, s, p / GRID, z) for i, (s, p, z) in enumerate(changes)])
    f.advance(10**9)
    for s, p, z in changes:
        levels[(s, p)] = z
    bids = sorted(((p / GRID, z) for (s, p), z in levels.items() if s is Side.BUY and z > 0),
                  reverse=True)  # fmt: skip
    asks = sorted((p / GRID, z) for (s, p), z in levels.items() if s is Side.SELL and z > 0)
    assert f.book(YES).bids(100) == bids and f.book(YES).asks(100) == asks
