"""The loopback server's WebSockets (reference §6) with a real client (websocket-client, as
Polymarket's examples use): the market channel's snapshots, deltas (both tokens' books),
subscriptions and keep-alives; the user channel's orders and trades; the channel faults
of a fault plan (silent, dropped, no PONG; reference §9.5)."""

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
from py_clob_client_v2 import OrderArgs
from py_clob_client_v2.clob_types import MarketOrderArgs, OrderPayload, OrderType

from exchange_mock.faults import FaultSpec
from exchange_mock.server import ws_routes
from live.market_messages import MarketFrameParser, parse_market_frame
from live.user_messages import UserFrameParser, UserOrder, UserTrade
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata import DatasetWriter, EventColumns, asset_table
from sim.types import Side
from tests.helpers import DAY
from tests.server_helpers import (
    MS,
    NO,
    T0,
    YES,
    K,
    M,
    S,
    client,
    plan,
    running_server,
    write_dataset,
)

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


@pytest.fixture(scope="module")
def skewed(tmp_path_factory) -> Path:
    return write_skewed_dataset(tmp_path_factory.mktemp("ws") / "skewed")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("ws") / "ds", minutes=4)


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


# ----------------------------------------------------------------------- market channel


def test_snapshot_then_deltas_of_both_tokens_rebuild_the_rest_book(skewed: Path) -> None:
    with running_server(skewed) as run:
        m = MarketReader(connect(run.urls.ws_market))
        frames = m.subscribe([YES, NO], type="market", initial_dump=True,
                             custom_feature_enabled=True)  # fmt: skip
        assert len(frames) == 1  # one array frame of both books
        dump = json.loads(frames[0])
        assert [(b["event_type"], b["asset_id"]) for b in dump] == [("book", YES), ("book", NO)]
        snaps = parse_market_frame(frames[0], time.time_ns())
        assert [type(s) for s in snaps] == [BookSnapshot, BookSnapshot]
        for msg, snap in zip(dump, snaps, strict=True):
            rest = rest_book(run, snap.asset_id)
            assert (msg["bids"], msg["asks"]) == (rest["bids"], rest["asks"])
            assert snap.market == rest["market"] == M.condition_id
        assert m.books[YES] == {"bids": {0.41: 20.0, 0.40: 100.0, 0.39: 200.0},
                                "asks": {0.45: 50.0, 0.46: 303.0}}  # fmt: skip
        assert m.books[NO] == {"bids": {0.55: 50.0, 0.54: 303.0},
                               "asks": {0.59: 20.0, 0.60: 100.0, 0.61: 200.0}}  # fmt: skip

        run.advance(2.0)
        m.read_until(m.caught_up(run, [YES, NO]))
        yes, no = m.of(LevelChange, YES), m.of(LevelChange, NO)
        assert {c.side for c in yes} == {Side.BUY, Side.SELL}
        # the recording holds only YES rows; the NO book is their mirror, change for change
        assert [(c.ts_exchange_ns, flip(c.side), round(1 - c.price, 2), c.size) for c in yes] == [
            (c.ts_exchange_ns, c.side, c.price, c.size) for c in no
        ]
        # ... in one price_change per update, as the venue sends a pair (reference §6.1)
        for frame in m.frames[1:]:
            msgs = messages(frame)
            changes = [x for x in msgs if x["event_type"] == "price_change"]
            if changes:
                assert len(changes) == 1
                assert {e["asset_id"] for e in changes[0]["price_changes"]} == {YES, NO}
                tops_sent = [x["asset_id"] for x in msgs if x["event_type"] == "best_bid_ask"]
                assert tops_sent == [YES, NO]
        bids_at_041 = [c for c in yes if c.side is Side.BUY and c.price == 0.41]
        assert {(c.size, c.best_bid) for c in bids_at_041} == {(20.0, 0.41), (0.0, 0.40)}
        # price_change carries the top after it; best_bid_ask repeats it (custom features)
        tops = {(b.asset_id, b.ts_exchange_ns): (b.best_bid, b.best_ask) for b in m.of(BestBidAsk)}
        for c in yes + no:
            assert tops[(c.asset_id, c.ts_exchange_ns)] == (c.best_bid, c.best_ask)
        for c in yes:
            assert tops[(NO, c.ts_exchange_ns)] == (round(1 - c.best_ask, 2),
                                                    round(1 - c.best_bid, 2))  # fmt: skip
        prints = m.of(TradePrint)
        assert [(p.asset_id, p.price, p.side, p.size) for p in prints] == [
            (YES, 0.45, Side.BUY, 5.0)
        ]  # the one recorded print in these 2 s
        assert not m.parser.errors and not m.parser.notes
        assert m.parser.messages == sum(len(messages(f)) for f in m.frames)  # none rejected
        m.ws.close()


