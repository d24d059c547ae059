"""Placing orders: one (``POST /order``) or a batch (``POST /orders``), with retries
that never double an order.

A transient failure is retried with backoff on the clock. A failure that may
have hidden a placement (a timeout, a dropped connection, a batch answer that
does not mention the order) makes the order ambiguous: before every later
attempt it is looked up by client order id, and re-sent (the same order, the
same id) only if it did not land. An order still not found after the last
attempt is "lost": looked for at every check until it turns up or
``LOST_ORDER_WINDOW_S`` passes.
"""

from __future__ import annotations

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.balance import BalanceCache
from sim.executor.calls import RateLimitedLocally, VenueCaller
from sim.executor.codec import state_to_dict
from sim.executor.config import ExecutorConfig
from sim.executor.counters import NS
from sim.executor.orderlog import OrderLog
from sim.executor.tracker import OrderTracker, TrackedOrder
from sim.types import OrderAck, OrderRequest, OrderState, OrderStatus
from sim.venue import Venue, VenueError, VenueRejected, VenueTimeout, VenueUnavailable

#: how long a placement with no answer is looked for before it counts as never sent
#: (ghost orders have been seen to appear seconds after a timeout)
LOST_ORDER_WINDOW_S = 60.0
_AMBIGUOUS = (VenueTimeout, VenueUnavailable)  # it may have landed


