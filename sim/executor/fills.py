"""Fills and settlements: positions, cash, P&L, the balance cache, the risk manager
and the slippage record each hear of every fill once.

Every taker fill's price is compared with the touch the order was sent
against; ``slippage_breaker_fills`` fills in a day worse than
``slippage_alert`` per share trip the slippage breaker. A fill heard of after
its market resolved (a stalled answer) is settled at once, as the venue did.

A fill whose trade then FAILED on chain is reversed by the venue; ``on_reversed``
takes it back out of positions, cash, P&L and its order (``undo_fill``, which a
restart replays from the ``fill_reversed`` record), and the order, if it counted
as FILLED, is asked about again: only the venue knows what it is now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sim.clock import Clock
from sim.events import FillEvent, FillReversed, MarketResolved
from sim.executor.alerts import Alarm
from sim.executor.balance import BalanceCache
from sim.executor.codec import fill_to_dict
from sim.executor.config import ExecutorConfig
from sim.executor.counters import DayCounters
from sim.executor.guard import Guard
from sim.executor.orderlog import OrderLog
from sim.executor.pnl import PnlLedger
from sim.executor.tracker import OrderTracker, TrackedOrder
from sim.executor.trading_state import SLIPPAGE_BREAKER
from sim.executor.valuation import Valuation
from sim.types import Fill, Liquidity, OrderStatus, Side

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlippageRecord:
    ts_ns: int
    client_order_id: str
    asset_id: str
    side: Side
    expected_price: float
    fill_price: float
    size_shares: float
    excess_per_share: float  # > 0 is worse than expected


class FillHandler:
    __slots__ = ("_alarm", "_clock", "_config", "_day", "_funds", "_guard", "_log", "_lost",
                 "_pnl", "_risk", "_tracker", "_valuation", "resolved", "slippage")  # fmt: skip

    def __init__(
        self, clock: Clock, config: ExecutorConfig, tracker: OrderTracker, pnl: PnlLedger,
        log: OrderLog, funds: BalanceCache, valuation: Valuation, guard: Guard,
        day: DayCounters, lost: set[str], risk: object | None, alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._config = config
        self._tracker = tracker
        self._pnl = pnl
        self._log = log
        self._funds = funds
        self._valuation = valuation
        self._guard = guard
        self._day = day
        self._lost = lost  # the placer's lost orders: a fill proves the order landed
        self._risk = risk
        self._alarm = alarm
        self.slippage: list[SlippageRecord] = []
        #: payout per share of every asset whose market resolved (a late fill settles)
        self.resolved: dict[str, float] = {}

    def on_fill(self, event: FillEvent) -> TrackedOrder | None:
        fill = event.fill
        order = self._tracker.on_fill(fill)
        if order is None:
            if fill.client_order_id not in self._tracker.orders:
                self._alarm("warning", "unknown_fill", f"fill {fill.trade_id} of an unknown order")
            return None
        now = self._clock.now_ns()  # delivery time: never earlier than what risk has seen
        self._log.journal_safe("fill", now, fill.trade_id, fill_to_dict(fill))
        self._lost.discard(order.client_order_id)
        self._funds.adjust(fill)
        result = self._pnl.on_fill(fill)
        risk = self._risk
        if risk is not None:
            equity = self._valuation.equity_usdc()
            risk.on_fill(now, fill.client_order_id, opens_risk=fill.side is Side.BUY,
                         equity_usdc=equity)  # fmt: skip
            if result is not None:
                risk.on_round_trip(now, result, equity_usdc=equity)
            self._guard.save_risk()
        self._measure_slippage(order, fill, now)
        self._log.verify_fok(order)
        payout = self.resolved.get(fill.asset_id)
        if payout is not None:
            # matched before the market resolved, heard of after (a stalled answer): the
            # venue already settled these shares, so do we
            self.settle(fill.asset_id, payout)
        self._log.changed(order)
        return order

    def on_reversed(self, event: FillReversed) -> TrackedOrder | None:
        """The venue undid a fill it reported: take it back (``undo_fill``), journal it,
        raise a critical alert. None (a no-op) for a fill never applied or already
        reversed. An order FILLED before is UNKNOWN now and joins the lost orders, so
        the periodic check (or the next reconcile) asks the venue what it is."""
        tid = event.fill.trade_id
        fill = undo_fill(self._tracker, self._pnl, self.resolved, tid)
        if fill is None:
            log.info("reversal of fill %s ignored: no such fill applied (unknown, or "
                     "reversed already)", tid)  # fmt: skip
            return None
        now = self._clock.now_ns()
        order = self._tracker.orders[fill.client_order_id]
        payload = fill_to_dict(fill)
        payload["reason"] = event.reason
        self._log.journal_safe("fill_reversed", now, tid, payload)
        self._funds.dirty = True  # the venue gave the money (or the shares) back
        if order.status is OrderStatus.UNKNOWN:
            order.reason = "fill_reversed"
            self._lost.add(order.client_order_id)
        self._alarm("critical", "fill_reversed",
                    f"fill {tid} of {fill.client_order_id} was reversed by the venue: "
                    f"{fill.side._name_} {fill.size_shares:g} @ {fill.price:g} undone "
                    f"({event.reason or 'no reason given'})",
                    {"trade_id": tid, "order_id": fill.client_order_id,
                     "asset_id": fill.asset_id, "size_shares": fill.size_shares,
                     "price": fill.price})  # fmt: skip
        self._log.changed(order)
        return order

    def on_resolved(self, event: MarketResolved) -> None:
        for asset in event.asset_ids:
            payout = event.payout(asset)
            self.resolved[asset] = payout
            self.settle(asset, payout)
        self._funds.dirty = True
        self._log.journal_safe("resolved", event.ts_recv_ns, event.market,
                               {"winner": event.winning_asset_id,
                                "assets": list(event.asset_ids)})  # fmt: skip
        self._guard.save_risk()

    def settle(self, asset: str, payout: float) -> None:
        self._tracker.settle(asset, payout)
        result = self._pnl.settle(asset, payout)
        if result is not None and self._risk is not None:
            self._risk.on_round_trip(self._clock.now_ns(), result,
                                     equity_usdc=self._valuation.equity_usdc())  # fmt: skip

    def _measure_slippage(self, order: TrackedOrder, fill: Fill, now: int) -> None:
        expected = order.expected_price
        if expected is None or fill.liquidity is not Liquidity.TAKER:
            return
        sign = 1.0 if fill.side is Side.BUY else -1.0
        excess = (fill.price - expected) * sign
        rec = SlippageRecord(now, fill.client_order_id, fill.asset_id, fill.side, expected,
                             fill.price, fill.size_shares, excess)  # fmt: skip
        self.slippage.append(rec)
        if excess > self._config.slippage_alert + 1e-12:
            self._day.excess_slippage += 1
            self._alarm("warning", "slippage",
                        f"{fill.client_order_id} filled {excess:.4f}/share worse than expected",
                        {"expected": expected, "price": fill.price,
                         "order_id": fill.client_order_id})  # fmt: skip
            limit = self._config.slippage_breaker_fills
            if limit and self._day.excess_slippage >= limit:
                self._guard.reduce(SLIPPAGE_BREAKER)


def undo_fill(tracker: OrderTracker, pnl: PnlLedger, resolved: dict[str, float],
              trade_id: str) -> Fill | None:  # fmt: skip
    """Take the applied fill ``trade_id`` back out of the tracker and the P&L ledger (the
    live reversal and its replay both come here); None when no such fill is applied.

    A fill of an asset whose market already resolved was settled with it: the shares it
    brought are settled back at the same payout, so cash is as if it never happened."""
    fill = tracker.reverse(trade_id)
    if fill is None:
        return None
    pnl.reverse(trade_id)  # rebuilt from its history, settlements included
    payout = resolved.get(fill.asset_id)
    if payout is not None:
        tracker.settle(fill.asset_id, payout)
    return fill
