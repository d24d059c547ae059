"""Typed errors. Every refusal a user can cause names what is wrong and where."""

from __future__ import annotations


class ClobsimError(Exception):
    """Base class for every error clobsim raises on purpose."""


class ConfigError(ClobsimError, ValueError):
    """A configuration value is invalid. ``key`` names the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key {key!r}: {problem}")


class DataValidationError(ClobsimError, ValueError):
    """Recorded market data breaks the format.

    ``path`` is the file, ``row`` the 0-based row inside it (None when the
    problem is with the file as a whole) and ``reason`` a short machine-readable
    code (for example ``missing_column``, ``price_off_tick``).
    """

    def __init__(self, path: str, reason: str, detail: str, row: int | None = None) -> None:
        self.path = str(path)
        self.row = row
        self.reason = reason
        self.detail = detail
        where = self.path if row is None else f"{self.path}, row {row}"
        super().__init__(f"{where}: {reason}: {detail}")


class MessageParseError(ClobsimError, ValueError):
    """A venue message could not be parsed into clobsim events.

    ``reason`` is machine-readable, ``raw`` keeps the offending payload (never
    dropped silently: callers count and log these).
    """

    def __init__(self, reason: str, detail: str, raw: object = None) -> None:
        self.reason = reason
        self.detail = detail
        self.raw = raw
        super().__init__(f"{reason}: {detail}")
