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
