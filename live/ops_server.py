"""Health and metrics of a running session on one HTTP endpoint, 127.0.0.1 by default.

* ``/healthz``: the process answers (liveness) - 200 while the server runs;
* ``/readyz``: 200 only if the run may trade now: the market feed connected and fresh
  (the executor has no feed problem), not HALTED (a journal that cannot be written
  halts), the engine loop turned within ``stuck_s``, the latest attempt of every call
  kind answered (a refusal is an answer; a timeout or a 5xx is not); else 503 with
  every reason that holds (JSON);
* ``/status``: JSON: trading state and reason, breakers tripped, positions, open orders,
  cash and equity, feed problem, calls per kind, fills, refusals, last loop turn;
* ``/metrics``: Prometheus text (``prometheus-client``): orders, fills, refusals by
  reason, calls/retries/timeouts per kind, a call-latency histogram per kind, feed
  up, equity, cash, breakers tripped, halted.

Reads happen on the server's thread while the engine runs: every value is a snapshot
of a counter or a copy of a dict, never a lock the engine waits on. The same numbers
for a backtest are in its report; this endpoint is for runs that last days.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from sim.executor.trading_state import TradingState

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OpsServer:
    """Serves ``session`` (``sim.session.Session``) on ``host:port`` (0: any free port).
    ``stuck_s``: the engine loop must turn within this long for ``/readyz``."""

    def __init__(self, session, *, host: str = "127.0.0.1", port: int = 0,
                 stuck_s: float = 30.0) -> None:  # fmt: skip
        self.session = session
        self.stuck_s = stuck_s
        self.registry = CollectorRegistry()
        self.latency = Histogram("clobsim_call_seconds", "venue call latency by kind",
                                 ["kind"], buckets=_BUCKETS, registry=self.registry)  # fmt: skip
        session.executor.caller.observe = self._observe
        self.registry.register(_SessionCollector(self))
        self._turns = (-1, time.monotonic())
        self._last_error: dict[str, bool] = {}
        ops = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ops.handle(self)

            def log_message(self, *args: object) -> None:
                return None  # requests are not the operator's log

        self._http = http.server.ThreadingHTTPServer((host, port), Handler)
        self.host, self.port = self._http.server_address[:2]
        self._thread = threading.Thread(target=self._http.serve_forever, name="ops-server",
                                        daemon=True)  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> OpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    # ------------------------------------------------------------------ readings
    def _observe(self, kind: str, elapsed_s: float) -> None:
        self.latency.labels(kind).observe(elapsed_s)

    def loop_age_s(self) -> float:
        """Seconds since the engine loop was last seen to turn."""
        turns = self.session.engine.turns
        seen, at = self._turns
        now = time.monotonic()
        if turns != seen:
            self._turns = (turns, now)
            return 0.0
        return now - at

    def not_ready(self) -> list[str]:
        """Why the run may not trade now ([] = ready)."""
        ex = self.session.executor
        why = []
        if ex.feed_problem:
            why.append(f"market feed: {ex.feed_problem}")
        if ex.state is TradingState.HALTED:
            why.append(f"halted: {ex.state_reason}")
        age = self.loop_age_s()
        if age > self.stuck_s:
            why.append(f"engine loop has not turned for {age:.0f} s")
        # a journal that cannot be written halts trading (``TradingStateMachine``): above
        failing = [k for k, st in list(ex.caller.stats.items()) if st.last_failed]
        if failing:
            why.append(f"venue calls failing: {', '.join(failing)}")
        return why

    def status(self) -> dict[str, Any]:
        s, ex = self.session, self.session.executor
        tr = ex.tracker
        risk = ex.risk
        now = s.clock.now_ns()
        return {
            "state": ex.trading_state, "reason": ex.state_reason,
            "breakers_tripped": risk.tripped_breakers(now) if risk is not None else [],
            "feed_problem": ex.feed_problem,
            "positions": {a: v for a, v in list(tr.positions.items()) if abs(v) > 1e-9},
            "open_orders": len(tr.open()), "orders": len(tr.orders), "fills": len(tr.fills),
            "refusals": len(ex.refusals), "cash_usdc": tr.cash_usdc,
            "equity_usdc": ex.equity_usdc(), "clock_ns": now,
            "engine_turns": s.engine.turns, "loop_age_s": round(self.loop_age_s(), 3),
            "calls": {k: {"calls": st.calls, "retries": st.retries, "timeouts": st.timeouts,
                          "max_elapsed_s": st.max_elapsed_s}
                      for k, st in list(ex.caller.stats.items()) if st.calls},
        }  # fmt: skip

    # ------------------------------------------------------------------ HTTP
    def handle(self, req: http.server.BaseHTTPRequestHandler) -> None:
        path = req.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(req, 200, {"status": "alive"})
        elif path == "/readyz":
            why = self.not_ready()
            self._send(req, 503 if why else 200, {"ready": not why, "why": why})
        elif path == "/status":
            self._send(req, 200, self.status())
        elif path == "/metrics":
            body = generate_latest(self.registry)
            req.send_response(200)
            req.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        else:
            self._send(req, 404, {"error": f"no {path}: /healthz /readyz /status /metrics"})

    @staticmethod
    def _send(req, status: int, body: dict) -> None:
        data = json.dumps(body, default=str).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data)


class _SessionCollector(Collector):
    """The session's counters, read at each scrape."""

    def __init__(self, ops: OpsServer) -> None:
        self.ops = ops

    def collect(self):
        s = self.ops.session
        ex = s.executor
        tr = ex.tracker
        c = CounterMetricFamily("clobsim_orders", "orders sent through the executor")
        c.add_metric([], len(tr.orders))
        yield c
        c = CounterMetricFamily("clobsim_fills", "fills applied")
        c.add_metric([], len(tr.fills))
        yield c
        c = CounterMetricFamily("clobsim_refusals", "orders refused, by reason", labels=["reason"])
        by_reason: dict[str, int] = {}
        for r in list(ex.refusals):
            by_reason[r.reason] = by_reason.get(r.reason, 0) + 1
        for reason, n in sorted(by_reason.items()):
            c.add_metric([reason], n)
        yield c
        stats = list(ex.caller.stats.items())
        families = (("clobsim_calls", "calls", "venue calls, by kind"),
                    ("clobsim_retries", "retries", "retried attempts, by kind"),
                    ("clobsim_timeouts", "timeouts", "timed-out attempts, by kind"))  # fmt: skip
        for name, field, help_ in families:
            c = CounterMetricFamily(name, help_, labels=["kind"])
            for kind, st in stats:
                c.add_metric([kind], getattr(st, field))
            yield c
        g = GaugeMetricFamily("clobsim_feed_up", "1 while market data can be trusted")
        g.add_metric([], 0.0 if ex.feed_problem else 1.0)
        yield g
        g = GaugeMetricFamily("clobsim_halted", "1 while trading is halted")
        g.add_metric([], 1.0 if ex.state is TradingState.HALTED else 0.0)
        yield g
        g = GaugeMetricFamily("clobsim_equity_usdc", "cash plus positions at mid")
        g.add_metric([], ex.equity_usdc())
        yield g
        g = GaugeMetricFamily("clobsim_cash_usdc", "cash by our books")
        g.add_metric([], tr.cash_usdc)
        yield g
        g = GaugeMetricFamily("clobsim_open_orders", "orders resting now")
        g.add_metric([], len(tr.open()))
        yield g
        g = GaugeMetricFamily("clobsim_breakers_tripped", "risk breakers tripped now")
        risk = ex.risk
        g.add_metric([], len(risk.tripped_breakers(s.clock.now_ns())) if risk is not None else 0)
        yield g
        g = GaugeMetricFamily("clobsim_loop_age_seconds", "since the engine loop last turned")
        g.add_metric([], self.ops.loop_age_s())
        yield g
