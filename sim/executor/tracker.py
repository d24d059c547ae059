"""Our orders, fills and positions as the executor knows them.

An order is tracked by its client order id *before* the request is sent, so
it can be found again when the venue's answer is lost. Fills are de-duplicated
by trade id, and positions are always the sum of the fills applied: a late
fill after a cancel is still applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.types import Fill, OrderAck, OrderRequest, OrderState, OrderStatus, Side


@dataclass(slots=True)
class TrackedOrder:
    """One order from request to terminal state."""

    request: OrderRequest
    submitted_ns: int
    status: OrderStatus = OrderStatus.PENDING_NEW
    venue_order_id: str = ""
    filled_shares: float = 0.0
    fees_usdc: float = 0.0
    notional_usdc: float = 0.0  # sum of price x shares over fills
    reason: str = ""
    #: best opposite price the strategy saw when it sent the order (slippage reference)
    expected_price: float | None = None
    updated_ns: int = 0
    fills: list[str] = field(default_factory=list)
    #: shares of fills the venue undid (trades that FAILED on chain): they never fill again
    reversed_shares: float = 0.0

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    @property
    def remaining_shares(self) -> float:
        return max(self.request.size_shares - self.filled_shares, 0.0)

    @property
    def avg_price(self) -> float | None:
        return self.notional_usdc / self.filled_shares if self.filled_shares > 0 else None

    def snapshot(self) -> OrderState:
        r = self.request
        return OrderState(
            client_order_id=r.client_order_id,
            venue_order_id=self.venue_order_id,
            asset_id=r.asset_id,
            side=r.side,
            price=r.price,
            size_shares=r.size_shares,
            filled_shares=self.filled_shares,
            status=self.status,
            order_type=r.order_type,
            created_ns=self.submitted_ns,
        )


#: Shares below this are float noise, not a position or a remaining size.
EPS_SHARES = 1e-9


class OrderTracker:
    """Order states, fills (de-duplicated by trade id), positions and cash."""

    def __init__(self, cash_usdc: float) -> None:
        self.orders: dict[str, TrackedOrder] = {}
        self._open: dict[str, TrackedOrder] = {}
        self.fills: list[Fill] = []
        self._trade_ids: set[str] = set()
        self.positions: dict[str, float] = {}
        self.cash_usdc = float(cash_usdc)
        self.fees_usdc = 0.0
        self.duplicate_fills = 0
        self.unknown_fills = 0

    def open(self) -> list[TrackedOrder]:
        """Orders not yet terminal, in submission order (an index: O(open), not O(all))."""
        return list(self._open.values())

    @property
    def has_open(self) -> bool:
        return bool(self._open)

    def sync(self, order: TrackedOrder) -> None:
        """Keep the open-order index in step after ``order.status`` changed."""
        if order.status.terminal:
            self._open.pop(order.client_order_id, None)
        else:
            self._open[order.client_order_id] = order

    def add(self, request: OrderRequest, now_ns: int, expected_price: float | None) -> TrackedOrder:
        if request.client_order_id in self.orders:
            raise ValueError(f"client order id {request.client_order_id} already used")
        order = TrackedOrder(request, now_ns, expected_price=expected_price, updated_ns=now_ns)
        self.orders[request.client_order_id] = order
        self._open[request.client_order_id] = order
        return order

    def on_ack(self, ack: OrderAck) -> TrackedOrder:
        order = self.orders[ack.client_order_id]
        if ack.venue_order_id:
            order.venue_order_id = ack.venue_order_id
        order.reason = ack.reason or order.reason
        # Fills may already have moved the order on (they can arrive before the ack).
        waiting = order.status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN)
        if waiting or (ack.status.terminal and not order.status.terminal):
            order.status = self.status_after(order, ack.status)
            self.sync(order)
        order.updated_ns = max(order.updated_ns, ack.ts_ns)
        return order

    def on_state(self, state: OrderState, now_ns: int) -> TrackedOrder | None:
        """Apply a venue-reported order state (update event or reconciliation)."""
        order = self.orders.get(state.client_order_id)
        if order is None:
            return None
        if state.venue_order_id:
            order.venue_order_id = state.venue_order_id
        if not order.status.terminal or state.status.terminal:
            order.status = self.status_after(order, state.status)
            self.sync(order)
        order.updated_ns = now_ns
        return order

    def status_after(self, order: TrackedOrder, venue_status: OrderStatus) -> OrderStatus:
        """Our status can only be as far along as the fills we have applied prove."""
        if venue_status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            if order.filled_shares >= order.request.size_shares - EPS_SHARES:
                return OrderStatus.FILLED
            return OrderStatus.PARTIALLY_FILLED if order.filled_shares > 0 else OrderStatus.OPEN
        if venue_status is OrderStatus.FILLED and order.remaining_shares > EPS_SHARES:
            if order.remaining_shares <= order.reversed_shares + EPS_SHARES:
                # the venue counts as matched the shares of trades it then undid: none of
                # them will ever come, so the order is over short of its size
                return OrderStatus.CANCELED
            # the venue says filled but some fills have not reached us yet
            return OrderStatus.PARTIALLY_FILLED
        return venue_status

    def on_fill(self, fill: Fill) -> TrackedOrder | None:
        """Apply a fill once. Returns the order, or None for a duplicate or unknown fill."""
        if fill.trade_id in self._trade_ids:
            self.duplicate_fills += 1
            return None
        order = self.orders.get(fill.client_order_id)
        if order is None:
            self.unknown_fills += 1
            return None
        self._trade_ids.add(fill.trade_id)
        self.fills.append(fill)
        order.fills.append(fill.trade_id)
        order.filled_shares += fill.size_shares
        order.notional_usdc += fill.price * fill.size_shares
        order.fees_usdc += fill.fee_usdc
        order.updated_ns = max(order.updated_ns, fill.ts_ns)
        if order.filled_shares >= order.request.size_shares - EPS_SHARES:
            order.status = OrderStatus.FILLED
        elif not order.status.terminal:
            order.status = OrderStatus.PARTIALLY_FILLED
        self.sync(order)
        pos = self.positions.get(fill.asset_id, 0.0)
        if fill.side is Side.BUY:
            self.cash_usdc -= fill.price * fill.size_shares
            pos += fill.size_shares - fill.fee_shares
        else:
            self.cash_usdc += fill.price * fill.size_shares - fill.fee_usdc
            pos -= fill.size_shares
        self.positions[fill.asset_id] = pos
        self.fees_usdc += fill.fee_usdc
        return order

    def reverse(self, trade_id: str) -> Fill | None:
        """Take back the fill ``trade_id`` (the venue undid its trade): the exact inverse
        of ``on_fill`` on positions, cash, fees and the order's filled shares. Returns the
        fill as it was applied, or None when no such fill is applied (never heard of, or
        already reversed: both no-ops).

        The trade id stays known, so the fill is never applied again. An order that was
        FILLED is not any more, and what it is now only the venue can say: it becomes
        UNKNOWN (the caller asks the venue). A resting order goes back to OPEN or
        PARTIALLY_FILLED; any other status stays."""
        i = next((i for i, f in enumerate(self.fills) if f.trade_id == trade_id), None)
        if i is None:
            return None
        fill = self.fills.pop(i)
        order = self.orders[fill.client_order_id]  # only fills of known orders are applied
        order.fills.remove(trade_id)
        order.filled_shares = max(order.filled_shares - fill.size_shares, 0.0)
        order.notional_usdc -= fill.price * fill.size_shares
        order.fees_usdc -= fill.fee_usdc
        order.reversed_shares += fill.size_shares
        if not order.fills:  # no float residue on an order with no fill left
            order.filled_shares = order.notional_usdc = order.fees_usdc = 0.0
        status = order.status
        if status is OrderStatus.FILLED and order.remaining_shares > EPS_SHARES:
            order.status = OrderStatus.UNKNOWN
        elif status is OrderStatus.PARTIALLY_FILLED and order.filled_shares <= EPS_SHARES:
            order.status = OrderStatus.OPEN
        self.sync(order)
        pos = self.positions.get(fill.asset_id, 0.0)
        if fill.side is Side.BUY:
            self.cash_usdc += fill.price * fill.size_shares
            pos -= fill.size_shares - fill.fee_shares
        else:
            self.cash_usdc -= fill.price * fill.size_shares - fill.fee_usdc
            pos += fill.size_shares
        self.positions[fill.asset_id] = pos
        self.fees_usdc -= fill.fee_usdc
        return fill

    def settle(self, asset_id: str, payout: float) -> float:
        """A market resolved: the asset's position turns into ``payout`` USDC per share."""
        shares = self.positions.pop(asset_id, 0.0)
        self.cash_usdc += shares * payout
        return shares * payout

    def mark(self, order: TrackedOrder, status: OrderStatus, reason: str, now_ns: int) -> None:
        order.status = status
        order.reason = reason
        order.updated_ns = now_ns
        self.sync(order)
