"""Configuration of the risk breakers and sizing limits (the ``[risk]`` TOML table).

Defaults live here and only here. Amounts are USDC, durations seconds, times of
day UTC. Every value is checked at construction; a bad one raises
``ConfigError`` naming the field (the loader prefixes the table, giving
``risk.daily_loss_usdc``), so a typo stops the bot at start, not mid-session.

=============================== ======= ==========================================================
key                             default meaning
=============================== ======= ==========================================================
``enabled``                     true    false: breakers still observe and record events (a report
                                        can show where they would have tripped) but refuse nothing
``daily_loss_usdc``             125.0   halt new risk when day-start equity - equity >= this;
                                        equity includes unrealised P&L; until the day boundary
``max_consecutive_losses``      25      halt after this many losing round trips in a row (a win
                                        resets the run); until the day boundary
``min_bankroll_usdc``           50.0    halt when equity <= this; until the day boundary, and then
                                        only if the equity at the boundary is above it
``cooldown_after_loss_s``       0.0     after a losing round trip, no new risk for this long
``cooldown_after_loss_windows`` 0       ... or until the start of the Nth next ``window_s`` window
                                        (both set: the later end wins; both 0: no cooldown)
``window_s``                    900     window length for the cooldown, aligned to UTC midnight
                                        like the 15-minute up/down markets; must divide 86400
``daily_trade_limit``           200     at most this many risk-opening orders filled per day
``risk_per_trade``              0.04    largest order notional as a fraction of the bankroll
``kelly_fraction``              0.25    multiplier applied to the full Kelly stake
``day_boundary_utc_hour``       0       hour (0-23, UTC) at which the day's counters reset
=============================== ======= ==========================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.errors import ConfigError

SECONDS_PER_DAY = 86_400
#: Longest cooldown accepted: a week. Longer is almost surely a unit mistake (ms for s).
MAX_COOLDOWN_S = 7 * SECONDS_PER_DAY


def _number(key: str, value: object, *, low: float, high: float, low_open: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ConfigError(key, f"must be a number in {bracket}{low}, {high}], got {value!r}")


def _whole(key: str, value: object, *, low: int, high: int) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise ConfigError(key, f"must be a whole number in [{low}, {high}], got {value!r}")


@dataclass(frozen=True)
class RiskConfig:
    """Breaker thresholds and sizing limits. See the module docstring for each key."""

    enabled: bool = True
    daily_loss_usdc: float = 125.0
    max_consecutive_losses: int = 25
    min_bankroll_usdc: float = 50.0
    cooldown_after_loss_s: float = 0.0
    cooldown_after_loss_windows: int = 0
    window_s: int = 900
    daily_trade_limit: int = 200
    risk_per_trade: float = 0.04
    kelly_fraction: float = 0.25
    day_boundary_utc_hour: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError("enabled", f"expected true or false, got {self.enabled!r}")
        _number("daily_loss_usdc", self.daily_loss_usdc, low=0.0, high=1e12, low_open=True)
        _whole("max_consecutive_losses", self.max_consecutive_losses, low=1, high=1_000_000)
        _number("min_bankroll_usdc", self.min_bankroll_usdc, low=0.0, high=1e12, low_open=False)
        _number(
            "cooldown_after_loss_s",
            self.cooldown_after_loss_s,
            low=0.0,
            high=MAX_COOLDOWN_S,
            low_open=False,
        )
        _whole("window_s", self.window_s, low=1, high=SECONDS_PER_DAY)
        if SECONDS_PER_DAY % self.window_s:
            raise ConfigError(
                "window_s",
                f"must divide a day (86400 s) so windows align to UTC, got {self.window_s}",
            )
        max_windows = MAX_COOLDOWN_S // self.window_s
        _whole(
            "cooldown_after_loss_windows", self.cooldown_after_loss_windows, low=0, high=max_windows
        )
        _whole("daily_trade_limit", self.daily_trade_limit, low=1, high=10_000_000)
        _number("risk_per_trade", self.risk_per_trade, low=0.0, high=1.0, low_open=True)
        _number("kelly_fraction", self.kelly_fraction, low=0.0, high=1.0, low_open=True)
        _whole("day_boundary_utc_hour", self.day_boundary_utc_hour, low=0, high=23)
