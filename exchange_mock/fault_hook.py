"""The one point where injected faults act on a venue, and what a fault decision is.

Every venue call and every batch of feed events passes through a
``FaultHook`` when one is installed. With none installed (``None``) the venue
skips the hook entirely, so fault injection costs nothing on the hot path.

A decision is data, not behaviour: ``on_call`` answers each call with a
``CallFault`` (or None) saying what happens to it (a delay, a refusal with
its status, message and Retry-After, the venue acting and the answer being
lost, moves of the book against the order, a zero balance, a skewed clock),
and ``feed_fault_at`` says what the market WebSocket does (dropped with a
close code, or connected and silent). The in-process matching venue applies
a decision here (``venue_error``, ``MatchingVenue``); the loopback server
applies the same decision on the wire. Same plan and seed, same decisions.

Two optional parts of the hook serve the in-process feed:

* ``bind(target)``: called once by the replay driver that installs the hook,
  with a ``FaultTarget`` (the run's start, the subscribed assets, a fresh book
  snapshot: what a WebSocket reconnect delivers);
* ``local_pause``: an attribute, None or a callable ``(t_ns) -> (t0, t1) |
  None`` giving the window ``[t0, t1)`` containing ``t_ns`` during which the
  strategy-visible book is frozen (rows received in it are applied, and
  delivered, at ``t1``), while the exchange book moves on.

``exchange_mock.faults.FaultInjector`` is the implementation plans use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

from sim.events import BookSnapshot, FillEvent, OrderUpdate, VenueEvent
from sim.types import Balance, Fill, OrderAck, OrderState
from sim.venue import VenueError, VenueRateLimited, VenueRejected, VenueUnavailable

#: py-clob-client's words for a transport failure (no HTTP status)
TRANSPORT_ERROR = "Request exception!"


@dataclass(frozen=True, slots=True)
class BookMove:
    """Other takers reach the book during our order's entry latency (place only):
    ``slippage_ticks`` of the touch are taken, or only ``fill_fraction`` of what the order
    would take is left (``exchange_mock.faults.book_moves``). ``spec`` numbers the plan's
    spec that decided it (the hook is told, ``FaultHook.book_moved``, when it acted)."""

    spec: int
    slippage_ticks: int = 0
    fill_fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class CallFault:
    """What faults do to one venue call, as data.

    ``refuse``: the request is answered ``status`` / ``message`` (``retry_after_s`` with a
    429; ``reason`` for a permanent refusal such as cancel-only) and the venue does
    nothing; nothing else applies then. Otherwise the answer comes ``delay_ns`` later
    (past the caller's deadline: a timeout, the venue still acts); ``act_then_drop``: the
    venue acts and the answer is lost (``status`` None: a transport error; a number: that
    HTTP status); ``book_moves`` act on a placement before it is matched; ``zero_balance``
    and ``skew_ns`` change the answer (a balance of 0; the venue's timestamps moved).
    """

    delay_ns: int = 0
    refuse: bool = False
    act_then_drop: bool = False
    status: int | None = None
    message: str = ""
    retry_after_s: float | None = None
    reason: str = ""
    book_moves: tuple[BookMove, ...] = ()
    zero_balance: bool = False
    skew_ns: int = 0
    half_body: bool = False  # with act_then_drop: the answer stops halfway (on the wire)
    html: bool = False  # with refuse: the answer is an HTML page, not JSON (on the wire)
    trades_fail: bool = False  # the order's trades fail settlement (the server's desk)


def venue_error(fault: CallFault, call: str) -> VenueError:
    """The exception an in-process caller sees for a refused or dropped call, as a client
    library reports the same answer on the wire."""
    message = fault.message or (TRANSPORT_ERROR if fault.status is None else
                                f"HTTP {fault.status}")  # fmt: skip
    if fault.refuse and fault.status == 429:
        return VenueRateLimited(message, call=call, retry_after_s=fault.retry_after_s)
    if fault.refuse and fault.reason:
        return VenueRejected(message, reason=fault.reason, call=call, status=fault.status)
    return VenueUnavailable(message, call=call, status=fault.status)


def shift_ts(value: Any, ns: int) -> Any:
    """``value`` (an answer or an event) with the venue's timestamps moved by ``ns``.

    Moved: acks' ``ts_ns``, fills' ``ts_ns``, orders' ``created_ns``, balances'
    ``as_of_ns`` and events' ``ts_exchange_ns``. Never ``ts_recv_ns``: that is
    the engine's own clock, which the skew is measured against.
    """
    if isinstance(value, list):
        return [shift_ts(v, ns) for v in value]
    if isinstance(value, OrderAck | Fill):
        return dataclasses.replace(value, ts_ns=value.ts_ns + ns)
    if isinstance(value, OrderState):
        return dataclasses.replace(value, created_ns=value.created_ns + ns)
    if isinstance(value, Balance):
        return dataclasses.replace(value, as_of_ns=value.as_of_ns + ns)
    if isinstance(value, FillEvent):
        return FillEvent(value.ts_exchange_ns + ns, value.ts_recv_ns, shift_ts(value.fill, ns))
    if isinstance(value, OrderUpdate):
        return OrderUpdate(value.ts_exchange_ns + ns, value.ts_recv_ns,
                           shift_ts(value.order, ns), value.reason)  # fmt: skip
    if hasattr(value, "ts_exchange_ns"):
        return dataclasses.replace(value, ts_exchange_ns=value.ts_exchange_ns + ns)
    return value


@dataclass(frozen=True, slots=True)
class FeedFault:
    """What the market WebSocket does in a fault window ``[t0_ns, t1_ns)``: ``dropped``
    (closed with ``close_code``; the client reconnects and resubscribes after it) or
    silent (connected, PINGs answered, no market data)."""

    t0_ns: int
    t1_ns: int
    dropped: bool
    close_code: int | None = None
    no_pong: bool = False  # connected, data may flow, PINGs are not answered


class FaultTarget(Protocol):
    """What a feed offers to the hook it installs (``ReplayDriver`` implements it)."""

    time_ns: int

    def first_event_ns(self) -> int | None: ...

    def subscribed_assets(self) -> list[str]: ...

    def snapshot(self, asset_id: str, ts_ns: int) -> BookSnapshot:
        """The strategy-visible book of ``asset_id`` as a snapshot stamped ``ts_ns``."""
        ...


class FaultHook(Protocol):
    def on_call(self, call: str, now_ns: int) -> CallFault | None:
        """Called before every venue call (``place``, ``cancel``, ``balance``, ...)."""
        ...

    def book_moved(self, move: BookMove, call: str, client_order_id: str, arrival_ns: int,
                   shares: float) -> None:  # fmt: skip
        """A decided book move acted (``shares`` were put out of the order's reach)."""
        ...

    def on_events(self, events: list[VenueEvent], now_ns: int) -> list[VenueEvent]:
        """May drop, delay or alter the feed events about to be delivered."""
        ...

    def feed_fault_at(self, now_ns: int) -> FeedFault | None:
        """The WebSocket fault in effect at ``now_ns``, if any."""
        ...
