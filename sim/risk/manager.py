"""RiskManager: owns the breakers, rolls the trading day, and answers "may I add risk now?".

The executor asks ``check_order`` (or ``allow_new_risk``) before every order
that adds exposure and feeds ``on_fill`` / ``on_round_trip`` / ``on_equity``
(the last one also on a timer, with equity marked to market). Orders that
only reduce exposure need not ask: breakers halt new risk, never exits.

Fail closed (Hummingbot's kill switch kept trading when its own P&L maths
threw; this one does not): any exception while observing or evaluating, and
any non-finite equity or P&L, latches ``fault`` and every later
``allow_new_risk`` returns ``"risk_check_failed"`` until an operator calls
``clear_fault``. The fault survives a restart with the rest of ``state()``.

Time: every call carries ``now_ns``. Time never goes back for the manager: a
``now_ns`` earlier than one already seen is treated as the latest one seen.
When ``now_ns`` falls in a later trading day than the last call (day boundary
at ``day_boundary_utc_hour`` UTC), every breaker's ``on_new_day`` runs first
with the last equity known before the boundary, then the call's own
observation is applied. After a restart spanning several days only the latest
boundary matters.
"""

from __future__ import annotations

import logging
import math
import operator
from collections.abc import Callable
from typing import Any

from sim.errors import ClobsimError
from sim.risk.boundaries import day_index, day_start_ns
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
from sim.risk.sizing import max_order_usdc

log = logging.getLogger(__name__)

#: Refusal when the risk check itself failed (fail closed); also the fault's event name.
RISK_CHECK_FAILED = "risk_check_failed"
#: Refusal when one order's notional exceeds ``bankroll * risk_per_trade``.
RISK_PER_TRADE = "risk_per_trade"
STATE_VERSION = 1


class RiskStateError(ClobsimError, ValueError):
    """A saved risk state cannot be restored: refuse to start rather than reset the counters."""


def build_breakers(config: RiskConfig) -> tuple[Breaker, ...]:
    """The breakers in refusal order: the first tripped one names the refusal."""
    return (
        MinBankrollBreaker(config.min_bankroll_usdc),
        DailyLossBreaker(config.daily_loss_usdc),
        ConsecutiveLossesBreaker(config.max_consecutive_losses),
        DailyTradeLimitBreaker(config.daily_trade_limit),
        CooldownBreaker(
            config.cooldown_after_loss_s, config.cooldown_after_loss_windows, config.window_s
        ),
    )


