"""Stateful property test of the guarded Executor against a scripted venue.

Arbitrary interleavings of strategy orders (marketable or not, every order type),
partial and full fills (duplicate trade ids, late fills after a cancel, taker fills
that trip the slippage breaker), placement faults (timeout before landing, timeout or
5xx after landing = answer lost, 5xx, 429 with Retry-After, permanent rejection, a
process crash mid-placement), cancels, kill-switch flips (API and file), a failing or
zero balance source, time passing (across days) and restarts (a new Executor over the
same journal and venue, then ``recover()``).

The venue is the source of truth: ``ScriptedVenue`` (a ``FakeVenue`` that also keeps
its order states and balance in step with the fills it produced, and reports those
fills to reconciliation). After every step the machine checks that the executor
never doubles an order, never places while halted (or buys while reducing), never
lets the venue hold more than the limits allow, and holds exactly the positions and
cash implied by the fills the venue produced, each trade counted once.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sim.clock import SimClock
from sim.events import FillEvent, OrderUpdate
from sim.executor import Executor, ExecutorConfig, LimitsConfig, RetryConfig, TradingState
from sim.executor.executor import DAY_NS
from sim.journal import MemoryJournal, SqliteJournal
from sim.types import Balance, Fill, Liquidity, OrderIntent, OrderStatus, OrderType, Side
from sim.venue import VenueRateLimited, VenueRejected, VenueTimeout, VenueUnavailable
from tests.fakes import FakeBook, FakeVenue
from tests.helpers import make_market

NS = 1_000_000_000
T0 = 10**18
M = make_market(0, 0.01, fee_rate=0.07)
YES, NO = M.yes_token_id, M.no_token_id
CASH = 20.0
EPS = 1e-6
LIMITS = LimitsConfig(
    max_order_shares=20.0,
    max_order_usdc=5.0,
    max_position_shares_per_market=40.0,
    max_total_position_usdc=0.0,  # marks move with the book: not a venue-checkable limit
    max_open_orders=3,
    max_orders_per_day=5,
)
ASSETS = st.sampled_from([YES, NO])
SIDES = st.sampled_from([Side.BUY, Side.SELL])
TYPES = st.sampled_from([OrderType.GTC, OrderType.GTC, OrderType.GTD, OrderType.FOK, OrderType.FAK])
PICK = st.integers(min_value=0, max_value=10**6)  # index into whatever list exists then


class Crash(Exception):
    """The trading process dies (SIGKILL) in the middle of a venue call."""


class ScriptedVenue(FakeVenue):
    """``FakeVenue`` whose order states and cash follow the fills it produces.

    ``fills()`` reports every fill produced (as a real venue's trade history does), so a
    restarted executor can reconcile fills it never received. ``resent_landed`` records
    every placement attempt of a client order id that had already landed: the executor
    must look an order up before re-sending it, so it must stay empty.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.produced: dict[str, Fill] = {}
        self.fill_events: list[FillEvent] = []
        self.resent_landed: list[str] = []
        self.zero_balance = False

    def _request(self, orders, deadline_s):  # single placements and batches alike
        self.resent_landed += [
            o.client_order_id for o in orders if o.client_order_id in self.orders
        ]
        return super()._request(orders, deadline_s)

    def fill(  # type: ignore[override]
        self, client_order_id, shares, *, fee_usdc=0.0, fee_shares=0.0, trade_id=None,
        taker=False,
    ) -> FillEvent:  # fmt: skip
        assert trade_id is None, "duplicates are re-deliveries of a produced event"
        ev = super().fill(client_order_id, shares, fee_usdc=fee_usdc, fee_shares=fee_shares)
        if taker:
            ev = FillEvent(ev.ts_exchange_ns, ev.ts_recv_ns,
                           replace(ev.fill, liquidity=Liquidity.TAKER))  # fmt: skip
            self.pending[-1] = ev
        f = ev.fill
        assert f.trade_id not in self.produced
        self.produced[f.trade_id] = f
        self.fill_events.append(ev)
        o = self.orders[client_order_id]
        filled = o.filled_shares + shares
        assert filled <= o.size_shares + EPS, "the test only fills up to the order size"
        status = o.status
        if not status.terminal:
            full = filled >= o.size_shares - 1e-9
            status = OrderStatus.FILLED if full else OrderStatus.PARTIALLY_FILLED
        self.orders[client_order_id] = replace(o, filled_shares=filled, status=status)
        if f.side is Side.BUY:
            self.cash_usdc -= f.price * f.size_shares
        else:
            self.cash_usdc += f.price * f.size_shares - f.fee_usdc
        return ev

    def settle_immediate(self, client_order_id: str) -> None:
        """FOK/FAK do not rest: one that crosses the touch fills in full (the book is 100
        deep), as a taker at its limit; one that does not is expired."""
        o = self.orders[client_order_id]
        if o.status.terminal or o.order_type not in (OrderType.FOK, OrderType.FAK):
            return
        book = self.book(o.asset_id)
        if o.side is Side.BUY:
            crosses = book.best_ask is not None and o.price >= book.best_ask
        else:
            crosses = book.best_bid is not None and o.price <= book.best_bid
        if crosses:
            self.fill(client_order_id, o.size_shares - o.filled_shares, taker=True)
        else:
            o = replace(o, status=OrderStatus.EXPIRED)
            self.orders[client_order_id] = o
            now = self.clock.now_ns()
            self.pending.append(OrderUpdate(now, now, o, "no liquidity: FOK/FAK expired"))

    def fills(self, since_ns, *, deadline_s):
        return [f for f in self.produced.values() if f.ts_ns >= since_ns]

    def balance(self, *, deadline_s):
        if self.balance_error is None and self.zero_balance:
            return Balance(0.0, 0.0, self.clock.now_ns())
        return super().balance(deadline_s=deadline_s)

    def open_count(self) -> int:
        return sum(not o.status.terminal for o in self.orders.values())

    def fillable(self) -> list[str]:
        return [
            c for c, o in self.orders.items()
            if not o.status.terminal and o.size_shares - o.filled_shares > 1e-9
        ]  # fmt: skip


class Silent:
    """Alerts stay in ``executor.memory_alerts``; nothing is logged (thousands of runs)."""

    def alert(self, alert) -> None:
        pass


def faults_of(kind: str, retry_after: float) -> list[tuple[str, Exception]]:
    """Faults for the next placement attempts ("after": the order landed, answer lost)."""
    if kind == "unreachable":  # every attempt of one placement times out: the order is lost
        return [("before", VenueTimeout("unreachable", call="place"))] * 3
    return [{
        "timeout_before": ("before", VenueTimeout("no answer", call="place")),
        "timeout_after": ("after", VenueTimeout("answer lost", call="place")),
        "5xx_before": ("before", VenueUnavailable("502", call="place", status=502)),
        "5xx_after": ("after", VenueUnavailable("502 after landing", call="place", status=502)),
        "429": ("before", VenueRateLimited("429", call="place", retry_after_s=retry_after)),
        "rejected": ("before", VenueRejected("refused", reason="min_size", call="place")),
    }[kind]]  # fmt: skip


class ExecutorMachine(RuleBasedStateMachine):
    journal_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="clobsim-exec-stateful-"))
        self.kill_path = self.dir / "KILL"
        self.clock = SimClock(T0)
        self.venue = ScriptedVenue(self.clock, [M], [], cash_usdc=CASH)
        self.venue.books[YES] = FakeBook(YES, 0.01, 0.48, 0.52)
        self.venue.books[NO] = FakeBook(NO, 0.01, 0.47, 0.53)
        self.config = ExecutorConfig(
            kill_switch_path=str(self.kill_path),
            limits=LIMITS,
            retry=RetryConfig(max_attempts=3, reconcile_attempts=2),
            slippage_breaker_fills=2,
        )
        self.journal: MemoryJournal | SqliteJournal = self._open_journal()
        self.ex = self._new_executor()
        # the model
        self.sent: dict[str, int] = {}  # client order id -> day it was submitted
        self.halted = False
        self.place_calls_at_halt = 0
        self.bad_balance_since: int | None = None
        self.restarts = 0

    def teardown(self) -> None:
        self.journal.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------- plumbing
    def _open_journal(self) -> MemoryJournal | SqliteJournal:
        if self.journal_kind == "sqlite":
            return SqliteJournal(self.dir / "journal.sqlite", synchronous="NORMAL")
        return MemoryJournal(strict=True)  # same payload contract as SqliteJournal

    def _new_executor(self) -> Executor:
        return Executor(self.venue, self.clock, cash_usdc=CASH, config=self.config,
                        books=self.venue.book, markets=[M], journal=self.journal,
                        alerter=Silent())  # fmt: skip

    def _drain(self, fills_last: bool = False) -> None:
        """Deliver everything the venue has to say (events may cause cancels: loop)."""
        for _ in range(100):
            if not self.venue.pending:
                return
            events = self.venue.advance(self.clock.now_ns())
            if fills_last:  # a fill that happened before a cancel, reported after it
                events.sort(key=lambda e: isinstance(e, FillEvent))
            for ev in events:
                self.ex.on_venue_event(ev)
        raise AssertionError("venue events never settle")

    def _restart(self) -> list[str]:
        """A new process: new Executor over the same journal and venue, then recover()."""
        if self.journal_kind == "sqlite":
            self.journal.close()
            self.journal = self._open_journal()
        self.ex = self._new_executor()
        self.restarts += 1
        report = self.ex.recover()
        assert not [r for r in report if "never journaled" in r], report
        self._drain()
        return report

    def _submit(self, side: Side, asset: str, price: float, size: float, otype: OrderType,
                post_only: bool = False) -> None:  # fmt: skip
        ex, venue = self.ex, self.venue
        now = self.clock.now_ns()
        state_before = ex.state
        calls_before = venue.place_calls
        n_refusals = len(ex.refusals)
        expire = now + 3600 * NS if otype is OrderType.GTD else None
        ack = ex.submit(side, asset, price, size, otype, post_only, expire)
        cid = ack.client_order_id
        refused = [r for r in ex.refusals[n_refusals:] if r.source == "executor"]
        placed = venue.place_calls > calls_before
        assert cid not in self.sent, f"client order id {cid} used twice"
        assert placed == (not refused), (ack, refused)  # sent <=> not refused before sending
        if placed:
            self.sent[cid] = now // DAY_NS
            if cid in venue.orders:
                venue.settle_immediate(cid)
        else:
            assert cid not in venue.orders
        if self.halted:
            assert not placed, f"placed {cid} while HALTED"
            assert ack.reason in ("halted", "invalid_order", "unknown_asset"), ack
            if ack.reason == "halted":
                assert ex.state is TradingState.HALTED
        if state_before is ex.state is TradingState.REDUCING and side is Side.BUY:
            assert not placed, f"bought {cid} while REDUCING"
        if placed and side is Side.BUY and self.bad_balance_since is not None:
            # only a balance read before the source went bad, still within its TTL
            assert now - self.bad_balance_since <= self.config.balance_ttl_s * NS, ack
        self._drain()

    def _venue_fill(self, cid: str, pick: int, full: bool, fee: bool, taker: bool) -> None:
        """The venue fills ``cid`` (partially unless ``full``); not delivered yet."""
        o = self.venue.orders[cid]
        remaining = o.size_shares - o.filled_shares
        quarters = int(remaining * 4 + 1e-9)
        shares = remaining if full or quarters <= 1 else (1 + pick % (quarters - 1)) / 4
        if o.side is Side.BUY:
            fee_shares = 0.125 if fee and shares > 0.25 else 0.0
            fee_usdc = fee_shares * o.price
        else:
            fee_shares, fee_usdc = 0.0, (min(0.01, o.price * shares) if fee else 0.0)
        self.venue.fill(cid, shares, fee_usdc=fee_usdc, fee_shares=fee_shares, taker=taker)

    def _pick_open_cid(self, pick: int) -> str | None:
        cids = self.venue.fillable()
        return cids[pick % len(cids)] if cids else None

    # ------------------------------------------------------------------- strategy orders
    @rule(side=SIDES, asset=ASSETS, ticks=st.integers(0, 100), halves=st.integers(0, 50),
          otype=TYPES, post_only=st.booleans())  # fmt: skip
    def order(self, side, asset, ticks, halves, otype, post_only) -> None:
        """Anything a strategy may ask, invalid prices and sizes over the limits included."""
        post_only = post_only and otype in (OrderType.GTC, OrderType.GTD)
        self._submit(side, asset, ticks / 100, halves / 2, otype, post_only)

    @rule(orders=st.lists(
        st.tuples(SIDES, ASSETS, st.integers(0, 100), st.integers(0, 50), TYPES, st.booleans()),
        min_size=1, max_size=4))  # fmt: skip
    def batch(self, orders) -> None:
        """Several orders in one ``place_many``: each checked as if alone, one request (or
        the single-order path for each after a failed request)."""
        ex, venue = self.ex, self.venue
        now = self.clock.now_ns()
        state_before = ex.state
        calls_before = venue.place_calls
        n_refusals = len(ex.refusals)
        intents = [
            OrderIntent(side, asset, ticks / 100, halves / 2, otype,
                        post_only and otype in (OrderType.GTC, OrderType.GTD),
                        now + 3600 * NS if otype is OrderType.GTD else None)
            for side, asset, ticks, halves, otype, post_only in orders
        ]  # fmt: skip
        acks = ex.place_many(intents)
        assert len(acks) == len(intents)
        refused = {r.client_order_id for r in ex.refusals[n_refusals:] if r.source == "executor"}
        sent = [a.client_order_id for a in acks if a.client_order_id not in refused]
        assert (venue.place_calls > calls_before) == bool(sent), (acks, refused)
        for ack, intent in zip(acks, intents, strict=True):
            cid = ack.client_order_id
            assert cid not in self.sent, f"client order id {cid} used twice"
            if cid in refused:
                assert cid not in venue.orders and not ack.accepted
                continue
            self.sent[cid] = now // DAY_NS
            # (a new day clears the slippage breaker's REDUCING before the batch is judged)
            if state_before is ex.state is TradingState.REDUCING and intent.side is Side.BUY:
                raise AssertionError(f"bought {cid} in a batch while REDUCING")
            if intent.side is Side.BUY and self.bad_balance_since is not None:
                assert now - self.bad_balance_since <= self.config.balance_ttl_s * NS, ack
            if cid in venue.orders:
                venue.settle_immediate(cid)
        if self.halted:
            assert venue.place_calls == calls_before, "a batch was sent while HALTED"
        self._drain()

    @rule(asset=ASSETS, ticks_below=st.integers(0, 45), halves=st.integers(1, 40),
          otype=TYPES)  # fmt: skip
    def buy_passive(self, asset, ticks_below, halves, otype) -> None:
        ask = self.venue.book(asset).best_ask or 0.5
        price = max(round(ask - 0.01 - ticks_below / 100, 2), 0.01)
        self._submit(Side.BUY, asset, price, halves / 2, otype)

    @rule(asset=ASSETS, ticks_through=st.integers(0, 8), halves=st.integers(1, 30),
          otype=TYPES)  # fmt: skip
    def buy_marketable(self, asset, ticks_through, halves, otype) -> None:
        """At or through the ask: the executor bounds the price to max_slippage."""
        ask = self.venue.book(asset).best_ask
        if ask is not None:
            price = min(round(ask + ticks_through / 100, 2), 0.99)
            self._submit(Side.BUY, asset, price, halves / 2, otype)

    @rule(asset=ASSETS, ticks=st.integers(1, 99), fraction=st.sampled_from([0.25, 0.5, 1.0]),
          otype=TYPES)  # fmt: skip
    def sell_held(self, asset, ticks, fraction, otype) -> None:
        held = self.ex.tracker.positions.get(asset, 0.0)
        if held > EPS:
            self._submit(Side.SELL, asset, ticks / 100, held * fraction, otype)

    @rule(asset=ASSETS, fraction=st.sampled_from([0.5, 1.0]), otype=TYPES)
    def sell_at_market(self, asset, fraction, otype) -> None:
        """A limit of one tick: the executor raises it to the bid less max_slippage."""
        held = self.ex.tracker.positions.get(asset, 0.0)
        if held > EPS:
            self._submit(Side.SELL, asset, 0.01, held * fraction, otype)

    # ------------------------------------------------------------------- fills
    @precondition(lambda self: self.venue.fillable())
    @rule(pick=PICK, full=st.booleans(), fee=st.booleans(), taker=st.booleans())
    def fill(self, pick, full, fee, taker) -> None:
        cid = self._pick_open_cid(pick)
        assert cid is not None
        self._venue_fill(cid, pick, full, fee, taker)
        self._drain()

    @precondition(lambda self: self.venue.fill_events)
    @rule(pick=PICK)
    def duplicate_fill(self, pick) -> None:
        self.venue.pending.append(self.venue.fill_events[pick % len(self.venue.fill_events)])
        self._drain()

    @precondition(lambda self: self.venue.fillable())
    @rule(pick=PICK, full=st.booleans())
    def late_fill_after_cancel(self, pick, full) -> None:
        """The venue fills, we cancel before hearing of it, the fill arrives afterwards."""
        cid = self._pick_open_cid(pick)
        assert cid is not None
        self._venue_fill(cid, pick, full, False, False)
        self.ex.cancel(cid)
        self._drain(fills_last=True)

    # ------------------------------------------------------------------- faults
    @precondition(lambda self: len(self.venue.place_faults) < 6)
    @rule(kind=st.sampled_from(
        ["timeout_before", "timeout_after", "5xx_before", "5xx_after", "429", "rejected",
         "unreachable"]),
        retry_after=st.sampled_from([0.0, 2.0, 30.0]))  # fmt: skip
    def inject_place_fault(self, kind, retry_after) -> None:
        self.venue.place_faults.extend(faults_of(kind, retry_after))

    @rule(mode=st.sampled_from(["ok", "ok", "zero", "error"]))
    def balance_source(self, mode) -> None:
        self.venue.zero_balance = mode == "zero"
        self.venue.balance_error = (
            VenueUnavailable("rpc down", call="balance") if mode == "error" else None
        )
        if mode == "ok":
            self.bad_balance_since = None
        elif self.bad_balance_since is None:
            self.bad_balance_since = self.clock.now_ns()

    @rule(asset=ASSETS, bid=st.one_of(st.none(), st.integers(1, 98)), spread=st.integers(1, 10),
          no_ask=st.booleans())  # fmt: skip
    def move_book(self, asset, bid, spread, no_ask) -> None:
        book = self.venue.book(asset)
        book.best_bid = None if bid is None else bid / 100
        ask = (bid or 50) + spread
        book.best_ask = None if no_ask or ask > 99 else ask / 100

    # ------------------------------------------------------------------- cancels
    @rule(pick=PICK, every=st.booleans(), asset=st.one_of(st.none(), ASSETS),
          many=st.booleans())  # fmt: skip
    def cancel(self, pick, every, asset, many) -> None:
        cids = list(self.ex.tracker.orders)
        if many and cids:  # a DELETE /orders of a few known ids (open or not) and a stranger
            chosen = [cids[(pick + k) % len(cids)] for k in range(3)] + ["never-sent"]
            done = self.ex.cancel_many(chosen)
            assert len(done) == len(chosen) and not done[-1]
            for cid, ok in zip(chosen, done, strict=True):
                if ok:
                    assert self.venue.orders[cid].status is OrderStatus.CANCELED
        elif every:
            self.ex.cancel_all(asset)
        elif cids:  # any order we know, open or not
            self.ex.cancel(cids[pick % len(cids)])
        self._drain()

    # ------------------------------------------------------------------- kill switch
    @rule(action=st.sampled_from(["trip_api", "trip_file", "reset", "reset", "reset"]))
    def kill_switch(self, action) -> None:
        if action == "trip_api":
            self._halted_now()
            self.ex.trip_kill_switch("stateful test")
            assert self.ex.state is TradingState.HALTED
            assert self.venue.open_count() == 0, "halted, orders still resting at the venue"
            assert self.kill_path.exists()
        elif action == "trip_file":  # seen by the next order or periodic check
            self._halted_now()
            self.kill_path.write_text("operator\n")
        elif self.halted:  # a person resets it
            self.ex.reset_kill_switch()
            self.halted = False
            assert not self.kill_path.exists()
            assert self.ex.state is TradingState.ACTIVE
        self._drain()

    def _halted_now(self) -> None:
        if not self.halted:
            self.halted = True
            self.place_calls_at_halt = self.venue.place_calls

    # ------------------------------------------------------------------- time, checks, restarts
    @rule(seconds=st.sampled_from([0.5, 2.0, 6.0, 60.0, 3600.0, 86_400.0]))
    def advance_clock(self, seconds) -> None:
        self.clock.sleep(seconds)

    @rule(reconcile=st.booleans())
    def check(self, reconcile) -> None:
        if reconcile:
            report = self.ex.reconcile()
            assert not [r for r in report if "never journaled" in r], report
        else:
            self.ex._on_check()  # what install_timer() runs every CHECK_INTERVAL_S
        self._drain()

    @rule(undelivered_fill=st.booleans(), pick=PICK)
    def restart(self, undelivered_fill, pick) -> None:
        """The process dies and restarts; maybe a fill happened that it never heard of."""
        if undelivered_fill:
            cid = self._pick_open_cid(pick)
            if cid is not None:
                self._venue_fill(cid, pick, False, False, False)
        self._restart()

    @rule(where=st.sampled_from(["before", "after"]), asset=ASSETS, ticks=st.integers(1, 99),
          halves=st.integers(1, 20))  # fmt: skip
    def crash_during_placement(self, where, asset, ticks, halves) -> None:
        """The process is killed while placing: before or after the order landed."""
        fault = (where, Crash("killed"))
        self.venue.place_faults.append(fault)
        now = self.clock.now_ns()
        try:
            self._submit(Side.BUY, asset, ticks / 100, halves / 2, OrderType.GTC)
        except Crash:
            assert not self.halted, "placed while HALTED"
            cid = max(self.ex.tracker.orders)  # the order being placed when it died
            assert cid not in self.sent
            self.sent[cid] = now // DAY_NS
            self._restart()
        finally:
            if fault in self.venue.place_faults:  # refused, or faults ahead used every attempt
                self.venue.place_faults.remove(fault)

    # ------------------------------------------------------------------- invariants
    @invariant()
    def never_doubles(self) -> None:
        venue = self.venue
        assert not venue.resent_landed, f"re-sent orders that had landed: {venue.resent_landed}"
        assert set(venue.orders) <= set(self.sent)
        assert len(venue.orders) <= len(self.sent)
        vids = [o.venue_order_id for o in venue.orders.values()]
        assert len(vids) == len(set(vids))

    @invariant()
    def never_places_while_halted(self) -> None:
        if self.halted:
            assert self.venue.place_calls == self.place_calls_at_halt
        if self.ex.state is TradingState.HALTED:
            assert self.venue.open_count() == 0, "halted with orders resting at the venue"

    @invariant()
    def limits_hold_at_the_venue(self) -> None:
        venue = self.venue
        assert venue.open_count() <= LIMITS.max_open_orders
        for cid, o in venue.orders.items():
            assert o.size_shares <= LIMITS.max_order_shares + EPS, (cid, o)
            assert o.price * o.size_shares <= LIMITS.max_order_usdc + EPS, (cid, o)
        per_day = Counter(self.sent[c] for c in venue.orders)
        assert max(per_day.values(), default=0) <= LIMITS.max_orders_per_day, per_day
        held = sum(max(self.ex.tracker.positions.get(a, 0.0), 0.0) for a in (YES, NO))
        assert held <= LIMITS.max_position_shares_per_market + EPS
        assert venue.cash_usdc >= -EPS, f"venue cash overspent: {venue.cash_usdc}"

    @invariant()
    def positions_equal_the_venues(self) -> None:
        assert not self.venue.pending  # everything produced was delivered
        t = self.ex.tracker
        trade_ids = [f.trade_id for f in t.fills]
        assert len(trade_ids) == len(set(trade_ids)), "a trade id counted twice"
        assert set(trade_ids) == set(self.venue.produced)
        positions = {YES: 0.0, NO: 0.0}
        cash = CASH
        filled: Counter[str] = Counter()
        for f in self.venue.produced.values():
            filled[f.client_order_id] += f.size_shares
            if f.side is Side.BUY:
                positions[f.asset_id] += f.size_shares - f.fee_shares
                cash -= f.price * f.size_shares
            else:
                positions[f.asset_id] -= f.size_shares
                cash += f.price * f.size_shares - f.fee_usdc
        for asset, shares in positions.items():
            assert abs(t.positions.get(asset, 0.0) - shares) < EPS, (asset, t.positions, shares)
            assert t.positions.get(asset, 0.0) >= -EPS, "sold more than held"
        assert abs(t.cash_usdc - cash) < EPS
        assert abs(self.venue.cash_usdc - cash) < EPS
        for cid, o in self.venue.orders.items():
            mine = t.orders.get(cid)
            assert mine is not None, f"venue order {cid} unknown to the executor"
            assert mine.status is not OrderStatus.REJECTED, f"{cid} at the venue, marked rejected"
            assert abs(mine.filled_shares - filled[cid]) < EPS
            assert abs(o.filled_shares - filled[cid]) < EPS
            if o.status.terminal:  # the venue is done with it; so are we, once told
                assert mine.status.terminal or cid in self.ex.lost, (cid, o.status, mine.status)


