"""Configs are refused at start with the key named; the CLI reports errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.backtest_config import BacktestConfig, load_backtest_config
from sim.cli import main
from sim.config_loader import from_mapping
from sim.errors import ConfigError
from tests.test_backtest import write_dataset

GOOD = """
cash_usdc = 500.0
seed = 3
[data]
path = "{data}"
[strategy]
name = "strat:Buyer"
[strategy.params]
size = 12.0
[venue]
queue_model = "probabilistic"
[venue.latency]
order_entry_ms = {{ median_ms = 20.0, p95_ms = 60.0 }}
ack_ms = 5
[executor.deadlines]
place = 2.0
"""

STRATEGY = """
from sim import Strategy, OrderType

class Buyer(Strategy):
    def __init__(self, size=10.0):
        self.size = size

    def on_start(self, ctx):
        ctx.schedule("go", every_s=0.5)
        self.done = False

    def on_timer(self, ctx, name):
        if not self.done:
            self.done = True
            ctx.orders.buy(ctx.markets[0].yes_token_id, 0.52, self.size, order_type=OrderType.FOK)
"""


def write_config(tmp_path: Path, text: str) -> Path:
    data = write_dataset(tmp_path / "data")
    (tmp_path / "strat.py").write_text(STRATEGY)
    cfg = tmp_path / "bt.toml"
    cfg.write_text(text.format(data=data.as_posix()))
    return cfg


def test_good_config_loads_with_types(tmp_path: Path) -> None:
    cfg, base = load_backtest_config(write_config(tmp_path, GOOD))
    assert cfg.cash_usdc == 500.0 and cfg.seed == 3
    assert cfg.venue.latency.order_entry_ms == {"median_ms": 20.0, "p95_ms": 60.0}
    assert cfg.venue.latency.ack_ms == 5.0
    assert cfg.executor.deadlines.place == 2.0
    assert base == tmp_path.resolve()


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"data": {"path": "x"}, "cash": 5}, "cash"),
        ({"data": {"path": "x", "start": "2026-13-01"}}, "data.start"),
        ({"data": {"path": "x"}, "cash_usdc": -1.0}, "cash_usdc"),
        ({"data": {"path": "x"}, "venue": {"queue_model": "fifo"}}, "venue.queue_model"),
        ({"data": {"path": "x"}, "venue": {"latency": {"ack_ms": -3}}}, "venue.latency.ack_ms"),
        ({"data": {"path": "x"}, "executor": {"place_deadline_s": 0}}, "executor.place_deadline_s"),
        ({"data": {"path": "x"}, "seed": "7"}, "seed"),
        ({}, "BacktestConfig"),
    ],
)
def test_bad_values_name_their_key(mapping: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        from_mapping(BacktestConfig, mapping)
    assert info.value.key.endswith(key) or key in str(info.value)


def test_cli_backtest_runs_and_writes_tables(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, GOOD)
    out = tmp_path / "out"
    assert main(["-q", "backtest", str(cfg), "--out", str(out)]) == 0
    assert "Fills" in capsys.readouterr().out
    fills = (out / "fills.csv").read_text().splitlines()
    assert len(fills) == 2 and ",TAKER," in fills[1]
    assert main(["-q", "backtest", str(cfg), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)  # stdout holds the document and nothing else
    assert doc["summary"]["Fills"] == 1 and doc["counters"]["fills"] == 1
    assert doc["counters"] == json.loads((out / "counters.json").read_text())


def test_cli_reports_a_bad_key_without_a_traceback(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, GOOD.replace("seed = 3", "sede = 3"))
    assert main(["-q", "backtest", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "config key 'sede'" in err and "Traceback" not in err


def test_cli_reports_an_unknown_strategy_param(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, GOOD.replace("size = 12.0", "sise = 12.0"))
    assert main(["-q", "backtest", str(cfg)]) == 2
    assert "strategy.params.sise" in capsys.readouterr().err


def test_cli_reports_a_missing_dataset(tmp_path: Path, capsys) -> None:
    (tmp_path / "strat.py").write_text(STRATEGY)
    cfg = tmp_path / "bt.toml"
    cfg.write_text('[data]\npath = "nowhere"\n[strategy]\nname = "strat:Buyer"\n')
    assert main(["-q", "backtest", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "not_a_dataset" in err and "Traceback" not in err


def test_a_market_filter_matching_nothing_names_the_key(tmp_path: Path, capsys) -> None:
    cfg = write_config(tmp_path, GOOD.replace("[strategy]", 'markets = ["no-such-*"]\n[strategy]'))
    assert main(["-q", "backtest", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "config key 'data.markets'" in err and "no-such-*" in err and "Traceback" not in err


def test_synth_refuses_an_occupied_folder_without_a_traceback(tmp_path: Path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("precious")
    assert main(["-q", "synth", "--out", str(tmp_path), "--days", "1"]) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "Traceback" not in err
    assert (tmp_path / "keep.txt").read_text() == "precious"
