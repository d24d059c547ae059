"""A drill for the live adapter: quote and take a little, on a short timer.

Every ``every_s`` it re-quotes one post-only bid a tick under the best bid
(cancelling the last one) and, every ``take_every``-th time, buys
``take_shares`` at the best ask with a GTC limit (marketable: what the book
does not fill rests and is cancelled at the next re-quote). That exercises
every call the live adapter makes (place, cancel, batch cancel, order
lookups, fills over the user channel and the REST poll) many times a minute,
which is what ``clobsim validate --live-mock`` needs from a strategy in a run
of a few seconds; it is not meant to make money.
"""

from __future__ import annotations

from sim import Strategy


class LiveDrill(Strategy):
    name = "live_drill"

    def __init__(self, market: str = "", size_shares: float = 5.0, every_s: float = 0.5,
                 take_every: int = 3, take_shares: float = 5.0,
                 max_position_shares: float = 200.0) -> None:  # fmt: skip
        if every_s <= 0 or take_every < 1 or size_shares <= 0 or take_shares <= 0:
            raise ValueError("every_s, size_shares and take_shares must be > 0, take_every >= 1")
        self.market_slug = market
        self.size = size_shares
        self.every_s = every_s
        self.take_every = take_every
        self.take_shares = take_shares
        self.max_position = max_position_shares
        self.ticks = 0

    def on_start(self, ctx):
        matches = [m for m in ctx.markets if not self.market_slug or m.slug == self.market_slug]
        if not matches:
            raise ValueError(f"no market with slug {self.market_slug!r}")
        m = matches[0]
        self.yes, self.tick = m.yes_token_id, m.tick_size
        self.live: list[str] = []
        ctx.subscribe([self.yes])
        ctx.schedule("drill", every_s=self.every_s)

    def on_timer(self, ctx, name):
        if self.live:
            ctx.orders.cancel_many(self.live)
        self.live = []
        self.ticks += 1
        if ctx.orders.trading_state != "ACTIVE":
            return
        book = ctx.book(self.yes)
        bid, ask = book.best_bid, book.best_ask
        if bid is None or ask is None:
            return
        price = round(bid - self.tick, 6)
        if price >= self.tick:
            ack = ctx.orders.buy(self.yes, price, self.size, post_only=True)
            if ack.accepted:
                self.live.append(ack.client_order_id)
        if self.ticks % self.take_every == 0 and ctx.position(self.yes) < self.max_position:
            ack = ctx.orders.buy(self.yes, ask, self.take_shares)
            if ack.accepted:
                self.live.append(ack.client_order_id)
