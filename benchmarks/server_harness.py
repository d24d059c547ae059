"""The shared harness of ``benchmarks.server``: the loopback ``MockServer`` on an event loop
in a thread (``serving``), the demo-week constants and the timing/profile helpers."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import pstats
import resource
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BTC = "btc-*"  # every BTC market of the demo week (a slug glob, ``Dataset.select``)
NS = 1_000_000_000


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _ms(values: list[float]) -> dict:
    """p50 / p99 / mean of seconds, in ms."""
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "mean_ms": None}
    return {"n": len(values), "p50_ms": round(_pct(values, 50) * 1e3, 3),
            "p99_ms": round(_pct(values, 99) * 1e3, 3),
            "mean_ms": round(sum(values) / len(values) * 1e3, 3)}  # fmt: skip


def _cpu_s() -> float:
    """CPU seconds of this process, all threads (the server's thread does nearly all)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


#: what a profile of an event loop shows as time but is waiting for the next event
_IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.epoll'")


def _top10(prof: cProfile.Profile) -> dict:
    """The 10 functions with the most own time, the loop's idle wait left out; ``busy_s``:
    the profiled thread's own time less that wait (what the 10 are a share of)."""
    stats = pstats.Stats(prof, stream=io.StringIO())
    rows, busy = [], 0.0
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if fn.startswith(_IDLE):
            continue
        busy += tt
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else file
        rows.append({"function": f"{fn} ({where})", "calls": nc, "tottime_s": round(tt, 4),
                     "cumtime_s": round(ct, 4)})  # fmt: skip
    rows.sort(key=lambda r: -r["tottime_s"])
    return {"busy_s": round(busy, 3), "top": rows[:10]}


# ---------------------------------------------------------------------------- the server
@dataclass
class _Served:
    server: Any  # MockServer
    urls: Any
    loop: asyncio.AbstractEventLoop

    def call(self, fn, *args):
        """``fn(*args)`` on the server's loop thread (the venue is never touched from two)."""

        async def run():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=60)


@contextlib.contextmanager
def serving(exchange, middlewares=()):
    """A ``MockServer`` over ``exchange`` on 127.0.0.1 (any port), its loop in a thread."""
    from exchange_mock.server.mock_server import MockServer

    server = MockServer(exchange)
    for mw in middlewares:  # this instance's app only, before it is frozen by start()
        server.app.middlewares.append(mw)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mock-server", daemon=True)
    thread.start()
    try:
        urls = asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=60)
        yield _Served(server, urls, loop)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=60)
        loop.close()
