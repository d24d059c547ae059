"""Strategy params are checked against the constructor's signature and annotations at start."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from exchange_mock.validation.scenarios import SCENARIOS
from exchange_mock.validation.validate import load as validation_load
from sim.backtest_config import StrategyConfig, load_backtest_config
from sim.cli import main
from sim.errors import ConfigError
from sim.strategy import Strategy
from sim.strategy_loader import accepted_params, load_strategy
from tests.test_backtest import write_dataset

ROOT = Path(__file__).resolve().parents[1]

STRATEGIES = """
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional

from sim import Strategy

if TYPE_CHECKING:
    from decimal import Decimal


class Typed(Strategy):
    def __init__(
        self,
        size_shares: float,
        levels: int = 3,
        name: str = "x",
        enabled: bool = True,
        limit: float | None = None,
        cap: Optional[int] = None,
        prices: tuple[float, ...] = (),
        pair: tuple[int, str] = (1, "a"),
        tags: list[str] = [],
        weights: dict[str, float] = {},
        mode: Literal["join", "improve"] = "join",
        extra: Any = None,
        custom: Helper = None,
        loose=None,
    ) -> None:
        self.params = dict(locals())
        del self.params["self"]


class Helper:
    pass


class Unresolvable(Strategy):
    def __init__(self, size: float = 1.0, tick: Decimal = None) -> None:
        self.size, self.tick = size, tick


class Picky(Strategy):
    def __init__(self, entry_price: float = 0.45) -> None:
        if not 0 < entry_price < 0.5:
            raise ValueError("entry_price must be in (0, 0.5)")
        self.entry_price = entry_price


class Buggy(Strategy):
    def __init__(self, every_s: float = 1.0) -> None:
        self.rate = 1 / (every_s - 1.0)


class Open(Strategy):
    def __init__(self, size: float = 1.0, **more: Any) -> None:
        self.size, self.more = size, more


class NoInit(Strategy):
    pass


class NotAStrategy:
    def __init__(self, size: float = 1.0) -> None:
        self.size = size


def not_a_class():
    return None
