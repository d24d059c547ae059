"""The loopback server's user WebSocket (reference §6) with a real client: orders and
trades; and the channel faults of a fault plan (silent, dropped, no PONG; reference §9.5)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import websocket
from py_clob_client_v2 import OrderArgs
from py_clob_client_v2.clob_types import MarketOrderArgs, OrderPayload, OrderType

from exchange_mock.faults import FaultSpec
from live.user_messages import UserFrameParser, UserOrder, UserTrade
from sim.types import Side
from tests.server_helpers import (
    MS,
    NO,
    YES,
    M,
    S,
    client,
    plan,
    running_server,
    write_dataset,
)
from tests.server_ws_helpers import (
    WAIT_S,
    MarketReader,
    close_code,
    connect,
    levels,
    quiet,
    recv,
    rest_book,
    skewed_fixture,  # noqa: F401  (the fixture)
    sync,
    wire_now_ns,
)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("ws") / "ds", minutes=4)


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
