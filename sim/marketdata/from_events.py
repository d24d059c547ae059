"""``sim.events`` <-> Parquet event rows (``EventKind``/``EventColumns``).

``RowBuilder`` is exactly what a live recorder writes: it turns parsed feed
events into rows of the on-disk format (``sim.marketdata.schema``), one ``seq``
per row, strictly increasing in append order. The mapping:

===================  ==========================================================
event                rows
===================  ==========================================================
``BookSnapshot``     one ``BOOK_RESET`` (side 0, price 0, size 0), then one
                     ``SNAPSHOT_LEVEL`` per level: bids (``SIDE_BID``) best
                     first, then asks (``SIDE_ASK``) best first
``LevelChange``      one ``LEVEL_CHANGE`` (side from the book side, size the new
                     total at the level)
``TradePrint``       one ``TRADE`` (side is the taker's: ``SIDE_BID`` for BUY,
                     ``SIDE_ASK`` for SELL, 0 when unknown (``side`` None);
                     size 0.0 when unknown (``size`` None))
``TickSizeChange``   one ``TICK_SIZE`` (price = new tick, size = old tick, side 0)
``MarketResolved``   one ``RESOLVED`` per asset (price = payout 1.0/0.0, size 0)
``ConnectionState``  one ``CONNECTION`` (no asset, side 1 connected / 0
                     disconnected, price 0, size 0)
``BestBidAsk``       nothing: the top of book is derivable from the book rows
                     and the venue's copy is only a cross-check
===================  ==========================================================

A ``TRADE`` row with side 0 or size 0.0 is a print that says nothing about which
resting orders it took: the validator accepts it and replay lets it touch no
resting order. (A venue print of size exactly 0 is stored the same way; it could
not have taken anything either.)

``rows_to_events`` is the reverse, for tests and replay. The format does not
keep everything, so the reverse is lossy where the table says so: book ``hash``
and ``tick_size``, ``LevelChange.best_bid``/``best_ask``, ``TradePrint.fee_rate_bps``
and ``transaction_hash``, and ``ConnectionState.reason`` come back as their
defaults, a ``TRADE`` row's side 0 and size 0.0 come back as ``None``, and
``market`` is filled in only when the markets are given.

Unknown assets. ``RowBuilder.append(event)`` raises ``ValueError`` for an event
naming an asset that is not in the builder's asset table (and adds none of its
rows). ``RowBuilder.extend(events)`` is what a recorder calls on a parsed frame,
and there an unknown asset must not cost the batch: Polymarket sends
``market_resolved`` to every connection, for markets nobody subscribed to. So
``extend`` writes what it can and counts the rest in ``RowBuilder.ignored`` by
reason (``IGNORE_REASONS``), logging a WARNING once per distinct asset:

===================  ==========================================================
``unknown_market``   a ``MarketResolved`` none of whose assets is in the table:
                     skipped
``unknown_asset``    any other event whose asset is not in the table: skipped;
                     also each unknown asset of a ``MarketResolved`` that names
                     known ones too (the known assets' rows are written)
===================  ==========================================================
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    Level,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata.columns import EventColumns
from sim.marketdata.schema import (
    K_CONN,
    K_LEVEL,
    K_RESET,
    K_RESOLVED,
    K_SNAP,
    K_TICK,
    K_TRADE,
    SIDE_ASK,
    SIDE_BID,
    SIDE_NONE,
)
from sim.types import MarketInfo, Side

__all__ = ["IGNORE_REASONS", "RowBuilder", "rows_to_events"]

logger = logging.getLogger(__name__)

#: The reasons ``RowBuilder.ignored`` counts (module docstring).
IGNORE_REASONS: frozenset[str] = frozenset({"unknown_market", "unknown_asset"})

_TRADE_SIDES: dict[int, Side] = {SIDE_BID: Side.BUY, SIDE_ASK: Side.SELL}  # SIDE_NONE: None


class RowBuilder:
    """Accumulates event rows for one asset table and builds ``EventColumns``.

    ``assets`` is the dataset's asset table (``sim.marketdata.asset_table``):
    rows store an asset's index in it. ``seq_start`` is the first ``seq``
    assigned; a recorder that ``flush``-es periodically keeps one increasing
    ``seq`` across its files. ``append`` of an event whose asset is not in the
    table raises ``ValueError`` naming the asset, before any of its rows is
    added; ``extend`` skips it instead and counts it in ``ignored`` (module
    docstring).
    """

    def __init__(self, assets: Sequence[str], seq_start: int = 0) -> None:
        self.assets: tuple[str, ...] = tuple(assets)
        self._index = {a: i for i, a in enumerate(self.assets)}
        if len(self._index) != len(self.assets):
            raise ValueError("asset table has a duplicate asset id")
        self._next_seq = int(seq_start)
        self.ignored: Counter[str] = Counter()
        self._warned: set[str] = set()
        self._clear()

    def _clear(self) -> None:
        self._ts_exchange: list[int] = []
        self._ts_recv: list[int] = []
        self._asset: list[int] = []
        self._kind: list[int] = []
        self._side: list[int] = []
        self._price: list[float] = []
        self._size: list[float] = []
        self._seq_first = self._next_seq

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next row will get."""
        return self._next_seq

    def __len__(self) -> int:
        return len(self._kind)

    def asset_index(self, asset_id: str) -> int:
        try:
            return self._index[asset_id]
        except KeyError:
            raise ValueError(
                f"asset {asset_id!r} is not in this builder's asset table "
                f"({len(self.assets)} assets)"
            ) from None

    def _rows(
        self,
        n: int,
        ts_exchange_ns: int,
        ts_recv_ns: int,
        asset: int,
        kind: int,
        sides: Iterable[int],
        prices: Iterable[float],
        sizes: Iterable[float],
    ) -> None:
        self._ts_exchange.extend([ts_exchange_ns] * n)
        self._ts_recv.extend([ts_recv_ns] * n)
        self._asset.extend([asset] * n)
        self._kind.extend([kind] * n)
        self._side.extend(sides)
        self._price.extend(prices)
        self._size.extend(sizes)
        self._next_seq += n

    def _row(
        self,
        ts_exchange_ns: int,
        ts_recv_ns: int,
        asset: int,
        kind: int,
        side: int,
        price: float,
        size: float,
    ) -> None:
        self._ts_exchange.append(ts_exchange_ns)
        self._ts_recv.append(ts_recv_ns)
        self._asset.append(asset)
        self._kind.append(kind)
        self._side.append(side)
        self._price.append(price)
        self._size.append(size)
        self._next_seq += 1

    def append(self, event: MarketEvent) -> int:
        """Add the rows of one event; return how many rows that was (0 for ``BestBidAsk``)."""
        handler = _APPENDERS.get(type(event))
        if handler is None:
            raise TypeError(f"not a market event: {type(event).__name__}")
        return handler(self, event)

    def _level_change(self, ev: LevelChange) -> int:
        side = SIDE_BID if ev.side is Side.BUY else SIDE_ASK
        a = self.asset_index(ev.asset_id)
        self._row(ev.ts_exchange_ns, ev.ts_recv_ns, a, K_LEVEL, side, ev.price, ev.size)
        return 1

    def _book(self, ev: BookSnapshot) -> int:
        a = self.asset_index(ev.asset_id)
        ex, rv = ev.ts_exchange_ns, ev.ts_recv_ns
        self._row(ex, rv, a, K_RESET, SIDE_NONE, 0.0, 0.0)
        levels = ev.bids + ev.asks
        n = len(levels)
        sides = [SIDE_BID] * len(ev.bids) + [SIDE_ASK] * len(ev.asks)
        self._rows(n, ex, rv, a, K_SNAP, sides, (p for p, _ in levels), (s for _, s in levels))
        return 1 + n

    def _trade(self, ev: TradePrint) -> int:
        side = SIDE_NONE if ev.side is None else int(ev.side)  # Side.BUY = SIDE_BID = 1
        size = 0.0 if ev.size is None else ev.size
        a = self.asset_index(ev.asset_id)
        self._row(ev.ts_exchange_ns, ev.ts_recv_ns, a, K_TRADE, side, ev.price, size)
        return 1

    def _best_bid_ask(self, ev: BestBidAsk) -> int:
        self.asset_index(ev.asset_id)  # an unknown asset is still an error
        return 0

    def _tick_size(self, ev: TickSizeChange) -> int:
        a = self.asset_index(ev.asset_id)
        self._row(
            ev.ts_exchange_ns,
            ev.ts_recv_ns,
            a,
            K_TICK,
            SIDE_NONE,
            ev.new_tick_size,
            ev.old_tick_size,
        )
        return 1

    def _resolved(self, ev: MarketResolved) -> int:
        idx = [self.asset_index(asset_id) for asset_id in ev.asset_ids]  # all checked first
        for asset_id, a in zip(ev.asset_ids, idx, strict=True):
            payout = ev.payout(asset_id)
            self._row(ev.ts_exchange_ns, ev.ts_recv_ns, a, K_RESOLVED, SIDE_NONE, payout, 0.0)
        return len(idx)

    def _connection(self, ev: ConnectionState) -> int:
        side = 1 if ev.connected else 0
        self._row(ev.ts_exchange_ns, ev.ts_recv_ns, -1, K_CONN, side, 0.0, 0.0)
        return 1

    def extend(self, events: Iterable[MarketEvent]) -> int:
        """``append`` each event in order; return the total number of rows added.

        Unlike ``append``, an event naming an asset outside the table is skipped
        and counted in ``ignored`` rather than raising (module docstring), so one
        announcement about a market not recorded here never costs the batch.
        """
        added = 0
        for ev in events:
            if isinstance(ev, MarketResolved):
                known = [a for a in ev.asset_ids if a in self._index]
                unknown = [a for a in ev.asset_ids if a not in self._index]
                if not unknown:
                    added += self.append(ev)
                    continue
                if not known:
                    self._ignore("unknown_market", ev.asset_ids, ev)
                    continue
                self._ignore("unknown_asset", unknown, ev)
                a_idx = [self._index[a] for a in known]
                for asset_id, a in zip(known, a_idx, strict=True):
                    payout = ev.payout(asset_id)
                    self._row(
                        ev.ts_exchange_ns, ev.ts_recv_ns, a, K_RESOLVED, SIDE_NONE, payout, 0.0
                    )
                added += len(known)
                continue
            asset_id = getattr(ev, "asset_id", None)
            if asset_id is not None and asset_id not in self._index:
                self._ignore("unknown_asset", (asset_id,), ev)
                continue
            added += self.append(ev)
        return added

    def _ignore(self, reason: str, asset_ids: Sequence[str], ev: MarketEvent) -> None:
        if reason == "unknown_market":
            self.ignored[reason] += 1
        else:
            self.ignored[reason] += len(asset_ids)
        for asset_id in asset_ids:
            if asset_id not in self._warned:
                self._warned.add(asset_id)
                # INFO: Polymarket announces resolutions to every connection, so events of
                # markets outside the table are normal traffic; they are counted either way
                logger.info(
                    "%s: asset %s is not in this builder's asset table (%d assets); "
                    "its %s rows are not written (logged once per asset, counted in ignored)",
                    reason,
                    asset_id,
                    len(self.assets),
                    type(ev).__name__,
                )

    def build(self) -> EventColumns:
        """The rows so far as ``EventColumns`` (the builder keeps them)."""
        return EventColumns(
            ts_exchange_ns=np.array(self._ts_exchange, dtype=np.int64),
            ts_recv_ns=np.array(self._ts_recv, dtype=np.int64),
            seq=np.arange(self._seq_first, self._next_seq, dtype=np.int64),
            asset=np.array(self._asset, dtype=np.int32),
            kind=np.array(self._kind, dtype=np.uint8),
            side=np.array(self._side, dtype=np.int8),
            price=np.array(self._price, dtype=np.float64),
            size=np.array(self._size, dtype=np.float64),
            assets=self.assets,
        )

    def flush(self) -> EventColumns:
        """``build`` and then forget the rows; ``seq`` keeps counting from where it was."""
        cols = self.build()
        self._clear()
        return cols


