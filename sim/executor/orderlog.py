"""What the executor writes down about its orders: journal records, status changes,
refusals; and who hears of each change (``on_order_change``).

Every state change at the venue is journaled. Such a change has already happened,
so a journal that cannot take it does not undo it: the trading state machine
alerts and stops new risk (``TradingStateMachine.journal_failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.order_input import shown_asset, shown_number
from sim.executor.tracker import EPS_SHARES, OrderTracker, TrackedOrder
from sim.executor.trading_state import TradingStateMachine
from sim.journal import Journal, JournalError
from sim.types import OrderAck, OrderRequest, OrderStatus, OrderType, Side


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order the executor or the venue refused."""

    ts_ns: int
    client_order_id: str
    asset_id: str
    side: Side
    price: float
    size_shares: float
    source: str  # "executor" or "venue"
    reason: str
    message: str


class OrderLog:
    __slots__ = ("_alarm", "_clock", "_journal", "_state", "_tracker", "on_order_change",
                 "refusals")  # fmt: skip

    def __init__(
        self, clock: Clock, tracker: OrderTracker, journal: Journal, state: TradingStateMachine,
        alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._tracker = tracker
        self._journal = journal
        self._state = state
        self._alarm = alarm
        self.refusals: list[Refusal] = []
        #: called with every order whose state changed (the engine tells the strategy)
        self.on_order_change: Callable[[TrackedOrder], None] | None = None

    def journal_safe(self, kind: str, ts: int, key: str, payload: dict) -> None:
        """Journal a state change that has already happened at the venue."""
        try:
            self._journal.append(kind, ts, key, payload)
        except JournalError as exc:
            self._state.journal_failed(exc, ts)

    def set_status(self, order: TrackedOrder, status: OrderStatus, reason: str) -> None:
        now = self._clock.now_ns()
        self._tracker.mark(order, status, reason, now)
        self.journal_safe("order_status", now, order.client_order_id,
                          {"status": status._value_, "reason": reason})  # fmt: skip
        self.verify_fok(order)
        self.changed(order)

    def changed(self, order: TrackedOrder) -> None:
        if self.on_order_change is not None:
            self.on_order_change(order)

    def verify_fok(self, order: TrackedOrder) -> None:
        """A FOK is all-or-nothing: a terminal FOK with a partial fill is a venue fault."""
        if order.request.order_type is not OrderType.FOK or not order.status.terminal:
            return
        filled = order.filled_shares + order.reversed_shares  # what the venue matched
        if EPS_SHARES < filled < order.request.size_shares - EPS_SHARES:
            self._alarm("critical", "fok_partial",
                        f"FOK {order.client_order_id} ended with {filled} of "
                        f"{order.request.size_shares} shares",
                        {"order_id": order.client_order_id})  # fmt: skip

    def refuse(
        self, now: int, cid: str, asset_id: object, side: object, price: object, size: object,
        reason: str, message: str,
    ) -> OrderAck:  # fmt: skip
        """The executor refuses an order (arguments as the strategy passed them)."""
        side = side if isinstance(side, Side) else Side.BUY  # malformed: shown as a buy
        self.refusals.append(Refusal(now, cid, shown_asset(asset_id), side,
                                     shown_number(price), shown_number(size), "executor",
                                     reason, message))  # fmt: skip
        return OrderAck(cid, None, False, OrderStatus.REJECTED, reason, message, now)

    def refuse_request(self, now: int, req: OrderRequest, reason: str, message: str) -> OrderAck:
        return self.refuse(now, req.client_order_id, req.asset_id, req.side, req.price,
                           req.size_shares, reason, message)  # fmt: skip

    def venue_refused(self, now: int, req: OrderRequest, reason: str, message: str) -> OrderAck:
        """The venue refused ``req`` (or it could not be sent): recorded, answered."""
        self.refusals.append(Refusal(now, req.client_order_id, req.asset_id, req.side,
                                     req.price, req.size_shares, "venue", reason,
                                     message))  # fmt: skip
        return OrderAck(req.client_order_id, None, False, OrderStatus.REJECTED, reason,
                        message, now)  # fmt: skip