def test_snapshots_tick_sizes_and_resolutions_reach_both_tokens(tmp_path: Path) -> None:
    with running_server(write_eventful_dataset(tmp_path / "ds")) as run:
        custom = MarketReader(connect(run.urls.ws_market))
        custom.subscribe([YES, NO], type="market", custom_feature_enabled=True)
        plain = MarketReader(connect(run.urls.ws_market))
        plain.subscribe([NO], type="market")
        run.advance(2.5)  # 3 s
        custom.read_until(lambda: bool(custom.of(MarketResolved)))
        books = [(b.asset_id, b.bids, b.asks) for b in custom.of(BookSnapshot)]
        assert books[2:] == [
            (YES, ((0.30, 10.0),), ((0.35, 20.0),)),  # the new snapshot at 1 s
            (NO, ((0.65, 20.0),), ((0.70, 10.0),)),  # ... and its mirror
        ]
        ticks = [(t.asset_id, t.old_tick_size, t.new_tick_size) for t in custom.of(TickSizeChange)]
        assert ticks == [(YES, 0.01, 0.001), (NO, 0.01, 0.001)]  # a NO quoter must know too
        (resolved,) = custom.of(MarketResolved)
        assert (resolved.asset_ids, resolved.winning_asset_id) == ((YES, NO), YES)
        assert not custom.parser.errors and not custom.parser.notes

        plain.read_until(lambda: bool(plain.of(TickSizeChange)))
        plain.sync()
        assert {type(e) for e in plain.events} == {BookSnapshot, LevelChange, TickSizeChange}
        assert {e.asset_id for e in plain.events} == {NO}
        for m in (custom, plain):
            m.ws.close()


def test_initial_dump_off_unsubscribe_and_resubscribe(skewed: Path) -> None:
    with running_server(skewed) as run:
        m = MarketReader(connect(run.urls.ws_market))
        assert m.subscribe([YES], type="market", initial_dump=False) == []
        run.advance(1.0)
        m.read_until(m.recent(run))
        assert m.of(BookSnapshot) == [] and m.of(BestBidAsk) == []  # no book, no custom
        assert len(m.of(LevelChange, YES)) >= 10 and m.of(LevelChange, NO) == []

        # operation subscribe: the new asset's book at once, then its changes
        assert len(m.subscribe([NO], operation="subscribe")) == 1
        assert [(b.asset_id, b.bids[0]) for b in m.of(BookSnapshot)] == [(NO, (0.55, 50.0))]
        assert m.books[NO] == levels(rest_book(run, NO))

        m.subscribe([YES], operation="unsubscribe")
        seen = len(m.events)
        run.advance(1.0)
        m.read_until(m.caught_up(run, [NO]))
        after = m.events[seen:]
        assert after and {e.asset_id for e in after} == {NO}

        # a resubscribe (also of an asset already subscribed) resends a full book
        m.books.clear()
        frames = m.subscribe([YES, NO], operation="subscribe")
        assert len(frames) == 1 and [b["asset_id"] for b in json.loads(frames[0])] == [YES, NO]
        for token in (YES, NO):
            assert m.books[token] == levels(rest_book(run, token))
        run.advance(1.0)
        m.read_until(m.caught_up(run, [YES, NO]))
        assert not m.parser.errors and not m.parser.notes
        m.ws.close()


