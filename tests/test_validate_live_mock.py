"""``clobsim validate --live-mock``: the scenarios through the live adapter (LiveVenue,
both WebSocket channels, the REST poller, the journal) against the loopback server,
each network fault injected on the wire, judged by the same checks as the backtest.

One validation runs every live scenario with every mechanism on (each check must
PASS on evidence of its own injection); then each live-only mechanism is turned off
and its check must FAIL. Runs are in-process (``workers = 1``) so monkeypatches
reach them; everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exchange_mock.validation import validate
from exchange_mock.validation.live_scenarios import LIVE_SCENARIOS
from tests.server_helpers import write_dataset

ROOT = Path(__file__).resolve().parents[1]
EVERY = [sc.name for sc in LIVE_SCENARIOS if sc.name != "baseline"]


def write_config(tmp: Path, data: Path, scenarios: list[str]) -> Path:
    shutil.copy(ROOT / "examples" / "live_drill.py", tmp / "live_drill.py")
    listed = ", ".join(f'"{s}"' for s in scenarios)
    cfg = tmp / "drill.toml"
    cfg.write_text(f"""
mode = "live"
cash_usdc = 1000.0
seed = 7

[data]
path = "{data}"
markets = ["test-market-0"]

[strategy]
name = "live_drill:LiveDrill"

[strategy.params]
take_shares = 20.0

[executor]
feed_silence_s = 30.0

[executor.limits]
max_orders_per_day = 50000

[venue]
kind = "polymarket"
ws_ping_s = 1.0
ws_pong_timeout_s = 2.0
ws_silence_s = 3.0
user_poll_s = 1.0

[validation]
days = 1
seeds = [1]
scenarios = ["baseline"]
workers = 1

[validation.live_mock]
enabled = true
seconds = 10
speed = 30
scenarios = [{listed}]
""")
    return cfg


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("live_mock_data") / "ds", minutes=20)


def run(tmp: Path, data: Path, scenarios: list[str]) -> dict:
    return validate(write_config(tmp, data, scenarios), tmp / "out")


def live_checks(report: dict) -> dict[tuple[str, str], dict]:
    return {(c["scenario"], c["name"]): c for c in report["checks"]
            if c["scenario"].startswith("live-mock/")}  # fmt: skip


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory, data: Path) -> dict:
    return run(tmp_path_factory.mktemp("live_mock_healthy"), data, EVERY)


def test_every_network_fault_is_survived_through_the_live_adapter(healthy: dict) -> None:
    checks = live_checks(healthy)
    scenarios = {s.removeprefix("live-mock/") for s, _ in checks}
    assert scenarios == {sc.name for sc in LIVE_SCENARIOS}
    failed = {k: c["evidence"] for k, c in checks.items() if c["status"] != "PASS"}
    assert not failed
    for (scenario, _), c in checks.items():
        if scenario != "live-mock/baseline":
            ev = c["evidence"]
            assert ev.get("injected", 1) > 0 or ev.get("halts_after_drill", 0) > 0, scenario
    runs = {r["scenario"]: r for r in healthy["runs"]}
    assert runs["live-mock/baseline"]["orders"] > 5 and runs["live-mock/baseline"]["fills"] > 0
    assert healthy["live_mock"]["speed"] == 30 and healthy["run_failures"] == []


def test_the_report_shows_the_live_path_beside_the_backtest(healthy: dict) -> None:
    names = [c["scenario"] for c in healthy["checks"]]
    assert "baseline" in names and "live-mock/api_timeouts" in names
    timeouts = live_checks(healthy)[("live-mock/api_timeouts", "api_timeouts")]["evidence"]
    assert timeouts["calls_over_deadline"] == 0 and timeouts["doubled_orders"] == 0
    assert timeouts["timeouts_caused"] > 0


def _fails(report: dict, scenario: str, name: str) -> dict:
    c = live_checks(report)[(f"live-mock/{scenario}", name)]
    assert c["status"] == "FAIL", c["evidence"]
    return c["evidence"]


def test_a_silent_socket_goes_unseen_without_the_channels_silence_verdict(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from live import market_feed

    verdict = market_feed.MarketChannel._verdict

    def no_silence_verdict(self, sock, now):
        got = verdict(self, sock, now)
        return None if got is not None and got[0] == market_feed.DROP_SILENCE else got

    monkeypatch.setattr(market_feed.MarketChannel, "_verdict", no_silence_verdict)
    ev = _fails(run(tmp_path, data, ["ws_silent"]), "ws_silent", "websocket_heartbeat")
    assert ev["injected"] == 1 and ev["injected_silences_detected"] == 0


def test_cancel_only_answers_are_hammered_when_read_as_transient(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("live.clob_api._MODES", frozenset())
    ev = _fails(run(tmp_path, data, ["cancel_only"]), "cancel_only", "exchange_modes")
    assert ev["injected"] > 0 and ev["places_refused_in_window"] == 0


def test_stalled_calls_overrun_their_deadline_without_the_outer_deadline(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from live.clob_api import ClobApi

    call = ClobApi.call

    def unbounded(self, kind, fn, *args, deadline_s):
        return call(self, kind, fn, *args, deadline_s=60.0)  # the deadline is not passed on

    monkeypatch.setattr(ClobApi, "call", unbounded)
    ev = _fails(run(tmp_path, data, ["api_timeouts"]), "api_timeouts", "api_timeouts")
    assert ev["injected"] > 0 and ev["calls_over_deadline"] > 0


def test_failed_trades_leave_a_position_gap_when_fills_are_not_reversed(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sim.executor.Executor.on_fill_reversed", lambda self, event: None)
    ev = _fails(run(tmp_path, data, ["trade_failures"]), "trade_failures", "trade_failures")
    assert ev["injected"] > 0
    assert ev["fills_reversed"] == 0 or ev["max_position_gap_shares"] > 0
