"""The scenario library: the readiness review's checklist, one scenario per line.

A scenario states what it injects (a fault plan, a tightened limit, an
operator action) and which checks judge it. Checks live in ``checks.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from exchange_mock.faults import FaultPlan, library
from sim.backtest_config import BacktestConfig
from sim.executor.config import CALL_KINDS

#: the shock never needs more ticks than this (it hides at most this many levels)
MAX_SHOCK_TICKS = 50


def stall_s(cfg: BacktestConfig) -> float:
    """How long the timeout scenario stalls a call: past the user's longest deadline."""
    longest = max(cfg.executor.deadline(k) for k in CALL_KINDS)
    return longest + max(3.0, 0.5 * longest)


def shock_ticks(cfg: BacktestConfig, tick: float = 0.01) -> int:
    """The slippage scenario's daily shock, in ticks: past the user's ``max_slippage``
    (at a 0.01 tick) where that is possible, at least 5, at most ``MAX_SHOCK_TICKS``."""
    return min(max(5, math.floor(cfg.executor.max_slippage / tick) + 2), MAX_SHOCK_TICKS)


def _timeout_params(cfg: BacktestConfig) -> dict:
    return {"timeouts": {"stall_s": stall_s(cfg)}}


def _shock_params(cfg: BacktestConfig) -> dict:
    return {"slippage_shock": {"shock_ticks": shock_ticks(cfg)}}


@dataclass(frozen=True)
class StandIn:
    """A setting a scenario may have to tighten for its mechanism to act at all.

    ``value(cfg)`` is the stand-in; ``tighter`` says which way is tighter ("lower" or
    "higher"). The run uses the user's own value when it is already at least as tight
    (then the check judged "your setting"), else the stand-in, and says so."""

    key: str
    value: Callable[[BacktestConfig], float]
    tighter: str = "lower"
    #: the user's value that means "off" (a cooldown of 0): always replaced
    off: float | None = None

    def choose(self, cfg: BacktestConfig) -> tuple[float, bool]:
        """(the value to test, True if it is the user's own)."""
        yours = getattr(cfg.risk, self.key)
        if self.off is not None and yours == self.off:
            return self.value(cfg), False
        stand_in = self.value(cfg)
        ok = yours <= stand_in if self.tighter == "lower" else yours >= stand_in
        return (yours, True) if ok else (stand_in, False)


