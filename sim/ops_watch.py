"""Alerts about the run as a whole, beyond the executor's own (``[alerts]``).

The executor raises what one event tells it (a breaker trips, the kill switch, a
lost order, the feed going down). Some things an operator must hear about only show
over time; ``OpsWatch`` looks every ``check_s`` of the run's clock (a framework timer,
so a backtest sees the same alerts at the same simulated times as paper or live):

* ``reconnect_storm`` (critical): the market feed went down ``reconnect_storm`` times
  within ``reconnect_window_s``; said once per storm;
* ``venue_errors`` (warning): of one call kind's attempts (place, cancel, status, ...)
  within ``venue_error_window_s`` (at least ``venue_error_min_attempts``), a share of at
  least ``venue_error_rate`` got no answer (timeouts, 5xx, lost); said again only once
  every kind's share fell below half of it;
* ``funds`` (warning; ``funds = false``: off): orders refused for want of funds (our
  pre-check or the venue's ``not_enough_balance``), at most once per ``funds_realert_s``;
* ``daily_summary`` (info, sent to the webhook nevertheless): at each UTC midnight of
  the run's clock, the day's P&L, equity, orders, fills, refusals, alerts and halts.

The alerts go through the executor's alerter: the run's report lists them, the log
has them, the webhook (``live.notify``) sends them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from dataclasses import dataclass

from sim.errors import ConfigError
from sim.executor.alerts import Alarm

DAY_NS = 86_400 * 10**9
FUNDS_REASONS = frozenset({"insufficient_funds", "not_enough_balance"})


@dataclass(frozen=True)
class AlertsConfig:
    """``[alerts]``; see the module doc. A threshold of 0 turns its alert off."""

    check_s: float = 30.0
    reconnect_storm: int = 5
    reconnect_window_s: float = 600.0
    venue_error_rate: float = 0.25
    venue_error_min_attempts: int = 20
    venue_error_window_s: float = 300.0
    funds: bool = True
    funds_realert_s: float = 900.0
    daily_summary: bool = True

    def __post_init__(self) -> None:
        if not 0 < self.check_s <= 3600:
            raise ConfigError(
                "alerts.check_s", f"must be in (0, 3600] seconds, got {self.check_s!r}"
            )
        for key in ("reconnect_window_s", "venue_error_window_s", "funds_realert_s"):
            v = getattr(self, key)
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(
                    f"alerts.{key}", f"must be a positive number of seconds, got {v!r}"
                )
        for key in ("reconnect_storm", "venue_error_min_attempts"):
            v = getattr(self, key)
            if not (isinstance(v, int) and v >= 0):
                raise ConfigError(f"alerts.{key}", f"must be a whole number >= 0, got {v!r}")
        if not 0 <= self.venue_error_rate <= 1:
            rate = self.venue_error_rate
            raise ConfigError("alerts.venue_error_rate",
                              f"must be a share in [0, 1] (0 = off), got {rate!r}")  # fmt: skip


class OpsWatch:
    """Watches ``executor`` (``sim.executor.Executor``) on ``clock``; ``install()`` starts
    its timer. ``check(now_ns)`` is one look (the timer's callback)."""

    def __init__(self, executor, clock, config: AlertsConfig) -> None:
        self.ex, self.clock, self.cfg = executor, clock, config
        self._storm = False
        self._erroring = False
        self._funds_at: int | None = None
        self._refusals_seen = 0
        #: (time, {call kind: (attempts, failed)}) snapshots, oldest first
        self._calls: deque[tuple[int, dict[str, tuple[int, int]]]] = deque()
        self._day: int | None = None
        self._day_start: dict[str, float] = {}

    def install(self) -> OpsWatch:
        now = self.clock.now_ns()
        self._day = now // DAY_NS
        self._day_start = self._snapshot()
        self.clock.schedule("__ops_watch__", now, self._on_timer, every_s=self.cfg.check_s)
        return self

    def _on_timer(self, timer: object = None) -> None:
        self.check(self.clock.now_ns())

    def check(self, now: int) -> None:
        cfg = self.cfg
        if cfg.reconnect_storm:
            self._check_storm(now)
        if cfg.venue_error_rate > 0:
            self._check_venue_errors(now)
        if cfg.funds:
            self._check_funds(now)
        if cfg.daily_summary:
            self._check_day(now)

    def _alarm(self, level: str, kind: str, message: str, data: dict | None = None) -> None:
        Alarm(self.clock, self.ex.alerter)(level, kind, message, data)

    # ------------------------------------------------------------------ rules
    def _check_storm(self, now: int) -> None:
        cfg = self.cfg
        since = now - round(cfg.reconnect_window_s * 1e9)
        downs = [(t, why) for t, up, why in list(self.ex.feed_events) if not up and t > since]
        if len(downs) >= cfg.reconnect_storm:
            if not self._storm:
                self._storm = True
                last = downs[-1][1] or "disconnected"
                self._alarm("critical", "reconnect_storm",
                            f"market feed went down {len(downs)} times in the last "
                            f"{cfg.reconnect_window_s:g} s (last: {last})",
                            {"downs": len(downs)})  # fmt: skip
        else:
            self._storm = False

    def _check_venue_errors(self, now: int) -> None:
        cfg = self.cfg
        stats = dict(self.ex.caller.stats)
        calls = self._calls
        calls.append((now, {k: (st.attempts, st.failed) for k, st in stats.items()}))
        since = now - round(cfg.venue_error_window_s * 1e9)
        while len(calls) > 1 and calls[1][0] <= since:
            calls.popleft()  # keep one snapshot at or before the window's start
        first, last = calls[0][1], calls[-1][1]
        bad = {}  # call kind -> (failed, attempts) within the window
        for kind, (attempts, failed) in last.items():
            a0, f0 = first.get(kind, (0, 0))
            if attempts - a0 >= cfg.venue_error_min_attempts:
                bad[kind] = (failed - f0, attempts - a0)
        worst = max((f / a for f, a in bad.values()), default=0.0)
        if worst >= cfg.venue_error_rate:
            if not self._erroring:
                self._erroring = True
                said = "; ".join(f"{k}: {f} of {a} ({f / a:.0%})" for k, (f, a) in
                                 sorted(bad.items()) if f / a >= cfg.venue_error_rate)  # fmt: skip
                self._alarm("warning", "venue_errors",
                            f"venue call attempts without an answer in the last "
                            f"{cfg.venue_error_window_s:g} s: {said}",
                            {k: {"failed": f, "attempts": a}
                             for k, (f, a) in bad.items()})  # fmt: skip
        elif worst < cfg.venue_error_rate / 2:
            self._erroring = False

    def _check_funds(self, now: int) -> None:
        refusals = self.ex.refusals
        new = [r for r in list(refusals[self._refusals_seen :]) if r.reason in FUNDS_REASONS]
        self._refusals_seen = len(refusals)
        if not new:
            return
        realert = round(self.cfg.funds_realert_s * 1e9)
        if self._funds_at is not None and now - self._funds_at < realert:
            return
        self._funds_at = now
        self._alarm("warning", "funds",
                    f"{len(new)} order(s) refused for want of funds; first: {new[0].message}",
                    {"refused": len(new)})  # fmt: skip

    def _snapshot(self) -> dict[str, float]:
        ex, tr = self.ex, self.ex.tracker
        return {"equity": ex.equity_usdc(), "orders": len(tr.orders), "fills": len(tr.fills),
                "refusals": len(ex.refusals), "alerts": len(ex.memory_alerts.alerts),
                "halts": len(ex.halts)}  # fmt: skip

    def _check_day(self, now: int) -> None:
        day = now // DAY_NS
        if self._day is None or day == self._day:
            return
        end, start = self._snapshot(), self._day_start
        d = {k: end[k] - start[k] for k in end}
        date = dt.datetime.fromtimestamp(self._day * 86_400, dt.UTC).date().isoformat()
        self._day, self._day_start = day, end
        self._alarm("info", "daily_summary",
                    f"{date}: P&L {d['equity']:+.2f} USDC, equity {end['equity']:.2f} USDC; "
                    f"{d['orders']:.0f} orders, {d['fills']:.0f} fills, {d['refusals']:.0f} "
                    f"refusals, {d['alerts']:.0f} alerts, {d['halts']:.0f} halts; trading "
                    f"{self.ex.trading_state}",
                    {"date": date, **{k: round(v, 6) for k, v in d.items()},
                     "equity_usdc": round(end["equity"], 6)})  # fmt: skip
