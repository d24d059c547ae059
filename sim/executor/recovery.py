"""Restart: rebuild the executor from its journal, then make it agree with the venue.

``recover`` replays every record (orders, acks, states, fills, fills the venue
reversed, resolutions, trading-state transitions), restores the risk manager's saved state and the
day's order count, then ``reconcile``s: fills we never heard of are applied,
orders the venue holds that we never journaled are cancelled, and every order
we think open (or lost) takes the venue's state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.balance import BalanceCache
from sim.executor.calls import VenueCaller
from sim.executor.codec import fill_from_dict, fill_to_dict, request_from_dict, state_to_dict
from sim.executor.counters import DAY_NS, ClientIds, DayCounters
from sim.executor.fills import undo_fill
from sim.executor.orderlog import OrderLog
from sim.executor.pnl import PnlLedger
from sim.executor.tracker import OrderTracker
from sim.executor.trading_state import RECONCILE_FAILED, TradingState, TradingStateMachine
from sim.journal import Journal, JournalRecord
from sim.types import OrderStatus
from sim.venue import Venue, VenueError


class Recovery:
    __slots__ = ("_alarm", "_caller", "_clock", "_day", "_funds", "_ids", "_journal", "_log",
                 "_lost", "_pnl", "_resolved", "_risk", "_state", "_tracker",
                 "_venue")  # fmt: skip

    def __init__(
        self, clock: Clock, venue: Venue, caller: VenueCaller, journal: Journal,
        tracker: OrderTracker, pnl: PnlLedger, state: TradingStateMachine, log: OrderLog,
        funds: BalanceCache, ids: ClientIds, day: DayCounters, lost: set[str],
        resolved: dict[str, float], risk: object | None, alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._venue = venue
        self._caller = caller
        self._journal = journal
        self._tracker = tracker
        self._pnl = pnl
        self._state = state
        self._log = log
        self._funds = funds
        self._ids = ids
        self._day = day
        self._lost = lost  # the placer's: orders whose placement outcome is unknown
        self._resolved = resolved  # the fill handler's: payout per resolved asset
        self._risk = risk
        self._alarm = alarm

    def recover(self, prepare: Callable[[], None] | None = None) -> list[str]:
        """See ``Executor.recover``."""
        report: list[str] = []
        n_records = 0
        for rec in self._journal.records():
            n_records += 1
            self._replay(rec)
        if self._risk is not None:
            saved = self._journal.load_state("risk")
            if saved is not None:
                self._risk.restore(saved)
        today = self._clock.now_ns() // DAY_NS
        self._day.day = today
        self._day.orders = sum(
            1 for r in self._journal.records(kinds=["order_new"]) if r.ts_ns // DAY_NS == today
        )  # the daily order cap must not reset with the process
        if n_records:
            t = self._tracker
            report.append(
                f"journal: {n_records} records replayed, {len(t.orders)} orders, "
                f"{len(t.fills)} fills"
            )
        if prepare is not None:  # the journal is replayed; the venue is asked next
            prepare()
        report += self.reconcile()
        return report

    def _replay(self, rec: JournalRecord) -> None:
        p, kind, tracker = rec.payload, rec.kind, self._tracker
        if kind == "order_new":
            req = request_from_dict(p)
            if req.client_order_id not in tracker.orders:
                order = tracker.add(req, rec.ts_ns, None)
                order.venue_order_id = p.get("venue_order_id") or ""  # journals before ids
            self._ids.observe(req.client_order_id)
        elif kind in ("order_ack", "order_state", "order_status"):
            order = tracker.orders.get(rec.key)
            if order is not None:
                if p.get("venue_order_id"):
                    order.venue_order_id = p["venue_order_id"]
                status = OrderStatus(p["status"])
                if kind == "order_ack":
                    order.status = tracker.status_after(order, status)
                elif not order.status.terminal or status.terminal:
                    order.status = status
                tracker.sync(order)
        elif kind == "fill":
            fill = fill_from_dict(p)
            if tracker.on_fill(fill) is not None:
                self._pnl.on_fill(fill)
                if fill.asset_id in self._resolved:  # a late fill, settled as it was live
                    tracker.settle(fill.asset_id, self._resolved[fill.asset_id])
                    self._pnl.settle(fill.asset_id, self._resolved[fill.asset_id])
        elif kind == "fill_reversed":  # an UNKNOWN order it leaves is asked by reconcile
            undo_fill(tracker, self._pnl, self._resolved, rec.key)
        elif kind == "resolved":
            for asset in p.get("assets", ()):
                payout = 1.0 if asset == p.get("winner") else 0.0
                self._resolved[asset] = payout
                tracker.settle(asset, payout)
                self._pnl.settle(asset, payout)
        else:
            self._state.replay(kind, rec.key, p)  # trading-state transitions; others ignored

    def reconcile(self) -> list[str]:
        """See ``Executor.reconcile``."""
        report: list[str] = []
        tracker, caller, venue = self._tracker, self._caller, self._venue
        now_ns = self._clock.now_ns
        try:
            venue_open = {s.client_order_id: s for s in
                          caller.call("open_orders", venue.open_orders)}  # fmt: skip
            since = min((o.submitted_ns for o in tracker.orders.values()), default=0)
            venue_fills = caller.call("fills", venue.fills, since)
        except VenueError as exc:
            self._alarm("critical", "reconcile", f"cannot reconcile with the venue: {exc}")
            # no new risk until a reconcile succeeds (a halt stays a halt)
            self._state.transition(TradingState.REDUCING, RECONCILE_FAILED, now_ns())
            return [f"reconcile failed: {exc}"]
        for fill in venue_fills:
            if fill.client_order_id in tracker.orders:
                order = tracker.on_fill(fill)
                if order is not None:
                    self._pnl.on_fill(fill)
                    self._log.journal_safe("fill", now_ns(), fill.trade_id, fill_to_dict(fill))
                    report.append(f"fill {fill.trade_id} of {fill.client_order_id} recovered")
        for cid in venue_open:
            if cid not in tracker.orders:
                report.append(f"venue has open order {cid} we never journaled: cancelling")
                with contextlib.suppress(VenueError):
                    caller.call("cancel", venue.cancel, cid)
        todo = {o.client_order_id: o for o in tracker.open()}  # a lost order is open too:
        todo.update((c, tracker.orders[c]) for c in self._lost if c in tracker.orders)  # once
        for order in list(todo.values()):
            cid = order.client_order_id
            if cid in venue_open:
                before = order.status
                tracker.on_state(venue_open[cid], now_ns())
                if order.status is not before:  # e.g. an order in doubt found resting
                    self._log.journal_safe("order_state", now_ns(), cid,
                                           state_to_dict(venue_open[cid]))  # fmt: skip
                    self._log.changed(order)
                self._lost.discard(cid)
                continue
            try:
                state = caller.call("get_order", venue.get_order, cid)
            except VenueError:
                self._lost.add(cid)
                report.append(f"order {cid}: venue did not answer, kept as lost")
                continue
            if state is None:
                self._log.set_status(order, OrderStatus.REJECTED, "never_reached_venue")
                report.append(f"order {cid} never reached the venue: marked rejected")
            else:
                before = order.status
                tracker.on_state(state, now_ns())
                self._log.journal_safe("order_state", now_ns(), cid, state_to_dict(state))
                if order.status is not before:
                    report.append(f"order {cid}: {before.value} -> {order.status.value}")
            self._lost.discard(cid)
        self._funds.dirty = True
        b = self._funds.now()
        if b is not None and abs(b.total_usdc - tracker.cash_usdc) > 0.01:
            report.append(f"balance: venue {b.total_usdc:.4f} vs ours "
                          f"{tracker.cash_usdc:.4f} USDC")  # fmt: skip
        state = self._state
        if state.state is TradingState.REDUCING and state.reason == RECONCILE_FAILED:
            state.transition(TradingState.ACTIVE, "reconciled", now_ns())  # its own rule
        for line in report:
            self._alarm("warning", "reconcile", line)
        return report
