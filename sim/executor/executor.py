"""The executor: the only path from a strategy to a venue, and where safety lives.

Every NO-GO item of the readiness review is handled here, below every
strategy, the same way in backtest, paper and live:

* every venue call has a deadline and a token bucket (``calls.VenueCaller``);
* transient failures are retried with backoff and jitter on the clock; a
  placement whose answer was lost is first looked up by client order id and
  re-sent (the same order, the same id) only if it did not land (``placement``);
* the balance is real, cached for ``balance_ttl_s`` and refreshed after fills;
  an unknown or zero balance refuses new risk instead of being trusted (``balance``);
* funds are pre-checked (notional + taker fee + what open orders reserve);
* marketable orders carry a worst acceptable price from ``max_slippage``, and
  every fill's slippage is measured, alerted and counted by a breaker (``fills``);
* the kill switch (a file or an API call) is checked before every order and
  halts: no new orders, every open order cancelled until confirmed (``guard``);
* limits per order, market, total, open orders and day; risk breakers (``checks``);
* a fill the venue reverses (its trade FAILED on chain) is taken back out of
  positions, cash and P&L (``fills``); orders the venue may have cancelled unseen
  (its dead-man switch) are put in doubt and reconciled (``on_orders_in_doubt``);
* every state change is journaled before it is acted on; a journal that
  cannot be written refuses new risk (fail closed). Trading-state changes go
  through ``TradingStateMachine.transition`` only, and ``recover`` replays them.

Refusals are ``OrderAck``s with a machine-readable ``reason``, also kept in
``refusals`` so reports can count them.

``Executor`` is the one object the engine and the strategy gateway see; it
wires the parts above together and holds no safety logic of its own.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

from sim.clock import Clock, Timer
from sim.events import FillEvent, FillReversed, MarketResolved, OrderUpdate, TickSizeChange
from sim.executor.alerts import Alarm, Alerter, FanOutAlerter, LogAlerter, MemoryAlerter
from sim.executor.balance import BalanceCache
from sim.executor.calls import VenueCaller
from sim.executor.cancels import Canceller
from sim.executor.checks import PreTradeChecks
from sim.executor.codec import request_to_dict, state_to_dict
from sim.executor.config import ExecutorConfig
from sim.executor.counters import DAY_NS, NS, ClientIds, DayCounters
from sim.executor.fills import FillHandler, SlippageRecord
from sim.executor.guard import Guard
from sim.executor.order_input import check_sequence, clean_order
from sim.executor.orderlog import OrderLog, Refusal
from sim.executor.placement import LOST_ORDER_WINDOW_S, Placer
from sim.executor.pnl import PnlLedger
from sim.executor.recovery import Recovery
from sim.executor.tracker import EPS_SHARES, OrderTracker, TrackedOrder
from sim.executor.trading_state import KillSwitch, TradingState, TradingStateMachine
from sim.executor.valuation import Valuation
from sim.journal import Journal, JournalError, MemoryJournal
from sim.strategy import BookView
from sim.types import (
    MAX_BATCH_ORDERS,
    Balance,
    MarketInfo,
    OrderAck,
    OrderIntent,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
)
from sim.venue import Venue, VenueError


class Executor:
    """Routes strategy orders to a ``Venue`` through every safety check."""

    def __init__(
        self,
        venue: Venue,
        clock: Clock,
        *,
        cash_usdc: float,
        config: ExecutorConfig | None = None,
        books: Callable[[str], BookView] | None = None,
        markets: Sequence[MarketInfo] | None = None,
        journal: Journal | None = None,
        risk: object | None = None,
        alerter: Alerter | None = None,
        seed: int = 0,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.config = cfg = config or ExecutorConfig()
        self.tracker = tracker = OrderTracker(cash_usdc)
        self.journal = journal = journal if journal is not None else MemoryJournal()
        self.risk = risk
        self.memory_alerts = MemoryAlerter()
        self.alerter = FanOutAlerter(self.memory_alerts, alerter or LogAlerter())
        self._alarm = alarm = Alarm(clock, self.alerter)
        self.caller = caller = VenueCaller(clock, cfg, seed)
        self.kill_switch = KillSwitch(cfg.kill_switch_path)
        self._markets = {
            a: m for m in (markets or venue.markets()) for a in (m.yes_token_id, m.no_token_id)
        }
        self.pnl = pnl = PnlLedger({a: m.condition_id for a, m in self._markets.items()})
        self.feed_events: list[tuple[int, bool, str]] = []
        self._timer: Timer | None = None
        #: orders per place_many request: Polymarket's limit, or fewer if our own place
        #: bucket could never hold a whole batch (a batch costs one token per order)
        self._batch_size = max(1, min(MAX_BATCH_ORDERS, int(cfg.rate_limits.place_burst)))

        # the parts, each handed what it works with (see each module's docstring)
        self._ids = ids = ClientIds(cfg.client_id_prefix)
        self._day = day = DayCounters(clock.now_ns())
        self._state = state = TradingStateMachine(journal, alarm)
        self._log = log = OrderLog(clock, tracker, journal, state, alarm)
        self._funds = funds = BalanceCache(clock, cfg, caller, venue, tracker, alarm)
        self._valuation = value = Valuation(tracker, pnl, books)
        self._cancels = cancels = Canceller(clock, cfg, venue, caller, tracker, log, alarm,
                                            self.install_timer)  # fmt: skip
        self._guard = guard = Guard(clock, state, self.kill_switch, cancels, tracker, value,
                                    day, journal, risk, alarm)  # fmt: skip
        self._checks = PreTradeChecks(cfg, tracker, books, state, guard, funds, value, day,
                                      risk, alarm)  # fmt: skip
        self._placer = placer = Placer(clock, cfg, venue, caller, tracker, log, funds, alarm)
        self._fills = fills = FillHandler(clock, cfg, tracker, pnl, log, funds, value, guard,
                                          day, placer.lost, risk, alarm)  # fmt: skip
        self._recovery = Recovery(clock, venue, caller, journal, tracker, pnl, state, log,
                                  funds, ids, day, placer.lost, fills.resolved, risk,
                                  alarm)  # fmt: skip
        # what reports and tests read, under the names they always had (the same objects)
        self.refusals: list[Refusal] = log.refusals
        self.slippage: list[SlippageRecord] = fills.slippage
        self.halts: list[tuple[int, str]] = state.halts
        #: orders whose placement outcome is still unknown
        self.lost: set[str] = placer.lost

    # =============================================================== strategy side
    def buy(
        self, asset_id: str, price: float, size_shares: float, *,
        order_type: OrderType = OrderType.GTC, post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:  # fmt: skip
        return self.submit(Side.BUY, asset_id, price, size_shares, order_type, post_only,
                           expire_ns)  # fmt: skip

    def sell(
        self, asset_id: str, price: float, size_shares: float, *,
        order_type: OrderType = OrderType.GTC, post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:  # fmt: skip
        return self.submit(Side.SELL, asset_id, price, size_shares, order_type, post_only,
                           expire_ns)  # fmt: skip

    def submit(
        self, side: Side, asset_id: str, price: float, size_shares: float,
        order_type: OrderType = OrderType.GTC, post_only: bool = False,
        expire_ns: int | None = None,
    ) -> OrderAck:  # fmt: skip
        now = self.clock.now_ns()
        self._guard.roll_day(now)
        admitted = self._admit(now, side, asset_id, price, size_shares, order_type, post_only,
                               expire_ns, self.kill_switch.tripped())  # fmt: skip
        if isinstance(admitted, OrderAck):
            return admitted
        return self._placer.place(admitted)

    def place_many(self, orders: Sequence[OrderIntent]) -> list[OrderAck]:
        """Send several orders in as few venue requests as the venue allows (``POST
        /orders``, at most ``MAX_BATCH_ORDERS`` each): one answer per order, in order.

        Each order passes every check ``buy``/``sell`` applies, in list order (earlier
        orders count against funds and limits); refused ones are answered without being
        sent. Requests go out one after another, each right after its own orders were
        checked (the kill switch is read again before each). A request that fails
        transiently, or that our own rate limit cannot fit whole, is not re-sent as a
        batch: each of its orders goes through the single-order path, which first looks
        the order up by client id when the failure may have hidden a placement."""
        check_sequence(orders, OrderIntent, "place_many", "orders")
        acks: list[OrderAck] = []
        size = self._batch_size
        for i in range(0, len(orders), size):
            now = self.clock.now_ns()
            self._guard.roll_day(now)
            halt = self.kill_switch.tripped()  # once per request, just before it is built
            admitted: list[tuple[int, TrackedOrder]] = []
            for o in orders[i : i + size]:
                if isinstance(o, OrderIntent):
                    got = self._admit(now, o.side, o.asset_id, o.price, o.size_shares,
                                      o.order_type, o.post_only, o.expire_ns, halt)  # fmt: skip
                else:  # refused like any malformed order, never raised
                    why = f"orders[{len(acks)}]: expected an OrderIntent, got {type(o).__name__}"
                    got = self._log.refuse(now, self._ids.new(), "", Side.BUY, math.nan,
                                           math.nan, "invalid_order", why)  # fmt: skip
                if not isinstance(got, OrderAck):
                    admitted.append((len(acks), got))
                acks.append(got)  # type: ignore[arg-type]  # replaced below once answered
            if len(admitted) == 1:
                acks[admitted[0][0]] = self._placer.place(admitted[0][1])
            elif admitted:
                answers = self._placer.place_batch([t for _, t in admitted])
                for (j, _), ack in zip(admitted, answers, strict=True):
                    acks[j] = ack
        return acks

    def _admit(
        self, now: int, side: Side, asset_id: str, price: float, size_shares: float,
        order_type: OrderType, post_only: bool, expire_ns: int | None, halt: str,
    ) -> TrackedOrder | OrderAck:  # fmt: skip
        """Every check before an order may be sent; a tracked, journaled order when it may,
        else the refusal."""
        cid = self._ids.new()
        log = self._log
        try:  # a strategy's arguments are user input: refused, never raised
            side_, asset, p, size, otype, post, expire = clean_order(
                side, asset_id, price, size_shares, order_type, post_only, expire_ns
            )
            request = OrderRequest(cid, asset, side_, p, size, otype, post, expire)
        except ValueError as exc:
            return log.refuse(now, cid, asset_id, side, price, size_shares, "invalid_order",
                              str(exc))  # fmt: skip
        market = self._markets.get(asset_id)
        if market is None:
            return log.refuse_request(now, request, "unknown_asset", f"asset {asset_id} unknown")
        checks = self._checks
        expected = checks.expected_price(asset_id, side)
        reason, message, request = checks.verdict(now, request, market, expected, halt)
        if reason:
            return log.refuse_request(now, request, reason, message)
        try:  # the order's identity at the venue, known (and journaled) before it is sent
            venue_id = self.venue.order_id(request)
        except (VenueError, ValueError) as exc:
            return log.refuse_request(now, request, "order_identity", str(exc))
        record = request_to_dict(request)
        record["venue_order_id"] = venue_id
        try:
            self.journal.append("order_new", now, cid, record)
        except JournalError as exc:
            self._alarm("critical", "journal", f"journal not writable: {exc}")
            return log.refuse_request(now, request, "journal_unavailable", str(exc))
        order = self.tracker.add(request, now, expected)
        order.venue_order_id = venue_id
        self._day.orders += 1
        if self._timer is None:
            self.install_timer()
        return order

    def cancel(self, client_order_id: str) -> bool:
        return self._cancels.cancel(client_order_id)

    def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        """Cancel several orders in as few venue requests as our cancel bucket allows
        (``DELETE /orders``); True for each order the venue confirmed cancelled.

        Unknown or finished orders, and repeated ids, are not sent; what is left goes as
        one batch however few orders it holds, and each order is settled by its own answer
        in the batch's (an order already matched is "not cancelled", the others are).
        Transient failures are retried (a cancel is idempotent); a request that still
        fails, or an order the answer does not mention, is asked about again at the next
        check, as after a failed single cancel. A request our own rate limit cannot fit
        whole is sent as single cancels instead."""
        check_sequence(client_order_ids, str, "cancel_many", "client_order_ids")
        return self._cancels.cancel_many(client_order_ids)

    def cancel_all(self, asset_id: str | None = None) -> int:
        return self._cancels.cancel_open(asset_id)

    def open_orders(self, asset_id: str | None = None) -> list[OrderState]:
        return [
            o.snapshot() for o in self.tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]  # fmt: skip

    @property
    def trading_state(self) -> str:
        return self._state.state.value

    @property
    def state(self) -> TradingState:
        return self._state.state

    @property
    def state_reason(self) -> str:
        return self._state.reason

    # =============================================================== operator side
    def trip_kill_switch(self, reason: str = "api") -> None:
        """Halt now: no new orders, cancel everything until the venue confirms."""
        self.kill_switch.trip(reason)
        self._guard.halt(f"kill switch: {reason}")

    def halt(self, reason: str) -> None:
        """Halt now (no new orders, cancel everything) without writing the kill-switch
        file: a strategy that failed or asked to stop. Only ``reset_kill_switch`` (an
        operator) resumes."""
        self._guard.halt(reason)

    def reset_kill_switch(self) -> None:
        """A person resumes trading after a halt."""
        self._guard.reset()

    def install_timer(self) -> None:
        """Re-check kill switch, breakers and lost orders every ``check_interval_s`` while
        there is anything to watch (open or lost orders, positions, a halt in progress).
        An idle executor stops its timer; the next order starts it again."""
        if self._timer is None:
            self._timer = self.clock.schedule(
                "__executor__",
                self.clock.now_ns(),
                self._on_check,
                every_s=self.config.check_interval_s,
            )

    def _on_check(self, timer: Timer | None = None) -> None:
        now = self.clock.now_ns()
        self._guard.check(now)
        self._placer.recheck_lost(now)
        self._cancels.recheck_orders(now)
        if self._timer is not None and self._idle():
            self._timer.cancel()  # nothing to watch until the next order
            self._timer = None

    def _idle(self) -> bool:
        t, c = self.tracker, self._cancels
        busy = t.has_open or self.lost or c.recheck or c.pending
        if busy or self._state.state is not TradingState.ACTIVE:
            return False
        return not any(abs(s) > EPS_SHARES for s in t.positions.values())

    def _reduce(self, reason: str) -> None:
        """Trip a breaker by name (operators' drills and tests)."""
        self._guard.reduce(reason)

    # =============================================================== restart
    def recover(self, prepare: Callable[[], None] | None = None) -> list[str]:
        """Rebuild state from the journal (orders, fills, resolutions, the trading state),
        then reconcile with the venue. ``prepare()``, if given, runs in between (paper
        trading restores its simulated venue's account from what the journal says).

        Returns one line per discrepancy found and resolved, for the operator. A run
        that was HALTED cancels every open order again (``Guard.after_restart``).
        """
        return self._recovery.recover(prepare) + self._guard.after_restart()

    def reconcile(self) -> list[str]:
        """Make our books agree with the venue's: orders, fills and balance. A failure
        means REDUCING until a reconcile succeeds."""
        return self._recovery.reconcile()

    # =============================================================== venue side
    def on_venue_event(self, event: FillEvent | OrderUpdate | FillReversed) -> TrackedOrder | None:
        if isinstance(event, FillEvent):
            return self._fills.on_fill(event)
        if isinstance(event, FillReversed):
            return self.on_fill_reversed(event)
        order = self.tracker.orders.get(event.order.client_order_id)
        if order is None:
            return None
        before = order.status, order.venue_order_id
        self.tracker.on_state(event.order, event.ts_recv_ns)
        if (order.status, order.venue_order_id) != before:  # a state we already hold is
            log = self._log  # not journaled again
            log.journal_safe("order_state", event.ts_recv_ns, order.client_order_id,
                             state_to_dict(event.order))  # fmt: skip
            log.verify_fok(order)
            log.changed(order)
        return order  # the strategy hears every update of its orders (on_order)

    def on_fill_reversed(self, event: FillReversed) -> TrackedOrder | None:
        """The venue undid a fill (its trade FAILED on chain): positions, cash, P&L and the
        order's filled shares are as if it never happened; journaled (a restart replays
        it) and alerted. Returns the order (the strategy hears of it), or None when the
        fill was never applied or was reversed already (nothing changes)."""
        order = self._fills.on_reversed(event)
        if order is not None:
            self.install_timer()  # the periodic check asks the venue about an order in doubt
        return order

    def on_orders_in_doubt(self, reason: str) -> list[TrackedOrder]:
        """The venue may have cancelled every open order without a word (its dead-man
        switch fired: our heartbeats lapsed). Every open order becomes UNKNOWN and lost,
        then ``reconcile`` asks the venue about each (a failed reconcile means REDUCING
        until one succeeds; the periodic check keeps asking about the lost ones).
        Journaled and alerted. Returns the orders whose state is not what it was."""
        now = self.clock.now_ns()
        doubted = self.tracker.open()
        before = {o.client_order_id: (o.status, o.filled_shares) for o in doubted}
        self._log.journal_safe("orders_in_doubt", now, "open_orders",
                               {"reason": reason, "orders": list(before)})  # fmt: skip
        self._alarm("critical", "orders_in_doubt",
                    f"the venue may have cancelled our {len(doubted)} open orders ({reason}): "
                    f"asking it about each", {"orders": len(doubted)})  # fmt: skip
        for order in doubted:
            self._log.set_status(order, OrderStatus.UNKNOWN, "orders_in_doubt")
            # no lost_since: it reached the venue, so the window after which an unanswered
            # placement counts as never sent does not apply
            self.lost.add(order.client_order_id)
        self.reconcile()
        if self.lost or self.tracker.has_open:
            self.install_timer()
        return [o for o in doubted if (o.status, o.filled_shares) != before[o.client_order_id]]

    def on_tick_size(self, event: TickSizeChange) -> None:
        """A market's tick changed (the feed said so): orders are checked, and by a venue
        that signs them (``update_market``: the live venue) signed, with the new tick,
        not the one cached at start."""
        market = self._markets.get(event.asset_id)
        if market is None or market.tick_size == event.new_tick_size:
            return
        new = dataclasses.replace(market, tick_size=event.new_tick_size)
        self._markets[new.yes_token_id] = self._markets[new.no_token_id] = new
        update = getattr(self.venue, "update_market", None)
        if update is not None:
            update(new)
        self._log.journal_safe("tick_size", self.clock.now_ns(), new.condition_id,
                               {"old": market.tick_size, "new": new.tick_size})  # fmt: skip

    def on_resolved(self, event: MarketResolved) -> None:
        self._fills.on_resolved(event)

    def on_feed_state(self, connected: bool, reason: str = "") -> None:
        """The market feed went down (or silent) or came back: no new risk while it is out,
        since prices the strategy and the slippage bound rely on may be stale."""
        now = self.clock.now_ns()
        problem = "" if connected else (reason or "disconnected")
        was = self._checks.feed_problem
        self._checks.feed_problem = problem
        self.feed_events.append((now, connected, reason))
        self._log.journal_safe("feed", now, "up" if connected else "down", {"reason": reason})
        if not connected:
            self._alarm("warning", "feed", f"market feed down: {problem}")
        elif was:
            self._alarm("info", "feed_up", f"market feed back (was: {was})")

    @property
    def feed_problem(self) -> str:
        """Why market data cannot be trusted now ("" = it can): no new risk meanwhile."""
        return self._checks.feed_problem

    @property
    def on_order_change(self) -> Callable[[TrackedOrder], None] | None:
        return self._log.on_order_change

    @on_order_change.setter
    def on_order_change(self, callback: Callable[[TrackedOrder], None] | None) -> None:
        self._log.on_order_change = callback

    # =============================================================== equity
    def equity_usdc(self) -> float:
        """Cash plus positions marked at mid (or the one side quoted, or average cost)."""
        return self._valuation.equity_usdc()

    def _mark(self, asset_id: str) -> float:
        return self._valuation.mark(asset_id)

    @property
    def _balance(self) -> Balance | None:
        """The cached venue balance (tests look at it)."""
        return self._funds.cached


__all__ = ["DAY_NS", "LOST_ORDER_WINDOW_S", "NS", "Executor", "Refusal", "SlippageRecord"]
