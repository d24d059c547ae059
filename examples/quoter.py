"""A simple two-sided quoter: join the best bid and the best ask of one market.

Polymarket has no short selling, so the ask side is quoted as a bid for the
NO token at 1 - ask (the venue matches it as the complement). Inventory is
bounded: a side stops quoting while its position is at ``max_inventory``.
A refused quote (a limit, a breaker, a halt) pauses quoting for
``pause_after_refusal_s`` instead of hammering the executor.

Each re-quote is two venue requests, as a market maker sends them: one
``cancel_many`` (Polymarket's ``DELETE /orders``) for the old quotes and one
``place_many`` (``POST /orders``) for the new ones; the executor checks every
order of a batch exactly as it checks a single order.
"""

from __future__ import annotations

from sim import OrderIntent, Strategy


class TwoSidedQuoter(Strategy):
    name = "two_sided_quoter"

    def __init__(
        self, market: str = "", size_shares: float = 10.0, every_s: float = 1.0,
        max_inventory_shares: float = 200.0, pause_after_refusal_s: float = 300.0,
    ) -> None:  # fmt: skip
        self.market_slug = market
        self.size = size_shares
        self.every_s = every_s
        self.max_inventory = max_inventory_shares
        self.pause_ns = int(pause_after_refusal_s * 1e9)
        self.paused_until = 0
        self.refusals: dict[str, int] = {}

    def on_start(self, ctx):
        matches = [m for m in ctx.markets if not self.market_slug or m.slug == self.market_slug]
        if not matches:
            raise ValueError(f"no market with slug {self.market_slug!r}")
        m = matches[0]
        self.yes, self.no, self.tick = m.yes_token_id, m.no_token_id, m.tick_size
        self.quotes: list[str] = []
        ctx.schedule("quote", every_s=self.every_s)

    def on_timer(self, ctx, name):
        if self.quotes:
            ctx.orders.cancel_many(self.quotes)
        self.quotes = []
        now = ctx.clock.now_ns()
        if now < self.paused_until or ctx.orders.trading_state != "ACTIVE":
            return
        book = ctx.book(self.yes)
        bid, ask = book.best_bid, book.best_ask
        quotes = []
        if bid is not None and ctx.position(self.yes) < self.max_inventory:
            quotes.append(OrderIntent.buy(self.yes, bid, self.size, post_only=True))
        if ask is not None and ctx.position(self.no) < self.max_inventory:
            quotes.append(OrderIntent.buy(self.no, round(1.0 - ask, 6), self.size, post_only=True))
        for ack in ctx.orders.place_many(quotes) if quotes else ():
            if ack.accepted:
                self.quotes.append(ack.client_order_id)
            elif ack.reason != "post_only_cross":  # a crossed quote is normal: just skip it
                self.refusals[ack.reason] = self.refusals.get(ack.reason, 0) + 1
                self.paused_until = now + self.pause_ns
