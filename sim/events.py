"""Market events: what a feed (recorded or live) tells the engine.

Venue payloads are parsed once, at the edge (``live.market_messages``, the
Parquet reader), into these frozen types; nothing deeper sees raw dicts.
Every event carries the exchange timestamp and the local receive timestamp in
integer nanoseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.types import Fill, OrderState, Side

#: One price level: (price, size in shares).
Level = tuple[float, float]


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A full book for one asset. Replaces whatever book was known before.

    ``bids`` are best (highest) first, ``asks`` best (lowest) first, whatever
    order the venue sent them in.
    """

    ts_exchange_ns: int
    ts_recv_ns: int
    asset_id: str
    market: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    tick_size: float | None = None
    hash: str = ""


@dataclass(frozen=True, slots=True)
class LevelChange:
    """The new total size at one price level (0 removes the level)."""

    ts_exchange_ns: int
    ts_recv_ns: int
    asset_id: str
    market: str
    side: Side  # BUY = bid side, SELL = ask side
    price: float
    size: float
    best_bid: float | None = None
    best_ask: float | None = None


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A trade on the venue (anyone's). ``side`` is the taker's side.

    ``side`` and ``size`` are ``None`` when the venue did not say (both are
    optional in Polymarket's ``last_trade_price``): such a print tells the price
    a trade happened at, not which resting orders it took, so a replay must not
    let it touch any resting order. ``transaction_hash`` is the on-chain
    settlement transaction when the venue sends it (2026 captures), else ``""``.
    """

    ts_exchange_ns: int
    ts_recv_ns: int
    asset_id: str
    market: str
    side: Side | None
    price: float
    size: float | None
    fee_rate_bps: float = 0.0
    transaction_hash: str = ""


@dataclass(frozen=True, slots=True)
class TickSizeChange:
    ts_exchange_ns: int
    ts_recv_ns: int
    asset_id: str
    market: str
    old_tick_size: float
    new_tick_size: float


@dataclass(frozen=True, slots=True)
class BestBidAsk:
    """Top of book as the venue reports it (used to cross-check the local book).

    ``None`` stands for an empty side.
    """

    ts_exchange_ns: int
    ts_recv_ns: int
    asset_id: str
    market: str
    best_bid: float | None
    best_ask: float | None


@dataclass(frozen=True, slots=True)
class MarketResolved:
    """A market settled: ``winning_asset_id`` pays 1, every other asset of it 0."""

    ts_exchange_ns: int
    ts_recv_ns: int
    market: str
    asset_ids: tuple[str, ...]
    winning_asset_id: str

    def payout(self, asset_id: str) -> float:
        return 1.0 if asset_id == self.winning_asset_id else 0.0


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """The feed connected or disconnected. ``reason`` says why (free text)."""

    ts_exchange_ns: int
    ts_recv_ns: int
    connected: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The venue reports a change to one of our orders (placed, filled more, cancelled)."""

    ts_exchange_ns: int
    ts_recv_ns: int
    order: OrderState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FillEvent:
    """The venue reports an execution of one of our orders."""

    ts_exchange_ns: int
    ts_recv_ns: int
    fill: Fill


@dataclass(frozen=True, slots=True)
class FillReversed:
    """A fill the venue reported earlier was undone: its trade FAILED on chain.

    ``fill`` is the fill as it was first reported (same trade id); ``reason`` says
    why (free text, e.g. ``"trade FAILED on chain"``). The executor takes the fill
    back out of positions, cash, P&L and the order's filled shares.
    """

    ts_exchange_ns: int
    ts_recv_ns: int
    fill: Fill
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OrdersInDoubt:
    """The venue may have cancelled every one of our open orders without telling us
    (its dead-man switch: our heartbeats lapsed). The executor asks it about each."""

    ts_exchange_ns: int
    ts_recv_ns: int
    reason: str = ""


MarketEvent = (
    BookSnapshot
    | LevelChange
    | TradePrint
    | TickSizeChange
    | BestBidAsk
    | MarketResolved
    | ConnectionState
)

AccountEvent = OrderUpdate | FillEvent | FillReversed | OrdersInDoubt
VenueEvent = MarketEvent | AccountEvent
