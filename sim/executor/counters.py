"""Counts that outlive one order: client order ids and the day's tallies.

Both are rebuilt from the journal on restart (``recovery``): an id is never
issued twice, and the daily order cap does not reset with the process.
"""

from __future__ import annotations

NS = 1_000_000_000
DAY_NS = 86_400 * NS


class ClientIds:
    """``<prefix>-<9 digits>``, counting up; ``observe`` skips past ids already used."""

    __slots__ = ("_prefix", "last")

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self.last = 0

    def new(self) -> str:
        self.last += 1
        return f"{self._prefix}-{self.last:09d}"

    def observe(self, client_order_id: str) -> None:
        suffix = client_order_id.rsplit("-", 1)[-1]
        if suffix.isdigit():
            self.last = max(self.last, int(suffix))


class DayCounters:
    """Orders sent and excess-slippage fills in the current UTC day (``day`` = days since
    the epoch)."""

    __slots__ = ("day", "excess_slippage", "orders")

    def __init__(self, now_ns: int) -> None:
        self.day = now_ns // DAY_NS
        self.orders = 0
        self.excess_slippage = 0

    def roll(self, now_ns: int) -> bool:
        """True when ``now_ns`` starts a new day (the tallies are then zero again)."""
        day = now_ns // DAY_NS
        if day == self.day:
            return False
        self.day = day
        self.orders = 0
        self.excess_slippage = 0
        return True
