"""Alerts: what an operator must hear about (kill switch, breakers, slippage, lost orders).

An ``Alerter`` receives every alert; ``MemoryAlerter`` keeps them (tests,
reports), ``LogAlerter`` logs them. Delivery to a pager or chat goes behind
the same protocol.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from sim.clock import Clock

log = logging.getLogger("clobsim.alerts")


@dataclass(frozen=True, slots=True)
class Alert:
    ts_ns: int
    level: str  # "info" | "warning" | "critical"
    kind: str  # machine-readable: kill_switch, breaker, slippage, order_lost, balance, ...
    message: str
    data: dict = field(default_factory=dict)


class Alerter(Protocol):
    def alert(self, alert: Alert) -> None: ...


class MemoryAlerter:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def kinds(self) -> list[str]:
        return [a.kind for a in self.alerts]


_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


class LogAlerter:
    def alert(self, alert: Alert) -> None:
        ids = {k: alert.data[k] for k in ("order_id", "market") if k in alert.data}
        log.log(_LEVELS.get(alert.level, logging.WARNING), "%s: %s", alert.kind,
                alert.message, extra={"alert": alert.kind, **ids})  # fmt: skip


class Alarm:
    """Stamps an alert with the clock's time and hands it to the alerter:
    ``alarm("critical", "journal", "journal write failed: ...")``. Every part of the
    executor raises its alerts through the one ``Alarm`` it is given."""

    __slots__ = ("_alerter", "_clock")

    def __init__(self, clock: Clock, alerter: Alerter) -> None:
        self._clock = clock
        self._alerter = alerter

    def __call__(self, level: str, kind: str, message: str, data: dict | None = None) -> None:
        self._alerter.alert(Alert(self._clock.now_ns(), level, kind, message, data or {}))


class FanOutAlerter:
    """Sends each alert to several alerters; one failing does not stop the others."""

    def __init__(self, *alerters: Alerter) -> None:
        self.alerters = alerters

    def alert(self, alert: Alert) -> None:
        for a in self.alerters:
            try:
                a.alert(alert)
            except Exception:  # an alert channel must never break trading logic
                log.exception("alerter %r failed", a)
