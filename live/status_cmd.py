"""``clobsim status``: how a run is doing, from its health endpoint or from its journal.

* ``--url http://127.0.0.1:PORT`` (a run started with ``--ops-port``): its ``/status``
  and ``/readyz``, as they are now;
* ``--journal PATH`` (a stopped run, or a copy): the records it holds by kind, the last
  trading-state transition and the time of the last record. A running process holds
  its journal exclusively: ask it by ``--url`` instead.

``--json`` prints the document instead of lines. Exit 0, or 1 when the run reports it
is not ready (``--url``) or halted (``--journal``).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from sim.errors import ConfigError


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
    except (urllib.error.URLError, OSError) as exc:
        raise ConfigError("url", f"{url} does not answer: {exc}") from None


def from_endpoint(url: str) -> tuple[dict, bool]:
    base = url.rstrip("/")
    _, status = _get(base + "/status")
    code, ready = _get(base + "/readyz")
    status["ready"] = code == 200
    status["not_ready_because"] = ready.get("why", [])
    return status, status["ready"]


def from_journal(path: Path) -> tuple[dict, bool]:
    from sim.journal import SqliteJournal

    if not path.is_file():
        raise ConfigError("journal", f"{path} does not exist")
    journal = SqliteJournal(str(path))
    try:
        kinds: Counter[str] = Counter()
        last_ts, state, reason = 0, "ACTIVE", ""
        for rec in journal.records():
            kinds[rec.kind] += 1
            last_ts = max(last_ts, rec.ts_ns)
            if rec.kind == "trading_state":
                state, reason = rec.key, str(rec.payload.get("reason", ""))
    finally:
        journal.close()
    last = dt.datetime.fromtimestamp(last_ts / 1e9, dt.UTC).isoformat() if last_ts else ""
    doc = {"journal": str(path), "records": dict(sorted(kinds.items())), "state": state,
           "reason": reason, "last_record": last}  # fmt: skip
    return doc, state != "HALTED"


def run_status(url: str | None, journal: str | None, as_json: bool) -> int:
    if (url is None) == (journal is None):
        raise ConfigError("status", "give --url (a running run) or --journal (its journal)")
    doc, ok = from_endpoint(url) if url else from_journal(Path(journal))
    if as_json:
        print(json.dumps(doc, indent=1, default=str))
    else:
        for key, value in doc.items():
            print(f"{key:>18}: {value}")
    return 0 if ok else 1
