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


#: every counter: name -> (kind, label or "", help). ``run_counters`` builds them in this
#: order; a report shows a ``counters.json`` with these names, kinds and labels.
SPEC: dict[str, tuple[str, str, str]] = {
    "orders": ("counter", "", "orders sent through the executor"),
    "fills": ("counter", "", "fills applied"),
    "refusals": ("counter", "reason", "orders refused, by reason"),
    "calls": ("counter", "kind", "venue calls, by kind"),
    "retries": ("counter", "kind", "retried attempts, by kind"),
    "timeouts": ("counter", "kind", "timed-out attempts, by kind"),
    "call_failures": (
        "counter",
        "kind",
        "attempts that got no answer (timeout, 5xx, lost), by kind",
    ),
    "feed_downs": ("counter", "", "times the market feed went down or silent"),
    "alerts": ("counter", "", "alerts raised"),
    "halts": ("counter", "", "times trading was halted"),
    "feed_up": ("gauge", "", "1 while market data can be trusted"),
    "halted": ("gauge", "", "1 while trading is halted"),
    "equity_usdc": ("gauge", "", "cash plus positions at mid"),
    "cash_usdc": ("gauge", "", "cash by our books"),
    "open_orders": ("gauge", "", "orders resting now"),
    "breakers_tripped": ("gauge", "", "risk breakers tripped now"),
    "feed_age_seconds": ("gauge", "", "since the last market data"),
}
#: the CallStats field each per-kind call counter reads
_CALL_FIELDS = {"calls": "calls", "retries": "retries", "timeouts": "timeouts",
                "call_failures": "failed"}  # fmt: skip


def _counter(name: str, samples: dict[tuple[str, ...], float]) -> Counter:
    kind, label, help_ = SPEC[name]
    return Counter(name, kind, help_, (label,) if label else (), samples)


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
    risk = ex.risk
    values: dict[str, Any] = {
        "orders": len(tr.orders),
        "fills": len(tr.fills),
        "refusals": dict(sorted(by_reason.items())),
        **{
            name: {(k,): float(getattr(st, field)) for k, st in stats}
            for name, field in _CALL_FIELDS.items()
        },
        "feed_downs": sum(1 for _, up, _ in list(ex.feed_events) if not up),
        "alerts": len(ex.memory_alerts.alerts),
        "halts": len(ex.halts),
        "feed_up": not ex.feed_problem,
        "halted": ex.state is TradingState.HALTED,
        "equity_usdc": ex.equity_usdc(),
        "cash_usdc": tr.cash_usdc,
        "open_orders": len(tr.open()),
        "breakers_tripped": len(risk.tripped_breakers(now)) if risk is not None else 0,
    }
    if feed is not None:
        last = feed.last_update_ns
        values["feed_age_seconds"] = (now - last) / 1e9 if last else float("nan")
    return [_counter(name, v if isinstance(v, dict) else {(): float(v)})
            for name, v in values.items()]  # fmt: skip


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
