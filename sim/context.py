"""The engine's implementation of ``StrategyContext``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sim.clock import Clock
from sim.executor import Executor
from sim.feed import MarketFeed
from sim.strategy import BookView
from sim.types import Balance, MarketInfo


class EngineContext:
    """What a strategy sees: orders go through the executor, books come from the feed."""

    def __init__(
        self,
        *,
        clock: Clock,
        executor: Executor,
        feed: MarketFeed,
        markets: Sequence[MarketInfo],
        log: logging.Logger,
    ) -> None:
        self.clock = clock
        self.orders = executor
        self.feed = feed
        self.markets = list(markets)
        self.log = log
        self.subscribed: set[str] = set()
        self.timers: dict[str, object] = {}
        self._market_of_asset = {
            a: m for m in self.markets for a in (m.yes_token_id, m.no_token_id)
        }

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        unknown = [a for a in asset_ids if a not in self._market_of_asset]
        if unknown:
            raise KeyError(f"cannot subscribe to unknown assets {unknown}")
        self.subscribed.update(asset_ids)
        self.feed.subscribe(list(asset_ids))

    def book(self, asset_id: str) -> BookView:
        return self.feed.book(asset_id)

    def market_of(self, asset_id: str) -> MarketInfo:
        return self._market_of_asset[asset_id]

    def position(self, asset_id: str) -> float:
        return self.orders.tracker.positions.get(asset_id, 0.0)

    def balance(self) -> Balance:
        cash = self.orders.tracker.cash_usdc
        return Balance(cash, cash, self.clock.now_ns())

    def schedule(self, name: str, *, at_ns: int | None = None, every_s: float = 0.0) -> None:
        if at_ns is None and every_s <= 0:
            raise ValueError("schedule needs at_ns, every_s > 0, or both")
        old = self.timers.pop(name, None)
        if old is not None:
            old.cancel()
        first = at_ns if at_ns is not None else self.clock.now_ns() + round(every_s * 1e9)
        self.timers[name] = self.clock.schedule(name, first, every_s=every_s)

    def cancel_timer(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()
