"""A trading process killed with SIGKILL mid-run restarts, losing nothing, doubling nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sim.clock import SimClock
from sim.executor import Executor, ExecutorConfig, TradingState
from sim.journal import JournalError, MemoryJournal, SqliteJournal
from sim.types import OrderStatus, OrderType
from sim.venue import VenueUnavailable
from tests.helpers import make_market
from tests.persistent_venue import PersistentVenue
from tests.test_executor_faults import YES, fill_of, setup
from tests.test_executor_faults import M as FM

ROOT = Path(__file__).resolve().parents[1]
TARGET = 40


def start(journal: Path, venue: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "executor_proc.py"), str(journal), str(venue),
         str(TARGET)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip


@pytest.mark.parametrize("kill_after", [1, 7, 23])
def test_sigkill_mid_run_then_restart(tmp_path: Path, kill_after: int) -> None:
    journal, venue_file = tmp_path / "journal.sqlite", tmp_path / "venue.json"
    proc = start(journal, venue_file)
    placed = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        placed += line.startswith("PLACED")
        if placed >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    proc = start(journal, venue_file)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"DONE {TARGET}" in out

    market = make_market(0, 0.01)
    venue = PersistentVenue(venue_file, market, SimClock(0))
    orders = venue.orders_by_cid()
    assert len(orders) == TARGET  # nothing doubled: exactly the target reached the venue
    with SqliteJournal(journal) as j:
        ex = Executor(venue, SimClock(0), cash_usdc=1_000.0, markets=[market], journal=j,
                      config=ExecutorConfig(kill_switch_path=str(tmp_path / "K")))  # fmt: skip
        report = ex.recover()
        assert not [r for r in report if "never journaled" in r], report
        tracked = {c for c, o in ex.tracker.orders.items() if o.status is OrderStatus.FILLED}
        assert tracked == set(orders)  # nothing lost: every venue order is ours and filled
        assert ex.tracker.positions[market.yes_token_id] == pytest.approx(
            venue.positions()[market.yes_token_id]
        )
        assert ex.tracker.cash_usdc == pytest.approx(venue.balance(deadline_s=1).total_usdc)


# -- the trading state: every transition journaled, restored by a restart --------------------
def _restart(ex: Executor, venue, clock) -> Executor:
    """A new process over the same journal and venue (the first process's cash at start)."""
    again = Executor(venue, clock, cash_usdc=1_000.0, config=ex.config, books=venue.book,
                     markets=[FM], journal=ex.journal)  # fmt: skip
    again.recover()
    return again


def _transitions(ex: Executor) -> list[tuple[str, str, str]]:
    records = ex.journal.records(kinds=["trading_state", "kill_switch"])
    return [(r.kind, r.key, r.payload.get("reason", r.payload.get("state", ""))) for r in records]


def _venue_down(*args, deadline_s: float):
    raise VenueUnavailable("503", call="open_orders", status=503)


def test_a_new_day_lifts_the_slippage_breaker_for_good(tmp_path: Path) -> None:
    cfg = ExecutorConfig(kill_switch_path=str(tmp_path / "K"), slippage_breaker_fills=1)
    ex, venue, clock = setup(tmp_path, config=cfg)
    ack = ex.buy(YES, 0.52, 10.0, order_type=OrderType.FAK)
    ex.on_venue_event(fill_of(venue, ack.client_order_id, 10.0, 0.54, "T1"))
    assert ex.state is TradingState.REDUCING and ex.state_reason == "slippage_breaker"
    clock.sleep(86_400.0)
    assert ex.buy(YES, 0.40, 1.0).accepted  # a new day
    assert _transitions(ex) == [("trading_state", "REDUCING", "slippage_breaker"),
                                ("trading_state", "ACTIVE", "new day")]  # fmt: skip
    assert _restart(ex, venue, clock).state is TradingState.ACTIVE  # not the breaker again


def test_a_failed_reconcile_survives_a_restart_until_one_succeeds(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    venue.open_orders = _venue_down
    assert ex.reconcile()[0].startswith("reconcile failed")
    assert (ex.state, ex.state_reason) == (TradingState.REDUCING, "reconcile_failed")
    again = _restart(ex, venue, clock)  # the venue is still down
    assert (again.state, again.state_reason) == (TradingState.REDUCING, "reconcile_failed")
    assert again.buy(YES, 0.40, 1.0).reason == "reconcile_failed"
    del venue.open_orders
    assert not [r for r in again.reconcile() if r.startswith("reconcile failed")]
    assert again.state is TradingState.ACTIVE and again.buy(YES, 0.40, 1.0).accepted
    assert _transitions(again) == [("trading_state", "REDUCING", "reconcile_failed"),
                                   ("trading_state", "ACTIVE", "reconciled")]  # fmt: skip
    assert _restart(again, venue, clock).state is TradingState.ACTIVE


def test_a_halt_survives_a_restart_and_only_an_operator_lifts_it(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    ex.halt("strategy asked: stop")  # no kill-switch file: only the journal remembers
    venue.open_orders = _venue_down
    again = _restart(ex, venue, clock)  # and its reconcile fails: still a halt
    assert (again.state, again.state_reason) == (TradingState.HALTED, "strategy asked: stop")
    again._reduce("daily_loss")  # a breaker does not soften a halt either
    assert again.state is TradingState.HALTED and again.buy(YES, 0.40, 1.0).reason == "halted"
    del venue.open_orders
    again.reset_kill_switch()
    assert again.state is TradingState.ACTIVE
    assert _transitions(again) == [("kill_switch", "HALTED", "strategy asked: stop"),
                                   ("kill_switch", "reset", "ACTIVE")]  # fmt: skip
    assert _restart(again, venue, clock).state is TradingState.ACTIVE


def _cancel_all_down(*args, deadline_s: float):
    raise VenueUnavailable("503", call="cancel_all", status=503)


def test_a_restart_into_a_halt_cancels_the_orders_the_halt_could_not(tmp_path: Path) -> None:
    ex, venue, clock = setup(tmp_path)
    cid = ex.buy(YES, 0.40, 10.0).client_order_id
    venue.cancel_all = _cancel_all_down  # the halt's cancel-all never lands ...
    ex.halt("operator: stop")
    assert venue.open_orders(deadline_s=1.0)  # ... so the order still rests at the venue
    del venue.cancel_all  # the venue is back when the process restarts
    again = _restart(ex, venue, clock)
    assert again.state is TradingState.HALTED
    assert venue.open_orders(deadline_s=1.0) == []
    assert again.tracker.orders[cid].status is OrderStatus.CANCELED


class _FlakyJournal(MemoryJournal):
    broken = False

    def append(self, kind, ts_ns, key, payload):
        if self.broken:
            raise JournalError("not_writable", "disk full")
        return super().append(kind, ts_ns, key, payload)


def test_a_transition_the_journal_cannot_take_still_happens_and_fails_closed(
    tmp_path: Path,
) -> None:
    journal = _FlakyJournal()
    ex, _, _ = setup(tmp_path, journal=journal)
    journal.broken = True
    ex.halt("operator drill")
    assert ex.state is TradingState.HALTED and "journal" in ex.memory_alerts.kinds()
    ex.reset_kill_switch()  # resuming cannot be made durable: no new risk instead
    assert (ex.state, ex.state_reason) == (TradingState.REDUCING, "journal_unavailable")


@pytest.mark.parametrize(
    ("records", "state", "reason"),
    [
        ([("kill_switch", "HALTED", {"reason": "kill switch: api"})], "HALTED",
         "kill switch: api"),
        ([("kill_switch", "HALTED", {"reason": "x"}), ("kill_switch", "reset",
          {"state": "ACTIVE"})], "ACTIVE", ""),
        ([("trading_state", "REDUCING", {"reason": "daily_loss"})], "REDUCING", "daily_loss"),
        ([("trading_state", "REDUCING", {"reason": "daily_loss"}),
          ("trading_state", "ACTIVE", {"reason": "breakers reset"})], "ACTIVE", ""),
    ],
)  # fmt: skip
def test_journals_written_before_the_state_machine_replay_the_same(
    tmp_path: Path, records: list, state: str, reason: str
) -> None:
    journal = MemoryJournal()
    for i, (kind, key, payload) in enumerate(records):
        journal.append(kind, 10**18 + i, key, payload)
    ex, _, _ = setup(tmp_path, journal=journal)
    ex.recover()
    assert (ex.trading_state, ex.state_reason) == (state, reason)
