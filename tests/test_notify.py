"""Alerts to a webhook (``live/notify.py``) against a loopback HTTP server: delivered in
the background (trading never waits), filtered, de-duplicated, retried on 5xx and 429,
given up on with a log line (never an exception), and a dead webhook reported at start.
The webhook URL's path (its token) never reaches a log."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest

from live.notify import WebhookAlerter, notifier_from_env
from sim.executor.alerts import Alert

TOKEN = "s3cr3t-webhook-token"


class Hook:
    """A loopback webhook: answers each POST with the next scripted status (then 204)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        self.get_status = 200
        self.release = threading.Event()
        self.release.set()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.release.wait(30)
                n = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(n)))
                status = hook.statuses.pop(0) if hook.statuses else 204
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(hook.get_status)
                self.end_headers()
                self.wfile.write(b'{"id": "1"}')

            def log_message(self, *args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/1/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.release.set()
    h.server.shutdown()


def alert(kind: str = "breaker", message: str = "daily loss tripped", level: str = "critical"):
    return Alert(1, level, kind, message, {"value": 12.5})


def notifier(hook: Hook, **kw) -> WebhookAlerter:
    kw.setdefault("per_minute", 6000.0)
    kw.setdefault("backoff_s", 0.0)
    return WebhookAlerter(hook.url, **kw)


def wait_for(cond, what: str) -> None:
    deadline = time.monotonic() + 10.0
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_alerts_arrive_filtered_and_deduplicated(hook: Hook) -> None:
    n = notifier(hook)
    n.alert(alert())
    n.alert(alert())  # the same again: held back
    n.alert(alert(level="info", kind="note"))  # below warning: log only
    n.alert(alert(kind="kill_switch", message="tripped by the operator"))
    n.close()
    assert [b["content"] for b in hook.bodies] == [
        "**CRITICAL** `breaker`: daily loss tripped",
        "**CRITICAL** `kill_switch`: tripped by the operator",
    ]
    assert hook.bodies[0]["allowed_mentions"] == {"parse": []}  # never pings anyone
    st = n.stats
    assert (st.sent, st.suppressed, st.filtered, st.failed) == (2, 1, 1, 0)


def test_a_json_webhook_gets_the_alert_fields(hook: Hook) -> None:
    n = notifier(hook, style="json")
    n.alert(alert())
    n.close()
    (body,) = hook.bodies
    assert body["kind"] == "breaker" and body["data"] == {"value": 12.5}


def test_5xx_and_429_are_retried_then_delivered(hook: Hook) -> None:
    hook.statuses = [500, 429]
    n = notifier(hook, retries=3)
    n.alert(alert())
    n.close()
    assert len(hook.bodies) == 3 and n.stats.sent == 1 and n.stats.failed == 0


def test_a_webhook_that_keeps_failing_is_logged_never_raised(
    hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    hook.statuses = [503] * 10
    n = notifier(hook, retries=2)
    with caplog.at_level(logging.ERROR, logger="clobsim.notify"):
        n.alert(alert())
        n.close()
    assert n.stats.failed == 1 and n.stats.sent == 0 and len(hook.bodies) == 2
    assert "not delivered" in caplog.text and TOKEN not in caplog.text


def test_trading_never_waits_for_a_stalled_webhook(hook: Hook) -> None:
    hook.release.clear()  # the webhook hangs on every request
    n = notifier(hook)
    caller = threading.Thread(target=lambda: [n.alert(alert(message=f"m{i}")) for i in range(5)])
    caller.start()
    caller.join(timeout=5.0)
    assert not caller.is_alive()  # alert() returned at once, five times
    hook.release.set()
    wait_for(lambda: n.stats.sent == 5, "the queued alerts are delivered once it answers")
    n.close()


def test_a_dead_webhook_is_reported_at_start_without_its_token(hook: Hook) -> None:
    n = notifier(hook)
    assert n.check() == ""
    hook.get_status = 404
    problem = n.check()
    assert "deleted or its URL is mistyped" in problem and TOKEN not in problem
    n.close()


def test_the_webhook_comes_from_the_environment_only() -> None:
    assert notifier_from_env({}) is None
    n = notifier_from_env({"CLOBSIM_ALERT_WEBHOOK": "http://127.0.0.1:9/x"})
    assert n is not None and n.style == "json"
    n.close(timeout_s=1.0)
    with pytest.raises(ValueError, match="http"):
        WebhookAlerter("ftp://example/" + TOKEN)
