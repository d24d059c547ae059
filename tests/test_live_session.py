"""End to end: a strategy runs live (mode = "live", kind = "polymarket") through the
session, the executor, LiveVenue and both WebSocket channels against the loopback mock,
and what it did is what the venue says it did."""

from __future__ import annotations

from pathlib import Path

import pytest

import live.session_builder  # noqa: F401  (registers the live builder)
from live.secrets import LiveSecrets
from sim.backtest_config import BacktestConfig, DataConfig, VenueConfig
from sim.errors import ConfigError
from sim.executor import ExecutorConfig
from sim.risk import RiskConfig
from sim.session import build_session
from sim.strategy import Strategy
from sim.types import OrderStatus, OrderType
from tests.server_helpers import KEY, YES, M, running_server, write_dataset

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
FAST = {"ping_interval_s": 0.5, "pong_timeout_s": 2.0, "silence_s": 5.0}


class Quoter(Strategy):
    """Every 0.5 s: re-place a bid one tick under the best bid; once, take 10 shares."""

    def on_start(self, ctx):
        ctx.subscribe([YES])
        self.live: list[str] = []
        self.books_seen = 0
        self.took = None
        ctx.schedule("quote", every_s=0.5)

    def on_book(self, ctx, book):
        self.books_seen += 1

    def on_timer(self, ctx, name):
        book = ctx.book(YES)
        if book.best_bid is None or book.best_ask is None:
            return
        if self.live:
            ctx.orders.cancel_many(self.live)
        ack = ctx.orders.buy(YES, round(book.best_bid - 0.01, 2), 5.0, post_only=True)
        self.live = [ack.client_order_id] if ack.accepted else []
        if self.took is None:
            self.took = ctx.orders.buy(YES, book.best_ask, 10.0, order_type=OrderType.FOK)


def live_config(run, tmp_path: Path, markets=(M.slug,)) -> BacktestConfig:
    ws = run.urls.ws_market.rsplit("/", 1)[0] + "/"
    return BacktestConfig(
        data=DataConfig(path=str(tmp_path), markets=tuple(markets)), mode="live",
        venue=VenueConfig(kind="polymarket", host=run.urls.rest, ws_url=ws, rpc_url=run.urls.rpc,
                          http_timeout_s=2.0, journal_path=str(tmp_path / "journal.sqlite")),
        executor=ExecutorConfig(kill_switch_path=str(tmp_path / "KILL")),
        risk=RiskConfig(enabled=False), cash_usdc=10_000.0,
    )  # fmt: skip


def test_a_strategy_trades_live_against_the_mock(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=5)
    with running_server(data, realtime_speed=5.0) as run:
        strategy = Quoter()
        session = build_session(live_config(run, tmp_path), strategy, duration_s=4.0,
                                secrets=LiveSecrets(KEY, ADDRESS), channel_options=FAST,
                                user_options={"poll_s": 0.5})  # fmt: skip
        result = session.run()
        assert result.error is None and strategy.books_seen > 0
        assert strategy.took is not None and strategy.took.accepted
        ex, mock = session.executor, run.server.exchange.venue
        sent = [o for o in ex.tracker.orders.values() if o.venue_order_id]
        at_venue = mock.order_states()
        assert len({s.venue_order_id for s in at_venue}) == len(at_venue)  # no duplicates
        assert {o.venue_order_id for o in sent} == {s.venue_order_id for s in at_venue}
        assert ex.tracker.positions.get(YES, 0.0) == pytest.approx(mock.positions().get(YES, 0))
        open_here = {o.venue_order_id for o in ex.tracker.open()}
        assert open_here == {s.venue_order_id for s in at_venue if s.status is OrderStatus.OPEN}


def test_a_live_run_must_name_its_markets(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=1)
    with running_server(data) as run:
        with pytest.raises(ConfigError, match="must name its markets"):
            build_session(live_config(run, tmp_path, markets=()), Quoter(),
                          secrets=LiveSecrets(KEY, ADDRESS))  # fmt: skip
        with pytest.raises(ConfigError, match="matches no market"):
            build_session(live_config(run, tmp_path, markets=("nope-*",)), Quoter(),
                          secrets=LiveSecrets(KEY, ADDRESS))  # fmt: skip


def test_a_live_run_records_what_its_market_channel_received(tmp_path: Path) -> None:
    import dataclasses

    from live.capture import CaptureConnection, CaptureFrame, read_capture

    data = write_dataset(tmp_path / "ds", minutes=2)
    with running_server(data, realtime_speed=5.0) as run:
        cfg = live_config(run, tmp_path)
        cfg = dataclasses.replace(cfg, venue=dataclasses.replace(
            cfg.venue, record_dir=str(tmp_path / "rec")))  # fmt: skip
        secrets = LiveSecrets(KEY, ADDRESS)
        session = build_session(cfg, Quoter(), duration_s=2.0, secrets=secrets,
                                channel_options=FAST)  # fmt: skip
        assert session.run().error is None
    (day,) = list((tmp_path / "rec" / "capture").glob("*.jsonl"))  # finished on close
    records = list(read_capture(day))
    assert isinstance(records[0], CaptureFrame | CaptureConnection)
    books = [r for r in records if isinstance(r, CaptureFrame) and '"book"' in str(r.frame)]
    assert books and (tmp_path / "rec" / "markets.json").is_file()
    assert [r.connected for r in records if isinstance(r, CaptureConnection)][:1] == [True]
    from sim.marketdata import Dataset  # the finished day, also in the dataset format

    ds = Dataset.open(tmp_path / "rec" / "parquet" / day.name.removesuffix(".jsonl"))
    assert [m.condition_id for m in ds.markets] == [M.condition_id]
    assert sum(len(d.events) for d in ds.iter_days()) > 0
