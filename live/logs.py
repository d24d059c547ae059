"""Logs of a run that lasts days: JSON lines to a rotating file, readable lines on the
console, secrets redacted in both.

``configure_logging(path, run_id=..., mode=..., strategy=..., secrets=[...])`` sets up
the standard ``logging`` tree every module already writes to:

* ``path`` (rotated at ``max_bytes``, ``backups`` kept) gets one JSON object per record
  (structlog's ``ProcessorFormatter``): ``timestamp`` (UTC, ISO), ``level``, ``logger``,
  ``event`` (the message), ``run_id``, ``mode``, ``strategy``, an ``exception`` with
  its traceback when there is one, and ``order_id``, ``venue_order_id``, ``market``,
  ``asset_id``, ``alert`` when the record names them (``OrderLogger``, the alerts);
* the console (stderr) gets ``time level logger: message``;
* every secret value given (a private key, API secret and passphrase, a webhook URL or
  its token) and every ``0x`` + 64-hex string that is one of them is replaced by
  ``[redacted]`` before anything is written, in messages, arguments and tracebacks.

Calling it again (a second run in one process) replaces the handlers it installed.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import structlog

REDACTED = "[redacted]"
_MARK = "_clobsim_handler"
#: a record's ``extra`` keys that become JSON fields (ids a person greps a log for)
FIELDS = ("order_id", "venue_order_id", "market", "asset_id", "alert")


class Redactor:
    """Replaces each secret (and its URL path parts) in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values: set[str] = set()
        for s in secrets:
            if not s or len(s) < 6:
                continue
            values.add(s)
            if s.startswith("0x"):
                values.add(s[2:])
            if "://" in s:  # a webhook URL: its path carries the token
                values.update(p for p in s.split("/") if len(p) >= 16)
        ordered = sorted(values, key=len, reverse=True)  # the longest first
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)


class _RedactingFilter(logging.Filter):
    """Renders a record's message with its arguments, then redacts it (and its traceback)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.clobsim_exception = record.exc_text  # the JSON formatter's copy drops exc_text
        return True


def configure_logging(path: str | Path, *, run_id: str, mode: str, strategy: str,
                      secrets: Iterable[str] = (), level: int = logging.INFO,
                      max_bytes: int = 50 * 2**20, backups: int = 5,
                      console: bool = True) -> LogSetup:  # fmt: skip
    """See the module doc."""
    redact = Redactor(secrets)
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(h)
        h.close()
    context = {"run_id": run_id, "mode": mode, "strategy": strategy}

    def add_context(_, __, event: dict) -> dict:
        return {**context, **event}

    def redact_event(_, __, event: dict) -> dict:
        for key in ("event", "exception", "exc_text"):
            if isinstance(event.get(key), str):
                event[key] = redact(event[key])
        return event

    def exc_text(_, __, event: dict) -> dict:
        record = event.get("_record")
        text = getattr(record, "clobsim_exception", None) if record is not None else None
        if text:
            event["exception"] = text
        return event

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    to_file.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                           structlog.stdlib.ExtraAdder(allow=FIELDS),
                           structlog.processors.TimeStamper(fmt="iso", utc=True)],
        processors=[exc_text, structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    add_context, redact_event, structlog.processors.JSONRenderer()],
    ))  # fmt: skip
    handlers: list[logging.Handler] = [to_file]
    if console:
        out = logging.StreamHandler(sys.stderr)
        out.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append(out)
    for h in handlers:
        h.addFilter(_RedactingFilter(redact))
        setattr(h, _MARK, True)
        root.addHandler(h)
    root.setLevel(min(root.level or level, level))
    return LogSetup(redact, handlers)


class LogSetup:
    """What ``configure_logging`` installed: ``redact`` for other writers, ``close()`` to
    take its handlers off again (a run that ends in a longer-lived process)."""

    def __init__(self, redact: Redactor, handlers: list[logging.Handler]) -> None:
        self.redact = redact
        self._handlers = handlers

    def close(self) -> None:
        root = logging.getLogger()
        for h in self._handlers:
            root.removeHandler(h)
            h.close()
        self._handlers = []


def run_secrets(env=None) -> list[str]:
    """The secret values this process holds (credentials, webhook URLs), for redaction."""
    import os

    env = os.environ if env is None else env
    names = ("POLY_PRIVATE_KEY", "POLY_API_KEY", "POLY_API_SECRET", "POLY_API_PASSPHRASE",
             "CLOBSIM_DISCORD_WEBHOOK", "CLOBSIM_ALERT_WEBHOOK")  # fmt: skip
    return [env[n] for n in names if env.get(n)]


class OrderLogger:
    """``executor.on_order_change`` for a paper or live run: one INFO line per order state
    change on ``clobsim.orders``, with ``order_id``, ``venue_order_id``, ``market`` (the
    slug) and ``asset_id`` as fields of the JSON line."""

    def __init__(self, markets: Iterable) -> None:
        self._log = logging.getLogger("clobsim.orders")
        self._market = {tok: m.slug or m.condition_id for m in markets
                        for tok in (m.yes_token_id, m.no_token_id)}  # fmt: skip

    def __call__(self, order) -> None:
        req = order.request
        market = self._market.get(req.asset_id, "")
        why = f" ({order.reason})" if order.reason else ""
        self._log.info(
            "order %s %s %s %g @ %g: %s, filled %g%s", req.client_order_id, market,
            req.side.name, req.size_shares, req.price, order.status.name, order.filled_shares,
            why, extra={"order_id": req.client_order_id, "venue_order_id": order.venue_order_id,
                        "market": market, "asset_id": req.asset_id},
        )  # fmt: skip
