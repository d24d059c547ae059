"""Fills and settlements: positions, cash, P&L, the balance cache, the risk manager
and the slippage record each hear of every fill once.

Every taker fill's price is compared with the touch the order was sent
against; ``slippage_breaker_fills`` fills in a day worse than
``slippage_alert`` per share trip the slippage breaker. A fill heard of after
its market resolved (a stalled answer) is settled at once, as the venue did.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.clock import Clock
from sim.events import FillEvent, MarketResolved
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
from sim.types import Fill, Liquidity, Side


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
                        {"expected": expected, "price": fill.price})  # fmt: skip
            limit = self._config.slippage_breaker_fills
            if limit and self._day.excess_slippage >= limit:
                self._guard.reduce(SLIPPAGE_BREAKER)