def test_ping_pong_and_invalid_operations_keep_the_socket(skewed: Path) -> None:
    with running_server(skewed) as run:
        ws = connect(run.urls.ws_market)
        ws.send("PING")
        assert ws.recv() == "PONG"
        for bad in ("hello", "[1, 2]", '"text"', '{"type": "market"}', '{"assets_ids": 5}'):
            ws.send(bad)
            assert ws.recv() == "INVALID OPERATION", bad
        assert sync(ws) == []  # still open, still answering
        ws.send(json.dumps({"assets_ids": ["123"], "type": "market"}))  # unknown: ignored
        assert sync(ws) == []
        ws.send(json.dumps({"assets_ids": [YES], "type": "market"}))
        assert json.loads(ws.recv())[0]["event_type"] == "book"
        ws.close()


def test_a_socket_that_says_nothing_is_closed(skewed: Path, monkeypatch) -> None:
    monkeypatch.setattr(ws_routes, "IDLE_CLOSE_S", 0.3)  # the venue's minute, shortened
    with running_server(skewed) as run:
        ws = connect(run.urls.ws_market)
        assert close_code(ws) == ws_routes.CLOSE_IDLE


# ------------------------------------------------------------------------- user channel


def user_socket(run, creds, markets: list[str] | None) -> websocket.WebSocket:
    ws = connect(run.urls.ws_user)
    auth = {"apiKey": creds.api_key, "secret": creds.api_secret,
            "passphrase": creds.api_passphrase}  # fmt: skip
    msg: dict = {"auth": auth, "type": "user"}
    if markets is not None:
        msg["markets"] = markets
    ws.send(json.dumps(msg))
    assert sync(ws) == []
    return ws


class UserReader:
    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.parser = UserFrameParser()
        self.events: list = []

    def read_until(self, done: Callable[[list], bool]) -> list:
        deadline = time.monotonic() + WAIT_S
        while not done(self.events):
            self.events += self.parser.parse(recv(self.ws, deadline), time.time_ns())
        return self.events

    def order(self, oid: str, kind: str) -> UserOrder:
        found = self.read_until(lambda evs: any(_is_order(e, oid, kind) for e in evs))
        return next(e for e in found if _is_order(e, oid, kind))

    def trade(self, done: Callable[[UserTrade], bool]) -> UserTrade:
        found = self.read_until(lambda evs: any(isinstance(e, UserTrade) and done(e) for e in evs))
        return next(e for e in found if isinstance(e, UserTrade) and done(e))


def _is_order(e, oid: str, kind: str) -> bool:
    return isinstance(e, UserOrder) and e.id == oid and e.type == kind


def test_user_channel_refuses_bad_credentials_with_1008(data: Path) -> None:
    with running_server(data) as run:
        creds = client(run.urls).creds
        ws = connect(run.urls.ws_user)
        ws.send(json.dumps({"auth": {"apiKey": creds.api_key, "secret": "wrong",
                                     "passphrase": creds.api_passphrase},
                            "type": "user"}))  # fmt: skip
        assert close_code(ws) == 1008
        ws = connect(run.urls.ws_user)
        ws.send(json.dumps({"type": "user", "markets": [M.condition_id]}))  # no auth at all
        assert close_code(ws) == 1008


