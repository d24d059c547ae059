"""Trading states and the kill switch.

ACTIVE: anything the limits allow. REDUCING: only orders that reduce a
position (set when a breaker trips). HALTED: nothing; open orders are
cancelled until the venue confirms (the kill switch). The kill switch is a
file (checked before every order) or an API call; once tripped it stays
tripped until a person resets it. It fails closed: if the file's presence
cannot be determined, trading halts.
"""

from __future__ import annotations

import contextlib
import enum
import os
from pathlib import Path


class TradingState(enum.Enum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


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
