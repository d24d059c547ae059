"""What the breakers did, as data a report can count and plot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

EventKind = Literal["trip", "reset"]


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """A breaker tripped or reset at ``ts_ns``.

    ``value`` is the breaker's observed quantity at that moment and
    ``threshold`` its limit, in the breaker's unit (USDC, a count, or seconds
    of cooldown left). A trip is stamped with the time of the observation that
    caused it; a reset with the day boundary or the cooldown end that caused
    it, even if the manager noticed later.
    """

    ts_ns: int
    breaker: str
    kind: EventKind
    value: float
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BreakerEvent:
        kind = data["kind"]
        if kind not in ("trip", "reset"):
            raise ValueError(f"event kind must be trip or reset, got {kind!r}")
        ts = data["ts_ns"]
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise TypeError(f"event ts_ns must be a whole number, got {ts!r}")
        return cls(ts, str(data["breaker"]), kind, float(data["value"]), float(data["threshold"]))
