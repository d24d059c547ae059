"""What our positions are worth now: marked at mid, the one side quoted, or average cost."""

from __future__ import annotations

from collections.abc import Callable

from sim.executor.pnl import PnlLedger
from sim.executor.tracker import EPS_SHARES, OrderTracker
from sim.strategy import BookView


class Valuation:
    __slots__ = ("_books", "_pnl", "_tracker")

    def __init__(
        self, tracker: OrderTracker, pnl: PnlLedger, books: Callable[[str], BookView] | None
    ) -> None:
        self._tracker = tracker
        self._pnl = pnl
        self._books = books

    def equity_usdc(self) -> float:
        """Cash plus positions marked at ``mark``."""
        value = self._tracker.cash_usdc
        for asset, shares in self._tracker.positions.items():
            if abs(shares) > EPS_SHARES:
                value += shares * self.mark(asset)
        return value

    def mark(self, asset_id: str) -> float:
        if self._books is not None:
            b = self._books(asset_id)
            bid, ask = b.best_bid, b.best_ask
            if bid is not None and ask is not None:
                return (bid + ask) / 2
            if bid is not None or ask is not None:
                return bid if bid is not None else ask
        return self._pnl.avg_cost(asset_id)
