"""The run folder (``sim.run_files``): what ``write_run`` writes ``read_run`` reads back,
in Parquet (paper, live) and CSV (``clobsim backtest --out``); a folder that cannot be
read is a ``RunFolderError`` naming the folder or the file."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.report import write_report
from sim.risk import RiskConfig
from sim.run_files import TABLES, RunFolderError, read_run, write_run
from tests.test_faults_helpers import Script, backtest, buy, write_dataset

INDEXED = ("equity", "calls")


def _boom(ctx) -> None:
    raise ValueError("strategy broke on purpose")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("runfiles") / "data")


@pytest.fixture(scope="module")
def result(data):
    """A run with a row in every table: fills, a position, refusals and a breaker trip
    (one trade a day allowed), alerts, and a strategy error at 20 s (a halt)."""
    strategy = Script((1, buy(0.52, 10)), (3, buy(0.53, 5)), (5, buy(0.53, 5)), (20, _boom))
    res, _, _ = backtest(data, strategy, risk=RiskConfig(daily_trade_limit=1))
    for name in TABLES:
        assert len(getattr(res, name)), f"the fixture run has no {name} rows"
    assert res.error is not None
    return res


@pytest.fixture(scope="module")
def clean_result(data):
    res, _, _ = backtest(data, Script((1, buy(0.52, 10))))
    assert res.error is None and len(res.fills)
    return res


def _expected(res, name: str) -> pd.DataFrame:
    df = getattr(res, name)
    return df if name in INDEXED else df.reset_index(drop=True)


def _check_docs(run, res, kind: str) -> None:
    assert run.kind == kind
    assert list(run.summary) == list(res.summary.index)
    for key in ("Orders", "Fills", "Refusals", "Halts", "Breaker trips", "Alerts", "Events"):
        assert run.summary[key] == res.summary[key], key
    for key in ("Initial cash [USDC]", "Final equity [USDC]", "Return [%]", "Max. Drawdown [%]"):
        assert run.summary[key] == pytest.approx(res.summary[key]), key
    assert run.summary["Start"] == res.summary["Start"].value // 1_000_000  # epoch ms
    assert run.counters == json.loads(json.dumps(res.counters))
    by_reason = res.refusals["reason"].value_counts()
    assert run.counters["refusals"] == {k: int(v) for k, v in by_reason.items()} != {}


def test_parquet_round_trip_is_exact(result, tmp_path):
    written = write_run(result, tmp_path, kind="paper", fmt="parquet")
    names = {p.name for p in written}
    assert names == {f"{t}.parquet" for t in TABLES} | {
        "summary.json", "counters.json", "result.json", "strategy_error.txt"
    }  # fmt: skip
    assert all(p.parent == tmp_path and p.is_file() for p in written)
    run = read_run(tmp_path)
    for name in TABLES:
        pd.testing.assert_frame_equal(run.tables[name], _expected(result, name), obj=name)
    assert run.tables["equity"].index.name == "time"
    assert list(run.tables["calls"].index) == list(result.calls.index)
    _check_docs(run, result, "paper")
    assert run.strategy_error == result.error.traceback
    assert "strategy broke on purpose" in run.strategy_error
    assert run.meta == {} and run.report is None


#: what plain CSV would lose: a 77-digit token id read as a number, an empty text as NaN
_CSV_LOSSY = ("asset_id", "reason")


def test_csv_round_trip_keeps_values_and_index(result, tmp_path):
    write_run(result, tmp_path, kind="backtest", fmt="csv")
    run = read_run(tmp_path)
    for name in TABLES:
        got, want = run.tables[name], _expected(result, name)
        pd.testing.assert_frame_equal(got, want, check_dtype=False,
                                      check_index_type=False, obj=name)  # fmt: skip
    assert isinstance(run.tables["equity"].index, pd.DatetimeIndex)
    assert str(run.tables["equity"].index.tz) == "UTC"
    assert list(run.tables["calls"].index) == list(result.calls.index)
    assert run.tables["calls"].index.name == "call"
    _check_docs(run, result, "backtest")
    assert run.strategy_error == result.error.traceback


def test_csv_keeps_ids_and_empty_texts_as_text(result, tmp_path):
    write_run(result, tmp_path, kind="backtest", fmt="csv")
    run = read_run(tmp_path)
    for name in ("orders", "fills", "positions", "refusals"):
        cols = [c for c in _CSV_LOSSY if c in getattr(result, name).columns]
        for c in cols:
            assert run.tables[name][c].tolist() == _expected(result, name)[c].tolist(), (name, c)


def test_a_run_without_error_writes_no_traceback(clean_result, tmp_path):
    written = write_run(clean_result, tmp_path, kind="live")
    assert "strategy_error.txt" not in {p.name for p in written}
    run = read_run(tmp_path)
    assert run.kind == "live" and run.strategy_error == ""


def test_write_run_refuses_unknown_kind_and_format(clean_result, tmp_path):
    with pytest.raises(ValueError, match="kind"):
        write_run(clean_result, tmp_path, kind="replay")
    with pytest.raises(ValueError, match="fmt"):
        write_run(clean_result, tmp_path, kind="paper", fmt="xlsx")


def test_corrupt_parquet_is_named(clean_result, tmp_path):
    write_run(clean_result, tmp_path, kind="paper")
    bad = tmp_path / "fills.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(RunFolderError, match=re.escape(str(bad))) as err:
        read_run(tmp_path)
    assert "fills table" in str(err.value)


def test_corrupt_json_is_named(clean_result, tmp_path):
    write_run(clean_result, tmp_path, kind="paper")
    bad = tmp_path / "summary.json"
    bad.write_text("{not json")
    with pytest.raises(RunFolderError, match=re.escape(str(bad))):
        read_run(tmp_path)
    bad.write_text("[1, 2]")
    with pytest.raises(RunFolderError, match="expected a JSON object"):
        read_run(tmp_path)


def test_unknown_kind_in_result_json_is_named(clean_result, tmp_path):
    write_run(clean_result, tmp_path, kind="paper")
    (tmp_path / "result.json").write_text(json.dumps({"kind": "replay", "format": "parquet"}))
    with pytest.raises(RunFolderError, match=re.escape(str(tmp_path / "result.json"))):
        read_run(tmp_path)


def test_empty_and_missing_folders(tmp_path):
    with pytest.raises(RunFolderError, match="not a run folder"):
        read_run(tmp_path)
    missing = tmp_path / "nope"
    with pytest.raises(RunFolderError, match=re.escape(f"{missing}: no such run folder")):
        read_run(missing)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(RunFolderError, match="no such run folder"):
        read_run(tmp_path / "file.txt")


def test_a_paper_folder_without_result_json(clean_result, tmp_path):
    """A paper run's folder from before result.json: the tables and run.json."""
    write_run(clean_result, tmp_path, kind="paper")
    (tmp_path / "result.json").unlink()
    (tmp_path / "run.json").write_text(json.dumps({"seed": 3, "start_ns": 5}))
    run = read_run(tmp_path)
    assert run.kind == "paper" and run.meta == {"seed": 3, "start_ns": 5}
    pd.testing.assert_frame_equal(run.tables["fills"], clean_result.fills)
    (tmp_path / "run.json").unlink()
    assert read_run(tmp_path).kind == "backtest"


