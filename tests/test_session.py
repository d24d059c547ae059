"""``sim.session``: one builder per (mode, venue kind), a run config with an explicit mode,
a tagged ``[venue]`` table and fault plans named from config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import exchange_mock  # noqa: F401  (registers the backtest builder)
from exchange_mock import Backtest
from sim.backtest_config import BacktestConfig, DataConfig, FaultsConfig, VenueConfig
from sim.config_loader import from_mapping
from sim.errors import ConfigError
from sim.risk import RiskConfig
from sim.session import Session, build_session
from tests.test_faults_determinism import Busy
from tests.test_faults_helpers import write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("session"))


def _config(root: Path, **kw) -> BacktestConfig:
    return BacktestConfig(data=DataConfig(str(root)), risk=RiskConfig(enabled=False), seed=3,
                          **kw)  # fmt: skip


def _tables(result) -> list:
    return [getattr(result, n) for n in ("orders", "fills", "equity", "refusals")]


def _same(a, b) -> bool:
    return all(x.equals(y) for x, y in zip(_tables(a), _tables(b), strict=True))


def test_a_session_built_from_config_is_the_backtest(root):
    cfg = _config(root)
    session = build_session(cfg, Busy())
    assert isinstance(session, Session)
    via_session = session.run()
    via_backtest = Backtest.from_config(cfg, Busy()).run()
    assert len(via_session.fills) > 0
    assert _same(via_session, via_backtest)


@pytest.mark.parametrize("mode", ["paper", "live"])
def test_a_mode_with_no_builder_is_refused_naming_what_exists(root, mode):
    cfg = _config(root, mode=mode)
    with pytest.raises(ConfigError) as err:
        build_session(cfg, Busy())
    assert err.value.key == "mode"
    assert mode in str(err.value) and "mode='backtest' kind='sim'" in str(err.value)
    with pytest.raises(ConfigError, match="a backtest needs mode = 'backtest'"):
        Backtest.from_config(cfg, Busy())


def test_mode_and_venue_kind_are_checked_when_read():
    with pytest.raises(ConfigError) as err:
        from_mapping(BacktestConfig, {"data": {"path": "x"}, "mode": "replay"})
    assert err.value.key == "mode"
    with pytest.raises(ConfigError) as err:
        from_mapping(BacktestConfig, {"data": {"path": "x"}, "venue": {"kind": "binance"}})
    assert err.value.key == "venue.kind"


def test_fault_plans_named_in_config_are_injected_with_the_run_seed(root):
    clean = build_session(_config(root), Busy()).run()
    cfg = _config(root, faults=FaultsConfig(plans=("partial_fills", "clock_skew")))
    first = build_session(cfg, Busy())
    faulted = first.run()
    injector = first.parts.extras["fault_hook"]
    assert {"partial_fill", "clock_skew"} <= set(injector.counts)
    assert not _same(faulted, clean)  # the faults changed the run
    again = build_session(cfg, Busy()).run()
    assert _same(faulted, again)  # same seed, same faults, same run
    other = build_session(dataclasses.replace(cfg, seed=4), Busy())
    other.run()
    assert other.parts.extras["fault_hook"].injections != injector.injections


def test_an_unknown_fault_plan_is_refused_by_its_key(root):
    cfg = _config(root, faults=FaultsConfig(plans=("timeouts", "earthquake")))
    with pytest.raises(ConfigError) as err:
        build_session(cfg, Busy())
    assert err.value.key == "faults.plans[1]" and "timeouts" in err.value.problem


def test_a_passed_fault_hook_replaces_the_configs_plans(root):
    cfg = _config(root, faults=FaultsConfig(plans=("partial_fills",)))
    session = build_session(cfg, Busy(), fault_hook=None)
    assert session.parts.extras["fault_hook"] is not None  # None means: use the config's
    bt = Backtest.from_config(cfg, Busy())
    bt.run()
    assert bt.session.parts.extras["fault_hook"].counts.get("partial_fill", 0) > 0


def test_venue_kind_defaults_to_the_simulated_clob():
    assert VenueConfig().kind == "sim"
    assert BacktestConfig(data=DataConfig("x")).mode == "backtest"
