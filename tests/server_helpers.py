"""Helpers for the loopback server's tests: a small recording, a running server in a
background thread (its replay driven by a manual clock: nothing waits for wall time
unless a test asks), and the official client pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from py_clob_client_v2 import ClobClient
from py_clob_client_v2.http_helpers import helpers as client_http

from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.mock_server import MockServer, Urls
from exchange_mock.server.replay_time import ManualTime
from exchange_mock.server.wire_faults import WireFaults
from sim.marketdata import (
    Dataset,
    DatasetWriter,
    EventColumns,
    EventKind,
    asset_table,
    day_start_ns,
)
from tests.helpers import DAY, make_market

K = EventKind
MS = 1_000_000
S = 1_000_000_000
M = make_market(0, 0.01, min_order_size=5.0)
YES, NO = M.yes_token_id, M.no_token_id
#: hardhat's first test key: a well-known throwaway, never a real wallet
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
T0 = day_start_ns(DAY) + 3_600 * S


def write_dataset(root: Path, minutes: int = 20, feed_lead_s: float = 0.0) -> Path:
    """One market, book 0.48 / 0.52 (YES), then every 100 ms the 0.53 ask changes size and
    every 2 s a seller hits the 0.48 bid (10 shares) and it refills. ``feed_lead_s``: the
    recording opens that long before the book with feed-only rows (connection state)."""
    lead = int(feed_lead_s * S)
    rows = (
        [(-lead, K.CONNECTION, 0, 0.0, 0.0), (-lead + S, K.CONNECTION, 1, 0.0, 0.0)] if lead else []
    )
    rows += [(0, K.BOOK_RESET, 0, 0.0, 0.0), (0, K.SNAPSHOT_LEVEL, 1, 0.48, 100.0),
            (0, K.SNAPSHOT_LEVEL, 1, 0.47, 200.0), (0, K.SNAPSHOT_LEVEL, -1, 0.52, 50.0),
            (0, K.SNAPSHOT_LEVEL, -1, 0.53, 300.0)]  # fmt: skip
    t = 0
    for i in range(minutes * 600):
        t += 100 * MS
        if i % 20 == 10:
            rows.append((t, K.TRADE, -1, 0.48, 10.0))
            rows.append((t, K.LEVEL_CHANGE, 1, 0.48, 90.0))
            rows.append((t + MS, K.LEVEL_CHANGE, 1, 0.48, 100.0))
        else:
            rows.append((t, K.LEVEL_CHANGE, -1, 0.53, 300.0 + i % 7))
    ts = np.array([T0 + r[0] for r in rows])
    cols = EventColumns.from_arrays(
        asset_table([M]), ts_exchange_ns=ts, ts_recv_ns=ts + 5 * MS,
        seq=np.arange(1, len(rows) + 1),
        asset=[-1 if r[1] == K.CONNECTION else 0 for r in rows], kind=[r[1] for r in rows],
        side=[r[2] for r in rows], price=[r[3] for r in rows], size=[r[4] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, [M]).write_day(DAY, "m0", cols)
    return root


@dataclass
class Running:
    server: MockServer
    urls: Urls
    clock: ManualTime  # the replay's monotonic source: advance it to move the replay
    loop: asyncio.AbstractEventLoop

    def advance(self, seconds: float) -> None:
        """Move the replay ``seconds`` on (in replay time at speed 1) and let it catch up."""
        self.clock.advance(seconds)
        self.call(self.server.tick)

    def call(self, fn, *args):
        """Run ``fn`` on the server's loop thread and return its result."""

        async def run():
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    @property
    def fault_log(self) -> list:
        return list(self.server.faults.log)


def plan(*specs: FaultSpec, seed: int = 1) -> FaultPlan:
    return FaultPlan(tuple(specs), seed, "test")


@contextlib.contextmanager
def running_server(root: Path, *, faults: FaultPlan | None = None,
                   realtime_speed: float | None = None) -> Iterator[Running]:  # fmt: skip
    """A ``MockServer`` over ``root`` on 127.0.0.1, port 0, in its own thread. Its replay
    moves only when the test says (``Running.advance``), unless ``realtime_speed`` is
    given: then it runs on its own at that many times wall time (live end-to-end)."""
    mono = ManualTime(0)
    if realtime_speed is None:
        exchange = MockExchange(Dataset.open(root), time_source=(time.time_ns, mono))
    else:
        exchange = MockExchange(Dataset.open(root), speed=realtime_speed)
    wire = WireFaults.none()
    if faults is not None:
        wire = WireFaults(hook=FaultInjector(faults, start_ns=exchange.time.data_start_ns))
    server = MockServer(exchange, account_key=KEY, server_secret=b"s" * 32, faults=wire)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    urls = asyncio.run_coroutine_threadsafe(server.start(), loop).result(timeout=10)
    running = Running(server, urls, mono, loop)
    if realtime_speed is None:
        running.advance(0.5)  # the opening book is in
    try:
        yield running
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextlib.contextmanager
def client_timeout(seconds: float) -> Iterator[None]:
    """The official client's HTTP timeout (a module-global httpx client) for a test."""
    saved = client_http._http_client
    client_http._http_client = httpx.Client(http2=False, timeout=seconds)
    try:
        yield
    finally:
        client_http._http_client.close()
        client_http._http_client = saved


def client(urls: Urls, key: str = KEY) -> ClobClient:
    """py-clob-client-v2, unchanged, with API credentials derived from the server."""
    c = ClobClient(urls.rest, 137, key=key)
    c.set_api_creds(c.create_or_derive_api_key())
    return c
