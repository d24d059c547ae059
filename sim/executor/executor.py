"""The executor: the only path from a strategy to a venue.

Every call carries a deadline, every order is tracked by its client order id
before it is sent, and every refusal comes back as an ``OrderAck`` with a
machine-readable ``reason`` (also kept in ``refusals`` for reports). The
guards of the readiness review (retries, balance and funds checks, slippage
bounds, kill switch, limits, journal) wrap this same order path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.clock import Clock
from sim.errors import ConfigError
from sim.events import FillEvent, OrderUpdate
from sim.executor.tracker import OrderTracker, TrackedOrder
from sim.types import OrderAck, OrderRequest, OrderState, OrderStatus, OrderType, Side
from sim.venue import Venue, VenueError, VenueRejected

#: (best_bid, best_ask) of an asset as the strategy sees it, None for an empty side.
TopOfBook = Callable[[str], tuple[float | None, float | None]]


@dataclass(frozen=True, slots=True)
class ExecutorConfig:
    """Deadlines per call kind (seconds) and the client order id prefix."""

    place_deadline_s: float = 5.0
    cancel_deadline_s: float = 5.0
    query_deadline_s: float = 5.0
    client_id_prefix: str = "cs"

    def __post_init__(self) -> None:
        for key in ("place_deadline_s", "cancel_deadline_s", "query_deadline_s"):
            value = getattr(self, key)
            if not (isinstance(value, int | float) and 0 < value <= 300):
                raise ConfigError(f"executor.{key}", f"must be in (0, 300] seconds, got {value!r}")
        if not self.client_id_prefix.isalnum():
            raise ConfigError("executor.client_id_prefix", "must be letters and digits only")


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


class Executor:
    """Routes strategy orders to a ``Venue`` and keeps the books of what happened."""

    def __init__(
        self,
        venue: Venue,
        clock: Clock,
        *,
        cash_usdc: float,
        config: ExecutorConfig | None = None,
        top_of_book: TopOfBook | None = None,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.config = config or ExecutorConfig()
        self.tracker = OrderTracker(cash_usdc)
        self.refusals: list[Refusal] = []
        self._top = top_of_book
        self._next_id = 0
        self.on_order_change: Callable[[TrackedOrder], None] | None = None

    # -- the strategy's side (OrderGateway) -------------------------------------------
    def buy(
        self,
        asset_id: str,
        price: float,
        size_shares: float,
        *,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:
        return self.submit(Side.BUY, asset_id, price, size_shares, order_type, post_only, expire_ns)

    def sell(
        self,
        asset_id: str,
        price: float,
        size_shares: float,
        *,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:
        return self.submit(
            Side.SELL, asset_id, price, size_shares, order_type, post_only, expire_ns
        )

    def submit(
        self,
        side: Side,
        asset_id: str,
        price: float,
        size_shares: float,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:
        now = self.clock.now_ns()
        cid = self._new_client_id()
        try:
            request = OrderRequest(
                cid,
                asset_id,
                side,
                float(price),
                float(size_shares),
                order_type,
                post_only,
                expire_ns,
            )
        except ValueError as exc:
            return self._refuse_raw(
                now, cid, asset_id, side, price, size_shares, "invalid_order", str(exc)
            )
        expected = None
        if self._top is not None:
            bid, ask = self._top(asset_id)
            expected = ask if side is Side.BUY else bid
        order = self.tracker.add(request, now, expected)
        try:
            ack = self.venue.place(request, deadline_s=self.config.place_deadline_s)
        except VenueRejected as exc:
            self._refused(order, "venue", exc.reason, str(exc))
            return OrderAck(
                cid, None, False, OrderStatus.REJECTED, exc.reason, str(exc), self.clock.now_ns()
            )
        except VenueError as exc:
            # The answer is lost: the order may or may not exist at the venue.
            self.tracker.mark(order, OrderStatus.UNKNOWN, type(exc).__name__, self.clock.now_ns())
            self._changed(order)
            return OrderAck(
                cid,
                None,
                False,
                OrderStatus.UNKNOWN,
                "outcome_unknown",
                str(exc),
                self.clock.now_ns(),
            )
        if not ack.accepted:
            self._refused(order, "venue", ack.reason, ack.message)
            return ack
        self.tracker.on_ack(ack)
        self._changed(order)
        return ack

    def cancel(self, client_order_id: str) -> bool:
        order = self.tracker.orders.get(client_order_id)
        if order is None or order.status.terminal:
            return False
        ack = self.venue.cancel(client_order_id, deadline_s=self.config.cancel_deadline_s)
        if ack.canceled and not order.status.terminal:
            self.tracker.mark(order, OrderStatus.CANCELED, ack.reason, self.clock.now_ns())
            self._changed(order)
        return ack.canceled

    def cancel_all(self, asset_id: str | None = None) -> int:
        targets = [
            o.client_order_id
            for o in self.tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]
        return sum(self.cancel(cid) for cid in targets)

    def open_orders(self, asset_id: str | None = None) -> list[OrderState]:
        return [
            o.snapshot()
            for o in self.tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]

    # -- the venue's side ----------------------------------------------------------------
    def on_venue_event(self, event: FillEvent | OrderUpdate) -> TrackedOrder | None:
        if isinstance(event, FillEvent):
            order = self.tracker.on_fill(event.fill)
        else:
            order = self.tracker.on_state(event.order, event.ts_recv_ns)
        if order is not None:
            self._changed(order)
        return order

    # -- internals -------------------------------------------------------------------------
    def _new_client_id(self) -> str:
        self._next_id += 1
        return f"{self.config.client_id_prefix}-{self._next_id:09d}"

    def _changed(self, order: TrackedOrder) -> None:
        if self.on_order_change is not None:
            self.on_order_change(order)

    def _refused(self, order: TrackedOrder, source: str, reason: str, message: str) -> None:
        now = self.clock.now_ns()
        self.tracker.mark(order, OrderStatus.REJECTED, reason, now)
        r = order.request
        self.refusals.append(
            Refusal(
                now,
                r.client_order_id,
                r.asset_id,
                r.side,
                r.price,
                r.size_shares,
                source,
                reason,
                message,
            )
        )
        self._changed(order)

    def _refuse_raw(
        self,
        now: int,
        cid: str,
        asset_id: str,
        side: Side,
        price: float,
        size: float,
        reason: str,
        message: str,
    ) -> OrderAck:
        self.refusals.append(
            Refusal(
                now, cid, asset_id, side, float(price), float(size), "executor", reason, message
            )
        )
        return OrderAck(cid, None, False, OrderStatus.REJECTED, reason, message, now)
