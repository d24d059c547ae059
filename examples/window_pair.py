"""Window pair accumulation on the 15-minute crypto up/down markets.

The "arbitrage bot" of the readiness review. Within one market the YES (Up)
and NO (Down) books mirror each other, so buying both at the same moment
always costs 1 + spread: the edge comes from prices moving *between* the
legs. The strategy buys one side when it is cheap, then completes the pair
with the other side once the pair's average cost plus taker fees stays below
``max_pair_cost``. A completed pair pays exactly 1 at resolution.

Sizing: each first leg risks at most ``risk_per_trade`` of the bankroll and
at most ``kelly_fraction`` of the Kelly stake for a binary bet at the ask,
with the win probability estimated as the prior 0.5 blended with the book's
mid (``prior_weight``). Risk of the unpaired leg is bounded: no new first leg
while ``max_unpaired_usdc`` is at risk in the window, and no first leg in the
last ``no_entry_last_s`` seconds of a window. When the executor refuses an
order (a breaker, a limit, a halt) the strategy stands aside for
``pause_after_refusal_s`` rather than retrying every second.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from sim import OrderType, Side, Strategy, taker_fee_usdc


@dataclass
class _Leg:
    shares: float = 0.0
    cost_usdc: float = 0.0

    @property
    def avg(self) -> float:
        return self.cost_usdc / self.shares if self.shares > 0 else 0.0


class WindowPairAccumulator(Strategy):
    name = "window_pair"

    def __init__(
        self,
        series: str = "btc-updown-15m-*",
        entry_price: float = 0.45,
        max_pair_cost: float = 0.98,
        risk_per_trade: float = 0.04,
        kelly_fraction: float = 0.25,
        prior_weight: float = 0.5,
        max_unpaired_usdc: float = 40.0,
        no_entry_last_s: float = 180.0,
        every_s: float = 1.0,
        pause_after_refusal_s: float = 300.0,
    ) -> None:
        if not 0 < entry_price < 0.5:
            raise ValueError("entry_price must be in (0, 0.5)")
        if not 0 < max_pair_cost <= 1:
            raise ValueError("max_pair_cost must be in (0, 1]")
        self.series = series
        self.entry_price = entry_price
        self.max_pair_cost = max_pair_cost
        self.risk_per_trade = risk_per_trade
        self.kelly_fraction = kelly_fraction
        self.prior_weight = prior_weight
        self.max_unpaired_usdc = max_unpaired_usdc
        self.no_entry_last_ns = int(no_entry_last_s * 1e9)
        self.every_s = every_s
        self.pause_ns = int(pause_after_refusal_s * 1e9)
        self.paused_until = 0
        self.pairs_completed = 0.0
        self.refusals: dict[str, int] = {}

    def on_start(self, ctx):
        self.windows = sorted(
            (m for m in ctx.markets if fnmatch.fnmatchcase(m.slug, self.series)),
            key=lambda m: m.start_ns,
        )
        self.legs: dict[str, _Leg] = {}
        self._next = 0
        ctx.schedule("scan", every_s=self.every_s)

    def on_fill(self, ctx, fill):
        leg = self.legs.setdefault(fill.asset_id, _Leg())
        if fill.side is Side.BUY:
            leg.shares += fill.size_shares - fill.fee_shares
            leg.cost_usdc += fill.price * fill.size_shares

    def on_timer(self, ctx, name):
        now = ctx.clock.now_ns()
        if now < self.paused_until:
            return
        # windows are sorted by start: skip the ones already over once and for all
        while self._next < len(self.windows) and self.windows[self._next].end_ns <= now:
            self._next += 1
        for m in self.windows[self._next :]:
            if m.start_ns > now:
                break
            if now < m.end_ns:
                self._trade_window(ctx, m, now)

    def _trade_window(self, ctx, m, now: int) -> None:
        yes, no = self.legs.get(m.yes_token_id, _Leg()), self.legs.get(m.no_token_id, _Leg())
        if ctx.orders.open_orders(m.yes_token_id) or ctx.orders.open_orders(m.no_token_id):
            return  # one thing at a time per window
        unpaired = yes.shares - no.shares
        if abs(unpaired) >= m.min_order_size:
            # complete the pair with the lagging side when the pair stays under max cost
            lead, lag_asset = (yes, m.no_token_id) if unpaired > 0 else (no, m.yes_token_id)
            ask = ctx.book(lag_asset).best_ask
            if ask is None:
                return
            fee = taker_fee_usdc(1.0, ask, m.fee_rate, m.fee_exponent)
            if lead.avg + ask + fee <= self.max_pair_cost:
                need = abs(unpaired) / (1.0 - fee / ask)  # BUY fees come out of the shares
                self._send(ctx, lag_asset, ask, round(need, 2), now)
            return
        if now > m.end_ns - self.no_entry_last_ns:
            return
        risk = yes.cost_usdc + no.cost_usdc - min(yes.shares, no.shares)
        if risk >= self.max_unpaired_usdc:
            return
        for asset in (m.yes_token_id, m.no_token_id):
            book = ctx.book(asset)
            ask, bid = book.best_ask, book.best_bid
            if ask is None or bid is None or ask > self.entry_price:
                continue
            q = self.prior_weight * 0.5 + (1 - self.prior_weight) * (bid + ask) / 2
            kelly = max((q - ask) / (1 - ask), 0.0)
            bankroll = ctx.balance().available_usdc
            stake = bankroll * min(self.risk_per_trade, self.kelly_fraction * kelly)
            stake = min(stake, self.max_unpaired_usdc - risk)
            shares = round(stake / ask, 2)
            if shares >= m.min_order_size and shares * ask >= 1.0:
                self._send(ctx, asset, ask, shares, now)
                return

    def _send(self, ctx, asset: str, price: float, shares: float, now: int) -> None:
        ack = ctx.orders.buy(asset, price, shares, order_type=OrderType.FAK)
        if not ack.accepted and ack.reason not in ("fak_no_match", "outcome_unknown"):
            self.refusals[ack.reason] = self.refusals.get(ack.reason, 0) + 1
            self.paused_until = now + self.pause_ns

    def on_resolved(self, ctx, event):
        a, b = (self.legs.pop(x, _Leg()) for x in event.asset_ids)
        self.pairs_completed += min(a.shares, b.shares)
