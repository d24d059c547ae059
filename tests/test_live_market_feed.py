"""``live.market_feed.MarketChannel`` against the loopback server: subscribe and rebuild the
books from snapshots and deltas, then the channel faults of reference §9.5 (a dropped
socket, a silent one that still PONGs, one that stops PONGing, a server that goes away)
and bad frames. Conditions are waited for with deadlines, never with fixed sleeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from aiohttp import WSMsgType, web

from exchange_mock.faults import FaultSpec
from live.market_feed import (
    DROP_CLOSED,
    DROP_CONNECT_FAILED,
    DROP_NO_BOOK,
    DROP_NO_PONG,
    DROP_SILENCE,
    HANDLER_ERROR,
    Backoff,
    MarketChannel,
    open_market_feed,
)
from live.market_messages import MarketFrameParser
from sim.books import LocalBooks
from sim.clock import WallClock
from sim.errors import ConfigError
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketResolved,
    TradePrint,
)
from sim.feed import QueueFeed
from tests.server_helpers import MS, NO, YES, M, plan, running_server, write_dataset

WAIT_S = 8.0  # the longest any condition may take (a deadline, never a sleep)
SEED = 7
BASE_S, CAP_S = 0.05, 0.4
#: an exception escaping any thread (the channel's above all) fails the test
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
#: short intervals; silence_s is long unless a test is about silence: between two
#: ``run.advance`` steps the replay stands still and the feed is silent for real
FAST = dict(ping_interval_s=0.2, pong_timeout_s=0.5, silence_s=30.0, connect_timeout_s=2.0,
            close_timeout_s=0.5, backoff_base_s=BASE_S, backoff_cap_s=CAP_S)  # fmt: skip


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("feed") / "ds", minutes=1)


#: token ids of a market the venue does not list (it ignores them in a subscribe)
GONE_YES, GONE_NO = str(10**76 + 1), str(10**76 + 2)


def new_books() -> LocalBooks:
    assets = (YES, NO, GONE_YES, GONE_NO)
    return LocalBooks(assets, np.full(len(assets), 0.01), 100)


class Watch:
    """Drains a feed as the engine would (``advance``), keeping every event handed out."""

    def __init__(self, feed: QueueFeed, channel: MarketChannel) -> None:
        self.feed = feed
        self.channel = channel
        self.events: list = []

    def until(self, done: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; {self.channel.stats}")
            self.events += self.feed.advance(self.feed.clock.now_ns() + 20 * MS)

    def states(self, since: int = 0) -> list[bool]:
        return [e.connected for e in self.events[since:] if isinstance(e, ConnectionState)]

    def reasons(self, since: int = 0) -> list[str]:
        return [e.reason for e in self.events[since:] if isinstance(e, ConnectionState)]

    def up_count(self) -> int:
        return self.states().count(True)

    def of(self, kind: type, since: int = 0) -> list:
        return [e for e in self.events[since:] if isinstance(e, kind)]


@contextlib.contextmanager
def channel_on(url: str, assets=(YES, NO), **options) -> Iterator[Watch]:
    opts = {**FAST, "rng": random.Random(SEED), **options}
    feed, channel = open_market_feed(url, WallClock(), new_books(), list(assets), **opts)
    try:
        yield Watch(feed, channel)
    finally:
        assert channel.stop()
        assert not channel.running


def rest_levels(run, token: str) -> dict[str, list[tuple[float, float]]]:
    r = httpx.get(f"{run.urls.rest}/book", params={"token_id": token}, timeout=WAIT_S)
    r.raise_for_status()
    book = r.json()
    return {side: sorted((float(lv["price"]), float(lv["size"])) for lv in book[side])
            for side in ("bids", "asks")}  # fmt: skip


def local_levels(feed: QueueFeed, token: str) -> dict[str, list[tuple[float, float]]]:
    view = feed.book(token)
    return {"bids": sorted(view.bids(1000)), "asks": sorted(view.asks(1000))}


def books_match(run, w: Watch) -> Callable[[], bool]:
    """Done when the local books of both tokens equal REST ``/book`` as of now (the
    replay stands still between steps, so REST is read once)."""
    rest = {t: rest_levels(run, t) for t in (YES, NO)}
    return lambda: all(local_levels(w.feed, t) == rest[t] for t in (YES, NO))


def up_again(w: Watch, ups: int) -> Callable[[], bool]:
    return lambda: w.up_count() >= ups


def drops(w: Watch, kind: str, n: int) -> Callable[[], bool]:
    return lambda: w.channel.stats.drops.get(kind, 0) >= n


def assert_backoff_grew(w: Watch, failures: int) -> None:
    """The reconnects were spaced by the seeded backoff: one delay per failure, each
    within its doubling ceiling (no busy loop), reproducible from the seed."""
    s = w.channel.stats
    delays = s.backoff_delays
    assert len(delays) >= failures
    assert s.attempts - 1 <= len(delays) <= s.attempts  # every attempt after a failure waited
    expected = Backoff(BASE_S, CAP_S, random.Random(SEED))
    ceilings = []
    for _ in delays:
        ceilings.append(expected.ceiling_s)
        expected.next_delay()
    doubling = [BASE_S, 2 * BASE_S, 4 * BASE_S] + [CAP_S] * len(delays)
    assert ceilings == doubling[: len(delays)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))


# ------------------------------------------------------------------------- the happy path


def test_snapshots_then_deltas_rebuild_the_rest_books_and_stop_closes(data: Path) -> None:
    with running_server(data) as run, channel_on(run.urls.ws_market, assets=[YES]) as w:
        w.until(up_again(w, 1), "the channel up")
        assert [type(e) for e in w.events] == [BookSnapshot, ConnectionState]
        assert w.events[0].asset_id == YES and w.events[1].connected
        assert "connected: fresh books" in w.events[1].reason

        # a later subscription goes out on the open socket (QueueFeed's on_subscribe)
        w.feed.subscribe([NO])
        w.until(lambda: [b.asset_id for b in w.of(BookSnapshot)] == [YES, NO], "NO's book")
        subs = run.call(lambda: [(s.assets, s.custom) for s in run.server.market_hub.subscribers])
        assert subs == [({YES, NO}, True)]
        w.until(books_match(run, w), "books equal REST")

        seen = len(w.events)
        run.advance(2.0)
        w.until(books_match(run, w), "books equal REST after 2 s of deltas")
        w.until(lambda: len(w.of(TradePrint, seen)) == 1, "the recorded print")
        changes = w.of(LevelChange, seen)
        assert {c.asset_id for c in changes} == {YES, NO} and len(changes) >= 30
        assert w.of(BestBidAsk, seen)  # custom_feature_enabled went out with the subscribe
        s = w.channel.stats
        assert (s.attempts, s.connects, s.ups, s.up, s.drops, s.errors) == (1, 1, 1, True, {}, {})
        market = [e.ts_recv_ns for e in w.events if not isinstance(e, ConnectionState)]
        assert s.pongs >= 1 and s.last_data_ns >= max(market)
        assert w.states() == [True]

        assert w.channel.stop()
        w.until(lambda: not run.call(lambda: run.server.market_hub.subscribers), "socket closed")
        w.until(lambda: w.states() == [True, False], "the stop told")
        assert w.reasons()[-1] == "market channel stopped"


# --------------------------------------------------------------------------- channel faults


def test_a_dropped_socket_reconnects_after_the_window_with_fresh_books(data: Path) -> None:
    drop = plan(FaultSpec("ws_drop", at_s=2.0, duration_s=5.0))
    with running_server(data, faults=drop) as run, channel_on(run.urls.ws_market) as w:
        w.until(up_again(w, 1), "the channel up")
        run.advance(1.0)  # 1.5 s
        w.until(books_match(run, w), "books equal REST before the window")
        run.advance(1.0)  # 2.5 s: inside the window, the socket goes
        w.until(lambda: w.states() == [True, False], "the drop told")
        assert w.reasons()[1].startswith(f"market channel down: {DROP_CLOSED}")
        # each reconnect inside the window is dropped too: told once, backoff growing
        w.until(drops(w, DROP_CLOSED, 3), "three drops")
        assert w.states() == [True, False] and w.channel.stats.up is False
        assert_backoff_grew(w, 3)

        down_at = len(w.events)
        run.advance(5.0)  # 7.5 s: the window is over
        match = books_match(run, w)
        w.until(up_again(w, 2), "reconnected")
        assert match()  # the fresh snapshots came before the state, and rebuilt the books
        assert [type(e) for e in w.events[down_at:]] == [BookSnapshot, BookSnapshot,
                                                         ConnectionState]  # fmt: skip
        assert w.states() == [True, False, True]
        assert "reconnected: fresh books of 2 assets" in w.reasons()[-1]
        s = w.channel.stats
        assert s.reconnects >= 3 and s.ups == 2 and set(s.drops) == {DROP_CLOSED}

        run.advance(1.0)
        w.until(books_match(run, w), "deltas after the reconnect")


def test_a_silent_socket_is_judged_dead_and_replaced(data: Path) -> None:
    silent = plan(FaultSpec("ws_silent", at_s=1.0, duration_s=20.0))
    with running_server(data, faults=silent) as run, \
            channel_on(run.urls.ws_market, silence_s=1.0) as w:  # fmt: skip
        w.until(up_again(w, 1), "the channel up")
        ups, entered = w.up_count(), len(w.events)
        run.advance(1.0)  # 1.5 s: inside the window: PONGs, no data
        w.until(lambda: False in w.states(entered), "the silence verdict")
        assert w.reasons(entered)[0].startswith(f"market channel down: {DROP_SILENCE}")
        pongs = w.channel.stats.pongs
        # the reconnects get sockets just as silent (no book): judged again, backoff growing
        w.until(drops(w, DROP_SILENCE, 3), "three silence verdicts")
        assert w.states(entered) == [False]  # told once
        s = w.channel.stats
        assert s.pongs > pongs and DROP_NO_PONG not in s.drops  # the sockets did answer
        assert s.connects >= 3
        assert_backoff_grew(w, 3)

        run.advance(20.0)  # 21.5 s: the window is over
        match = books_match(run, w)
        w.until(up_again(w, ups + 1), "reconnected")
        assert match()
        assert w.states(entered) == [False, True]


def test_missing_pongs_are_a_dead_verdict_even_while_data_flows(data: Path) -> None:
    no_pong = plan(FaultSpec("ws_no_pong", at_s=1.0, duration_s=10.0))
    with running_server(data, faults=no_pong) as run, channel_on(run.urls.ws_market) as w:
        w.until(up_again(w, 1), "the channel up")
        entered = len(w.events)
        run.advance(1.0)  # 1.5 s: the deltas still come, PONGs do not
        w.until(lambda: False in w.states(entered), "the no-PONG verdict")
        assert w.of(LevelChange, entered)
        assert w.reasons(entered)[0].startswith(f"market channel down: {DROP_NO_PONG}")
        # reconnects get their books but no PONG: never up, backoff growing
        w.until(drops(w, DROP_NO_PONG, 3), "three no-PONG verdicts")
        assert w.states(entered) == [False]
        assert len(w.of(BookSnapshot, entered)) >= 4  # fresh books of two reconnects
        assert set(w.channel.stats.drops) == {DROP_NO_PONG}
        assert_backoff_grew(w, 3)

        run.advance(10.0)  # 11.5 s: past the window
        match = books_match(run, w)
        w.until(up_again(w, 2), "reconnected")
        w.until(match, "books equal REST")
        assert w.states(entered) == [False, True]


def test_a_book_that_never_comes_keeps_the_channel_down(data: Path) -> None:
    with running_server(data) as run, \
            channel_on(run.urls.ws_market, [YES, NO, GONE_YES], silence_s=1.0) as w:  # fmt: skip
        w.until(drops(w, DROP_NO_BOOK, 2), "two no-book verdicts")
        assert w.states() == [False]  # never up: that book cannot be rebuilt
        assert w.reasons()[0].startswith(f"market channel down: {DROP_NO_BOOK}")
        assert GONE_YES in w.reasons()[0]
        # each connection brought fresh books of the others, and deltas would flow
        assert {b.asset_id for b in w.of(BookSnapshot)} == {YES, NO}
        assert len(w.of(BookSnapshot)) >= 4 and set(w.channel.stats.drops) == {DROP_NO_BOOK}


def test_a_server_that_goes_away_is_retried_with_growing_delays(data: Path) -> None:
    opts = {**FAST, "rng": random.Random(SEED)}
    channel: MarketChannel | None = None
    try:
        with running_server(data) as run:
            feed, channel = open_market_feed(run.urls.ws_market, WallClock(), new_books(),
                                             [YES, NO], **opts)  # fmt: skip
            w = Watch(feed, channel)
            w.until(up_again(w, 1), "the channel up")
        # the server is stopped: the socket closed (1001), every reconnect is refused
        w.until(drops(w, DROP_CONNECT_FAILED, 5), "five refused reconnects")
        assert channel.running  # nothing escaped the thread (pytestmark)
        assert w.states() == [True, False]
        assert w.reasons()[1].startswith(f"market channel down: {DROP_CLOSED}")
        s = channel.stats
        assert s.ups == 1 and s.attempts >= 6 and s.up is False
        assert_backoff_grew(w, 5)
        # the delays are the seeded sequence itself: reproducible
        again = Backoff(BASE_S, CAP_S, random.Random(SEED))
        assert s.backoff_delays == tuple(again.next_delay() for _ in s.backoff_delays)
    finally:
        if channel is not None:
            assert channel.stop()
            assert not channel.running


# ------------------------------------------------------------------------------ bad frames


def book_frame(asset: str) -> dict:
    ts = str(time.time_ns() // MS)
    return {"event_type": "book", "asset_id": asset, "market": M.condition_id, "timestamp": ts,
            "bids": [{"price": "0.48", "size": "10"}],
            "asks": [{"price": "0.52", "size": "20"}]}  # fmt: skip


def test_bad_frames_are_counted_and_logged_never_fatal(caplog) -> None:
    channel = MarketChannel("ws://127.0.0.1:9/ws/market")  # never started: the handler alone
    now = time.time_ns()
    frames = ["not json {", "INVALID OPERATION", b"\xff\xfe{",
              json.dumps([book_frame(YES), {"event_type": "book", "market": "0x1"}]),
              json.dumps({"event_type": "mystery", "timestamp": "1"}), "PONG"]  # fmt: skip
    with caplog.at_level(logging.WARNING):
        events = [e for f in frames for e in channel.handle_frame(f, now)]
    assert [(type(e), e.asset_id, e.ts_recv_ns) for e in events] == [(BookSnapshot, YES, now)]
    s = channel.stats
    assert s.errors == {"invalid_json": 3, "missing_field": 1, "unknown_event_type": 1}
    assert (s.frames, s.messages, s.events, s.error_count) == (6, 1, 1, 5)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 5 and sum("invalid_json" in m for m in warned) == 3


class _BrokenParser(MarketFrameParser):
    def parse(self, frame, recv_ns):
        raise ZeroDivisionError("a parser bug")


def test_a_frame_handler_bug_is_counted_not_raised(caplog) -> None:
    channel = MarketChannel("ws://127.0.0.1:9/ws/market", parser=_BrokenParser())
    with caplog.at_level(logging.WARNING):
        assert channel.handle_frame(json.dumps(book_frame(YES)), time.time_ns()) == []
    assert channel.stats.errors == {HANDLER_ERROR: 1}
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert HANDLER_ERROR in record.getMessage() and record.exc_info is not None


@contextlib.contextmanager
def scripted_server(replies: list[str]) -> Iterator[str]:
    """A market socket on 127.0.0.1 that answers PING with PONG and any other message
    with ``replies`` (bad frames among good ones); yields its URL."""

    async def market(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            if msg.data == "PING":
                await ws.send_str("PONG")
            else:
                for frame in replies:
                    await ws.send_str(frame)
        return ws

    app = web.Application()
    app.router.add_get("/ws/market", market)
    runner = web.AppRunner(app, handle_signals=False)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> str:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return f"ws://{host}:{port}/ws/market"

    try:
        yield asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_bad_frames_on_the_socket_leave_it_up(caplog) -> None:
    replies = [
        "INVALID OPERATION",
        "[1, 2]",
        json.dumps([book_frame(YES), book_frame(NO)]),
        json.dumps(
            {
                "event_type": "price_change",
                "market": M.condition_id,
                "timestamp": str(time.time_ns() // MS),
                "price_changes": [{"asset_id": YES, "price": "abc", "size": "1", "side": "BUY"}],
            }
        ),
    ]
    with scripted_server(replies) as url, channel_on(url) as w, \
            caplog.at_level(logging.WARNING):  # fmt: skip
        w.until(up_again(w, 1), "the channel up")
        w.until(lambda: w.channel.stats.error_count == 4, "the bad frames counted")
        assert [type(e) for e in w.events] == [BookSnapshot, BookSnapshot, ConnectionState]
        s = w.channel.stats
        assert s.errors == {"invalid_json": 1, "not_an_object": 2, "bad_number": 1}
        assert (s.connects, s.drops, s.up) == (1, {}, True) and w.channel.running
        assert local_levels(w.feed, YES) == {"bids": [(0.48, 10.0)], "asks": [(0.52, 20.0)]}
        assert sum(r.levelno == logging.WARNING for r in caplog.records) >= 4


def test_a_resolved_asset_is_not_waited_for() -> None:
    resolved = {"event_type": "market_resolved", "market": "0x" + "ab" * 32,
                "assets_ids": [GONE_YES, GONE_NO], "winning_asset_id": GONE_YES,
                "timestamp": str(time.time_ns() // MS)}  # fmt: skip
    replies = [json.dumps(book_frame(YES)), json.dumps(resolved)]
    with scripted_server(replies) as url, channel_on(url, [YES, GONE_YES]) as w:
        w.until(up_again(w, 1), "the channel up")
        assert [type(e) for e in w.events] == [BookSnapshot, MarketResolved, ConnectionState]
        assert w.channel.stats.drops == {}


def test_without_assets_it_is_up_on_pong_and_subscribes_later() -> None:
    with scripted_server([json.dumps(book_frame(YES))]) as url, channel_on(url, []) as w:
        w.until(up_again(w, 1), "the channel up")
        assert [type(e) for e in w.events] == [ConnectionState]  # on its PONG alone
        assert w.channel.stats.frames == 0
        w.feed.subscribe([YES])  # sent on the open socket; its book follows
        w.until(lambda: bool(w.of(BookSnapshot)), "YES's book")
        assert local_levels(w.feed, YES) == {"bids": [(0.48, 10.0)], "asks": [(0.52, 20.0)]}
        assert w.channel.assets == (YES,) and w.states() == [True]


# ----------------------------------------------------------------------------- the pieces


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_resets() -> None:
    a, b = Backoff(0.5, 4.0, random.Random(3)), Backoff(0.5, 4.0, random.Random(3))
    ceilings, delays = [], []
    for _ in range(6):
        ceilings.append(a.ceiling_s)
        delays.append(a.next_delay())
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert delays == [b.next_delay() for _ in range(6)]  # seeded: reproducible
    a.reset()
    assert (a.failures, a.ceiling_s) == (0, 0.5)
    for bad in (dict(base_s=0, cap_s=1), dict(base_s=2, cap_s=1), dict(base_s=1, cap_s=-1)):
        with pytest.raises(ConfigError):
            Backoff(**bad)


@pytest.mark.parametrize("key", ["ping_interval_s", "pong_timeout_s", "silence_s"])
def test_intervals_must_be_positive(key: str) -> None:
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match=key):
            MarketChannel("ws://127.0.0.1:9/ws/market", **{key: bad})


def test_the_url_must_be_a_websocket_url() -> None:
    for bad in ("http://127.0.0.1:9/ws/market", "ws://", "127.0.0.1:9"):
        with pytest.raises(ConfigError, match="url"):
            MarketChannel(bad)


def test_a_channel_starts_once() -> None:
    channel = MarketChannel("ws://127.0.0.1:9/ws/market")  # nothing listens: refused
    channel.subscribe([YES, YES, NO])
    channel.subscribe([NO])
    assert channel.assets == (YES, NO)
    feed = QueueFeed(WallClock(), new_books(), on_subscribe=channel.subscribe)
    channel.start(feed)
    with pytest.raises(RuntimeError, match="starts once"):
        channel.start(feed)
    assert channel.stop() and not channel.running
    never = MarketChannel("ws://127.0.0.1:9/ws/market")
    assert never.stop()  # stopping a channel never started is fine; starting it then is not
    with pytest.raises(RuntimeError, match="starts once"):
        never.start(feed)
