"""Fault plans: TOML and dict round trips, validation naming the key, the named library."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from exchange_mock.faults import KINDS, FaultInjector, FaultPlan, FaultSpec, library
from sim.errors import ConfigError

PLAN_TOML = """
seed = 7
name = "mixed"

[[faults]]
kind = "delay"
calls = ["place", "cancel"]
every_n = 10
delay_s = 8.0
max_count = 3

[[faults]]
kind = "rate_limit"
rate = 0.05
retry_after_s = 2

[[faults]]
kind = "cancel_only"
between_s = [3600, 4500]

[[faults]]
kind = "ws_drop"
at_s = 7200
duration_s = 60

[[faults]]
kind = "clock_skew"
between_s = [0, inf]
skew_s = -1.5
"""


def test_a_toml_plan_parses_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN_TOML)
    plan = FaultPlan.from_toml(path)
    assert plan.seed == 7 and plan.name == "mixed" and len(plan.specs) == 5
    d = plan.specs[0]
    assert (d.kind, d.calls, d.every_n, d.delay_s, d.max_count) == (
        "delay", ("place", "cancel"), 10, 8.0, 3,
    )  # fmt: skip
    assert plan.specs[1].retry_after_s == 2.0 and isinstance(plan.specs[1].retry_after_s, float)
    assert plan.specs[2].between_s == (3600.0, 4500.0)
    assert math.isinf(plan.specs[4].between_s[1])
    assert plan.specs[4].effective_calls == KINDS["clock_skew"].calls
    # dict and TOML text round trips
    assert FaultPlan.from_toml(plan.to_dict()) == plan
    again = tmp_path / "again.toml"
    again.write_text(plan.to_toml())
    assert FaultPlan.from_toml(again) == plan


def test_plans_compose_and_specs_are_built_in_python() -> None:
    a = FaultPlan([FaultSpec("server_error", rate=0.1)], seed=3, name="a")
    b = FaultPlan([FaultSpec("ws_silent", at_s=60.0, duration_s=30.0)], name="b")
    both = a + b
    assert both.seed == 3 and both.name == "a+b"
    assert [s.kind for s in both.specs] == ["server_error", "ws_silent"]
    assert both.with_seed(9).seed == 9
    assert FaultSpec("delay", calls=["get_order"], at_s=1, delay_s=2).calls == ("get_order",)


@pytest.mark.parametrize("name", library.names())
def test_every_library_plan_is_valid_and_round_trips(name: str, tmp_path: Path) -> None:
    plan = library.plan(name, seed=5)
    assert plan.name == name and plan.seed == 5 and plan.specs
    path = tmp_path / f"{name}.toml"
    path.write_text(plan.to_toml())
    assert FaultPlan.from_toml(path) == plan
    FaultInjector(plan, start_ns=0)


def test_the_library_covers_every_kind() -> None:
    kinds = {s.kind for n in library.names() for s in library.plan(n).specs}
    assert kinds == set(KINDS)
    assert set(library.names()) >= {
        "timeouts", "lost_responses", "transient_5xx", "rate_limits", "partial_fills",
        "slippage_shock", "ws_drop", "ws_silent", "stale_book", "zero_balance",
        "balance_failing", "cancel_only", "clock_skew",
    }  # fmt: skip
    with pytest.raises(KeyError, match="no fault plan"):
        library.plan("meteor_strike")


def one(**kw) -> dict:
    return {"seed": 1, "faults": [{"kind": "delay", "every_n": 2, "delay_s": 6.0}, kw]}


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ({"kind": "delay", "every_n": 2, "delay_s": 6.0, "bogus": 1}, "faults[1].bogus"),
        ({"kind": "meteor", "every_n": 2}, "faults[1].kind"),
        ({"every_n": 2}, "faults[1].kind"),
        ({"kind": "server_error", "rate": 1.5}, "faults[1].rate"),
        ({"kind": "server_error", "rate": 0}, "faults[1].rate"),
        ({"kind": "server_error", "rate": "often"}, "faults[1].rate"),
        ({"kind": "server_error", "every_n": 0}, "faults[1].every_n"),
        ({"kind": "server_error", "every_n": 2.5}, "faults[1].every_n"),
        ({"kind": "server_error", "every_n": True}, "faults[1].every_n"),
        ({"kind": "server_error", "at_s": -1}, "faults[1].at_s"),
        ({"kind": "server_error", "at_s": 1, "rate": 0.1}, "faults[1].rate"),
        ({"kind": "server_error", "at_s": 1, "between_s": [0, 5]}, "faults[1].between_s"),
        ({"kind": "server_error", "between_s": [5, 1]}, "faults[1].between_s"),
        ({"kind": "server_error", "between_s": [5]}, "faults[1].between_s"),
        ({"kind": "server_error"}, "faults[1].at_s"),  # no schedule at all
        ({"kind": "server_error", "rate": 0.1, "status": 404}, "faults[1].status"),
        ({"kind": "server_error", "rate": 0.1, "delay_s": 3}, "faults[1].delay_s"),
        ({"kind": "server_error", "rate": 0.1, "calls": ["teleport"]}, "faults[1].calls"),
        ({"kind": "server_error", "rate": 0.1, "calls": "place"}, "faults[1].calls"),
        ({"kind": "server_error", "rate": 0.1, "calls": []}, "faults[1].calls"),
        ({"kind": "delay", "rate": 0.1}, "faults[1].delay_s"),
        ({"kind": "delay", "rate": 0.1, "delay_s": 0}, "faults[1].delay_s"),
        ({"kind": "partial_fill", "rate": 0.1, "fill_fraction": 1.0}, "faults[1].fill_fraction"),
        ({"kind": "partial_fill", "rate": 0.1, "fill_fraction": 0.5, "calls": ["cancel"]},
         "faults[1].calls"),
        ({"kind": "slippage", "rate": 0.1, "slippage_ticks": 0}, "faults[1].slippage_ticks"),
        ({"kind": "ws_drop", "rate": 0.1}, "faults[1].duration_s"),
        ({"kind": "ws_drop", "at_s": 5, "duration_s": -1}, "faults[1].duration_s"),
        ({"kind": "ws_drop", "between_s": [1, 2], "duration_s": 3}, "faults[1].duration_s"),
        ({"kind": "ws_drop", "between_s": [1, 2], "calls": ["place"]}, "faults[1].calls"),
        ({"kind": "clock_skew", "between_s": [0, 9], "skew_s": 0}, "faults[1].skew_s"),
        ({"kind": "clock_skew", "between_s": [0, 9]}, "faults[1].skew_s"),
        ({"kind": "rate_limit", "rate": 0.1, "retry_after_s": -2}, "faults[1].retry_after_s"),
        ({"kind": "zero_balance", "rate": 0.1, "max_count": 0}, "faults[1].max_count"),
        ("delay", "faults[1]"),
    ],
)  # fmt: skip
def test_invalid_faults_name_their_key(fault: object, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        FaultPlan.from_toml(one() | {"faults": [one()["faults"][0], fault]})
    assert err.value.key == key, err.value


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"seed": 1, "faults": [], "extra": 2}, "extra"),
        ({"seed": -1, "faults": []}, "seed"),
        ({"seed": 1.5, "faults": []}, "seed"),
        ({"faults": {"kind": "delay"}}, "faults"),
        ({"name": 3}, "name"),
    ],
)
def test_invalid_plans_name_their_key(doc: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        FaultPlan.from_toml(doc)
    assert err.value.key == key


def test_bad_files_and_python_specs_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[faults]\nkind = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        FaultPlan.from_toml(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        FaultPlan.from_toml(tmp_path / "missing.toml")
    with pytest.raises(ConfigError) as err:
        FaultSpec("rate_limit", rate=2.0)
    assert err.value.key == "rate"
    with pytest.raises(ConfigError) as err:
        FaultPlan([FaultSpec("server_error", rate=0.1), "delay"])
    assert err.value.key == "faults[1]"
