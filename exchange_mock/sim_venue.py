"""``SimVenue``: the simulated Polymarket CLOB behind the ``Venue`` and ``MarketFeed`` protocols.

Two cursors walk the recorded rows. The exchange cursor applies them to the
exchange-side book (``clob.SimBook``) at their exchange timestamps and
matches our orders; the local cursor applies them to the strategy's books at
their receive timestamps (plus ``md_extra_ms``) and stops at each row the
engine must deliver. The exchange cursor never runs past the next delivery,
so a strategy reacting to an event meets the book as it was then, plus its
own order-entry latency: slippage emerges from depth and from the book
moving during latency.

Venue calls are synchronous round trips in simulated time: an order reaches
the exchange after the entry latency (the book moves meanwhile), is matched
there, and the answer returns after the acknowledgement latency. A round
trip longer than the caller's deadline raises ``VenueTimeout`` at the
deadline, and the order still exists: exactly the ambiguity live trading has.

Faults (``exchange_mock.faults``) act through the one ``FaultHook`` passed
in: its ``CallEffect`` per call (delay, error before or after acting, a move
of the exchange book before matching, a mapped answer), its filter on each
batch of delivered events, and its optional stale-book windows that hold the
local cursor. With no hook, none of this is looked at.

Funds are enforced as Polymarket enforces them (``venue_funds``): an order
the account cannot pay for never reaches the book and is answered
``not enough balance / allowance``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from exchange_mock.clob import codes
from exchange_mock.clob.engine import SimBook
from exchange_mock.clob.state import (
    OF_FILLED,
    OI_STATUS,
    grid_for_ticks,
)
from exchange_mock.fault_hook import FaultHook
from exchange_mock.latency import ConstantLatency, LatencyModel
from exchange_mock.local_book import (
    AssetBookView,
    LocalBooks,
    apply_local_until,
    apply_one,
    next_watched_row,
)
from exchange_mock.venue_funds import NOT_ENOUGH_BALANCE, NOT_ENOUGH_BALANCE_MESSAGE, VenueFunds
from sim.clock import SimClock
from sim.events import (
    BookSnapshot,
    ConnectionState,
    FillEvent,
    LevelChange,
    MarketResolved,
    OrderUpdate,
    TickSizeChange,
    TradePrint,
    VenueEvent,
)
from sim.marketdata import Dataset, EventColumns, EventKind
from sim.types import (
    MAX_BATCH_ORDERS,
    Balance,
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderRequest,
    OrderState,
    OrderStatus,
    Side,
)
from sim.venue import CancelAck, VenueRejected, VenueTimeout

_NEVER = np.iinfo(np.int64).max
_RESET, _SNAP = int(EventKind.BOOK_RESET), int(EventKind.SNAPSHOT_LEVEL)
_LEVEL, _TRADE = int(EventKind.LEVEL_CHANGE), int(EventKind.TRADE)
_TAKER_SIDE = {1: Side.BUY, -1: Side.SELL}  # a print's taker side; 0 (unknown) -> None
_TICK, _RESOLVED = int(EventKind.TICK_SIZE), int(EventKind.RESOLVED)
_CONN = int(EventKind.CONNECTION)
_STOP_END, _STOP_TIME = codes.STOP_END, codes.STOP_TIME
_SIDES = {1: Side.BUY, -1: Side.SELL}
_TAKER, _MAKER = Liquidity.TAKER, Liquidity.MAKER


class _Cursor:
    """A position (batch, row) in the stream of day batches."""

    __slots__ = ("batch", "row")

    def __init__(self) -> None:
        self.batch = 0
        self.row = 0


class SimVenue:
    """Recorded market data + simulated matching, as one venue and one feed.

    ``cash_usdc`` is the account's collateral. ``allowance_usdc`` is what the
    exchange is approved to spend of it: None (the default) is an unlimited
    approval, as the usual setup leaves it; a number is a finite approval,
    which BUY fills use up as the ERC-20 ``transferFrom`` would (``approve``
    sets it again). A BUY beyond ``min(cash, allowance)`` less our open BUYs'
    reservations, or a SELL beyond the shares held less our open SELLs of that
    token, is refused ``not_enough_balance`` and leaves no trace (module doc).
    """

    name = "sim"

    def __init__(
        self,
        dataset: Dataset,
        *,
        clock: SimClock,
        cash_usdc: float,
        start: dt.date | None = None,
        end: dt.date | None = None,
        markets: Sequence[str] | None = None,
        entry_latency: LatencyModel | None = None,
        ack_latency: LatencyModel | None = None,
        md_extra_ms: float = 0.0,
        queue_model: int = codes.QUEUE_CONSERVATIVE,
        queue_power: float = 2.0,
        seed: int = 0,
        fault_hook: FaultHook | None = None,
        allowance_usdc: float | None = None,
    ) -> None:
        self.dataset = dataset
        self.clock = clock
        self._markets = list(dataset.markets)
        wanted = dataset.select(markets)
        #: the markets the caller selected (all when ``markets`` is None): what
        #: ``markets()`` reports and the strategy sees; the book keeps them all
        self._selected = [m for i, m in enumerate(self._markets) if wanted is None or wanted[i]]
        grid = grid_for_ticks([m.tick_size for m in self._markets])
        self.clob = SimBook(
            self._markets,
            cash_usdc=cash_usdc,
            queue_model=queue_model,
            queue_power=queue_power,
            grid=grid,
        )
        self.local = LocalBooks(dataset.assets, dataset.initial_ticks(), grid)
        self.assets = dataset.assets
        self._entry = entry_latency or ConstantLatency(0.0)
        self._ack = ack_latency or ConstantLatency(0.0)
        self._md_extra_ns = round(md_extra_ms * 1e6)
        self._rng = np.random.default_rng(seed)
        self._hook = fault_hook
        # a stale-book fault pauses the local cursor (None: no check at all)
        self._pause = getattr(fault_hook, "local_pause", None)
        self._next_feed_fault = getattr(fault_hook, "next_feed_fault_ns", None)
        self._silent_since = getattr(fault_hook, "feed_silent_since", None)
        self._days: Iterator = dataset.iter_days(start=start, end=end, markets=markets)
        self._batches: list[EventColumns] = []
        self._skips: list[np.ndarray] = []  # per batch: rows the matching venue does not apply
        self._book_source_set = np.zeros(len(self.clob.markets), dtype=bool)
        #: what the replay rules repaired in the days loaded so far (``DayBatch.repairs``)
        self.data_repairs: Counter[str] = Counter()
        self._batch_base = 0  # index of _batches[0] in the whole stream
        self._rows_dropped = 0
        self._more_days = True
        self._ex = _Cursor()
        self._lo = _Cursor()
        self._watch_row = -1  # cached next watched row of the local cursor's batch
        self._pending: list[tuple[int, int, VenueEvent]] = []
        self._seq = itertools.count()
        self._cid_of_oid: dict[int, str] = {}
        self._oid_of_cid: dict[str, int] = {}
        self._open: dict[int, tuple[OrderStatus, float]] = {}  # oid -> (status, filled)
        self.funds = VenueFunds(self.clob, self._open, allowance_usdc)
        self._fills: list[Fill] = []
        self._trade_no = 0
        self._resolved: set[int] = set()
        self.time_ns = clock.now_ns()
        #: receive time of the last row applied to the strategy's books (a feed watchdog's input)
        self._last_update_ns = clock.now_ns()
        self.exhausted = False
        self.calls: dict[str, int] = {}
        self._load_next_day()
        bind = getattr(fault_hook, "bind", None)
        if bind is not None:
            bind(self)

    # ------------------------------------------------------------------ data loading
    def _load_next_day(self) -> bool:
        if not self._more_days:
            return False
        for batch in self._days:
            if len(batch.events):
                self.clob.check_assets(batch.events)
                self._choose_book_source(batch.events)
                self._batches.append(batch.events)
                self._skips.append(batch.venue_skip)
                self.data_repairs.update(batch.repairs)
                return True
        self._more_days = False
        return False

    def _choose_book_source(self, ev: EventColumns) -> None:
        """The matching book of a market is built from its YES token's book rows; from its
        NO token's (mirrored) when the data holds book rows for the NO token only. Decided
        once per market, on the first day with book rows for it."""
        book = (ev.kind == _RESET) | (ev.kind == _SNAP) | (ev.kind == _LEVEL)
        counts = np.bincount(ev.asset[book & (ev.asset >= 0)], minlength=len(self.assets))
        yes, no = counts[0::2], counts[1::2]
        seen = ((yes + no) > 0) & ~self._book_source_set
        for m in np.flatnonzero(seen & (yes == 0)).tolist():
            self.clob.set_row_outcome(m, 1)
        self._book_source_set |= seen

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
            if self._pending and self._pending[0][0] < t1:
                t1 = self._pending[0][0]
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
            t1 = self._run_exchange(t1)
            if self._pause is None:
                self._run_local(t1)
            else:
                w = self._pause(t1)  # inside a stale window: the book stays as of its start
                self._run_local(t1 if w is None else w[0] - 1)
            self.time_ns = max(self.time_ns, t1)
            out: list[VenueEvent] = []
            while self._pending and self._pending[0][0] <= t1:
                out.append(heapq.heappop(self._pending)[2])
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
        if self._pending or self._more_days:
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

    def _run_exchange(self, t_ns: int) -> int:
        """Apply exchange rows up to ``t_ns``; returns ``t_ns`` lowered to any new delivery."""
        ex, clob = self._ex, self.clob
        while True:
            if ex.batch >= self._batch_base + len(self._batches) and not self._load_next_day():
                if clob.advance_to(t_ns):
                    self._check_orders(t_ns)
                return t_ns
            ev = self._batches[ex.batch - self._batch_base]
            ts = ev.ts_exchange_ns
            n = len(ts)
            if ex.row < n and ts[ex.row] > t_ns:
                # no row due yet: skip the kernel call (the common case between quotes)
                if clob.advance_to(t_ns):
                    self._check_orders(t_ns)
                return t_ns if not self._pending else min(t_ns, self._pending[0][0])
            skip = self._skips[ex.batch - self._batch_base]
            ex.row, stop = clob.replay(ev, ex.row, n, t_ns, skip)
            if stop == _STOP_END:
                ex.batch += 1
                ex.row = 0
                continue
            if stop == _STOP_TIME:
                if clob.advance_to(t_ns):  # GTD expiries between rows
                    self._check_orders(t_ns)
                return t_ns if not self._pending else min(t_ns, self._pending[0][0])
            # a fill, an expiry or a resolution at the row just applied
            t_row = int(ts[max(ex.row - 1, 0)])
            if stop == codes.STOP_EXPIRED:
                t_row = int(ts[ex.row])
                clob.advance_to(t_row)
            self._emit_fills(clob.a.drain_fills(), t_row)
            self._check_orders(t_row)
            if self._pending and self._pending[0][0] < t_ns:
                t_ns = self._pending[0][0]

    # ------------------------------------------------------------------ deliveries
    def _push(self, deliver_ns: int, event: VenueEvent) -> None:
        heapq.heappush(self._pending, (deliver_ns, next(self._seq), event))

    def _emit_fills(self, fills: np.ndarray, t_ns: int, deliver_ns: int | None = None) -> None:
        if not len(fills):
            return
        if deliver_ns is None:
            deliver_ns = t_ns + self._ack.sample_ns(self._rng)
        cid_of, assets = self._cid_of_oid, self.assets
        # .tolist(): plain Python tuples, in FILL_DTYPE's field order (record field reads
        # cost ~0.3 us each)
        for (
            oid,
            mkt,
            outcome,
            side,
            liq,
            ts,
            price,
            size,
            fee_usdc,
            fee_shares,
            _,
            _,
        ) in fills.tolist():
            if side == 1:
                self.funds.spend(price * size)
            cid = cid_of.get(oid)
            if cid is None:
                continue
            self._trade_no += 1
            fill = Fill(
                trade_id=f"sim-{self._trade_no:010d}",
                client_order_id=cid,
                venue_order_id=f"sim-o{oid}",
                asset_id=assets[2 * mkt + outcome],
                side=_SIDES[side],
                price=price,
                size_shares=size,
                fee_usdc=fee_usdc,
                fee_shares=fee_shares,
                liquidity=_TAKER if liq == codes.TAKER else _MAKER,
                ts_ns=ts,
            )
            self._fills.append(fill)
            self._push(deliver_ns, FillEvent(fill.ts_ns, deliver_ns, fill))

    def _check_orders(self, t_ns: int) -> None:
        """Emit an OrderUpdate for each of our orders whose status the kernel changed."""
        if not self._open:
            return
        a = self.clob.a
        status, filled = a.oi[:, OI_STATUS], a.of[:, OF_FILLED]
        deliver = None
        for oid, (code, was_filled) in list(self._open.items()):
            now_code = int(status[oid])
            now_filled = float(filled[oid])
            if now_code == code and now_filled == was_filled:
                continue
            if codes.STATUS[now_code].terminal:
                del self._open[oid]
            else:
                self._open[oid] = (now_code, now_filled)
            if now_code != code:
                if deliver is None:
                    deliver = t_ns + self._ack.sample_ns(self._rng)
                self._push(deliver, OrderUpdate(t_ns, deliver, self._state(oid)))

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
        asset_id = self.assets[a]
        market = self._markets[a >> 1]
        if k == _LEVEL:
            side = Side.BUY if ev.side[r] > 0 else Side.SELL
            return [LevelChange(t_ex, t_rv, asset_id, market.condition_id, side,
                                float(ev.price[r]), float(ev.size[r]))]  # fmt: skip
        if k == _TRADE:  # side 0 / size 0: the feed did not say (data/README.md)
            sd, sz = int(ev.side[r]), float(ev.size[r])
            return [TradePrint(t_ex, t_rv, asset_id, market.condition_id,
                               _TAKER_SIDE.get(sd), float(ev.price[r]),
                               sz if sz > 0 else None)]  # fmt: skip
        if k == _TICK:
            return [TickSizeChange(t_ex, t_rv, asset_id, market.condition_id,
                                   float(ev.size[r]), float(ev.price[r]))]  # fmt: skip
        if k == _RESOLVED:
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
        while lo.row < n and int(ev.kind[lo.row]) == _SNAP and int(ev.asset[lo.row]) == a:
            apply_one(ev.asset, ev.kind, ev.side, ev.price, ev.size, lo.row, loc.ladder,
                      loc.best, loc.tick, loc.grid)  # fmt: skip
            lo.row += 1
        i = loc.index(asset_id)
        return [BookSnapshot(t_ex, t_rv, asset_id, market.condition_id,
                             tuple(loc.levels(i, 0, 10**6)), tuple(loc.levels(i, 1, 10**6)),
                             float(loc.tick[i]))]  # fmt: skip

    # ------------------------------------------------------------------ Venue calls
    def markets(self) -> list[MarketInfo]:
        return list(self._selected)

    def _round_trip(self, call: str, deadline_s: float, fault_call: str = ""):
        """Start a call: returns (now_ns, arrival_ns, response_ns, effect) in simulated time.

        ``fault_call`` is the kind the fault hook sees (a batch placement is hit by the
        faults planned for ``place``: one request, one fault)."""
        self.calls[call] = self.calls.get(call, 0) + 1
        now = self.clock.now_ns()
        hook = self._hook
        effect = hook.on_call(fault_call or call, now) if hook is not None else None
        if effect is not None and effect.error is not None:
            raise effect.error
        arrival = now + self._entry.sample_ns(self._rng)
        response = arrival + self._ack.sample_ns(self._rng)
        if effect is not None:
            response += effect.extra_delay_ns
        return now, arrival, response, effect

    def _finish(self, call: str, now: int, response: int, deadline_s: float, effect) -> None:
        """Advance the clock to the answer, or to the deadline and raise a timeout."""
        deadline = now + int(deadline_s * 1e9 + 0.5)
        if response > deadline:
            self.clock.advance_to(max(deadline, self.clock.now_ns()))
            raise VenueTimeout(f"{call}: no answer within {deadline_s:g} s", call=call)
        self.clock.advance_to(max(response, self.clock.now_ns()))
        if effect is not None and effect.error_after is not None:
            raise effect.error_after

    @staticmethod
    def _answer(effect, value):
        """The call's answer as the caller sees it (a fault may map it)."""
        if effect is not None and effect.result is not None:
            return effect.result(value)
        return value

    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck:
        now, arrival, response, effect = self._round_trip("place", deadline_s)
        self._run_exchange(arrival)
        ack = self._match(order, arrival, response, effect)
        self._finish("place", now, response, deadline_s, effect)
        return self._answer(effect, ack)

    def place_many(self, orders: Sequence[OrderRequest], *, deadline_s: float) -> list[OrderAck]:
        """``POST /orders``: the orders reach the exchange together, one after another, and
        are answered together. More than ``MAX_BATCH_ORDERS`` is refused whole, as the
        venue does."""
        if len(orders) > MAX_BATCH_ORDERS:
            raise VenueRejected(f"a batch holds at most {MAX_BATCH_ORDERS} orders, got "
                                f"{len(orders)}", reason="batch_too_large",
                                call="place_many")  # fmt: skip
        now, arrival, response, effect = self._round_trip("place_many", deadline_s, "place")
        self._run_exchange(arrival)
        acks = [self._match(o, arrival, response, effect) for o in orders]
        self._finish("place_many", now, response, deadline_s, effect)
        return self._answer(effect, acks)

    def _match(self, order: OrderRequest, arrival: int, response: int, effect) -> OrderAck:
        """One order at the exchange at ``arrival`` (the book already moved there)."""
        cid = order.client_order_id
        if cid in self._oid_of_cid:  # first: a re-sent order that landed is a duplicate,
            # even though its own reservation now leaves too little for it
            return OrderAck(cid, None, False, OrderStatus.REJECTED, "duplicated",
                            "order is invalid. Duplicated.", response)  # fmt: skip
        if not self.funds.funded(order):  # never reaches the book: no id, no trace
            return OrderAck(cid, None, False, OrderStatus.REJECTED, NOT_ENOUGH_BALANCE,
                            NOT_ENOUGH_BALANCE_MESSAGE, response)  # fmt: skip
        after = None
        if effect is not None and effect.before_match is not None:
            after = effect.before_match(self.clob, order, arrival)
        res = self.clob.submit(
            order.asset_id,
            order.side,
            order.price,
            order.size_shares,
            order.order_type,
            post_only=order.post_only,
            expire_ns=order.expire_ns or 0,
            now_ns=arrival,
        )
        if after is not None:
            after(res)
        oid = res.order_id
        if oid >= 0:
            self._cid_of_oid[oid] = cid
            self._oid_of_cid[cid] = oid
        if not res.accepted:
            return OrderAck(cid, None, False, OrderStatus.REJECTED, res.reason_name,
                            codes.reason_message(res.reason), response)  # fmt: skip
        if not res.status.terminal:
            a = self.clob.a
            self._open[oid] = (int(a.oi[oid, OI_STATUS]), float(a.of[oid, OF_FILLED]))
        self._emit_fills(res.fills, arrival, deliver_ns=response)
        return OrderAck(cid, f"sim-o{oid}", True, res.status, ts_ns=response)

    # ------------------------------------------------------------------ funds
    @property
    def allowance_usdc(self) -> float | None:
        """What the exchange may still spend of our collateral (None: unlimited)."""
        return self.funds.allowance_usdc

    def approve(self, allowance_usdc: float | None) -> None:
        """Set the collateral allowance, as an on-chain approval does (None: unlimited)."""
        self.funds.approve(allowance_usdc)

    def cancel(self, client_order_id: str, *, deadline_s: float) -> CancelAck:
        now, arrival, response, effect = self._round_trip("cancel", deadline_s)
        self._run_exchange(arrival)
        gone: list[int] = []
        ack = self._cancel_one(client_order_id, gone)
        self._announce(gone, arrival)
        self._finish("cancel", now, response, deadline_s, effect)
        return self._answer(effect, ack)

    def cancel_many(self, client_order_ids: Sequence[str], *, deadline_s: float) -> list[CancelAck]:
        """``DELETE /orders``: one request, one answer per id (the fault hook sees a
        ``cancel``)."""
        now, arrival, response, effect = self._round_trip("cancel_many", deadline_s, "cancel")
        self._run_exchange(arrival)
        gone: list[int] = []
        acks = [self._cancel_one(cid, gone) for cid in client_order_ids]
        self._announce(gone, arrival)
        self._finish("cancel_many", now, response, deadline_s, effect)
        return self._answer(effect, acks)

    def _cancel_one(self, client_order_id: str, gone: list[int]) -> CancelAck:
        oid = self._oid_of_cid.get(client_order_id)
        if oid is None:
            return CancelAck(client_order_id, "", False, "order not found")
        if not self.clob.cancel(oid):
            return CancelAck(client_order_id, f"sim-o{oid}", False,
                             "order can't be found - already canceled or matched")  # fmt: skip
        self._open.pop(oid, None)
        gone.append(oid)
        return CancelAck(client_order_id, f"sim-o{oid}", True)

    def _announce(self, oids: list[int], arrival: int) -> None:
        """Like Polymarket's user channel, each cancellation is also pushed as an order
        update (so a caller whose cancel answer was lost still learns the order is gone,
        and a strategy hears ``on_order`` of it)."""
        for oid in oids:
            self._cancelled(oid, arrival)

    def _cancelled(self, oid: int, at_ns: int) -> None:
        """Push the user channel's update of a cancelled order."""
        deliver = at_ns + self._ack.sample_ns(self._rng)
        self._push(deliver, OrderUpdate(at_ns, deliver, self._state(oid)))

    def cancel_all(self, *, deadline_s: float) -> list[CancelAck]:
        now, arrival, response, effect = self._round_trip("cancel_all", deadline_s)
        self._run_exchange(arrival)
        acks = []
        for oid in list(self._open):
            if self.clob.cancel(oid):
                self._cancelled(oid, arrival)
                del self._open[oid]
                acks.append(CancelAck(self._cid_of_oid[oid], f"sim-o{oid}", True))
        self._finish("cancel_all", now, response, deadline_s, effect)
        return self._answer(effect, acks)

    def _state(self, oid: int) -> OrderState:
        """Order ``oid`` as the venue reports it."""
        asset, side, price, size, filled, status, otype, created = self.clob.order_fields(oid)
        return OrderState(self._cid_of_oid[oid], f"sim-o{oid}", self.assets[asset], side, price,
                          size, filled, status, otype, created)  # fmt: skip

    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        now, _, response, effect = self._round_trip("get_order", deadline_s)
        self._finish("get_order", now, response, deadline_s, effect)
        oid = self._oid_of_cid.get(client_order_id)
        return self._answer(effect, None if oid is None else self._state(oid))

    def open_orders(self, *, deadline_s: float) -> list[OrderState]:
        now, _, response, effect = self._round_trip("open_orders", deadline_s)
        self._finish("open_orders", now, response, deadline_s, effect)
        return self._answer(effect, [self._state(oid) for oid in self._open])

    def fills(self, since_ns: int, *, deadline_s: float) -> list[Fill]:
        now, _, response, effect = self._round_trip("fills", deadline_s)
        self._finish("fills", now, response, deadline_s, effect)
        return self._answer(effect, [f for f in self._fills if f.ts_ns >= since_ns])

    def balance(self, *, deadline_s: float) -> Balance:
        now, _, response, effect = self._round_trip("balance", deadline_s)
        self._finish("balance", now, response, deadline_s, effect)
        # available: what a new BUY may commit (a finite allowance caps it too)
        balance = Balance(self.clob.cash_usdc, self.funds.available_usdc(), response)
        return self._answer(effect, balance)

    def order_states(self) -> list[OrderState]:
        """Every order that reached the matching engine, as it stands now."""
        return [self._state(oid) for oid in self._cid_of_oid]

    def positions(self) -> dict[str, float]:
        """The venue's own positions (for reconciliation checks)."""
        out = {}
        for i, a in enumerate(self.assets):
            p = self.clob.position(i)
            if abs(p) > 1e-12:
                out[a] = p
        return out

    def rows_replayed(self) -> int:
        """Rows the exchange cursor has applied so far (the events of the replay)."""
        done = sum(len(b) for b in self._batches[: max(self._ex.batch - self._batch_base, 0)])
        return (
            self._rows_dropped + done + (self._ex.row if self._ex.batch < self._loaded_end() else 0)
        )

    def set_event_sink(self, sink) -> None:
        raise TypeError("SimVenue is polled by the engine through advance(); it has no sink")
