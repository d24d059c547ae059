"""The health and metrics endpoint (``live/ops_server.py``) on 127.0.0.1: liveness,
readiness that names every reason it is not ready (feed down, halted, a stuck loop,
venue calls failing), a status document, and Prometheus metrics of the session."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from live.ops_server import OpsServer
from tests.test_faults_helpers import Script, backtest, buy, write_dataset


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory):
    root = write_dataset(tmp_path_factory.mktemp("ops"))
    strategy = Script((1.0, buy(0.52, 5.0)), (2.0, buy(0.47, 5.0)), (3.0, buy(0.9, 1e6)))
    _, bt, _ = backtest(root, strategy)
    return bt.session


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture
def ops(session):
    server = OpsServer(session, stuck_s=3600.0).start()
    yield server
    server.stop()
    session.executor.on_feed_state(True, "")


def test_it_binds_loopback_and_answers_liveness(ops) -> None:
    assert ops.host == "127.0.0.1"
    assert get(ops.url + "/healthz") == (200, '{"status": "alive"}')
    code, body = get(ops.url + "/nope")
    assert code == 404 and "/readyz" in body


def test_readiness_names_every_reason(ops, session) -> None:
    assert get(ops.url + "/readyz")[0] == 200
    session.executor.on_feed_state(False, "market channel down: dropped")
    session.executor.caller.stats["place"].last_failed = True
    code, body = get(ops.url + "/readyz")
    why = json.loads(body)["why"]
    assert code == 503
    assert any("market feed" in w for w in why) and any("place" in w for w in why)
    session.executor.caller.stats["place"].last_failed = False
    ops.stuck_s = 0.0  # the (finished) engine loop no longer turns: stuck
    ops.loop_age_s()
    assert any("has not turned" in w for w in json.loads(get(ops.url + "/readyz")[1])["why"])


def test_status_and_metrics_tell_the_same_session(ops, session) -> None:
    status = json.loads(get(ops.url + "/status")[1])
    ex = session.executor
    assert status["orders"] == len(ex.tracker.orders) >= 2
    assert status["fills"] == len(ex.tracker.fills) >= 1
    assert status["state"] == ex.trading_state
    code, text = get(ops.url + "/metrics")
    assert code == 200
    assert f"clobsim_orders_total {float(len(ex.tracker.orders))}" in text
    assert 'clobsim_calls_total{kind="place"}' in text
    assert "clobsim_feed_up 1.0" in text
    refusals = {r.reason for r in ex.refusals}
    assert refusals and all(f'clobsim_refusals_total{{reason="{r}"}}' in text for r in refusals)


def test_call_latencies_become_a_histogram(ops, session) -> None:
    session.executor.caller.observe("place", 0.02)  # what every attempt reports now
    text = get(ops.url + "/metrics")[1]
    assert 'clobsim_call_seconds_bucket{kind="place",le="0.025"} 1.0' in text


def test_clobsim_status_reads_the_endpoint_or_the_journal(ops, session, tmp_path, capsys) -> None:
    from live.status_cmd import run_status
    from sim.journal import SqliteJournal

    assert run_status(ops.url, None, True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ready"] is True and doc["orders"] == len(session.executor.tracker.orders)
    session.executor.on_feed_state(False, "dropped")
    assert run_status(ops.url, None, False) == 1  # not ready: said, and the exit code
    assert "market feed: dropped" in capsys.readouterr().out
    path = tmp_path / "journal.sqlite"
    journal = SqliteJournal(str(path))
    journal.append("order_new", 1, "cs-1", {"x": 1})
    journal.append("trading_state", 2, "HALTED", {"reason": "operator"})
    journal.close()
    assert run_status(None, str(path), True) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["state"], doc["reason"], doc["records"]["order_new"]) == ("HALTED", "operator", 1)
