"""What moves the trading state, and what each move sets off.

* the kill switch (a file, an API call, a strategy's ``halt``) halts: every open
  order is cancelled until the venue confirms none is left;
* a tripped breaker reduces: resting BUYs are cancelled (they could still fill);
* breakers reset by the risk manager resume trading, except the reasons with
  rules of their own (``trading_state.OWN_RULES``); a new day lifts the
  slippage breaker;
* an operator's reset resumes, unless a breaker is still tripped.

The state itself and its journal records belong to ``TradingStateMachine``.
"""

from __future__ import annotations

from sim.clock import Clock
from sim.executor.alerts import Alarm
from sim.executor.cancels import Canceller
from sim.executor.counters import DAY_NS, DayCounters
from sim.executor.tracker import OrderTracker
from sim.executor.trading_state import (
    OPERATOR_RESET,
    OWN_RULES,
    SLIPPAGE_BREAKER,
    KillSwitch,
    TradingState,
    TradingStateMachine,
)
from sim.executor.valuation import Valuation
from sim.journal import Journal, JournalError
from sim.types import Side

_ACTIVE = TradingState.ACTIVE
_REDUCING = TradingState.REDUCING
_HALTED = TradingState.HALTED


class Guard:
    __slots__ = ("_alarm", "_cancels", "_clock", "_day", "_journal", "_kill_switch",
                 "_risk", "_risk_events_saved", "_state", "_tracker", "_valuation")  # fmt: skip

    def __init__(
        self, clock: Clock, state: TradingStateMachine, kill_switch: KillSwitch,
        cancels: Canceller, tracker: OrderTracker, valuation: Valuation, day: DayCounters,
        journal: Journal, risk: object | None, alarm: Alarm,
    ) -> None:  # fmt: skip
        self._clock = clock
        self._state = state
        self._kill_switch = kill_switch
        self._cancels = cancels
        self._tracker = tracker
        self._valuation = valuation
        self._day = day
        self._journal = journal
        self._risk = risk
        self._alarm = alarm
        self._risk_events_saved = -1

    def halt(self, reason: str) -> None:
        if self._state.state is _HALTED:
            return
        self._state.transition(_HALTED, reason, self._clock.now_ns())
        self._alarm("critical", "kill_switch", f"trading halted: {reason}")
        self._cancels.pending = True
        self._cancels.cancel_everything()

    def after_restart(self) -> list[str]:
        """A process restarted into HALTED redoes the halt's cancel-everything: whether the
        first process's cancels landed is not journaled, so orders it knew may still rest."""
        if self._state.state is not _HALTED:
            return []
        self._cancels.pending = True
        self._cancels.cancel_everything()
        if self._cancels.pending:
            return ["halted before the restart: open orders remain after cancel-all"]
        return ["halted before the restart: every open order cancelled again"]

    def reduce(self, reason: str) -> None:
        """A breaker tripped: only position-reducing orders from now on, and resting orders
        that would add exposure are cancelled (they could still fill after the trip)."""
        if self._state.state is not _ACTIVE:
            return
        self._state.transition(_REDUCING, reason, self._clock.now_ns())
        risk = self._risk
        detail = f" ({risk.fault})" if reason == "risk_check_failed" and risk else ""
        self._alarm("critical", "breaker", f"breaker tripped: {reason}{detail}; reducing only")
        for o in self._tracker.open():
            if o.request.side is Side.BUY:
                self._cancels.cancel(o.client_order_id)

    def maybe_resume(self, now: int) -> None:
        """Back to ACTIVE once the breakers that put us in REDUCING have reset."""
        state = self._state
        if state.state is not _REDUCING or self._risk is None:
            return
        if state.reason in OWN_RULES:
            return  # these are lifted by their own rules, not by the risk manager
        try:
            blocked = self._risk.allow_new_risk(now)
        except Exception:
            return  # cannot tell: stay reducing (fail closed)
        if not blocked:
            state.transition(_ACTIVE, "breakers reset", now)

    def roll_day(self, now: int) -> None:
        day = self._day
        if now // DAY_NS == day.day:  # the common case, without a call
            return
        day.roll(now)
        state = self._state
        if state.state is _REDUCING and state.reason == SLIPPAGE_BREAKER:
            state.transition(_ACTIVE, "new day", now)

    def reset(self) -> None:
        """A person resumes trading after a halt (or a breaker with no rule of its own)."""
        self._kill_switch.reset()
        now = self._clock.now_ns()
        self._state.transition(_ACTIVE, OPERATOR_RESET, now)
        self._alarm("info", "kill_switch", "kill switch reset by operator")
        if self._risk is not None:  # a breaker still tripped keeps us reducing
            reason = self._risk.allow_new_risk(now)
            if reason:
                self.reduce(reason)

    def check(self, now: int) -> None:
        """The periodic check: a new day, the kill switch, a halt's cancels, the breakers
        on marked equity."""
        self.roll_day(now)
        state = self._state
        halt = self._kill_switch.tripped()
        if halt and state.state is not _HALTED:
            self.halt(halt)
        if state.state is _HALTED and self._cancels.pending:
            self._cancels.cancel_everything()
        risk = self._risk
        if risk is None:
            return
        try:
            risk.on_equity(now, self._valuation.equity_usdc())
            reason = risk.allow_new_risk(now)
        except Exception as exc:
            reason = "risk_check_failed"
            self._alarm("critical", "risk_check_failed", repr(exc))
        if len(risk.events) != self._risk_events_saved:
            self.save_risk()  # a trip or reset happened: make it durable
        if reason and state.state is _ACTIVE:
            self.reduce(reason)
        elif not reason:
            self.maybe_resume(now)

    def save_risk(self) -> None:
        risk = self._risk
        if risk is None:
            return
        self._risk_events_saved = len(risk.events)
        try:
            self._journal.save_state("risk", risk.state(), self._clock.now_ns())
        except JournalError as exc:
            self._alarm("critical", "journal", f"breaker state not saved: {exc}")
