"""The ``MarketFeed`` protocol: where the engine's events come from.

In a backtest the simulated venue is also the feed: it replays recorded rows
through its book and stops only when something the engine must see happens
(a subscribed asset's book or trades, one of our fills or order updates, a
resolution) or the requested time is reached. In paper and live trading a
WebSocket thread fills the same kind of queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from sim.events import VenueEvent
from sim.strategy import BookView


@runtime_checkable
class MarketFeed(Protocol):
    #: the feed's own time: every event up to it has been returned
    time_ns: int
    #: True once no event will ever come again (end of the recording)
    exhausted: bool

    def advance(self, until_ns: int) -> list[VenueEvent]:
        """Move up to ``until_ns``, returning early with the events the engine must see."""
        ...

    def subscribe(self, asset_ids: Sequence[str]) -> None:
        """Also stop for book changes and trades of these assets."""
        ...

    def book(self, asset_id: str) -> BookView: ...