def test_user_channel_reports_orders_and_trades_through_settlement(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        u = UserReader(user_socket(run, c.creds, [M.condition_id]))
        everything = UserReader(user_socket(run, c.creds, None))  # no markets: all of them
        elsewhere = user_socket(run, c.creds, ["0x" + "ab" * 32])  # another market

        oid = c.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))[
            "orderID"
        ]
        placed = u.order(oid, "PLACEMENT")
        assert (placed.status, placed.price, placed.original_size, placed.side) == (
            "LIVE", 0.45, 10.0, Side.BUY)  # fmt: skip
        assert (placed.market, placed.asset_id, placed.owner) == (M.condition_id, YES,
                                                                  c.creds.api_key)  # fmt: skip
        assert everything.order(oid, "PLACEMENT").status == "LIVE"
        c.cancel_order(OrderPayload(orderID=oid))
        # the venue's cancel notice is delivered when the replay next moves (the pump moves
        # it every 20 ms; see test_a_cancellation_after_the_recording_ended_is_pushed)
        run.advance(0.05)
        assert u.order(oid, "CANCELLATION").status == "CANCELED"

        # a marketable FOK: the trade at MATCHED, then MINED with its hash, then CONFIRMED
        fok = c.create_market_order(MarketOrderArgs(token_id=YES, amount=10.4, side="BUY",
                                                    price=0.52))  # fmt: skip
        resp = c.post_order(fok, OrderType.FOK, defer_exec=True)
        tid = resp["tradeIDs"][0]
        matched = u.trade(lambda t: t.id == tid and t.status == "MATCHED")
        assert (matched.trader_side, matched.taker_order_id, matched.transaction_hash) == (
            "TAKER", resp["orderID"], "")  # fmt: skip
        assert (matched.price, matched.size, matched.side) == (0.52, 20.0, Side.BUY)
        run.advance(3.0)
        mined = u.trade(lambda t: t.id == tid and t.status == "MINED")
        assert mined.transaction_hash.startswith("0x") and len(mined.transaction_hash) == 66
        run.advance(4.0)
        confirmed = u.trade(lambda t: t.id == tid and t.status == "CONFIRMED")
        assert confirmed.transaction_hash == mined.transaction_hash

        # a resting bid filled by the recorded sellers: UPDATE and a MAKER trade
        oid = c.create_and_post_order(OrderArgs(token_id=YES, price=0.48, size=5, side="BUY"))[
            "orderID"
        ]
        u.order(oid, "PLACEMENT")
        run.advance(120.0)
        update = u.order(oid, "UPDATE")
        assert update.size_matched == 5.0 and update.status == "MATCHED"
        maker = u.trade(lambda t: t.trader_side == "MAKER")
        assert [(mo.order_id, mo.matched_amount, mo.price) for mo in maker.maker_orders] == [
            (oid, 5.0, 0.48)
        ]
        assert update.associate_trades == (maker.id,)  # the trade of the fill it reports
        assert [e.type for e in u.events if isinstance(e, UserOrder) and e.id == oid] == [
            "PLACEMENT", "UPDATE"]  # one match, one UPDATE  # fmt: skip
        # stamped when the recorded seller hit the bid, not when the 120 s step ended
        assert maker.status == "MATCHED" and abs(maker.ts_exchange_ns - maker.matchtime_ns) < S
        assert update.ts_exchange_ns == maker.ts_exchange_ns < wire_now_ns(run) - 60 * S
        statuses = [(e.id, e.status) for e in u.events if isinstance(e, UserTrade)]
        assert len(statuses) == len(set(statuses))  # each trade once per status

        assert not u.parser.errors and set(u.parser.notes) <= {"timestamp_in_seconds"}
        assert sync(elsewhere) == [] and quiet(elsewhere) == []  # the markets filter
        for ws in (u.ws, everything.ws, elsewhere):
            ws.close()


def test_a_cancellation_after_the_recording_ended_is_pushed(tmp_path: Path) -> None:
    with running_server(write_dataset(tmp_path / "ds", minutes=1)) as run:
        run.advance(70.0)
        assert run.server.exchange.exhausted  # the books stay as they ended; orders work on
        c = client(run.urls)
        u = UserReader(user_socket(run, c.creds, None))
        oid = c.create_and_post_order(OrderArgs(token_id=YES, price=0.45, size=10, side="BUY"))[
            "orderID"
        ]
        u.order(oid, "PLACEMENT")
        assert c.cancel_order(OrderPayload(orderID=oid))["canceled"] == [oid]
        run.advance(1.0)
        assert u.order(oid, "CANCELLATION").status == "CANCELED"


# ------------------------------------------------------------------------ channel faults


