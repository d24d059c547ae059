"""The replay driver: recorded days fed to a matching venue and to the strategy's books.

Two cursors walk the recorded rows. The exchange cursor feeds them to the
matching venue (``MatchingVenue.apply_rows``) at their exchange timestamps;
the local cursor applies them to the strategy's books (``sim.books``) at
their receive timestamps (plus ``md_extra_ms``) and stops at each row the
engine must deliver. The exchange cursor never runs past the next delivery,
so a strategy reacting to an event meets the book as it was then, plus its
own order-entry latency: slippage emerges from depth and from the book
moving during latency.

The driver is the run's ``MarketFeed`` (the engine pulls events from
``advance``) and the venue's ``RowSource`` (a venue call first brings the
exchange book up to its arrival time through ``catch_up``). Feed faults act
here, through the venue's fault hook: its filter on each batch of delivered
events, its stale-book windows that hold the local cursor, the WebSocket
windows that silence the feed (``exchange_mock.fault_hook``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from exchange_mock.matching_venue import MatchingVenue
from sim.books import (
    AssetBookView,
    LocalBooks,
    apply_local_until,
    apply_one,
    next_watched_row,
)
from sim.events import (
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
    VenueEvent,
)
from sim.marketdata import Dataset, EventColumns
from sim.marketdata.schema import K_LEVEL, K_RESOLVED, K_SNAP, K_TICK, K_TRADE
from sim.types import Side

_TAKER_SIDE = {1: Side.BUY, -1: Side.SELL}  # a print's taker side; 0 (unknown) -> None


class _Cursor:
    """A position (batch, row) in the stream of day batches."""

    __slots__ = ("batch", "row")

    def __init__(self) -> None:
        self.batch = 0
        self.row = 0


class ReplayDriver:
    """Replays ``dataset`` (days ``start``..``end``, ``markets`` selected) into ``venue``
    (built over the dataset's market list, ``venue_for``) and into the strategy's books."""

    def __init__(
        self,
        dataset: Dataset,
        venue: MatchingVenue,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        markets: Sequence[str] | None = None,
        md_extra_ms: float = 0.0,
    ) -> None:
        self.dataset = dataset
        self.venue = venue
        self.clob = venue.clob
        self._markets = list(dataset.markets)
        self.assets = dataset.assets
        if tuple(self.assets) != venue.assets:
            raise ValueError("the venue was not built over this dataset's markets")
        self.local = LocalBooks(dataset.assets, dataset.initial_ticks(), self.clob.grid)
        self._md_extra_ns = round(md_extra_ms * 1e6)
        hook = venue.fault_hook
        self._hook = hook
        # a stale-book fault pauses the local cursor (None: no check at all)
        self._pause = getattr(hook, "local_pause", None)
        self._next_feed_fault = getattr(hook, "next_feed_fault_ns", None)
        self._silent_since = getattr(hook, "feed_silent_since", None)
        self._days: Iterator = dataset.iter_days(start=start, end=end, markets=markets)
        self._batches: list[EventColumns] = []
        self._skips: list[np.ndarray] = []  # per batch: rows the matching venue does not apply
        #: what the replay rules repaired in the days loaded so far (``DayBatch.repairs``)
        self.data_repairs: Counter[str] = Counter()
        self._batch_base = 0  # index of _batches[0] in the whole stream
        self._rows_dropped = 0
        self._more_days = True
        self._ex = _Cursor()
        self._lo = _Cursor()
        self._watch_row = -1  # cached next watched row of the local cursor's batch
        self._resolved: set[int] = set()
        self.time_ns = venue.clock.now_ns()
        #: receive time of the last row applied to the strategy's books (a feed watchdog's input)
        self._last_update_ns = self.time_ns
        self.exhausted = False
        self._load_next_day()
        venue.attach(self)
        bind = getattr(hook, "bind", None)
        if bind is not None:
            bind(self)

    # ------------------------------------------------------------------ data loading
    def _load_next_day(self) -> bool:
        if not self._more_days:
            return False
        for batch in self._days:
            if len(batch.events):
                self.clob.check_assets(batch.events)
                self.venue.choose_book_source(batch.events)
                self._batches.append(batch.events)
                self._skips.append(batch.venue_skip)
                self.data_repairs.update(batch.repairs)
                return True
        self._more_days = False
        return False

    def _batch(self, i: int) -> EventColumns:
        return self._batches[i - self._batch_base]

    def _loaded_end(self) -> int:
        return self._batch_base + len(self._batches)

    def _drop_consumed(self) -> None:
        keep_from = min(self._ex.batch, self._lo.batch)
        while self._batch_base < keep_from:
            self._rows_dropped += len(self._batches.pop(0))
            self._skips.pop(0)
            self._batch_base += 1

    def first_event_ns(self) -> int | None:
        """Receive time of the first row (None for an empty selection)."""
        return int(self._batches[0].ts_recv_ns[0]) if self._batches else None

    def last_loaded_ns(self) -> int:
        return int(self._batches[-1].ts_recv_ns[-1]) if self._batches else self.time_ns

    # ------------------------------------------------------------------ MarketFeed
    def subscribe(self, asset_ids: Sequence[str]) -> None:
        for a in asset_ids:
            self.local.watch[self.local.index(a)] = True
        self._watch_row = -1  # the cached next watched row may be stale

    def book(self, asset_id: str) -> AssetBookView:
        return self.local.view(asset_id)

    def subscribed_assets(self) -> list[str]:
        return [a for i, a in enumerate(self.assets) if self.local.watch[i]]

    def snapshot(self, asset_id: str, ts_ns: int) -> BookSnapshot:
        """The strategy-visible book of one asset as a full snapshot (what a resubscribe sends)."""
        loc = self.local
        i = loc.index(asset_id)
        return BookSnapshot(ts_ns, ts_ns, asset_id, self._markets[i >> 1].condition_id,
                            tuple(loc.levels(i, 0, 10**6)), tuple(loc.levels(i, 1, 10**6)),
                            float(loc.tick[i]))  # fmt: skip

    def mark(self, asset_id: str) -> float | None:
        return self.local.mark(asset_id)

    def advance(self, until_ns: int) -> list[VenueEvent]:
        """Move to the next delivery (or ``until_ns``) and return what is delivered then."""
        while True:
            t1 = until_ns
            due = self.venue.next_delivery_ns()
            if due is not None and due < t1:
                t1 = due
            stop_kind, t_local = self._next_local_stop()
            if t_local is not None and self._pause is not None:
                w = self._pause(t_local)  # a row received in a stale window waits for its end
                t_local = t_local if w is None else w[1]
            if t_local is not None and t_local < t1:
                t1 = t_local
            poke = False
            if self._next_feed_fault is not None:
                # a WebSocket fault's window opens before anything else happens: stop there
                # so the fault acts at its start (a dropped socket says so when it drops)
                opens = self._next_feed_fault(self.time_ns)
                if opens is not None and opens <= t1:
                    t1, poke = max(opens, self.time_ns), True
            t1 = self.catch_up(t1)
            if self._pause is None:
                self._run_local(t1)
            else:
                w = self._pause(t1)  # inside a stale window: the book stays as of its start
                self._run_local(t1 if w is None else w[0] - 1)
            self.time_ns = max(self.time_ns, t1)
            out: list[VenueEvent] = self.venue.pop_deliveries(t1)
            if t_local is not None and t_local <= t1:
                if stop_kind == "row":
                    out.extend(self._deliver_local_row())
                else:
                    self._next_local_batch()
            if (out or poke) and self._hook is not None:
                out = self._hook.on_events(out, self.time_ns)  # may withhold them all
            if out:
                return out
            if self._stream_done():
                self.exhausted = True
                return out
            if t1 >= until_ns:
                return out

    def _stream_done(self) -> bool:
        """No row left for the local cursor and nothing waiting to be delivered."""
        if self.venue.next_delivery_ns() is not None or self._more_days:
            return False
        if not self._batches:
            return True
        lo = self._lo
        return lo.batch >= self._loaded_end() - 1 and lo.row >= len(self._batch(lo.batch))

    def _next_local_stop(self) -> tuple[str, int | None]:
        """("row", t) for the next watched row, ("batch_end", t) at a day's last row,
        ("end", None) when the local cursor has nothing left."""
        lo = self._lo
        if lo.batch >= self._loaded_end() and not self._load_next_day():
            return "end", None
        ev = self._batch(lo.batch)
        n = len(ev)
        if self._watch_row < lo.row:
            self._watch_row = int(next_watched_row(ev.asset, ev.kind, lo.row, n, self.local.watch))
        if self._watch_row < n:
            return "row", int(ev.ts_recv_ns[self._watch_row]) + self._md_extra_ns
        if lo.row >= n and lo.batch + 1 >= self._loaded_end() and not self._load_next_day():
            return "end", None
        return "batch_end", int(ev.ts_recv_ns[n - 1]) + self._md_extra_ns

    def _next_local_batch(self) -> None:
        """The local cursor finished its day: move to the next loaded day, if any."""
        lo = self._lo
        ev = self._batch(lo.batch)
        if lo.row < len(ev):
            return  # rows left (time bound stopped us): come back later
        if lo.batch + 1 < self._loaded_end() or self._load_next_day():
            lo.batch += 1
            lo.row = 0
            self._watch_row = -1
            self._drop_consumed()

    def _run_local(self, t_ns: int) -> None:
        lo = self._lo
        if lo.batch >= self._batch_base + len(self._batches):
            return
        ev = self._batches[lo.batch - self._batch_base]
        ts = ev.ts_recv_ns
        n = len(ts)
        stop = min(self._watch_row, n) if self._watch_row >= lo.row else n
        before = lo.row
        if before >= stop or ts[before] + self._md_extra_ns > t_ns:
            return  # no row due: skip the kernel call (deliveries between rows)
        lo.row = int(
            apply_local_until(
                ts, ev.asset, ev.kind, ev.side, ev.price, ev.size, before, stop,
                t_ns, self._md_extra_ns, self.local.ladder, self.local.best, self.local.grid,
            )
        )  # fmt: skip
        if lo.row > before:
            self._last_update_ns = int(ts[lo.row - 1]) + self._md_extra_ns

    @property
    def last_update_ns(self) -> int:
        """Receive time of the last market data the strategy could have had (the silence
        watchdog reads it): the last row applied, or the start of a dropped or silent
        WebSocket window in effect, whichever is earlier."""
        if self._silent_since is not None:
            since = self._silent_since(self.time_ns)
            if since is not None:
                return min(self._last_update_ns, since)
        return self._last_update_ns

    def catch_up(self, t_ns: int) -> int:
        """Feed the venue every exchange row due by ``t_ns`` (``RowSource``); returns
        ``t_ns`` lowered to any new delivery."""
        ex, venue = self._ex, self.venue
        while True:
            if ex.batch >= self._batch_base + len(self._batches) and not self._load_next_day():
                venue.expire_until(t_ns)
                return t_ns
            b = ex.batch - self._batch_base
            ev = self._batches[b]
            n = len(ev)
            ex.row, t_ns = venue.apply_rows(ev, ex.row, n, t_ns, self._skips[b])
            if ex.row < n:
                return t_ns
            ex.batch += 1
            ex.row = 0

    # ------------------------------------------------------------------ deliveries
    def _deliver_local_row(self) -> list[VenueEvent]:
        """Apply the watched row (and a whole snapshot after a reset) and build its event."""
        lo = self._lo
        ev = self._batch(lo.batch)
        r = self._watch_row
        loc = self.local
        apply_one(ev.asset, ev.kind, ev.side, ev.price, ev.size, r, loc.ladder, loc.best,
                  loc.tick, loc.grid)  # fmt: skip
        lo.row = r + 1
        a, k = int(ev.asset[r]), int(ev.kind[r])
        t_ex, t_rv = int(ev.ts_exchange_ns[r]), int(ev.ts_recv_ns[r]) + self._md_extra_ns
        if a < 0:
            return [ConnectionState(t_ex, t_rv, bool(ev.side[r] == 1), "recorded feed")]
        # market data the strategy receives: the silence watchdog's input, as for the
        # unwatched rows ``_run_local`` applies
        self._last_update_ns = max(self._last_update_ns, t_rv)
        asset_id = self.assets[a]
        market = self._markets[a >> 1]
        if k == K_LEVEL:
            side = Side.BUY if ev.side[r] > 0 else Side.SELL
            return [LevelChange(t_ex, t_rv, asset_id, market.condition_id, side,
                                float(ev.price[r]), float(ev.size[r]))]  # fmt: skip
        if k == K_TRADE:  # side 0 / size 0: the feed did not say (data/README.md)
            sd, sz = int(ev.side[r]), float(ev.size[r])
            return [TradePrint(t_ex, t_rv, asset_id, market.condition_id,
                               _TAKER_SIDE.get(sd), float(ev.price[r]),
                               sz if sz > 0 else None)]  # fmt: skip
        if k == K_TICK:
            return [TickSizeChange(t_ex, t_rv, asset_id, market.condition_id,
                                   float(ev.size[r]), float(ev.price[r]))]  # fmt: skip
        if k == K_RESOLVED:
            m = a >> 1
            if m in self._resolved:
                return []
            self._resolved.add(m)
            yes = market.yes_token_id
            payout_yes = float(ev.price[r]) if a % 2 == 0 else 1.0 - float(ev.price[r])
            winner = yes if payout_yes == 1.0 else market.no_token_id
            return [MarketResolved(t_ex, t_rv, market.condition_id,
                                   (yes, market.no_token_id), winner)]  # fmt: skip
        # a reset (or a stray snapshot level): take the whole snapshot, then report the book
        n = len(ev)
        while lo.row < n and int(ev.kind[lo.row]) == K_SNAP and int(ev.asset[lo.row]) == a:
            apply_one(ev.asset, ev.kind, ev.side, ev.price, ev.size, lo.row, loc.ladder,
                      loc.best, loc.tick, loc.grid)  # fmt: skip
            lo.row += 1
        i = loc.index(asset_id)
        return [BookSnapshot(t_ex, t_rv, asset_id, market.condition_id,
                             tuple(loc.levels(i, 0, 10**6)), tuple(loc.levels(i, 1, 10**6)),
                             float(loc.tick[i]))]  # fmt: skip

    def rows_replayed(self) -> int:
        """Rows the exchange cursor has applied so far (the events of the replay)."""
        done = sum(len(b) for b in self._batches[: max(self._ex.batch - self._batch_base, 0)])
        return (
            self._rows_dropped + done + (self._ex.row if self._ex.batch < self._loaded_end() else 0)
        )
