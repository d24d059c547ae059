"""The paper validation: checks pass on evidence, fail without it, and the report is written."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from exchange_mock.validation import validate
from exchange_mock.validation.checks import CHECKS, Evidence
from exchange_mock.validation.runner import RunOutcome
from tests.test_validation_mechanisms import write_config

ROOT = Path(__file__).resolve().parents[1]


def test_validate_writes_a_report_backed_by_evidence(tmp_path: Path) -> None:
    report = validate(write_config(tmp_path, ["kill_switch", "retries"]), tmp_path / "out")
    out = tmp_path / "out"
    for name in ("report.md", "report.html", "report.json"):
        assert (out / name).is_file()
    saved = json.loads((out / "report.json").read_text())
    assert saved["verdict"] == report["verdict"]
    by_name = {c["name"]: c for c in saved["checks"]}
    assert by_name["kill_switch"]["status"] == "PASS"
    assert by_name["kill_switch"]["evidence"]["orders_after_halt"] == 0
    assert by_name["retries"]["evidence"]["doubled_orders"] == 0
    assert [r["scenario"] for r in saved["runs"]] == ["baseline", "kill_switch", "retries"]
    assert (out / "runs" / "baseline-s1" / "equity.parquet").is_file()


def _run(**metrics) -> RunOutcome:
    base = {
        "injected": {}, "refusal_reasons": {}, "alerts": {}, "calls": {}, "trips": [],
        "doubled_orders": 0, "position_gap_shares": 0.0, "unknown_at_venue": 0,
        "lost_orders": 0, "halts": 0, "orders_after_halt": 0, "open_after_halt": 0,
        "feed_down_intervals": 0, "risk_orders_while_feed_down": 0, "slippage_max": 0.0,
        "slippage_p95": 0.0, "max_slippage_bound": 0.02, "min_cash_usdc": 0.0,
        "fok_partial_alerts": 0, "partial_fill_orders": 0, "breaker_trips": 0,
        "injections": [], "feed_events": [], "refusal_events": [], "venue_refusal_reasons": {},
        "strategy_error": None, "min_tick": 0.01, "feed_silence_s": 30.0, "balance_ttl_s": 5.0,
        "halt_ns": None, "drill_ns": None, "tested": [], "fault_params": {},
    }  # fmt: skip
    return RunOutcome("x", 1, {**base, **metrics})


def _judge(check: str, *runs: RunOutcome, raw: dict | None = None) -> tuple[bool, dict]:
    return CHECKS[check](Evidence(list(runs), {}, raw or {}))


def _inj(kind: str, n: int = 1, t0: int = 0, length: int = 0) -> list[dict]:
    return [{"id": i + 1, "kind": kind, "call": "x", "ts_ns": t0, "end_ns": t0 + length}
            for i in range(n)]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "bad"),
    [
        (
            "api_timeouts",
            {
                "injected": {"delay": 3},
                "calls": {
                    "place": {
                        "max_elapsed_s": 6.0,
                        "deadline_s": 5.0,
                        "over_deadline": 1,
                        "timeouts": 0,
                        "retries": 0,
                        "transient_errors": 0,
                    }
                },
            },
        ),
        (
            "retries",
            {
                "injected": {"server_error": 2},
                "doubled_orders": 1,
                "calls": {
                    "place": {
                        "retries": 2,
                        "transient_errors": 2,
                        "max_elapsed_s": 0,
                        "deadline_s": 5,
                        "over_deadline": 0,
                        "timeouts": 0,
                    }
                },
            },
        ),
        ("positions_reconcile", {"position_gap_shares": 5.0}),
        ("kill_switch", {"halts": 1, "orders_after_halt": 2}),
        ("slippage", {"injected": {"slippage": 1}, "slippage_max": 0.05}),
        (
            "websocket_reconnect",
            {
                "injected": {"ws_drop": 1},
                "feed_down_intervals": 1,
                "risk_orders_while_feed_down": 3,
            },
        ),
        ("partial_fills", {"injected": {"partial_fill": 1}, "fok_partial_alerts": 1}),
        (
            "breaker_daily_loss",
            {
                "trips": [
                    {
                        "breaker": "daily_loss",
                        "value": 130.0,
                        "threshold": 125.0,
                        "risk_orders_after": 1,
                    }
                ]
            },
        ),
        ("balance_checking", {"injected": {"zero_balance": 1}}),
    ],
)
def test_each_check_can_fail(check: str, bad: dict) -> None:
    if "injected" in bad:  # the checks read the injection records, not the counts
        bad = {**bad, "injections": [i for k, n in bad["injected"].items() for i in _inj(k, n)]}
    ok, evidence = _judge(check, _run(**bad))
    assert not ok, evidence


def test_secrets_in_the_config_fail_the_credentials_check() -> None:
    ok, evidence = _judge("credentials_configured", raw={"live": {"private_key": "0xabc"}})
    assert not ok and evidence["keys"] == "live.private_key"


def test_parallel_runs_equal_serial_runs(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, ["retries", "breaker_daily_loss"])
    serial = validate(cfg, tmp_path / "serial", workers=1)
    parallel = validate(cfg, tmp_path / "parallel", workers=2)

    def strip(report: dict) -> tuple:
        runs = [{k: v for k, v in r.items() if k != "wall_s"} for r in report["runs"]]
        return runs, report["checks"], report["verdict"]

    assert strip(serial) == strip(parallel)
    a = pd.read_parquet(tmp_path / "serial" / "runs" / "retries-s1" / "fills.parquet")
    b = pd.read_parquet(tmp_path / "parallel" / "runs" / "retries-s1" / "fills.parquet")
    assert a.equals(b)
