"""The user channel's client: Polymarket's ``/ws/user`` plus a REST poller -> a ``QueueFeed``.

``UserChannel`` reports *our* orders and fills to the engine (protocol reference
§6.2) from two sources that share one memory of what was already said:

* **the socket** (websocket-client, its own daemon thread): ``order`` messages
  become ``OrderUpdate`` events, ``trade`` messages ``FillEvent``s of our legs (and
  ``FillReversed`` for a leg whose trade then FAILED);
* **the REST poller** (its own daemon thread): every ``poll_s``, and at once
  whenever the socket comes (back) up, ``LiveVenue.fills_and_failures(since)`` and
  ``LiveVenue.open_orders()`` (plus ``get_order`` for an order we knew open that
  left the open list): whatever the socket did not deliver is put then.

Wiring::

    channel = UserChannel(USER_WS_URL, venue)
    channel.start(feed)            # the QueueFeed the engine drains
    ...
    channel.stop()

Fills. A trade is ours through its ``taker_order_id`` or a ``maker_orders[].order_id``
that the venue's client id map knows (``LiveVenue`` signs every order it sends,
so the map knows all of this run's; ``remember`` restores earlier ones). Each leg
is one ``Fill`` with the trade id ``f"{trade id}:{order hash}"``, the scheme of
``LiveVenue.fills()``, so a fill heard on the socket and again by REST is one fill
(the executor also drops a repeated trade id). The venue repeats a trade at each
status (MATCHED, MINED, CONFIRMED; RETRYING, FAILED): a leg is put once, at the
first status of ``FILL_STATUSES`` heard (RETRYING counts, as in ``LiveVenue.fills``).

Failed trades and orders: what is put, and when it is put again, is
``live.user_memory``'s (one memory for both sources). An ``order`` message maps to
an ``OrderState`` (``order_state``) with our client id, or the order hash when the
map does not know it.

The socket. The subscribe message carries the API credentials raw (read from the
``ClobApi``'s client at each connect; never logged) and the markets' condition ids.
A text ``PING`` goes right after it and every ``ping_interval_s``; its ``PONG``
(or any data) means the server took the subscription: the channel is *up*, the
reconnect backoff resets and the poller is woken. Dead verdicts (``DROPS``):
``no_pong`` (a PING unanswered for ``pong_timeout_s``), ``closed``, ``connect_failed``,
``refused`` (handshake 401/403, or a close with code 1008 before the connection was
up: the mock's and the usual answer to bad credentials) and ``internal_error``.
After each, a new connection follows a delay: exponential backoff with *equal*
jitter, the n-th consecutive failure waits ``uniform(c/2, c)`` with ``c = min(cap,
base * 2**n)``, so a refusal is never retried at once. ``max_refusals`` refusals in a
row end the socket thread with a verdict (``verdict``, logged at ERROR); so do as
many REST answers 401/403 in a row for the poller. A user channel that is down puts
no ``ConnectionState``: that event is the market feed's (the executor takes no new
risk on it, and an "up" from this channel would clear a market-feed outage).

``stats`` returns a snapshot of the counters (``UserChannelStats``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from types import TracebackType

import websocket

from live.backoff import Backoff
from live.event_sink import EventSink
from live.live_venue import LiveVenue
from live.message_frames import is_keepalive
from live.user_events import (
    FAILED,
    FILL_STATUSES,
    order_state,
    order_status,
    trade_fills,
    trade_status_of,
    venue_client_ids,
)
from live.user_memory import UserChannelMemory
from live.user_messages import UserFrameParser, UserOrder, UserTrade
from live.user_stats import UserChannelStats
from live.ws_support import check_positive_seconds, close_info, describe
from sim.errors import ConfigError
from sim.events import VenueEvent
from sim.types import Fill
from sim.venue import VenueError, VenueRateLimited, VenueRejected

__all__ = [
    "DROPS",
    "FILL_STATUSES",
    "USER_WS_URL",
    "EventSink",
    "UserChannel",
    "UserChannelStats",
    "order_state",
    "order_status",
    "trade_fills",
    "venue_client_ids",
]

log = logging.getLogger(__name__)

#: Polymarket's user channel.
USER_WS_URL = "wss://ws-subscriptions-clob.polymarket.com/ws/user"

DROP_CONNECT_FAILED = "connect_failed"
DROP_CLOSED = "closed"
DROP_NO_PONG = "no_pong"
DROP_REFUSED = "refused"
DROP_INTERNAL = "internal_error"
#: Every reason a connection is judged dead (``UserChannelStats.drops`` keys).
DROPS: frozenset[str] = frozenset(
    {DROP_CONNECT_FAILED, DROP_CLOSED, DROP_NO_PONG, DROP_REFUSED, DROP_INTERNAL}
)
CLOSE_POLICY = 1008  # a close for a policy violation: bad credentials before we are up
_AUTH_STATUSES = (401, 403)
_EPS = 1e-9
_MIN_WAIT_S = 0.001
_KEEP_DELAYS = 100


class _FeedClosed(RuntimeError):
    """The feed refused an event: it is closed, nothing more will be read."""


class UserChannel:
    """Our orders and fills from ``/ws/user`` and REST into a ``QueueFeed`` (module doc).

    ``url``: the ``/ws/user`` URL. ``venue``: the ``LiveVenue`` the executor trades
    through (its ``ClobApi`` gives the credentials, its map our client ids, its
    ``fills``/``open_orders``/``get_order`` the REST side). ``markets``: condition ids
    to subscribe (default: the venue's markets; empty: all). ``client_id_of``: order
    hash -> client id or None (default ``venue_client_ids(venue)``). ``poll_s``: the
    REST poll period; ``poll_deadline_s``: each REST call's deadline; ``since_ns``:
    the first poll asks for fills from then (default: now minus ``poll_overlap_s``),
    later polls from their own start minus ``poll_overlap_s``. ``ping_interval_s``,
    ``pong_timeout_s``, ``connect_timeout_s``, ``close_timeout_s``, ``backoff_base_s``,
    ``backoff_cap_s``, ``rng``, ``max_refusals``: the socket (module doc).
    """

    def __init__(
        self,
        url: str,
        venue: LiveVenue,
        *,
        markets: Sequence[str] | None = None,
        client_id_of: Callable[[str], str | None] | None = None,
        poll_s: float = 5.0,
        poll_deadline_s: float = 5.0,
        poll_overlap_s: float = 300.0,
        since_ns: int | None = None,
        ping_interval_s: float = 10.0,
        pong_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
        close_timeout_s: float = 1.0,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        max_refusals: int = 3,
        rng: random.Random | None = None,
        name: str = "user-channel",
    ) -> None:
        for key, value in (("poll_s", poll_s), ("poll_deadline_s", poll_deadline_s),
                           ("ping_interval_s", ping_interval_s),
                           ("pong_timeout_s", pong_timeout_s),
                           ("connect_timeout_s", connect_timeout_s),
                           ("close_timeout_s", close_timeout_s)):  # fmt: skip
            check_positive_seconds(key, value)
        if not (isinstance(poll_overlap_s, int | float) and poll_overlap_s >= 0):
            raise ConfigError("poll_overlap_s", f"must be >= 0 seconds, got {poll_overlap_s!r}")
        if not (isinstance(max_refusals, int) and max_refusals >= 1):
            raise ConfigError("max_refusals", f"must be a positive integer, got {max_refusals!r}")
        self.url = url
        self.venue = venue
        self.clock = venue.clock
        self.markets = [m.condition_id for m in venue.markets()] if markets is None \
            else list(markets)  # fmt: skip
        self.client_id_of = client_id_of if client_id_of is not None else venue_client_ids(venue)
        self.poll_s = poll_s
        self.poll_deadline_s = poll_deadline_s
        self.poll_overlap_ns = int(poll_overlap_s * 1e9)
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.close_timeout_s = close_timeout_s
        self.max_refusals = max_refusals
        self.name = name
        self.parser = UserFrameParser()
        self._backoff = Backoff(backoff_base_s, backoff_cap_s, rng, floor=0.5)
        self._since_ns = self.clock.now_ns() - self.poll_overlap_ns if since_ns is None \
            else since_ns  # fmt: skip

        # what was said, shared by both sources (and the counters): under _lock
        self._lock = threading.RLock()
        self._n: Counter[str] = Counter()
        self._said = UserChannelMemory(self._n)
        self._drops: Counter[str] = Counter()
        self._trades: Counter[str] = Counter()
        self._poll_errors: Counter[str] = Counter()
        self._delays: deque[float] = deque(maxlen=_KEEP_DELAYS)
        self._refusals = 0
        self._verdicts: list[str] = []

        self._feed: EventSink | None = None
        self._ws: websocket.WebSocket | None = None
        self._up = threading.Event()
        self._stopping = threading.Event()
        self._poll_now = threading.Event()
        self._poll_lock = threading.Lock()  # one poll at a time
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ any thread
    @property
    def up(self) -> bool:
        """True while the socket's subscription is live (the server answered it)."""
        return self._up.is_set()

    def wait_up(self, timeout_s: float) -> bool:
        """Wait until the socket is up; False if it was not within ``timeout_s``."""
        return self._up.wait(timeout_s)

    @property
    def verdict(self) -> str:
        """Why the socket or the poller gave up ("" while both go on)."""
        with self._lock:
            return "; ".join(self._verdicts)

    @property
    def running(self) -> bool:
        """True while a thread of the channel runs."""
        return any(t.is_alive() for t in self._threads)

    def failed_fills(self) -> list[Fill]:
        """Fills already put whose trade then FAILED on chain (oldest first)."""
        with self._lock:
            return self._said.failed_fills()

    @property
    def stats(self) -> UserChannelStats:
        with self._lock:
            n = self._n
            return UserChannelStats(
                attempts=n["attempts"], connects=n["connects"], ups=n["ups"],
                up=self._up.is_set(), frames=n["frames"], pings=n["pings"],
                pongs=n["pongs"], errors=dict(self.parser.errors),
                notes=dict(self.parser.notes), drops=dict(self._drops),
                refusals=self._refusals, backoff_delays=tuple(self._delays),
                fills_socket=n["fills_socket"], fills_poll=n["fills_poll"],
                orders_socket=n["orders_socket"], orders_poll=n["orders_poll"],
                duplicate_fills=n["duplicate_fills"], trades=dict(self._trades),
                failed_after_fill=n["failed_after_fill"],
                failed_unreported=n["failed_unreported"],
                reversals_socket=n["reversals_socket"], reversals_poll=n["reversals_poll"],
                polls=n["polls"],
                poll_errors=dict(self._poll_errors), verdict="; ".join(self._verdicts),
            )  # fmt: skip

    # ------------------------------------------------------------------ lifecycle
    def start(self, feed: EventSink) -> None:
        """Connect and poll, feeding ``feed`` from two daemon threads (once per channel)."""
        if self._threads:
            raise RuntimeError("a UserChannel starts once")
        self._feed = feed
        self._threads = [
            threading.Thread(target=self._run_socket, name=f"{self.name}-ws", daemon=True),
            threading.Thread(target=self._run_poll, name=f"{self.name}-poll", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Close the socket, stop polling and join both threads. True when both ended
        (within ``timeout_s``; default: the connect timeout plus the close timeout plus
        two REST deadlines, what a connect or a poll under way may still take)."""
        self._stopping.set()
        self._poll_now.set()
        with self._lock:
            ws = self._ws
        reader = self._threads[0] if self._threads else None
        if ws is not None and reader is not None:
            with contextlib.suppress(websocket.WebSocketException, OSError):  # already gone
                ws.send_close(websocket.STATUS_NORMAL, b"client stopping")
            reader.join(self.close_timeout_s)
            if reader.is_alive():
                ws.abort()  # no close reply: wake the reader
        if timeout_s is None:
            timeout_s = self.connect_timeout_s + self.close_timeout_s + 2 * self.poll_deadline_s
        if not self.join(timeout_s):
            log.error("user channel: threads did not end within %.1f s", timeout_s)
            return False
        return True

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for both threads to end (on ``stop()``, a closed feed, or both verdicts);
        True when they have."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for t in self._threads:
            t.join(None if deadline is None else max(deadline - time.monotonic(), 0.0))
        return not self.running

    def __enter__(self) -> UserChannel:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    # ------------------------------------------------------------------ REST
    def poll_once(self) -> int:
        """One REST poll: the fills since the last poll's start (less the overlap) and
        the open orders; puts what was not said yet. Returns how many events it put.
        Raises the venue's errors (``sim.venue.VenueError``)."""
        with self._poll_lock:
            started = self.clock.now_ns()
            fills, failed = self.venue.fills_and_failures(
                self._since_ns, deadline_s=self.poll_deadline_s
            )
            opened = self.venue.open_orders(deadline_s=self.poll_deadline_s)
            now = self.clock.now_ns()
            put = 0
            with self._lock:
                said, out = self._said, []
                for f in fills:
                    said.offer_fill(f, f.ts_ns, now, out, "poll")
                for f in failed:  # heard failing now (the match time says nothing of it)
                    said.offer_failure(f, now, now, out, "poll")
                for s in opened:
                    said.offer_state(s, now, now, "poll: open", out, "poll")
                open_ids = {s.venue_order_id for s in opened}
                gone = [h for h, s in said.orders.items()
                        if not s.status.terminal and h not in open_ids]  # fmt: skip
                put += self._put(out)
            for order_hash in gone:  # left the open list: filled or cancelled meanwhile
                cid = self.client_id_of(order_hash)
                if cid is None or self._stopping.is_set():
                    continue
                state = self.venue.get_order(cid, deadline_s=self.poll_deadline_s)
                if state is None:
                    continue
                now = self.clock.now_ns()
                with self._lock:
                    out = []
                    self._said.offer_state(state, now, now, "poll: get_order", out, "poll")
                    put += self._put(out)
            with self._lock:
                self._n["polls"] += 1
                self._since_ns = max(self._since_ns, started - self.poll_overlap_ns)
            return put

    def _run_poll(self) -> None:
        refusals = 0
        try:
            while not self._stopping.is_set():
                wait = self.poll_s
                try:
                    self.poll_once()
                    refusals = 0
                except _FeedClosed:
                    raise
                except VenueRejected as exc:
                    self._poll_error(exc)
                    if exc.status in _AUTH_STATUSES:
                        refusals += 1
                        if refusals >= self.max_refusals:
                            self._give_up(f"REST poller: the venue refused the API credentials "
                                          f"{refusals} times in a row ({exc}); not polling "
                                          f"any more")  # fmt: skip
                            return
                except VenueRateLimited as exc:
                    self._poll_error(exc)
                    wait = max(wait, exc.retry_after_s or 0.0)
                except VenueError as exc:
                    self._poll_error(exc)
                except Exception:  # a bug here must not end the fills' safety net
                    log.exception("user channel: poll failed (internal error)")
                    with self._lock:
                        self._poll_errors[DROP_INTERNAL] += 1
                if self._stopping.is_set():
                    break
                self._poll_now.wait(wait)
                self._poll_now.clear()
        except _FeedClosed:
            self._feed_closed()
        log.info("user channel: poller stopped")

    def _poll_error(self, exc: VenueError) -> None:
        kind = type(exc).__name__
        with self._lock:
            self._poll_errors[kind] += 1
            count = self._poll_errors[kind]
        log.warning("user channel: poll failed (%s #%d): %s", kind, count, exc)

    # ------------------------------------------------------------------ socket
    def _run_socket(self) -> None:
        log.info("user channel: connecting to %s (%s)", self.url,
                 f"{len(self.markets)} markets" if self.markets else "all markets")  # fmt: skip
        try:
            while not self._stopping.is_set():
                try:
                    verdict = self._session()
                except _FeedClosed:
                    raise
                except Exception as exc:  # a bug here must not end our fills' source
                    log.exception("user channel: internal error")
                    verdict = (DROP_INTERNAL, describe(exc))
                if verdict is None or self._stopping.is_set():
                    break
                kind, detail = verdict
                with self._lock:
                    self._drops[kind] += 1
                    self._refusals = self._refusals + 1 if kind == DROP_REFUSED else 0
                    refusals = self._refusals
                if refusals >= self.max_refusals:
                    self._give_up(
                        f"user channel: the server refused the API credentials "
                        f"{refusals} times in a row ({detail}); not reconnecting"
                    )
                    return
                delay = self._backoff.next_delay()
                with self._lock:
                    self._delays.append(delay)
                log.warning("user channel: %s (%s); reconnecting in %.2f s (failure %d)",
                            kind, detail, delay, self._backoff.failures)  # fmt: skip
                if self._stopping.wait(delay):
                    break
        except _FeedClosed:
            self._feed_closed()
        log.info("user channel: socket stopped")

    def _session(self) -> tuple[str, str] | None:
        """One connection, from the attempt to its death: the verdict (None: stopping)."""
        with self._lock:
            self._n["attempts"] += 1
        try:
            ws = websocket.create_connection(self.url, timeout=self.connect_timeout_s,
                                             enable_multithread=True)  # fmt: skip
        except websocket.WebSocketBadStatusException as exc:
            kind = DROP_REFUSED if exc.status_code in _AUTH_STATUSES else DROP_CONNECT_FAILED
            return kind, f"handshake answered HTTP {exc.status_code}"
        except (websocket.WebSocketException, OSError) as exc:
            return DROP_CONNECT_FAILED, describe(exc)
        try:
            with self._lock:
                if self._stopping.is_set():
                    return None
                self._ws = ws
                self._n["connects"] += 1
            ws.send(json.dumps(self._subscribe_message()))  # raw credentials: never logged
            return self._pump(ws)
        except (websocket.WebSocketException, OSError) as exc:
            return None if self._stopping.is_set() else (DROP_CLOSED, describe(exc))
        finally:
            with self._lock:
                self._ws = None
            if self._up.is_set():
                self._up.clear()
                log.warning("user channel: down")
            self._close(ws)

    def _subscribe_message(self) -> dict:
        creds = self.venue.api.client.creds
        msg: dict = {"auth": {"apiKey": creds.api_key, "secret": creds.api_secret,
                              "passphrase": creds.api_passphrase}, "type": "user"}  # fmt: skip
        if self.markets:
            msg["markets"] = list(self.markets)
        return msg

    def _pump(self, ws: websocket.WebSocket) -> tuple[str, str] | None:
        """Read the connection until it dies: the verdict (None: stopping)."""
        now = time.monotonic()
        ping_out: float | None = now  # the oldest unanswered PING
        self._ping(ws)
        next_ping = now + self.ping_interval_s
        up = False
        while not self._stopping.is_set():
            now = time.monotonic()
            if ping_out is not None and now - ping_out >= self.pong_timeout_s:
                return DROP_NO_PONG, f"no PONG within {self.pong_timeout_s:g} s"
            if now >= next_ping:
                self._ping(ws)
                ping_out = now if ping_out is None else ping_out
                next_ping = now + self.ping_interval_s
            due = next_ping if ping_out is None else min(next_ping, ping_out + self.pong_timeout_s)
            ws.settimeout(max(due - now, _MIN_WAIT_S))
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                continue
            recv_ns = self.clock.now_ns()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                if self._stopping.is_set():
                    return None
                code, text = close_info(data)
                return (DROP_REFUSED if code == CLOSE_POLICY and not up else DROP_CLOSED), text
            with self._lock:
                self._n["frames"] += 1
            if is_keepalive(data):
                ping_out = None
                with self._lock:
                    self._n["pongs"] += 1
            else:
                self._on_frame(data, recv_ns)
            if not up:
                up = True
                self._came_up()
        return None

    def _ping(self, ws: websocket.WebSocket) -> None:
        ws.send("PING")
        with self._lock:
            self._n["pings"] += 1

    def _came_up(self) -> None:
        with self._lock:
            self._n["ups"] += 1
            first = self._n["ups"] == 1
            self._refusals = 0
        self._backoff.reset()
        self._up.set()
        self._poll_now.set()  # whatever happened while we were down comes by REST
        log.info("user channel: %s", "connected" if first else "reconnected")

    def _on_frame(self, data: str | bytes, recv_ns: int) -> None:
        with self._lock:
            try:
                events = self.parser.parse(data, recv_ns)
                out: list[VenueEvent] = []
                for ev in events:
                    if isinstance(ev, UserOrder):
                        state = order_state(ev, self.client_id_of)
                        words = ev.status.strip()
                        reason = ev.type if words.upper() in ("LIVE", "MATCHED", "CANCELED") \
                            else f"{ev.type}: {words}"  # fmt: skip
                        self._said.offer_state(state, ev.ts_exchange_ns, recv_ns, reason,
                                               out, "socket")  # fmt: skip
                    else:
                        self._on_trade(ev, recv_ns, out)
            except Exception:  # a bug must not cost the connection
                self._n["handler_error"] += 1
                log.warning("user channel: handling a frame failed; frame dropped",
                            exc_info=True)  # fmt: skip
                return
            self._put(out)

    def _on_trade(self, trade: UserTrade, recv_ns: int, out: list[VenueEvent]) -> None:
        status = trade_status_of(trade.status)
        self._trades[status] += 1
        legs = trade_fills(trade, self.client_id_of)
        said = self._said
        if status == FAILED:
            said.trade_failed(trade.id)  # even with no leg of ours: never a fill after this
            for f in legs:
                said.offer_failure(f, trade.ts_exchange_ns, recv_ns, out, "socket")
        elif status in FILL_STATUSES:
            for f in legs:
                said.offer_fill(f, trade.ts_exchange_ns, recv_ns, out, "socket")

    # ------------------------------------------------------------------ the feed
    def _put(self, events: list[VenueEvent]) -> int:
        if not events or self._feed is None:
            return 0
        try:
            self._feed.put(events)
        except RuntimeError as exc:  # QueueFeed.put after close()
            raise _FeedClosed(str(exc)) from None
        return len(events)

    def _feed_closed(self) -> None:
        log.info("user channel: the feed is closed; the channel stops")
        self._stopping.set()
        self._poll_now.set()
        with self._lock:
            ws = self._ws
        if ws is not None:
            ws.abort()

    def _give_up(self, verdict: str) -> None:
        log.error("%s", verdict)
        with self._lock:
            self._verdicts.append(verdict)

    def _close(self, ws: websocket.WebSocket) -> None:
        """Close handshake if the socket is still open, then release it."""
        try:
            if ws.connected:
                ws.close(websocket.STATUS_NORMAL, timeout=self.close_timeout_s)
        except (websocket.WebSocketException, OSError):
            pass
        finally:
            ws.shutdown()