def _validation_report() -> dict:
    return {
        "verdict": "NO-GO",
        "strategy": "examples/mm_simple.py",
        "checks": [{"name": "api_timeouts", "title": "API timeouts", "status": "FAIL",
                    "scenario": "timeouts", "evidence": {"late": 2}}],
        "runs": [],
        "summary": {"baseline_pnl_usdc": 1.5, "checks_passed": 0, "checks_total": 1},
    }  # fmt: skip


def test_validation_folder_is_detected(tmp_path):
    write_report(_validation_report(), {}, tmp_path)
    run = read_run(tmp_path)
    assert run.kind == "validation"
    assert run.report == json.loads((tmp_path / "report.json").read_text())
    assert run.report["verdict"] == "NO-GO" and run.tables == {}


def test_a_run_folder_with_a_report_json_is_still_a_run(clean_result, tmp_path):
    write_run(clean_result, tmp_path, kind="backtest")
    shutil.copy(write_report(_validation_report(), {}, tmp_path / "v")["json"], tmp_path)
    assert read_run(tmp_path).kind == "backtest"


def test_a_sweep_folder_points_at_its_runs(tmp_path):
    (tmp_path / "sweep.json").write_text("{}")
    with pytest.raises(RunFolderError, match=r"a sweep's folder.*runs/<run_id>"):
        read_run(tmp_path)
