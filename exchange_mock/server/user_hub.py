"""``/ws/user``: our orders and trades as the venue pushes them (reference §6.2).

An authenticated socket (raw API credentials in its first message) gets, for its
API key's orders in its markets (all when it named none):

* ``order`` ``PLACEMENT`` when an order rests, ``UPDATE`` when it fills (more),
  ``CANCELLATION`` when it is cancelled, expires, or is killed (a FOK/FAK's rest);
* ``trade`` at ``MATCHED``, then again at ``MINED`` and ``CONFIRMED`` (the same
  trade id at each status, as the venue repeats it).

The order desk tells the hub of placements; the replay's venue events (fills,
order updates) come through ``MockExchange.on_user``; ``flush`` (each pump step)
sends trades whose settlement status moved on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from exchange_mock.server.market_encoder import encode_frame
from exchange_mock.server.orders_desk import OrdersDesk
from exchange_mock.server.user_encoder import (
    encode_order_event,
    encode_trade_event,
    kill_status,
)
from sim.events import FillEvent, OrderUpdate, VenueEvent
from sim.types import OrderStatus


@dataclass
class UserSubscriber:
    queue: asyncio.Queue
    api_key: str | None = None
    all_markets: bool = False
    markets: set[str] = field(default_factory=set)

    def wants(self, api_key: str, market: str) -> bool:
        return self.api_key == api_key and (self.all_markets or market in self.markets)


class UserHub:
    def __init__(self, desk: OrdersDesk) -> None:
        self.desk = desk
        self._subs: dict[asyncio.Queue, UserSubscriber] = {}
        self._trade_status: dict[str, str] = {}  # trade id -> last status pushed
        self._settled: set[str] = set()  # trades that reached a final status
        desk.ex.on_user(self.on_venue_events)
        desk.on_placed = self.on_placed
        desk.on_killed = self.on_killed

    def subscriber_for(self, queue: asyncio.Queue) -> UserSubscriber:
        sub = self._subs.get(queue)
        if sub is None:
            sub = self._subs[queue] = UserSubscriber(queue)
        return sub

    def disconnect_queue(self, queue: asyncio.Queue) -> None:
        self._subs.pop(queue, None)

    def _send(self, api_key: str, market: str, message: dict) -> None:
        frame = None
        for sub in self._subs.values():
            if sub.wants(api_key, market):
                frame = frame or encode_frame(message)
                sub.queue.put_nowait(frame)

    def _wire_ns(self) -> int:
        """Now on the wire: the replay's time (the clock), which inside a replay step is
        the time of the events being delivered, not the step's end."""
        ex = self.desk.ex
        return ex.time.to_wire_ns(ex.clock.now_ns())

    # ------------------------------------------------------------------ orders
    def on_killed(self, body: dict, message: str) -> None:
        """An FOK/FAK that could not match: a CANCELLATION whose status carries the
        venue's words (reference §6.2)."""
        self._send(body["owner"], body["market"],
                   encode_order_event(body, "CANCELLATION", self._wire_ns(),
                                      status_override=kill_status(message)))  # fmt: skip

    def on_placed(self, order_id: str) -> None:
        """An order reached the book: PLACEMENT (it rests) and its immediate trades."""
        o = self.desk.order_record(order_id)
        body = self.desk.order_json(order_id)
        if body["status"] == "LIVE":
            self._send(
                o.owner,
                o.market.condition_id,
                encode_order_event(body, "PLACEMENT", self._wire_ns()),
            )
        self.flush()

    def on_venue_events(self, events: list[VenueEvent]) -> None:
        """Fills and order updates the replay delivered: one ``UPDATE`` per order that
        filled (a fill comes as a ``FillEvent`` and an ``OrderUpdate``: one match, one
        message), ``CANCELLATION`` when it was cancelled or expired."""
        self.desk.collect_trades()  # the fills' trades, for the orders' associate_trades
        sent: set[tuple[str, str]] = set()
        for ev in events:
            order_id, kind = None, ""
            if isinstance(ev, FillEvent):
                order_id, kind = ev.fill.client_order_id, "UPDATE"
            elif isinstance(ev, OrderUpdate):
                order_id = ev.order.client_order_id
                if ev.order.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
                    kind = "CANCELLATION"
                elif ev.order.status in (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED):
                    kind = "UPDATE"  # its fill's UPDATE, unless the FillEvent sent it
                else:
                    continue
            o = self.desk.order_record(order_id) if order_id else None
            if o is None or (order_id, kind) in sent:
                continue
            sent.add((order_id, kind))
            body = self.desk.order_json(order_id)
            self._send(
                o.owner, o.market.condition_id, encode_order_event(body, kind, self._wire_ns())
            )
        self.flush()

    # ------------------------------------------------------------------ trades
    def flush(self) -> None:
        """Push each trade whose status moved on since it was last pushed."""
        desk = self.desk
        desk.collect_trades()
        for tid in desk.trade_ids():
            if tid in self._settled:
                continue
            body = desk.trade_json(tid)
            if self._trade_status.get(tid) == body["status"]:
                continue
            self._trade_status[tid] = body["status"]
            if body["status"] in ("CONFIRMED", "FAILED"):
                self._settled.add(tid)
            self._send(body["owner"], body["market"], encode_trade_event(body, self._wire_ns()))
