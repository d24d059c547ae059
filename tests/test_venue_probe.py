"""Network health (``live/venue_probe.py``): the venue's ``GET /time`` asked on its own
thread; down after ``fail_after`` failures in a row (alerted, ``/readyz`` 503,
``clobsim_venue_up 0``), up again at the first answer."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from live.ops_server import OpsServer
from live.venue_probe import VenueProbe
from sim.executor.alerts import MemoryAlerter
from tests.test_notify import Hook
from tests.test_ops_server import get


@pytest.fixture
def venue():
    h = Hook()
    yield h
    h.server.shutdown()


def host_of(hook: Hook) -> str:
    return f"http://127.0.0.1:{hook.server.server_address[1]}"


def test_down_after_failures_in_a_row_and_up_at_the_first_answer(venue) -> None:
    alerts = MemoryAlerter()
    probe = VenueProbe(host_of(venue), fail_after=3, alerter=alerts, now_ns=lambda: 7)
    assert probe.probe() and probe.up and probe.last_latency_s is not None
    venue.get_status = 503
    assert not probe.probe() and not probe.probe()
    assert probe.up and alerts.alerts == []  # two failures: not yet down
    assert not probe.probe()
    assert not probe.up and probe.last_error == "HTTP 503"
    (down,) = alerts.alerts
    assert (down.level, down.kind, down.ts_ns) == ("critical", "venue_down", 7)
    assert "3 probes" in down.message and "HTTP 503" in down.message
    probe.probe()
    assert len(alerts.alerts) == 1  # still down: said once
    venue.get_status = 200
    assert probe.probe() and probe.up
    assert [a.kind for a in alerts.alerts] == ["venue_down", "venue_up"]
    assert (probe.probes, probe.failures) == (6, 4)
    probe.stop()


def test_a_refused_connection_counts_as_a_failure() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens
    alerts = MemoryAlerter()
    probe = VenueProbe(f"http://127.0.0.1:{port}", fail_after=1, timeout_s=2.0, alerter=alerts)
    assert not probe.probe()
    assert "ConnectError" in probe.last_error and alerts.kinds() == ["venue_down"]
    probe.stop()


def test_a_probe_that_fails_in_a_row_is_not_ready_on_the_ops_endpoint(venue) -> None:
    import tempfile
    from pathlib import Path

    from tests.test_faults_helpers import Script, backtest, write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        _, bt, _ = backtest(write_dataset(Path(tmp)), Script())
    probe = VenueProbe(host_of(venue), fail_after=1)
    ops = OpsServer(bt.session, stuck_s=3600.0, probe=probe).start()
    try:
        probe.probe()
        assert get(ops.url + "/readyz")[0] == 200
        metrics = get(ops.url + "/metrics")[1]
        assert "clobsim_venue_up 1.0" in metrics
        assert 'clobsim_call_seconds_count{kind="probe"} 1.0' in metrics
        venue.get_status = 500
        probe.probe()
        code, body = get(ops.url + "/readyz")
        assert code == 503 and json.loads(body)["why"] == ["venue unreachable: HTTP 500"]
        assert "clobsim_venue_up 0.0" in get(ops.url + "/metrics")[1]
        status = json.loads(get(ops.url + "/status")[1])
        assert status["venue"]["up"] is False and status["venue"]["failures"] == 1
    finally:
        ops.stop()
        probe.stop()


def test_the_thread_probes_until_stopped(venue) -> None:
    probe = VenueProbe(host_of(venue), interval_s=0.01).start()
    for _ in range(500):
        if probe.probes >= 3:
            break
        urllib.request.urlopen(host_of(venue) + "/time", timeout=5).read()  # paces the loop
    probe.stop()
    n = probe.probes
    assert n >= 3 and not probe._thread.is_alive()
    assert probe.probes == n  # stopped means stopped


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="fail_after"):
        VenueProbe("http://127.0.0.1:1", fail_after=0)