class SqliteExecutorMachine(ExecutorMachine):
    """The same machine over a durable journal, closed and reopened at every restart."""

    journal_kind = "sqlite"


CI = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestExecutorStateful = ExecutorMachine.TestCase
TestExecutorStateful.settings = CI
TestExecutorStatefulSqlite = SqliteExecutorMachine.TestCase
TestExecutorStatefulSqlite.settings = settings(CI, max_examples=50)


# -- the two counterexamples the machine found, pinned as plain tests --------------------------
def _executor(tmp_path: Path, limits: LimitsConfig):
    """A factory of executors over one venue and one journal (a second call = a restart)."""
    clock = SimClock(T0)
    venue = FakeVenue(clock, [M], [])
    venue.books[YES] = FakeBook(YES, 0.01, 0.48, 0.52)
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"), limits=limits)
    journal = MemoryJournal()

    def new() -> Executor:
        return Executor(venue, clock, cash_usdc=1_000.0, config=cfg, books=venue.book,
                        markets=[M], journal=journal)  # fmt: skip

    return new, venue


def test_max_orders_per_day_survives_a_restart(tmp_path: Path) -> None:
    new, venue = _executor(tmp_path, LimitsConfig(max_orders_per_day=2))
    ex = new()
    assert [ex.buy(YES, 0.40, 5.0).accepted for _ in range(3)] == [True, True, False]
    ex = new()  # the process restarts the same day, over the same journal
    ex.recover()
    ack = ex.buy(YES, 0.40, 5.0)
    assert ack.reason == "max_orders_per_day", f"{len(venue.orders)} orders sent on a 2-a-day cap"


def test_max_order_usdc_holds_for_the_price_actually_sent(tmp_path: Path) -> None:
    new, venue = _executor(tmp_path, LimitsConfig(max_order_usdc=8.0))
    ex = new()
    buy = ex.buy(YES, 0.40, 20.0)
    ex.on_venue_event(venue.fill(buy.client_order_id, 20.0))
    assert ex.sell(YES, 0.46, 20.0).reason == "max_order_usdc"  # 9.20 USDC > 8
    ack = ex.sell(YES, 0.01, 20.0)  # 0.20 USDC passes the check, then is re-priced to 0.46
    if ack.accepted:
        sent = venue.orders[ack.client_order_id]
        assert sent.price * sent.size_shares <= 8.0 + EPS, f"sent {sent.size_shares} @ {sent.price}"
