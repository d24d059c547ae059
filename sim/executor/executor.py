"""The executor: the only path from a strategy to a venue, and where safety lives.

Every NO-GO item of the readiness review is handled here, below every
strategy, the same way in backtest, paper and live:

* every venue call has a deadline and a token bucket (``calls.VenueCaller``);
* transient failures are retried with backoff and jitter on the clock; a
  placement whose answer was lost is first looked up by client order id and
  re-sent (the same order, the same id) only if it did not land;
* the balance is real, cached for ``balance_ttl_s`` and refreshed after fills;
  an unknown or zero balance refuses new risk instead of being trusted;
* funds are pre-checked (notional + taker fee + what open orders reserve);
* marketable orders carry a worst acceptable price from ``max_slippage``, and
  every fill's slippage is measured, alerted and counted by a breaker;
* the kill switch (a file or an API call) is checked before every order and
  halts: no new orders, every open order cancelled until confirmed;
* limits per order, market, total, open orders and day; risk breakers;
* every state change is journaled before it is acted on; a journal that
  cannot be written refuses new risk (fail closed).

Refusals are ``OrderAck``s with a machine-readable ``reason``, also kept in
``refusals`` so reports can count them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sim.clock import Clock, Timer
from sim.events import FillEvent, MarketResolved, OrderUpdate
from sim.executor.alerts import Alert, Alerter, FanOutAlerter, LogAlerter, MemoryAlerter
from sim.executor.calls import RateLimitedLocally, VenueCaller
from sim.executor.codec import (
    fill_from_dict,
    fill_to_dict,
    request_from_dict,
    request_to_dict,
    state_to_dict,
)
from sim.executor.config import ExecutorConfig
from sim.executor.order_input import clean_order, shown_asset, shown_number
from sim.executor.pnl import PnlLedger
from sim.executor.tracker import EPS_SHARES, OrderTracker, TrackedOrder
from sim.executor.trading_state import KillSwitch, TradingState
from sim.journal import Journal, JournalError, MemoryJournal
from sim.strategy import BookView
from sim.types import (
    MAX_BATCH_ORDERS,
    Balance,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderIntent,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
    taker_fee_usdc,
)
from sim.venue import Venue, VenueError, VenueRejected, VenueTimeout, VenueUnavailable

NS = 1_000_000_000
DAY_NS = 86_400 * NS
#: how long a placement with no answer is looked for before it counts as never sent
#: (ghost orders have been seen to appear seconds after a timeout)
LOST_ORDER_WINDOW_S = 60.0


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order the executor or the venue refused."""

    ts_ns: int
    client_order_id: str
    asset_id: str
    side: Side
    price: float
    size_shares: float
    source: str  # "executor" or "venue"
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class SlippageRecord:
    ts_ns: int
    client_order_id: str
    asset_id: str
    side: Side
    expected_price: float
    fill_price: float
    size_shares: float
    excess_per_share: float  # > 0 is worse than expected


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
        self.tracker = OrderTracker(cash_usdc)
        self.journal = journal if journal is not None else MemoryJournal()
        self.risk = risk
        self.memory_alerts = MemoryAlerter()
        self.alerter = FanOutAlerter(self.memory_alerts, alerter or LogAlerter())
        self.caller = VenueCaller(clock, cfg, seed)
        self.kill_switch = KillSwitch(cfg.kill_switch_path)
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        #: why market data cannot be trusted now ("" = it can): no new risk meanwhile
        self.feed_problem = ""
        self.feed_events: list[tuple[int, bool, str]] = []
        self.refusals: list[Refusal] = []
        self.slippage: list[SlippageRecord] = []
        self.halts: list[tuple[int, str]] = []
        self.lost: set[str] = set()  # orders whose placement outcome is still unknown
        #: orders whose state must be asked again (a cancel's answer was lost), with since when
        self._recheck: dict[str, int] = {}
        self._lost_since: dict[str, int] = {}
        #: payout per share of every asset whose market resolved (a late fill settles)
        self._resolved: dict[str, float] = {}
        self._books = books
        self._markets = {
            a: m for m in (markets or venue.markets()) for a in (m.yes_token_id, m.no_token_id)
        }
        self.pnl = PnlLedger({a: m.condition_id for a, m in self._markets.items()})
        self._next_id = 0
        self._balance: Balance | None = None
        self._balance_dirty = True
        self._balance_adjusted = False  # the cached balance carries fills applied locally
        self._balance_alerted = ""
        self._excess_slippage_today = 0
        self._orders_today = 0
        self._day = clock.now_ns() // DAY_NS
        self._cancel_pending = False
        self.on_order_change: Callable[[TrackedOrder], None] | None = None
        self._timer: Timer | None = None
        self._risk_events_saved = -1
        #: orders per place_many request: Polymarket's limit, or fewer if our own place
        #: bucket could never hold a whole batch (a batch costs one token per order)
        self._batch_size = max(1, min(MAX_BATCH_ORDERS, int(cfg.rate_limits.place_burst)))
        #: ids per cancel_many request (Polymarket takes 3,000; our bucket is the limit)
        self._cancel_batch_size = max(1, int(cfg.rate_limits.cancel_burst))

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
        self._roll_day(now)
        admitted = self._admit(now, side, asset_id, price, size_shares, order_type, post_only,
                               expire_ns, self.kill_switch.tripped())  # fmt: skip
        if isinstance(admitted, OrderAck):
            return admitted
        return self._place(admitted)

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
        _check_sequence(orders, OrderIntent, "place_many", "orders")
        acks: list[OrderAck] = []
        size = self._batch_size
        for i in range(0, len(orders), size):
            now = self.clock.now_ns()
            self._roll_day(now)
            halt = self.kill_switch.tripped()  # once per request, just before it is built
            admitted: list[tuple[int, TrackedOrder]] = []
            for o in orders[i : i + size]:
                if isinstance(o, OrderIntent):
                    got = self._admit(now, o.side, o.asset_id, o.price, o.size_shares,
                                      o.order_type, o.post_only, o.expire_ns, halt)  # fmt: skip
                else:  # refused like any malformed order, never raised
                    why = f"orders[{len(acks)}]: expected an OrderIntent, got {type(o).__name__}"
                    got = self._refuse(now, self._new_client_id(), "", Side.BUY, math.nan,
                                       math.nan, "invalid_order", why)  # fmt: skip
                if not isinstance(got, OrderAck):
                    admitted.append((len(acks), got))
                acks.append(got)  # type: ignore[arg-type]  # replaced below once answered
            if len(admitted) == 1:
                acks[admitted[0][0]] = self._place(admitted[0][1])
            elif admitted:
                answers = self._place_batch([t for _, t in admitted])
                for (j, _), ack in zip(admitted, answers, strict=True):
                    acks[j] = ack
        return acks

    def _admit(
        self, now: int, side: Side, asset_id: str, price: float, size_shares: float,
        order_type: OrderType, post_only: bool, expire_ns: int | None, halt: str,
    ) -> TrackedOrder | OrderAck:  # fmt: skip
        """Every check before an order may be sent; a tracked, journaled order when it may,
        else the refusal."""
        cid = self._new_client_id()
        try:  # a strategy's arguments are user input: refused, never raised
            side_, asset, p, size, otype, post, expire = clean_order(
                side, asset_id, price, size_shares, order_type, post_only, expire_ns
            )
            request = OrderRequest(cid, asset, side_, p, size, otype, post, expire)
        except ValueError as exc:
            return self._refuse(now, cid, asset_id, side, price, size_shares, "invalid_order",
                                str(exc))  # fmt: skip
        market = self._markets.get(asset_id)
        if market is None:
            return self._refuse_req(now, request, "unknown_asset", f"asset {asset_id} unknown")
        expected = self._expected_price(asset_id, side)
        reason, message, request = self._pre_trade(now, request, market, expected, halt)
        if reason:
            return self._refuse_req(now, request, reason, message)
        try:
            self.journal.append("order_new", now, cid, request_to_dict(request))
        except JournalError as exc:
            self._alert("critical", "journal", f"journal not writable: {exc}")
            return self._refuse_req(now, request, "journal_unavailable", str(exc))
        order = self.tracker.add(request, now, expected)
        self._orders_today += 1
        if self._timer is None:
            self.install_timer()
        return order

    def cancel(self, client_order_id: str) -> bool:
        if not isinstance(client_order_id, str):
            return False  # not an id we ever issued (ids are strings)
        order = self.tracker.orders.get(client_order_id)
        if order is None or order.status.terminal:
            return False
        try:
            ack = self.caller.call("cancel", self.venue.cancel, client_order_id)
        except VenueError as exc:
            self._cancel_failed(client_order_id, exc)
            return False
        if ack.canceled and not order.status.terminal:
            self._set_status(order, OrderStatus.CANCELED, "canceled")
        return ack.canceled

    def cancel_many(self, client_order_ids: Sequence[str]) -> list[bool]:
        """Cancel several orders in as few venue requests as our cancel bucket allows
        (``DELETE /orders``); True for each order the venue confirmed cancelled.

        Unknown or finished orders, and repeated ids, are not sent. Transient failures are
        retried (a cancel is idempotent); a request that still fails, or an order the
        answer does not mention, is asked about again at the next check, as after a failed
        single cancel. A request our own rate limit cannot fit whole is sent as single
        cancels instead."""
        _check_sequence(client_order_ids, str, "cancel_many", "client_order_ids")
        orders = self.tracker.orders
        todo = list(dict.fromkeys(
            c for c in client_order_ids
            if isinstance(c, str) and c in orders and not orders[c].status.terminal
        ))  # fmt: skip
        done: set[str] = set()
        size = self._cancel_batch_size
        for i in range(0, len(todo), size):
            chunk = todo[i : i + size]
            if len(chunk) == 1:
                if self.cancel(chunk[0]):
                    done.add(chunk[0])
                continue
            try:
                acks = self.caller.call("cancel", self.venue.cancel_many, chunk,
                                        tokens=len(chunk))  # fmt: skip
            except RateLimitedLocally:
                done.update(c for c in chunk if self.cancel(c))
                continue
            except VenueError as exc:
                for c in chunk:
                    self._cancel_failed(c, exc)
                continue
            answered = set()
            for ack in acks:
                cid = ack.client_order_id
                order = orders.get(cid)
                if order is None or cid not in chunk:
                    continue
                answered.add(cid)
                if ack.canceled:
                    done.add(cid)
                    if not order.status.terminal:
                        self._set_status(order, OrderStatus.CANCELED, "canceled")
            for c in chunk:
                if c not in answered:
                    self._cancel_failed(c, VenueError("no answer for this order", call="cancel"))
        return [isinstance(c, str) and c in done for c in client_order_ids]

    def _cancel_failed(self, client_order_id: str, exc: VenueError) -> None:
        # the cancel may have landed: ask the venue for the order's state next check
        self._alert("warning", "cancel_failed", f"cancel {client_order_id}: {exc}")
        self._recheck[client_order_id] = self.clock.now_ns()
        self.install_timer()

    def cancel_all(self, asset_id: str | None = None) -> int:
        targets = [
            o.client_order_id for o in self.tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]  # fmt: skip
        return sum(self.cancel(cid) for cid in targets)

    def open_orders(self, asset_id: str | None = None) -> list[OrderState]:
        return [
            o.snapshot() for o in self.tracker.open()
            if asset_id is None or o.request.asset_id == asset_id
        ]  # fmt: skip

    @property
    def trading_state(self) -> str:
        return self.state.value

    # =============================================================== operator side
    def trip_kill_switch(self, reason: str = "api") -> None:
        """Halt now: no new orders, cancel everything until the venue confirms."""
        self.kill_switch.trip(reason)
        self._halt(f"kill switch: {reason}")

    def halt(self, reason: str) -> None:
        """Halt now (no new orders, cancel everything) without writing the kill-switch
        file: a strategy that failed or asked to stop. Only ``reset_kill_switch`` (an
        operator) resumes."""
        self._halt(reason)

    def reset_kill_switch(self) -> None:
        """A person resumes trading after a halt."""
        self.kill_switch.reset()
        now = self.clock.now_ns()
        self._journal_safe("kill_switch", now, "reset", {"state": "ACTIVE"})
        self.state, self.state_reason = TradingState.ACTIVE, ""
        self._alert("info", "kill_switch", "kill switch reset by operator")
        if self.risk is not None:  # a breaker still tripped keeps us reducing
            reason = self.risk.allow_new_risk(now)
            if reason:
                self._reduce(reason)

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

    def _idle(self) -> bool:
        t = self.tracker
        busy = t.has_open or self.lost or self._recheck or self._cancel_pending
        if busy or self.state is not TradingState.ACTIVE:
            return False
        return not any(abs(s) > EPS_SHARES for s in t.positions.values())

    # =============================================================== restart
    def recover(self) -> list[str]:
        """Rebuild state from the journal, then reconcile with the venue.

        Returns one line per discrepancy found and resolved, for the operator.
        """
        report: list[str] = []
        n_records = 0
        for rec in self.journal.records():
            n_records += 1
            self._replay(rec)
        if self.risk is not None:
            saved = self.journal.load_state("risk")
            if saved is not None:
                self.risk.restore(saved)
        today = self.clock.now_ns() // DAY_NS
        self._day = today
        self._orders_today = sum(
            1 for r in self.journal.records(kinds=["order_new"]) if r.ts_ns // DAY_NS == today
        )  # the daily order cap must not reset with the process
        if n_records:
            t = self.tracker
            report.append(
                f"journal: {n_records} records replayed, {len(t.orders)} orders, "
                f"{len(t.fills)} fills"
            )
        report += self.reconcile()
        return report

    def _replay(self, rec) -> None:
        p, kind = rec.payload, rec.kind
        if kind == "order_new":
            req = request_from_dict(p)
            if req.client_order_id not in self.tracker.orders:
                self.tracker.add(req, rec.ts_ns, None)
            suffix = req.client_order_id.rsplit("-", 1)[-1]
            if suffix.isdigit():
                self._next_id = max(self._next_id, int(suffix))
        elif kind in ("order_ack", "order_state", "order_status"):
            order = self.tracker.orders.get(rec.key)
            if order is not None:
                if p.get("venue_order_id"):
                    order.venue_order_id = p["venue_order_id"]
                status = OrderStatus(p["status"])
                if kind == "order_ack":
                    order.status = self.tracker.status_after(order, status)
                elif not order.status.terminal or status.terminal:
                    order.status = status
                self.tracker.sync(order)
        elif kind == "fill":
            fill = fill_from_dict(p)
            if self.tracker.on_fill(fill) is not None:
                self.pnl.on_fill(fill)
                if fill.asset_id in self._resolved:  # a late fill, settled as it was live
                    self.tracker.settle(fill.asset_id, self._resolved[fill.asset_id])
                    self.pnl.settle(fill.asset_id, self._resolved[fill.asset_id])
        elif kind == "resolved":
            for asset in p.get("assets", ()):
                payout = 1.0 if asset == p.get("winner") else 0.0
                self._resolved[asset] = payout
                self.tracker.settle(asset, payout)
                self.pnl.settle(asset, payout)
        elif kind == "kill_switch":
            if rec.key == "HALTED":
                self.state, self.state_reason = TradingState.HALTED, p.get("reason", "")
            else:
                self.state, self.state_reason = TradingState.ACTIVE, ""
        elif kind == "trading_state":
            self.state = TradingState(rec.key)
            self.state_reason = p.get("reason", "")

    def reconcile(self) -> list[str]:
        """Make our books agree with the venue's: orders, fills and balance."""
        report: list[str] = []
        try:
            venue_open = {s.client_order_id: s for s in
                          self.caller.call("open_orders", self.venue.open_orders)}  # fmt: skip
            since = min((o.submitted_ns for o in self.tracker.orders.values()), default=0)
            venue_fills = self.caller.call("fills", self.venue.fills, since)
        except VenueError as exc:
            self._alert("critical", "reconcile", f"cannot reconcile with the venue: {exc}")
            self.state, self.state_reason = TradingState.REDUCING, "reconcile_failed"
            return [f"reconcile failed: {exc}"]
        for fill in venue_fills:
            if fill.client_order_id in self.tracker.orders:
                order = self.tracker.on_fill(fill)
                if order is not None:
                    self.pnl.on_fill(fill)
                    self._journal_safe("fill", self.clock.now_ns(), fill.trade_id,
                                       fill_to_dict(fill))  # fmt: skip
                    report.append(f"fill {fill.trade_id} of {fill.client_order_id} recovered")
        for cid in venue_open:
            if cid not in self.tracker.orders:
                report.append(f"venue has open order {cid} we never journaled: cancelling")
                with contextlib.suppress(VenueError):
                    self.caller.call("cancel", self.venue.cancel, cid)
        for order in list(self.tracker.open()) + [
            self.tracker.orders[c] for c in self.lost if c in self.tracker.orders
        ]:
            cid = order.client_order_id
            if cid in venue_open:
                self.tracker.on_state(venue_open[cid], self.clock.now_ns())
                continue
            try:
                state = self.caller.call("get_order", self.venue.get_order, cid)
            except VenueError:
                self.lost.add(cid)
                report.append(f"order {cid}: venue did not answer, kept as lost")
                continue
            if state is None:
                self._set_status(order, OrderStatus.REJECTED, "never_reached_venue")
                report.append(f"order {cid} never reached the venue: marked rejected")
            else:
                before = order.status
                self.tracker.on_state(state, self.clock.now_ns())
                self._journal_safe("order_state", self.clock.now_ns(), cid, state_to_dict(state))
                if order.status is not before:
                    report.append(f"order {cid}: {before.value} -> {order.status.value}")
            self.lost.discard(cid)
        self._balance_dirty = True
        b = self._balance_now()
        if b is not None and abs(b.total_usdc - self.tracker.cash_usdc) > 0.01:
            report.append(f"balance: venue {b.total_usdc:.4f} vs ours "
                          f"{self.tracker.cash_usdc:.4f} USDC")  # fmt: skip
        for line in report:
            self._alert("warning", "reconcile", line)
        return report

    # =============================================================== venue side
    def on_venue_event(self, event: FillEvent | OrderUpdate) -> TrackedOrder | None:
        if isinstance(event, FillEvent):
            return self._on_fill(event)
        order = self.tracker.orders.get(event.order.client_order_id)
        if order is None:
            return None
        before = order.status, order.venue_order_id
        self.tracker.on_state(event.order, event.ts_recv_ns)
        if (order.status, order.venue_order_id) != before:  # a state we already hold is
            self._journal_safe("order_state", event.ts_recv_ns,  # not journaled again
                               order.client_order_id, state_to_dict(event.order))  # fmt: skip
            self._verify_fok(order)
            self._changed(order)
        return order  # the strategy hears every update of its orders (on_order)

    def on_resolved(self, event: MarketResolved) -> None:
        for asset in event.asset_ids:
            payout = event.payout(asset)
            self._resolved[asset] = payout
            self._settle(asset, payout)
        self._balance_dirty = True
        self._journal_safe("resolved", event.ts_recv_ns, event.market,
                           {"winner": event.winning_asset_id,
                            "assets": list(event.asset_ids)})  # fmt: skip
        self._save_risk()

    def _settle(self, asset: str, payout: float) -> None:
        self.tracker.settle(asset, payout)
        result = self.pnl.settle(asset, payout)
        if result is not None and self.risk is not None:
            self.risk.on_round_trip(self.clock.now_ns(), result,
                                    equity_usdc=self.equity_usdc())  # fmt: skip

    def on_feed_state(self, connected: bool, reason: str = "") -> None:
        """The market feed went down (or silent) or came back: no new risk while it is out,
        since prices the strategy and the slippage bound rely on may be stale."""
        now = self.clock.now_ns()
        self.feed_problem = "" if connected else (reason or "disconnected")
        self.feed_events.append((now, connected, reason))
        self._journal_safe("feed", now, "up" if connected else "down", {"reason": reason})
        if not connected:
            self._alert("warning", "feed", f"market feed down: {self.feed_problem}")

    # =============================================================== equity
    def equity_usdc(self) -> float:
        """Cash plus positions marked at mid (or the one side quoted, or average cost)."""
        value = self.tracker.cash_usdc
        for asset, shares in self.tracker.positions.items():
            if abs(shares) > EPS_SHARES:
                value += shares * self._mark(asset)
        return value

    def _mark(self, asset_id: str) -> float:
        if self._books is not None:
            b = self._books(asset_id)
            bid, ask = b.best_bid, b.best_ask
            if bid is not None and ask is not None:
                return (bid + ask) / 2
            if bid is not None or ask is not None:
                return bid if bid is not None else ask
        return self.pnl.avg_cost(asset_id)

    # =============================================================== internals: checks
    def _pre_trade(
        self, now: int, req: OrderRequest, market: MarketInfo, expected: float | None,
        halt: str,
    ) -> tuple[str, str, OrderRequest]:  # fmt: skip
        """Every check before an order may be sent: ('', '', req) when it may go.
        ``halt`` is the kill switch's answer, read just before (once per batch)."""
        if halt and self.state is not TradingState.HALTED:
            self._halt(halt)
        if self.state is TradingState.HALTED:
            return "halted", f"trading halted: {self.state_reason}", req
        reducing = self._is_reducing(req)
        if self.state is TradingState.REDUCING and not reducing:
            self._maybe_resume(now)
        if self.state is TradingState.REDUCING and not reducing:
            # the reason a report counts is what put us in REDUCING (a breaker's name)
            reason = self.state_reason or "reducing_only"
            return reason, f"only position-reducing orders: {self.state_reason}", req
        req = self._bound_slippage(req, market, expected)  # limits judge the price sent
        lim = self.config.limits
        notional = req.price * req.size_shares
        if lim.max_order_shares and req.size_shares > lim.max_order_shares:
            return "max_order_size", f"{req.size_shares} > {lim.max_order_shares} shares", req
        if lim.max_order_usdc and notional > lim.max_order_usdc:
            return "max_order_usdc", f"{notional:.2f} > {lim.max_order_usdc} USDC", req
        open_orders = self.tracker.open()
        if lim.max_open_orders and len(open_orders) >= lim.max_open_orders:
            return "max_open_orders", f"{len(open_orders)} open orders", req
        if lim.max_orders_per_day and self._orders_today >= lim.max_orders_per_day:
            return "max_orders_per_day", f"{self._orders_today} orders today", req
        if not reducing and self.feed_problem:
            return "feed_down", f"market data not trusted: {self.feed_problem}", req
        if not reducing:
            reason = self._risk_reason(now, notional)
            if reason:
                return reason, f"risk breaker: {reason}", req
            reason, message = self._position_limits(req, market, open_orders)
            if reason:
                return reason, message, req
        if req.side is Side.BUY:
            reason, message = self._funds_check(req, market, expected, open_orders)
        else:
            reason, message = self._shares_check(req, open_orders)
        return reason, message, req

    def _risk_reason(self, now: int, notional: float) -> str:
        if self.risk is None:
            return ""
        try:
            reason = self.risk.allow_new_risk(now) or self.risk.check_order(
                notional, self.equity_usdc(), now
            )
        except Exception as exc:  # a risk check that cannot run must not allow risk
            self._alert("critical", "risk_check_failed", f"risk check failed: {exc!r}")
            return "risk_check_failed"
        if reason == "risk_check_failed":
            self._alert("critical", "risk_check_failed", f"risk manager fault: {self.risk.fault}")
        elif reason and reason != "risk_per_trade":
            self._reduce(reason)  # a breaker is tripped: reduce now, not at the next check
        return reason or ""

    def _is_reducing(self, req: OrderRequest) -> bool:
        if req.side is not Side.SELL:
            return False
        held = self.tracker.positions.get(req.asset_id, 0.0)
        return req.size_shares <= held - self._reserved_sells(req.asset_id) + EPS_SHARES

    def _reserved_sells(self, asset_id: str) -> float:
        return sum(
            o.remaining_shares for o in self.tracker.open()
            if o.request.asset_id == asset_id and o.request.side is Side.SELL
        )  # fmt: skip

    def _position_limits(
        self, req: OrderRequest, market: MarketInfo, open_orders: list[TrackedOrder]
    ) -> tuple[str, str]:
        lim = self.config.limits
        if req.side is not Side.BUY:
            return "", ""
        tokens = (market.yes_token_id, market.no_token_id)
        if lim.max_position_shares_per_market:
            held = sum(max(self.tracker.positions.get(t, 0.0), 0.0) for t in tokens)
            pending = sum(
                o.remaining_shares for o in open_orders
                if o.request.asset_id in tokens and o.request.side is Side.BUY
            )  # fmt: skip
            projected = held + pending + req.size_shares
            if projected > lim.max_position_shares_per_market + EPS_SHARES:
                return "max_position_market", (
                    f"{projected:.2f} shares in {market.slug or market.condition_id} > "
                    f"{lim.max_position_shares_per_market}"
                )
        if lim.max_total_position_usdc:
            exposure = sum(
                max(s, 0.0) * self._mark(a) for a, s in self.tracker.positions.items()
            ) + sum(
                o.remaining_shares * o.request.price for o in open_orders
                if o.request.side is Side.BUY
            )  # fmt: skip
            projected = exposure + req.price * req.size_shares
            if projected > lim.max_total_position_usdc + 1e-9:
                return "max_position_total", (
                    f"{projected:.2f} USDC exposure > {lim.max_total_position_usdc}"
                )
        return "", ""

    def _expected_price(self, asset_id: str, side: Side) -> float | None:
        if self._books is None:
            return None
        b = self._books(asset_id)
        return b.best_ask if side is Side.BUY else b.best_bid

    def _bound_slippage(
        self, req: OrderRequest, market: MarketInfo, expected: float | None
    ) -> OrderRequest:
        """A marketable order's limit may be at most ``max_slippage`` beyond the touch."""
        if expected is None:
            return req
        if req.side is Side.BUY and req.price >= expected:
            tick = self._tick(req.asset_id, market)
            worst = math.floor((expected + self.config.max_slippage) / tick + 1e-9) * tick
            if req.price > worst + 1e-12:
                return _with_price(req, round(min(worst, 1 - tick), 10))
        elif req.side is Side.SELL and req.price <= expected:
            tick = self._tick(req.asset_id, market)
            worst = math.ceil((expected - self.config.max_slippage) / tick - 1e-9) * tick
            if req.price < worst - 1e-12:
                return _with_price(req, round(max(worst, tick), 10))
        return req

    def _tick(self, asset_id: str, market: MarketInfo) -> float:
        if self._books is not None:
            return self._books(asset_id).tick_size
        return market.tick_size

    def _balance_now(self) -> Balance | None:
        now = self.clock.now_ns()
        b = self._balance
        ttl_ns = int(self.config.balance_ttl_s * NS)
        if b is not None and not self._balance_dirty and now - b.as_of_ns <= ttl_ns:
            return b
        try:
            b = self.caller.call("balance", self.venue.balance)
        except VenueError as exc:
            self._balance = None
            if self._balance_alerted != "failed":
                self._balance_alerted = "failed"
                self._alert("critical", "balance", f"balance source failing: {exc}")
            return None
        self._balance, self._balance_dirty, self._balance_adjusted = b, False, False
        if b.total_usdc <= 0.0 and self._balance_alerted != "zero":
            self._balance_alerted = "zero"
            self._alert("critical", "balance", "venue reports a zero balance",
                        {"tracked_cash_usdc": self.tracker.cash_usdc})  # fmt: skip
        elif b.total_usdc > 0.0:
            self._balance_alerted = ""
        return b

    def _funds_check(
        self, req: OrderRequest, market: MarketInfo, expected: float | None,
        open_orders: list[TrackedOrder],
    ) -> tuple[str, str]:  # fmt: skip
        reason, message = self._funds_verdict(req, market, expected, open_orders)
        if reason and self._balance_adjusted:
            # never refuse on our own arithmetic: ask the venue, then judge again
            self._balance_dirty = True
            reason, message = self._funds_verdict(req, market, expected, open_orders)
        return reason, message

    def _funds_verdict(
        self, req: OrderRequest, market: MarketInfo, expected: float | None,
        open_orders: list[TrackedOrder],
    ) -> tuple[str, str]:  # fmt: skip
        b = self._balance_now()
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

    def _adjust_balance(self, fill) -> None:
        """A fill lowers the cached balance instead of costing a venue round trip before the
        next order (live, a balance read right after a fill can even predate the trade's
        settlement). Never upward: a BUY lowers total and available by its cost (counted
        twice if the venue's last answer already held it, or if a resting order's
        reservation was already out of 'available': too low, never too high); a SELL's
        proceeds wait for the venue's next answer. The venue is asked again when the TTL
        runs out, and before any refusal (``_funds_check``)."""
        b = self._balance
        if b is None or self._balance_dirty or fill.side is not Side.BUY:
            return
        cost = fill.price * fill.size_shares
        self._balance = Balance(b.total_usdc - cost, b.available_usdc - cost, b.as_of_ns)
        self._balance_adjusted = True

    def _shares_check(self, req: OrderRequest, open_orders: list[TrackedOrder]) -> tuple[str, str]:
        held = self.tracker.positions.get(req.asset_id, 0.0)
        free = held - self._reserved_sells(req.asset_id)
        if req.size_shares > free + EPS_SHARES:
            return "insufficient_position", f"sell {req.size_shares} > {max(free, 0):.4f} held"
        return "", ""

    # =============================================================== internals: placing
    def _place(self, order: TrackedOrder) -> OrderAck:
        self.caller.stats["place"].calls += 1  # one per order placed, whatever the endpoint
        state = {"ambiguous": False}
        try:
            return self._place_attempt(order, state)  # fast path: no tenacity
        except VenueError as exc:
            if not _retry_place(exc) or self.config.retry.max_attempts < 2:
                return self._place_failed(order, state, exc)
            self.caller.stats["place"].retries += 1
            self.clock.sleep(self.caller.backoff_s(1, exc))
        return self._place_retries(order, state)

    def _place_retries(self, order: TrackedOrder, state: dict) -> OrderAck:
        """Attempts after the first failed one (tenacity, backoff on the clock)."""
        try:
            for attempt in self.caller.retrying("place", _retry_place):
                with attempt:
                    return self._place_attempt(order, state)
        except VenueError as exc:
            return self._place_failed(order, state, exc)
        raise AssertionError("tenacity ended without a result or an error")  # reraise=True

    def _place_failed(self, order: TrackedOrder, state: dict, exc: VenueError) -> OrderAck:
        """No attempt got an answer: refused, or (if it may have landed) lost until found."""
        req = order.request
        if isinstance(exc, VenueRejected):
            return self._venue_refused(order, exc.reason, str(exc))
        if not state["ambiguous"]:
            reason = "rate_limited" if isinstance(exc, RateLimitedLocally) else "venue_unavailable"
            return self._venue_refused(order, reason, str(exc))
        # one last look, else the order is lost until found
        found = self._find(req)
        if found is not None:
            return self._adopt(order, found)
        self.lost.add(req.client_order_id)
        self._lost_since[req.client_order_id] = self.clock.now_ns()
        self._set_status(order, OrderStatus.UNKNOWN, "outcome_unknown")
        self._alert("critical", "order_lost",
                    f"placement of {req.client_order_id} unanswered: {exc}")  # fmt: skip
        return OrderAck(req.client_order_id, None, False, OrderStatus.UNKNOWN,
                        "outcome_unknown", str(exc), self.clock.now_ns())  # fmt: skip

    def _place_attempt(self, order: TrackedOrder, attempt_state: dict) -> OrderAck:
        """One placement attempt; after an ambiguous failure, first look for the order."""
        req = order.request
        if attempt_state["ambiguous"]:
            found = self._find(req)
            if found is not None:
                return self._adopt(order, found)
        try:
            ack = self.caller.attempt("place", self.venue.place, req)
        except (VenueTimeout, VenueUnavailable):
            attempt_state["ambiguous"] = True  # it may have landed: look before re-sending
            raise
        return self._answered(order, ack)

    def _place_batch(self, orders: list[TrackedOrder]) -> list[OrderAck]:
        """One ``place_many`` request; see ``place_many`` for what happens when it fails.
        Stats count per order, as the single-order path does: a call per order, and a
        retry per order attempted again."""
        reqs = [o.request for o in orders]
        stats = self.caller.stats["place"]
        try:
            acks = self.caller.attempt("place", self.venue.place_many, reqs, tokens=len(reqs))
        except RateLimitedLocally:
            return [self._place(o) for o in orders]  # a token each, as if sent alone
        except VenueError as exc:
            stats.calls += len(orders)
            ambiguous = isinstance(exc, VenueTimeout | VenueUnavailable)
            if not _retry_place(exc) or self.config.retry.max_attempts < 2:
                return [self._place_failed(o, {"ambiguous": ambiguous}, exc) for o in orders]
            stats.retries += len(orders)
            self.clock.sleep(self.caller.backoff_s(1, exc))  # once for the whole batch
            return [self._place_retries(o, {"ambiguous": ambiguous}) for o in orders]
        stats.calls += len(orders)
        by_cid = {a.client_order_id: a for a in acks}
        out = []
        for o in orders:
            ack = by_cid.get(o.client_order_id)
            if ack is not None:
                out.append(self._answered(o, ack))
                continue
            # the venue did not answer for it: it may have landed, as after a timeout
            missing = VenueUnavailable("the batch answer does not mention this order",
                                       call="place")  # fmt: skip
            if self.config.retry.max_attempts < 2:
                out.append(self._place_failed(o, {"ambiguous": True}, missing))
            else:
                stats.retries += 1
                out.append(self._place_retries(o, {"ambiguous": True}))
        return out

    def _answered(self, order: TrackedOrder, ack: OrderAck) -> OrderAck:
        """The venue answered for ``order``; "duplicated" means it is already there."""
        if not ack.accepted and ack.reason == "duplicated":
            found = self._find(order.request)
            if found is not None:
                return self._adopt(order, found)
        return self._on_ack(order, ack)

    def _find(self, req: OrderRequest) -> OrderState | None:
        """Did an order with this client id reach the venue? Asks a few times, waiting between."""
        rc = self.config.retry
        for i in range(rc.reconcile_attempts):
            try:
                state = self.caller.call("get_order", self.venue.get_order, req.client_order_id)
                if state is not None:
                    return state
                for s in self.caller.call("open_orders", self.venue.open_orders):
                    if s.client_order_id == req.client_order_id:
                        return s
            except VenueError:
                pass  # unknown still; try again after the wait
            if i + 1 < rc.reconcile_attempts:
                self.clock.sleep(rc.reconcile_wait_s)
        return None

    def _adopt(self, order: TrackedOrder, state: OrderState) -> OrderAck:
        self.lost.discard(order.client_order_id)
        self._lost_since.pop(order.client_order_id, None)
        self.tracker.on_state(state, self.clock.now_ns())
        self._journal_safe("order_state", self.clock.now_ns(), order.client_order_id,
                           state_to_dict(state))  # fmt: skip
        self._changed(order)
        return OrderAck(order.client_order_id, state.venue_order_id, True, order.status,
                        "", "found after a lost answer", self.clock.now_ns())  # fmt: skip

    def _on_ack(self, order: TrackedOrder, ack: OrderAck) -> OrderAck:
        if not ack.accepted:
            return self._venue_refused(order, ack.reason, ack.message)
        self.tracker.on_ack(ack)
        self._journal_safe("order_ack", ack.ts_ns, order.client_order_id,
                           {"venue_order_id": ack.venue_order_id or "",
                            "status": ack.status._value_})  # fmt: skip
        self._changed(order)
        return ack

    def _venue_refused(self, order: TrackedOrder, reason: str, message: str) -> OrderAck:
        now = self.clock.now_ns()
        self._set_status(order, OrderStatus.REJECTED, reason)
        if reason == "not_enough_balance":
            # our pre-check let through what the venue cannot fund: our cash or positions
            # disagree with the venue's. Re-read the balance before the next order; say so.
            self._balance_dirty = True
            self._alert("critical", "funds_mismatch",
                        f"venue refused {order.client_order_id} for funds our check approved: "
                        f"{message}")  # fmt: skip
        r = order.request
        self.refusals.append(Refusal(now, r.client_order_id, r.asset_id, r.side, r.price,
                                     r.size_shares, "venue", reason, message))  # fmt: skip
        return OrderAck(r.client_order_id, None, False, OrderStatus.REJECTED, reason, message, now)

    # =============================================================== internals: events
    def _on_fill(self, event: FillEvent) -> TrackedOrder | None:
        fill = event.fill
        order = self.tracker.on_fill(fill)
        if order is None:
            if fill.client_order_id not in self.tracker.orders:
                self._alert("warning", "unknown_fill", f"fill {fill.trade_id} of an unknown order")
            return None
        now = self.clock.now_ns()  # delivery time: never earlier than what risk has seen
        self._journal_safe("fill", now, fill.trade_id, fill_to_dict(fill))
        self.lost.discard(order.client_order_id)
        self._adjust_balance(fill)
        result = self.pnl.on_fill(fill)
        if self.risk is not None:
            equity = self.equity_usdc()
            self.risk.on_fill(now, fill.client_order_id, opens_risk=fill.side is Side.BUY,
                              equity_usdc=equity)  # fmt: skip
            if result is not None:
                self.risk.on_round_trip(now, result, equity_usdc=equity)
            self._save_risk()
        self._measure_slippage(order, fill, now)
        self._verify_fok(order)
        payout = self._resolved.get(fill.asset_id)
        if payout is not None:
            # matched before the market resolved, heard of after (a stalled answer): the
            # venue already settled these shares, so do we
            self._settle(fill.asset_id, payout)
        self._changed(order)
        return order

    def _measure_slippage(self, order: TrackedOrder, fill, now: int) -> None:
        expected = order.expected_price
        if expected is None or fill.liquidity is not Liquidity.TAKER:
            return
        sign = 1.0 if fill.side is Side.BUY else -1.0
        excess = (fill.price - expected) * sign
        rec = SlippageRecord(now, fill.client_order_id, fill.asset_id, fill.side, expected,
                             fill.price, fill.size_shares, excess)  # fmt: skip
        self.slippage.append(rec)
        if excess > self.config.slippage_alert + 1e-12:
            self._excess_slippage_today += 1
            self._alert("warning", "slippage",
                        f"{fill.client_order_id} filled {excess:.4f}/share worse than expected",
                        {"expected": expected, "price": fill.price})  # fmt: skip
            limit = self.config.slippage_breaker_fills
            if limit and self._excess_slippage_today >= limit:
                self._reduce("slippage_breaker")

    def _verify_fok(self, order: TrackedOrder) -> None:
        """A FOK is all-or-nothing: a terminal FOK with a partial fill is a venue fault."""
        if order.request.order_type is not OrderType.FOK or not order.status.terminal:
            return
        filled = order.filled_shares
        if EPS_SHARES < filled < order.request.size_shares - EPS_SHARES:
            self._alert("critical", "fok_partial",
                        f"FOK {order.client_order_id} ended with {filled} of "
                        f"{order.request.size_shares} shares")  # fmt: skip

    def _on_check(self, timer: Timer | None = None) -> None:
        now = self.clock.now_ns()
        self._roll_day(now)
        halt = self.kill_switch.tripped()
        if halt and self.state is not TradingState.HALTED:
            self._halt(halt)
        if self.state is TradingState.HALTED and self._cancel_pending:
            self._cancel_everything()
        if self.risk is not None:
            try:
                self.risk.on_equity(now, self.equity_usdc())
                reason = self.risk.allow_new_risk(now)
            except Exception as exc:
                reason = "risk_check_failed"
                self._alert("critical", "risk_check_failed", repr(exc))
            if len(self.risk.events) != self._risk_events_saved:
                self._save_risk()  # a trip or reset happened: make it durable
            if reason and self.state is TradingState.ACTIVE:
                self._reduce(reason)
            elif not reason:
                self._maybe_resume(now)
        self._recheck_orders(now)
        if self._timer is not None and self._idle():
            self._timer.cancel()  # nothing to watch until the next order
            self._timer = None

    def _recheck_orders(self, now: int) -> None:
        """Lost placements: look again; after ``LOST_ORDER_WINDOW_S`` without a trace the
        order never reached the venue. Lost cancels: ask the venue for the order's state."""
        for cid in list(self.lost):
            order = self.tracker.orders[cid]
            try:
                state = self.caller.call("get_order", self.venue.get_order, cid)
            except VenueError:
                continue  # still unknown
            if state is not None:
                self._adopt(order, state)
            elif now - self._lost_since.get(cid, now) >= LOST_ORDER_WINDOW_S * NS:
                self.lost.discard(cid)
                self._set_status(order, OrderStatus.REJECTED, "never_reached_venue")
                msg = f"{cid} not at the venue after {LOST_ORDER_WINDOW_S:g} s: settled"
                self._alert("warning", "order_lost", msg)
        for cid in list(self._recheck):
            order = self.tracker.orders[cid]
            if order.status.terminal:
                del self._recheck[cid]
                continue
            try:
                state = self.caller.call("get_order", self.venue.get_order, cid)
            except VenueError:
                continue
            del self._recheck[cid]
            if state is not None:
                self.tracker.on_state(state, now)
                self._journal_safe("order_state", now, cid, state_to_dict(state))
                self._changed(order)

    def _maybe_resume(self, now: int) -> None:
        """Back to ACTIVE once the breakers that put us in REDUCING have reset."""
        if self.state is not TradingState.REDUCING or self.risk is None:
            return
        if self.state_reason in ("slippage_breaker", "journal_unavailable", "reconcile_failed"):
            return  # these are lifted by their own rules, not by the risk manager
        try:
            blocked = self.risk.allow_new_risk(now)
        except Exception:
            return  # cannot tell: stay reducing (fail closed)
        if not blocked:
            self.state, self.state_reason = TradingState.ACTIVE, ""
            self._journal_safe("trading_state", now, "ACTIVE", {"reason": "breakers reset"})

    def _roll_day(self, now: int) -> None:
        day = now // DAY_NS
        if day != self._day:
            self._day = day
            self._orders_today = 0
            self._excess_slippage_today = 0
            if self.state is TradingState.REDUCING and self.state_reason == "slippage_breaker":
                self.state, self.state_reason = TradingState.ACTIVE, ""

    def _reduce(self, reason: str) -> None:
        """A breaker tripped: only position-reducing orders from now on, and resting orders
        that would add exposure are cancelled (they could still fill after the trip)."""
        if self.state is not TradingState.ACTIVE:
            return
        now = self.clock.now_ns()
        self.state, self.state_reason = TradingState.REDUCING, reason
        self._journal_safe("trading_state", now, "REDUCING", {"reason": reason})
        detail = f" ({self.risk.fault})" if reason == "risk_check_failed" and self.risk else ""
        self._alert("critical", "breaker", f"breaker tripped: {reason}{detail}; reducing only")
        for o in self.tracker.open():
            if o.request.side is Side.BUY:
                self.cancel(o.client_order_id)

    def _halt(self, reason: str) -> None:
        if self.state is TradingState.HALTED:
            return
        now = self.clock.now_ns()
        self.state, self.state_reason = TradingState.HALTED, reason
        self.halts.append((now, reason))
        self._journal_safe("kill_switch", now, "HALTED", {"reason": reason})
        self._alert("critical", "kill_switch", f"trading halted: {reason}")
        self._cancel_pending = True
        self._cancel_everything()

    def _cancel_everything(self) -> None:
        """Cancel every open order, retried until the venue shows none (or attempts run out)."""
        for _ in range(self.config.retry.max_attempts):
            try:
                self.caller.call("cancel_all", self.venue.cancel_all)
                still = self.caller.call("open_orders", self.venue.open_orders)
            except VenueError:
                continue
            if not still:
                for o in self.tracker.open():
                    self._set_status(o, OrderStatus.CANCELED, "halted")
                self._cancel_pending = False
                return
        self._alert("critical", "cancel_unconfirmed", "open orders remain after cancel-all")

    # =============================================================== small helpers
    def _new_client_id(self) -> str:
        self._next_id += 1
        return f"{self.config.client_id_prefix}-{self._next_id:09d}"

    def _set_status(self, order: TrackedOrder, status: OrderStatus, reason: str) -> None:
        now = self.clock.now_ns()
        self.tracker.mark(order, status, reason, now)
        self._journal_safe("order_status", now, order.client_order_id,
                           {"status": status._value_, "reason": reason})  # fmt: skip
        self._verify_fok(order)
        self._changed(order)

    def _changed(self, order: TrackedOrder) -> None:
        if self.on_order_change is not None:
            self.on_order_change(order)

    def _journal_safe(self, kind: str, ts: int, key: str, payload: dict) -> None:
        """Journal a state change that has already happened at the venue: a write failure
        cannot undo it, so it halts new risk and alerts instead."""
        try:
            self.journal.append(kind, ts, key, payload)
        except JournalError as exc:
            self._alert("critical", "journal", f"journal write failed: {exc}")
            if self.state is TradingState.ACTIVE:
                self.state, self.state_reason = TradingState.REDUCING, "journal_unavailable"

    def _save_risk(self) -> None:
        if self.risk is None:
            return
        self._risk_events_saved = len(self.risk.events)
        try:
            self.journal.save_state("risk", self.risk.state(), self.clock.now_ns())
        except JournalError as exc:
            self._alert("critical", "journal", f"breaker state not saved: {exc}")

    def _alert(self, level: str, kind: str, message: str, data: dict | None = None) -> None:
        self.alerter.alert(Alert(self.clock.now_ns(), level, kind, message, data or {}))

    def _refuse(
        self, now: int, cid: str, asset_id: str, side: Side, price: float, size: float,
        reason: str, message: str,
    ) -> OrderAck:  # fmt: skip
        side = side if isinstance(side, Side) else Side.BUY  # malformed: shown as a buy
        self.refusals.append(Refusal(now, cid, shown_asset(asset_id), side,
                                     shown_number(price), shown_number(size), "executor",
                                     reason, message))  # fmt: skip
        return OrderAck(cid, None, False, OrderStatus.REJECTED, reason, message, now)

    def _refuse_req(self, now: int, req: OrderRequest, reason: str, message: str) -> OrderAck:
        return self._refuse(now, req.client_order_id, req.asset_id, req.side, req.price,
                            req.size_shares, reason, message)  # fmt: skip


def _check_sequence(items: object, item_type: type, call: str, arg: str) -> None:
    """A strategy's batch must be a list (or tuple): anything else is a programming error,
    said plainly (a str would otherwise be taken letter by letter). Malformed elements are
    refused one by one by the caller, never raised."""
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise TypeError(f"{call}: {arg} must be a list of {item_type.__name__}, "
                        f"got {type(items).__name__}")  # fmt: skip


def _retry_place(exc: BaseException) -> bool:
    """Placement is retried on transient failures; a rejection never is."""
    return isinstance(exc, VenueError) and exc.retryable


def _with_price(req: OrderRequest, price: float) -> OrderRequest:
    return OrderRequest(req.client_order_id, req.asset_id, req.side, price, req.size_shares,
                        req.order_type, req.post_only, req.expire_ns)  # fmt: skip


__all__ = ["Executor", "Refusal", "SlippageRecord"]
