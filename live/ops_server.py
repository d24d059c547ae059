"""Health and metrics of a running session on one HTTP endpoint, 127.0.0.1 by default.

* ``/healthz``: the process answers (liveness) - 200 while the server runs;
* ``/readyz``: 200 only if the run may trade now: the market feed connected and fresh
  (the executor has no feed problem), not HALTED (a journal that cannot be written
  halts), the engine loop turned within ``stuck_s``, the latest attempt of every call
  kind answered (a refusal is an answer; a timeout or a 5xx is not), the venue's probe
  answering; else 503 with every reason that holds (JSON);
* ``/status``: JSON: trading state and reason, breakers tripped, positions, open orders,
  cash and equity, feed problem, calls per kind, fills, refusals, last loop turn;
* ``/metrics``: Prometheus text (``prometheus-client``): the run's counters
  (``sim.run_counters``: orders, fills, refusals by reason, calls/retries/timeouts/
  failures per kind, feed downs and age, equity, cash, breakers tripped, halted), a
  call-latency histogram per kind (the venue probe's as ``kind="probe"``), the loop
  age, and with a probe (``live.venue_probe``) ``clobsim_venue_up``.

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
from sim.run_counters import run_counters

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OpsServer:
    """Serves ``session`` (``sim.session.Session``) on ``host:port`` (0: any free port).
    ``stuck_s``: the engine loop must turn within this long for ``/readyz``."""

    def __init__(self, session, *, host: str = "127.0.0.1", port: int = 0,
                 stuck_s: float = 30.0, probe=None) -> None:  # fmt: skip
        self.session = session
        self.stuck_s = stuck_s
        #: ``live.venue_probe.VenueProbe`` (or None): its verdict joins ``/readyz``
        self.probe = probe
        self.registry = CollectorRegistry()
        self.latency = Histogram("clobsim_call_seconds", "venue call latency by kind",
                                 ["kind"], buckets=_BUCKETS, registry=self.registry)  # fmt: skip
        session.executor.caller.observe = self._observe
        if probe is not None:
            probe.observe = self._observe  # its latency: clobsim_call_seconds{kind="probe"}
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
        if self.probe is not None and not self.probe.up:
            why.append(f"venue unreachable: {self.probe.last_error}")
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
                          "failed": st.failed, "max_elapsed_s": st.max_elapsed_s}
                      for k, st in list(ex.caller.stats.items()) if st.calls},
            "feed_last_update_ns": s.feed.last_update_ns,
            "venue": None if self.probe is None else {
                "up": self.probe.up, "probes": self.probe.probes,
                "failures": self.probe.failures, "last_error": self.probe.last_error,
                "last_latency_s": self.probe.last_latency_s},
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
    """The session's counters (``sim.run_counters``: the same names a backtest's report
    shows), read at each scrape, plus the loop age and the venue probe's verdict."""

    def __init__(self, ops: OpsServer) -> None:
        self.ops = ops

    def collect(self):
        s = self.ops.session
        for c in run_counters(s.executor, s.feed):
            family = CounterMetricFamily if c.kind == "counter" else GaugeMetricFamily
            m = family(f"clobsim_{c.name}", c.help, labels=list(c.labels))
            for labels, value in c.samples.items():
                m.add_metric(list(labels), value)
            yield m
        g = GaugeMetricFamily("clobsim_loop_age_seconds", "since the engine loop last turned")
        g.add_metric([], self.ops.loop_age_s())
        yield g
        probe = self.ops.probe
        if probe is not None:
            g = GaugeMetricFamily("clobsim_venue_up", "1 while the venue's probe answers")
            g.add_metric([], 1.0 if probe.up else 0.0)
            yield g
            c = CounterMetricFamily("clobsim_probe_failures", "venue probes that failed")
            c.add_metric([], probe.failures)
            yield c
