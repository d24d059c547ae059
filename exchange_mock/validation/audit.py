"""The settings audit: every safety setting of the config under test, against a bound.

A run can only show that a mechanism works at the value it was given. A 300 s
deadline "works" and still leaves an order hanging for five minutes; a
``max_slippage`` of 0.99 bounds nothing. So the verdict also judges the values
themselves: each safety setting is listed with its value, the bound it must
respect, PASS/FAIL, and where the bound comes from. Bounds live in the
``[validation.bounds]`` table (``AuditBounds``); their defaults are what a
cautious trader would accept and are documented in ``docs/config.md``.
Amounts relative to the bankroll use the config's ``cash_usdc``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sim.backtest_config import BacktestConfig
from sim.errors import ConfigError
from sim.executor.config import CALL_KINDS


@dataclass(frozen=True)
class AuditBounds:
    """The ``[validation.bounds]`` table: what each safety setting must respect."""

    #: every venue call's deadline must be at most this (Polymarket answers a healthy
    #: order in well under a second; longer leaves the bot blind while the book moves)
    max_deadline_s: float = 10.0
    #: attempts per call (1 = no retry): retries must be on and bounded
    max_retry_attempts: int = 6
    #: longest single backoff between attempts
    max_backoff_s: float = 30.0
    #: ``executor.max_slippage``, USDC per share beyond the price seen
    max_slippage_per_share: float = 0.05
    #: ``executor.limits.max_order_usdc`` as a share of the bankroll
    max_order_pct_of_bankroll: float = 25.0
    #: ``executor.limits.max_total_position_usdc`` as a share of the bankroll
    max_position_pct_of_bankroll: float = 100.0
    #: ``risk.daily_loss_usdc`` as a share of the bankroll
    max_daily_loss_pct_of_bankroll: float = 25.0
    #: ``risk.min_bankroll_usdc`` must be at least this share of the bankroll
    min_bankroll_floor_pct: float = 1.0
    #: ``risk.max_consecutive_losses`` at most
    max_consecutive_losses: int = 50
    #: ``risk.daily_trade_limit`` at most
    max_daily_trades: int = 10_000
    #: ``risk.risk_per_trade`` (fraction of the bankroll) at most
    max_risk_per_trade: float = 0.10
    #: ``risk.kelly_fraction`` at most (full Kelly is a gambler's setting)
    max_kelly_fraction: float = 0.5
    #: ``executor.feed_silence_s`` must be on (> 0) and at most this
    max_feed_silence_s: float = 120.0
    #: ``executor.balance_ttl_s`` at most (a cached balance older than this is a guess)
    max_balance_ttl_s: float = 60.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or v < 0 or (f.name != "min_bankroll_floor_pct" and v == 0):
                raise ConfigError(f.name, f"must be a positive number, got {v!r}")
            if f.type == "int" and not isinstance(v, int):
                raise ConfigError(f.name, f"must be a whole number, got {v!r}")


def _line(setting: str, value: object, bound: str, ok: bool, source: str) -> dict:
    return {"setting": setting, "value": value, "bound": bound,
            "status": "PASS" if ok else "FAIL", "source": source}  # fmt: skip


def audit_settings(cfg: BacktestConfig, bounds: AuditBounds) -> list[dict]:
    """One line per safety setting of ``cfg``: value, bound, PASS/FAIL, source."""
    b, ex, risk, lim = bounds, cfg.executor, cfg.risk, cfg.executor.limits
    cash = cfg.cash_usdc
    src = "validation.bounds."
    out = []
    for kind in CALL_KINDS:
        v = ex.deadline(kind)
        out.append(_line(f"executor.deadlines.{kind}", v, f"<= {b.max_deadline_s:g} s",
                         v <= b.max_deadline_s, src + "max_deadline_s"))  # fmt: skip
    n = ex.retry.max_attempts
    out.append(_line("executor.retry.max_attempts", n, f"2 .. {b.max_retry_attempts}",
                     2 <= n <= b.max_retry_attempts,
                     src + "max_retry_attempts (1 would mean no retry)"))  # fmt: skip
    v = ex.retry.max_backoff_s
    out.append(_line("executor.retry.max_backoff_s", v, f"<= {b.max_backoff_s:g} s",
                     v <= b.max_backoff_s, src + "max_backoff_s"))  # fmt: skip
    v = ex.max_slippage
    out.append(_line("executor.max_slippage", v, f"<= {b.max_slippage_per_share:g} USDC/share",
                     v <= b.max_slippage_per_share, src + "max_slippage_per_share"))  # fmt: skip
    v = ex.slippage_breaker_fills
    out.append(_line("executor.slippage_breaker_fills", v, "> 0 (on)", v > 0,
                     "the slippage breaker must be on"))  # fmt: skip
    v = ex.feed_silence_s
    out.append(_line("executor.feed_silence_s", v, f"0 < s <= {b.max_feed_silence_s:g} s",
                     0 < v <= b.max_feed_silence_s,
                     src + "max_feed_silence_s (0 = watchdog off)"))  # fmt: skip
    v = ex.balance_ttl_s
    out.append(_line("executor.balance_ttl_s", v, f"<= {b.max_balance_ttl_s:g} s",
                     v <= b.max_balance_ttl_s, src + "max_balance_ttl_s"))  # fmt: skip
    for key in ("max_order_shares", "max_position_shares_per_market", "max_open_orders",
                "max_orders_per_day"):  # fmt: skip
        v = getattr(lim, key)
        out.append(_line(f"executor.limits.{key}", v, "set (> 0)", v > 0,
                         "every limit must be set: 0 means no limit"))  # fmt: skip
    for key, pct, name in (
        ("max_order_usdc", b.max_order_pct_of_bankroll, "max_order_pct_of_bankroll"),
        ("max_total_position_usdc", b.max_position_pct_of_bankroll,
         "max_position_pct_of_bankroll"),
    ):  # fmt: skip
        v = getattr(lim, key)
        cap = cash * pct / 100
        out.append(_line(f"executor.limits.{key}", v, f"0 < usdc <= {cap:g} ({pct:g} % of "
                         f"{cash:g})", 0 < v <= cap, src + name))  # fmt: skip
    out.append(_line("risk.enabled", risk.enabled, "true", risk.enabled is True,
                     "breakers must be able to refuse"))  # fmt: skip
    cap = cash * b.max_daily_loss_pct_of_bankroll / 100
    out.append(_line("risk.daily_loss_usdc", risk.daily_loss_usdc,
                     f"<= {cap:g} ({b.max_daily_loss_pct_of_bankroll:g} % of {cash:g})",
                     risk.daily_loss_usdc <= cap,
                     src + "max_daily_loss_pct_of_bankroll"))  # fmt: skip
    floor = cash * b.min_bankroll_floor_pct / 100
    out.append(_line("risk.min_bankroll_usdc", risk.min_bankroll_usdc,
                     f">= {floor:g} ({b.min_bankroll_floor_pct:g} % of {cash:g}) and < {cash:g}",
                     floor <= risk.min_bankroll_usdc < cash and risk.min_bankroll_usdc > 0,
                     src + "min_bankroll_floor_pct"))  # fmt: skip
    out.append(_line("risk.max_consecutive_losses", risk.max_consecutive_losses,
                     f"<= {b.max_consecutive_losses}",
                     risk.max_consecutive_losses <= b.max_consecutive_losses,
                     src + "max_consecutive_losses"))  # fmt: skip
    out.append(_line("risk.daily_trade_limit", risk.daily_trade_limit,
                     f"<= {b.max_daily_trades}", risk.daily_trade_limit <= b.max_daily_trades,
                     src + "max_daily_trades"))  # fmt: skip
    out.append(_line("risk.risk_per_trade", risk.risk_per_trade, f"<= {b.max_risk_per_trade:g}",
                     risk.risk_per_trade <= b.max_risk_per_trade,
                     src + "max_risk_per_trade"))  # fmt: skip
    out.append(_line("risk.kelly_fraction", risk.kelly_fraction, f"<= {b.max_kelly_fraction:g}",
                     risk.kelly_fraction <= b.max_kelly_fraction,
                     src + "max_kelly_fraction"))  # fmt: skip
    return out
