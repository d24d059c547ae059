"""A scripted in-memory venue + feed for testing the engine and executor alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sim.clock import SimClock
from sim.events import FillEvent, OrderUpdate, VenueEvent
from sim.types import (
    Balance,
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderRequest,
    OrderState,
    OrderStatus,
)
from sim.venue import CancelAck, VenueRejected, VenueTimeout


@dataclass
class FakeBook:
    asset_id: str
    tick_size: float = 0.01
    best_bid: float | None = None
    best_ask: float | None = None

    def bids(self, depth: int = 10) -> list[tuple[float, float]]:
        return [] if self.best_bid is None else [(self.best_bid, 100.0)]

    def asks(self, depth: int = 10) -> list[tuple[float, float]]:
        return [] if self.best_ask is None else [(self.best_ask, 100.0)]


@dataclass
class FakeVenue:
    """Replays a scripted event list; orders rest until a test fills them."""

    clock: SimClock
    market_list: list[MarketInfo]
    script: list[VenueEvent] = field(default_factory=list)
    latency_s: float = 0.0
    reject_reason: str = ""
    timeout_next: bool = False
    cash_usdc: float = 1_000.0
    balance_error: Exception | None = None
    name: str = "fake"

    def __post_init__(self) -> None:
        self.time_ns = self.clock.now_ns()
        self.exhausted = False
        self._i = 0
        self.orders: dict[str, OrderState] = {}
        self.pending: list[VenueEvent] = []
        self.subscribed: set[str] = set()
        self.books: dict[str, FakeBook] = {}
        self._trade = 0
        self.place_calls = 0
        self.place_faults: list[tuple[str, Exception]] = []
        self.cancel_all_calls = 0
        self.batch_calls = 0
        self.cancel_many_calls = 0
        self.cancel_faults: list[Exception] = []

    # MarketFeed
    def advance(self, until_ns: int) -> list[VenueEvent]:
        out, self.pending = self.pending, []
        while self._i < len(self.script) and self.script[self._i].ts_recv_ns <= until_ns:
            out.append(self.script[self._i])
            self._i += 1
        self.exhausted = self._i >= len(self.script)
        self.time_ns = max(self.time_ns, until_ns if not self.exhausted else self.time_ns)
        if self.exhausted and out:
            self.time_ns = max(self.time_ns, out[-1].ts_recv_ns)
        return out

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        self.subscribed.update(asset_ids)

    def book(self, asset_id: str) -> FakeBook:
        return self.books.setdefault(asset_id, FakeBook(asset_id))

    # Venue
    def markets(self) -> list[MarketInfo]:
        return self.market_list

    def order_id(self, order: OrderRequest) -> str:
        return f"v-{order.client_order_id}"

    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck:
        """Faults queued in ``place_faults`` as ("before" | "after", exception): "after"
        registers the order first (accepted, answer lost)."""
        return self._request([order], deadline_s)[0]

    def place_many(self, orders: Sequence[OrderRequest], *, deadline_s: float) -> list[OrderAck]:
        """One request for the whole batch: one latency, one queued fault for all of it."""
        self.batch_calls += 1
        return self._request(list(orders), deadline_s)

    def _request(self, orders: list[OrderRequest], deadline_s: float) -> list[OrderAck]:
        self.place_calls += 1
        fault = self.place_faults.pop(0) if self.place_faults else None
        self.clock.sleep(min(self.latency_s, deadline_s))
        if self.timeout_next:
            self.timeout_next = False
            raise VenueTimeout("no answer", call="place")
        if fault is not None and fault[0] == "before":
            raise fault[1]
        if self.reject_reason:
            raise VenueRejected("refused", reason=self.reject_reason, call="place")
        acks = [self._land(o) for o in orders]
        if fault is not None and fault[0] == "after":
            raise fault[1]
        return acks

    def _land(self, order: OrderRequest) -> OrderAck:
        now = self.clock.now_ns()
        if order.client_order_id in self.orders:
            return OrderAck(order.client_order_id, None, False, OrderStatus.REJECTED,
                            "duplicated", "order is invalid. Duplicated.", now)  # fmt: skip
        vid = self.order_id(order)
        self.orders[order.client_order_id] = OrderState(
            order.client_order_id, vid, order.asset_id, order.side, order.price,
            order.size_shares, 0.0, OrderStatus.OPEN, order.order_type, now)  # fmt: skip
        return OrderAck(order.client_order_id, vid, True, OrderStatus.OPEN, ts_ns=now)

    def fill(
        self,
        client_order_id: str,
        shares: float,
        *,
        fee_usdc: float = 0.0,
        fee_shares: float = 0.0,
        trade_id: str | None = None,
    ) -> FillEvent:
        o = self.orders[client_order_id]
        self._trade += 1
        f = Fill(
            trade_id or f"t{self._trade}",
            client_order_id,
            o.venue_order_id,
            o.asset_id,
            o.side,
            o.price,
            shares,
            fee_usdc,
            fee_shares,
            Liquidity.MAKER,
            self.clock.now_ns(),
        )
        ev = FillEvent(f.ts_ns, f.ts_ns, f)
        self.pending.append(ev)
        return ev

    def cancel(self, client_order_id: str, *, deadline_s: float) -> CancelAck:
        o = self.orders.get(client_order_id)
        if o is None or o.status.terminal:
            return CancelAck(client_order_id, "", False, "not_found")
        o = replace(o, status=OrderStatus.CANCELED)
        self.orders[client_order_id] = o
        self.pending.append(OrderUpdate(self.clock.now_ns(), self.clock.now_ns(), o))
        return CancelAck(client_order_id, o.venue_order_id, True)

    def cancel_many(self, client_order_ids: Sequence[str], *, deadline_s: float) -> list[CancelAck]:
        self.cancel_many_calls += 1
        if self.cancel_faults:
            raise self.cancel_faults.pop(0)
        return [self.cancel(c, deadline_s=deadline_s) for c in client_order_ids]

    def cancel_all(self, *, deadline_s: float) -> list[CancelAck]:
        self.cancel_all_calls += 1
        return [self.cancel(c, deadline_s=deadline_s) for c in list(self.orders)]

    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        return self.orders.get(client_order_id)

    def open_orders(self, *, deadline_s: float) -> list[OrderState]:
        return [o for o in self.orders.values() if not o.status.terminal]

    def fills(self, since_ns: int, *, deadline_s: float) -> list[Fill]:
        return []

    def balance(self, *, deadline_s: float) -> Balance:
        if self.balance_error is not None:
            raise self.balance_error
        return Balance(self.cash_usdc, self.cash_usdc, self.clock.now_ns())
