"""Run the same rows and the same orders through clobsim and hftbacktest 2.4.4; list the fills.

Used by ``test_crosscheck_hftbacktest.py``. Both engines see one market's YES book
(tick 0.01) from the same clobsim rows; hftbacktest gets them through
``benchmarks.hftb.to_hftbacktest`` (one event per row).

Time. Row ``i`` is at ``T0 + i * MS`` (``retime`` spreads a recorded stream that way), so a
fill's timestamp names the row that caused it in both engines. An order planned
``after_row=r`` is submitted at ``T0 + r * MS + MS // 2``: after row ``r``, before row ``r + 1``,
so neither engine has to decide whether a row at the submit time comes first.

hftbacktest side. Zero order latency each way (``constant_order_latency(0, 0)`` works in
2.4.4: an order reaches the exchange at the submit time, before any later row), the
``ROIVectorMarketDepthBacktest``, and the strategy is plain Python calling the jitclass
(numba compiles each method on first use, once per process). It steps to just after every
row and to every submit time, and reads our orders' local copies: a drop of ``leaves_qty``
since the previous step is a fill, at ``exec_price_tick``, at ``exch_timestamp``.

What hftbacktest 2.4.4 lets us see, and the defects worked around here:

* The local copy of an order keeps only its *last* execution (``exec_qty``,
  ``exec_price_tick``): a taker order that walks several levels in one step reports the last
  level only; ``HFill.last_size`` tells such a step apart (it is smaller than ``size``).
* Local position/balance apply only ``FILLED`` responses and only their last ``exec_qty``
  (upstream #316), so fills are read from ``leaves_qty``, never from ``position``.
* ``partial_fill_exchange``: a queue fill that exactly exhausts an order leaves a filled
  "zombie" in the exchange, and the next trade at that price aborts the run with error 14
  ``InvalidOrderStatus`` (upstream #301/#312). ``purge_filled=True`` cancels every order as
  soon as it is seen filled, which removes the zombie first. The cancel of an order that is
  already gone is answered "rejected" with the local copy echoed back, and the local state
  applies that echo's last execution a second time: runs that read ``position``, ``balance``
  or ``fee`` pass ``purge_filled=False`` (and must not trade at a zombie's price again).
* ``BacktestAsset.data(array)`` keeps only a raw pointer: the event array lives in the
  ``HftbResult`` until the backtest is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from benchmarks.stream import START_NS, bench_assets, bench_market
from exchange_mock.clob import SimBook, codes
from sim.marketdata import EventColumns, EventKind
from sim.types import MarketInfo, OrderType, Side

T0 = START_NS
MS = 1_000_000
TICK = 0.01
#: hftbacktest's lot: Polymarket sizes carry two decimals. Its queue models round
#: ``-front / lot`` to whole lots (2.4.4), so 40.3 traded against 40 ahead executes 0.3 exactly.
LOT = 0.01
DECIMALS = 4

K = EventKind
RESET = (K.BOOK_RESET, 0, 0.0, 0.0)


def bid(price: float, size: float, kind: EventKind = K.LEVEL_CHANGE) -> tuple:
    return (kind, 1, price, size)


def ask(price: float, size: float, kind: EventKind = K.LEVEL_CHANGE) -> tuple:
    return (kind, -1, price, size)


def sell_trade(price: float, size: float) -> tuple:
    """A recorded trade whose taker SELLs (it hits bids)."""
    return (K.TRADE, -1, price, size)


def buy_trade(price: float, size: float) -> tuple:
    """A recorded trade whose taker BUYs (it lifts asks)."""
    return (K.TRADE, 1, price, size)


def rows_to_stream(rows: Sequence[tuple]) -> EventColumns:
    """Hand-made ``(kind, side, price, size)`` rows of the bench market's YES token, one per ms."""
    n = len(rows)
    ts = T0 + np.arange(n, dtype=np.int64) * MS
    return EventColumns.from_arrays(
        bench_assets(),
        ts_exchange_ns=ts,
        ts_recv_ns=ts,
        seq=np.arange(1, n + 1),
        asset=np.zeros(n),
        kind=[int(r[0]) for r in rows],
        side=[r[1] for r in rows],
        price=[r[2] for r in rows],
        size=[r[3] for r in rows],
    )


def retime(cols: EventColumns) -> EventColumns:
    """The same rows, one per millisecond from ``T0`` (exchange and receive time alike)."""
    ts = T0 + np.arange(len(cols), dtype=np.int64) * MS
    return EventColumns.from_arrays(
        cols.assets,
        ts_exchange_ns=ts,
        ts_recv_ns=ts,
        seq=cols.seq,
        asset=cols.asset,
        kind=cols.kind,
        side=cols.side,
        price=cols.price,
        size=cols.size,
    )


