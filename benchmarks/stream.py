"""A seeded, Polymarket-like L2 stream of one binary market, in clobsim's row format.

The stream is the YES asset (asset index 0) of one market with tick 0.01. It
opens with a snapshot (``BOOK_RESET`` then one ``SNAPSHOT_LEVEL`` per level) and
then mixes ~87 % ``LEVEL_CHANGE`` rows with ~13 % ``TRADE`` rows. A hidden fair
value random-walks (with rare jumps) and the book follows it: quotes that end
up on the wrong side of fair are pulled, a spread wider than one tick gets
improved, and the rest are size changes, adds and cancels a few ticks from the
touch. Every trade is followed (same timestamp) by the ``LEVEL_CHANGE`` that it
caused at the touch, as Polymarket's feed does. With the defaults the book keeps
~35 levels a side, the spread is one tick ~77 % of the time and two ~21 %, and
the best bid or ask moves on ~3 % of rows.

Time: ``EVENTS_PER_SECOND`` rows per second of simulated time on average
(half of the rows share the previous row's timestamp, as rows of one
``price_change`` message do), so 5 M rows cover ~1 hour. Exchange timestamps
are on whole milliseconds (Polymarket's resolution); receive timestamps add a
feed latency of 20 ms plus an exponential 10 ms tail and never go backwards.

``make_stream(..., events_per_second=SPARSE_EVENTS_PER_SECOND)`` is the bench's
second, sparse stream. The rate only stretches the clock: the random draws are
the same, so for one seed both rates give the same rows (kinds, sides, prices,
sizes) with different timestamps. Fewer rows per second means fewer rows between
two requotes of a timer-driven strategy, so per-requote costs weigh more.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from numba import njit

from sim.marketdata import EventColumns, EventKind, day_start_ns
from sim.types import MarketInfo

#: Bump when the generator's output changes, so cached streams are rebuilt.
STREAM_VERSION = 1

TICK = 0.01
EVENTS_PER_SECOND = 1_400.0  # the default stream's rows per simulated second
#: The sparse stream: ~30 rows between two 100 ms requotes instead of ~140.
SPARSE_EVENTS_PER_SECOND = 300.0
SAME_TS_PROB = 0.5  # a row shares the previous row's timestamp (one message, several levels)
TRADE_ROW_SHARE = 0.13  # target share of TRADE rows; each trade also brings one LEVEL_CHANGE
FAIR_STEP_TICKS = 0.003  # stdev of the fair value's per-row step, in ticks
JUMP_PROB = 2e-6  # per row: the fair value jumps 1..4 ticks
PULL_GAP = 0.3  # a touch this many ticks on the wrong side of fair is pulled
IMPROVE_GAP = 0.1  # a spread is narrowed only to a price this far inside fair
FEED_LATENCY_NS = 20_000_000
FEED_JITTER_NS = 10_000_000
#: The stream starts at 12:00 UTC of this day, so an hour or more stays on one UTC day.
STREAM_DAY = dt.date(2026, 11, 2)
START_NS = day_start_ns(STREAM_DAY) + 12 * 3_600 * 1_000_000_000

_RESET = int(EventKind.BOOK_RESET)
_SNAP = int(EventKind.SNAPSHOT_LEVEL)
_LEVEL = int(EventKind.LEVEL_CHANGE)
_TRADE = int(EventKind.TRADE)


def bench_market() -> MarketInfo:
    """The one market of the benchmark stream (its YES token is asset 0)."""
    base = 10**76 + 424_242
    return MarketInfo(
        condition_id="0x" + "be" * 32,
        question="Benchmark market: will the seeded random walk end above 0.50?",
        yes_token_id=str(base),
        no_token_id=str(base + 1),
        tick_size=TICK,
        slug="bench-market",
    )


def bench_assets() -> tuple[str, ...]:
    m = bench_market()
    return (m.yes_token_id, m.no_token_id)


def make_stream(
    n_events: int = 5_000_000, seed: int = 1, *, events_per_second: float = EVENTS_PER_SECOND
) -> EventColumns:
    """Exactly ``n_events`` rows of the benchmark market's YES book, deterministic per
    ``(n_events, seed, events_per_second)``; ``events_per_second`` is the mean number of
    rows per second of simulated time."""
    if n_events < 200:
        raise ValueError("n_events must be at least 200 (the opening snapshot takes up to 100)")
    if not (np.isfinite(events_per_second) and events_per_second > 0):
        raise ValueError(f"events_per_second must be finite and > 0, got {events_per_second!r}")
    ts_ex = np.empty(n_events, np.int64)
    ts_recv = np.empty(n_events, np.int64)
    kind = np.empty(n_events, np.uint8)
    side = np.empty(n_events, np.int8)
    price = np.empty(n_events, np.float64)
    size = np.empty(n_events, np.float64)
    _generate(
        n_events,
        seed,
        START_NS,
        float(events_per_second),
        SAME_TS_PROB,
        TRADE_ROW_SHARE / (1.0 - TRADE_ROW_SHARE),  # P(trade) per step: 2 rows vs 1 row
        FAIR_STEP_TICKS,
        JUMP_PROB,
        FEED_LATENCY_NS,
        FEED_JITTER_NS,
        ts_ex,
        ts_recv,
        kind,
        side,
        price,
        size,
    )
    return EventColumns(
        ts_exchange_ns=ts_ex,
        ts_recv_ns=ts_recv,
        seq=np.arange(1, n_events + 1, dtype=np.int64),
        asset=np.zeros(n_events, np.int32),
        kind=kind,
        side=side,
        price=price,
        size=size,
        assets=bench_assets(),
    )


def simulated_seconds(cols: EventColumns) -> float:
    """Exchange time the stream spans, in seconds."""
    if len(cols) == 0:
        return 0.0
    return float(cols.ts_exchange_ns[-1] - cols.ts_exchange_ns[0]) / 1e9


# -- the kernel ----------------------------------------------------------------------


@njit(cache=True)
def _level_size(dist: int) -> float:
    """A resting level's size in shares: lognormal, median ~200, larger further out."""
    s = np.exp(5.3 + 1.1 * np.random.standard_normal()) * (1.0 + dist / 15.0)
    if np.random.random() < 0.5:
        s = np.floor(s)  # many orders are whole shares
    s = np.round(s * 100.0) / 100.0
    return max(s, 5.0)  # Polymarket's usual minimum order size


