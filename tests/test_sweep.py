"""Sweeps (``exchange_mock.sweep``) on Dask: the grid's runs, one tidy table, resumable,
identical serially, on a local cluster and on a second scheduler started here; a worker
that dies mid-run gets its run retried, never lost or counted twice."""

from __future__ import annotations

import json
from pathlib import Path

import dask
import pandas as pd
import pytest
from distributed import LocalCluster

from exchange_mock.sweep import MACHINE_COLUMNS, load_sweep, run_sweep
from exchange_mock.sweep_grid import SweepGrid
from sim.cli import main
from sim.errors import ConfigError
from sim.run_files import read_run
from tests.test_faults_helpers import YES, write_dataset

STRATEGY = f'''
import os
from pathlib import Path

from sim.strategy import Strategy


class Buyer(Strategy):
    """Buys ``size`` at ``price`` every ``every_s``; ``die_once``: a marker file path; the
    first run to start while it is missing creates it and kills its process."""

    def __init__(self, price=0.52, size=5.0, every_s=5.0, die_once="", die_always=False,
                 broken=False):
        self.price, self.size, self.every_s = price, size, every_s
        self.die_once, self.die_always, self.broken = die_once, die_always, broken

    def on_start(self, ctx):
        if self.die_always:
            os._exit(3)
        if self.die_once and not Path(self.die_once).exists():
            Path(self.die_once).touch()
            os._exit(3)
        ctx.subscribe(["{YES}"])
        ctx.schedule("buy", every_s=self.every_s)

    def on_timer(self, ctx, name):
        if self.broken:
            raise RuntimeError("strategy broke on purpose")
        ctx.orders.buy("{YES}", self.price, self.size)
'''

GRID = {
    "seeds": [1, 2],
    "grid": {"strategy.params.price": [0.52, 0.53], "risk.daily_loss_usdc": [0.5, 100.0]},
    "latency": {"fast": {"ack_ms": 1.0}, "slow": {"order_entry_ms": 400.0, "ack_ms": 200.0}},
}


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    write_dataset(tmp / "ds")
    (tmp / "buyer.py").write_text(STRATEGY)
    cfg = tmp / "c.toml"
    cfg.write_text('cash_usdc = 1000.0\n[data]\npath = "ds"\n[strategy]\nname = "buyer:Buyer"\n'
                   "[validation.acceptance]\nmin_fills = 3\nmin_return_pct = -100\n")  # fmt: skip
    return cfg


def grid(**extra) -> SweepGrid:
    raw = json.loads(json.dumps(GRID))
    for key, value in extra.items():
        raw.setdefault("grid", {})[key] = value
    return SweepGrid.from_mapping(raw)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns=list(MACHINE_COLUMNS)),
                                  b.drop(columns=list(MACHINE_COLUMNS)))  # fmt: skip


