"""Where the live threads put what they parsed: the engine's ``QueueFeed``, seen only
through ``put`` (so a test may hand any list-like sink)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sim.events import VenueEvent


class EventSink(Protocol):
    """Where events go: ``sim.feed.QueueFeed`` (``put`` raises RuntimeError once closed)."""

    def put(self, events: Iterable[VenueEvent]) -> None: ...
