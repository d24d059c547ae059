"""The settings audit and the performance verdict: each line can fail, the weakened config
of issue 9 fails on every weakened setting, and a crash gives a report and exit 3."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from exchange_mock.validation.acceptance import AcceptanceConfig, judge_performance
from exchange_mock.validation.audit import AuditBounds, audit_settings
from sim.backtest_config import BacktestConfig, DataConfig
from sim.cli import main
from sim.config_loader import from_mapping
from sim.errors import ConfigError
from tests.test_validation_mechanisms import write_config

WEAKENED = {
    "data": {"path": "x"},
    "executor": {
        "max_slippage": 0.99,
        "deadlines": {k: 300.0 for k in ("place", "cancel", "cancel_all", "get_order",
                                         "open_orders", "fills", "balance")},
        "retry": {"max_attempts": 20},
        "limits": {k: 0 for k in ("max_order_shares", "max_order_usdc",
                                  "max_position_shares_per_market", "max_total_position_usdc",
                                  "max_open_orders", "max_orders_per_day")},
    },
    "risk": {"daily_loss_usdc": 1e12, "max_consecutive_losses": 1_000_000,
             "min_bankroll_usdc": 0.0, "daily_trade_limit": 10_000_000},
}  # fmt: skip


def test_the_weakened_config_fails_on_every_weakened_setting() -> None:
    lines = audit_settings(from_mapping(BacktestConfig, WEAKENED), AuditBounds())
    failed = {a["setting"] for a in lines if a["status"] == "FAIL"}
    weakened = {f"executor.deadlines.{k}" for k in WEAKENED["executor"]["deadlines"]}
    weakened |= {f"executor.limits.{k}" for k in WEAKENED["executor"]["limits"]}
    weakened |= {f"risk.{k}" for k in WEAKENED["risk"]}
    weakened |= {"executor.max_slippage", "executor.retry.max_attempts"}
    assert weakened <= failed
    assert failed - weakened == {"executor.feed_silence_s"}  # off by default: also weak
    assert all(a["source"] and a["bound"] for a in lines)


def test_the_default_settings_pass_the_audit_once_the_watchdog_is_on() -> None:
    cfg = BacktestConfig(DataConfig("x"))
    cfg = dataclasses.replace(cfg, executor=dataclasses.replace(cfg.executor,
                                                                feed_silence_s=30.0))  # fmt: skip
    assert [a for a in audit_settings(cfg, AuditBounds()) if a["status"] == "FAIL"] == []


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"risk": {"enabled": False}}, "risk.enabled"),
        ({"executor": {"retry": {"max_attempts": 1}}}, "executor.retry.max_attempts"),
        ({"executor": {"slippage_breaker_fills": 0}}, "executor.slippage_breaker_fills"),
        ({"executor": {"balance_ttl_s": 120.0}}, "executor.balance_ttl_s"),
        ({"risk": {"risk_per_trade": 0.5}}, "risk.risk_per_trade"),
        ({"risk": {"kelly_fraction": 1.0}}, "risk.kelly_fraction"),
        ({"cash_usdc": 100.0}, "executor.limits.max_order_usdc"),  # 250 is 250 % of 100
    ],
)
def test_each_audit_line_can_fail(change: dict, setting: str) -> None:
    raw = {"data": {"path": "x"}, "executor": {"feed_silence_s": 30.0}}
    for k, v in change.items():
        raw[k] = {**raw.get(k, {}), **v} if isinstance(v, dict) else v
    lines = {a["setting"]: a["status"] for a in
             audit_settings(from_mapping(BacktestConfig, raw), AuditBounds())}  # fmt: skip
    assert lines[setting] == "FAIL"


def test_bounds_are_configurable_and_checked() -> None:
    cfg = BacktestConfig(DataConfig("x"))
    lines = {a["setting"]: a for a in audit_settings(cfg, AuditBounds(max_deadline_s=2.0))}
    assert lines["executor.deadlines.place"]["status"] == "FAIL"
    with pytest.raises(ConfigError, match="max_deadline_s"):
        AuditBounds(max_deadline_s=0)


GOOD = {"orders": 100, "executor_refusals": 5, "return_pct": 2.0, "max_drawdown_pct": -4.0,
        "fees_usdc": 10.0, "volume_usdc": 1_000.0, "fills": 80}  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "criterion"),
    [
        ({"return_pct": -0.5}, "return"),
        ({"max_drawdown_pct": -12.0}, "drawdown"),
        ({"fees_usdc": 40.0}, "fees"),
        ({"fills": 3}, "fills"),
        ({"executor_refusals": 60}, "refusals"),
    ],
)
def test_each_acceptance_criterion_can_fail_on_any_seed(bad: dict, criterion: str) -> None:
    ok = judge_performance([GOOD, GOOD], AcceptanceConfig())
    assert ok["verdict"] == "PASS" and ok["why"] == ""
    verdict = judge_performance([GOOD, {**GOOD, **bad}], AcceptanceConfig())
    failed = [ln["name"] for ln in verdict["lines"] if ln["status"] == "FAIL"]
    assert verdict["verdict"] == "FAIL" and failed == [criterion]
    assert criterion in verdict["why"]


def test_acceptance_values_are_checked() -> None:
    with pytest.raises(ConfigError, match="max_drawdown_pct"):
        AcceptanceConfig(max_drawdown_pct=150.0)
    with pytest.raises(ConfigError, match="min_fills"):
        AcceptanceConfig(min_fills=-1)


def test_validate_exits_3_with_a_report_when_the_strategy_raises(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, ["kill_switch"], strategy="raises:RaisesAtNoon")
    code = main(["-q", "validate", str(cfg), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 3 and "raised in on_timer" in err and "boom at noon" in err
    assert (tmp_path / "out" / "report.md").is_file()
    assert "strategy_errors" in (tmp_path / "out" / "report.md").read_text()
