"""The one point where injected faults act on the simulated venue.

Every venue call and every batch of feed events passes through a
``FaultHook`` when one is installed. With none installed (``None``) the venue
skips the hook entirely, so fault injection costs nothing on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sim.events import VenueEvent


@dataclass(frozen=True, slots=True)
class CallEffect:
    """What a fault does to one venue call.

    ``extra_delay_ns`` lengthens the round trip (past the deadline it becomes a
    timeout); ``error`` is raised before the venue acts, ``error_after`` after
    it acted (the order landed, the answer was lost).
    """

    extra_delay_ns: int = 0
    error: Exception | None = None
    error_after: Exception | None = None


class FaultHook(Protocol):
    def on_call(self, call: str, now_ns: int) -> CallEffect | None:
        """Called before every venue call (``place``, ``cancel``, ``balance``, ...)."""
        ...

    def on_events(self, events: list[VenueEvent], now_ns: int) -> list[VenueEvent]:
        """May drop, delay or alter the feed events about to be delivered."""
        ...