@dataclass(frozen=True)
class Scenario:
    name: str
    injects: str
    #: fault plans by library name, combined
    faults: tuple[str, ...] = ()
    #: the plans' parameters derived from the config under test (deadlines, slippage cap)
    fault_params: Callable[[BacktestConfig], dict] | None = None
    #: risk settings a breaker scenario tightens when the user's own cannot be reached
    stand_ins: tuple[StandIn, ...] = ()
    #: overrides of the executor limits
    limits: dict = field(default_factory=dict)
    #: overrides of the risk config that are part of the scenario itself (not stand-ins
    #: for a threshold under test)
    risk: dict = field(default_factory=dict)
    #: starting cash override (insufficient funds)
    cash_usdc: float | None = None
    #: strategy parameters for this scenario (e.g. sizing that asks for more than the funds);
    #: only those the strategy accepts are applied
    strategy_params: dict = field(default_factory=dict)
    #: trip the kill switch this many seconds after the start (an operator action)
    kill_switch_at_s: float | None = None
    #: check names judged on this scenario's runs
    checks: tuple[str, ...] = ()

    def plan(self, seed: int, cfg: BacktestConfig) -> FaultPlan | None:
        if not self.faults:
            return None
        params = self.fault_params(cfg) if self.fault_params is not None else {}
        plans = [library.plan(name, seed, **params.get(name, {})) for name in self.faults]
        plan = plans[0]
        for more in plans[1:]:
            plan = plan + more
        return plan


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "baseline",
        "nothing: the fault-free run",
        checks=("credentials_configured", "positions_reconcile", "alerting", "strategy_errors"),
    ),
    Scenario(
        "api_timeouts",
        "calls stalled past your longest deadline (the order still lands)",
        faults=("timeouts",),
        fault_params=_timeout_params,
        checks=("api_timeouts",),
    ),
    Scenario(
        "retries",
        "HTTP 5xx, 429 with Retry-After, answers lost after the order landed",
        faults=("transient_5xx", "rate_limits", "lost_responses"),
        checks=("retries", "network_health"),
    ),
    Scenario(
        "balance",
        "a zero balance and a failing balance source",
        faults=("zero_balance", "balance_failing"),
        checks=("balance_checking",),
    ),
    Scenario(
        "slippage",
        "the book 2 ticks worse when marketable orders arrive; a daily shock past your "
        "max_slippage",
        faults=("slippage_shock",),
        fault_params=_shock_params,
        checks=("slippage",),
    ),
    Scenario(
        "partial_fills",
        "marketable orders meet half the liquidity they saw",
        faults=("partial_fills",),
        checks=("partial_fills",),
    ),
    Scenario(
        "insufficient_funds",
        "a 60 USDC bankroll and full-Kelly sizing, so open legs eat the funds",
        cash_usdc=60.0,
        risk={"risk_per_trade": 1.0, "min_bankroll_usdc": 0.0, "daily_loss_usdc": 1e6},
        strategy_params={
            "risk_per_trade": 1.0,
            "kelly_fraction": 1.0,
            "prior_weight": 1.0,
            "max_unpaired_usdc": 1e9,
        },
        checks=("insufficient_funds",),
    ),
    Scenario(
        "kill_switch",
        "the kill switch tripped 6 hours in",
        kill_switch_at_s=6 * 3600.0,
        checks=("kill_switch",),
    ),
    Scenario(
        "ws_reconnect",
        "the market WebSocket dropped for 60 s each day",
        faults=("ws_drop",),
        checks=("websocket_reconnect",),
    ),
    Scenario(
        "ws_silent",
        "the WebSocket connected but silent 5 minutes each day, a frozen book",
        faults=("ws_silent", "stale_book"),
        checks=("websocket_heartbeat",),
    ),
    Scenario(
        "cancel_only",
        "the exchange in cancel-only mode 15 minutes each day",
        faults=("cancel_only",),
        checks=("exchange_modes",),
    ),
    Scenario(
        "breaker_daily_loss",
        "your daily loss limit, or a 2 % stand-in when the strategy cannot reach yours",
        stand_ins=(StandIn("daily_loss_usdc", lambda c: 0.02 * c.cash_usdc),),
        checks=("breaker_daily_loss",),
    ),
    Scenario(
        "breaker_consecutive_losses",
        "your consecutive-loss limit, or a stand-in of 3",
        stand_ins=(StandIn("max_consecutive_losses", lambda c: 3),),
        checks=("breaker_consecutive_losses",),
    ),
    Scenario(
        "breaker_min_bankroll",
        "your minimum bankroll, or a stand-in 0.5 % below the starting cash",
        stand_ins=(StandIn("min_bankroll_usdc", lambda c: 0.995 * c.cash_usdc, "higher"),),
        checks=("breaker_min_bankroll",),
    ),
    Scenario(
        "breaker_cooldown",
        "your cooldown after a loss, or a 30-minute stand-in when yours is off",
        stand_ins=(StandIn("cooldown_after_loss_s", lambda c: 1800.0, "higher", off=0.0),),
        checks=("breaker_cooldown",),
    ),
    Scenario(
        "breaker_daily_trades",
        "your daily trade limit, or a stand-in of 10",
        stand_ins=(StandIn("daily_trade_limit", lambda c: 10),),
        checks=("breaker_daily_trades",),
    ),
)

BY_NAME = {s.name: s for s in SCENARIOS}
