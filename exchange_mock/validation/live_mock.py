"""The ``live-mock`` target: the validation's scenarios through the live adapter.

Each run starts a loopback Polymarket (``exchange_mock.server``) on 127.0.0.1
over the config's recording, replayed at ``speed`` times real time, with the
scenario's faults injected on the wire; then runs the strategy as ``clobsim
live`` would (``mode = "live"``, ``LiveVenue``, both WebSocket channels, the
REST poller, the journal, a reconcile before the first order) on the wall clock
for the scenario's seconds. At the end it cancels what rests, reconciles once
more and reads the venue's own books: the same evidence a backtest run gives
(``runner.run_metrics``), with the venue's times mapped onto the wall clock, judged
by the same checks.

The mock gets a throwaway wallet made for the run: your ``POLY_PRIVATE_KEY`` is
never read, and nothing leaves the machine. A live-mock run is wall-time bound
and not bit-for-bit repeatable (thread scheduling decides which order a 15 %
fault hits); its checks are judged on what happened, matched to what was
injected, as a backtest's are.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account

from exchange_mock.faults import FaultInjector
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.mock_server import MockServer, Urls
from exchange_mock.server.wire_faults import WireFaults
from exchange_mock.validation.live_scenarios import (
    LIVE_BY_NAME,
    LiveMockConfig,
    LiveScenario,
    live_venue_settings,
)
from exchange_mock.validation.runner import RunOutcome, _artifacts, run_metrics
from sim.backtest_config import BacktestConfig, FaultsConfig
from sim.marketdata import Dataset
from sim.strategy_loader import load_strategy
from sim.types import MarketInfo, OrderState

NS = 1_000_000_000
#: how far a detection may trail its injection's window on the wall clock: the venue's
#: replay time is mapped onto it, and an answer arrives after the venue decided it
CLOCK_SLACK_S = 1.0
#: the prefix of a live-mock run's scenario name in the report (beside the backtest's)
PREFIX = "live-mock/"
log = logging.getLogger("clobsim.validate.live")


@dataclass
class _Mock:
    server: MockServer
    urls: Urls
    loop: asyncio.AbstractEventLoop
    injector: FaultInjector | None
    key: str
    address: str

    def call(self, fn: Callable[[], object]) -> object:
        """``fn()`` on the server's loop thread (the venue is touched by that thread only)."""

        async def run() -> object:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=30)

    def to_wall_ns(self, data_ns: int) -> int:
        """The wall-clock moment the replay reached ``data_ns`` (the executor's clock)."""
        t = self.server.exchange.time
        return t.wire_start_ns + round((data_ns - t.data_start_ns) / t.speed)


@contextlib.contextmanager
def mock_exchange(cfg: BacktestConfig, *, speed: float, seed: int, plan) -> Iterator[_Mock]:
    """A loopback Polymarket over ``cfg``'s recording (its markets), a throwaway wallet
    holding ``cfg.cash_usdc``, ``plan``'s faults on the wire; stopped on exit."""
    dataset = Dataset.open(cfg.data.path)
    exchange = MockExchange(dataset, markets=list(cfg.data.markets) or None, speed=speed,
                            cash_usdc=cfg.cash_usdc, seed=seed)  # fmt: skip
    injector = None
    wire = WireFaults.none()
    if plan is not None:
        injector = FaultInjector(plan, start_ns=exchange.time.data_start_ns)
        wire = WireFaults(hook=injector)
    account = Account.create()
    key = "0x" + bytes(account.key).hex()
    server = MockServer(exchange, account_key=key, faults=wire)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-mock-server", daemon=True)
    thread.start()
    try:
        urls = asyncio.run_coroutine_threadsafe(server.start("127.0.0.1", 0), loop).result(30)
        yield _Mock(server, urls, loop, injector, key, account.address)
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@dataclass(frozen=True)
class VenueBooks:
    """The venue's own books, read once at the end of the run (what ``run_metrics`` asks)."""

    orders: list[OrderState]
    held: dict[str, float]
    listed: list[MarketInfo]

    def order_states(self) -> list[OrderState]:
        return self.orders

    def positions(self) -> dict[str, float]:
        return self.held

    def markets(self) -> list[MarketInfo]:
        return self.listed


def live_config(base: BacktestConfig, mock: _Mock, seed: int, tmp: Path) -> BacktestConfig:
    """``base`` as a live config against ``mock``: its strategy, executor and risk settings
    and its live ``[venue]`` timings; the mock's URLs; a journal and kill switch of its own."""
    ws = mock.urls.ws_market.rsplit("/", 1)[0] + "/"
    venue = dataclasses.replace(
        live_venue_settings(base), host=mock.urls.rest, ws_url=ws, rpc_url=mock.urls.rpc,
        chain_id=137, signature_type=0, funder="", journal_path=str(tmp / "journal.sqlite"),
    )  # fmt: skip
    names = tuple(base.data.markets) or tuple(m.condition_id for m in mock.server.exchange.markets)
    executor = dataclasses.replace(base.executor, kill_switch_path=str(tmp / "kill_switch"))
    return dataclasses.replace(
        base, seed=seed, mode="live", venue=venue, faults=FaultsConfig(), executor=executor,
        data=dataclasses.replace(base.data, markets=names),
    )  # fmt: skip