_APPENDERS: dict[type, Callable[[RowBuilder, Any], int]] = {
    LevelChange: RowBuilder._level_change,
    BookSnapshot: RowBuilder._book,
    TradePrint: RowBuilder._trade,
    BestBidAsk: RowBuilder._best_bid_ask,
    TickSizeChange: RowBuilder._tick_size,
    MarketResolved: RowBuilder._resolved,
    ConnectionState: RowBuilder._connection,
}


def rows_to_events(
    cols: EventColumns, markets: Sequence[MarketInfo] | None = None
) -> list[MarketEvent]:
    """The events the rows encode (the reverse of ``RowBuilder``; lossy, see the module doc).

    ``markets`` supplies each asset's condition id for the events' ``market``
    field (``""`` without it). A ``BOOK_RESET`` and the ``SNAPSHOT_LEVEL`` rows of
    the same asset right after it form one ``BookSnapshot``; consecutive
    ``RESOLVED`` rows with the same timestamps and market form one
    ``MarketResolved`` (winner: the asset paid 1.0, ``""`` if none was; without
    ``markets``, simultaneous resolutions of different markets merge). Raises
    ``ValueError`` for a ``SNAPSHOT_LEVEL`` without its ``BOOK_RESET``.
    """
    assets = cols.assets
    market_of: dict[str, str] = {}
    for m in markets or ():
        market_of[m.yes_token_id] = m.condition_id
        market_of[m.no_token_id] = m.condition_id
    markets_by_index = [market_of.get(a, "") for a in assets]

    ts_ex = cols.ts_exchange_ns.tolist()
    ts_rv = cols.ts_recv_ns.tolist()
    asset = cols.asset.tolist()
    kind = cols.kind.tolist()
    side = cols.side.tolist()
    price = cols.price.tolist()
    size = cols.size.tolist()

    out: list[MarketEvent] = []
    n = len(kind)
    i = 0
    while i < n:
        k, a = kind[i], asset[i]
        if k == K_RESET:
            bids: list[Level] = []
            asks: list[Level] = []
            j = i + 1
            while j < n and kind[j] == K_SNAP and asset[j] == a:
                (bids if side[j] == SIDE_BID else asks).append((price[j], size[j]))
                j += 1
            bids.sort(key=lambda lv: lv[0], reverse=True)
            asks.sort(key=lambda lv: lv[0])
            out.append(
                BookSnapshot(
                    ts_ex[i], ts_rv[i], assets[a], markets_by_index[a], tuple(bids), tuple(asks)
                )
            )
            i = j
            continue
        if k == K_SNAP:
            raise ValueError(f"row {i}: SNAPSHOT_LEVEL without a BOOK_RESET before it")
        if k == K_LEVEL:
            side_ = Side.BUY if side[i] == SIDE_BID else Side.SELL
            out.append(LevelChange(ts_ex[i], ts_rv[i], assets[a], markets_by_index[a], side_,
                                   price[i], size[i]))  # fmt: skip
        elif k == K_TRADE:  # side 0 / size 0.0: the venue did not say
            trade_side = _TRADE_SIDES.get(side[i])
            out.append(TradePrint(ts_ex[i], ts_rv[i], assets[a], markets_by_index[a], trade_side,
                                  price[i], None if size[i] == 0.0 else size[i]))  # fmt: skip
        elif k == K_TICK:
            out.append(
                TickSizeChange(
                    ts_ex[i], ts_rv[i], assets[a], markets_by_index[a], size[i], price[i]
                )
            )
        elif k == K_RESOLVED:
            market = markets_by_index[a]
            ids: list[str] = []
            winner = ""
            j = i
            while (
                j < n
                and kind[j] == K_RESOLVED
                and ts_ex[j] == ts_ex[i]
                and ts_rv[j] == ts_rv[i]
                and markets_by_index[asset[j]] == market
                and assets[asset[j]] not in ids  # a repeated asset starts the next event
            ):
                ids.append(assets[asset[j]])
                if price[j] == 1.0:
                    winner = assets[asset[j]]
                j += 1
            out.append(MarketResolved(ts_ex[i], ts_rv[i], market, tuple(ids), winner))
            i = j
            continue
        elif k == K_CONN:
            out.append(ConnectionState(ts_ex[i], ts_rv[i], connected=side[i] == 1))
        else:
            raise ValueError(f"row {i}: kind {k} is not an EventKind")
        i += 1
    return out
