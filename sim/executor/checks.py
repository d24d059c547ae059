"""Every check an order passes before it may be sent, in order:

trading state (HALTED refuses everything, REDUCING all but position-reducing
orders), the slippage bound (a marketable order's limit at most
``max_slippage`` past the touch; the limits then judge the price sent), size
and notional per order, open orders, orders per day, a trusted feed, the risk
manager, positions per market and in total, and funds (BUY) or shares held
(SELL).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sim.executor.alerts import Alarm
from sim.executor.balance import BalanceCache
from sim.executor.config import ExecutorConfig
from sim.executor.counters import DayCounters
from sim.executor.guard import Guard
from sim.executor.tracker import EPS_SHARES, OrderTracker, TrackedOrder
from sim.executor.trading_state import TradingState, TradingStateMachine
from sim.executor.valuation import Valuation
from sim.strategy import BookView
from sim.types import MarketInfo, OrderRequest, Side

_HALTED = TradingState.HALTED
_REDUCING = TradingState.REDUCING


class PreTradeChecks:
    __slots__ = ("_alarm", "_books", "_config", "_day", "_funds", "_guard", "_limits", "_risk",
                 "_state", "_tracker", "_valuation", "feed_problem")  # fmt: skip

    def __init__(
        self, config: ExecutorConfig, tracker: OrderTracker,
        books: Callable[[str], BookView] | None, state: TradingStateMachine, guard: Guard,
        funds: BalanceCache, valuation: Valuation, day: DayCounters, risk: object | None,
        alarm: Alarm,
    ) -> None:  # fmt: skip
        self._config = config
        self._limits = config.limits
        self._tracker = tracker
        self._books = books
        self._state = state
        self._guard = guard
        self._funds = funds
        self._valuation = valuation
        self._day = day
        self._risk = risk
        self._alarm = alarm
        #: why market data cannot be trusted now ("" = it can): no new risk meanwhile
        self.feed_problem = ""

    def verdict(
        self, now: int, req: OrderRequest, market: MarketInfo, expected: float | None,
        halt: str,
    ) -> tuple[str, str, OrderRequest]:  # fmt: skip
        """('', '', req) when ``req`` may go (its price maybe bounded), else (reason,
        message, req). ``halt`` is the kill switch's answer, read just before (once per
        batch)."""
        state = self._state
        if halt and state.state is not _HALTED:
            self._guard.halt(halt)
        if state.state is _HALTED:
            return "halted", f"trading halted: {state.reason}", req
        reducing = self._is_reducing(req)
        if state.state is _REDUCING and not reducing:
            self._guard.maybe_resume(now)
        if state.state is _REDUCING and not reducing:
            # the reason a report counts is what put us in REDUCING (a breaker's name)
            reason = state.reason or "reducing_only"
            return reason, f"only position-reducing orders: {state.reason}", req
        req = self.bound_slippage(req, market, expected)  # limits judge the price sent
        tick = self._tick(req.asset_id, market)
        if not on_tick(req.price, tick):
            # the venue refuses it; py-clob-client-v2 would silently round it to the tick
            # when signing (another price than the strategy asked for): never sent
            return "invalid_tick", (f"price {req.price:g} is not a multiple of the tick "
                                    f"{tick:g}"), req  # fmt: skip
        lim = self._limits
        notional = req.price * req.size_shares
        if lim.max_order_shares and req.size_shares > lim.max_order_shares:
            return "max_order_size", f"{req.size_shares} > {lim.max_order_shares} shares", req
        if lim.max_order_usdc and notional > lim.max_order_usdc:
            return "max_order_usdc", f"{notional:.2f} > {lim.max_order_usdc} USDC", req
        open_orders = self._tracker.open()
        if lim.max_open_orders and len(open_orders) >= lim.max_open_orders:
            return "max_open_orders", f"{len(open_orders)} open orders", req
        if lim.max_orders_per_day and self._day.orders >= lim.max_orders_per_day:
            return "max_orders_per_day", f"{self._day.orders} orders today", req
        if self.feed_problem and _marketable(req, expected):
            # its limit was set against a book that may be long gone: never take on it,
            # not even to reduce (a resting order, which takes nothing, still may)
            return "stale_book", f"marketable order on a stale book: {self.feed_problem}", req
        if not reducing and self.feed_problem:
            return "feed_down", f"market data not trusted: {self.feed_problem}", req
        if not reducing:
            reason = self._risk_reason(now, notional)
            if reason:
                return reason, f"risk breaker: {reason}", req
            reason, message = self._position_limits(req, market, open_orders)
            if reason:
                return reason, message, req
        if req.side is Side.BUY:
            reason, message = self._funds.funds_check(req, market, expected, open_orders)
        else:
            reason, message = self.shares_check(req, open_orders)
        return reason, message, req

    def expected_price(self, asset_id: str, side: Side) -> float | None:
        """The touch a marketable order would take: the slippage reference."""
        if self._books is None:
            return None
        b = self._books(asset_id)
        return b.best_ask if side is Side.BUY else b.best_bid

    def _risk_reason(self, now: int, notional: float) -> str:
        risk = self._risk
        if risk is None:
            return ""
        try:
            reason = risk.allow_new_risk(now) or risk.check_order(
                notional, self._valuation.equity_usdc(), now
            )
        except Exception as exc:  # a risk check that cannot run must not allow risk
            self._alarm("critical", "risk_check_failed", f"risk check failed: {exc!r}")
            return "risk_check_failed"
        if reason == "risk_check_failed":
            self._alarm("critical", "risk_check_failed", f"risk manager fault: {risk.fault}")
        elif reason and reason != "risk_per_trade":
            self._guard.reduce(reason)  # a breaker is tripped: reduce now, not at the next check
        return reason or ""

    def _is_reducing(self, req: OrderRequest) -> bool:
        if req.side is not Side.SELL:
            return False
        held = self._tracker.positions.get(req.asset_id, 0.0)
        return req.size_shares <= held - self._reserved_sells(req.asset_id) + EPS_SHARES

    def _reserved_sells(self, asset_id: str) -> float:
        return sum(
            o.remaining_shares for o in self._tracker.open()
            if o.request.asset_id == asset_id and o.request.side is Side.SELL
        )  # fmt: skip

    def _position_limits(
        self, req: OrderRequest, market: MarketInfo, open_orders: list[TrackedOrder]
    ) -> tuple[str, str]:
        lim = self._limits
        if req.side is not Side.BUY:
            return "", ""
        positions = self._tracker.positions
        tokens = (market.yes_token_id, market.no_token_id)
        if lim.max_position_shares_per_market:
            held = sum(max(positions.get(t, 0.0), 0.0) for t in tokens)
            pending = sum(
                o.remaining_shares for o in open_orders
                if o.request.asset_id in tokens and o.request.side is Side.BUY
            )  # fmt: skip
            projected = held + pending + req.size_shares
            if projected > lim.max_position_shares_per_market + EPS_SHARES:
                return "max_position_market", (
                    f"{projected:.2f} shares in {market.slug or market.condition_id} > "
                    f"{lim.max_position_shares_per_market}"
                )
        if lim.max_total_position_usdc:
            mark = self._valuation.mark
            exposure = sum(max(s, 0.0) * mark(a) for a, s in positions.items()) + sum(
                o.remaining_shares * o.request.price for o in open_orders
                if o.request.side is Side.BUY
            )  # fmt: skip
            projected = exposure + req.price * req.size_shares
            if projected > lim.max_total_position_usdc + 1e-9:
                return "max_position_total", (
                    f"{projected:.2f} USDC exposure > {lim.max_total_position_usdc}"
                )
        return "", ""

    def bound_slippage(
        self, req: OrderRequest, market: MarketInfo, expected: float | None
    ) -> OrderRequest:
        """A marketable order's limit may be at most ``max_slippage`` beyond the touch."""
        if expected is None:
            return req
        if req.side is Side.BUY and req.price >= expected:
            tick = self._tick(req.asset_id, market)
            worst = math.floor((expected + self._config.max_slippage) / tick + 1e-9) * tick
            if req.price > worst + 1e-12:
                return _with_price(req, round(min(worst, 1 - tick), 10))
        elif req.side is Side.SELL and req.price <= expected:
            tick = self._tick(req.asset_id, market)
            worst = math.ceil((expected - self._config.max_slippage) / tick - 1e-9) * tick
            if req.price < worst - 1e-12:
                return _with_price(req, round(max(worst, tick), 10))
        return req

    def _tick(self, asset_id: str, market: MarketInfo) -> float:
        if self._books is not None:
            return self._books(asset_id).tick_size
        return market.tick_size

    def shares_check(self, req: OrderRequest, open_orders: list[TrackedOrder]) -> tuple[str, str]:
        """A SELL may sell only shares held and not already offered by an open SELL."""
        held = self._tracker.positions.get(req.asset_id, 0.0)
        free = held - self._reserved_sells(req.asset_id)
        if req.size_shares > free + EPS_SHARES:
            return "insufficient_position", f"sell {req.size_shares} > {max(free, 0):.4f} held"
        return "", ""


def on_tick(price: float, tick: float) -> bool:
    """``price`` is a whole number of ``tick`` (to float noise)."""
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6


def _with_price(req: OrderRequest, price: float) -> OrderRequest:
    return OrderRequest(req.client_order_id, req.asset_id, req.side, price, req.size_shares,
                        req.order_type, req.post_only, req.expire_ns)  # fmt: skip


def _marketable(req: OrderRequest, touch: float | None) -> bool:
    """Would ``req`` take liquidity at the touch last seen (or is it an immediate order)?"""
    if not req.order_type.rests:
        return True
    if touch is None:
        return False
    return req.price >= touch - 1e-9 if req.side is Side.BUY else req.price <= touch + 1e-9
