"""``UserChannel`` against the loopback mock: our orders and fills from ``/ws/user`` and the
REST poller into a ``QueueFeed``, each fill exactly once whichever source (or how many
repeats of a trade) told it; a failed trade surfaced; a fill made while the socket was
down delivered by the poller; bad credentials ending in a verdict, not a retry loop."""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from exchange_mock.faults import FaultSpec
from live.clob_api import ClobApi
from live.live_venue import LiveVenue
from live.user_feed import UserChannel, order_state, order_status, trade_fills
from live.user_messages import MakerOrder, UserOrder, UserTrade
from sim.books import LocalBooks
from sim.clock import SimClock, WallClock
from sim.events import FillEvent, OrderUpdate
from sim.feed import QueueFeed
from sim.types import Liquidity, OrderRequest, OrderStatus, OrderType, Side
from tests.server_helpers import KEY, NO, YES, M, plan, running_server, write_dataset

WAIT_S = 5.0  # the longest anything may take to arrive (a deadline, never a sleep)
OPEN, CANCELED, FILLED = OrderStatus.OPEN, OrderStatus.CANCELED, OrderStatus.FILLED


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("user_feed") / "ds", minutes=4)


def venue(run) -> LiveVenue:
    return LiveVenue(ClobApi(run.urls.rest, 137, KEY, http_timeout_s=2.0), [M], WallClock())


def channel(url: str, v: LiveVenue, **kw) -> UserChannel:
    options: dict = dict(poll_s=3600.0, poll_deadline_s=2.0, backoff_base_s=0.05,
                         backoff_cap_s=0.2, rng=random.Random(7))  # fmt: skip
    return UserChannel(url, v, **(options | kw))


def bid(cid: str, price: float = 0.45, size: float = 10.0) -> OrderRequest:
    return OrderRequest(cid, YES, Side.BUY, price, size)


def fok(cid: str) -> OrderRequest:  # takes 20 of the 0.52 ask
    return OrderRequest(cid, YES, Side.BUY, 0.52, 20.0, order_type=OrderType.FOK)


class Sink:
    """The engine's side: a ``QueueFeed`` drained into ``events``."""

    def __init__(self) -> None:
        books = LocalBooks((YES, NO), np.full(2, 0.01), 100)
        self.feed = QueueFeed(SimClock(0), books)  # never waits: drained as it comes
        self.events: list = []

    def wait(self, done: Callable[[], bool], what: str = "") -> None:
        deadline = time.monotonic() + WAIT_S
        while True:
            self.events += self.feed.advance(0)
            if done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"not within {WAIT_S} s: {what}; events {self.events}")
            time.sleep(0.01)

    def fills(self, cid: str) -> list:
        return [e.fill for e in self.events
                if isinstance(e, FillEvent) and e.fill.client_order_id == cid]  # fmt: skip

    def states(self, cid: str) -> list[OrderStatus]:
        return [e.order.status for e in self.events
                if isinstance(e, OrderUpdate) and e.order.client_order_id == cid]  # fmt: skip


def started(ch: UserChannel, sink: Sink) -> None:
    """Up, and the two opening polls (at start, and when the socket came up) done: what
    follows is heard on the socket first."""
    assert ch.wait_up(WAIT_S)
    sink.wait(lambda: ch.stats.polls >= 2, "the opening polls")


class Relay:
    """A loopback TCP relay in front of the mock: ``cut()`` closes every relayed connection
    and closes new ones as soon as they are accepted, until ``restore()``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname, parts.port)
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self.url = url.replace(f":{parts.port}/", f":{self._server.getsockname()[1]}/")
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._cut.is_set():
                conn.close()
                continue
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._open |= {conn, upstream}
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            conns, self._open = self._open, set()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._server.close()


# ------------------------------------------------------------------------------ mapping


def test_order_messages_map_to_order_states() -> None:
    kill = "CANCELED_order couldn't be fully filled. FOK orders are fully filled or killed."
    assert order_status("LIVE", "PLACEMENT", 10, 0) is OPEN
    assert order_status("LIVE", "UPDATE", 10, 4) is OrderStatus.PARTIALLY_FILLED
    assert order_status("MATCHED", "UPDATE", 10, 10) is FILLED
    assert order_status(kill, "CANCELLATION", 10, 0) is CANCELED
    assert order_status("INVALID", "CANCELLATION", 10, 0) is CANCELED
    assert order_status("CANCELED", "CANCELLATION", 10, 4) is CANCELED
    assert order_status("CANCELED_EXPIRED_ORDER", "CANCELLATION", 10, 0) is OrderStatus.EXPIRED
    msg = UserOrder(1, 2, "0xabc", "UPDATE", M.condition_id, YES, Side.SELL, 0.6, 10.0, 4.0,
                    "LIVE", order_type="GTD", created_at_ns=5)  # fmt: skip
    ours = order_state(msg, {"0xabc": "c-9"}.get)
    assert (ours.client_order_id, ours.venue_order_id, ours.status, ours.order_type) == (
        "c-9", "0xabc", OrderStatus.PARTIALLY_FILLED, OrderType.GTD)  # fmt: skip
    assert (ours.side, ours.price, ours.size_shares, ours.filled_shares, ours.created_ns) == (
        Side.SELL, 0.6, 10.0, 4.0, 5)  # fmt: skip
    assert order_state(msg, {}.get).client_order_id == "0xabc"  # not ours: the hash shows


def test_trade_messages_give_our_legs_with_the_rest_trade_ids() -> None:
    makers = (MakerOrder("0xm1", NO, 0.48, 6.0),  # ours, on the complement, no side sent
              MakerOrder("0xm2", YES, 0.52, 4.0, side=Side.SELL),  # ours, side sent
              MakerOrder("0xzz", YES, 0.52, 5.0))  # someone else's  # fmt: skip
    trade = UserTrade(10, 11, "t-1", "0xtk", M.condition_id, YES, Side.BUY, 0.52, 15.0,
                      "MATCHED", makers, fee_rate_bps=100.0, matchtime_ns=9)  # fmt: skip
    ids = {"0xtk": "c-t", "0xm1": "c-1", "0xm2": "c-2"}
    fills = trade_fills(trade, ids.get)
    assert [(f.trade_id, f.client_order_id, f.asset_id, f.side, f.liquidity, f.size_shares)
            for f in fills] == [
        ("t-1:0xtk", "c-t", YES, Side.BUY, Liquidity.TAKER, 15.0),
        ("t-1:0xm1", "c-1", NO, Side.BUY, Liquidity.MAKER, 6.0),
        ("t-1:0xm2", "c-2", YES, Side.SELL, Liquidity.MAKER, 4.0),
    ]  # fmt: skip
    assert fills[0].fee_usdc == pytest.approx(15.0 * 0.01 * 0.52 * 0.48)
    assert [f.fee_usdc for f in fills[1:]] == [0.0, 0.0] and {f.ts_ns for f in fills} == {9}
    assert trade_fills(trade, {}.get) == []


# ------------------------------------------------------------------------------ on the wire


def test_orders_and_fills_arrive_once_each_from_socket_and_poller(data: Path) -> None:
    with running_server(data) as run:
        v, sink = venue(run), Sink()
        ch = channel(run.urls.ws_user, v)
        ch.start(sink.feed)
        try:
            started(ch, sink)
            v.place(bid("b-1"), deadline_s=2.0)
            sink.wait(lambda: sink.states("b-1") == [OPEN], "PLACEMENT")
            assert v.cancel("b-1", deadline_s=2.0).canceled
            run.advance(0.05)  # the cancel notice goes out when the replay moves
            sink.wait(lambda: sink.states("b-1") == [OPEN, CANCELED], "CANCELLATION")
            reasons = [e.reason for e in sink.events if isinstance(e, OrderUpdate)]
            assert reasons == ["PLACEMENT", "CANCELLATION"]

            # a marketable FOK: its trade is heard at MATCHED, MINED and CONFIRMED, and
            # the poller sees it after each: one fill
            v.place(fok("f-1"), deadline_s=2.0)
            sink.wait(lambda: sink.fills("f-1") and ch.stats.trades == {"MATCHED": 1})
            for step, status in ((3.0, "MINED"), (4.0, "CONFIRMED")):
                run.advance(step)
                sink.wait(lambda status=status: ch.stats.trades.get(status) == 1, status)
                ch.poll_once()
            sink.wait(lambda: True)
            (taker,) = sink.fills("f-1")
            assert [f.trade_id for f in v.fills(0, deadline_s=2.0)] == [taker.trade_id]
            assert (taker.liquidity, taker.side, taker.price, taker.size_shares) == (
                Liquidity.TAKER, Side.BUY, 0.52, 20.0)  # fmt: skip

            # a resting bid filled by the recorded sellers: one MAKER fill
            v.place(bid("m-1", 0.48, 5.0), deadline_s=2.0)
            sink.wait(lambda: sink.states("m-1") == [OPEN], "PLACEMENT")
            run.advance(120.0)
            sink.wait(lambda: sink.fills("m-1") and FILLED in sink.states("m-1"), "maker")
            run.advance(7.0)  # the maker trade settles: its statuses repeat it
            sink.wait(lambda: ch.stats.trades.get("CONFIRMED") == 2, "maker CONFIRMED")
            ch.poll_once()
            sink.wait(lambda: True)
            (maker,) = sink.fills("m-1")
            assert (maker.liquidity, maker.side, maker.price, maker.size_shares) == (
                Liquidity.MAKER, Side.BUY, 0.48, 5.0)  # fmt: skip
            rest = [f.trade_id for f in v.fills(0, deadline_s=2.0) if f.client_order_id == "m-1"]
            assert rest == [maker.trade_id]
            assert sink.states("m-1") == [OPEN, FILLED]
            st = ch.stats
            assert (st.fills_socket, st.fills_poll) == (2, 0)  # the poller found nothing new
            assert st.duplicate_fills >= 5  # the taker's 2 repeats and 2 polls, the maker's poll
            assert st.errors == {} and st.failed_after_fill == 0 and st.ups == 1
        finally:
            assert ch.stop()
            v.api.close()


def test_a_trade_that_fails_after_its_fill_is_surfaced(data: Path, caplog) -> None:
    fail = FaultSpec("trade_fail", calls=("place",), every_n=1, max_count=1)
    with running_server(data, faults=plan(fail)) as run:
        v, sink = venue(run), Sink()
        ch = channel(run.urls.ws_user, v)
        ch.start(sink.feed)
        try:
            assert ch.wait_up(WAIT_S)
            v.place(fok("f-1"), deadline_s=2.0)
            sink.wait(lambda: sink.fills("f-1"), "the fill at MATCHED")
            run.advance(3.0)
            sink.wait(lambda: ch.stats.trades.get("RETRYING") == 1, "RETRYING")
            with caplog.at_level(logging.ERROR, logger="live.user_feed"):
                run.advance(2.0)
                sink.wait(lambda: ch.stats.failed_after_fill == 1, "FAILED")
            (fill,) = sink.fills("f-1")
            assert [f.trade_id for f in ch.failed_fills()] == [fill.trade_id]
            assert any("FAILED" in r.getMessage() and r.levelno == logging.ERROR
                       for r in caplog.records)  # fmt: skip
            assert v.fills(0, deadline_s=2.0) == []  # REST drops FAILED trades
            ch.poll_once()
            sink.wait(lambda: True)
            assert len(sink.fills("f-1")) == 1
        finally:
            assert ch.stop()
            v.api.close()


def test_a_fill_made_while_the_socket_is_down_comes_once_by_the_poller(data: Path) -> None:
    with running_server(data) as run:
        v, sink, relay = venue(run), Sink(), Relay(run.urls.ws_user)
        ch = channel(relay.url, v, poll_s=0.2)
        ch.start(sink.feed)
        try:
            assert ch.wait_up(WAIT_S)
            relay.cut()
            sink.wait(lambda: not ch.up, "the socket noticed the drop")
            v.place(fok("f-1"), deadline_s=2.0)  # matched while the socket is down
            v.place(bid("b-1"), deadline_s=2.0)  # rests while it is down
            run.advance(7.0)  # CONFIRMED: no socket will ever carry this trade again
            sink.wait(lambda: sink.fills("f-1") and sink.states("b-1") == [OPEN], "polled")
            sink.wait(lambda: ch.stats.drops.get("connect_failed", 0) >= 2, "retried, in vain")
            st = ch.stats
            assert (st.fills_socket, st.fills_poll, st.ups) == (0, 1, 1)
            assert st.drops.get("closed") == 1

            relay.restore()
            sink.wait(lambda: ch.stats.ups == 2, "reconnected")
            polls = ch.stats.polls
            sink.wait(lambda: ch.stats.polls >= polls + 2, "polled again")
            assert v.cancel("b-1", deadline_s=2.0).canceled
            run.advance(0.05)
            sink.wait(lambda: sink.states("b-1") == [OPEN, CANCELED], "cancelled")
            assert len(sink.fills("f-1")) == 1
            assert [f.trade_id for f in v.fills(0, deadline_s=2.0)] == [
                sink.fills("f-1")[0].trade_id
            ]
        finally:
            assert ch.stop()
            relay.close()
            v.api.close()


def test_bad_credentials_end_in_a_verdict_not_a_retry_loop(data: Path, caplog) -> None:
    with running_server(data) as run:
        v, sink = venue(run), Sink()
        creds = v.api.client.creds
        creds.api_passphrase = "wrong-passphrase"
        ch = channel(run.urls.ws_user, v, poll_s=0.05, max_refusals=3)
        with caplog.at_level(logging.DEBUG):
            ch.start(sink.feed)
            assert ch.join(WAIT_S)  # both threads gave up on their own
        st = ch.stats
        assert (st.attempts, st.connects, st.ups, st.drops) == (3, 3, 0, {"refused": 3})
        assert st.poll_errors == {"VenueRejected": 3} and st.polls == 0
        # two waits between the three attempts, from the backoff (base 0.05 s, doubling)
        assert len(st.backoff_delays) == 2
        assert 0.025 <= st.backoff_delays[0] <= 0.05 <= st.backoff_delays[1] <= 0.1
        assert ch.verdict.count("refused the API credentials") == 2
        assert "code 1008" in ch.verdict and not ch.running and not ch.up
        sink.wait(lambda: True)
        assert sink.events == []
        assert creds.api_secret not in caplog.text and "wrong-passphrase" not in caplog.text
        v.api.close()
