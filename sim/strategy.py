"""The strategy API: a base class with callbacks, and the context it is given.

A strategy is a plain Python object. It runs unchanged in backtest, paper and
live; everything it may touch comes through ``StrategyContext``. Callbacks
always run on the engine thread, one at a time.

Example::

    class Quoter(Strategy):
        def on_start(self, ctx):
            ctx.subscribe([ctx.markets[0].yes_token_id])
            ctx.schedule("requote", every_s=1.0)

        def on_timer(self, ctx, name):
            book = ctx.book(self.asset)
            if book.best_bid is not None:
                ctx.orders.buy(self.asset, book.best_bid, 10.0)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sim.clock import Clock
from sim.events import BookSnapshot, LevelChange, MarketResolved, TradePrint
from sim.types import Balance, Fill, MarketInfo, OrderAck, OrderIntent, OrderState, OrderType


@runtime_checkable
class BookView(Protocol):
    """Read-only view of one asset's current book (as the strategy is allowed to see it)."""

    asset_id: str
    tick_size: float

    @property
    def best_bid(self) -> float | None: ...

    @property
    def best_ask(self) -> float | None: ...

    def bids(self, depth: int = 10) -> list[tuple[float, float]]:
        """Best ``depth`` bid levels as (price, size), best first."""
        ...

    def asks(self, depth: int = 10) -> list[tuple[float, float]]: ...


@runtime_checkable
class OrderGateway(Protocol):
    """The executor as a strategy sees it: the only way to trade.

    Every method returns the executor's answer; a refusal is an ``OrderAck``
    with ``accepted`` False and a machine-readable ``reason``, never an
    exception the strategy must remember to catch.
    """

    def buy(
        self,
        asset_id: str,
        price: float,
        size_shares: float,
        *,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck: ...

    def sell(
        self,
        asset_id: str,
        price: float,
        size_shares: float,
        *,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck: ...

    def place_many(self, orders: Sequence[OrderIntent]) -> list[OrderAck]:
        """Several orders (``OrderIntent.buy``/``.sell``) in as few venue requests as the
        venue allows (Polymarket: 15 per ``POST /orders``): one answer per order, in
        order. Each order is checked exactly as ``buy``/``sell`` would check it."""
        ...

    def cancel(self, client_order_id: str) -> bool: ...

    def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        """Cancel several orders in one venue request; True for each one cancelled."""
        ...

    def cancel_all(self, asset_id: str | None = None) -> int: ...

    @property
    def trading_state(self) -> str:
        """ "ACTIVE", "REDUCING" (a breaker tripped: only reducing orders) or "HALTED"."""
        ...

    def open_orders(self, asset_id: str | None = None) -> list[OrderState]: ...


@runtime_checkable
class StrategyContext(Protocol):
    """Everything a strategy may use. Implemented by the engine."""

    clock: Clock
    orders: OrderGateway
    markets: Sequence[MarketInfo]
    log: logging.Logger

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        """Ask to be told (``on_book``/``on_trade``) about these assets."""
        ...

    def book(self, asset_id: str) -> BookView: ...

    def position(self, asset_id: str) -> float:
        """Shares held (negative never happens on Polymarket: sells need shares)."""
        ...

    def balance(self) -> Balance: ...

    def schedule(self, name: str, *, at_ns: int | None = None, every_s: float = 0.0) -> None:
        """Call ``on_timer(ctx, name)`` at ``at_ns`` and/or every ``every_s`` seconds."""
        ...


class Strategy:
    """Base class. Override the callbacks you need; each default does nothing.

    Doing nothing is the correct behaviour of an unhandled callback: the
    engine calls every callback for every strategy, and a strategy that does
    not care about trades simply does not override ``on_trade``.
    """

    #: Shown in reports. Defaults to the class name.
    name: str = ""

    def on_start(self, ctx: StrategyContext) -> None:
        """Called once before the first event."""

    def on_book(self, ctx: StrategyContext, event: BookSnapshot | LevelChange) -> None:
        """A subscribed asset's book changed; ``ctx.book(event.asset_id)`` is up to date."""

    def on_trade(self, ctx: StrategyContext, trade: TradePrint) -> None:
        """A trade printed on a subscribed asset (anyone's)."""

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        """One of our orders was (partly) filled. Positions already include it."""

    def on_order(self, ctx: StrategyContext, order: OrderState) -> None:
        """One of our orders changed state (open, cancelled, expired, rejected)."""

    def on_timer(self, ctx: StrategyContext, name: str) -> None:
        """A timer set with ``ctx.schedule`` fired."""

    def on_resolved(self, ctx: StrategyContext, event: MarketResolved) -> None:
        """A market settled; positions in it are now worth 1 or 0."""

    def on_stop(self, ctx: StrategyContext) -> None:
        """Called once after the last event."""

    @property
    def display_name(self) -> str:
        return self.name or type(self).__name__