@pytest.fixture(scope="module")
def serial(config, tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("serial")
    return run_sweep(config, grid(), out, workers=1), out


def test_one_row_per_run_with_parameters_figures_and_verdict(serial) -> None:
    df, out = serial
    assert len(df) == 2 * 2 * 2 * 2 == df["run_id"].nunique()
    params = ["strategy.params.price", "risk.daily_loss_usdc", "latency", "seed"]
    assert list(df.columns[1:5]) == params
    assert not df.duplicated(params).any()
    assert set(df["latency"]) == {"fast", "slow"} and set(df["seed"]) == {1, 2}
    assert set(df["verdict"]) <= {"PASS", "FAIL"}
    # the figures are the runs' own: each row against its run folder's tables
    for row in df.itertuples():
        fills = pd.read_parquet(out / "runs" / row.run_id / "fills.parquet")
        assert len(fills) == row.fills
    # the swept settings took effect: a tight loss limit trips its breaker, a loose one not
    tight = df[df["risk.daily_loss_usdc"] == 0.5]
    loose = df[df["risk.daily_loss_usdc"] == 100.0]
    assert tight["breaker_trips"].sum() > loose["breaker_trips"].sum()
    assert load_sweep(out).equals(df)


def test_serial_local_cluster_and_a_second_scheduler_give_the_same_table(
    config, serial, tmp_path
) -> None:
    df, _ = serial
    same(run_sweep(config, grid(), tmp_path / "local", workers=2), df)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:  # fmt: skip
        address = cluster.scheduler_address
        rc = main(["-q", "sweep", str(config), "--grid", str(_grid_file(tmp_path)),
                   "--out", str(tmp_path / "remote"), "--scheduler", address])  # fmt: skip
    assert rc == 0
    same(load_sweep(tmp_path / "remote"), df)


def _grid_file(tmp: Path) -> Path:
    lines = [f"seeds = {GRID['seeds']}", "[grid]"]
    lines += [f'"{k}" = {v}' for k, v in GRID["grid"].items()]
    lines += ["[latency]"]
    for name, table in GRID["latency"].items():
        body = ", ".join(f"{k} = {v}" for k, v in table.items())
        lines.append(f"{name} = {{ {body} }}")
    path = tmp / "grid.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_interrupted_sweep_runs_only_what_is_missing(config, serial, tmp_path) -> None:
    df, _ = serial
    out = tmp_path / "resumed"
    run_sweep(config, grid(), out, workers=1)
    gone = df["run_id"].iloc[[1, 5]].tolist()
    for run_id in gone:  # as if interrupted before these two finished
        (out / "runs" / run_id / "row.json").unlink()
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/*/row.json")}
    same(run_sweep(config, grid(), out, workers=1), df)
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/*/row.json")
            if p.parent.name not in gone} == stamps  # fmt: skip
    assert all((out / "runs" / r / "row.json").is_file() for r in gone)


def test_a_grown_grid_runs_only_its_new_runs(config, serial, tmp_path) -> None:
    df, _ = serial
    out = tmp_path / "grown"
    run_sweep(config, grid(), out, workers=1)
    stamps = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/*/row.json")}
    more = SweepGrid.from_mapping({**GRID, "seeds": [1, 2, 3]})
    grown = run_sweep(config, more, out, workers=1)
    assert len(grown) == len(df) * 3 // 2
    old = grown[grown["seed"] != 3].set_index("run_id").loc[df["run_id"]].reset_index()
    same(old, df)  # the seeds 1 and 2 rows: the same runs, under the same ids
    assert {
        p.parent.name: p.stat().st_mtime_ns
        for p in out.glob("runs/*/row.json")
        if p.parent.name in stamps
    } == stamps  # the finished runs did not run again


def test_a_folder_of_another_config_is_refused(config, serial, tmp_path) -> None:
    _, out = serial
    other = config.parent / "other.toml"
    other.write_text(config.read_text().replace("cash_usdc = 1000.0", "cash_usdc = 900.0"))
    with pytest.raises(ConfigError, match="another config, strategy source or dataset"):
        run_sweep(other, grid(), out, workers=1)


def test_an_edited_strategy_is_another_sweep(config, tmp_path) -> None:
    one = SweepGrid.from_mapping({"seeds": [1]})
    run_sweep(config, one, tmp_path / "o", workers=1)
    source = config.parent / "buyer.py"
    text = source.read_text()
    try:
        source.write_text(text + "\n# edited\n")
        with pytest.raises(ConfigError, match="another config, strategy source"):
            run_sweep(config, one, tmp_path / "o", workers=1)
    finally:
        source.write_text(text)


def test_an_unreadable_row_runs_again(config, tmp_path, caplog) -> None:
    one = SweepGrid.from_mapping({"seeds": [1, 2]})
    first = run_sweep(config, one, tmp_path / "o", workers=1)
    broken = tmp_path / "o" / "runs" / first["run_id"].iloc[0] / "row.json"
    broken.write_text("{not json")
    again = run_sweep(config, one, tmp_path / "o", workers=1)
    same(again, first)
    assert json.loads(broken.read_text())["run_id"] == first["run_id"].iloc[0]
    assert "cannot be read" in caplog.text


def test_a_worker_dying_mid_run_gets_the_run_retried_once(config, serial, tmp_path) -> None:
    df, _ = serial
    marker = tmp_path / "died"
    g = grid(**{"strategy.params.die_once": [str(marker)]})
    got = run_sweep(config, g, tmp_path / "dying", workers=2)
    assert marker.exists()  # a worker process really died
    assert len(got) == len(df) and got["run_id"].is_unique
    assert set(got["verdict"]) <= {"PASS", "FAIL"}  # every run came back, the killed one too
    cols = [c for c in df.columns if c not in ("run_id", *MACHINE_COLUMNS)]
    pd.testing.assert_frame_equal(got[cols], df[cols])


