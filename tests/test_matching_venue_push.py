"""The matching venue is one object for every driver: rows pushed one by one (as a live
feed delivers them, paper mode) give the same fills as the replay driver on the same rows.

Both runs use the bundled sample's busiest BTC 15-minute market and the same scripted
order flow: every 20 s, cancel what rests and join the best bid of both tokens (a NO
BUY rests on the YES book's ask side), so fills come from both tokens' trade prints and
from book moves. Latencies are zero so "the rows known when the order arrives" is the
same rule for both drivers: every row up to the first one timed after the order.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from exchange_mock.clob.state import grid_for_ticks
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.sim_venue import replay_venue
from sim.clock import SimClock
from sim.marketdata import Dataset, EventKind
from sim.types import OrderRequest, OrderType, Side

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
MARKET = "btc-updown-15m-1793615400"
STEP_NS = 20 * 1_000_000_000
DEADLINE_S = 5.0


class Script:
    """The order flow: at each step, cancel both resting orders and join both best bids."""

    def __init__(self, venue: MatchingVenue, yes: str, no: str) -> None:
        self.venue, self.tokens, self.n, self.resting = venue, (yes, no), 0, []

    def step(self) -> None:
        v = self.venue
        if self.resting:
            v.cancel_many(self.resting, deadline_s=DEADLINE_S)
            self.resting = []
        for token in self.tokens:
            bid = v.clob.best_bid(token)
            if bid is None or not 0.0 < bid < 1.0:
                continue
            self.n += 1
            cid = f"o{self.n}"
            ack = v.place(OrderRequest(cid, token, Side.BUY, bid, 25.0, OrderType.GTC),
                          deadline_s=DEADLINE_S)  # fmt: skip
            if ack.accepted:
                self.resting.append(cid)


def _day(ds: Dataset):
    return next(iter(ds.iter_days(markets=[MARKET])))


def _steps(ev) -> list[int]:
    t0, t1 = int(ev.ts_exchange_ns[0]), int(ev.ts_exchange_ns[-1])
    return list(range(t0 + STEP_NS, t1, STEP_NS))


def _fills(venue: MatchingVenue) -> list[tuple]:
    return [dataclasses.astuple(f) for f in venue.fills(0, deadline_s=DEADLINE_S)]


def _replayed(ds: Dataset, steps: list[int]) -> list[tuple]:
    """The backtest's way: the replay driver feeds the venue up to each moment."""
    clock = SimClock(steps[0] - STEP_NS)
    venue, driver = replay_venue(ds, clock=clock, cash_usdc=10_000.0, markets=[MARKET])
    m = next(m for m in ds.markets if m.slug == MARKET)
    script = Script(venue, m.yes_token_id, m.no_token_id)
    for t in steps:
        while driver.time_ns < t and not driver.exhausted:
            driver.advance(t)
        clock.advance_to(max(t, clock.now_ns()))
        script.step()
    driver.advance(2**62)
    return _fills(venue)


def _pushed(ds: Dataset, steps: list[int], twice: frozenset[int] = frozenset()) -> list[tuple]:
    """A live feed's way: every row is pushed on its own, as it arrives (rows in ``twice``
    are pushed a second time)."""
    clock = SimClock(steps[0] - STEP_NS)
    every = list(ds.markets)
    venue = MatchingVenue(every, clock=clock, cash_usdc=10_000.0,
                          grid=grid_for_ticks([m.tick_size for m in every]))  # fmt: skip
    m = next(m for m in ds.markets if m.slug == MARKET)
    script = Script(venue, m.yes_token_id, m.no_token_id)
    day = _day(ds)
    ev, skip = day.events, day.venue_skip
    ts = ev.ts_exchange_ns
    pending = iter(steps)
    t_next = next(pending, None)
    for r in range(len(ev)):
        while t_next is not None and ts[r] > t_next:  # the order goes out before this row
            clock.advance_to(max(t_next, clock.now_ns()))
            venue.expire_until(t_next)
            script.step()
            t_next = next(pending, None)
        venue.choose_book_source(ev, r, r + 1)
        for _ in range(2 if r in twice else 1):
            row, _ = venue.apply_rows(ev, r, r + 1, skip=skip)
            while row <= r:  # it stopped for a fill before the row: finish the row
                row, _ = venue.apply_rows(ev, row, r + 1, skip=skip)
    return _fills(venue)


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return Dataset.open(SAMPLE)


def test_rows_pushed_one_by_one_fill_exactly_as_the_replay_driver(sample):
    steps = _steps(_day(sample).events)
    replayed = _replayed(sample, steps)
    pushed = _pushed(sample, steps)
    assert len(replayed) >= 10  # the flow really trades: a comparison of nothing proves nothing
    sides = {f[3] for f in replayed}  # asset ids: fills on both tokens' orders
    assert len(sides) == 2
    assert pushed == replayed


def test_a_row_pushed_twice_is_not_the_same_run(sample):
    """The comparison can fail: feeding one trade print twice changes the fills."""
    steps = _steps(_day(sample).events)
    replayed = _replayed(sample, steps)
    day = _day(sample)
    trades = np.flatnonzero(day.events.kind == int(EventKind.TRADE))
    assert len(trades)
    pushed = _pushed(sample, steps, frozenset(trades[: len(trades) // 2].tolist()))
    assert pushed != replayed
