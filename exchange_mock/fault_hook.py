"""The one point where injected faults act on the simulated venue.

Every venue call and every batch of feed events passes through a
``FaultHook`` when one is installed. With none installed (``None``) the venue
skips the hook entirely, so fault injection costs nothing on the hot path.

The hook answers each call with a ``CallEffect`` (or None): the venue applies
its fields generically and knows nothing of fault kinds. Two optional parts
of the hook serve the faults that need the venue's state:

* ``bind(venue)``: called once by the venue that installs the hook, with a
  ``FaultTarget`` (the run's start, the subscribed assets, a fresh book
  snapshot: what a WebSocket reconnect delivers);
* ``local_pause``: an attribute, None or a callable ``(t_ns) -> (t0, t1) |
  None`` giving the window ``[t0, t1)`` containing ``t_ns`` during which the
  strategy-visible book is frozen (rows received in it are applied, and
  delivered, at ``t1``), while the exchange book moves on.

``exchange_mock.faults.FaultInjector`` is the implementation plans use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sim.events import BookSnapshot, VenueEvent


@dataclass(frozen=True, slots=True)
class CallEffect:
    """What a fault does to one venue call.

    ``extra_delay_ns`` lengthens the round trip (past the deadline it becomes a
    timeout); ``error`` is raised before the venue acts, ``error_after`` after
    it acted (the order landed, the answer was lost). ``before_match`` (place
    only) is called as ``before_match(clob, order, arrival_ns)`` once the
    order reached the exchange, just before it is matched: it may move the
    exchange book (``clob.SimBook``) and may return a callable, called with
    the ``SubmitResult`` once the order is matched (to undo a momentary move).
    ``result`` maps the call's answer before the caller sees it (a zero
    balance, shifted timestamps).
    """

    extra_delay_ns: int = 0
    error: Exception | None = None
    error_after: Exception | None = None
    before_match: Callable[[Any, Any, int], Callable[[Any], None] | None] | None = None
    result: Callable[[Any], Any] | None = None


class FaultTarget(Protocol):
    """What a venue offers to the hook it installs (``SimVenue`` implements it)."""

    time_ns: int

    def first_event_ns(self) -> int | None: ...

    def subscribed_assets(self) -> list[str]: ...

    def snapshot(self, asset_id: str, ts_ns: int) -> BookSnapshot:
        """The strategy-visible book of ``asset_id`` as a snapshot stamped ``ts_ns``."""
        ...


class FaultHook(Protocol):
    def on_call(self, call: str, now_ns: int) -> CallEffect | None:
        """Called before every venue call (``place``, ``cancel``, ``balance``, ...)."""
        ...

    def on_events(self, events: list[VenueEvent], now_ns: int) -> list[VenueEvent]:
        """May drop, delay or alter the feed events about to be delivered."""
        ...