def test_a_run_that_keeps_killing_its_worker_is_reported_not_lost(config, tmp_path, capsys):
    path = tmp_path / "g.toml"
    path.write_text('seeds = [1]\n[grid]\n"strategy.params.die_always" = [true, false]\n')
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        rc = main(["-q", "sweep", str(config), "--grid", str(path), "--out",
                   str(tmp_path / "o"), "--workers", "2"])  # fmt: skip
    assert rc == 3
    df = load_sweep(tmp_path / "o")
    dead = df[df["strategy.params.die_always"]]
    assert list(dead["verdict"]) == ["FAILED"] and "never finished" in dead["why"].iloc[0]
    assert list(df[~df["strategy.params.die_always"]]["verdict"]) != ["FAILED"]
    assert "never finished" in capsys.readouterr().err
    assert not (tmp_path / "o" / "runs" / dead["run_id"].iloc[0] / "row.json").exists()


@pytest.mark.parametrize(
    "raw, says",
    [({"grid": {"risk.daily_loss": [1.0]}}, "risk.daily_loss"),
     ({"grid": {"risk.daily_loss_usdc": [-1.0]}}, "risk.daily_loss_usdc"),
     ({"grid": {"seed": [1, 2]}}, "grid.seed"),
     ({"grid": {"cash_usdc": []}}, "grid.cash_usdc"),
     ({"seeds": [1, 1]}, "grid.seeds"),
     ({"latency": {"fast": 3}}, "grid.latency.fast"),
     ({"faults": {"x": ["no_such_plan"]}}, "no_such_plan"),
     ({"gird": {}}, "grid.gird"),
     ({"grid": {"strategy.params.pric": [0.5]}}, "has no parameter 'pric'")],
)  # fmt: skip
def test_a_bad_grid_is_refused_before_any_run_naming_the_key(config, tmp_path, raw, says):
    with pytest.raises(ConfigError, match=says):
        g = SweepGrid.from_mapping(raw)
        run_sweep(config, g, tmp_path / "never", workers=1)
    assert not (tmp_path / "never" / "runs").exists() or not any(
        (tmp_path / "never" / "runs").iterdir()
    )


def test_a_strategy_that_raises_is_an_error_row_not_a_crash(config, tmp_path) -> None:
    g = SweepGrid.from_mapping({"grid": {"strategy.params.broken": [False, True]}})
    df = run_sweep(config, g, tmp_path / "o", workers=1)
    bad = df[df["strategy.params.broken"]]
    assert list(bad["verdict"]) == ["ERROR"]
    assert "strategy broke on purpose" in bad["why"].iloc[0]
    assert bad["halts"].iloc[0] == 1  # trading was halted, as in any run
    assert list(df[~df["strategy.params.broken"]]["verdict"]) != ["ERROR"]
    run = read_run(tmp_path / "o" / "runs" / bad["run_id"].iloc[0])
    assert "strategy broke on purpose" in run.strategy_error


def test_a_dead_scheduler_is_named_not_a_traceback(config, tmp_path, monkeypatch, capsys):
    import socket

    import exchange_mock.parallel as parallel

    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT_S", 1)
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main(["-q", "sweep", str(config), "--grid", str(_grid_file(tmp_path)), "--out",
               str(tmp_path / "o"), "--scheduler", f"tcp://127.0.0.1:{port}"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_the_readme_example_grid_plans_its_24_runs() -> None:
    from exchange_mock.sweep import plan_sweep

    root = Path(__file__).resolve().parents[1]
    plan = plan_sweep(root / "examples" / "window_pair.toml",
                      root / "examples" / "grids" / "window_pair.toml")  # fmt: skip
    assert len(plan.runs) == 24 == len({r.id for r in plan.runs})
    assert {r.params["latency"] for r in plan.runs} == {"fast", "slow"}
    assert all(Path(c.data.path).is_dir() for c in plan.configs.values())
