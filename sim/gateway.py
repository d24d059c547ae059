"""The narrow objects a strategy is handed: order gateway, clock view, book views.

A strategy is user code and, for the verdict, an adversary: it must not be able
to reach past the executor (the venue, the executor's config, risk manager,
tracker or journal), move the clock, or reset the kill switch. So the context
gives it small sealed objects built here:

- ``OrderGateway``: buy, sell, submit, place_many, cancel, cancel_many,
  cancel_all, halt, and read-only open orders, positions and trading state;
- ``ClockView``: ``now_ns()`` only;
- book views: best bid/ask, levels, tick size; copies, never the arrays.

Each is an instance of a class with no instance attributes (``__slots__ = ()``)
whose methods close over what they forward to, so there is no attribute to
follow (``ctx.orders.venue``, ``ctx.orders._executor``...) and none can be set
or replaced (``ctx.orders.risk = None`` raises ``AttributeError``).

What this is not: a sandbox. Python code in the same process can reach any
object by introspection (``gc``, frames, closure cells). The gateway removes
every ordinary path; what gets past it anyway is caught by the verdict, which
checks the executor's positions against the venue's, that every order the
venue holds is one the executor sent, and that nothing was sent after a halt.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sim.types import OrderAck, OrderIntent, OrderState, OrderType, Side


def sealed(name: str, doc: str, members: dict[str, Any]) -> Any:
    """One instance of a fresh class holding only ``members`` (methods, properties)."""

    def no_set(self, attr: str, value: object) -> None:
        raise AttributeError(f"{name} is read-only: cannot set {attr!r}")

    def no_del(self, attr: str) -> None:
        raise AttributeError(f"{name} is read-only: cannot delete {attr!r}")

    def shown(self) -> str:
        return f"<{name}>"

    ns = {"__slots__": (), "__doc__": doc, "__setattr__": no_set, "__delattr__": no_del,
          "__repr__": shown, **members}  # fmt: skip
    return type(name, (), ns)()


def order_gateway(executor: Any) -> Any:
    """The executor as a strategy may use it (see ``sim.strategy.OrderGateway``)."""
    ex = executor

    def buy(self, asset_id: str, price: float, size_shares: float, *,
            order_type: OrderType = OrderType.GTC, post_only: bool = False,
            expire_ns: int | None = None) -> OrderAck:  # fmt: skip
        return ex.submit(Side.BUY, asset_id, price, size_shares, order_type, post_only,
                         expire_ns)  # fmt: skip

    def sell(self, asset_id: str, price: float, size_shares: float, *,
             order_type: OrderType = OrderType.GTC, post_only: bool = False,
             expire_ns: int | None = None) -> OrderAck:  # fmt: skip
        return ex.submit(Side.SELL, asset_id, price, size_shares, order_type, post_only,
                         expire_ns)  # fmt: skip

    def submit(self, side: Side, asset_id: str, price: float, size_shares: float,
               order_type: OrderType = OrderType.GTC, post_only: bool = False,
               expire_ns: int | None = None) -> OrderAck:  # fmt: skip
        return ex.submit(side, asset_id, price, size_shares, order_type, post_only, expire_ns)

    def place_many(self, orders: Sequence[OrderIntent]) -> list[OrderAck]:
        return ex.place_many(orders)

    def cancel(self, client_order_id: str) -> bool:
        return ex.cancel(client_order_id)

    def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        return ex.cancel_many(client_order_ids)

    def cancel_all(self, asset_id: str | None = None) -> int:
        if asset_id is not None and not isinstance(asset_id, str):
            return 0  # no asset has such an id
        return ex.cancel_all(asset_id)

    def open_orders(self, asset_id: str | None = None) -> list[OrderState]:
        return ex.open_orders(asset_id)

    def positions(self) -> dict[str, float]:
        """Shares held per asset (a copy; non-zero positions only)."""
        return {a: s for a, s in ex.tracker.positions.items() if s != 0.0}

    def position(self, asset_id: str) -> float:
        return ex.tracker.positions.get(asset_id, 0.0)

    def halt(self, reason: str = "strategy") -> None:
        """Stop trading now (cancel everything, HALTED). Only an operator can resume."""
        ex.halt(f"strategy asked: {reason}")

    def trading_state(self) -> str:
        return ex.trading_state

    calls = (buy, sell, submit, place_many, cancel, cancel_many, cancel_all, open_orders,
             positions, position, halt)  # fmt: skip
    members = {f.__name__: f for f in calls}
    members["trading_state"] = property(trading_state, doc='"ACTIVE", "REDUCING" or "HALTED"')
    return sealed("OrderGateway", "How a strategy trades: every call goes through the "
                   "executor's checks; refusals are answers, not exceptions.", members)  # fmt: skip


def clock_view(clock: Any) -> Any:
    """The clock as a strategy may use it: read the time (timers via ``ctx.schedule``)."""
    now = clock.now_ns

    def now_ns(self) -> int:
        return now()

    return sealed("ClockView", "Read-only clock: now_ns().", {"now_ns": now_ns})


def book_view(view: Any) -> Any:
    """A read-only ``BookView`` over the feed's view of one asset (values, never arrays)."""
    asset = view.asset_id

    def asset_id(self) -> str:
        return asset

    def tick_size(self) -> float:
        return view.tick_size

    def best_bid(self) -> float | None:
        return view.best_bid

    def best_ask(self) -> float | None:
        return view.best_ask

    def bids(self, depth: int = 10) -> list[tuple[float, float]]:
        return view.bids(depth)

    def asks(self, depth: int = 10) -> list[tuple[float, float]]:
        return view.asks(depth)

    members: dict[str, Callable | property] = {
        "asset_id": property(asset_id), "tick_size": property(tick_size),
        "best_bid": property(best_bid), "best_ask": property(best_ask),
        "bids": bids, "asks": asks,
    }  # fmt: skip
    return sealed("BookView", f"Read-only book of {asset}.", members)


__all__ = ["book_view", "clock_view", "order_gateway", "sealed"]