def _ts(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError(f"a time must be integer ns, got {value!r}")
    return operator.index(value)  # type: ignore[arg-type]


def _usdc(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number of USDC, got {value!r}")
    return float(value)


class RiskManager:
    """Breakers, the trading day, and the fail-closed gate in front of new risk.

    ``clock_start_ns`` fixes the first trading day; ``start_equity_usdc`` is that
    day's reference equity. After a restart, construct one and ``restore`` the
    journaled ``state()``: the saved state replaces both.
    """

    def __init__(
        self, config: RiskConfig, *, clock_start_ns: int, start_equity_usdc: float
    ) -> None:
        self.config = config
        start = _ts(clock_start_ns)
        equity = _usdc(start_equity_usdc, "start_equity_usdc")
        self.events: list[BreakerEvent] = []
        #: Why the manager failed closed (None while healthy).
        self.fault: str | None = None
        self._breakers = build_breakers(config)
        self._was_tripped = {b.name: False for b in self._breakers}
        self._day = day_index(start, config.day_boundary_utc_hour)
        self._last_ns = start
        self._equity = equity
        self._counted_orders: set[str] = set()
        boundary = day_start_ns(self._day, config.day_boundary_utc_hour)
        for b in self._breakers:
            b.on_new_day(boundary, equity)
        self._sync(start)

    # -- read-only views ---------------------------------------------------------------------
    @property
    def breakers(self) -> tuple[Breaker, ...]:
        return self._breakers

    @property
    def equity_usdc(self) -> float:
        """The last equity observed (the start equity before any)."""
        return self._equity

    @property
    def last_ns(self) -> int:
        return self._last_ns

    # -- observations --------------------------------------------------------------------------
    def advance(self, now_ns: int) -> None:
        """Let time pass: roll the day and end cooldowns (recording events), observe nothing."""
        self._observe(now_ns, lambda now: None)

    def on_equity(self, now_ns: int, equity_usdc: float) -> None:
        """Marked equity, unrealised P&L included: call on every fill and on a timer."""
        self._observe(now_ns, lambda now: self._apply_equity(now, equity_usdc))

    def on_fill(
        self,
        now_ns: int,
        client_order_id: str,
        *,
        opens_risk: bool = True,
        equity_usdc: float | None = None,
    ) -> None:
        """A fill of our order. ``opens_risk``: it increased exposure (counts as a trade).

        A trade is counted once per client order id per trading day, however many
        partial fills the order gets. ``equity_usdc`` is the marked equity after the fill.
        """

        def apply(now: int) -> None:
            if equity_usdc is not None:
                self._apply_equity(now, equity_usdc)
            if opens_risk:
                if not isinstance(client_order_id, str) or not client_order_id:
                    raise ValueError(
                        f"client_order_id must be a non-empty string: {client_order_id!r}"
                    )
                if client_order_id not in self._counted_orders:
                    self._counted_orders.add(client_order_id)
                    for b in self._breakers:
                        b.on_trade(now)

        self._observe(now_ns, apply)

    def on_round_trip(
        self, now_ns: int, pnl_usdc: float, *, equity_usdc: float | None = None
    ) -> None:
        """A position closed or resolved with realised ``pnl_usdc`` (fees included; < 0 = loss)."""

        def apply(now: int) -> None:
            pnl = _usdc(pnl_usdc, "pnl_usdc")
            if equity_usdc is not None:
                self._apply_equity(now, equity_usdc)
            for b in self._breakers:
                b.on_round_trip(now, pnl)

        self._observe(now_ns, apply)

    # -- the gate --------------------------------------------------------------------------------
    def allow_new_risk(self, now_ns: int) -> str | None:
        """None if new risk is allowed now, else the reason of the first tripped breaker.

        With ``enabled = false`` this always returns None (breakers still record events).
        """
        enabled = self.config.enabled
        try:
            now = self._advance(now_ns)
            if self.fault is not None:
                return RISK_CHECK_FAILED if enabled else None
            for b in self._breakers:
                if b.tripped(now):
                    return b.reason if enabled else None
            return None
        except Exception as exc:
            self._set_fault(now_ns, exc)
            return RISK_CHECK_FAILED if enabled else None

    def check_order(self, notional_usdc: float, bankroll_usdc: float, now_ns: int) -> str | None:
        """``allow_new_risk``, then refuse ``risk_per_trade`` if notional > bankroll * fraction."""
        reason = self.allow_new_risk(now_ns)
        if reason is not None or not self.config.enabled:
            return reason
        try:
            notional = _usdc(notional_usdc, "notional_usdc")
            if notional < 0:
                raise ValueError(f"notional_usdc must be >= 0, got {notional}")
            cap = max_order_usdc(_usdc(bankroll_usdc, "bankroll_usdc"), self.config)
        except (TypeError, ValueError):
            return RISK_CHECK_FAILED
        return RISK_PER_TRADE if notional > cap + EPS_USDC else None

    def tripped_breakers(self, now_ns: int) -> list[str]:
        """Names of the breakers tripped now (``risk_check_failed`` first while faulted)."""
        try:
            now = self._advance(now_ns)
            names = [b.name for b in self._breakers if b.tripped(now)]
        except Exception as exc:
            self._set_fault(now_ns, exc)
            names = []
        return ([RISK_CHECK_FAILED] if self.fault is not None else []) + names

    def clear_fault(self, now_ns: int) -> None:
        """Operator action after investigating a fault: re-open the gate (breakers still apply)."""
        if self.fault is None:
            return
        self.fault = None
        ts = max(_ts(now_ns), self._last_ns)
        self.events.append(BreakerEvent(ts, RISK_CHECK_FAILED, "reset", 0.0, 1.0))

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything needed to carry on after a restart, as JSON-ready builtins."""
        return {
            "version": STATE_VERSION,
            "day_index": self._day,
            "last_ns": self._last_ns,
            "equity_usdc": self._equity,
            "counted_orders": sorted(self._counted_orders),
            "was_tripped": dict(self._was_tripped),
            "fault": self.fault,
            "breakers": {b.name: b.state() for b in self._breakers},
            "events": [e.to_dict() for e in self.events],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Replace this manager's state with a saved one; all or nothing.

        Raises ``RiskStateError`` if the state is malformed: a bot must not
        silently restart with fresh counters after a bad day.
        """
        try:
            if state["version"] != STATE_VERSION:
                raise ValueError(f"unsupported version {state['version']!r}")
            breakers = build_breakers(self.config)
            for b in breakers:
                b.restore(state["breakers"][b.name])
            was = state["was_tripped"]
            was_tripped = {}
            for b in breakers:
                if not isinstance(was[b.name], bool):
                    raise TypeError(f"was_tripped[{b.name}] must be true or false")
                was_tripped[b.name] = was[b.name]
            fault = state["fault"]
            if fault is not None and not isinstance(fault, str):
                raise TypeError("fault must be a string or null")
            orders = state["counted_orders"]
            if not all(isinstance(o, str) for o in orders):
                raise TypeError("counted_orders must be strings")
            day, last_ns = _ts(state["day_index"]), _ts(state["last_ns"])
            equity = _usdc(state["equity_usdc"], "equity_usdc")
            events = [BreakerEvent.from_dict(e) for e in state["events"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise RiskStateError(f"cannot restore risk state: {type(exc).__name__}: {exc}") from exc
        self._breakers = breakers
        self._was_tripped = was_tripped
        self.fault = fault
        self._counted_orders = set(orders)
        self._day, self._last_ns, self._equity = day, last_ns, equity
        self.events = events

    # -- internals --------------------------------------------------------------------------------
    def _observe(self, now_ns: int, apply: Callable[[int], None]) -> None:
        try:
            now = self._advance(now_ns)
            apply(now)
            self._sync(now)
        except Exception as exc:
            # A lost observation leaves the counters wrong: stop adding risk.
            self._set_fault(now_ns, exc)

    def _apply_equity(self, now: int, equity_usdc: float) -> None:
        equity = _usdc(equity_usdc, "equity_usdc")
        self._equity = equity
        for b in self._breakers:
            b.on_equity(now, equity)

    def _advance(self, now_ns: int) -> int:
        now = max(_ts(now_ns), self._last_ns)
        hour = self.config.day_boundary_utc_hour
        day = day_index(now, hour)
        if day > self._day:
            boundary = day_start_ns(day, hour)
            self._sync(boundary)  # cooldowns that ended before the boundary
            self._day = day
            self._counted_orders.clear()
            for b in self._breakers:
                b.on_new_day(boundary, self._equity)
            self._sync(boundary)
        self._last_ns = now
        self._sync(now)
        return now

    def _sync(self, at_ns: int) -> None:
        """Record a trip or reset for every breaker whose state changed since the last sync."""
        new: list[BreakerEvent] = []
        for b in self._breakers:
            tripped = bool(b.tripped(at_ns))
            if tripped == self._was_tripped[b.name]:
                continue
            ts = at_ns
            if not tripped:
                ends = b.ends_ns()
                if ends is not None and ends <= at_ns:
                    ts = ends  # stamp the reset when the cooldown really ended
            kind = "trip" if tripped else "reset"
            new.append(BreakerEvent(ts, b.name, kind, float(b.value(ts)), b.threshold))
            self._was_tripped[b.name] = tripped
        new.sort(key=lambda e: e.ts_ns)
        self.events.extend(new)

    def _set_fault(self, now_ns: object, exc: BaseException) -> None:
        if self.fault is not None:
            log.debug("risk check failed again while faulted: %r", exc)
            return
        log.error("risk check failed, refusing new risk until cleared: %r", exc, exc_info=exc)
        self.fault = f"{type(exc).__name__}: {exc}"
        try:
            ts = max(_ts(now_ns), self._last_ns)
        except (TypeError, ValueError):
            ts = self._last_ns
        self.events.append(BreakerEvent(ts, RISK_CHECK_FAILED, "trip", 1.0, 1.0))
