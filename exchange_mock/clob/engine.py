"""``SimBook``: the Python face of the simulated CLOB for N binary markets.

It owns the arrays (state.py) and calls the kernels; it never loops over rows
itself. Assets are numbered as in the dataset's asset table: market ``i`` has
YES at ``2*i`` and NO at ``2*i+1``; token id strings are accepted too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from exchange_mock.clob import codes
from exchange_mock.clob.direct import direct
from exchange_mock.clob.ladder import to_book
from exchange_mock.clob.matching import cancel_order, submit_order
from exchange_mock.clob.orders import expire_orders, resolve_market
from exchange_mock.clob.replay import replay_rows
from exchange_mock.clob.state import (
    A_CASH,
    A_SETTLED,
    ASK,
    BID,
    C_N_ORDERS,
    C_NEXT_EXPIRY,
    MF_FEE_EXP,
    MF_FEE_RATE,
    MF_MIN_SIZE,
    MF_TICK,
    MI_CLOSED,
    MI_ROW_OUTCOME,
    NO_FILLS,
    OF_FILLED,
    OF_PRICE,
    OF_QUEUE_AHEAD,
    OF_SIZE,
    OI_CREATED_NS,
    OI_EXPIRE_NS,
    OI_MARKET,
    OI_OUTCOME,
    OI_SIDE,
    OI_STATUS,
    OI_TYPE,
    ClobArrays,
    grid_for_ticks,
)
from sim.marketdata.replay_rules import mirrored_trades
from sim.types import MarketInfo, OrderStatus, OrderType, Side

_TYPE_OF_CODE = {v: k for k, v in codes.ORDER_TYPE_CODE.items()}
_SIDES = {1: Side.BUY, -1: Side.SELL}
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What ``SimBook.submit`` answers: the order id, its status, why, and its fills."""

    order_id: int
    status: OrderStatus
    reason: int  # codes.OK or a rejection code
    fills: np.ndarray  # FILL_DTYPE records

    @property
    def accepted(self) -> bool:
        return self.reason == codes.OK

    @property
    def reason_name(self) -> str:
        return codes.REASON_NAMES[self.reason]


@dataclass(frozen=True, slots=True)
class ReplayStop:
    """Why ``apply_rows`` returned, where to resume, and the fills it produced."""

    next_row: int
    stop: int  # codes.STOP_*
    fills: np.ndarray

    @property
    def stop_name(self) -> str:
        return codes.STOP_NAMES[self.stop]


@dataclass(frozen=True, slots=True)
class OrderView:
    """A snapshot of one of our orders."""

    order_id: int
    asset: int
    side: Side
    price: float
    size: float
    filled: float
    status: OrderStatus
    order_type: OrderType
    queue_ahead: float
    created_ns: int
    expire_ns: int

    @property
    def remaining(self) -> float:
        return self.size - self.filled


