"""Risk controls: breakers that halt new risk, and sizing limits. See ``manager.py``."""

from sim.risk.breakers import (
    EPS_USDC,
    Breaker,
    ConsecutiveLossesBreaker,
    CooldownBreaker,
    DailyLossBreaker,
    DailyTradeLimitBreaker,
    MinBankrollBreaker,
)
from sim.risk.config import RiskConfig
from sim.risk.events import BreakerEvent
from sim.risk.manager import (
    RISK_CHECK_FAILED,
    RISK_PER_TRADE,
    RiskManager,
    RiskStateError,
    build_breakers,
)
from sim.risk.sizing import kelly_fraction_binary, kelly_stake_usdc, max_order_usdc

__all__ = [
    "EPS_USDC",
    "RISK_CHECK_FAILED",
    "RISK_PER_TRADE",
    "Breaker",
    "BreakerEvent",
    "ConsecutiveLossesBreaker",
    "CooldownBreaker",
    "DailyLossBreaker",
    "DailyTradeLimitBreaker",
    "MinBankrollBreaker",
    "RiskConfig",
    "RiskManager",
    "RiskStateError",
    "build_breakers",
    "kelly_fraction_binary",
    "kelly_stake_usdc",
    "max_order_usdc",
]