"""

_modules = itertools.count()


@pytest.fixture
def module(tmp_path: Path) -> tuple[str, Path]:
    """A uniquely named strategy module in ``tmp_path`` (imports are cached per name)."""
    name = f"params_strats_{next(_modules)}_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(STRATEGIES)
    return name, tmp_path


def load(module: tuple[str, Path], cls: str, **params: object) -> Strategy:
    name, base = module
    return load_strategy(StrategyConfig(f"{name}:{cls}", params), base)


def refused(module: tuple[str, Path], cls: str, **params: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(module, cls, **params)
    return info.value


# --- names ------------------------------------------------------------------------------


def test_an_unknown_key_lists_the_accepted_names(module) -> None:
    err = refused(module, "Typed", size_shares=1.0, size_share=2.0)
    assert err.key == "strategy.params.size_share"
    assert "did you mean 'size_shares'" in err.problem
    assert "it accepts: size_shares, levels, name, enabled, limit" in err.problem


def test_any_key_is_accepted_with_kwargs(module) -> None:
    s = load(module, "Open", size=2, whatever="x")
    assert s.size == 2.0 and isinstance(s.size, float) and s.more == {"whatever": "x"}


def test_a_missing_required_parameter_is_named(module) -> None:
    err = refused(module, "Typed", levels=2)
    assert err.key == "strategy.params.size_shares"
    assert "Typed requires 'size_shares' (no default)" in err.problem


def test_accepted_params_reads_the_signature_without_building(module) -> None:
    name, base = module
    # Typed has a required param: building it without params would fail
    got = accepted_params(StrategyConfig(f"{name}:Typed", {}), base)
    assert {"size_shares", "levels", "loose", "custom"} <= got and "self" not in got
    assert accepted_params(StrategyConfig(f"{name}:Open", {}), base) == {"size"}
    assert accepted_params(StrategyConfig(f"{name}:NoInit", {}), base) == set()


# --- types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        (
            {"size_shares": "ten"},
            "size_shares",
            "expected a number (float), got 'ten' (a string)",
        ),
        (
            {"size_shares": True},
            "size_shares",
            "expected a number (float), got True (a boolean)",
        ),
        (
            {"size_shares": 1.0, "levels": 3.0},
            "levels",
            "expected a whole number (int), got 3.0 (a float): write 3, not 3.0",
        ),
        (
            {"size_shares": 1.0, "levels": 2.5},
            "levels",
            "expected a whole number (int), got 2.5 (a float)",
        ),
        (
            {"size_shares": 1.0, "levels": False},
            "levels",
            "expected a whole number (int), got False (a boolean)",
        ),
        ({"size_shares": 1.0, "name": 5}, "name", "expected a string (str), got 5 (an integer)"),
        (
            {"size_shares": 1.0, "enabled": "yes"},
            "enabled",
            "expected true or false (bool), got 'yes' (a string)",
        ),
        (
            {"size_shares": 1.0, "limit": "high"},
            "limit",
            "expected a number or None (float | None), got 'high' (a string)",
        ),
        (
            {"size_shares": 1.0, "cap": 1.5},
            "cap",
            "expected a whole number or None (int | None), got 1.5 (a float)",
        ),
        (
            {"size_shares": 1.0, "prices": [0.4, "0.5"]},
            "prices",
            "expected an array of numbers (tuple[float, ...]), got [0.4, '0.5'] (an array): "
            "item 1 is '0.5' (a string), not a number",
        ),
        (
            {"size_shares": 1.0, "prices": 0.4},
            "prices",
            "expected an array of numbers (tuple[float, ...]), got 0.4 (a float)",
        ),
        (
            {"size_shares": 1.0, "pair": [1, "a", 2]},
            "pair",
            "expected an array of 2 items (tuple[int, str]), got [1, 'a', 2] (an array): "
            "2 items needed, 3 given",
        ),
        (
            {"size_shares": 1.0, "tags": ["a", 1]},
            "tags",
            "expected an array of strings (list[str]), got ['a', 1] (an array): "
            "item 1 is 1 (an integer), not a string",
        ),
        (
            {"size_shares": 1.0, "weights": [1.0]},
            "weights",
            "expected a table (dict[str, float]), got [1.0] (an array)",
        ),
        (
            {"size_shares": 1.0, "weights": {"a": "x"}},
            "weights",
            "expected a table (dict[str, float]), got {'a': 'x'} (a table): "
            "value of 'a' is 'x' (a string), not a number",
        ),
        (
            {"size_shares": 1.0, "mode": "cross"},
            "mode",
            "expected one of 'join', 'improve' (Literal['join', 'improve']), "
            "got 'cross' (a string)",
        ),
    ],
)
def test_a_wrong_type_names_key_value_and_expected_type(module, params, key, message) -> None:
    err = refused(module, "Typed", **params)
    assert err.key == f"strategy.params.{key}"
    assert err.problem == message
    assert str(err) == f"config key 'strategy.params.{key}': {message}"


def test_ints_become_floats_and_arrays_become_tuples(module) -> None:
    s = load(
        module,
        "Typed",
        size_shares=10,
        limit=5,
        prices=[1, 0.5],
        pair=[2, "b"],
        tags=["x"],
        weights={"a": 1},
        cap=4,
        levels=7,
    )
    p = s.params
    assert p["size_shares"] == 10.0 and type(p["size_shares"]) is float
    assert p["limit"] == 5.0 and type(p["limit"]) is float
    assert p["prices"] == (1.0, 0.5) and type(p["prices"][0]) is float
    assert p["pair"] == (2, "b")
    assert p["tags"] == ["x"] and p["weights"] == {"a": 1.0}
    assert type(p["weights"]["a"]) is float
    assert p["cap"] == 4 and type(p["cap"]) is int and p["levels"] == 7


def test_unsupported_annotations_pass_unchecked(module) -> None:
    helper = object()
    s = load(module, "Typed", size_shares=1.0, extra=[1, "x"], custom=helper, loose="anything")
    assert s.params["extra"] == [1, "x"] and s.params["custom"] is helper
    assert s.params["loose"] == "anything"


def test_unresolvable_hints_fall_back_to_the_ones_that_resolve(module) -> None:
    s = load(module, "Unresolvable", size=2, tick="0.01")  # Decimal is only for type checkers
    assert s.size == 2.0 and type(s.size) is float and s.tick == "0.01"
    err = refused(module, "Unresolvable", size="big")
    assert err.problem == "expected a number (float), got 'big' (a string)"


# --- the constructor and the class -------------------------------------------------------


def test_a_constructor_refusal_becomes_a_config_error(module) -> None:
    err = refused(module, "Picky", entry_price=0.7)
    assert err.key == "strategy.params"
    assert err.problem == "Picky rejected its parameters: entry_price must be in (0, 0.5)"
    err = refused(module, "Buggy", every_s=1)
    assert err.problem == "Buggy rejected its parameters: ZeroDivisionError: float division by zero"


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        ("NotAStrategy", "is not a sim.Strategy subclass"),
        ("not_a_class", "is a function, not a sim.Strategy class"),
        ("Missing", "has no 'Missing'"),
    ],
)
def test_the_class_must_be_a_strategy(module, cls: str, message: str) -> None:
    err = refused(module, cls)
    assert err.key == "strategy.name" and message in err.problem


# --- the CLI and the shipped examples ------------------------------------------------------

CONFIG = """
[data]
path = "{data}"
[strategy]
name = "{module}:Typed"
[strategy.params]
size_shares = "ten"
"""


def test_cli_refuses_a_bad_param_in_one_line(module, capsys) -> None:
    name, base = module
    data = write_dataset(base / "data")
    cfg = base / "bt.toml"
    cfg.write_text(CONFIG.format(data=data.as_posix(), module=name))
    assert main(["-q", "backtest", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err == (
        "clobsim: error: config key 'strategy.params.size_shares': "
        "expected a number (float), got 'ten' (a string)\n"
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_still_loads(path: Path) -> None:
    if "[validation]" in path.read_text():
        cfg, _, base, _ = validation_load(path)
    else:
        cfg, base = load_backtest_config(path)
    assert cfg.strategy is not None
    strategy = load_strategy(cfg.strategy, base)
    assert isinstance(strategy, Strategy)
    accepted = accepted_params(cfg.strategy, base)
    assert set(cfg.strategy.params) <= accepted
    for sc in SCENARIOS:  # the params a validation scenario adds pass the check too
        extra = {k: v for k, v in sc.strategy_params.items() if k in accepted}
        params = {**cfg.strategy.params, **extra}
        load_strategy(dataclasses.replace(cfg.strategy, params=params), base)
