"""The scenario library: the readiness review's checklist, one scenario per line.

A scenario states what it injects (a fault plan, a tightened limit, an
operator action) and which checks judge it. Checks live in ``checks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exchange_mock.faults import FaultPlan, library


@dataclass(frozen=True)
class Scenario:
    name: str
    injects: str
    #: fault plans by library name, combined
    faults: tuple[str, ...] = ()
    #: overrides of the risk config for this scenario (tightened so breakers can trip)
    risk: dict = field(default_factory=dict)
    #: overrides of the executor limits
    limits: dict = field(default_factory=dict)
    #: starting cash override (insufficient funds)
    cash_usdc: float | None = None
    #: strategy parameters for this scenario (e.g. sizing that asks for more than the funds);
    #: only those the strategy accepts are applied
    strategy_params: dict = field(default_factory=dict)
    #: trip the kill switch this many seconds after the start (an operator action)
    kill_switch_at_s: float | None = None
    #: check names judged on this scenario's runs
    checks: tuple[str, ...] = ()

    def plan(self, seed: int) -> FaultPlan | None:
        if not self.faults:
            return None
        plan = library.plan(self.faults[0], seed)
        for name in self.faults[1:]:
            plan = plan + library.plan(name, seed)
        return plan


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "baseline",
        "nothing: the fault-free run",
        checks=("credentials_configured", "positions_reconcile", "alerting"),
    ),
    Scenario(
        "api_timeouts",
        "calls answered after 8 s against 5 s deadlines",
        faults=("timeouts",),
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
        "the book 2 ticks worse when marketable orders arrive",
        faults=("slippage_shock",),
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
        "daily loss limit lowered to 20 USDC",
        risk={"daily_loss_usdc": 20.0},
        checks=("breaker_daily_loss",),
    ),
    Scenario(
        "breaker_consecutive_losses",
        "consecutive-loss limit lowered to 3",
        risk={"max_consecutive_losses": 3},
        checks=("breaker_consecutive_losses",),
    ),
    Scenario(
        "breaker_min_bankroll",
        "minimum bankroll raised to 995 USDC",
        risk={"min_bankroll_usdc": 995.0},
        checks=("breaker_min_bankroll",),
    ),
    Scenario(
        "breaker_cooldown",
        "a 30-minute cooldown after each loss",
        risk={"cooldown_after_loss_s": 1800.0},
        checks=("breaker_cooldown",),
    ),
    Scenario(
        "breaker_daily_trades",
        "daily trade limit lowered to 10",
        risk={"daily_trade_limit": 10},
        checks=("breaker_daily_trades",),
    ),
)

BY_NAME = {s.name: s for s in SCENARIOS}
