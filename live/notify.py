"""Alerts that leave the process: a Discord (or any JSON) webhook, never in trading's way.

``WebhookAlerter`` is an ``Alerter`` (``sim.executor.alerts``): ``alert()`` only puts
the alert on a bounded queue and returns; a daemon thread delivers it with plain
httpx. Delivery is

* **filtered**: alerts below ``min_level`` stay in the log only;
* **de-duplicated**: the same kind and message again within ``dedupe_s`` is counted,
  not sent (the next one sent says how many were held back);
* **rate-limited**: at most ``per_minute`` posts (a token bucket; Discord itself allows
  about 30 a minute per webhook);
* **retried**: a transport error, a 5xx or a 429 (its ``Retry-After`` honoured) is
  tried again ``retries`` times with backoff (tenacity); what still fails is logged
  and counted, never raised.

``check()`` asks the webhook once at start-up: a Discord webhook URL answers GET with
its id; a 401/404 (a deleted or mistyped webhook) is reported, since an alert channel
that fails silently is the failure operators meet too late.

The URL is a secret (it carries the webhook's token): it comes from the environment
(``CLOBSIM_DISCORD_WEBHOOK`` or ``CLOBSIM_ALERT_WEBHOOK``; ``notifier_from_env``) and
is only ever shown as its host.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from sim.executor.alerts import Alert

log = logging.getLogger("clobsim.notify")

DISCORD_ENV = "CLOBSIM_DISCORD_WEBHOOK"
WEBHOOK_ENV = "CLOBSIM_ALERT_WEBHOOK"
_LEVELS = {"info": 0, "warning": 1, "critical": 2}
_MAX_DISCORD = 2000  # characters of a Discord message
#: info alerts an operator asked for: sent whatever ``min_level`` says
ALWAYS_SENT = frozenset({"daily_summary", "feed_up", "venue_up"})


class _Retryable(Exception):
    def __init__(self, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class NotifierStats:
    """Alerts ``sent``, ``failed`` after every retry, ``suppressed`` as duplicates,
    ``filtered`` below the level, ``dropped`` because the queue was full."""

    sent: int
    failed: int
    suppressed: int
    filtered: int
    dropped: int


def where(url: str) -> str:
    """The URL as it may be shown: its scheme and host, never its path (the token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/..."


class WebhookAlerter:
    """See the module doc. ``style``: ``discord`` (a chat message) or ``json`` (the alert's
    fields). ``client``: an ``httpx.Client`` (tests pass one; default: own, 5 s)."""

    def __init__(self, url: str, *, style: str = "discord", min_level: str = "warning",
                 dedupe_s: float = 300.0, per_minute: float = 20.0, retries: int = 3,
                 backoff_s: float = 1.0, queue_max: int = 1000,
                 client: httpx.Client | None = None, name: str = "alerts") -> None:  # fmt: skip
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"an alert webhook must be an http(s) URL, got {where(url)}")
        if style not in ("discord", "json"):
            raise ValueError(f"style must be 'discord' or 'json', got {style!r}")
        if min_level not in _LEVELS:
            raise ValueError(f"min_level must be one of {', '.join(_LEVELS)}, got {min_level!r}")
        if not (dedupe_s >= 0 and per_minute > 0 and retries >= 1 and backoff_s >= 0):
            raise ValueError("dedupe_s >= 0, per_minute > 0, retries >= 1, backoff_s >= 0")
        self._url = url
        self.style = style
        self._min = _LEVELS[min_level]
        self._dedupe_ns = int(dedupe_s * 1e9)
        self._interval_s = 60.0 / per_minute
        self._retries = retries
        self._backoff_s = backoff_s
        self._http = client or httpx.Client(timeout=5.0)
        self._own_client = client is None
        self._q: queue.Queue[tuple[Alert, int] | None] = queue.Queue(maxsize=queue_max)
        self._seen: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (last sent, held)
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(("sent", "failed", "suppressed", "filtered", "dropped"), 0)
        self._next_post = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ trading side
    def alert(self, alert: Alert) -> None:
        """Queue ``alert`` for delivery; returns at once, never raises."""
        if _LEVELS.get(alert.level, 1) < self._min and alert.kind not in ALWAYS_SENT:
            self._count("filtered")
            return
        key = (alert.kind, alert.message)
        now = time.monotonic_ns()
        with self._lock:
            last, held = self._seen.get(key, (None, 0))
            if last is not None and now - last < self._dedupe_ns:
                self._seen[key] = (last, held + 1)
                self._counts["suppressed"] += 1
                return
            self._seen[key] = (now, 0)
        try:
            self._q.put_nowait((alert, held))
        except queue.Full:
            self._count("dropped")
            log.error("alerts: the delivery queue is full; %s alert dropped", alert.kind)

    def _count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    @property
    def stats(self) -> NotifierStats:
        with self._lock:
            return NotifierStats(**self._counts)

    # ------------------------------------------------------------------ delivery
    def payload(self, alert: Alert, held: int) -> dict:
        extra = f" (+{held} like it held back)" if held else ""
        if self.style == "discord":
            text = f"**{alert.level.upper()}** `{alert.kind}`: {alert.message}{extra}"
            return {"content": text[:_MAX_DISCORD], "username": "clobsim",
                    "allowed_mentions": {"parse": []}}  # fmt: skip
        return {"ts_ns": alert.ts_ns, "level": alert.level, "kind": alert.kind,
                "message": alert.message, "held_back": held,
                "data": _plain(alert.data)}  # fmt: skip

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            wait = self._next_post - time.monotonic()
            if wait > 0:  # the rate limit: wait here, never in alert()
                time.sleep(wait)
            self._next_post = time.monotonic() + self._interval_s
            self._deliver(*item)

    def _deliver(self, alert: Alert, held: int) -> None:
        body = self.payload(alert, held)
        try:
            for attempt in Retrying(stop=stop_after_attempt(self._retries), reraise=True,
                                    retry=retry_if_exception_type(_Retryable),
                                    sleep=self._sleep_for, wait=self._wait):  # fmt: skip
                with attempt:
                    self._post(body)
        except (_Retryable, RetryError, httpx.HTTPError, ValueError) as exc:
            self._count("failed")
            log.error("alerts: %s alert not delivered to %s after %d tries: %s", alert.kind,
                      where(self._url), self._retries, exc)  # fmt: skip
            return
        self._count("sent")

    def _post(self, body: dict) -> None:
        try:
            resp = self._http.post(self._url, json=body)
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}") from None
        if resp.status_code == 429 or resp.status_code >= 500:
            raise _Retryable(f"HTTP {resp.status_code}", _retry_after(resp.headers))
        if resp.status_code >= 400:  # a bad request or a dead webhook: retrying won't help
            raise ValueError(f"HTTP {resp.status_code}")

    def _wait(self, state) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after_s", None)
        if after is not None:
            return min(after, 60.0)
        return self._backoff_s * 2 ** (state.attempt_number - 1)

    @staticmethod
    def _sleep_for(seconds: float) -> None:
        time.sleep(seconds)

    # ------------------------------------------------------------------ lifecycle
    def check(self) -> str:
        """ "" if the webhook answers as one, else what is wrong (for the start-up log)."""
        if self.style != "discord":
            return ""  # a generic webhook has no read side to ask
        try:
            resp = self._http.get(self._url)
        except httpx.HTTPError as exc:
            return f"{where(self._url)} cannot be reached: {type(exc).__name__}"
        if resp.status_code in (401, 403, 404):
            return (f"{where(self._url)} answers {resp.status_code}: the webhook was deleted or "
                    f"its URL is mistyped; alerts will not arrive")  # fmt: skip
        if resp.status_code >= 400:
            return f"{where(self._url)} answers {resp.status_code}"
        return ""

    def close(self, timeout_s: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout_s``), then stop."""
        with contextlib.suppress(queue.Full):
            self._q.put(None, timeout=timeout_s)
        self._thread.join(timeout_s)
        if self._own_client:
            self._http.close()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _plain(data: dict) -> dict:
    return {str(k): (v if isinstance(v, str | int | float | bool) or v is None else str(v))
            for k, v in data.items()}  # fmt: skip


def notifier_from_env(env: Mapping[str, str] | None = None) -> WebhookAlerter | None:
    """A ``WebhookAlerter`` for ``CLOBSIM_DISCORD_WEBHOOK`` (Discord style) or
    ``CLOBSIM_ALERT_WEBHOOK`` (the alert as JSON), else None."""
    env = os.environ if env is None else env
    if env.get(DISCORD_ENV):
        return WebhookAlerter(env[DISCORD_ENV], style="discord")
    if env.get(WEBHOOK_ENV):
        return WebhookAlerter(env[WEBHOOK_ENV], style="json")
    return None


def operator_alerts(env: Mapping[str, str] | None = None):
    """(the alerter a live or paper run hands its executor, the webhook or None): the log
    always, and the environment's webhook when one is set, checked now (a dead webhook
    is said at CRITICAL before the run starts, not discovered at the first trip)."""
    from sim.executor.alerts import FanOutAlerter, LogAlerter

    hook = notifier_from_env(env)
    if hook is None:
        log.info("alerts: log only (set %s or %s for a webhook)", DISCORD_ENV, WEBHOOK_ENV)
        return LogAlerter(), None
    problem = hook.check()
    if problem:
        log.critical("alerts: %s", problem)
    else:
        log.info("alerts: webhook %s answers", where(hook._url))
    return FanOutAlerter(LogAlerter(), hook), hook
