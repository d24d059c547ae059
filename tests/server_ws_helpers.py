"""Shared helpers of the loopback server's WebSocket tests (test_server_ws_*.py): the
datasets they replay, the ``skewed`` fixture, and a market-channel client (MarketReader)."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import websocket

from live.market_messages import MarketFrameParser
from sim.events import BookSnapshot, LevelChange
from sim.marketdata import DatasetWriter, EventColumns, asset_table
from sim.types import Side
from tests.helpers import DAY
from tests.server_helpers import MS, T0, YES, K, M

WAIT_S = 3.0  # the longest any frame may take to arrive (a deadline, never a sleep)
QUIET_S = 0.4  # how long "nothing arrives" is watched for


def _write(root: Path, rows: list[tuple]) -> Path:
    rows = sorted(rows, key=lambda r: r[0])
    ts = np.array([T0 + r[0] for r in rows])
    cols = EventColumns.from_arrays(
        asset_table([M]), ts_exchange_ns=ts, ts_recv_ns=ts + 5 * MS,
        seq=np.arange(1, len(rows) + 1), asset=np.zeros(len(rows)), kind=[r[1] for r in rows],
        side=[r[2] for r in rows], price=[r[3] for r in rows], size=[r[4] for r in rows],
    )  # fmt: skip
    DatasetWriter(root, [M]).write_day(DAY, "m0", cols)
    return root


def write_skewed_dataset(root: Path, seconds: int = 60) -> Path:
    """One market whose YES book is not symmetric about 0.5 (bids 0.40/0.39, asks
    0.45/0.46), so its NO mirror (bids 0.55/0.54, asks 0.60/0.61) differs from it:
    every 100 ms a 0.41 bid appears or goes (the best bid moves) or the 0.46 ask changes
    size, and every 2 s a buyer takes 5 of the 0.45 ask, which refills 1 ms later."""
    rows = [(0, K.BOOK_RESET, 0, 0.0, 0.0), (0, K.SNAPSHOT_LEVEL, 1, 0.40, 100.0),
            (0, K.SNAPSHOT_LEVEL, 1, 0.39, 200.0), (0, K.SNAPSHOT_LEVEL, -1, 0.45, 50.0),
            (0, K.SNAPSHOT_LEVEL, -1, 0.46, 300.0)]  # fmt: skip
    t = 0
    for i in range(seconds * 10):
        t += 100 * MS
        if i % 20 == 10:
            rows.append((t, K.TRADE, 1, 0.45, 5.0))
            rows.append((t, K.LEVEL_CHANGE, -1, 0.45, 45.0))
            rows.append((t + MS, K.LEVEL_CHANGE, -1, 0.45, 50.0))
        elif i % 4 == 0:
            rows.append((t, K.LEVEL_CHANGE, 1, 0.41, 20.0))
        elif i % 4 == 2:
            rows.append((t, K.LEVEL_CHANGE, 1, 0.41, 0.0))
        else:
            rows.append((t, K.LEVEL_CHANGE, -1, 0.46, 300.0 + i % 5))
    return _write(root, rows)


def write_eventful_dataset(root: Path) -> Path:
    """YES rows only: a book, a bid changing every 100 ms, a new snapshot at 1 s, the
    tick going 0.01 -> 0.001 at 1.5 s, the market resolving YES at 2.5 s."""
    rows = [(0, K.BOOK_RESET, 0, 0.0, 0.0), (0, K.SNAPSHOT_LEVEL, 1, 0.40, 100.0),
            (0, K.SNAPSHOT_LEVEL, -1, 0.45, 50.0)]  # fmt: skip
    rows += [(i * 100 * MS, K.LEVEL_CHANGE, 1, 0.39, float(i)) for i in range(1, 25)]
    rows += [(1000 * MS + 1, K.BOOK_RESET, 0, 0.0, 0.0),
             (1000 * MS + 1, K.SNAPSHOT_LEVEL, 1, 0.30, 10.0),
             (1000 * MS + 1, K.SNAPSHOT_LEVEL, -1, 0.35, 20.0),
             (1500 * MS + 1, K.TICK_SIZE, 0, 0.001, 0.01),
             (2500 * MS + 1, K.RESOLVED, 0, 1.0, 0.0)]  # fmt: skip
    return _write(root, rows)


@pytest.fixture(scope="module", name="skewed")
def skewed_fixture(tmp_path_factory) -> Path:
    return write_skewed_dataset(tmp_path_factory.mktemp("ws") / "skewed")


# ---------------------------------------------------------------------------------- helpers


def connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=WAIT_S)


def recv(ws: websocket.WebSocket, deadline: float) -> str:
    ws.settimeout(max(0.05, deadline - time.monotonic()))
    return ws.recv()


def sync(ws: websocket.WebSocket) -> list[str]:
    """PING and read up to its PONG: the server has handled all sent before it (one
    socket's messages are handled in order). Returns the frames read on the way."""
    ws.send("PING")
    deadline = time.monotonic() + WAIT_S
    frames = []
    while (frame := recv(ws, deadline)) != "PONG":
        frames.append(frame)
    return frames


def quiet(ws: websocket.WebSocket, seconds: float = QUIET_S) -> list[str]:
    """Every frame that arrives until none has for ``seconds``."""
    frames = []
    ws.settimeout(seconds)
    try:
        while True:
            frames.append(ws.recv())
    except websocket.WebSocketTimeoutException:
        return frames


def close_code(ws: websocket.WebSocket) -> int:
    """Read to the close frame (skipping data frames) and return its status code."""
    deadline = time.monotonic() + WAIT_S
    while True:
        ws.settimeout(max(0.05, deadline - time.monotonic()))
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0]


