"""Position sizing limits: risk per trade and fractional Kelly for binary contracts.

These are limits, not breakers: they bound the size of one order and never
halt trading.
"""

from __future__ import annotations

import math

from sim.risk.config import RiskConfig


def max_order_usdc(bankroll_usdc: float, cfg: RiskConfig) -> float:
    """Largest notional one order may have: ``bankroll * risk_per_trade`` (0 when broke)."""
    if not math.isfinite(bankroll_usdc):
        raise ValueError(f"bankroll_usdc must be finite, got {bankroll_usdc!r}")
    return max(bankroll_usdc, 0.0) * cfg.risk_per_trade


def kelly_fraction_binary(p_win: float, price: float) -> float:
    """Full Kelly fraction for a contract bought at ``price`` paying 1 with probability ``p_win``.

    Net odds are ``b = (1 - price) / price``, so ``f* = p - (1 - p) / b =
    (p - price) / (1 - price)``; no edge (``p <= price``) gives 0, never a short.
    """
    if not (0.0 <= p_win <= 1.0):
        raise ValueError(f"p_win must be in [0, 1], got {p_win!r}")
    if not (0.0 < price < 1.0):
        raise ValueError(f"price must be in (0, 1), got {price!r}")
    return max((p_win - price) / (1.0 - price), 0.0)


def kelly_stake_usdc(p_win: float, price: float, bankroll_usdc: float, cfg: RiskConfig) -> float:
    """USDC to spend: ``kelly_fraction * f* * bankroll``, capped by ``max_order_usdc``."""
    cap = max_order_usdc(bankroll_usdc, cfg)
    stake = cfg.kelly_fraction * kelly_fraction_binary(p_win, price) * max(bankroll_usdc, 0.0)
    return min(stake, cap)
