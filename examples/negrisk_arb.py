"""Multi-outcome arbitrage on neg-risk event groups.

Exactly one outcome of a neg-risk event resolves YES, so a set of one YES share
of every outcome pays 1. When the sum of the outcomes' best asks plus taker
fees is below 1 by at least ``min_edge``, buy the set with fill-or-kill orders.
A leg that is killed leaves an incomplete set: its cost is bounded by
``max_set_usdc`` and counted in ``incomplete_sets``.
"""

from __future__ import annotations

from collections import defaultdict

from sim import OrderType, Strategy, taker_fee_usdc


class NegRiskArbitrage(Strategy):
    name = "negrisk_arbitrage"

    def __init__(
        self, min_edge: float = 0.005, max_set_usdc: float = 50.0, every_s: float = 1.0,
        risk_per_trade: float = 0.04,
    ) -> None:  # fmt: skip
        self.min_edge = min_edge
        self.max_set_usdc = max_set_usdc
        self.every_s = every_s
        self.risk_per_trade = risk_per_trade
        self.sets_bought = 0
        self.incomplete_sets = 0

    def on_start(self, ctx):
        groups = defaultdict(list)
        for m in ctx.markets:
            if m.neg_risk and m.event_id and not m.resolution:
                groups[m.event_id].append(m)
        self.groups = {k: v for k, v in groups.items() if len(v) >= 2}
        ctx.schedule("scan", every_s=self.every_s)

    def on_timer(self, ctx, name):
        for markets in self.groups.values():
            self._try_group(ctx, markets)

    def _try_group(self, ctx, markets):
        legs = []
        for m in markets:
            asks = ctx.book(m.yes_token_id).asks(1)
            if not asks:
                return
            price, size = asks[0]
            legs.append((m, price, size))
        fees = sum(taker_fee_usdc(1.0, p, m.fee_rate, m.fee_exponent) for m, p, _ in legs)
        cost = sum(p for _, p, _ in legs) + fees
        if cost > 1.0 - self.min_edge:
            return
        budget = min(self.max_set_usdc, ctx.balance().available_usdc * self.risk_per_trade)
        shares = min(min(s for _, _, s in legs), budget / cost)
        shares = float(int(shares))  # whole shares
        if shares < max(m.min_order_size for m, _, _ in legs):
            return
        filled = 0
        for m, price, _ in legs:
            ack = ctx.orders.buy(m.yes_token_id, price, shares, order_type=OrderType.FOK)
            filled += ack.accepted
        self.sets_bought += filled == len(legs)
        self.incomplete_sets += 0 < filled < len(legs)
        ctx.log.info("neg-risk set: cost %.4f, %d shares, %d/%d legs", cost, shares, filled,
                     len(legs))  # fmt: skip
