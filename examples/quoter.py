"""A simple two-sided quoter: join the best bid and the best ask of one market.

Polymarket has no short selling, so the ask side is quoted as a bid for the
NO token at 1 - ask (the venue matches it as the complement). Inventory is
bounded: a side stops quoting while its position is at ``max_inventory``.
"""

from __future__ import annotations

from sim import Strategy


class TwoSidedQuoter(Strategy):
    name = "two_sided_quoter"

    def __init__(
        self, market: str = "", size_shares: float = 10.0, every_s: float = 1.0,
        max_inventory_shares: float = 200.0,
    ) -> None:  # fmt: skip
        self.market_slug = market
        self.size = size_shares
        self.every_s = every_s
        self.max_inventory = max_inventory_shares

    def on_start(self, ctx):
        matches = [m for m in ctx.markets if not self.market_slug or m.slug == self.market_slug]
        if not matches:
            raise ValueError(f"no market with slug {self.market_slug!r}")
        m = matches[0]
        self.yes, self.no, self.tick = m.yes_token_id, m.no_token_id, m.tick_size
        self.quotes: list[str] = []
        ctx.schedule("quote", every_s=self.every_s)

    def on_timer(self, ctx, name):
        for cid in self.quotes:
            ctx.orders.cancel(cid)
        self.quotes = []
        book = ctx.book(self.yes)
        bid, ask = book.best_bid, book.best_ask
        if bid is not None and ctx.position(self.yes) < self.max_inventory:
            ack = ctx.orders.buy(self.yes, bid, self.size, post_only=True)
            if ack.accepted:
                self.quotes.append(ack.client_order_id)
        if ask is not None and ctx.position(self.no) < self.max_inventory:
            no_price = round(1.0 - ask, 6)
            ack = ctx.orders.buy(self.no, no_price, self.size, post_only=True)
            if ack.accepted:
                self.quotes.append(ack.client_order_id)