class SimBook:
    """Books, our orders, positions and cash for a fixed list of binary markets."""

    def __init__(
        self,
        markets: Sequence[MarketInfo],
        *,
        cash_usdc: float = 0.0,
        queue_model: int = codes.QUEUE_CONSERVATIVE,
        queue_power: float = 2.0,
        grid: int | None = None,
        order_capacity: int = 256,
    ) -> None:
        if queue_model not in (
            codes.QUEUE_CONSERVATIVE,
            codes.QUEUE_CLAMPED,
            codes.QUEUE_PROBABILISTIC,
        ):
            raise ValueError(f"queue_model {queue_model!r} is not a codes.QUEUE_* value")
        self.markets = tuple(markets)
        self.grid = grid or grid_for_ticks([m.tick_size for m in self.markets])
        self.a = ClobArrays.allocate(
            len(self.markets),
            self.grid,
            order_capacity,
            queue_model=int(queue_model),
            queue_power=float(queue_power),
        )
        self._asset_index: dict[str, int] = {}
        for i, m in enumerate(self.markets):
            self.a.mkt_f[i, MF_TICK] = m.tick_size
            self.a.mkt_f[i, MF_MIN_SIZE] = m.min_order_size
            self.a.mkt_f[i, MF_FEE_RATE] = m.fee_rate
            self.a.mkt_f[i, MF_FEE_EXP] = m.fee_exponent
            self._asset_index[m.yes_token_id] = 2 * i
            self._asset_index[m.no_token_id] = 2 * i + 1
        self.a.acct[A_CASH] = cash_usdc
        self._assets = tuple(t for m in self.markets for t in (m.yes_token_id, m.no_token_id))
        self._checked_assets: object = None
        # the kernels a venue request calls, entered directly (direct.py: no per-call typing)
        self._submit_order = direct(submit_order)
        self._cancel_order = direct(cancel_order)
        self._expire_orders = direct(expire_orders)

    # --- settings (kept in ``self.a``, which passes them to the kernels) ---------
    @property
    def queue_model(self) -> int:
        return self.a.queue_model

    @queue_model.setter
    def queue_model(self, model: int) -> None:
        self.a.queue_model = int(model)

    @property
    def queue_power(self) -> float:
        return self.a.queue_power

    @queue_power.setter
    def queue_power(self, power: float) -> None:
        self.a.queue_power = float(power)

    # --- lookups -----------------------------------------------------------
    def asset(self, asset: int | str) -> int:
        """The asset index of a token id (or an index, checked)."""
        if isinstance(asset, str):
            return self._asset_index[asset]
        a = int(asset)
        if not 0 <= a < 2 * len(self.markets):
            raise KeyError(f"asset index {a} out of range")
        return a

    def set_row_outcome(self, market: int, outcome: int) -> None:
        """Build market ``market``'s book from YES rows (0, default) or NO rows (1)."""
        self.a.mkt_i[market, MI_ROW_OUTCOME] = outcome

    # --- market data ---------------------------------------------------------
    def apply_rows(
        self,
        ev: object,
        start: int = 0,
        *,
        max_rows: int | None = None,
        until_ns: int | None = None,
        skip: np.ndarray | None = None,
    ) -> ReplayStop:
        """Apply rows from ``start`` until something happens to us or a limit.

        ``ev`` is ``EventColumns``-like (``ts_exchange_ns, asset, kind, side,
        price, size`` arrays, asset indices as in this book). ``skip`` marks
        rows not to apply (``DayBatch.venue_skip``: mirrored prints); by
        default the mirrors are found here (``replay_rules.mirrored_trades``).
        Stops after a row that fills one of our orders or resolves a market,
        before a row at which a GTD order has expired, before a row later
        than ``until_ns``, or after ``max_rows`` rows.
        """
        self.check_assets(ev)
        n = len(ev.ts_exchange_ns)
        end = n if max_rows is None else min(n, start + max_rows)
        if skip is None:
            skip = mirrored_trades(ev)
        next_row, stop = self.replay(
            ev, start, end, _INT64_MAX if until_ns is None else int(until_ns), skip
        )
        return ReplayStop(next_row, stop, self.a.drain_fills())

    def check_assets(self, ev: object) -> None:
        """Refuse an event batch whose asset table is not this book's (checked once per
        table object)."""
        assets = getattr(ev, "assets", None)
        if assets is not None and assets is not self._checked_assets:
            if tuple(assets) != self._assets:
                raise ValueError("event asset table differs from this book's markets")
            self._checked_assets = assets  # the same table object is not compared again

    def replay(self, ev, start: int, end: int, until_ns: int, skip: np.ndarray) -> tuple[int, int]:
        """The hot path under ``apply_rows`` for callers that checked ``ev`` once
        (``check_assets``) and drain fills themselves, only after a ``STOP_FILL``:
        returns (next row, STOP_* code). ``skip`` as in ``apply_rows`` (required)."""
        next_row, stop = replay_rows(
            ev.ts_exchange_ns, ev.asset, ev.kind, ev.side, ev.price, ev.size, skip,
            start, end, until_ns, self.a.st,
        )  # fmt: skip
        return next_row, stop

    def advance_to(self, now_ns: int) -> int:
        """Expire GTD orders due at ``now_ns`` (no rows needed); return how many."""
        a = self.a
        if a.ctr[C_NEXT_EXPIRY] > now_ns:
            return 0  # no GTD order is due: skip the kernel call
        return self._expire_orders(a.st, now_ns)

    def order_status_code(self, order_id: int) -> int:
        """The kernel's status code of an order (``codes.S_*``), without building a view."""
        return int(self.a.oi[order_id, OI_STATUS])

    def order_filled(self, order_id: int) -> float:
        return float(self.a.of[order_id, OF_FILLED])

    def resolve(self, market: int, yes_payout: float) -> float:
        """Resolve a market: cancel its orders, settle positions; return USDC paid."""
        return resolve_market(self.a.st, int(market), float(yes_payout))

    # --- our orders ------------------------------------------------------------
    def submit(
        self,
        asset: int | str,
        side: Side | int,
        price: float,
        size: float,
        order_type: OrderType = OrderType.GTC,
        *,
        post_only: bool = False,
        expire_ns: int = 0,
        now_ns: int = 0,
    ) -> SubmitResult:
        """Place an order at ``now_ns``; marketable parts fill now as taker."""
        ai = self._asset_index[asset] if isinstance(asset, str) else self.asset(asset)
        if order_type is OrderType.GTC:  # the common case, without hashing an enum
            type_code = codes.T_GTC
        else:
            type_code = codes.ORDER_TYPE_CODE[OrderType(order_type)]
        # the direct entry converts side, price, ... as int(), float() and bool() would
        a = self.a
        oid, reason, status, n_fills = self._submit_order(
            a.st, ai >> 1, ai & 1, side, price, size, type_code, post_only, expire_ns, now_ns
        )
        if oid < 0:  # the order table is full: grow it (the fill table with it), place again
            a.ensure_order_capacity(a.oi.shape[0] + 1)
            oid, reason, status, n_fills = self._submit_order(
                a.st, ai >> 1, ai & 1, side, price, size, type_code, post_only, expire_ns, now_ns
            )
        return SubmitResult(
            oid, codes.STATUS[status], reason, a.drain_fills() if n_fills else NO_FILLS
        )

    def cancel(self, order_id: int) -> bool:
        """Cancel a resting order; False if it was not resting."""
        return self._cancel_order(self.a.st, order_id)

    def order(self, order_id: int) -> OrderView:
        a = self.a
        if not 0 <= order_id < int(a.ctr[C_N_ORDERS]):
            raise KeyError(f"unknown order id {order_id}")
        asset, side, price, size, filled, status, otype, created = self.order_fields(order_id)
        return OrderView(
            order_id=int(order_id), asset=asset, side=side, price=price, size=size,
            filled=filled, status=status, order_type=otype,
            queue_ahead=float(a.of[order_id, OF_QUEUE_AHEAD]), created_ns=created,
            expire_ns=int(a.oi[order_id, OI_EXPIRE_NS]),
        )  # fmt: skip

    def order_fields(self, order_id: int) -> tuple:
        """(asset, side, price, size, filled, status, order type, created_ns) of an order,
        read straight from the tables (no bounds check: for ids this book handed out)."""
        oi, of = self.a.oi[order_id], self.a.of[order_id]
        return (
            2 * int(oi[OI_MARKET]) + int(oi[OI_OUTCOME]),
            _SIDES[int(oi[OI_SIDE])],
            float(of[OF_PRICE]),
            float(of[OF_SIZE]),
            float(of[OF_FILLED]),
            codes.STATUS[int(oi[OI_STATUS])],
            _TYPE_OF_CODE[int(oi[OI_TYPE])],
            int(oi[OI_CREATED_NS]),
        )

    @property
    def n_orders(self) -> int:
        return int(self.a.ctr[C_N_ORDERS])

    # --- book views (in the asset's own price terms) ---------------------------
    def best_bid(self, asset: int | str) -> float | None:
        ai = self.asset(asset)
        m, g = ai >> 1, self.grid
        if ai & 1 == 0:
            s = int(self.a.best[m, BID])
            return s / g if s >= 0 else None
        s = int(self.a.best[m, ASK])  # a NO bid at q is a YES ask at 1-q
        return (g - s) / g if s <= g else None

    def best_ask(self, asset: int | str) -> float | None:
        ai = self.asset(asset)
        m, g = ai >> 1, self.grid
        if ai & 1 == 0:
            s = int(self.a.best[m, ASK])
            return s / g if s <= g else None
        s = int(self.a.best[m, BID])
        return (g - s) / g if s >= 0 else None

    def depth(self, asset: int | str, side: Side | int, price: float) -> float:
        """Displayed shares at ``price`` on ``side`` of the asset's book."""
        ai = self.asset(asset)
        bs, slot = to_book(ai & 1, int(side), float(price), self.grid)
        return float(self.a.ladder[ai >> 1, bs, slot])

    def tick_size(self, market: int) -> float:
        return float(self.a.mkt_f[market, MF_TICK])

    def closed(self, market: int) -> bool:
        return bool(self.a.mkt_i[market, MI_CLOSED])

    # --- account -------------------------------------------------------------
    @property
    def cash_usdc(self) -> float:
        return float(self.a.acct[A_CASH])

    @property
    def settled_usdc(self) -> float:
        return float(self.a.acct[A_SETTLED])

    def reverse_fill(self, asset: int | str, side: int, price: float, shares: float,
                     fee_usdc: float, fee_shares: float) -> None:  # fmt: skip
        """Undo one fill's cash and position (a trade that failed settlement on chain)."""
        ai = self.asset(asset)
        if side > 0:
            cash_delta, pos_delta = -shares * price, shares - fee_shares
        else:
            cash_delta, pos_delta = shares * price - fee_usdc, -shares
        self.a.acct[A_CASH] -= cash_delta
        self.a.pos[ai >> 1, ai & 1] -= pos_delta

    def restore_account(self, cash_usdc: float, positions: dict[str, float]) -> None:
        """Set the account as a journal says it was (a paper run resuming: its simulated
        venue died with the process, the account did not). Assets not named hold 0."""
        self.a.acct[A_CASH] = cash_usdc
        self.a.pos[:] = 0.0
        for asset, shares in positions.items():
            ai = self.asset(asset)
            self.a.pos[ai >> 1, ai & 1] = shares

    def position(self, asset: int | str) -> float:
        ai = self.asset(asset)
        return float(self.a.pos[ai >> 1, ai & 1])