def test_a_silent_window_answers_pings_and_withholds_frames(skewed: Path) -> None:
    silent = plan(FaultSpec("ws_silent", at_s=5.0, duration_s=10.0))
    with running_server(skewed, faults=silent) as run:
        m = MarketReader(connect(run.urls.ws_market))
        m.subscribe([YES, NO], type="market")
        run.advance(4.0)  # 4.5 s: before the window
        m.read_until(m.caught_up(run, [YES, NO]))
        assert run.fault_log == []
        seen = len(m.events)
        run.advance(2.0)  # 6.5 s: inside it; the frames of 4.5 s to 5 s still come
        starts = run.server.exchange.time.wire_start_ns + 5_000 * MS  # the window's
        m.sync()  # PONG
        # rows come every 100 ms, stamped (ts_exchange) 5 ms before they reach the replay
        m.read_until(lambda: m.events[-1].ts_exchange_ns >= starts - 150 * MS)
        assert quiet(m.ws) == []  # and nothing from inside the window
        assert max(e.ts_exchange_ns for e in m.events[seen:]) < starts
        run.advance(9.0)  # 15.5 s: past it
        before = len(m.events)
        m.read_until(m.recent(run))
        ends = starts + 10_000 * MS
        assert min(e.ts_exchange_ns for e in m.events[before:]) >= ends - 50 * MS  # none in it
        assert [(r.call, r.path, r.effect) for r in run.fault_log] == [
            ("ws", "/ws/market", "silent")
        ]
        m.ws.close()


def test_a_dropped_socket_closes_and_a_resubscribe_rebuilds_the_book(skewed: Path) -> None:
    drop = plan(FaultSpec("ws_drop", at_s=5.0, duration_s=5.0))
    with running_server(skewed, faults=drop) as run:
        m = MarketReader(connect(run.urls.ws_market))
        m.subscribe([YES, NO], type="market")
        run.advance(4.0)
        m.read_until(m.caught_up(run, [YES, NO]))
        run.advance(2.0)  # 6.5 s: inside the window, the socket goes (1006: no close frame)
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            m.read_until(lambda: False)
        assert [r.effect for r in run.fault_log] == ["dropped"]
        starts = run.server.exchange.time.wire_start_ns + 5_000 * MS
        assert m.events[-1].ts_exchange_ns < starts  # nothing from inside the window
        assert m.events[-1].ts_exchange_ns >= starts - 200 * MS  # ... all from before it

        run.advance(5.0)  # 11.5 s: the venue is back; the book built so far is stale
        rest = {a: levels(rest_book(run, a)) for a in (YES, NO)}
        assert m.books != rest
        m.ws = connect(run.urls.ws_market)
        frames = m.subscribe([YES, NO], type="market")
        assert [b["event_type"] for b in json.loads(frames[0])] == ["book", "book"]
        assert m.books == rest  # the snapshots replaced it
        run.advance(1.0)
        m.read_until(m.caught_up(run, [YES, NO]))
        assert not m.parser.errors
        m.ws.close()


def test_no_pong_window_keeps_data_flowing_without_pongs(skewed: Path) -> None:
    no_pong = plan(FaultSpec("ws_no_pong", at_s=5.0, duration_s=10.0))
    with running_server(skewed, faults=no_pong) as run:
        m = MarketReader(connect(run.urls.ws_market))
        m.subscribe([YES, NO], type="market")
        run.advance(5.0)  # 5.5 s: inside the window; data still flows
        m.read_until(m.caught_up(run, [YES, NO]))
        m.ws.send("PING")
        m.ws.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            while True:
                assert m.ws.recv() != "PONG"  # market frames may still come; no PONG
        assert [r.effect for r in run.fault_log] == ["no PONG"]
        run.advance(10.0)  # 15.5 s: past it
        m.sync()  # PONG again
        m.read_until(m.caught_up(run, [YES, NO]))
        m.ws.close()


def test_a_drop_with_a_close_code_sends_that_code(skewed: Path) -> None:
    drop = plan(FaultSpec("ws_drop", at_s=5.0, duration_s=5.0, close_code=1011))
    with running_server(skewed, faults=drop) as run:
        ws = connect(run.urls.ws_market)
        MarketReader(ws).subscribe([YES, NO], type="market")
        run.advance(6.0)
        ws.settimeout(5.0)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:  # market frames first, then the close frame
            opcode, data = ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                assert int.from_bytes(data[:2], "big") == 1011
                break
        else:
            raise AssertionError("no close frame")