def run_live_one(base: BacktestConfig, base_dir: str, scenario: str, seed: int,
                 opts: LiveMockConfig) -> RunOutcome:  # fmt: skip
    """One scenario through the live adapter against the mock (see the module doc)."""
    import live.session_builder  # noqa: F401  (registers the live builder)
    from live.secrets import LiveSecrets
    from sim.session import build_session

    sc: LiveScenario = LIVE_BY_NAME[scenario]
    seconds = sc.seconds(base, opts.seconds)
    plan = sc.plan(seed, base, opts.speed)
    logging.getLogger("clobsim.alerts").disabled = True  # alerts go to the report instead
    with tempfile.TemporaryDirectory(prefix="clobsim-live-mock-") as tmp, \
            mock_exchange(base, speed=opts.speed, seed=seed, plan=plan) as mock:  # fmt: skip
        cfg = live_config(base, mock, seed, Path(tmp))
        strategy = load_strategy(cfg.strategy, Path(base_dir))
        session = build_session(cfg, strategy, duration_s=seconds,
                                secrets=LiveSecrets(mock.key, mock.address))  # fmt: skip
        ex = session.executor
        ex.recover()  # as `clobsim live` starts: reconcile before the first order
        drill: list[int] = []
        if sc.kill_switch_at_s is not None:
            at = session.clock.now_ns() + round(sc.kill_switch_at_s * NS)
            drill.append(at)
            session.clock.schedule(
                "__kill_switch_drill__", at, lambda timer: ex.trip_kill_switch("validation drill")
            )
        books: list[VenueBooks] = []

        def drive(s) -> None:
            s.engine.run(s.parts.end_ns)
            books.append(_settle(s, mock))

        t0 = time.perf_counter()
        res = session.run(progress=drive)
        wall = time.perf_counter() - t0
        bt = _Run(ex, books[0] if books else _read_books(mock))
        metrics = run_metrics(bt, res, cfg, mock.injector, wall, venue_ns=mock.to_wall_ns,
                           by_venue_id=True)  # fmt: skip
    metrics["feed_silence_s"] = cfg.venue.ws_silence_s  # the live watchdog is the channel's
    metrics["clock_slack_s"] = CLOCK_SLACK_S
    metrics["tested"] = []
    metrics["drill_ns"] = drill[0] if drill else None
    metrics["seconds"] = seconds
    metrics["speed"] = opts.speed
    if sc.fault_params is not None:
        metrics["fault_params"] = sc.fault_params(base)
    arts = _artifacts(res)
    return RunOutcome(PREFIX + scenario, seed, metrics, arts)


@dataclass
class _Run:
    executor: object
    venue: VenueBooks


def _settle(session, mock: _Mock) -> VenueBooks:
    """The end of a run: cancel what rests (as an operator stopping it would), reconcile
    once more (fills the socket had not delivered yet), then read the venue's books."""
    ex = session.executor
    for _ in range(3):
        ex.cancel_all()
        ex.reconcile()
        if not ex.open_orders():
            break
    return _read_books(mock)


def _read_books(mock: _Mock) -> VenueBooks:
    venue = mock.server.exchange.venue
    return mock.call(
        lambda: VenueBooks(
            list(venue.order_states()), dict(venue.positions()), list(venue.markets())
        )
    )  # type: ignore[return-value]


def _guarded_live(base: BacktestConfig, base_dir: str, scenario: str, seed: int,
                  opts: LiveMockConfig) -> RunOutcome:  # fmt: skip
    try:
        return run_live_one(base, base_dir, scenario, seed, opts)
    except Exception as exc:  # reported as a failed run, with its traceback
        return RunOutcome(PREFIX + scenario, seed, {}, failure={
            "scenario": PREFIX + scenario, "seed": seed, "line": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(exc)),
        })  # fmt: skip


def run_live_matrix(
    base: BacktestConfig, base_dir: str, scenarios: list[str], seeds: list[int],
    opts: LiveMockConfig, on_done: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:  # fmt: skip
    """Every live scenario x seed, ``opts.workers`` at a time (each run in its own process
    when more than one: the HTTP client is one per process)."""
    jobs = [(s, seed) for s in scenarios for seed in seeds]
    outcomes: list[RunOutcome] = []
    workers = min(opts.workers, len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        for s, seed in jobs:
            outcomes.append(_guarded_live(base, base_dir, s, seed, opts))
            if on_done is not None:
                on_done(outcomes[-1])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_guarded_live, base, base_dir, s, seed, opts)
                       for s, seed in jobs]  # fmt: skip
            for f in as_completed(futures):
                outcomes.append(f.result())
                if on_done is not None:
                    on_done(outcomes[-1])
    order = {s: i for i, s in enumerate(scenarios)}
    return sorted(outcomes, key=lambda o: (order[o.scenario.removeprefix(PREFIX)], o.seed))
