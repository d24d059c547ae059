"""Fault plans: declarative, seeded, composable; written in TOML or in Python.

    seed = 7

    [[faults]]
    kind = "delay"          # what goes wrong
    calls = ["place"]       # which venue calls it hits (call faults)
    every_n = 10            # when: at_s | every_n | rate, and/or between_s = [t0, t1]
    delay_s = 8.0           # the kind's parameters
    max_count = 3

Schedules (times are seconds from the run's start):

* ``at_s``: the first matching call (or event batch) at or after ``at_s``;
* ``every_n``: every Nth matching call (or batch);
* ``rate``: each matching call (or batch) with this probability, drawn from a
  generator seeded by (plan seed, spec index): same seed, same run;
* ``between_s = [t0, t1]``: alone, every matching call (or batch) in the
  window; with ``every_n`` or ``rate``, only triggers inside it count.

A trigger hits one call, or with ``duration_s`` opens a window of that length
in which every matching call (or batch) is hit; ``at_s`` + ``duration_s`` is
the window ``[at_s, at_s + duration_s)``. ``max_count`` caps the triggers.
Feed faults (``ws_drop``, ``ws_silent``, ``ws_no_pong``, ``stale_book``) and ``clock_skew``
always act over a window. ``duration_s`` and ``between_s`` may end at ``inf``.

Several specs act together; a ``FaultPlan`` is built from specs, TOML (a
path or an already-parsed dict) or other plans (``plan_a + plan_b``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

from sim.errors import ConfigError
from sim.venue import CALL_KINDS


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What a kind of fault accepts: calls it may hit (empty: a feed fault) and parameters."""

    doc: str
    calls: tuple[str, ...]  # default calls
    allowed_calls: tuple[str, ...]
    params: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    window: bool = False  # always acts over a window (needs duration_s or between_s)


_ALL = CALL_KINDS
_P = frozenset

#: every fault kind, with what it takes; ``docs`` in exchange_mock/faults/__init__.py
KINDS: dict[str, KindInfo] = {
    "delay": KindInfo("extra round-trip delay: past the deadline a timeout (the order still "
                      "lands)", ("place",), _ALL, _P({"delay_s"}), _P({"delay_s"})),
    "server_error": KindInfo("transient 5xx before the venue acts", ("place",), _ALL,
                             _P({"status"})),
    "rate_limit": KindInfo("429 Too Many Requests with Retry-After", ("place",), _ALL,
                           _P({"retry_after_s"})),
    "lost_response": KindInfo("the venue acted, the answer was lost", ("place",), _ALL,
                              _P({"status"})),
    "partial_fill": KindInfo("a marketable order gets only a fraction of the liquidity",
                             ("place",), ("place",), _P({"fill_fraction"}),
                             _P({"fill_fraction"})),
    "slippage": KindInfo("the book moves against a marketable order during its latency",
                         ("place",), ("place",), _P({"slippage_ticks"}),
                         _P({"slippage_ticks"})),
    "zero_balance": KindInfo("balance() answers 0", ("balance",), ("balance",)),
    "balance_failing": KindInfo("balance() fails", ("balance",), ("balance",), _P({"status"})),
    "cancel_only": KindInfo("503 cancel-only mode: places refused, cancels work", ("place",),
                            ("place",)),
    "clock_skew": KindInfo("the venue's timestamps are off by skew_s", _ALL, _ALL,
                           _P({"skew_s"}), _P({"skew_s"}), window=True),
    "connection_drop": KindInfo("the connection drops before the venue acts (a transport "
                                "error; nothing happened)", ("place",), _ALL),
    "half_body": KindInfo("the venue acts; the answer is cut off halfway through its body",
                          ("place",), _ALL),
    "html_error": KindInfo("an HTML error page (403, Cloudflare) instead of JSON, before the "
                           "venue acts", ("place",), _ALL),
    "trade_fail": KindInfo("the hit order's trades stay MATCHED, then FAIL on chain and are "
                           "reversed (the loopback server only: a backtest has no settlement "
                           "step)", ("place",), ("place",)),
    "ws_no_pong": KindInfo("market WebSocket answers no PONG (data may still flow); a client "
                           "must treat it as dead and reconnect", (), (), window=True),
    "ws_drop": KindInfo("market WebSocket disconnected, then reconnects with snapshots", (),
                        (), _P({"close_code"}), window=True),
    "ws_silent": KindInfo("market WebSocket connected but silent", (), (), window=True),
    "stale_book": KindInfo("the strategy-visible book stops updating, then catches up", (), (),
                           window=True),
}  # fmt: skip

_SCHEDULE = ("at_s", "every_n", "between_s", "rate")
_INT_FIELDS = frozenset({"every_n", "status", "slippage_ticks", "max_count", "close_code"})
#: close codes an endpoint may send (RFC 6455 7.4): not 1004-1006 or 1015 (1006, the
#: default, is no close frame at all: the socket is aborted)


