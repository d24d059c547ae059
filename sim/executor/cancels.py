"""Cancelling orders: one, a batch (``DELETE /orders``), or everything on a halt.

A cancel is idempotent, so transient failures are retried. A cancel whose
answer was lost may still have landed: the order is asked about again at the
next check. A batch is answered order by order: an order the venue could not
cancel (already matched, already gone) is just that order's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.calls import RateLimitedLocally, VenueCaller
from sim.executor.codec import state_to_dict
from sim.executor.config import ExecutorConfig
from sim.executor.orderlog import OrderLog
from sim.executor.tracker import OrderTracker
from sim.types import OrderStatus
from sim.venue import Venue, VenueError

_CANCELED = OrderStatus.CANCELED


class Canceller:
    __slots__ = ("_alarm", "_batch_size", "_caller", "_clock", "_log", "_max_attempts",
                 "_tracker", "_venue", "_wake", "pending", "recheck")  # fmt: skip

    def __init__(
        self, clock: Clock, config: ExecutorConfig, venue: Venue, caller: VenueCaller,
        tracker: OrderTracker, log: OrderLog, alarm: Alarm, wake: Callable[[], None],
    ) -> None:  # fmt: skip
        self._clock = clock
        self._venue = venue
        self._caller = caller
        self._tracker = tracker
        self._log = log
        self._alarm = alarm
        self._wake = wake  # make sure the periodic check runs (it asks about lost cancels)
        self._max_attempts = config.retry.max_attempts
        #: ids per cancel_many request (Polymarket takes 3,000; our bucket is the limit)
        self._batch_size = max(1, int(config.rate_limits.cancel_burst))
        #: orders whose state must be asked again (a cancel's answer was lost), since when
        self.recheck: dict[str, int] = {}
        #: a halt's cancel-everything not yet confirmed by the venue
        self.pending = False

    def cancel(self, client_order_id: str) -> bool:
        if not isinstance(client_order_id, str):
            return False  # not an id we ever issued (ids are strings)
        order = self._tracker.orders.get(client_order_id)
        if order is None or order.status.terminal:
            return False
        try:
            ack = self._caller.call("cancel", self._venue.cancel, client_order_id)
        except VenueError as exc:
            self.failed(client_order_id, exc)
            return False
        if ack.canceled and not order.status.terminal:
            self._log.set_status(order, _CANCELED, "canceled")
        return ack.canceled

    def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        """See ``Executor.cancel_many``. Every request is a batch, however few of the ids
        are still open (the others finished meanwhile: filled, expired, cancelled)."""
        orders = self._tracker.orders
        todo = list(dict.fromkeys(
            c for c in client_order_ids
            if isinstance(c, str) and c in orders and not orders[c].status.terminal
        ))  # fmt: skip
        done: set[str] = set()
        size = self._batch_size
        for i in range(0, len(todo), size):
            chunk = todo[i : i + size]
            try:
                acks = self._caller.call("cancel", self._venue.cancel_many, chunk,
                                         tokens=len(chunk))  # fmt: skip
            except RateLimitedLocally:
                done.update(c for c in chunk if self.cancel(c))
                continue
            except VenueError as exc:
                for c in chunk:
                    self.failed(c, exc)
                continue
            asked = set(chunk) if len(chunk) > 8 else chunk
            answered = set()
            for ack in acks:  # each order's own answer: cancelled, or not (and why)
                cid = ack.client_order_id
                order = orders.get(cid)
                if order is None or cid not in asked:
                    continue
                answered.add(cid)
                if ack.canceled:
                    done.add(cid)
                    if not order.status.terminal:
                        self._log.set_status(order, _CANCELED, "canceled")
            if len(answered) < len(chunk):
                for c in chunk:
                    if c not in answered:
                        self.failed(c, VenueError("no answer for this order", call="cancel"))
        return [isinstance(c, str) and c in done for c in client_order_ids]

    def cancel_open(self, asset_id: str | None = None) -> int:
        targets = [
            o.client_order_id for o in self._tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]  # fmt: skip
        return sum(self.cancel(cid) for cid in targets)

    def failed(self, client_order_id: str, exc: VenueError) -> None:
        # the cancel may have landed: ask the venue for the order's state next check
        self._alarm("warning", "cancel_failed", f"cancel {client_order_id}: {exc}",
                    {"order_id": client_order_id})  # fmt: skip
        self.recheck[client_order_id] = self._clock.now_ns()
        self._wake()

    def cancel_everything(self) -> None:
        """Cancel every open order, retried until the venue shows none (or attempts run out)."""
        for _ in range(self._max_attempts):
            try:
                self._caller.call("cancel_all", self._venue.cancel_all)
                still = self._caller.call("open_orders", self._venue.open_orders)
            except VenueError:
                continue
            if not still:
                for o in self._tracker.open():
                    self._log.set_status(o, _CANCELED, "halted")
                self.pending = False
                return
        self._alarm("critical", "cancel_unconfirmed", "open orders remain after cancel-all")

    def recheck_orders(self, now: int) -> None:
        """Lost cancels: ask the venue for each order's state."""
        orders = self._tracker.orders
        for cid in list(self.recheck):
            order = orders[cid]
            if order.status.terminal:
                del self.recheck[cid]
                continue
            try:
                state = self._caller.call("get_order", self._venue.get_order, cid)
            except VenueError:
                continue
            del self.recheck[cid]
            if state is not None:
                self._tracker.on_state(state, now)
                self._log.journal_safe("order_state", now, cid, state_to_dict(state))
                self._log.changed(order)