@njit(cache=True)
def _trade_size() -> float:
    return max(np.round(np.exp(3.4 + 1.3 * np.random.standard_normal()) * 100.0) / 100.0, 1.0)


@njit(cache=True)
def _scan_bid(bid, start):
    i = start
    while i >= 1 and bid[i] <= 0.0:
        i -= 1
    return i  # 0 when the side is empty


@njit(cache=True)
def _scan_ask(ask, start):
    i = start
    while i <= 99 and ask[i] <= 0.0:
        i += 1
    return i  # 100 when the side is empty


@njit(cache=True)
def _generate(
    n,
    seed,
    start_ns,
    rate,
    same_ts_prob,
    trade_prob,
    fair_step,
    jump_prob,
    lat_ns,
    jitter_ns,
    ts_ex,
    ts_recv,
    kind,
    side,
    price,
    size,
):
    np.random.seed(seed)
    bid = np.zeros(101)
    ask = np.zeros(101)
    fair = 30.0 + 40.0 * np.random.random()  # in ticks
    t = 0.0  # exact exchange time since start_ns, ns
    recv = start_ns + lat_ns
    # The clock advances once per step (a trade step writes 2 rows, a level step 1) and only
    # on a new message, so this gap gives ``rate`` rows per second on average.
    rows_per_step = 1.0 + trade_prob
    mean_gap = 1e9 * rows_per_step / rate / (1.0 - same_ts_prob)

    # -- the opening snapshot --------------------------------------------------------
    tb = int(np.floor(fair))
    ta = tb + 1
    r = 0
    ts_ex[r] = start_ns
    ts_recv[r] = recv
    kind[r] = 1  # BOOK_RESET
    side[r] = 0
    price[r] = 0.0
    size[r] = 0.0
    r += 1
    for d in range(99):
        for sd in (1, -1):
            p = tb - d if sd == 1 else ta + d
            if p < 1 or p > 99:
                continue
            keep = 0.9 if d < 30 else 0.3
            if d > 0 and np.random.random() > keep:
                continue
            s = _level_size(d)
            if sd == 1:
                bid[p] = s
            else:
                ask[p] = s
            ts_ex[r] = start_ns
            ts_recv[r] = recv
            kind[r] = 2  # SNAPSHOT_LEVEL
            side[r] = sd
            price[r] = p / 100.0
            size[r] = s
            r += 1
    best_bid = _scan_bid(bid, 99)
    best_ask = _scan_ask(ask, 1)

    # -- the stream ------------------------------------------------------------------
    while r < n:
        # the clock: a new message, or another row of the current one
        if np.random.random() >= same_ts_prob:
            t += np.random.exponential(mean_gap)
            lat = lat_ns + int(np.random.exponential(jitter_ns))
            recv = max(recv, start_ns + int(t) // 1_000_000 * 1_000_000 + lat)
        ex = start_ns + int(t) // 1_000_000 * 1_000_000

        # the fair value walks, with rare jumps, and stays inside (3, 97) ticks
        fair += fair_step * np.random.standard_normal()
        if np.random.random() < jump_prob:
            j = 1.0 + np.floor(4.0 * np.random.random())
            fair += j if np.random.random() < 0.5 else -j
        if fair < 3.0:
            fair = 6.0 - fair
        if fair > 97.0:
            fair = 194.0 - fair
        tb = int(np.floor(fair))
        ta = tb + 1

        if r + 1 < n and best_bid >= 1 and best_ask <= 99 and np.random.random() < trade_prob:
            # a trade at the touch, then the level change it caused (same timestamp)
            mid = 0.5 * (best_bid + best_ask)
            p_buy = 0.5 + 0.3 * np.tanh(fair - mid)
            buy = np.random.random() < p_buy
            lvl = best_ask if buy else best_bid
            avail = ask[lvl] if buy else bid[lvl]
            q = min(_trade_size(), avail)  # a larger taker takes the whole top level
            left = np.round((avail - q) * 100.0) / 100.0
            if left < 0.01:
                left = 0.0
            for k in range(2):
                ts_ex[r] = ex
                ts_recv[r] = recv
                price[r] = lvl / 100.0
                if k == 0:
                    kind[r] = 4  # TRADE, side = taker side
                    side[r] = 1 if buy else -1
                    size[r] = q
                else:
                    kind[r] = 3  # LEVEL_CHANGE on the resting side
                    side[r] = -1 if buy else 1
                    size[r] = left
                r += 1
            if buy:
                ask[lvl] = left
                if left == 0.0:
                    best_ask = _scan_ask(ask, lvl)
            else:
                bid[lvl] = left
                if left == 0.0:
                    best_bid = _scan_bid(bid, lvl)
            continue

        # one level change
        sd = 0
        p = 0
        s = 0.0
        u = np.random.random()
        # hysteresis: a touch is improved only a bit inside fair and pulled only well past it,
        # so a fair value hovering near a tick does not make the touch flicker
        bid_up = best_bid + 1 < best_ask and best_bid + 1 <= fair - IMPROVE_GAP
        ask_down = best_ask - 1 > best_bid and best_ask - 1 >= fair + IMPROVE_GAP
        if best_bid < 1:  # an empty side is refilled first (or the lone side is pulled)
            sd = 1
            p = min(tb, best_ask - 1)
            s = _level_size(0)
            if p < 1:
                sd = -1
                p = best_ask
                s = 0.0
        elif best_ask > 99:
            sd = -1
            p = max(ta, best_bid + 1)
            s = _level_size(0)
            if p > 99:
                sd = 1
                p = best_bid
                s = 0.0
        elif best_bid > fair + PULL_GAP and u < 0.5:  # the bid is above fair: pull it
            sd = 1
            p = best_bid
        elif best_ask < fair - PULL_GAP and u < 0.5:  # the ask is below fair: pull it
            sd = -1
            p = best_ask
        elif (bid_up or ask_down) and u < 0.3:  # a wide spread gets improved toward fair
            if bid_up and (not ask_down or np.random.random() < 0.5):
                sd = 1
                p = best_bid + 1
            else:
                sd = -1
                p = best_ask - 1
            s = _level_size(0)
        else:  # a size change, add or cancel a few ticks from the touch
            sd = 1 if np.random.random() < 0.5 else -1
            d = min(np.random.geometric(0.3) - 1, 40)
            p = best_bid - d if sd == 1 else best_ask + d
            if p < 1:
                p = best_bid
                d = 0
            if p > 99:
                p = best_ask
                d = 0
            old = bid[p] if sd == 1 else ask[p]
            if old > 0.0:
                if np.random.random() < (0.01 if d == 0 else 0.12):
                    s = 0.0
                else:
                    if np.random.random() < 0.5:  # an order joins the level
                        s = old + np.random.random() * _level_size(d)
                    else:  # an order leaves it, or part of one does
                        s = old * (0.5 + 0.5 * np.random.random())
                    s = np.round(s * 100.0) / 100.0
                    if s < 5.0:
                        s = 0.0
            else:
                s = _level_size(d)
        ts_ex[r] = ex
        ts_recv[r] = recv
        kind[r] = 3
        side[r] = sd
        price[r] = p / 100.0
        size[r] = s
        r += 1
        if sd == 1:
            bid[p] = s
            if s > 0.0:
                if p > best_bid:
                    best_bid = p
            elif p == best_bid:
                best_bid = _scan_bid(bid, p)
        else:
            ask[p] = s
            if s > 0.0:
                if p < best_ask:
                    best_ask = p
            elif p == best_ask:
                best_ask = _scan_ask(ask, p)
