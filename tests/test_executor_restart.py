"""A trading process killed with SIGKILL mid-run restarts, losing nothing, doubling nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sim.clock import SimClock
from sim.executor import Executor, ExecutorConfig
from sim.journal import SqliteJournal
from sim.types import OrderStatus
from tests.helpers import make_market
from tests.persistent_venue import PersistentVenue

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
