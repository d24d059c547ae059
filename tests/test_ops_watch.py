"""Run-wide alerts (``sim.ops_watch``): each rule raised by the fault that causes it, in a
real backtest, and silent when its mechanism is off or the fault is absent."""

from __future__ import annotations

import pytest

from exchange_mock.faults import FaultSpec
from sim.clock import SimClock
from sim.errors import ConfigError
from sim.executor import ExecutorConfig
from sim.executor.config import LimitsConfig
from sim.ops_watch import DAY_NS, AlertsConfig, OpsWatch
from tests.test_faults_helpers import Script, backtest, buy, plan, write_dataset


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("ops_watch"))


def kinds(result, kind: str):
    return result.alerts[result.alerts["kind"] == kind]


def drops(n: int):
    """``n`` market-feed drops of 2 s, 6 s apart."""
    return plan(*(FaultSpec("ws_drop", between_s=(5 + 6 * i, 7 + 6 * i)) for i in range(n)))


STORM = AlertsConfig(check_s=1, reconnect_storm=3, reconnect_window_s=60)


def test_reconnect_storm_is_said_once_per_storm(data):
    result, bt, _ = backtest(data, Script(), drops(4), alerts=STORM)
    downs = [e for e in bt.executor.feed_events if not e[1]]
    assert len(downs) == 4
    storm = kinds(result, "reconnect_storm")
    assert len(storm) == 1
    assert storm["level"].iloc[0] == "critical"
    # said at the first check after the third drop, not before
    said = [a.ts_ns for a in bt.executor.memory_alerts.alerts if a.kind == "reconnect_storm"]
    assert downs[2][0] <= said[0] < downs[3][0]
    # every drop came back: one feed_up per drop, info level
    up = kinds(result, "feed_up")
    assert len(up) == 4 and set(up["level"]) == {"info"}


@pytest.mark.parametrize(
    "n_drops, cfg",
    [(2, STORM), (4, AlertsConfig(check_s=1, reconnect_storm=0, reconnect_window_s=60))],
    ids=["below-threshold", "rule-off"],
)
def test_no_storm_below_threshold_or_when_off(data, n_drops, cfg):
    result, _, _ = backtest(data, Script(), drops(n_drops), alerts=cfg)
    assert len(kinds(result, "reconnect_storm")) == 0
    assert len(kinds(result, "feed_up")) == n_drops  # the drops happened


ERRORS = AlertsConfig(check_s=1, venue_error_rate=0.5, venue_error_min_attempts=4)


def orders_every_second(n: int) -> Script:
    return Script(*((1.0 + i, buy(0.40, 1.0)) for i in range(n)))


def test_venue_errors_alert_when_most_attempts_fail(data):
    faults = plan(FaultSpec("server_error", calls=("place",), rate=1.0))
    result, bt, _ = backtest(data, orders_every_second(6), faults, alerts=ERRORS)
    failed = bt.executor.caller.stats["place"].failed
    assert failed >= 4
    alert = kinds(result, "venue_errors")
    assert len(alert) == 1  # hysteresis: said once while the errors go on
    assert alert["level"].iloc[0] == "warning"
    assert "place" in alert["message"].iloc[0]


@pytest.mark.parametrize(
    "faulty, cfg",
    [(False, ERRORS), (True, AlertsConfig(check_s=1, venue_error_rate=0.0))],
    ids=["no-fault", "rule-off"],
)
def test_no_venue_errors_alert_without_failures_or_when_off(data, faulty, cfg):
    faults = plan(FaultSpec("server_error", calls=("place",), rate=1.0)) if faulty else None
    result, bt, _ = backtest(data, orders_every_second(6), faults, alerts=cfg)
    assert bt.executor.caller.stats["place"].attempts >= 6
    assert len(kinds(result, "venue_errors")) == 0


#: no order or position limits: only the cash can refuse an order
UNLIMITED = ExecutorConfig(limits=LimitsConfig(0, 0, 0, 0, 0, 0))


def too_big() -> Script:
    """Three bids the 1000 USDC of cash cannot pay for, a second apart."""
    return Script(*((1.0 + i, buy(0.40, 5_000.0)) for i in range(3)))