class Placer:
    __slots__ = ("_alarm", "_clock", "_config", "_funds", "_log", "_stats", "_tracker",
                 "caller", "lost", "lost_since", "venue")  # fmt: skip

    def __init__(
        self, clock: Clock, config: ExecutorConfig, venue: Venue, caller: VenueCaller,
        tracker: OrderTracker, log: OrderLog, funds: BalanceCache, alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._config = config
        self.venue = venue
        self.caller = caller
        self._tracker = tracker
        self._log = log
        self._funds = funds
        self._alarm = alarm
        self._stats = caller.stats["place"]
        #: orders whose placement outcome is still unknown, and since when
        self.lost: set[str] = set()
        self.lost_since: dict[str, int] = {}

    def place(self, order: TrackedOrder) -> OrderAck:
        self._stats.calls += 1  # one per order placed, whatever the endpoint
        try:  # fast path: one attempt, no tenacity, no attempt state
            ack = self.caller.attempt("place", self.venue.place, order.request)
        except VenueError as exc:
            state = {"ambiguous": isinstance(exc, _AMBIGUOUS)}
            if not _retry_place(exc) or self._config.retry.max_attempts < 2:
                return self._place_failed(order, state, exc)
            self._stats.retries += 1
            self._clock.sleep(self.caller.backoff_s(1, exc))
            return self._place_retries(order, state)
        return self._answered(order, ack)

    def place_batch(self, orders: list[TrackedOrder]) -> list[OrderAck]:
        """One ``place_many`` request; see ``Executor.place_many`` for what happens when it
        fails. Stats count per order, as the single-order path does: a call per order, and
        a retry per order attempted again."""
        reqs = [o.request for o in orders]
        stats = self._stats
        try:
            acks = self.caller.attempt("place", self.venue.place_many, reqs, tokens=len(reqs))
        except RateLimitedLocally:
            return [self.place(o) for o in orders]  # a token each, as if sent alone
        except VenueError as exc:
            stats.calls += len(orders)
            ambiguous = isinstance(exc, _AMBIGUOUS)
            if not _retry_place(exc) or self._config.retry.max_attempts < 2:
                return [self._place_failed(o, {"ambiguous": ambiguous}, exc) for o in orders]
            stats.retries += len(orders)
            self._clock.sleep(self.caller.backoff_s(1, exc))  # once for the whole batch
            return [self._place_retries(o, {"ambiguous": ambiguous}) for o in orders]
        stats.calls += len(orders)
        by_cid = {a.client_order_id: a for a in acks}
        out = []
        for o in orders:
            ack = by_cid.get(o.client_order_id)
            if ack is not None:
                out.append(self._answered(o, ack))
                continue
            # the venue did not answer for it: it may have landed, as after a timeout
            missing = VenueUnavailable("the batch answer does not mention this order",
                                       call="place")  # fmt: skip
            if self._config.retry.max_attempts < 2:
                out.append(self._place_failed(o, {"ambiguous": True}, missing))
            else:
                stats.retries += 1
                out.append(self._place_retries(o, {"ambiguous": True}))
        return out

    def _place_retries(self, order: TrackedOrder, state: dict) -> OrderAck:
        """Attempts after the first failed one (tenacity, backoff on the clock)."""
        try:
            for attempt in self.caller.retrying("place", _retry_place):
                with attempt:
                    return self._place_attempt(order, state)
        except VenueError as exc:
            return self._place_failed(order, state, exc)
        raise AssertionError("tenacity ended without a result or an error")  # reraise=True

    def _place_attempt(self, order: TrackedOrder, state: dict) -> OrderAck:
        """One placement attempt; after an ambiguous failure, first look for the order."""
        req = order.request
        if state["ambiguous"]:
            found = self._find(req)
            if found is not None:
                return self._adopt(order, found)
        try:
            ack = self.caller.attempt("place", self.venue.place, req)
        except _AMBIGUOUS:
            state["ambiguous"] = True  # it may have landed: look before re-sending
            raise
        return self._answered(order, ack)

    def _place_failed(self, order: TrackedOrder, state: dict, exc: VenueError) -> OrderAck:
        """No attempt got an answer: refused, or (if it may have landed) lost until found."""
        req = order.request
        if isinstance(exc, VenueRejected):
            return self._venue_refused(order, exc.reason, str(exc))
        if not state["ambiguous"]:
            reason = "rate_limited" if isinstance(exc, RateLimitedLocally) else "venue_unavailable"
            return self._venue_refused(order, reason, str(exc))
        # one last look, else the order is lost until found
        found = self._find(req)
        if found is not None:
            return self._adopt(order, found)
        self.lost.add(req.client_order_id)
        self.lost_since[req.client_order_id] = self._clock.now_ns()
        self._log.set_status(order, OrderStatus.UNKNOWN, "outcome_unknown")
        self._alarm("critical", "order_lost",
                    f"placement of {req.client_order_id} unanswered: {exc}",
                    {"order_id": req.client_order_id})  # fmt: skip
        return OrderAck(req.client_order_id, None, False, OrderStatus.UNKNOWN,
                        "outcome_unknown", str(exc), self._clock.now_ns())  # fmt: skip

    def _answered(self, order: TrackedOrder, ack: OrderAck) -> OrderAck:
        """The venue answered for ``order``; "duplicated" means it is already there."""
        if not ack.accepted:
            if ack.reason == "duplicated":
                found = self._find(order.request)
                if found is not None:
                    return self._adopt(order, found)
            return self._venue_refused(order, ack.reason, ack.message)
        self._tracker.on_ack(ack)
        self._log.journal_safe("order_ack", ack.ts_ns, order.client_order_id,
                               {"venue_order_id": ack.venue_order_id or "",
                                "status": ack.status._value_})  # fmt: skip
        self._log.changed(order)
        return ack

    def _find(self, req: OrderRequest) -> OrderState | None:
        """Did an order with this client id reach the venue? Asks a few times, waiting between."""
        rc = self._config.retry
        cid = req.client_order_id
        for i in range(rc.reconcile_attempts):
            try:
                state = self.caller.call("get_order", self.venue.get_order, cid)
                if state is not None:
                    return state
                for s in self.caller.call("open_orders", self.venue.open_orders):
                    if s.client_order_id == cid:
                        return s
            except VenueError:
                pass  # unknown still; try again after the wait
            if i + 1 < rc.reconcile_attempts:
                self._clock.sleep(rc.reconcile_wait_s)
        return None

    def _adopt(self, order: TrackedOrder, state: OrderState) -> OrderAck:
        """The order was found at the venue after its answer was lost: take its state."""
        cid = order.client_order_id
        self.lost.discard(cid)
        self.lost_since.pop(cid, None)
        self._tracker.on_state(state, self._clock.now_ns())
        self._log.journal_safe("order_state", self._clock.now_ns(), cid, state_to_dict(state))
        self._log.changed(order)
        return OrderAck(cid, state.venue_order_id, True, order.status, "",
                        "found after a lost answer", self._clock.now_ns())  # fmt: skip

    def _venue_refused(self, order: TrackedOrder, reason: str, message: str) -> OrderAck:
        now = self._clock.now_ns()
        self._log.set_status(order, OrderStatus.REJECTED, reason)
        if reason == "not_enough_balance":
            # our pre-check let through what the venue cannot fund: our cash or positions
            # disagree with the venue's. Re-read the balance before the next order; say so.
            self._funds.dirty = True
            self._alarm("critical", "funds_mismatch",
                        f"venue refused {order.client_order_id} for funds our check approved: "
                        f"{message}", {"order_id": order.client_order_id})  # fmt: skip
        return self._log.venue_refused(now, order.request, reason, message)

    def recheck_lost(self, now: int) -> None:
        """Lost placements: look again; after ``LOST_ORDER_WINDOW_S`` without a trace the
        order never reached the venue."""
        for cid in list(self.lost):
            order = self._tracker.orders[cid]
            try:
                state = self.caller.call("get_order", self.venue.get_order, cid)
            except VenueError:
                continue  # still unknown
            if state is not None:
                self._adopt(order, state)
            elif now - self.lost_since.get(cid, now) >= LOST_ORDER_WINDOW_S * NS:
                self.lost.discard(cid)
                self._log.set_status(order, OrderStatus.REJECTED, "never_reached_venue")
                msg = f"{cid} not at the venue after {LOST_ORDER_WINDOW_S:g} s: settled"
                self._alarm("warning", "order_lost", msg, {"order_id": cid})


def _retry_place(exc: BaseException) -> bool:
    """Placement is retried on transient failures; a rejection never is."""
    return isinstance(exc, VenueError) and exc.retryable
