"""The loopback server's market WebSocket (reference §6) with a real client
(websocket-client, as Polymarket's examples use): snapshots, deltas (both tokens' books),
subscriptions and keep-alives."""

from __future__ import annotations

import json
import time
from pathlib import Path

from exchange_mock.server import ws_routes
from live.market_messages import parse_market_frame
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    LevelChange,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.types import Side
from tests.server_helpers import NO, YES, M, running_server
from tests.server_ws_helpers import (
    MarketReader,
    close_code,
    connect,
    flip,
    levels,
    messages,
    rest_book,
    skewed_fixture,  # noqa: F401  (the fixture)
    sync,
    write_eventful_dataset,
)

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