def test_funds_refusals_alert_once_per_realert_window(data):
    result, _, _ = backtest(data, too_big(), executor=UNLIMITED, alerts=AlertsConfig(check_s=1))
    assert (result.refusals["reason"] == "insufficient_funds").sum() == 3
    alert = kinds(result, "funds")
    assert len(alert) == 1 and alert["level"].iloc[0] == "warning"
    assert "refused for want of funds" in alert["message"].iloc[0]


def test_funds_alert_repeats_after_the_realert_window(data):
    result, _, _ = backtest(
        data, too_big(), executor=UNLIMITED, alerts=AlertsConfig(check_s=1, funds_realert_s=0.5)
    )
    assert len(kinds(result, "funds")) == 3


def test_funds_alert_off(data):
    result, _, _ = backtest(
        data, too_big(), executor=UNLIMITED, alerts=AlertsConfig(check_s=1, funds=False)
    )
    assert (result.refusals["reason"] == "insufficient_funds").sum() == 3
    assert len(kinds(result, "funds")) == 0


def test_daily_summary_at_midnight_counts_the_day(data):
    _, bt, _ = backtest(
        data, Script((1.0, buy(0.52, 10.0)), (2.0, buy(0.40, 5e3))), executor=UNLIMITED
    )
    ex = bt.executor
    assert len(ex.tracker.fills) >= 1 and len(ex.refusals) == 1
    midnight = (bt.session.start_ns // DAY_NS + 1) * DAY_NS
    clock = SimClock(bt.session.start_ns)
    watch = OpsWatch(ex, clock, AlertsConfig(funds=False)).install()
    # the day's start as the run began: nothing traded yet
    watch._day_start = dict.fromkeys(watch._day_start, 0.0) | {"equity": 1_000.0}
    n_alerts = len(ex.memory_alerts.alerts)
    watch.check(midnight - 1)
    assert len(ex.memory_alerts.alerts) == n_alerts  # not midnight yet
    clock.advance_to(midnight)
    watch.check(midnight)
    summary = ex.memory_alerts.alerts[-1]
    assert summary.kind == "daily_summary" and summary.level == "info"
    assert summary.data["fills"] == len(ex.tracker.fills)
    assert summary.data["refusals"] == 1
    assert summary.data["equity"] == pytest.approx(ex.equity_usdc() - 1_000.0, abs=1e-6)
    watch.check(midnight + 1)
    assert ex.memory_alerts.alerts[-1] is summary  # once per day


def test_daily_summary_off(data):
    _, bt, _ = backtest(data, Script())
    clock = SimClock(bt.session.start_ns)
    watch = OpsWatch(bt.executor, clock, AlertsConfig(daily_summary=False)).install()
    n = len(bt.executor.memory_alerts.alerts)
    watch.check(bt.session.start_ns + DAY_NS)
    assert len(bt.executor.memory_alerts.alerts) == n


@pytest.mark.parametrize(
    "key, value",
    [("check_s", 0), ("reconnect_window_s", -1.0), ("reconnect_storm", 2.5),
     ("venue_error_rate", 1.5), ("funds_realert_s", float("nan"))],
)  # fmt: skip
def test_bad_alerts_config_names_the_key(key, value):
    with pytest.raises(ConfigError, match=f"alerts.{key}"):
        AlertsConfig(**{key: value})


@pytest.mark.parametrize(
    "line, says",
    [("check_s = 0", "alerts.check_s"), ("chek_s = 5", "alerts.chek_s': unknown key"),
     ('reconnect_storm = "lots"', "alerts.reconnect_storm")],
)  # fmt: skip
def test_a_config_files_bad_alerts_table_is_refused_naming_the_key(tmp_path, line, says):
    from sim.backtest_config import load_backtest_config

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\npath = "x"\n[alerts]\n{line}\n')
    with pytest.raises(ConfigError, match=says):
        load_backtest_config(cfg)
    cfg.write_text('[data]\npath = "x"\n[alerts]\ncheck_s = 5\nfunds = false\n')
    loaded, _ = load_backtest_config(cfg)
    assert loaded.alerts == AlertsConfig(check_s=5, funds=False)
