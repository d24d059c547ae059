"""The market channel's WebSocket client: Polymarket's ``/ws/market`` -> a ``QueueFeed``.

``MarketChannel`` keeps one websocket-client connection on its own daemon thread,
parses every frame with ``live.market_messages.MarketFrameParser`` (stamped with the
feed's clock) and ``put``s the events into the ``sim.feed.QueueFeed`` the engine
drains. Protocol reference §6 (messages, keep-alives) and §9.5/§9.6 (silent sockets,
stale books).

Wiring::

    channel = MarketChannel(url)
    feed = QueueFeed(clock, books, on_subscribe=channel.subscribe)
    feed.subscribe(assets)        # -> channel.subscribe(new assets)
    channel.start(feed)
    ...
    channel.stop()

or ``open_market_feed(url, clock, books, assets)``, which does exactly that.

Subscriptions. The first message on each connection subscribes every asset so far
with ``initial_dump`` (a fresh ``book`` of each); assets added while connected go out
as ``{"operation": "subscribe"}`` (their ``book`` follows). A reconnect resubscribes
everything with ``initial_dump``, so each book is rebuilt from a fresh snapshot.

A connection is *up* once every asset it subscribed has had its fresh ``book`` and the
server has answered the text ``PING`` sent right after the subscribe: the data flows
and the server listens. Only then is ``ConnectionState(connected=True)`` put (right
after the snapshots, from the same thread, so the engine sees it after them) and the
reconnect backoff reset. When a connection dies (or the first one cannot be made),
``ConnectionState(connected=False, reason=...)`` is put once; reconnect attempts that
fail do not repeat it. In between the books are stale: the engine hands the state
to the executor (``Executor.on_feed_state``), which takes no new risk meanwhile.

A connection is judged dead (``DROPS``) when

* ``no_pong``: a ``PING`` (sent every ``ping_interval_s``) is unanswered for
  ``pong_timeout_s``;
* ``silence``: assets are subscribed and no market data arrived for ``silence_s``
  (a socket can answer PONG and send nothing for hours, reference §9.5);
* ``no_book``: some subscribed asset's ``book`` has not come ``silence_s`` after its
  subscribe (also one added to a connection that is up; assets a ``market_resolved``
  named are not waited for). An asset the venue does not know (it ignores such ids)
  therefore keeps the channel down, with its id in the reason: fail-safe, never
  trusting a book that cannot be rebuilt;
* ``closed``: the server closed the socket or the connection was lost;
* ``connect_failed``: the connection or the WebSocket handshake failed;
* ``internal_error``: a bug in this module (logged with its traceback);

then the socket is closed and, after a delay, a new connection is made: exponential
backoff with full jitter, the n-th consecutive failure waits ``uniform(0, min(cap,
base * 2**n))`` (``Backoff``; its ``random.Random`` can be seeded). A connection that
never comes up (a silent or no-PONG server, a drop window) keeps the backoff growing.

Bad frames never stop the thread: the parser counts each rejected message by reason
and logs it at WARNING (throttled, ``TolerantParser``); an unexpected exception while
handling a frame is counted as ``handler_error`` and logged at WARNING with its
traceback. ``stats`` returns a snapshot of the counters (``MarketChannelStats``).

``stop()`` sends a close frame, waits for the close handshake (then aborts the socket
if the server does not answer) and joins the thread. It puts
``ConnectionState(connected=False, reason="market channel stopped")`` unless the feed
already knows the channel is down. The feed itself is not closed: it may have other
producers (the user channel); its owner closes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import websocket

from live.backoff import Backoff
from live.market_messages import MarketFrameParser, is_keepalive
from live.market_stats import (  # re-exported: the channel's public names
    DROP_CLOSED,
    DROP_CONNECT_FAILED,
    DROP_INTERNAL,
    DROP_NO_BOOK,
    DROP_NO_PONG,
    DROP_SILENCE,
    DROPS,
    HANDLER_ERROR,
    MarketChannelStats,
)
from live.recorder import FrameRecorder
from live.ws_support import abort, check_positive_seconds, close_info, describe
from sim.books import LocalBooks
from sim.clock import Clock
from sim.errors import ConfigError
from sim.events import BookSnapshot, ConnectionState, MarketEvent, MarketResolved
from sim.feed import QueueFeed

__all__ = [
    "DROPS",
    "DROP_CLOSED",
    "DROP_CONNECT_FAILED",
    "DROP_INTERNAL",
    "DROP_NO_BOOK",
    "DROP_NO_PONG",
    "DROP_SILENCE",
    "HANDLER_ERROR",
    "Backoff",
    "MarketChannel",
    "MarketChannelStats",
    "open_market_feed",
]

log = logging.getLogger(__name__)


#: the shortest socket timeout (a deadline already due is judged before the read); sends
#: from ``subscribe`` share the socket's timeout, so it is never tiny
_MIN_WAIT_S = 0.01
_KEEP_DELAYS = 100  # backoff delays kept in the stats


class _FeedClosed(Exception):
    """The feed refused an event: it is closed, nothing more will be read."""


@dataclass
class _Socket:
    """One connection's watch state (monotonic seconds)."""

    ws: websocket.WebSocket
    last_data: float
    next_ping: float
    pending: set[str] = field(default_factory=set)  # assets whose fresh book is awaited
    watch_since: float | None = None  # when the socket first had assets to watch
    book_deadline: float = math.inf
    ping_out: float | None = None  # the oldest unanswered PING
    pong_seen: bool = False
    got_data: bool = False  # any market data on this socket


class MarketChannel:
    """The market channel on its own daemon thread, feeding a ``QueueFeed`` (module doc).

    ``url``: the ``/ws/market`` URL. ``assets``: subscribed from the start (more with
    ``subscribe``, which is ``QueueFeed``'s ``on_subscribe``). ``ping_interval_s``: a
    text ``PING`` this often; ``pong_timeout_s``: dead without its ``PONG`` by then;
    ``silence_s``: dead without market data (or a subscribed asset's book) for this
    long; ``connect_timeout_s``: the TCP connect and the WebSocket handshake;
    ``close_timeout_s``: how long a close handshake may take; ``backoff_base_s``,
    ``backoff_cap_s``, ``rng``: the reconnect delays (``Backoff``);
    ``custom_feature_enabled``: also ``best_bid_ask`` and ``market_resolved``.
    """

    def __init__(
        self,
        url: str,
        assets: Iterable[str] = (),
        *,
        ping_interval_s: float = 10.0,
        pong_timeout_s: float = 5.0,
        silence_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        close_timeout_s: float = 1.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        rng: random.Random | None = None,
        custom_feature_enabled: bool = True,
        parser: MarketFrameParser | None = None,
        name: str = "market-channel",
        recorder: FrameRecorder | None = None,
    ) -> None:
        for key, value in (("ping_interval_s", ping_interval_s),
                           ("pong_timeout_s", pong_timeout_s), ("silence_s", silence_s),
                           ("connect_timeout_s", connect_timeout_s),
                           ("close_timeout_s", close_timeout_s)):  # fmt: skip
            check_positive_seconds(key, value)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError("url", f"not a ws:// or wss:// URL: {url!r}")
        self.url = url
        self.recorder = recorder  # raw frames and connection changes, as received
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.silence_s = silence_s
        self.connect_timeout_s = connect_timeout_s
        self.close_timeout_s = close_timeout_s
        self.custom_feature_enabled = custom_feature_enabled
        self.name = name
        self.parser = parser if parser is not None else MarketFrameParser()
        self._backoff = Backoff(backoff_base_s, backoff_cap_s, rng)

        self._lock = threading.Lock()  # the assets, the socket and its watch state
        self._assets: dict[str, None] = dict.fromkeys(assets)  # in subscription order
        self._resolved: set[str] = set()
        self._sock: _Socket | None = None

        self._stats_lock = threading.Lock()  # the counters (the parser's included)
        self._attempts = 0
        self._connects = 0
        self._ups = 0
        self._up: bool | None = None
        self._frames = 0
        self._events = 0
        self._pings = 0
        self._pongs = 0
        self._handler_errors = 0
        self._drops: Counter[str] = Counter()
        self._last_data_ns = 0
        self._delays: deque[float] = deque(maxlen=_KEEP_DELAYS)

        self._feed: QueueFeed | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ any thread
    def subscribe(self, asset_ids: Sequence[str]) -> None:
        """Also subscribe these assets (``QueueFeed``'s ``on_subscribe``). On a live
        connection they are sent at once (their ``book`` follows); otherwise with the
        next connection's subscribe. Assets already subscribed are skipped."""
        with self._lock:
            new = [a for a in dict.fromkeys(asset_ids) if a not in self._assets]
            if not new:
                return
            self._assets.update(dict.fromkeys(new))
            sock = self._sock
            if sock is None:
                return
            now = time.monotonic()
            if sock.watch_since is None:
                sock.watch_since = now
            waited = [a for a in new if a not in self._resolved]
            if waited:  # their books must come too (the whole batch gets the new deadline)
                sock.pending.update(waited)
                sock.book_deadline = now + self.silence_s
            message = {"assets_ids": new, "operation": "subscribe",
                       "custom_feature_enabled": self.custom_feature_enabled}  # fmt: skip
            try:
                sock.ws.send(_json(message))
            except (websocket.WebSocketException, OSError) as exc:
                # maybe half a frame went out: the stream cannot be trusted. Drop the
                # socket; the thread reconnects and subscribes everything afresh.
                log.warning("market channel: subscribe of %d assets failed (%s); "
                            "reconnecting", len(new), describe(exc))  # fmt: skip
                abort(sock.ws)

    @property
    def assets(self) -> tuple[str, ...]:
        """Every asset subscribed, in subscription order."""
        with self._lock:
            return tuple(self._assets)

    @property
    def stats(self) -> MarketChannelStats:
        with self._stats_lock:
            errors = dict(self.parser.errors)
            if self._handler_errors:
                errors[HANDLER_ERROR] = self._handler_errors
            return MarketChannelStats(
                attempts=self._attempts, connects=self._connects, ups=self._ups, up=self._up,
                frames=self._frames, messages=self.parser.messages, events=self._events,
                pings=self._pings, pongs=self._pongs, errors=errors,
                notes=dict(self.parser.notes), drops=dict(self._drops),
                last_data_ns=self._last_data_ns, backoff_delays=tuple(self._delays),
            )  # fmt: skip

    @property
    def running(self) -> bool:
        """True while the channel's thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def handle_frame(self, frame: str | bytes, recv_ns: int) -> list[MarketEvent]:
        """Parse one received frame; never raises. Bad messages are counted (``stats``)
        and logged at WARNING; the good ones of the same frame are returned."""
        with self._stats_lock:
            self._frames += 1
            try:
                events = self.parser.parse(frame, recv_ns)
            except Exception:  # a parser bug must not cost the connection
                self._handler_errors += 1
                count = self._handler_errors
                log.warning("market channel: handling a frame failed (%s #%d); frame "
                            "dropped: %.200r", HANDLER_ERROR, count, frame,
                            exc_info=True)  # fmt: skip
                return []
            self._events += len(events)
            return events

    # ------------------------------------------------------------------ lifecycle
    def start(self, feed: QueueFeed) -> None:
        """Connect and feed ``feed`` from a daemon thread (once per channel)."""
        if self._thread is not None or self._stopping.is_set():
            raise RuntimeError("a MarketChannel starts once (and not after stop())")
        self._feed = feed
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Close the connection cleanly and join the thread. True when the thread ended
        (within ``timeout_s``; default: the connect timeout plus the close timeout, the
        longest a handshake under way may still take)."""
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return True
        with self._lock:
            sock = self._sock
        if sock is not None:  # already gone when it fails: the thread is on its way out
            with contextlib.suppress(websocket.WebSocketException, OSError):
                sock.ws.send_close(websocket.STATUS_NORMAL, b"client stopping")
        thread.join(self.close_timeout_s)
        if thread.is_alive() and sock is not None:
            abort(sock.ws)  # no close reply: wake the reader
        if timeout_s is None:
            timeout_s = self.connect_timeout_s + self.close_timeout_s
        thread.join(timeout_s)
        if thread.is_alive():
            log.error("market channel: thread %s did not end within %.1f s", self.name,
                      timeout_s)  # fmt: skip
            return False
        return True

    def __enter__(self) -> MarketChannel:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    # ------------------------------------------------------------------ the thread
    def _run(self) -> None:
        log.info("market channel: connecting to %s (%d assets)", self.url, len(self._assets))
        try:
            while not self._stopping.is_set():
                try:
                    verdict = self._session()
                except _FeedClosed:
                    raise
                except Exception as exc:  # a bug here must not end the feed's only source
                    log.exception("market channel: internal error")
                    verdict = (DROP_INTERNAL, describe(exc))
                if verdict is None or self._stopping.is_set():
                    break
                kind, detail = verdict
                self._down(kind, detail)
                delay = self._backoff.next_delay()
                with self._stats_lock:
                    self._delays.append(delay)
                log.warning("market channel: %s (%s); reconnecting in %.2f s (failure %d)",
                            kind, detail, delay, self._backoff.failures)  # fmt: skip
                if self._stopping.wait(delay):
                    break
            self._tell(False, "market channel stopped")
        except _FeedClosed:
            log.info("market channel: the feed is closed; the channel stops")
        log.info("market channel: stopped")

    def _session(self) -> tuple[str, str] | None:
        """One connection, from the attempt to its death: the verdict (None: stopping)."""
        with self._stats_lock:
            self._attempts += 1
        try:
            ws = websocket.create_connection(
                self.url, timeout=self.connect_timeout_s, skip_utf8_validation=True,
                enable_multithread=True,
            )  # fmt: skip
        except (websocket.WebSocketException, OSError) as exc:
            return DROP_CONNECT_FAILED, describe(exc)
        try:
            sock = self._open(ws)
            if sock is None:
                return None
            return self._pump(sock)
        except (websocket.WebSocketException, OSError) as exc:
            return None if self._stopping.is_set() else (DROP_CLOSED, describe(exc))
        finally:
            with self._lock:
                self._sock = None
            self._close(ws)

    def _open(self, ws: websocket.WebSocket) -> _Socket | None:
        """Subscribe everything (with ``initial_dump``) and PING; None when stopping."""
        now = time.monotonic()
        with self._stats_lock:
            self._connects += 1
            connects = self._connects
        with self._lock:
            if self._stopping.is_set():
                return None
            assets = list(self._assets)
            sock = _Socket(ws, last_data=now, next_ping=now + self.ping_interval_s)
            if assets:
                sock.watch_since = now
                sock.pending = {a for a in assets if a not in self._resolved}
                sock.book_deadline = now + self.silence_s
                ws.send(_json({"assets_ids": assets, "type": "market", "initial_dump": True,
                               "custom_feature_enabled": self.custom_feature_enabled}))  # fmt: skip
            self._ping_due(sock, now)
            self._send_ping(ws)  # the answer, with the books, says the connection is up
            self._sock = sock
        log.info("market channel: connected (connection %d), subscribed %d assets",
                 connects, len(assets))  # fmt: skip
        return sock

    def _pump(self, sock: _Socket) -> tuple[str, str] | None:
        ws = sock.ws
        while not self._stopping.is_set():
            now = time.monotonic()
            with self._lock:
                verdict = self._verdict(sock, now)
                ping = verdict is None and now >= sock.next_ping
                if ping:
                    self._ping_due(sock, now)
                wait = self._next_deadline(sock) - now
            if verdict is not None:
                return verdict
            if ping:  # sent outside the lock: a congested socket must not block subscribe()
                self._send_ping(ws)
            ws.settimeout(max(wait, _MIN_WAIT_S))
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            recv_ns = self._clock_ns()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return None if self._stopping.is_set() else (DROP_CLOSED, close_info(data)[1])
            if opcode == websocket.ABNF.OPCODE_TEXT and isinstance(data, bytes):
                # utf-8 is checked here, not by websocket-client: a frame that is not
                # stays bytes and the parser counts it (invalid_json), the socket lives on
                with contextlib.suppress(UnicodeDecodeError):
                    data = data.decode("utf-8")
            if self.recorder is not None and not is_keepalive(data):
                self.recorder.frame(data, recv_ns)
            self._on_frame(sock, data, recv_ns)
        return None

    def _ping_due(self, sock: _Socket, now: float) -> None:
        """A PING goes now: the PONG clock starts unless one is already unanswered."""
        if sock.ping_out is None:
            sock.ping_out = now
        sock.next_ping = now + self.ping_interval_s

    def _send_ping(self, ws: websocket.WebSocket) -> None:
        ws.send("PING")
        with self._stats_lock:
            self._pings += 1

    def _verdict(self, sock: _Socket, now: float) -> tuple[str, str] | None:
        if sock.ping_out is not None and now - sock.ping_out >= self.pong_timeout_s:
            return DROP_NO_PONG, f"no PONG within {self.pong_timeout_s:g} s"
        quiet = 0.0 if sock.watch_since is None else now - max(sock.last_data, sock.watch_since)
        silent = quiet >= self.silence_s
        # both can be due at once (the book deadline starts with the subscribe): a socket
        # that sent some data but not every book is missing books, not silent
        if sock.pending and now >= sock.book_deadline and (sock.got_data or not silent):
            missing = sorted(sock.pending)
            shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
            return DROP_NO_BOOK, f"no book for {len(missing)} subscribed assets ({shown})"
        if silent:
            return DROP_SILENCE, f"no market data for {quiet:.1f} s"
        return None

    def _next_deadline(self, sock: _Socket) -> float:
        due = [sock.next_ping]
        if sock.ping_out is not None:
            due.append(sock.ping_out + self.pong_timeout_s)
        if sock.watch_since is not None:
            due.append(max(sock.last_data, sock.watch_since) + self.silence_s)
        if sock.pending:
            due.append(sock.book_deadline)
        return min(due)

    def _on_frame(self, sock: _Socket, data: str | bytes, recv_ns: int) -> None:
        if is_keepalive(data):
            if _is_pong(data):
                with self._stats_lock:
                    self._pongs += 1
                with self._lock:
                    sock.ping_out = None
                    sock.pong_seen = True
                    came_up = self._came_up(sock)
                if came_up:
                    self._tell(True, came_up)
            return
        events = self.handle_frame(data, recv_ns)
        if not events:
            return
        now = time.monotonic()
        with self._lock:
            sock.last_data = now
            sock.got_data = True
            for ev in events:
                if isinstance(ev, BookSnapshot):
                    sock.pending.discard(ev.asset_id)
                elif isinstance(ev, MarketResolved):
                    self._resolved.update(ev.asset_ids)
                    sock.pending.difference_update(ev.asset_ids)
            came_up = self._came_up(sock)
        with self._stats_lock:
            self._last_data_ns = recv_ns
        self._put(events)
        if came_up:
            self._tell(True, came_up)

    def _came_up(self, sock: _Socket) -> str:
        """The reason to tell the feed the channel is up, or "" (under ``_lock``)."""
        if self._up is True or sock.pending or not sock.pong_seen:
            return ""
        with self._stats_lock:
            first = self._ups == 0
        how = "connected" if first else "reconnected"
        return f"market channel {how}: fresh books of {len(self._assets)} assets"

    def _tell(self, connected: bool, reason: str) -> None:
        """Put a ``ConnectionState`` when it changes what the feed was told."""
        with self._stats_lock:
            if self._up is connected:
                return
            self._up = connected
            if connected:
                self._ups += 1
        if connected:
            self._backoff.reset()
            log.info("%s", reason)
        now = self._clock_ns()
        if self.recorder is not None:
            self.recorder.connection(connected, reason, now)
        self._put([ConnectionState(now, now, connected=connected, reason=reason)])

    def _down(self, kind: str, detail: str) -> None:
        with self._stats_lock:
            self._drops[kind] += 1
        self._tell(False, f"market channel down: {kind}: {detail}")

    def _put(self, events: list) -> None:
        feed = self._feed
        if feed is None:
            return
        try:
            feed.put(events)
        except RuntimeError as exc:  # QueueFeed.put after close()
            raise _FeedClosed(str(exc)) from None

    def _clock_ns(self) -> int:
        return self._feed.clock.now_ns() if self._feed is not None else time.time_ns()

    def _close(self, ws: websocket.WebSocket) -> None:
        """Close handshake if the socket is still open, then release it."""
        try:
            if ws.connected:
                ws.close(websocket.STATUS_NORMAL, timeout=self.close_timeout_s)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            ws.shutdown()


def open_market_feed(
    url: str, clock: Clock, books: LocalBooks, assets: Sequence[str] = (), **options: Any
) -> tuple[QueueFeed, MarketChannel]:
    """A ``QueueFeed`` over ``books`` fed by a started ``MarketChannel`` subscribed to
    ``assets`` (``options``: ``MarketChannel``'s keywords). The caller stops the channel
    (``stop()``) and closes the feed."""
    channel = MarketChannel(url, **options)
    feed = QueueFeed(clock, books, on_subscribe=channel.subscribe)
    feed.subscribe(list(assets))
    channel.start(feed)
    return feed, channel


def _json(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def _is_pong(frame: str | bytes) -> bool:
    text = frame.decode("ascii", "replace") if isinstance(frame, bytes) else frame
    return text.strip().upper() == "PONG"
