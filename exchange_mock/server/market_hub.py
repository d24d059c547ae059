"""``/ws/market``: subscriptions and fan-out of the replay's public events (reference §6).

A client subscribes with ``{"assets_ids": [...], "type": "market", "initial_dump":
true, "custom_feature_enabled": true}`` and may add or remove assets later with
``{"assets_ids": [...], "operation": "subscribe"|"unsubscribe"}``. Each
subscription (and each resubscription) starts with a ``book`` per asset, as one
array frame, unless ``initial_dump`` is false. Then every public event of a
subscribed asset is sent as it is replayed: level changes of the same market
and millisecond as one ``price_change``, trade prints as ``last_trade_price``,
tick size changes (of both tokens); ``best_bid_ask`` (after each book change) and
``market_resolved`` only with ``custom_feature_enabled``.

Timestamps go out in wire time (``ReplayTime``). The hub is fed on the event
loop's thread (``MockExchange.on_market``) and queues frames per socket; each
socket's writer sends them in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable

from exchange_mock.fault_hook import shift_ts
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.market_encoder import encode_book, encode_events, encode_frame
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
    VenueEvent,
)
from sim.types import Side

#: frames a slow reader may fall behind by before it is disconnected (the venue drops
#: slow consumers too; an unbounded queue would only hide the problem)
MAX_QUEUED_FRAMES = 50_000


class Subscriber:
    """One market-channel socket: what it subscribed to and its outgoing frames."""

    def __init__(self, queue: asyncio.Queue) -> None:
        self.assets: set[str] = set()
        self.custom = False
        self.queue: asyncio.Queue[str | None] = queue
        self.overflowed = False

    def send(self, frame: str) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:
            self.overflowed = True
            self.queue.put_nowait(None)  # the writer closes the socket
            return
        self.queue.put_nowait(frame)


class MarketHub:
    def __init__(self, exchange: MockExchange) -> None:
        self.ex = exchange
        self._subs: dict[asyncio.Queue, Subscriber] = {}
        self.frames_sent = 0
        self.last_trade: dict[str, float] = {}  # asset -> last print's price
        self._own_rows: set[str] = set()  # assets the recording holds book rows of
        self._note(exchange.opening)  # replayed before this hub listened
        exchange.on_market(self.publish)

    @property
    def subscribers(self) -> list[Subscriber]:
        return list(self._subs.values())

    def subscriber_for(self, queue: asyncio.Queue) -> Subscriber:
        """The subscriber writing to ``queue`` (a socket's), created on first use."""
        sub = self._subs.get(queue)
        if sub is None:
            sub = self._subs[queue] = Subscriber(queue)
        return sub

    def disconnect_queue(self, queue: asyncio.Queue) -> None:
        self._subs.pop(queue, None)

    def subscribe(
        self,
        sub: Subscriber,
        assets: Iterable[str],
        *,
        initial_dump: bool = True,
        custom: bool | None = None,
    ) -> list[str]:
        """Add ``assets`` (unknown ids are ignored, as the venue ignores them); returns
        the ids added. A ``book`` of each follows at once unless ``initial_dump`` is off."""
        self.ex.step()
        known = [a for a in assets if a in self.ex.by_token]
        sub.assets.update(known)
        if custom is not None:
            sub.custom = custom
        if initial_dump and known:
            sub.send(encode_frame([self.book_message(a) for a in known]))
        return known

    def unsubscribe(self, sub: Subscriber, assets: Iterable[str]) -> None:
        sub.assets.difference_update(assets)

    def _sibling(self, asset_id: str) -> str:
        m = self.ex.by_token[asset_id]
        return m.no_token_id if asset_id == m.yes_token_id else m.yes_token_id

    def _mirrored(self, asset_id: str) -> bool:
        """True when the recording holds no book rows of ``asset_id`` but holds its
        sibling's: the venue still shows both tokens' books, one the mirror of the other
        (a NO bid at q is a YES ask at 1 - q)."""
        return asset_id not in self._own_rows and self._sibling(asset_id) in self._own_rows

    def _top(self, asset_id: str) -> tuple[float | None, float | None]:
        local = self.ex.driver.local
        if self._mirrored(asset_id):
            i = local.index(self._sibling(asset_id))
            bid, ask = local.best_bid(i), local.best_ask(i)
            return (None if ask is None else round(1.0 - ask, 6),
                    None if bid is None else round(1.0 - bid, 6))  # fmt: skip
        i = local.index(asset_id)
        return local.best_bid(i), local.best_ask(i)

    def tick_of(self, asset_id: str) -> float:
        """The token's tick size now (after any recorded ``tick_size_change``)."""
        source = self._sibling(asset_id) if self._mirrored(asset_id) else asset_id
        local = self.ex.driver.local
        tick = float(local.tick[local.index(source)])
        return tick if tick > 0 else self.ex.by_token[asset_id].tick_size

    def book_message(self, asset_id: str) -> dict:
        """The ``book`` of ``asset_id`` as the replay shows it now (also REST ``/book``)."""
        now = self.ex.clock.now_ns()
        source = self._sibling(asset_id) if self._mirrored(asset_id) else asset_id
        snap = self.ex.driver.snapshot(source, now)
        if source != asset_id:
            flip = lambda levels: tuple((round(1.0 - p, 6), s) for p, s in levels)  # noqa: E731
            snap = dataclasses.replace(snap, asset_id=asset_id, bids=flip(snap.asks),
                                       asks=flip(snap.bids))  # fmt: skip
        snap = dataclasses.replace(snap, market=self.ex.by_token[asset_id].condition_id)
        return encode_book(self._wire(snap), last_trade_price=self.last_trade.get(asset_id))

    def _level_events(self, ev: LevelChange) -> tuple[LevelChange, BestBidAsk]:
        """A level change with the book's top after it (as ``price_change`` carries it), and
        the ``best_bid_ask`` custom-feature message."""
        bid, ask = self._top(ev.asset_id)
        ev = dataclasses.replace(ev, best_bid=bid, best_ask=ask)
        top = BestBidAsk(ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.market, bid, ask)
        return self._wire(ev), self._wire(top)

    def _wire(self, ev):
        return shift_ts(ev, self.ex.time.wire_start_ns - self.ex.time.data_start_ns)

    def _note(self, events: list[VenueEvent]) -> None:
        """Remember each asset's last print and which assets the recording holds rows of."""
        for ev in events:
            if isinstance(ev, TradePrint):
                self.last_trade[ev.asset_id] = ev.price
            elif isinstance(ev, LevelChange | BookSnapshot):
                self._own_rows.add(ev.asset_id)

    def publish(self, events: list[VenueEvent]) -> None:
        """Send each subscriber the events of its assets (called by the exchange)."""
        self._note(events)
        if not self._subs:
            return
        enriched: list = []
        # a run of level changes (both tokens' of one update) goes out as one price_change,
        # as the venue sends it, then the tops it left: one best_bid_ask per asset
        tops: dict[str, BestBidAsk] = {}
        for ev in events:
            if isinstance(ev, LevelChange):
                changes = [ev]
                other = self._sibling(ev.asset_id)
                if self._mirrored(other):  # the venue reports both tokens' books
                    side = Side.SELL if ev.side is Side.BUY else Side.BUY
                    changes.append(dataclasses.replace(ev, asset_id=other, side=side,
                                                       price=round(1.0 - ev.price, 6)))  # fmt: skip
                for ch in changes:
                    change, top = self._level_events(ch)
                    enriched.append(change)
                    tops[ch.asset_id] = top
                continue
            enriched += tops.values()
            tops.clear()
            if isinstance(ev, BookSnapshot):
                enriched.append(self._wire(ev))
                other = self._sibling(ev.asset_id)
                if self._mirrored(other):
                    flip = lambda lv: tuple((round(1.0 - p, 6), s) for p, s in lv)  # noqa: E731
                    enriched.append(self._wire(dataclasses.replace(
                        ev, asset_id=other, bids=flip(ev.asks), asks=flip(ev.bids))))  # fmt: skip
            elif isinstance(ev, TickSizeChange):
                enriched.append(self._wire(ev))
                other = self._sibling(ev.asset_id)
                if self._mirrored(other):  # both tokens of a market share the tick
                    enriched.append(self._wire(dataclasses.replace(ev, asset_id=other)))
            elif isinstance(ev, MarketResolved) or hasattr(ev, "asset_id"):
                enriched.append(self._wire(ev))
        enriched += tops.values()
        for sub in list(self._subs.values()):
            mine = [e for e in enriched if _wanted(e, sub)]
            if mine:
                messages = encode_events(mine)
                sub.send(encode_frame(messages if len(messages) > 1 else messages[0]))
                self.frames_sent += 1


def _wanted(ev, sub: Subscriber) -> bool:
    if isinstance(ev, MarketResolved):
        return sub.custom and any(a in sub.assets for a in ev.asset_ids)
    if isinstance(ev, BestBidAsk):
        return sub.custom and ev.asset_id in sub.assets
    return getattr(ev, "asset_id", None) in sub.assets
