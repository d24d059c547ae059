"""The venue's balance, cached, and the funds check every BUY passes.

The balance is real: read from the venue, kept for ``balance_ttl_s``, read
again after anything that may have moved it. An unknown or zero balance
refuses new risk instead of being trusted. Fills lower the cached balance
locally (never raise it), and a refusal is never made on that local
arithmetic alone: the venue is asked first.
"""

from __future__ import annotations

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.calls import VenueCaller
from sim.executor.config import ExecutorConfig
from sim.executor.counters import NS
from sim.executor.tracker import OrderTracker, TrackedOrder
from sim.types import Balance, Fill, MarketInfo, OrderRequest, Side, taker_fee_usdc
from sim.venue import Venue, VenueError


class BalanceCache:
    __slots__ = ("_alarm", "_alerted", "_caller", "_clock", "_tracker", "_ttl_ns", "_venue",
                 "adjusted", "cached", "dirty")  # fmt: skip

    def __init__(
        self, clock: Clock, config: ExecutorConfig, caller: VenueCaller, venue: Venue,
        tracker: OrderTracker, alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._ttl_ns = int(config.balance_ttl_s * NS)
        self._caller = caller
        self._venue = venue
        self._tracker = tracker
        self._alarm = alarm
        self.cached: Balance | None = None
        #: read the venue before the next use, whatever the TTL says
        self.dirty = True
        #: the cached balance carries fills applied locally
        self.adjusted = False
        self._alerted = ""  # "failed" / "zero": said once until it recovers

    def now(self) -> Balance | None:
        """The balance, read from the venue when the cache is stale; None when unknown."""
        now = self._clock.now_ns()
        b = self.cached
        if b is not None and not self.dirty and now - b.as_of_ns <= self._ttl_ns:
            return b
        try:
            b = self._caller.call("balance", self._venue.balance)
        except VenueError as exc:
            self.cached = None
            if self._alerted != "failed":
                self._alerted = "failed"
                self._alarm("critical", "balance", f"balance source failing: {exc}")
            return None
        self.cached, self.dirty, self.adjusted = b, False, False
        if b.total_usdc <= 0.0 and self._alerted != "zero":
            self._alerted = "zero"
            self._alarm("critical", "balance", "venue reports a zero balance",
                        {"tracked_cash_usdc": self._tracker.cash_usdc})  # fmt: skip
        elif b.total_usdc > 0.0:
            self._alerted = ""
        return b

    def funds_check(
        self, req: OrderRequest, market: MarketInfo, expected: float | None,
        open_orders: list[TrackedOrder],
    ) -> tuple[str, str]:  # fmt: skip
        """('', '') when the BUY ``req`` is funded, else (reason, message)."""
        reason, message = self._verdict(req, market, expected, open_orders)
        if reason and self.adjusted:
            # never refuse on our own arithmetic: ask the venue, then judge again
            self.dirty = True
            reason, message = self._verdict(req, market, expected, open_orders)
        return reason, message

    def _verdict(
        self, req: OrderRequest, market: MarketInfo, expected: float | None,
        open_orders: list[TrackedOrder],
    ) -> tuple[str, str]:  # fmt: skip
        b = self.now()
        if b is None:
            return "balance_unknown", "the balance source is failing: no new risk"
        if b.total_usdc <= 0.0:
            return "zero_balance", "the venue reports a zero balance: no new risk"
        reserved = 0.0
        for o in open_orders:
            r = o.request
            if r.side is Side.BUY:
                reserved += o.remaining_shares * r.price
        available = min(b.available_usdc, b.total_usdc - reserved)
        required = req.price * req.size_shares
        if expected is not None and req.price >= expected:  # marketable: pays the taker fee
            required += taker_fee_usdc(req.size_shares, req.price, market.fee_rate,
                                       market.fee_exponent)  # fmt: skip
        if required > available + 1e-9:
            return "insufficient_funds", (
                f"needs {required:.4f} USDC, {available:.4f} available "
                f"({reserved:.4f} reserved by open orders)"
            )
        return "", ""

    def adjust(self, fill: Fill) -> None:
        """A fill lowers the cached balance instead of costing a venue round trip before the
        next order (live, a balance read right after a fill can even predate the trade's
        settlement). Never upward: a BUY lowers total and available by its cost (counted
        twice if the venue's last answer already held it, or if a resting order's
        reservation was already out of 'available': too low, never too high); a SELL's
        proceeds wait for the venue's next answer. The venue is asked again when the TTL
        runs out, and before any refusal (``funds_check``)."""
        b = self.cached
        if b is None or self.dirty or fill.side is not Side.BUY:
            return
        cost = fill.price * fill.size_shares
        self.cached = Balance(b.total_usdc - cost, b.available_usdc - cost, b.as_of_ns)
        self.adjusted = True
