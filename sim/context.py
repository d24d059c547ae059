"""The engine's implementation of ``StrategyContext``: an internal object and the sealed
view of it that strategies are handed.

``EngineContext`` is the engine's (it holds the executor, the feed, the
subscriptions and the strategy's timers). A strategy never sees it: callbacks
get ``EngineContext.view``, built from the narrow objects of ``sim.gateway``,
with no attribute that leads back to the executor, the venue or the clock's
setters.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Sequence
from typing import Any

from sim.clock import Clock
from sim.executor import Executor
from sim.feed import MarketFeed
from sim.gateway import book_view, clock_view, order_gateway, sealed
from sim.strategy import BookView
from sim.types import Balance, MarketInfo

#: The shortest period ``ctx.schedule(every_s=...)`` accepts, in seconds. A faster timer
#: would fire millions of times a simulated day (1 µs: 86 billion) and stall the run; no
#: Polymarket strategy can act on anything faster (the feed's own cadence is ~ms).
MIN_TIMER_PERIOD_S = 0.01


class TimerError(ValueError):
    """A strategy asked for a timer the engine cannot honour."""


class EngineContext:
    """What the engine keeps per strategy; ``view`` is what the strategy itself sees."""

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
        self.executor = executor
        self.feed = feed
        self.markets = tuple(markets)
        self.log = log
        self.subscribed: set[str] = set()
        self.timers: dict[str, object] = {}
        self._market_of_asset = {
            a: m for m in self.markets for a in (m.yes_token_id, m.no_token_id)
        }
        self._books: dict[str, Any] = {}
        self.view = _strategy_view(self)

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        if isinstance(asset_ids, str):
            asset_ids = [asset_ids]  # one id, not a list of its letters
        unknown = [a for a in asset_ids if a not in self._market_of_asset]
        if unknown:
            raise KeyError(f"cannot subscribe to unknown assets {unknown}")
        self.subscribed.update(asset_ids)
        self.feed.subscribe(list(asset_ids))

    def subscribe_all(self) -> None:
        """Every asset of the selected markets (a strategy that listens to books but did
        not say which)."""
        self.subscribe(list(self._market_of_asset))

    def book(self, asset_id: str) -> BookView:
        view = self._books.get(asset_id)
        if view is None:
            if asset_id not in self._market_of_asset:
                raise KeyError(f"no book for unknown asset {asset_id!r}")
            view = self._books[asset_id] = book_view(self.feed.book(asset_id))
        return view

    def market_of(self, asset_id: str) -> MarketInfo:
        return self._market_of_asset[asset_id]

    def position(self, asset_id: str) -> float:
        return self.executor.tracker.positions.get(asset_id, 0.0)

    def balance(self) -> Balance:
        cash = self.executor.tracker.cash_usdc
        return Balance(cash, cash, self.clock.now_ns())

    def schedule(self, name: str, *, at_ns: int | None = None, every_s: float = 0.0) -> None:
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise TimerError(f"timer name must be a non-empty string not starting with '__' "
                             f"(reserved for the framework), got {name!r}")  # fmt: skip
        if (
            isinstance(every_s, bool)
            or not isinstance(every_s, numbers.Real)
            or not (math.isfinite(every_s) and every_s >= 0)
        ):
            raise TimerError(f"timer {name!r}: every_s must be a number of seconds >= 0, "
                             f"got {every_s!r}")  # fmt: skip
        if 0 < every_s < MIN_TIMER_PERIOD_S:
            raise TimerError(f"timer {name!r}: every_s={every_s!r} is below the shortest "
                             f"period, {MIN_TIMER_PERIOD_S} s")  # fmt: skip
        if at_ns is not None and (
            isinstance(at_ns, bool) or not isinstance(at_ns, numbers.Integral)
        ):
            raise TimerError(f"timer {name!r}: at_ns must be an int of nanoseconds, "
                             f"got {at_ns!r}")  # fmt: skip
        if at_ns is None and every_s <= 0:
            raise TimerError(f"timer {name!r}: needs at_ns, every_s > 0, or both")
        old = self.timers.pop(name, None)
        if old is not None:
            old.cancel()
        first = int(at_ns) if at_ns is not None else self.clock.now_ns() + round(every_s * 1e9)
        self.timers[name] = self.clock.schedule(name, first, every_s=float(every_s))

    def cancel_timer(self, name: str) -> None:
        timer = self.timers.pop(name, None)
        if timer is not None:
            timer.cancel()


def _strategy_view(ec: EngineContext) -> Any:
    """The sealed ``StrategyContext`` a strategy is handed (see ``sim.strategy``)."""
    orders, clock, markets, log = (
        order_gateway(ec.executor),
        clock_view(ec.clock),
        ec.markets,
        ec.log,
    )

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        ec.subscribe(asset_ids)

    def book(self, asset_id: str) -> BookView:
        return ec.book(asset_id)

    def market_of(self, asset_id: str) -> MarketInfo:
        return ec.market_of(asset_id)

    def position(self, asset_id: str) -> float:
        return ec.position(asset_id)

    def balance(self) -> Balance:
        return ec.balance()

    def schedule(self, name: str, *, at_ns: int | None = None, every_s: float = 0.0) -> None:
        ec.schedule(name, at_ns=at_ns, every_s=every_s)

    def cancel_timer(self, name: str) -> None:
        ec.cancel_timer(name)

    calls = (subscribe, book, market_of, position, balance, schedule, cancel_timer)
    members: dict[str, Any] = {f.__name__: f for f in calls}
    members["orders"] = property(lambda self: orders, doc="the order gateway")
    members["clock"] = property(lambda self: clock, doc="read-only clock: now_ns()")
    members["markets"] = property(lambda self: markets, doc="the selected markets")
    members["log"] = property(lambda self: log, doc="this strategy's logger")
    return sealed("StrategyContext", "Everything a strategy may use.", members)
