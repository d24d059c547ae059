"""Network health: the venue's REST host asked ``GET /time`` every few seconds.

The trading calls already measure themselves (``VenueCaller``), but a quiet strategy
makes no calls for minutes, and "the venue stopped answering" must be known before
the next order, not discovered by it. ``VenueProbe`` runs on its own daemon thread:

* each probe is one ``GET {host}/time`` with ``timeout_s``; its latency goes to the
  ``observe`` callback (the ops server's ``clobsim_call_seconds{kind="probe"}``);
* the venue counts as **down** after ``fail_after`` probes in a row failed (a transport
  error, a timeout, a non-2xx), and **up** again at the first answer;
* each change is raised as an alert (``venue_down`` critical, ``venue_up`` info) through
  the run's alerter, stamped with the run's clock.

``/readyz`` is 503 while it is down (``live.ops_server``), and ``clobsim_venue_up``,
``clobsim_probe_failures`` export it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import httpx

from sim.executor.alerts import Alert, Alerter

log = logging.getLogger("clobsim.probe")


class VenueProbe:
    """See the module doc. ``now_ns``: the run's clock, for the alerts' time stamps."""

    def __init__(self, host: str, *, interval_s: float = 5.0, timeout_s: float = 3.0,
                 fail_after: int = 3, alerter: Alerter | None = None,
                 now_ns: Callable[[], int] = time.time_ns,
                 observe: Callable[[str, float], None] | None = None,
                 client: httpx.Client | None = None) -> None:  # fmt: skip
        if interval_s <= 0 or timeout_s <= 0 or fail_after < 1:
            raise ValueError("interval_s and timeout_s must be > 0, fail_after >= 1")
        self.url = host.rstrip("/") + "/time"
        self.interval_s, self.timeout_s, self.fail_after = interval_s, timeout_s, fail_after
        self.alerter, self.now_ns, self.observe = alerter, now_ns, observe
        self._client = client or httpx.Client(timeout=timeout_s)
        self._own_client = client is None
        self.up = True
        self.probes = 0
        self.failures = 0
        self.failed_in_row = 0
        self.last_error = ""
        self.last_latency_s: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="venue-probe", daemon=True)

    def start(self) -> VenueProbe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.timeout_s + 1.0)
        if self._own_client:
            self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.probe()
            self._stop.wait(self.interval_s)

    def probe(self) -> bool:
        """One probe now; True if the venue answered."""
        t0 = time.perf_counter()
        try:
            resp = self._client.get(self.url, timeout=self.timeout_s)
            ok = resp.is_success
            error = "" if ok else f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        elapsed = time.perf_counter() - t0
        self.probes += 1
        if self.observe is not None:
            self.observe("probe", elapsed)
        if ok:
            self.last_latency_s, self.failed_in_row = elapsed, 0
            if not self.up:
                self.up = True
                self._alert("info", "venue_up", f"venue answers again ({self.url})")
            return True
        self.failures += 1
        self.failed_in_row += 1
        self.last_error = error
        if self.up and self.failed_in_row >= self.fail_after:
            self.up = False
            self._alert("critical", "venue_down",
                        f"venue unreachable: {self.failed_in_row} probes of {self.url} failed "
                        f"in a row, last: {error}")  # fmt: skip
        return False

    def _alert(self, level: str, kind: str, message: str) -> None:
        log.log(logging.CRITICAL if level == "critical" else logging.INFO, message)
        if self.alerter is not None:
            self.alerter.alert(Alert(self.now_ns(), level, kind, message))
