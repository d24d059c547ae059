"""The ``Venue`` protocol: the one surface the executor talks to.

The simulated CLOB (``exchange_mock``) and the live Polymarket adapter
(``live``) both implement it, so switching between them is one line of
config. Calls are synchronous from the engine thread's point of view; a venue
that talks to a network enforces the deadline it is given and raises
``VenueError`` subclasses, never a transport library's own exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sim.errors import ClobsimError
from sim.types import Balance, Fill, MarketInfo, OrderAck, OrderRequest, OrderState


class VenueError(ClobsimError):
    """A venue call failed. ``retryable`` says whether trying again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, call: str = "", status: int | None = None) -> None:
        self.call = call
        self.status = status
        super().__init__(message)


class VenueTimeout(VenueError):
    """The call did not return before its deadline. The outcome is unknown."""

    retryable = True


class VenueUnavailable(VenueError):
    """Transient failure: 5xx, connection refused or dropped. The outcome may be unknown."""

    retryable = True


class VenueRateLimited(VenueError):
    """429. ``retry_after_s`` is the venue's Retry-After, when it sent one."""

    retryable = True

    def __init__(self, message: str, *, call: str = "", retry_after_s: float | None = None) -> None:
        super().__init__(message, call=call, status=429)
        self.retry_after_s = retry_after_s


class VenueRejected(VenueError):
    """A permanent refusal (bad tick, min size, balance, post-only cross). Never retried."""

    def __init__(self, message: str, *, reason: str, call: str = "", status: int | None = 400):
        super().__init__(message, call=call, status=status)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CancelAck:
    """Answer to a cancel: ``canceled`` False carries the venue's ``reason``."""

    client_order_id: str
    venue_order_id: str
    canceled: bool
    reason: str = ""


#: The venue calls, each with its own deadline and token bucket in the executor and its
#: own fault plans (``exchange_mock.faults``): defined with the protocol, used by both.
#: A batch call counts as its single kind (``place_many`` as ``place``, ``cancel_many``
#: as ``cancel``): one request, one deadline, one fault.
CALL_KINDS = ("place", "cancel", "cancel_all", "get_order", "open_orders", "fills", "balance")


@runtime_checkable
class Venue(Protocol):
    """Where orders go and where account and market events come from."""

    name: str

    def markets(self) -> list[MarketInfo]:
        """Metadata of every market this venue serves."""
        ...

    def order_id(self, order: OrderRequest) -> str:
        """The id the venue will know ``order`` by, computed before it is sent (Polymarket:
        the hash of the signed order). The executor journals it with the order before the
        request leaves, so an order whose answer is lost, or a process that dies mid-call,
        can still be found at the venue by its own id."""
        ...

    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck: ...

    def place_many(self, orders: Sequence[OrderRequest], *, deadline_s: float) -> list[OrderAck]:
        """Up to ``MAX_BATCH_ORDERS`` orders in one request (``POST /orders``): one round
        trip, one answer per order in order. A failure of the request (timeout, 5xx, lost
        answer) is the whole batch's: any, all or none of its orders may have landed."""
        ...

    def cancel(self, client_order_id: str, *, deadline_s: float) -> CancelAck: ...

    def cancel_many(self, client_order_ids: Sequence[str], *, deadline_s: float) -> list[CancelAck]:
        """Cancel several orders in one request (``DELETE /orders``); one answer each."""
        ...

    def cancel_all(self, *, deadline_s: float) -> list[CancelAck]: ...

    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        """The order as the venue knows it, or None if the venue never saw it."""
        ...

    def open_orders(self, *, deadline_s: float) -> list[OrderState]: ...

    def fills(self, since_ns: int, *, deadline_s: float) -> list[Fill]:
        """Our fills at or after ``since_ns`` (for reconciliation after a lost answer)."""
        ...

    def balance(self, *, deadline_s: float) -> Balance: ...
