"""``clobsim kill CONFIG`` trips the kill switch a run of that config watches (and
``--reset`` removes it): an executor on the same file refuses the next order."""

from __future__ import annotations

from pathlib import Path

from sim.cli import main
from sim.executor import Executor, ExecutorConfig
from tests.test_faults_helpers import M, write_dataset


def test_kill_trips_and_resets_the_switch_a_run_watches(tmp_path: Path, monkeypatch) -> None:
    from exchange_mock.sim_venue import SimVenue
    from sim.clock import SimClock
    from sim.marketdata import Dataset, day_start_ns
    from tests.helpers import DAY

    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "run.toml"
    cfg.write_text('[data]\npath = "ds"\n[executor]\nkill_switch_path = "state/KILL"\n')
    data = write_dataset(tmp_path / "ds")
    clock = SimClock(day_start_ns(DAY))
    venue = SimVenue(Dataset.open(data), clock=clock, cash_usdc=1_000.0)
    clock.advance_to(venue.first_event_ns())
    ex = Executor(venue, clock, cash_usdc=1_000.0, markets=[M],
                  config=ExecutorConfig(kill_switch_path="state/KILL"))  # fmt: skip
    assert ex.buy(M.yes_token_id, 0.40, 5.0).accepted
    assert main(["kill", str(cfg), "--reason", "drill"]) == 0
    assert (tmp_path / "state" / "KILL").read_text() == "drill\n"
    refused = ex.buy(M.yes_token_id, 0.40, 5.0)
    assert not refused.accepted and refused.reason == "halted"
    assert main(["kill", str(cfg), "--reset"]) == 0
    assert not (tmp_path / "state" / "KILL").exists()
