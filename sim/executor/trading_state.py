"""Trading states and the kill switch.

ACTIVE: anything the limits allow. REDUCING: only orders that reduce a
position (set when a breaker trips). HALTED: nothing; open orders are
cancelled until the venue confirms (the kill switch). The kill switch is a
file (checked before every order) or an API call; once tripped it stays
tripped until a person resets it. It fails closed: if the file's presence
cannot be determined, trading halts.

``TradingStateMachine`` owns the executor's state: every change goes through
``transition``, which journals it, so a restarted executor replays the journal
into the state it left. Records (kinds kept from the first journals, so old
journals still replay):

* ``kill_switch`` / key ``HALTED`` / ``{"reason": ...}``: trading halted;
* ``kill_switch`` / key ``reset`` / ``{"state": "ACTIVE"}``: an operator resumed;
* ``trading_state`` / key ``ACTIVE`` or ``REDUCING`` / ``{"reason": ...}``: anything
  else (a breaker, a journal or reconcile failure, breakers reset, a new day).

HALTED is left only by an operator's reset: no breaker, check or failure can
turn a halt into something milder.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Callable
from pathlib import Path

from sim.journal import Journal, JournalError


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


#: the reason of a person's reset: the only way out of HALTED
OPERATOR_RESET = "operator reset"
#: reasons for REDUCING that the risk manager does not lift (each has its own rule)
SLIPPAGE_BREAKER = "slippage_breaker"  # lifted by a new day
JOURNAL_UNAVAILABLE = "journal_unavailable"  # lifted by an operator
RECONCILE_FAILED = "reconcile_failed"  # lifted by a reconcile that succeeds
OWN_RULES = (SLIPPAGE_BREAKER, JOURNAL_UNAVAILABLE, RECONCILE_FAILED)


class TradingStateMachine:
    """The executor's trading state and why; ``transition`` is the only way to change it.

    ``alert(level, kind, message)`` hears of journal failures. A transition is made in
    memory first (a halt must hold even when the journal cannot say so), then journaled;
    a journal that cannot be written means no new risk (REDUCING, fail closed)."""

    __slots__ = ("_alert", "_journal", "halts", "reason", "state")

    def __init__(self, journal: Journal, alert: Callable[..., None]) -> None:
        self._journal = journal
        self._alert = alert
        self.state = TradingState.ACTIVE
        #: why we are not ACTIVE ("" when ACTIVE)
        self.reason = ""
        #: (ts_ns, reason) of every halt of this process
        self.halts: list[tuple[int, str]] = []

    def transition(self, new: TradingState, reason: str, ts_ns: int) -> bool:
        """Move to ``new`` because of ``reason`` and journal it; False when refused (out
        of HALTED other than by ``OPERATOR_RESET``) or when nothing would change."""
        old = self.state
        if old is TradingState.HALTED and new is not old and reason != OPERATOR_RESET:
            return False
        kept = "" if new is TradingState.ACTIVE else reason
        if new is old and kept == self.reason and reason != OPERATOR_RESET:
            return False
        self._enter(new, kept)
        if new is TradingState.HALTED:
            self.halts.append((ts_ns, reason))
            kind, key, payload = "kill_switch", "HALTED", {"reason": reason}
        elif reason == OPERATOR_RESET:
            kind, key, payload = "kill_switch", "reset", {"state": new._value_}
        else:
            kind, key, payload = "trading_state", new._value_, {"reason": reason}
        try:
            self._journal.append(kind, ts_ns, key, payload)
        except JournalError as exc:
            if reason != JOURNAL_UNAVAILABLE:  # else: this was the record of that failure
                self.journal_failed(exc, ts_ns)
        return True

    def journal_failed(self, exc: JournalError, ts_ns: int) -> None:
        """A state change that already happened could not be journaled: it cannot be
        undone, so alert and take no new risk."""
        self._alert("critical", "journal", f"journal write failed: {exc}")
        if self.state is TradingState.ACTIVE:
            self.transition(TradingState.REDUCING, JOURNAL_UNAVAILABLE, ts_ns)

    def replay(self, kind: str, key: str, payload: dict) -> bool:
        """Apply one journal record of a transition (no journaling); False for other kinds."""
        if kind == "kill_switch":
            if key == "HALTED":
                self._enter(TradingState.HALTED, payload.get("reason", ""))
            else:
                self._enter(TradingState.ACTIVE, "")
        elif kind == "trading_state":
            new = TradingState(key)
            self._enter(new, "" if new is TradingState.ACTIVE else payload.get("reason", ""))
        else:
            return False
        return True

    def _enter(self, new: TradingState, reason: str) -> None:
        self.state = new
        self.reason = reason


class KillSwitch:
    """A file path and an in-memory latch. ``tripped()`` is cheap: one stat per call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fspath = os.fspath(self.path)  # stat a str: no Path conversion per order
        self._latched_reason = ""

    def trip(self, reason: str) -> None:
        """Trip from code (an API call, a failed safety check). Also writes the file."""
        self._latched_reason = reason or "api"
        # the in-memory latch alone already halts trading (fail closed); the file makes the
        # halt visible to other processes and survives a restart when it can be written
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self._latched_reason + "\n")

    def tripped(self) -> str:
        """Non-empty reason when trading must halt."""
        if self._latched_reason:
            return self._latched_reason
        try:
            os.stat(self._fspath)
        except FileNotFoundError:
            return ""
        except OSError as exc:  # cannot tell: fail closed
            self._latched_reason = f"kill switch unreadable: {exc}"
            return self._latched_reason
        self._latched_reason = f"kill switch file {self.path}"
        return self._latched_reason

    def reset(self) -> None:
        """A person resets the switch: the file is removed and the latch cleared."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._latched_reason = ""
