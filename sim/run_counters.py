"""The run's counters, one definition for every mode.

``run_counters(executor, feed, now_ns)`` reads them from a running (or finished)
session. A live or paper run's ``/metrics`` endpoint (``live.ops_server``) exports
exactly these, named ``clobsim_<name>``; a backtest's result (``BacktestResult.counters``)
and every run report (``clobsim report``) show the same names and numbers, so a
figure seen on the dashboard during paper can be compared with the backtest's.

Each entry is ``Counter(name, kind, help, labels, samples)``: ``kind`` is ``counter``
(only grows) or ``gauge``; ``samples`` maps a label tuple (``()`` when unlabelled) to
the value.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sim.executor.trading_state import TradingState


class Counter(NamedTuple):
    name: str
    kind: str  # "counter" | "gauge"
    help: str
    labels: tuple[str, ...]
    samples: dict[tuple[str, ...], float]


def _one(name: str, kind: str, help_: str, value: float) -> Counter:
    return Counter(name, kind, help_, (), {(): float(value)})


def run_counters(executor: Any, feed: Any = None, now_ns: int | None = None) -> list[Counter]:
    """The counters of ``executor`` (``sim.executor.Executor``) now; ``feed`` (the
    session's ``Feed``) adds the feed's age. Safe to call from another thread: every
    value is read from a snapshot copy, never under a lock the engine waits on."""
    ex = executor
    tr = ex.tracker
    now = ex.clock.now_ns() if now_ns is None else now_ns
    by_reason: dict[tuple[str, ...], float] = {}
    for r in list(ex.refusals):
        by_reason[(r.reason,)] = by_reason.get((r.reason,), 0) + 1
    stats = list(ex.caller.stats.items())
    downs = sum(1 for _, up, _ in list(ex.feed_events) if not up)
    risk = ex.risk
    out = [
        _one("orders", "counter", "orders sent through the executor", len(tr.orders)),
        _one("fills", "counter", "fills applied", len(tr.fills)),
        Counter(
            "refusals",
            "counter",
            "orders refused, by reason",
            ("reason",),
            dict(sorted(by_reason.items())),
        ),
    ]
    for name, field, help_ in (
        ("calls", "calls", "venue calls, by kind"),
        ("retries", "retries", "retried attempts, by kind"),
        ("timeouts", "timeouts", "timed-out attempts, by kind"),
        ("call_failures", "failed", "attempts that got no answer (timeout, 5xx, lost), by kind"),
    ):
        out.append(Counter(name, "counter", help_, ("kind",),
                           {(k,): float(getattr(st, field)) for k, st in stats}))  # fmt: skip
    out += [
        _one("feed_downs", "counter", "times the market feed went down or silent", downs),
        _one("alerts", "counter", "alerts raised", len(ex.memory_alerts.alerts)),
        _one("halts", "counter", "times trading was halted", len(ex.halts)),
        _one("feed_up", "gauge", "1 while market data can be trusted", not ex.feed_problem),
        _one("halted", "gauge", "1 while trading is halted", ex.state is TradingState.HALTED),
        _one("equity_usdc", "gauge", "cash plus positions at mid", ex.equity_usdc()),
        _one("cash_usdc", "gauge", "cash by our books", tr.cash_usdc),
        _one("open_orders", "gauge", "orders resting now", len(tr.open())),
        _one(
            "breakers_tripped",
            "gauge",
            "risk breakers tripped now",
            len(risk.tripped_breakers(now)) if risk is not None else 0,
        ),
    ]
    if feed is not None:
        last = feed.last_update_ns
        age = (now - last) / 1e9 if last else float("nan")
        out.append(_one("feed_age_seconds", "gauge", "since the last market data", age))
    return out


def counters_dict(counters: list[Counter]) -> dict[str, Any]:
    """``{name: value}`` for unlabelled counters, ``{name: {label: value}}`` for labelled
    ones (one label): the shape written to ``counters.json``."""
    out: dict[str, Any] = {}
    for c in counters:
        if not c.labels:
            out[c.name] = c.samples.get((), 0.0)
        else:
            out[c.name] = {"/".join(k): v for k, v in c.samples.items()}
    return out