def row_of(ts_ns: int) -> int:
    return int((ts_ns - T0) // MS)


def submit_ns(after_row: int) -> int:
    return T0 + after_row * MS + MS // 2


@dataclass(frozen=True)
class Order:
    """A GTC limit order of ours, submitted right after row ``after_row``.

    ``asset`` 0 is the YES token, 1 the NO token (clobsim only: hftbacktest gets the YES
    complement, see ``yes_side``/``yes_price``). ``side`` is +1 BUY / -1 SELL of that token.
    """

    after_row: int
    side: int
    price: float
    size: float
    asset: int = 0

    @property
    def yes_side(self) -> int:
        return self.side if self.asset == 0 else -self.side

    @property
    def yes_price(self) -> float:
        return self.price if self.asset == 0 else round(1.0 - self.price, 10)


@dataclass(frozen=True, order=True)
class Fill:
    """One fill of one of our orders, in YES-book terms, comparable across engines."""

    order: int  # index in the plan
    ts_ns: int
    tick: int  # YES price in ticks
    size: float  # rounded to DECIMALS

    @property
    def row(self) -> int:
        return row_of(self.ts_ns)

    @property
    def at_submit(self) -> bool:
        """True for a taker fill at the order's own submit time (between rows)."""
        return (self.ts_ns - T0) % MS != 0

    def __repr__(self) -> str:
        when = f"submit@{self.row}" if self.at_submit else f"row {self.row}"
        return f"Fill(order {self.order}, {when}, {self.tick} ticks, {self.size})"


def _fill(order: int, ts_ns: int, yes_price: float, size: float) -> Fill:
    return Fill(order, int(ts_ns), round(yes_price / TICK), round(float(size), DECIMALS))


def plan_around_touch(
    cols: EventColumns, at_rows: Sequence[int], per_side: int = 2, size: float = 20.0
) -> list[Order]:
    """GTC orders at and behind the touch: after each of ``at_rows``, ``per_side`` bids from the
    best bid down and as many asks from the best ask up (starting a tick inside the spread
    when it is wider than a tick), at prices not used before, so no two of our orders ever
    share a level (hftbacktest lets each of our orders at one level take the whole of a
    trade: see ``test_two_of_our_orders_at_one_level``)."""
    book = SimBook([bench_market()])
    plan: list[Order] = []
    used: set[tuple[int, int]] = set()
    row = 0
    for r in at_rows:
        book.apply_rows(cols, row, max_rows=r + 1 - row)
        row = r + 1
        best_bid, best_ask = round(book.best_bid(0) / TICK), round(book.best_ask(0) / TICK)
        inside = 1 if best_ask - best_bid > 1 else 0
        touch = {1: best_bid + inside, -1: best_ask - inside}
        for side in (1, -1):
            placed = 0
            for d in range(10):
                tick = touch[side] - side * d
                if placed < per_side and (side, tick) not in used:
                    used.add((side, tick))
                    plan.append(Order(r, side, tick * TICK, size))
                    placed += 1
    return plan


# -- clobsim ------------------------------------------------------------------------------


@dataclass
class ClobResult:
    fills: list[Fill]
    raw: list[np.ndarray]  # FILL_DTYPE records, in order
    order_ids: list[int]  # clobsim order id of each plan entry
    book: SimBook


def run_clobsim(
    cols: EventColumns,
    plan: Sequence[Order],
    queue_model: int = codes.QUEUE_CLAMPED,
    market: MarketInfo | None = None,
) -> ClobResult:
    """Replay ``cols`` with ``plan``'s orders submitted on time; every fill, in order."""
    book = SimBook([market or bench_market()], cash_usdc=1e9, queue_model=queue_model)
    raw: list[np.ndarray] = []
    ids = [-1] * len(plan)
    row = 0

    def replay(until_ns: int | None) -> None:
        nonlocal row
        while True:
            stop = book.apply_rows(cols, row, until_ns=until_ns)
            row = stop.next_row
            if len(stop.fills):
                raw.append(stop.fills)
            if stop.stop in (codes.STOP_END, codes.STOP_TIME):
                return

    for k in sorted(range(len(plan)), key=lambda k: plan[k].after_row):
        o = plan[k]
        t = submit_ns(o.after_row)
        replay(t)
        res = book.submit(o.asset, Side(o.side), o.price, o.size, OrderType.GTC, now_ns=t)
        assert res.accepted, f"clobsim refused {o}: {res.reason_name}"
        ids[k] = res.order_id
        if len(res.fills):
            raw.append(res.fills)
    replay(None)
    plan_index = {oid: k for k, oid in enumerate(ids)}
    fills = []
    for block in raw:
        for f in block:
            yes = f["price"] if f["outcome"] == 0 else 1.0 - f["price"]
            fills.append(_fill(plan_index[int(f["order_id"])], f["ts_ns"], yes, f["size"]))
    return ClobResult(fills, raw, ids, book)


# -- hftbacktest --------------------------------------------------------------------------


@dataclass(frozen=True)
class HFill:
    """A fill seen in hftbacktest: ``size`` is the drop of leaves_qty in one step,
    ``last_size`` the order's ``exec_qty`` then (its last execution in that step)."""

    fill: Fill
    last_size: float


@dataclass
class HftbResult:
    fills: list[HFill]
    status: int  # 1: ran to the end of the data; anything else is hftbacktest's error code
    stopped_ns: int  # where it stopped; for an error, the end of the step that failed
    position: float  # the local state at the end (see #316 above)
    balance: float
    fee: float
    data: np.ndarray = field(repr=False)  # hftbacktest holds a raw pointer into it

    @property
    def plain(self) -> list[Fill]:
        return [h.fill for h in self.fills]


def hftb_asset(
    data: np.ndarray,
    *,
    exchange: str = "partial",
    queue: str = "risk_adverse",
    power: float = 2.0,
    lot: float = LOT,
    maker_fee: float = 0.0,
    taker_fee: float = 0.0,
):
    import hftbacktest as hb

    asset = (
        hb.BacktestAsset()
        .data(data)
        .linear_asset(1.0)
        .constant_order_latency(0, 0)
        .trading_value_fee_model(maker_fee, taker_fee)
        .tick_size(TICK)
        .lot_size(lot)
        .roi_lb(0.0)
        .roi_ub(1.0)
    )
    if queue == "risk_adverse":
        asset = asset.risk_adverse_queue_model()
    elif queue == "power":
        asset = asset.power_prob_queue_model(power)
    else:
        raise ValueError(f"unknown queue model {queue!r}")
    if exchange == "partial":
        return asset.partial_fill_exchange()
    if exchange == "no_partial":
        return asset.no_partial_fill_exchange()
    raise ValueError(f"unknown exchange {exchange!r}")


def run_hftb(
    cols: EventColumns,
    plan: Sequence[Order],
    *,
    exchange: str = "partial",
    queue: str = "risk_adverse",
    power: float = 2.0,
    lot: float = LOT,
    purge_filled: bool = True,
    maker_fee: float = 0.0,
    taker_fee: float = 0.0,
    probe=None,
) -> HftbResult:
    """Replay ``cols`` in hftbacktest with ``plan``'s orders (as YES orders); every fill.

    ``probe(hbt, plan_index)``, if given, is called right before each submit (to read the
    book hftbacktest has then). Order ``k`` of the plan has hftbacktest order id ``k + 1``.
    """
    import hftbacktest as hb
    from hftbacktest import GTC, LIMIT

    from benchmarks.hftb import to_hftbacktest

    data = to_hftbacktest(cols)
    hbt = hb.ROIVectorMarketDepthBacktest(
        [
            hftb_asset(
                data,
                exchange=exchange,
                queue=queue,
                power=power,
                lot=lot,
                maker_fee=maker_fee,
                taker_fee=taker_fee,
            )
        ]
    )
    n = len(cols)
    for o in plan:  # hftbacktest processes nothing after its last event
        assert o.after_row < n - 1, f"{o}: submit before the last row"
    # steps: just after each row, each submit, and just after each submit
    steps: list[tuple[int, int]] = [(T0 + i * MS + MS // 4, -1) for i in range(n)]
    for k, o in enumerate(plan):
        steps.append((submit_ns(o.after_row), k))
        steps.append((submit_ns(o.after_row) + MS // 8, -1))
    steps.sort()
    leaves: dict[int, float] = {}
    live: list[int] = []
    fills: list[HFill] = []
    status = 0
    now = T0  # hftbacktest starts at the first event's timestamp
    try:
        for t, k in steps:
            if t > now and status == 0:
                status = hbt.elapse(t - now)
                if status not in (0, 1):
                    now = t  # the step it failed in ends at t
                    break
                now = hbt.current_timestamp
            if k >= 0:
                o = plan[k]
                if probe is not None:
                    probe(hbt, k)
                submit = hbt.submit_buy_order if o.yes_side > 0 else hbt.submit_sell_order
                rc = submit(0, k + 1, o.yes_price, o.size, GTC, LIMIT, False)
                assert rc == 0, f"hftbacktest refused {o}: {rc}"
                leaves[k] = o.size
                live.append(k)
                continue
            orders = hbt.orders(0)
            for k2 in list(live):
                od = orders.get(k2 + 1)
                left = od.leaves_qty
                if left < leaves[k2] - 1e-9:
                    f = _fill(k2, od.exch_timestamp, od.exec_price_tick * TICK, leaves[k2] - left)
                    fills.append(HFill(f, round(od.exec_qty, DECIMALS)))
                    leaves[k2] = left
                if od.status in (hb.FILLED, hb.CANCELED, hb.EXPIRED):
                    live.remove(k2)
                    if purge_filled and od.status == hb.FILLED:
                        hbt.cancel(0, k2 + 1, False)  # drops a #312 zombie, if any
        while status == 0:
            status = hbt.elapse(1_000 * MS)
        sv = hbt.state_values(0)
        position, balance, fee = sv.position, sv.balance, sv.fee
    finally:
        hbt.close()
    return HftbResult(fills, int(status), int(now), position, balance, fee, data)


# -- comparing ------------------------------------------------------------------------------


def by_order(fills: Sequence[Fill], n_orders: int) -> list[list[Fill]]:
    out: list[list[Fill]] = [[] for _ in range(n_orders)]
    for f in sorted(fills):
        out[f.order].append(f)
    return out


@dataclass(frozen=True)
class Divergence:
    """Where one order's fills first differ between the engines."""

    order: int
    row: int
    clob: tuple[Fill, ...]  # that order's fills at ``row`` (clobsim)
    hftb: tuple[Fill, ...]  # (hftbacktest)


def _same(a: Fill, b: Fill, tol: float) -> bool:
    return (a.order, a.ts_ns, a.tick) == (b.order, b.ts_ns, b.tick) and abs(a.size - b.size) <= tol


def first_divergences(
    clob: Sequence[Fill], hftb: Sequence[Fill], n_orders: int, tol: float = 0.0
) -> tuple[list[Fill], list[Divergence]]:
    """(clobsim's fills alike in hftbacktest up to each order's first divergence, and one
    ``Divergence`` per order whose fills differ).

    Fills are alike when order, time, price agree and sizes within ``tol``; with ``tol`` > 0,
    clobsim fills smaller than ``tol / 2`` are dropped first (hftbacktest rounds them away).
    """
    if tol > 0:
        clob = [f for f in clob if f.size >= tol / 2]
    same: list[Fill] = []
    out = []
    for k, (c, h) in enumerate(
        zip(by_order(clob, n_orders), by_order(hftb, n_orders), strict=True)
    ):
        i = 0
        while i < len(c) and i < len(h) and _same(c[i], h[i], tol + 1e-9):
            i += 1
        same += c[:i]
        if i == len(c) == len(h):
            continue
        row = min(x[i].row for x in (c, h) if i < len(x))
        out.append(
            Divergence(
                k,
                row,
                tuple(f for f in c[i:] if f.row == row),
                tuple(f for f in h[i:] if f.row == row),
            )
        )
    return same, out


def explain(
    d: Divergence,
    cols: EventColumns,
    plan: Sequence[Order],
    clob: Sequence[Fill],
    hftb: Sequence[Fill],
) -> str | None:
    """Name the modelling difference behind a divergence, or None if it has no known cause.

    * ``"through"``: a trade printed at a price worse than our order (a taker SELL below our
      bid). clobsim fills our better-priced orders up to the trade's size; hftbacktest fills
      each of them in full, whatever the trade's size.
    * ``"volume-shared"``: our order sits at the trade's price and, at that same row, clobsim
      gave part of the trade's volume to our better-priced orders first (the trade walked
      through them); hftbacktest gives the full trade to the queue at the trade's price too.
    * ``"over-fill"``: hftbacktest filled our order at its own price by more than the trade's
      size (its probabilistic queue front can go negative on a cancel, see
      ``test_probabilistic_queue_front_below_zero``); clobsim never fills beyond the trade.
    """
    r = d.row
    if cols.kind[r] != K.TRADE:
        return None
    o = plan[d.order]
    hit = -int(cols.side[r])  # the book side a taker hits: a taker SELL (-1) hits bids (+1)
    if o.yes_side != hit:
        return None
    trade_tick = round(cols.price[r] / TICK)
    order_tick = round(o.yes_price / TICK)
    v = float(cols.size[r])
    c = sum(f.size for f in d.clob)
    h = sum(f.size for f in d.hftb)
    if h <= c:
        return None
    if (order_tick - trade_tick) * hit > 0:
        before = sum(f.size for f in hftb if f.order == d.order and f.row < r)
        whole = abs(h - (o.size - before)) < 1e-6
        return "through" if whole and c <= v + 1e-9 else None
    if order_tick != trade_tick:
        return None
    through = [
        f
        for f in clob
        if f.row == r
        and f.order != d.order
        and plan[f.order].yes_side == hit
        and (f.tick - trade_tick) * hit > 0
    ]
    if through:
        return "volume-shared"
    return "over-fill" if h > v + 1e-9 >= c else None
