"""``MatchingVenue``: the simulated Polymarket CLOB behind the ``Venue`` protocol.

Orders, matching, fills, order states, balances, latency and fault effects
over an exchange-side book (``clob.SimBook``) that rows are fed into. It does
not know where the rows come from; three drivers feed it:

* the replay driver (``exchange_mock.replay_driver``) walks recorded days and
  feeds rows at their exchange timestamps, up to each moment the engine or a
  venue call needs (``RowSource.catch_up``);
* a live feed pushes rows as they arrive (``apply_rows`` with no time limit;
  paper mode);
* the loopback server's request handlers call the same ``place``/``cancel``.

Venue calls are synchronous round trips in the clock's time: an order reaches
the exchange after the entry latency (the row source first brings the book
there), is matched, and the answer returns after the acknowledgement latency.
Waiting is ``Clock.sleep_until`` (a ``SimClock`` jumps, a ``WallClock``
waits). A round trip longer than the caller's deadline raises
``VenueTimeout`` at the deadline, and the order still exists: exactly the
ambiguity live trading has.

What the exchange tells us later (fills of resting orders, order updates,
cancellations) waits in a delivery queue ordered by delivery time; the driver
hands it to the engine (``next_delivery_ns``, ``pop_deliveries``).

Faults (``exchange_mock.faults``) act through the one ``FaultHook`` passed in:
its decision per call is data (``fault_hook.CallFault``: a delay, a refusal
before acting, an answer lost after acting, moves of the exchange book before
matching, a zero balance, a skewed clock) that this venue applies in-process,
as the loopback server applies it on the wire. With no hook, none of this is
looked at. Funds are enforced as Polymarket enforces them
(``venue_funds``): an order the account cannot pay for never reaches the book
and is answered ``not enough balance / allowance``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from exchange_mock.clob import codes
from exchange_mock.clob.engine import SimBook
from exchange_mock.clob.state import OF_FILLED, OI_STATUS
from exchange_mock.fault_hook import BookMove, CallFault, FaultHook, shift_ts, venue_error
from exchange_mock.faults.book_moves import move_against, restore
from exchange_mock.latency import ConstantLatency, LatencyModel
from exchange_mock.venue_funds import NOT_ENOUGH_BALANCE, NOT_ENOUGH_BALANCE_MESSAGE, VenueFunds
from sim.clock import Clock
from sim.errors import ConfigError
from sim.events import FillEvent, OrderUpdate, VenueEvent
from sim.marketdata.replay_rules import mirrored_trades as _mirrored
from sim.marketdata.schema import K_LEVEL, K_RESET, K_SNAP
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

_STOP_END, _STOP_TIME, _STOP_EXPIRED = codes.STOP_END, codes.STOP_TIME, codes.STOP_EXPIRED
_SIDES = {1: Side.BUY, -1: Side.SELL}
_TAKER, _MAKER = Liquidity.TAKER, Liquidity.MAKER
_NO_LIMIT = np.iinfo(np.int64).max


class RowSource(Protocol):
    """What feeds a matching venue its rows."""

    def catch_up(self, t_ns: int) -> int:
        """Apply every row due at or before ``t_ns`` (``MatchingVenue.apply_rows``);
        return ``t_ns``, lowered to the first delivery the rows produced."""
        ...


class _PushedRows:
    """The row source of a venue fed by pushes (``apply_rows`` as rows arrive): every
    row it has is already applied, so catching up only expires GTD orders due by then."""

    def __init__(self, venue: MatchingVenue) -> None:
        self._venue = venue

    def catch_up(self, t_ns: int) -> int:
        return self._venue.expire_until(t_ns)


class MatchingVenue:
    """Simulated matching over ``markets`` (the book's market list; asset ``2*i`` is market
    ``i``'s YES token, ``2*i+1`` its NO token), as one ``Venue``.

    ``cash_usdc`` is the account's collateral. ``allowance_usdc`` is what the exchange
    is approved to spend of it: None (the default) is an unlimited approval, as the
    usual setup leaves it; a number is a finite approval, which BUY fills use up as the
    ERC-20 ``transferFrom`` would (``approve`` sets it again). A BUY beyond ``min(cash,
    allowance)`` less our open BUYs' reservations, or a SELL beyond the shares held less
    our open SELLs of that token, is refused ``not_enough_balance`` and leaves no trace.
    ``selected`` is what ``markets()`` reports (default: all).
    """

    name = "sim"

    def __init__(
        self,
        markets: Sequence[MarketInfo],
        *,
        clock: Clock,
        cash_usdc: float,
        grid: int | None = None,
        selected: Sequence[MarketInfo] | None = None,
        entry_latency: LatencyModel | None = None,
        ack_latency: LatencyModel | None = None,
        queue_model: int = codes.QUEUE_CONSERVATIVE,
        queue_power: float = 2.0,
        seed: int = 0,
        fault_hook: FaultHook | None = None,
        allowance_usdc: float | None = None,
    ) -> None:
        self.clock = clock
        self.clob = SimBook(markets, cash_usdc=cash_usdc, queue_model=queue_model,
                            queue_power=queue_power, grid=grid)  # fmt: skip
        self.assets = tuple(t for m in self.clob.markets for t in (m.yes_token_id, m.no_token_id))
        self._selected = list(markets if selected is None else selected)
        self._entry = entry_latency or ConstantLatency(0.0)
        self._ack = ack_latency or ConstantLatency(0.0)
        self._rng = np.random.default_rng(seed)
        self._hook = self.fault_hook = fault_hook
        plan = getattr(fault_hook, "plan", None)
        if plan is not None and any(s.kind == "trade_fail" for s in plan.specs):
            raise ConfigError("faults", "trade_fail acts on on-chain settlement, which only "
                                        "the loopback server simulates (clobsim serve-mock); "
                                        "a backtest has no settlement step")  # fmt: skip
        self._source: RowSource = _PushedRows(self)
        self._book_source_set = np.zeros(len(self.clob.markets), dtype=bool)
        self._pending: list[tuple[int, int, VenueEvent]] = []
        self._seq = itertools.count()
        self._cid_of_oid: dict[int, str] = {}
        self._oid_of_cid: dict[str, int] = {}
        self._vid_of_oid: dict[int, str] = {}
        self._open: dict[int, tuple[int, float]] = {}  # oid -> (status code, filled)
        self.funds = VenueFunds(self.clob, self._open, allowance_usdc)
        self._fills: list[Fill] = []
        self._trade_no = 0
        #: calls per kind (``place``, ``cancel_many``, ...), faulted ones included
        self.calls: dict[str, int] = {}

    def attach(self, source: RowSource) -> None:
        """Have ``source`` bring the exchange book up to each call's arrival (the replay
        driver does; by default rows are pushed and nothing is pending)."""
        self._source = source

    # ------------------------------------------------------------------ rows in
    def apply_rows(self, ev, start: int, end: int, until_ns: int = _NO_LIMIT,
                   skip: np.ndarray | None = None) -> tuple[int, int]:  # fmt: skip
        """Apply exchange rows ``start:end`` of ``ev`` (``EventColumns``, asset indices as in
        this venue) whose exchange time is at most ``until_ns``, emitting the fills, order
        updates and expiries they cause. Returns ``(next_row, t)``: ``next_row == end`` when
        every row was applied (``t`` is then ``until_ns`` as lowered so far), else ``t`` is
        ``until_ns`` lowered to the first delivery now waiting. ``skip`` marks rows not to
        apply (``DayBatch.venue_skip``); by default mirrored prints are found here."""
        clob = self.clob
        if skip is None:
            clob.check_assets(ev)
            skip = _mirrored(ev)
        ts = ev.ts_exchange_ns
        row, t_ns = start, until_ns
        while True:
            if row < end and ts[row] > t_ns:
                # no row due yet: skip the kernel call (the common case between quotes)
                return row, self.expire_until(t_ns)
            row, stop = clob.replay(ev, row, end, t_ns, skip)
            if stop == _STOP_END:
                return row, t_ns
            if stop == _STOP_TIME:
                return row, self.expire_until(t_ns)
            # a fill, an expiry or a resolution at the row just applied
            t_row = int(ts[max(row - 1, 0)])
            if stop == _STOP_EXPIRED:
                t_row = int(ts[row])
                clob.advance_to(t_row)
            self._emit_fills(clob.a.drain_fills(), t_row)
            self._check_orders(t_row)
            if self._pending and self._pending[0][0] < t_ns:
                t_ns = self._pending[0][0]

    def choose_book_source(self, ev, start: int = 0, end: int | None = None) -> None:
        """The matching book of a market is built from its YES token's book rows; from its
        NO token's (mirrored) when rows ``start:end`` of ``ev`` hold book rows for its NO
        token only. Decided once per market, on the first rows given with book rows for it
        (a day for the replay driver, a message for a live feed)."""
        kind, asset = ev.kind[start:end], ev.asset[start:end]
        book = (kind == K_RESET) | (kind == K_SNAP) | (kind == K_LEVEL)
        counts = np.bincount(asset[book & (asset >= 0)], minlength=len(self.assets))
        yes, no = counts[0::2], counts[1::2]
        seen = ((yes + no) > 0) & ~self._book_source_set
        for m in np.flatnonzero(seen & (yes == 0)).tolist():
            self.clob.set_row_outcome(m, 1)
        self._book_source_set |= seen

    def expire_until(self, t_ns: int) -> int:
        """Expire GTD orders due by ``t_ns`` (no rows needed); return ``t_ns`` lowered to
        the first delivery waiting."""
        if self.clob.advance_to(t_ns):
            self._check_orders(t_ns)
        return t_ns if not self._pending else min(t_ns, self._pending[0][0])

    def next_delivery_ns(self) -> int | None:
        """When the first waiting event is delivered (None: nothing waits)."""
        return self._pending[0][0] if self._pending else None

    def pop_deliveries(self, up_to_ns: int) -> list[VenueEvent]:
        """The waiting events delivered at or before ``up_to_ns``, in delivery order."""
        out: list[VenueEvent] = []
        pending = self._pending
        while pending and pending[0][0] <= up_to_ns:
            out.append(heapq.heappop(pending)[2])
        return out

    # ------------------------------------------------------------------ what we are told later
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
                venue_order_id=self._vid_of_oid[oid],
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

    # ------------------------------------------------------------------ Venue calls
    def markets(self) -> list[MarketInfo]:
        return list(self._selected)

    def order_id(self, order: OrderRequest) -> str:
        """The venue's id of ``order``, known before it is sent: ``0x`` and the SHA-256 of
        its client order id (Polymarket's is the hash of the signed order; a re-sent order
        has the same id, and is refused as a duplicate, in both)."""
        return "0x" + hashlib.sha256(order.client_order_id.encode()).hexdigest()

    def _round_trip(self, call: str, deadline_s: float, fault_call: str = ""):
        """Start a call: returns (now_ns, arrival_ns, response_ns, fault) in the clock's time.

        ``fault_call`` is the kind the fault hook sees (a batch placement is hit by the
        faults planned for ``place``: one request, one fault). A refusal is raised here,
        before the venue acts."""
        self.calls[call] = self.calls.get(call, 0) + 1
        now = self.clock.now_ns()
        hook = self._hook
        fault = hook.on_call(fault_call or call, now) if hook is not None else None
        if fault is not None and fault.refuse:
            raise venue_error(fault, call)
        arrival = now + self._entry.sample_ns(self._rng)
        response = arrival + self._ack.sample_ns(self._rng)
        if fault is not None:
            response += fault.delay_ns
        return now, arrival, response, fault

    def _finish(self, call: str, now: int, response: int, deadline_s: float,
                fault: CallFault | None) -> None:  # fmt: skip
        """Wait for the answer, or until the deadline and raise a timeout; a dropped answer
        raises once the venue acted."""
        deadline = now + int(deadline_s * 1e9 + 0.5)
        if response > deadline:
            self.clock.sleep_until(deadline)
            raise VenueTimeout(f"{call}: no answer within {deadline_s:g} s", call=call)
        self.clock.sleep_until(response)
        if fault is not None and fault.act_then_drop:
            raise venue_error(fault, call)

    @staticmethod
    def _answer(fault: CallFault | None, value):
        """The call's answer as the caller sees it (a zero balance, a skewed venue clock)."""
        if fault is None:
            return value
        if fault.zero_balance and isinstance(value, Balance):
            value = Balance(0.0, 0.0, value.as_of_ns)
        if fault.skew_ns:
            value = shift_ts(value, fault.skew_ns)
        return value

    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck:
        now, arrival, response, fault = self._round_trip("place", deadline_s)
        self._source.catch_up(arrival)
        moves = list(fault.book_moves) if fault is not None else None
        ack = self._match(order, arrival, response, moves)
        self._finish("place", now, response, deadline_s, fault)
        return self._answer(fault, ack)

    def place_many(self, orders: Sequence[OrderRequest], *, deadline_s: float) -> list[OrderAck]:
        """``POST /orders``: the orders reach the exchange together, one after another, and
        are answered together. More than ``MAX_BATCH_ORDERS`` is refused whole, as the
        venue does."""
        if len(orders) > MAX_BATCH_ORDERS:
            raise VenueRejected(f"a batch holds at most {MAX_BATCH_ORDERS} orders, got "
                                f"{len(orders)}", reason="batch_too_large",
                                call="place_many")  # fmt: skip
        now, arrival, response, fault = self._round_trip("place_many", deadline_s, "place")
        self._source.catch_up(arrival)
        moves = list(fault.book_moves) if fault is not None else None  # one request, one fault
        acks = [self._match(o, arrival, response, moves) for o in orders]
        self._finish("place_many", now, response, deadline_s, fault)
        return self._answer(fault, acks)

    def _move_book(self, order: OrderRequest, arrival: int, moves: list[BookMove]) -> list:
        """Apply the decided book moves that act on ``order`` (each acts on one order of a
        request: those that did are removed from ``moves``); returns what they hid."""
        hidden_all: list = []
        for move in list(moves):
            hidden = move_against(self.clob, order, slippage_ticks=move.slippage_ticks,
                                  fill_fraction=move.fill_fraction)  # fmt: skip
            if not hidden:
                continue  # not marketable: nothing happened (an at_s spec stays armed)
            moves.remove(move)
            hidden_all.append(hidden)
            self._hook.book_moved(move, "place", order.client_order_id, arrival,
                                  sum(h[3] for h in hidden))  # fmt: skip
        return hidden_all

    def _match(self, order: OrderRequest, arrival: int, response: int,
               moves: list[BookMove] | None) -> OrderAck:  # fmt: skip
        """One order at the exchange at ``arrival`` (the book already moved there)."""
        cid = order.client_order_id
        if cid in self._oid_of_cid:  # first: a re-sent order that landed is a duplicate,
            # even though its own reservation now leaves too little for it
            return OrderAck(cid, None, False, OrderStatus.REJECTED, "duplicated",
                            "order is invalid. Duplicated.", response)  # fmt: skip
        if not self.funds.funded(order):  # never reaches the book: no id, no trace
            return OrderAck(cid, None, False, OrderStatus.REJECTED, NOT_ENOUGH_BALANCE,
                            NOT_ENOUGH_BALANCE_MESSAGE, response)  # fmt: skip
        hidden = self._move_book(order, arrival, moves) if moves else ()
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
        if hidden and res.status.terminal:
            # nothing rests at the limit: the competition was momentary, the book comes back
            for h in reversed(hidden):
                restore(self.clob, h)
        oid = res.order_id
        if oid >= 0:
            self._cid_of_oid[oid] = cid
            self._oid_of_cid[cid] = oid
            self._vid_of_oid[oid] = self.order_id(order)
        if not res.accepted:
            return OrderAck(cid, None, False, OrderStatus.REJECTED, res.reason_name,
                            codes.reason_message(res.reason), response)  # fmt: skip
        if not res.status.terminal:
            a = self.clob.a
            self._open[oid] = (int(a.oi[oid, OI_STATUS]), float(a.of[oid, OF_FILLED]))
        self._emit_fills(res.fills, arrival, deliver_ns=response)
        return OrderAck(cid, self._vid_of_oid[oid], True, res.status, ts_ns=response)

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
        self._source.catch_up(arrival)
        gone: list[int] = []
        ack = self._cancel_one(client_order_id, gone)
        self._announce(gone, arrival)
        self._finish("cancel", now, response, deadline_s, effect)
        return self._answer(effect, ack)

    def cancel_many(self, client_order_ids: Sequence[str], *, deadline_s: float) -> list[CancelAck]:
        """``DELETE /orders``: one request, one answer per id (the fault hook sees a
        ``cancel``)."""
        now, arrival, response, effect = self._round_trip("cancel_many", deadline_s, "cancel")
        self._source.catch_up(arrival)
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
            return CancelAck(client_order_id, self._vid_of_oid[oid], False,
                             "order can't be found - already canceled or matched")  # fmt: skip
        self._open.pop(oid, None)
        gone.append(oid)
        return CancelAck(client_order_id, self._vid_of_oid[oid], True)

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
        self._source.catch_up(arrival)
        acks = []
        for oid in list(self._open):
            if self.clob.cancel(oid):
                self._cancelled(oid, arrival)
                del self._open[oid]
                acks.append(CancelAck(self._cid_of_oid[oid], self._vid_of_oid[oid], True))
        self._finish("cancel_all", now, response, deadline_s, effect)
        return self._answer(effect, acks)

    def _state(self, oid: int) -> OrderState:
        """Order ``oid`` as the venue reports it."""
        asset, side, price, size, filled, status, otype, created = self.clob.order_fields(oid)
        return OrderState(self._cid_of_oid[oid], self._vid_of_oid[oid], self.assets[asset],
                          side, price, size, filled, status, otype, created)  # fmt: skip

    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        now, _, response, effect = self._round_trip("get_order", deadline_s)
        self._finish("get_order", now, response, deadline_s, effect)
        oid = self._oid_of_cid.get(client_order_id)
        state = None if oid is None else self._state(oid)
        if state is not None and state.status is OrderStatus.REJECTED:
            state = None  # refused at entry (a 400, an FOK killed): the exchange has no order
        return self._answer(effect, state)

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
