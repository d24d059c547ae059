"""The breakers: one small class per rule, all speaking the same protocol.

A breaker only keeps counters and answers "am I tripped?". It never sees the
clock or the day boundary on its own: ``RiskManager`` feeds it observations in
time order and calls ``on_new_day`` when a trading day starts. It never
decides what to refuse either; the manager does, in a fixed order.

Observations (all times integer ns since the epoch, money USDC):

- ``on_equity(ts_ns, equity_usdc)``: marked equity, *including* unrealised P&L.
- ``on_trade(ts_ns)``: one order that opened risk got (its first) fill today.
- ``on_round_trip(ts_ns, pnl_usdc)``: a position closed (or resolved) with this
  realised P&L, fees included. ``pnl < -EPS_USDC`` is a loss, ``> EPS_USDC`` a
  win, anything in between a scratch that neither extends nor breaks a run.
- ``on_new_day(day_start_ns, equity_usdc)``: a trading day began with this equity.

Thresholds are inclusive: each breaker trips at exactly its limit. ``EPS_USDC``
only absorbs float noise (1000.10 - 875.10 is 124.99999999999989, a loss of 125).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sim.clock import NS_PER_S, seconds_to_ns
from sim.risk.boundaries import window_end_ns

#: Float noise tolerated when comparing USDC amounts to a threshold.
EPS_USDC = 1e-9


class Breaker:
    """Common protocol. Subclasses override the observations they care about.

    ``name`` identifies the breaker in state and events; ``reason`` is the
    machine-readable refusal code (the same string). ``value(now_ns)`` and
    ``threshold`` are what a report prints next to a trip: for every breaker,
    it trips when ``value`` reaches ``threshold`` (see each class for the unit).
    """

    name: ClassVar[str] = ""
    threshold: float = 0.0

    @property
    def reason(self) -> str:
        return self.name

    def on_equity(self, ts_ns: int, equity_usdc: float) -> None:
        """Marked equity observed (unrealised P&L included)."""

    def on_trade(self, ts_ns: int) -> None:
        """One more risk-opening order filled today."""

    def on_round_trip(self, ts_ns: int, pnl_usdc: float) -> None:
        """A position closed with this realised P&L."""

    def on_new_day(self, day_start_ns: int, equity_usdc: float) -> None:
        """A trading day began; ``equity_usdc`` is the equity at the boundary."""

    def tripped(self, now_ns: int) -> bool:
        raise NotImplementedError

    def value(self, now_ns: int) -> float:
        raise NotImplementedError

    def ends_ns(self) -> int | None:
        """When the current trip ends by the passing of time alone, if it does."""
        return None

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def restore(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _is_loss(pnl_usdc: float) -> bool:
    return pnl_usdc < -EPS_USDC


def _is_win(pnl_usdc: float) -> bool:
    return pnl_usdc > EPS_USDC


def _float(state: dict[str, Any], key: str) -> float:
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{key} must be a number, got {value!r}")
    return float(value)


def _int(state: dict[str, Any], key: str) -> int:
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{key} must be a whole number, got {value!r}")
    return value


def _bool(state: dict[str, Any], key: str) -> bool:
    value = state[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be true or false, got {value!r}")
    return value


class DailyLossBreaker(Breaker):
    """Trips when day-start equity - equity >= ``limit_usdc``; latched until the next day.

    value: today's loss in USDC (positive = down); threshold: the limit.
    """

    name = "daily_loss"

    def __init__(self, limit_usdc: float) -> None:
        self.threshold = float(limit_usdc)
        self._day_start_equity = 0.0
        self._loss = 0.0
        self._tripped = False

    def on_new_day(self, day_start_ns: int, equity_usdc: float) -> None:
        self._day_start_equity = equity_usdc
        self._loss = 0.0
        self._tripped = False

    def on_equity(self, ts_ns: int, equity_usdc: float) -> None:
        self._loss = self._day_start_equity - equity_usdc
        if self._loss >= self.threshold - EPS_USDC:
            self._tripped = True

    def tripped(self, now_ns: int) -> bool:
        return self._tripped

    def value(self, now_ns: int) -> float:
        return self._loss

    def state(self) -> dict[str, Any]:
        return {
            "day_start_equity_usdc": self._day_start_equity,
            "loss_usdc": self._loss,
            "tripped": self._tripped,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._day_start_equity = _float(state, "day_start_equity_usdc")
        self._loss = _float(state, "loss_usdc")
        self._tripped = _bool(state, "tripped")


class MinBankrollBreaker(Breaker):
    """Trips when equity <= ``min_usdc``; latched until the next day boundary.

    At the boundary it is re-armed only if the equity then is above the minimum
    (a bot that is still broke stays halted). value: equity; threshold: the minimum.
    """

    name = "min_bankroll"

    def __init__(self, min_usdc: float) -> None:
        self.threshold = float(min_usdc)
        self._equity = 0.0
        self._tripped = False

    def _check(self, equity_usdc: float) -> bool:
        return equity_usdc <= self.threshold + EPS_USDC

    def on_new_day(self, day_start_ns: int, equity_usdc: float) -> None:
        self._equity = equity_usdc
        self._tripped = self._check(equity_usdc)

    def on_equity(self, ts_ns: int, equity_usdc: float) -> None:
        self._equity = equity_usdc
        if self._check(equity_usdc):
            self._tripped = True

    def tripped(self, now_ns: int) -> bool:
        return self._tripped

    def value(self, now_ns: int) -> float:
        return self._equity

    def state(self) -> dict[str, Any]:
        return {"equity_usdc": self._equity, "tripped": self._tripped}

    def restore(self, state: dict[str, Any]) -> None:
        self._equity = _float(state, "equity_usdc")
        self._tripped = _bool(state, "tripped")


class ConsecutiveLossesBreaker(Breaker):
    """Trips when ``max_losses`` losing round trips come in a row; latched until the next day.

    A win resets the run (but not a trip); a scratch leaves it alone; the day
    boundary resets both. value: current run of losses; threshold: the maximum.
    """

    name = "consecutive_losses"

    def __init__(self, max_losses: int) -> None:
        self.threshold = float(max_losses)
        self._run = 0
        self._tripped = False

    def on_new_day(self, day_start_ns: int, equity_usdc: float) -> None:
        self._run = 0
        self._tripped = False

    def on_round_trip(self, ts_ns: int, pnl_usdc: float) -> None:
        if _is_loss(pnl_usdc):
            self._run += 1
            if self._run >= self.threshold:
                self._tripped = True
        elif _is_win(pnl_usdc):
            self._run = 0

    def tripped(self, now_ns: int) -> bool:
        return self._tripped

    def value(self, now_ns: int) -> float:
        return float(self._run)

    def state(self) -> dict[str, Any]:
        return {"run": self._run, "tripped": self._tripped}

    def restore(self, state: dict[str, Any]) -> None:
        self._run = _int(state, "run")
        self._tripped = _bool(state, "tripped")


class CooldownBreaker(Breaker):
    """After a losing round trip, no new risk until the cooldown ends.

    The end is ``loss time + cooldown_s`` and/or the start of the
    ``windows``-th next UTC-aligned window, whichever is later; a further loss
    during a cooldown can only push the end later. The day boundary does not
    end a cooldown: only time does. value: seconds of cooldown left;
    threshold: 0 (tripped while value > 0).
    """

    name = "cooldown"

    def __init__(self, cooldown_s: float, windows: int, window_s: int) -> None:
        self.threshold = 0.0
        self._cooldown_ns = seconds_to_ns(cooldown_s)
        self._windows = int(windows)
        self._window_ns = int(window_s) * NS_PER_S
        self._until_ns = 0

    def on_round_trip(self, ts_ns: int, pnl_usdc: float) -> None:
        if not _is_loss(pnl_usdc) or (self._cooldown_ns == 0 and self._windows == 0):
            return
        end = ts_ns + self._cooldown_ns
        if self._windows:
            end = max(end, window_end_ns(ts_ns, self._windows, self._window_ns))
        self._until_ns = max(self._until_ns, end)

    def tripped(self, now_ns: int) -> bool:
        return now_ns < self._until_ns

    def value(self, now_ns: int) -> float:
        return max(self._until_ns - now_ns, 0) / NS_PER_S

    def ends_ns(self) -> int | None:
        return self._until_ns

    def state(self) -> dict[str, Any]:
        return {"until_ns": self._until_ns}

    def restore(self, state: dict[str, Any]) -> None:
        self._until_ns = _int(state, "until_ns")


class DailyTradeLimitBreaker(Breaker):
    """Blocks new risk once today's trade count reaches ``limit``; resets at the day boundary.

    A trade is one risk-opening order that filled today (the manager counts
    each client order id once per day). value: today's count; threshold: the limit.
    """

    name = "daily_trade_limit"

    def __init__(self, limit: int) -> None:
        self.threshold = float(limit)
        self._count = 0

    def on_new_day(self, day_start_ns: int, equity_usdc: float) -> None:
        self._count = 0

    def on_trade(self, ts_ns: int) -> None:
        self._count += 1

    def tripped(self, now_ns: int) -> bool:
        return self._count >= self.threshold

    def value(self, now_ns: int) -> float:
        return float(self._count)

    def state(self) -> dict[str, Any]:
        return {"count": self._count}

    def restore(self, state: dict[str, Any]) -> None:
        self._count = _int(state, "count")