def _number(key: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError(key, f"must be a number, got {v!r}")
    return float(v)


def _integer(key: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(key, f"must be an integer, got {v!r}")
    return v


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One fault: its ``kind``, which ``calls`` it hits, when, and its parameters.

    Invalid values raise ``ConfigError`` naming the field.
    """

    kind: str
    calls: tuple[str, ...] | None = None  # None: the kind's default calls
    at_s: float | None = None
    every_n: int | None = None
    between_s: tuple[float, float] | None = None
    rate: float | None = None
    delay_s: float | None = None
    status: int | None = None
    retry_after_s: float | None = None
    fill_fraction: float | None = None
    slippage_ticks: int | None = None
    duration_s: float | None = None
    skew_s: float | None = None
    max_count: int | None = None
    close_code: int | None = None  # ws_drop: the close frame's code (default: aborted, 1006)

    def __post_init__(self) -> None:
        info = KINDS.get(self.kind) if isinstance(self.kind, str) else None
        if info is None:
            raise ConfigError("kind", f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        for f in fields(self):
            v = getattr(self, f.name)
            if v is None or f.name in ("kind", "calls", "between_s"):
                continue
            if f.name in _INT_FIELDS:
                _integer(f.name, v)
            else:
                object.__setattr__(self, f.name, _number(f.name, v))
        self._check_calls(info)
        self._check_schedule(info)
        self._check_params(info)

    # ------------------------------------------------------------------ validation
    def _check_calls(self, info: KindInfo) -> None:
        if self.calls is None:
            return
        if not info.allowed_calls:
            raise ConfigError("calls", f"{self.kind} acts on the feed, not on venue calls")
        if isinstance(self.calls, str) or not isinstance(self.calls, Sequence):
            raise ConfigError("calls", f"must be a list of call names, got {self.calls!r}")
        calls = tuple(self.calls)
        bad = [c for c in calls if c not in info.allowed_calls]
        if bad or not calls:
            raise ConfigError(
                "calls", f"{self.kind} may hit {list(info.allowed_calls)}, got {list(calls)}"
            )
        object.__setattr__(self, "calls", calls)

    def _check_schedule(self, info: KindInfo) -> None:
        triggers = [k for k in ("at_s", "every_n", "rate") if getattr(self, k) is not None]
        if len(triggers) > 1:
            raise ConfigError(triggers[1], f"choose one of at_s, every_n, rate, not {triggers}")
        if not triggers and self.between_s is None:
            raise ConfigError("at_s", "a fault needs a schedule: at_s, every_n, between_s or rate")
        if self.at_s is not None and not (self.at_s >= 0 and math.isfinite(self.at_s)):
            raise ConfigError("at_s", f"must be >= 0 seconds, got {self.at_s!r}")
        if self.every_n is not None and self.every_n < 1:
            raise ConfigError("every_n", f"must be >= 1, got {self.every_n!r}")
        if self.rate is not None and not 0 < self.rate <= 1:
            raise ConfigError("rate", f"must be a probability in (0, 1], got {self.rate!r}")
        if self.between_s is not None:
            b = self.between_s
            if isinstance(b, str) or not isinstance(b, Sequence) or len(b) != 2:
                raise ConfigError("between_s", f"must be [t0, t1] in seconds, got {b!r}")
            t0, t1 = _number("between_s", b[0]), _number("between_s", b[1])
            if not (0 <= t0 < t1) or math.isnan(t1):
                raise ConfigError("between_s", f"needs 0 <= t0 < t1, got {list(b)}")
            if self.at_s is not None:
                raise ConfigError("between_s", "cannot be combined with at_s")
            object.__setattr__(self, "between_s", (t0, t1))
        if self.duration_s is not None:
            if not self.duration_s > 0:  # inf allowed: until the end of the run
                raise ConfigError("duration_s", f"must be > 0 seconds, got {self.duration_s!r}")
            if not triggers:
                raise ConfigError("duration_s", "between_s alone already sets the window")
        elif info.window and triggers:
            raise ConfigError("duration_s", f"{self.kind} acts over a window: give duration_s")
        if self.max_count is not None and self.max_count < 1:
            raise ConfigError("max_count", f"must be >= 1, got {self.max_count!r}")

    def _check_params(self, info: KindInfo) -> None:
        for name in ("delay_s", "status", "retry_after_s", "fill_fraction", "slippage_ticks",
                     "skew_s", "close_code"):  # fmt: skip
            v = getattr(self, name)
            if v is not None and name not in info.params:
                raise ConfigError(name, f"is not a parameter of {self.kind}")
            if v is None and name in info.required:
                raise ConfigError(name, f"{self.kind} needs {name}")
        if self.delay_s is not None and not (self.delay_s > 0 and math.isfinite(self.delay_s)):
            raise ConfigError("delay_s", f"must be > 0 seconds, got {self.delay_s!r}")
        if self.status is not None:
            lo = 425 if self.kind == "server_error" else 500
            if not (500 <= self.status <= 599 or self.status == lo):
                raise ConfigError("status", f"must be a 5xx status, got {self.status!r}")
        r = self.retry_after_s
        if r is not None and not (r >= 0 and math.isfinite(r)):
            raise ConfigError("retry_after_s", f"must be >= 0 seconds, got {r!r}")
        f = self.fill_fraction
        if f is not None and not 0 <= f < 1:
            raise ConfigError("fill_fraction", f"must be in [0, 1), got {f!r}")
        if self.slippage_ticks is not None and self.slippage_ticks < 1:
            raise ConfigError("slippage_ticks", f"must be >= 1, got {self.slippage_ticks!r}")
        c = self.close_code
        if c is not None and not (1000 <= c <= 4999 and c not in (1004, 1005, 1006, 1015)):
            raise ConfigError(
                "close_code",
                f"must be a WebSocket close code an endpoint may "
                f"send (1000-4999, not 1004-1006 or 1015), got {c!r}",
            )
        if self.skew_s is not None and not (math.isfinite(self.skew_s) and self.skew_s != 0):
            raise ConfigError("skew_s", f"must be a finite non-zero offset, got {self.skew_s!r}")

    # ------------------------------------------------------------------ views
    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]

    @property
    def effective_calls(self) -> tuple[str, ...]:
        """The calls this spec hits (empty for a feed fault)."""
        return self.info.calls if self.calls is None else self.calls

    @property
    def is_feed(self) -> bool:
        return not self.info.allowed_calls

    def to_dict(self) -> dict:
        """The fields that differ from their defaults, as TOML would hold them."""
        out: dict = {"kind": self.kind}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "kind" or v is None:
                continue
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    @classmethod
    def from_dict(cls, d: Mapping) -> FaultSpec:
        if not isinstance(d, Mapping):
            raise ConfigError("", f"a fault is a table, got {d!r}")
        if "kind" not in d:
            raise ConfigError("kind", "missing: every fault needs a kind")
        # a field this kind does not take is named by __post_init__ ("not a parameter of")
        unknown = sorted(set(d) - _FIELDS)
        if unknown:
            raise ConfigError(str(unknown[0]), "unknown key")
        return cls(**dict(d))


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Fault specs acting together, with the seed of their random draws."""

    specs: tuple[FaultSpec, ...] = ()
    seed: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        specs = tuple(self.specs)
        for i, s in enumerate(specs):
            if not isinstance(s, FaultSpec):
                raise ConfigError(f"faults[{i}]", f"must be a FaultSpec, got {type(s).__name__}")
        object.__setattr__(self, "specs", specs)
        _integer("seed", self.seed)
        if self.seed < 0:
            raise ConfigError("seed", f"must be >= 0, got {self.seed!r}")
        if not isinstance(self.name, str):
            raise ConfigError("name", f"must be a string, got {self.name!r}")

    def __add__(self, other: FaultPlan) -> FaultPlan:
        """Both plans' specs together (this plan's seed; the other's specs are renumbered)."""
        if not isinstance(other, FaultPlan):
            return NotImplemented
        name = "+".join(n for n in (self.name, other.name) if n)
        return FaultPlan(self.specs + other.specs, self.seed, name)

    def with_seed(self, seed: int) -> FaultPlan:
        return FaultPlan(self.specs, seed, self.name)

    # ------------------------------------------------------------------ TOML / dicts
    @classmethod
    def from_toml(cls, source: str | Path | Mapping) -> FaultPlan:
        """A plan from a TOML file (path) or its parsed dict: ``seed``, ``name``, ``[[faults]]``."""
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text())
        except OSError as exc:
            raise ConfigError("faults", f"cannot read {path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("faults", f"{path} is not valid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping) -> FaultPlan:
        if not isinstance(data, Mapping):
            raise ConfigError("faults", f"a fault plan is a table, got {type(data).__name__}")
        unknown = sorted(set(data) - {"seed", "name", "faults"})
        if unknown:
            raise ConfigError(unknown[0], "unknown key (a plan has seed, name and [[faults]])")
        raw = data.get("faults", [])
        if not isinstance(raw, list):
            raise ConfigError("faults", "must be an array of tables ([[faults]])")
        specs = []
        for i, d in enumerate(raw):
            try:
                specs.append(FaultSpec.from_dict(d))
            except ConfigError as exc:
                key = f"faults[{i}].{exc.key}" if exc.key else f"faults[{i}]"
                raise ConfigError(key, exc.problem) from None
        return cls(tuple(specs), data.get("seed", 0), data.get("name", ""))

    def to_dict(self) -> dict:
        out: dict = {"seed": self.seed}
        if self.name:
            out["name"] = self.name
        out["faults"] = [s.to_dict() for s in self.specs]
        return out

    def to_toml(self) -> str:
        """The plan as TOML text; ``from_toml`` reads it back equal."""
        lines = [f"seed = {self.seed}"]
        if self.name:
            lines.append(f"name = {_toml(self.name)}")
        for s in self.specs:
            lines += ["", "[[faults]]"]
            lines += [f"{k} = {_toml(v)}" for k, v in s.to_dict().items()]
        return "\n".join(lines) + "\n"


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


_FIELDS = frozenset(f.name for f in fields(FaultSpec))