def rest_book(run, token: str) -> dict:
    r = httpx.get(f"{run.urls.rest}/book", params={"token_id": token}, timeout=WAIT_S)
    r.raise_for_status()
    return r.json()


def messages(frame: str) -> list[dict]:
    decoded = json.loads(frame)
    return decoded if isinstance(decoded, list) else [decoded]


def wire_now_ns(run) -> int:
    return run.call(run.server.exchange.time.wire_now_ns)


def levels(book: dict) -> dict[str, dict[float, float]]:
    return {side: {float(lv["price"]): float(lv["size"]) for lv in book[side]}
            for side in ("bids", "asks")}  # fmt: skip


class MarketReader:
    """A market-channel client: parses every frame (the project's tolerant parser) and
    keeps each asset's book as the frames build it."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.parser = MarketFrameParser()
        self.frames: list[str] = []
        self.events: list = []
        self.books: dict[str, dict[str, dict[float, float]]] = {}

    def subscribe(self, assets, **extra) -> list[str]:
        """Send a subscribe message; wait for the server to have handled it and for the
        ``book`` of each of ``assets`` it sends then (none with ``initial_dump`` off or an
        unsubscribe). Returns the frames read on the way (the clock stands: books only)."""
        start, events = len(self.frames), len(self.events)
        self.ws.send(json.dumps({"assets_ids": list(assets), **extra}))
        self.sync()  # a book the server queued may still come after the PONG
        if extra.get("initial_dump", True) and extra.get("operation") != "unsubscribe":
            self.read_until(lambda: {e.asset_id for e in self.events[events:]
                                     if isinstance(e, BookSnapshot)} >= set(assets))  # fmt: skip
        return self.frames[start:]

    def take(self, frame: str) -> list:
        self.frames.append(frame)
        events = self.parser.parse(frame, time.time_ns())
        for ev in events:
            if isinstance(ev, BookSnapshot):
                self.books[ev.asset_id] = {"bids": dict(ev.bids), "asks": dict(ev.asks)}
            elif isinstance(ev, LevelChange) and ev.asset_id in self.books:
                side = self.books[ev.asset_id]["bids" if ev.side is Side.BUY else "asks"]
                if ev.size > 0:
                    side[ev.price] = ev.size
                else:
                    side.pop(ev.price, None)
        self.events += events
        return events

    def sync(self) -> list[str]:
        frames = sync(self.ws)
        for f in frames:
            self.take(f)
        return frames

    def read_until(self, done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_S
        while not done():
            self.take(recv(self.ws, deadline))

    def recent(self, run) -> Callable[[], bool]:
        """Done when an event of the replay's last 100 ms arrived (rows come every 100 ms;
        frames come in order, so every earlier one has too)."""
        last_ms = int(rest_book(run, YES)["timestamp"]) - 100
        return lambda: any(e.ts_exchange_ns // MS >= last_ms for e in self.events[-4:])

    def caught_up(self, run, assets) -> Callable[[], bool]:
        """``recent``, and the books built equal REST ``/book`` of ``assets``."""
        rest = {a: levels(rest_book(run, a)) for a in assets}
        recent = self.recent(run)
        return lambda: recent() and all(self.books.get(a) == rest[a] for a in assets)

    def of(self, kind: type, asset: str | None = None) -> list:
        mine = [e for e in self.events if isinstance(e, kind)]
        return [e for e in mine if asset in (None, getattr(e, "asset_id", None))]


def flip(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY
