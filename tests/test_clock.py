"""Clocks: simulated time never sleeps for real; timers fire in order, deterministically."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.clock import Deadline, SimClock, WallClock


def test_sim_sleep_advances_simulated_time_only(monkeypatch) -> None:
    def no_real_sleep(seconds: float) -> None:
        raise AssertionError("SimClock must never sleep for real")

    monkeypatch.setattr(time, "sleep", no_real_sleep)
    clock = SimClock(start_ns=1_000)
    clock.sleep(3600.0)  # an hour of simulated time
    assert clock.now_ns() == 1_000 + 3600 * 10**9


def test_sim_clock_refuses_to_go_back() -> None:
    clock = SimClock(start_ns=100)
    clock.advance_to(200)
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(150)


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
def test_sleep_rejects_negative_and_nan(bad: float) -> None:
    with pytest.raises(ValueError):
        SimClock().sleep(bad)


def test_deadline_expires_in_simulated_time() -> None:
    clock = SimClock(start_ns=0)
    d = Deadline.after(clock, 5.0)
    assert not d.expired() and d.remaining_s() == 5.0
    clock.sleep(4.999)
    assert not d.expired()
    clock.sleep(0.001)
    assert d.expired() and d.remaining_s() == 0.0


@given(st.lists(st.tuples(st.integers(0, 10**6), st.text(max_size=3)), max_size=50))
def test_timers_pop_in_due_order_ties_in_schedule_order(specs: list[tuple[int, str]]) -> None:
    clock = SimClock()
    timers = [clock.schedule(name, at) for at, name in specs]
    fired = clock.pop_due(10**6)
    expected = sorted(range(len(specs)), key=lambda i: (specs[i][0], i))
    assert [t.order for t in fired] == [timers[i].order for i in expected]
    assert clock.next_timer_ns() is None


def test_repeating_timer_rearms_and_cancel_stops_it() -> None:
    clock = SimClock()
    t = clock.schedule("tick", 10, every_s=1e-9 * 5)
    assert [x.due_ns for x in clock.pop_due(20)] == [10, 15, 20]
    assert clock.next_timer_ns() == 25
    t.cancel()
    assert clock.pop_due(10**9) == []
    assert clock.next_timer_ns() is None


def test_wall_clock_reads_real_time() -> None:
    clock = WallClock()
    a = clock.now_ns()
    assert abs(a - time.time_ns()) < 10**9
