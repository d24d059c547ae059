"""clobsim against a real peer, hftbacktest 2.4.4: the same rows, the same orders, the same fills.

Matched models (see ``tests/hftb_helpers.py`` for the harness):

* no latency: ``constant_order_latency(0, 0)`` works in 2.4.4 (an order submitted between two
  rows is at the exchange before the next row) and matches clobsim's ``submit(now_ns=...)``;
* queue: clobsim ``QUEUE_CLAMPED`` == ``risk_adverse_queue_model()`` (queue ahead = displayed
  size on entry, minus trades at our price, never above the displayed size), fill for fill;
  ``QUEUE_PROBABILISTIC`` (power n) == ``power_prob_queue_model(n)`` up to hftbacktest's
  rounding of each fill to whole lots and its negative queue front (documented below);
  ``QUEUE_CONSERVATIVE`` has no peer (every hftbacktest L2 model clamps to the displayed size);
* fills: ``partial_fill_exchange()`` == clobsim's partial fills, with the #312 zombie purged;
  ``no_partial_fill_exchange()`` == clobsim's *first* fill of each order, promoted to the
  whole order.

Differences by design, each asserted below: complement (NO) orders, Polymarket's taker fee,
trades through our price (clobsim fills up to the trade's size), our orders sharing one
trade, a recorded level moving through our price (clobsim fills up to the level's increase),
our taker fills consuming recorded liquidity, and a marketable remainder resting in clobsim.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

hb = pytest.importorskip("hftbacktest")

from benchmarks.hftb import to_hftbacktest  # noqa: E402
from benchmarks.stream import bench_market, make_stream  # noqa: E402
from exchange_mock.clob import codes  # noqa: E402
from sim.types import OrderStatus, taker_fee_usdc  # noqa: E402
from tests.hftb_helpers import (  # noqa: E402
    LOT,
    MS,
    RESET,
    T0,
    TICK,
    Fill,
    K,
    Order,
    ask,
    bid,
    buy_trade,
    explain,
    first_divergences,
    hftb_asset,
    plan_around_touch,
    retime,
    row_of,
    rows_to_stream,
    run_clobsim,
    run_hftb,
    sell_trade,
    submit_ns,
)

SNAP = K.SNAPSHOT_LEVEL
BUY, SELL = 1, -1
YES, NO = 0, 1
#: The defects documented here are those of this release; re-check them on an upgrade.
defects_of_2_4_4 = pytest.mark.skipif(
    hb.__version__ != "2.4.4", reason="documents hftbacktest 2.4.4 defects"
)


def at(order: int, row: int, tick: int, size: float) -> Fill:
    """A fill of plan order ``order`` caused by row ``row``."""
    return Fill(order, T0 + row * MS, tick, size)


def at_submit(order: int, after_row: int, tick: int, size: float) -> Fill:
    """A taker fill of plan order ``order`` at its own submit time."""
    return Fill(order, submit_ns(after_row), tick, size)


def both(rows, plan, queue_model=codes.QUEUE_CLAMPED, **hftb_kw):
    cols = rows_to_stream(rows)
    clob = run_clobsim(cols, plan, queue_model=queue_model)
    hftb = run_hftb(cols, plan, **hftb_kw)
    assert hftb.status == 1, f"hftbacktest stopped with error {hftb.status}"
    return clob, hftb


# -- fill for fill: hand-made rows -------------------------------------------------------

QUEUE_ROWS = [
    RESET,
    bid(0.50, 40, SNAP),
    bid(0.49, 100, SNAP),
    ask(0.51, 30, SNAP),
    ask(0.52, 30, SNAP),  # 4: orders 0 (bid 0.50, 40 ahead) and 1 (ask 0.52, 30 ahead)
    sell_trade(0.50, 25),  # 15 ahead
    bid(0.50, 15),
    bid(0.50, 12),  # 7: a cancel: the clamped queue is 12 ahead, the conservative one 15
    sell_trade(0.50, 16),  # 8: 4 of our 10 fill (clamped)
    bid(0.50, 0),
    bid(0.50, 20),  # new orders join behind us
    sell_trade(0.50, 3),  # 11: 3 more
    bid(0.50, 17),
    sell_trade(0.50, 9),  # 13: the last 3
    buy_trade(0.51, 30),  # 14: below our ask: nothing
    ask(0.51, 0),
    buy_trade(0.52, 35),  # 16: 30 ahead, 5 of our 8 fill
    ask(0.52, 10),
    buy_trade(0.52, 4),  # 18: the last 3
]
QUEUE_PLAN = [Order(4, BUY, 0.50, 10), Order(4, SELL, 0.52, 8)]


def test_resting_orders_fill_at_their_price_once_the_queue_ahead_is_traded() -> None:
    """Queue position, cancels clamping it, partial fills: clobsim CLAMPED == RiskAdverse."""
    clob, hftb = both(QUEUE_ROWS, QUEUE_PLAN)
    expected = [
        at(0, 8, 50, 4.0),
        at(0, 11, 50, 3.0),
        at(0, 13, 50, 3.0),
        at(1, 16, 52, 5.0),
        at(1, 18, 52, 3.0),
    ]
    assert sorted(clob.fills) == expected
    assert sorted(hftb.plain) == expected
    assert all(h.last_size == h.fill.size for h in hftb.fills)  # one execution per row


def test_conservative_queue_has_no_hftbacktest_peer() -> None:
    """QUEUE_CONSERVATIVE ignores cancels (row 7): 15 stay ahead where RiskAdverse, which
    clamps the queue to the displayed size, has 12, so row 8 fills 1 share instead of 4. A
    deliberate, more pessimistic clobsim model with no hftbacktest counterpart."""
    cols = rows_to_stream(QUEUE_ROWS)
    conservative = run_clobsim(cols, QUEUE_PLAN, queue_model=codes.QUEUE_CONSERVATIVE)
    hftb = run_hftb(cols, QUEUE_PLAN)
    assert sorted(conservative.fills)[:3] == [
        at(0, 8, 50, 1.0),  # 15 still ahead: 16 - 15 (RiskAdverse: 12 ahead, 4 fill)
        at(0, 11, 50, 3.0),
        at(0, 13, 50, 6.0),
    ]
    assert sorted(conservative.fills) != sorted(hftb.plain)


def test_an_order_reaches_the_exchange_before_the_next_row_at_zero_latency() -> None:
    rows = [RESET, bid(0.50, 20, SNAP), ask(0.52, 20, SNAP), sell_trade(0.50, 26)]
    plan = [Order(2, BUY, 0.50, 10)]  # submitted between rows 2 and 3
    clob, hftb = both(rows, plan)
    assert clob.fills == hftb.plain == [at(0, 3, 50, 6.0)]


def test_a_full_book_reset_keeps_our_orders_and_clamps_their_queue() -> None:
    rows = [
        RESET,
        bid(0.50, 40, SNAP),
        ask(0.52, 40, SNAP),
        RESET,  # 3: a new snapshot (to_hftbacktest: a side-less DEPTH_CLEAR_EVENT)
        bid(0.50, 15, SNAP),  # 4: 15 ahead now
        ask(0.52, 40, SNAP),
        sell_trade(0.50, 20),  # 6
    ]
    clob, hftb = both(rows, [Order(2, BUY, 0.50, 10)])
    assert clob.fills == hftb.plain == [at(0, 6, 50, 5.0)]


WALK_ROWS = [
    RESET,
    bid(0.50, 100, SNAP),
    ask(0.51, 10, SNAP),
    ask(0.52, 10, SNAP),
    ask(0.53, 10, SNAP),
    ask(0.55, 40, SNAP),  # 5: the marketable order goes here
    bid(0.49, 50),
]


def test_a_marketable_limit_walks_the_levels_as_taker() -> None:
    plan = [Order(5, BUY, 0.54, 25)]
    seen = {}

    def probe(hbt, k):
        d = hbt.depth(0)
        seen.update({t: d.ask_qty_at_tick(t) for t in (51, 52, 53)})

    cols = rows_to_stream(WALK_ROWS)
    clob = run_clobsim(cols, plan)
    hftb = run_hftb(cols, plan, probe=probe, purge_filled=False)  # reads the position
    assert clob.fills == [
        at_submit(0, 5, 51, 10.0),
        at_submit(0, 5, 52, 10.0),
        at_submit(0, 5, 53, 5.0),
    ]
    assert (clob.raw[0]["liquidity"] == codes.TAKER).all()
    # hftbacktest executes the walk in one step; its local order keeps the last level only
    [h] = hftb.fills
    assert (h.fill.ts_ns, h.fill.tick, h.last_size) == (submit_ns(5), 53, 5.0)
    assert h.fill.size == 25.0 == sum(f.size for f in clob.fills)
    # ... and the earlier levels went as its rule says: min(displayed, left), best first
    left = 25.0
    for f in clob.fills[:-1]:
        assert f.size == min(seen[f.tick], left)
        left -= f.size
    # upstream #316: the local position applies only the last execution of the order
    assert hftb.position == pytest.approx(5.0)
    assert clob.book.position(YES) == pytest.approx(25.0)


def test_a_marketable_remainder_rests_in_clobsim_but_fills_at_its_limit_in_hftbacktest() -> None:
    """Deliberate: clobsim takes only displayed depth and rests the rest (the venue does);
    hftbacktest's partial-fill exchange fills the remainder at the limit ("the buy order
    cannot remain in the ask book"), and its no-partial exchange fills everything at the
    best ask."""
    plan = [Order(5, BUY, 0.53, 35)]
    cols = rows_to_stream(WALK_ROWS)
    clob = run_clobsim(cols, plan)
    assert clob.fills == [
        at_submit(0, 5, 51, 10.0),
        at_submit(0, 5, 52, 10.0),
        at_submit(0, 5, 53, 10.0),
    ]
    view = clob.book.order(clob.order_ids[0])
    assert view.remaining == pytest.approx(5.0) and view.status is OrderStatus.PARTIALLY_FILLED
    [h] = run_hftb(cols, plan).fills
    assert (h.fill.size, h.fill.tick, h.last_size) == (35.0, 53, 15.0)
    [h] = run_hftb(cols, plan, exchange="no_partial").fills
    assert (h.fill.size, h.fill.tick) == (35.0, 51)


def test_our_taker_fill_consumes_recorded_liquidity_in_clobsim_only() -> None:
    """Deliberate: the 10 shares we take at 0.51 leave clobsim's ladder until the data next
    sets the level; hftbacktest replays depth as recorded, so a later order of ours at 0.51
    queues behind shares we already took."""
    rows = [
        RESET,
        bid(0.50, 100, SNAP),
        ask(0.51, 30, SNAP),
        ask(0.52, 50, SNAP),  # 3: we buy 10 at 0.51, then offer 10 at 0.51
        buy_trade(0.51, 25),  # 4
        ask(0.51, 5),  # 5: the data sets the level again
        buy_trade(0.51, 5),  # 6
    ]
    plan = [Order(3, BUY, 0.51, 10), Order(3, SELL, 0.51, 10)]
    clob, hftb = both(rows, plan)
    taker = at_submit(0, 3, 51, 10.0)
    assert sorted(clob.fills) == [taker, at(1, 4, 51, 5.0), at(1, 6, 51, 5.0)]  # 20 ahead
    assert sorted(hftb.plain) == [taker]  # 30 ahead: 5 after row 4, none after row 6


THROUGH_ROWS = [
    RESET,
    bid(0.50, 40, SNAP),
    bid(0.48, 100, SNAP),
    ask(0.52, 50, SNAP),  # 3: order 0 bids 0.51, inside the spread
    sell_trade(0.50, 30),  # 4: through 0.51, 30 >= 10
    bid(0.50, 10),  # 5: order 1 bids 0.49, nothing ahead
    bid(0.50, 0),
    sell_trade(0.48, 4),  # 7: through 0.49, only 4 shares
    bid(0.48, 96),
    sell_trade(0.48, 8),  # 9
]
THROUGH_PLAN = [Order(3, BUY, 0.51, 10), Order(5, BUY, 0.49, 10)]


def test_a_trade_through_our_price_fills_us_at_our_price() -> None:
    clob, hftb = both(THROUGH_ROWS, THROUGH_PLAN)
    assert clob.fills[0] == hftb.plain[0] == at(0, 4, 51, 10.0)


def test_a_trade_through_fills_at_most_its_size_in_clobsim() -> None:
    """Deliberate: a taker who sold 4 shares below our bid can have sold us at most 4;
    hftbacktest fills the whole order on any trade through its price."""
    clob, hftb = both(THROUGH_ROWS, THROUGH_PLAN)
    assert sorted(clob.fills)[1:] == [at(1, 7, 49, 4.0), at(1, 9, 49, 6.0)]
    assert sorted(hftb.plain)[1:] == [at(1, 7, 49, 10.0)]
    cols = rows_to_stream(THROUGH_ROWS)
    [d] = first_divergences(clob.fills, hftb.plain, 2)[1]
    assert explain(d, cols, THROUGH_PLAN, clob.fills, hftb.plain) == "through"


def test_a_trade_through_shares_its_size_with_our_orders_at_its_price() -> None:
    """Deliberate: the taker walked through our 0.51 bid before reaching 0.50, so clobsim gives
    our 0.50 bid only what is left of the trade; hftbacktest gives it the whole trade too."""
    rows = [
        RESET,
        bid(0.50, 10, SNAP),
        ask(0.52, 50, SNAP),  # 2: bids 0.51 x 10 and 0.50 x 10 (10 ahead)
        sell_trade(0.50, 22),  # 3
    ]
    plan = [Order(2, BUY, 0.51, 10), Order(2, BUY, 0.50, 10)]
    clob, hftb = both(rows, plan)
    assert sorted(clob.fills) == [at(0, 3, 51, 10.0), at(1, 3, 50, 2.0)]  # 22 - 10 - 10
    assert sorted(hftb.plain) == [at(0, 3, 51, 10.0), at(1, 3, 50, 10.0)]  # 22 - 10 = 12
    cols = rows_to_stream(rows)
    [d] = first_divergences(clob.fills, hftb.plain, 2)[1]
    assert explain(d, cols, plan, clob.fills, hftb.plain) == "volume-shared"


def test_two_of_our_orders_at_one_level() -> None:
    """Deliberate: clobsim queues our orders at one level in time priority and shares each
    trade among them; hftbacktest gives each of our orders the whole trade, so a 15-share
    trade with 10 ahead fills 10 shares of ours (5 + 5) where only 5 were left."""
    rows = [RESET, bid(0.50, 10, SNAP), ask(0.52, 50, SNAP), sell_trade(0.50, 15)]
    plan = [Order(2, BUY, 0.50, 10), Order(2, BUY, 0.50, 10)]
    clob, hftb = both(rows, plan)
    assert sorted(clob.fills) == [at(0, 3, 50, 5.0)]
    assert sorted(hftb.plain) == [at(0, 3, 50, 5.0), at(1, 3, 50, 5.0)]


CROSS_ROWS = [
    RESET,
    bid(0.50, 40, SNAP),
    bid(0.48, 60, SNAP),
    ask(0.52, 50, SNAP),
    ask(0.53, 50, SNAP),  # 4: bid 0.50 x 10 and ask 0.53 x 10
    bid(0.50, 0),  # 5: the bids at 0.50 leave; ours is now above the recorded book
    ask(0.50, 30),  # 6: an ask appears at our bid: a taker that would have hit us
    ask(0.50, 0),
    ask(0.52, 0),
    ask(0.53, 0),
    ask(0.56, 30),
    bid(0.53, 4),  # 11: a 4-share bid appears at our ask
    bid(0.53, 9),  # 12: and grows by 9
]
CROSS_PLAN = [Order(4, BUY, 0.50, 10), Order(4, SELL, 0.53, 10)]


def test_a_level_moving_through_our_price_fills_us_at_our_price() -> None:
    clob, hftb = both(CROSS_ROWS, CROSS_PLAN)
    assert sorted(clob.fills)[0] == sorted(hftb.plain)[0] == at(0, 6, 50, 10.0)
    assert (clob.raw[0]["liquidity"] == codes.MAKER).all()


def test_a_level_moving_through_our_price_fills_at_most_its_increase_in_clobsim() -> None:
    """Deliberate ("book moves through our price"): a 4-share bid at our ask is a taker of at
    most 4 shares; hftbacktest fills the whole order when its best bid crosses our ask."""
    clob, hftb = both(CROSS_ROWS, CROSS_PLAN)
    assert sorted(clob.fills)[1:] == [at(1, 11, 53, 4.0), at(1, 12, 53, 6.0)]
    assert sorted(hftb.plain)[1:] == [at(1, 11, 53, 10.0)]


# -- fill for fill: seeded streams ---------------------------------------------------------

SEEDS = range(1, 13)
N_ROWS = 4_000


@pytest.fixture(scope="module")
def seeded():
    """(rows, plan) per seed: ``make_stream`` rows one per ms, orders around the touch."""
    out = []
    for seed in SEEDS:
        cols = retime(make_stream(N_ROWS, seed))
        plan = plan_around_touch(cols, [N_ROWS * k // 10 for k in range(1, 10)], size=20.0)
        out.append((cols, plan))
    return out


def _cause(cols, f: Fill) -> str:
    """What made a resting order fill: a trade at its price, a trade through it, or a level."""
    if cols.kind[f.row] != K.TRADE:
        return "level"
    return "at" if round(cols.price[f.row] / TICK) == f.tick else "through"


def _crosscheck(seeded, allowed, clob_kw, hftb_kw, tol=0.0, first_fill_only=False):
    """Every seeded run in both engines: (matched fills as (fill, order size, cause), the
    documented reason of each divergence). Fails on a divergence without one."""
    matched: list[tuple[Fill, float, str]] = []
    reasons: list[str] = []
    for cols, plan in seeded:
        clob = run_clobsim(cols, plan, **clob_kw)
        hftb = run_hftb(cols, plan, **hftb_kw)
        assert hftb.status == 1, f"hftbacktest stopped with error {hftb.status}"
        fills = clob.fills
        if first_fill_only:  # what a no-partial exchange makes of clobsim's fills
            first: dict[int, Fill] = {}
            for f in sorted(fills):
                first.setdefault(f.order, dataclasses.replace(f, size=plan[f.order].size))
            fills = list(first.values())
        same, divergences = first_divergences(fills, hftb.plain, len(plan), tol)
        matched += [(f, plan[f.order].size, _cause(cols, f)) for f in same]
        for d in divergences:
            why = explain(d, cols, plan, fills, hftb.plain)
            assert why in allowed, f"unexplained divergence {d}: {why}"
            reasons.append(why)
    return matched, reasons


def test_seeded_streams_fill_for_fill_clamped_vs_risk_adverse(seeded) -> None:
    matched, reasons = _crosscheck(
        seeded, {"through", "volume-shared"}, {"queue_model": codes.QUEUE_CLAMPED}, {}
    )
    causes = Counter(cause for *_, cause in matched)
    assert len(matched) >= 60
    assert sum(size - f.size > 1e-9 for f, size, _ in matched) >= 25  # partial fills
    assert causes["at"] >= 50 and causes["through"] >= 5 and causes["level"] >= 1
    assert len(reasons) <= len(matched) // 10  # the documented differences stay rare


def test_seeded_streams_probabilistic_vs_power_prob_queue_model(seeded) -> None:
    """Same cancel attribution (front advances by ``cancel * f(front) / (f(front) + f(back))``,
    ``f(x) = x**2``); fills agree to within one lot because hftbacktest rounds each queue fill
    to whole lots (clobsim keeps the exact fraction); its negative queue front can over-fill."""
    matched, reasons = _crosscheck(
        seeded,
        {"through", "volume-shared", "over-fill"},
        {"queue_model": codes.QUEUE_PROBABILISTIC},
        {"queue": "power", "power": 2.0},
        tol=LOT,
    )
    assert len(matched) >= 60
    assert sum(size - f.size > 1e-9 for f, size, _ in matched) >= 25
    assert len(reasons) <= len(matched) // 10


def test_seeded_streams_no_partial_exchange_fills_whole_orders_at_clobsims_first_fill(
    seeded,
) -> None:
    """hftbacktest's no-partial exchange fills the whole order on the row where clobsim first
    fills any of it (at the order's price): the same queue, all-or-nothing fills."""
    matched, _ = _crosscheck(seeded, {"volume-shared"}, {}, {"exchange": "no_partial"}, 0.0, True)
    assert len(matched) >= 50
    assert all(f.size == size for f, size, _ in matched)


# -- by design: complement orders and fees ---------------------------------------------------


def test_a_no_order_is_matched_as_the_yes_complement() -> None:
    """clobsim: a NO BUY at q rests as a YES ask at 1-q (a NO SELL as a YES bid); hftbacktest
    knows one book: the same fills as its YES orders at 1-q, priced q in NO terms."""
    rows = [
        RESET,
        bid(0.45, 20, SNAP),
        bid(0.44, 30, SNAP),
        ask(0.47, 20, SNAP),
        ask(0.48, 30, SNAP),  # 4: NO BUY 0.53 (== YES ask 0.47), NO SELL 0.55 (== YES bid 0.45)
        buy_trade(0.47, 26),  # 5: 6 for the NO BUY
        ask(0.47, 0),
        sell_trade(0.45, 25),  # 7: 5 for the NO SELL
        bid(0.45, 0),
        sell_trade(0.44, 30),  # 9: through YES 0.45: the NO SELL's last 5
        bid(0.44, 5),  # 10: NO BUY 0.56 x 5 takes YES bids at 0.44: a taker, 5 at 0.56
        ask(0.49, 20),
    ]
    no_plan = [
        Order(4, BUY, 0.53, 10, asset=NO),
        Order(4, SELL, 0.55, 10, asset=NO),
        Order(10, BUY, 0.56, 5, asset=NO),
    ]
    yes_plan = [Order(o.after_row, o.yes_side, o.yes_price, o.size) for o in no_plan]
    assert [(o.side, o.price) for o in yes_plan] == [(SELL, 0.47), (BUY, 0.45), (SELL, 0.44)]
    cols = rows_to_stream(rows)
    clob = run_clobsim(cols, no_plan)
    hftb = run_hftb(cols, yes_plan)
    expected = [
        at(0, 5, 47, 6.0),
        at(1, 7, 45, 5.0),
        at(1, 9, 45, 5.0),
        at_submit(2, 10, 44, 5.0),
    ]
    assert sorted(clob.fills) == sorted(hftb.plain) == expected
    assert sorted(run_clobsim(cols, yes_plan).fills) == expected  # YES orders, same fills
    raw = np.concatenate(clob.raw)
    assert (raw["outcome"] == NO).all()
    assert raw["price"].tolist() == pytest.approx([0.53, 0.55, 0.55, 0.56])  # NO prices
    assert raw["liquidity"].tolist() == [codes.MAKER] * 3 + [codes.TAKER]
    assert clob.book.position(NO) == pytest.approx(6.0 - 10.0 + 5.0)
    assert clob.book.position(YES) == 0.0


def test_fees_polymarket_taker_fee_vs_hftbacktests_value_fee() -> None:
    """Same trades (sizes, prices); the fee is where the models differ by design.

    hftbacktest ``trading_value_fee_model(maker, taker)``: ``qty * price * rate``, paid in
    cash, position unchanged. Polymarket (clobsim): a taker pays ``shares * rate * p * (1-p)``
    USDC worth; a BUY pays it in tokens (it receives ``shares - fee / p``), a SELL in USDC;
    makers pay nothing. So hftbacktest's fee times ``1 - p`` is Polymarket's fee in USDC.
    """
    rate = 0.02
    market = dataclasses.replace(bench_market(), fee_rate=rate)
    rows = [
        RESET,
        bid(0.40, 100, SNAP),
        ask(0.42, 100, SNAP),  # 2: we buy 50 at 0.42 and sell 30 at 0.40, as takers
        bid(0.41, 50),  # 3: and bid 0.41 x 10, a maker ...
        sell_trade(0.41, 60),  # 4: ... filled here
    ]
    plan = [Order(2, BUY, 0.42, 50), Order(2, SELL, 0.40, 30), Order(3, BUY, 0.41, 10)]
    cols = rows_to_stream(rows)
    clob = run_clobsim(cols, plan, market=market)
    hftb = run_hftb(cols, plan, taker_fee=rate, maker_fee=0.0, purge_filled=False)
    assert sorted(clob.fills) == sorted(hftb.plain)  # the trades agree
    raw = np.concatenate(clob.raw)
    buy, sell, maker = raw
    for f in (buy, sell):
        p, q = f["price"], f["size"]
        assert f["fee_usdc"] == pytest.approx(taker_fee_usdc(q, p, rate))
        assert f["fee_usdc"] == pytest.approx(q * rate * p * (1 - p))
        assert f["fee_usdc"] == pytest.approx(q * p * rate * (1 - p))  # hftbacktest's x (1-p)
    assert buy["fee_shares"] == pytest.approx(buy["fee_usdc"] / 0.42)  # paid in tokens
    assert buy["position_delta"] == pytest.approx(50 - buy["fee_usdc"] / 0.42)
    assert buy["cash_delta"] == pytest.approx(-50 * 0.42)
    assert sell["fee_shares"] == 0.0  # paid in USDC
    assert sell["cash_delta"] == pytest.approx(30 * 0.40 - sell["fee_usdc"])
    assert maker["liquidity"] == codes.MAKER and maker["fee_usdc"] == 0.0
    # hftbacktest: the fee on traded value, in cash, kept in its own account (``fee``, apart
    # from ``balance``); positions count whole shares
    assert hftb.fee == pytest.approx((50 * 0.42 + 30 * 0.40) * rate)
    assert hftb.balance == pytest.approx(-50 * 0.42 + 30 * 0.40 - 10 * 0.41)
    assert hftb.position == pytest.approx(50 - 30 + 10)
    assert clob.book.position(YES) == pytest.approx(50 - buy["fee_shares"] - 30 + 10)
    cash = 1e9 - 50 * 0.42 + 30 * 0.40 - sell["fee_usdc"] - 10 * 0.41
    assert clob.book.cash_usdc == pytest.approx(cash)


# -- probabilistic queue ---------------------------------------------------------------------


def test_probabilistic_queue_matches_power_prob_queue_model() -> None:
    rows = [
        RESET,
        bid(0.50, 100, SNAP),
        ask(0.52, 50, SNAP),  # 2: bid 0.50 x 20, 100 ahead, none behind
        bid(0.50, 200),  # 3: 100 behind us
        bid(0.50, 120),  # 4: 80 cancelled, half of it ahead of us: 60 ahead
        sell_trade(0.50, 70),  # 5: 10 for us
        bid(0.50, 50),
        sell_trade(0.50, 4),  # 7: 4 more
    ]
    clob, hftb = both(
        rows, [Order(2, BUY, 0.50, 20)], codes.QUEUE_PROBABILISTIC, queue="power", power=2.0
    )
    assert clob.fills == hftb.plain == [at(0, 5, 50, 10.0), at(0, 7, 50, 4.0)]


def test_probabilistic_queue_front_below_zero() -> None:
    """hftbacktest's estimate ``front - p*chg + min(back - (1-p)*chg, 0)``, ``p = f(front) /
    (f(front) + f(back))``, goes below zero when a level with more ahead of us than behind is
    cancelled whole (60 ahead, 40 behind: 60 - 0.69 * 100 = -9.2) and stays there (clamped to
    the new size only from above); the next trade then fills 9.2 shares more than it printed.
    clobsim clamps the queue to [0, displayed size]: a fill never exceeds the trade."""
    rows = [
        RESET,
        bid(0.50, 60, SNAP),
        ask(0.52, 50, SNAP),  # 2: bid 0.50 x 30, 60 ahead
        bid(0.50, 100),  # 3: 40 behind
        bid(0.50, 0),  # 4: all cancelled
        bid(0.50, 25),
        sell_trade(0.50, 5),  # 6
    ]
    clob, hftb = both(
        rows, [Order(2, BUY, 0.50, 30)], codes.QUEUE_PROBABILISTIC, queue="power", power=2.0
    )
    assert clob.fills == [at(0, 6, 50, 5.0)]
    [h] = hftb.plain
    p_front = 60**2 / (60**2 + 40**2)
    assert (h.row, h.tick) == (6, 50)
    assert h.size == pytest.approx(5 + (p_front * 100 - 60), abs=LOT)  # 14.23 from 5 printed


# -- known hftbacktest 2.4.4 defects (not ours) -------------------------------------------------


@defects_of_2_4_4
def test_partial_fill_exchange_error_14_on_an_exactly_filled_order() -> None:
    """Upstream #301/#312: a queue fill that exactly exhausts an order leaves it in the
    exchange; the next trade at its price aborts the backtest with InvalidOrderStatus (14).
    The harness cancels filled orders at once (``purge_filled``) and then matches clobsim."""
    rows = [
        RESET,
        bid(0.50, 40, SNAP),
        ask(0.51, 10, SNAP),  # 2: bid 0.50 x 10, 40 ahead
        sell_trade(0.50, 50),  # 3: exactly our 10
        bid(0.50, 0),
        bid(0.50, 30),
        sell_trade(0.50, 3),  # 6: hits the zombie
    ]
    plan = [Order(2, BUY, 0.50, 10)]
    cols = rows_to_stream(rows)
    broken = run_hftb(cols, plan, purge_filled=False)
    assert broken.status == 14 and row_of(broken.stopped_ns) == 6  # InvalidOrderStatus
    fixed = run_hftb(cols, plan)
    assert fixed.status == 1
    assert fixed.plain == run_clobsim(cols, plan).fills == [at(0, 3, 50, 10.0)]


@defects_of_2_4_4
def test_roivec_best_qty_returns_the_price() -> None:
    """``ROIVectorMarketDepth.best_bid_qty``/``best_ask_qty`` return the price; the correct
    read is ``bid_qty_at_tick(best_bid_tick)``, which agrees with clobsim's depth."""
    cols = rows_to_stream(QUEUE_ROWS)
    seen = {}

    def probe(hbt, k):
        d = hbt.depth(0)
        seen.update(
            bid_qty=d.best_bid_qty,
            ask_qty=d.best_ask_qty,
            bid=d.best_bid,
            ask=d.best_ask,
            at_bid=d.bid_qty_at_tick(d.best_bid_tick),
            at_ask=d.ask_qty_at_tick(d.best_ask_tick),
        )

    run_hftb(cols, QUEUE_PLAN[:1], probe=probe)
    assert seen["bid_qty"] == seen["bid"] == pytest.approx(0.50)
    assert seen["ask_qty"] == seen["ask"] == pytest.approx(0.51)
    book = run_clobsim(cols.take(np.arange(5)), []).book
    assert seen["at_bid"] == book.depth(YES, BUY, 0.50) == 40.0
    assert seen["at_ask"] == book.depth(YES, SELL, 0.51) == 30.0


@defects_of_2_4_4
def test_a_partial_clear_of_the_ask_side_loses_the_best_ask() -> None:
    """A ``DEPTH_CLEAR_EVENT | SELL_EVENT`` up to 0.52 should leave 0.53 as the best ask; 2.4.4
    leaves the cleared levels and reports 0.55. So ``to_hftbacktest`` only emits side-less
    full clears; clobsim's equivalent (size-0 level rows) gives 0.53."""
    rows = [
        RESET,
        bid(0.50, 100, SNAP),
        ask(0.51, 10, SNAP),
        ask(0.52, 20, SNAP),
        ask(0.53, 30, SNAP),
        ask(0.55, 40, SNAP),
        ask(0.51, 0),  # 6: hftbacktest's copy clears the asks up to 0.52 here instead ...
        ask(0.52, 0),  # 7: ... and drops this row
    ]
    cols = rows_to_stream(rows)
    data = to_hftbacktest(cols)
    data["ev"][6] = hb.EXCH_EVENT | hb.LOCAL_EVENT | hb.DEPTH_CLEAR_EVENT | hb.SELL_EVENT
    data["px"][6] = 0.52
    data = np.delete(data, 7)
    hbt = hb.ROIVectorMarketDepthBacktest([hftb_asset(data)])
    try:
        assert hbt.elapse(10 * MS) in (0, 1)
        d = hbt.depth(0)
        best_ask, stale = d.best_ask, (d.ask_qty_at_tick(51), d.ask_qty_at_tick(52))
    finally:
        hbt.close()
    del data  # only now: hftbacktest read it through a raw pointer
    assert best_ask == pytest.approx(0.55)
    assert stale == (10.0, 20.0)
    assert run_clobsim(cols, []).book.best_ask(YES) == pytest.approx(0.53)
