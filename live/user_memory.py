"""What the user channel already told the engine, shared by its two sources (the socket
and the REST poller), so each fact is put once whichever source heard it first.

Fills. A leg is put as a ``FillEvent`` once per trade id (``f"{trade id}:{order hash}"``),
at the first status of ``FILL_STATUSES`` heard; a repeat (another status of the same
trade, or the other source) is counted as a duplicate.

Failed trades. A trade that FAILED on chain was undone by the venue. A leg of it already
put as a fill is put again as a ``FillReversed`` (the executor takes it back out), once
per trade id, whether the socket's ``trade`` message or the poller's ``/data/trades``
told it; it is also logged at ERROR, counted (``failed_after_fill``) and kept
(``failed_fills``). A leg not put yet is never put afterwards: no reversal either.

Orders. An ``OrderUpdate`` is put only when the state moves on from the last one put for
that order (``order_advances``), so REST snapshots older than a socket message cannot
undo it.

Not thread-safe: ``UserChannel`` calls it under its own lock.
"""

from __future__ import annotations

import logging
from collections import Counter, deque

from live.user_events import order_advances, root_trade_id
from sim.events import FillEvent, FillReversed, OrderUpdate, VenueEvent
from sim.types import Fill, OrderState

log = logging.getLogger("live.user_feed")  # what it logs is the channel's to say

#: the reason a reversal carries
FAILED_ON_CHAIN = "trade FAILED on chain"
_KEEP_FAILED = 1000


class UserChannelMemory:
    """Fill trade ids put, trades that failed, the last state put per order (module doc).

    ``counts``: the channel's counters, moved here by what is put (``fills_<source>``,
    ``orders_<source>``, ``reversals_<source>``, ``duplicate_fills``,
    ``failed_after_fill``, ``failed_unreported``)."""

    def __init__(self, counts: Counter[str]) -> None:
        self._n = counts
        self._delivered: set[str] = set()  # fill trade ids put
        self._failed_trades: set[str] = set()  # venue trade ids that FAILED
        self._failed_legs: set[str] = set()  # fill trade ids heard FAILED (either source)
        self._failed_fills: deque[Fill] = deque(maxlen=_KEEP_FAILED)
        #: order hash -> the last state put
        self.orders: dict[str, OrderState] = {}

    def failed_fills(self) -> list[Fill]:
        """Fills already put whose trade then FAILED (oldest first, the last 1,000)."""
        return list(self._failed_fills)

    def offer_fill(self, fill: Fill, ts_exchange_ns: int, recv_ns: int,
                   out: list[VenueEvent], source: str) -> None:  # fmt: skip
        """Put ``fill`` unless it was, or its trade failed."""
        if fill.trade_id in self._delivered:
            self._n["duplicate_fills"] += 1
            return
        if root_trade_id(fill.trade_id) in self._failed_trades:
            return
        self._delivered.add(fill.trade_id)
        self._n[f"fills_{source}"] += 1
        out.append(FillEvent(ts_exchange_ns, recv_ns, fill))

    def trade_failed(self, trade_id: str) -> None:
        """The venue trade ``trade_id`` FAILED: none of its legs is put as a fill any more."""
        self._failed_trades.add(trade_id)

    def offer_failure(self, fill: Fill, ts_exchange_ns: int, recv_ns: int,
                      out: list[VenueEvent], source: str) -> None:  # fmt: skip
        """A leg of a FAILED trade: a ``FillReversed`` if its fill was put, once."""
        tid = fill.trade_id
        self._failed_trades.add(root_trade_id(tid))
        if tid in self._failed_legs:
            return  # the other source, or a repeat, told it already
        self._failed_legs.add(tid)
        if tid not in self._delivered:
            self._n["failed_unreported"] += 1
            log.warning("user channel: trade %s FAILED before it was reported; order %s not "
                        "filled by it", root_trade_id(tid), fill.client_order_id)  # fmt: skip
            return
        self._n["failed_after_fill"] += 1
        self._n[f"reversals_{source}"] += 1
        self._failed_fills.append(fill)
        log.error("user channel: trade %s FAILED on chain after its fill was reported: "
                  "%s %s %g @ %g of order %s is undone by the venue", root_trade_id(tid),
                  fill.liquidity.name, fill.side.name, fill.size_shares, fill.price,
                  fill.client_order_id)  # fmt: skip
        out.append(FillReversed(ts_exchange_ns, recv_ns, fill, FAILED_ON_CHAIN))

    def offer_state(self, state: OrderState, ts_exchange_ns: int, recv_ns: int, reason: str,
                    out: list[VenueEvent], source: str) -> None:  # fmt: skip
        """Put ``state`` if it moves the order on."""
        if not order_advances(self.orders.get(state.venue_order_id), state):
            return
        self.orders[state.venue_order_id] = state
        self._n[f"orders_{source}"] += 1
        out.append(OrderUpdate(ts_exchange_ns, recv_ns, state, reason))
