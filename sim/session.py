"""A run, built for any mode: the one place backtest, paper and live are wired.

A session is a strategy, an executor, an engine and an equity recorder over
three parts a *venue builder* supplies for the run's ``mode`` and ``[venue]
kind``: the clock, the feed the engine pulls events from, and the venue the
executor talks to (``SessionParts``). Everything above those parts is the
same object in every mode, built here, so a paper run and the backtest of its
recording differ only in the parts.

``sim`` imports no adapter. Builders register themselves by (mode, kind) when
their module is imported: ``exchange_mock.backtest`` registers ``("backtest",
"sim")``, ``live.session_builder`` registers ``("live", "polymarket")``. The caller
(the CLI, a test, a notebook) imports the one it wants, then
``build_session(config, strategy).run()``. ``build_session`` refuses a mode or kind
with no builder, naming what is available.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sim.backtest_config import BacktestConfig
from sim.clock import SimClock, WallClock
from sim.context import EngineContext
from sim.engine import Engine
from sim.errors import ConfigError
from sim.executor import Executor
from sim.feed import MarketFeed
from sim.ops_watch import OpsWatch
from sim.results import BacktestResult, EquityRecorder, build_result
from sim.risk import RiskManager
from sim.strategy import Strategy
from sim.venue import Venue


@dataclass
class SessionParts:
    """What a venue builder hands a session: the mode-specific parts of one run."""

    clock: SimClock | WallClock
    feed: MarketFeed
    venue: Venue
    #: simulated or wall time at which the run ends (the engine stops there)
    end_ns: int
    #: rows of market data the run consumed so far (the result's event count)
    events: Callable[[], int] = lambda: 0
    #: the builder's own lines for the result summary, read once the run ended
    summary: Callable[[], dict[str, Any]] = dict
    #: anything else a builder wants callers to reach (e.g. the replay driver)
    extras: dict[str, Any] = field(default_factory=dict)
    #: releases what the builder started (sockets, threads); called once the run ends
    close: Callable[[], None] = lambda: None
    #: the executor's journal (None: in memory, as backtests need; live runs: durable)
    journal: Any = None
    #: where the executor's alerts go besides its memory (None: the log)
    alerter: Any = None


#: ``builder(config, **options) -> SessionParts``; options are the builder's own
#: (a dataset object, a fault hook, ...)
VenueBuilder = Callable[..., SessionParts]
_BUILDERS: dict[tuple[str, str], VenueBuilder] = {}


def register_builder(mode: str, kind: str, builder: VenueBuilder) -> None:
    """Make ``builder`` the one that builds runs of ``mode`` on ``[venue] kind``."""
    _BUILDERS[(mode, kind)] = builder


def builder_for(mode: str, kind: str) -> VenueBuilder:
    try:
        return _BUILDERS[(mode, kind)]
    except KeyError:
        have = ", ".join(f"mode={m!r} kind={k!r}" for m, k in sorted(_BUILDERS)) or "none"
        raise ConfigError(
            "mode", f"no venue builder for mode={mode!r} with [venue] kind={kind!r} in this "
            f"installation (available: {have})",
        ) from None  # fmt: skip


class Session:
    """One strategy over ``parts`` through one executor, under ``config``.

    Attributes once built: ``clock``, ``feed``, ``venue``, ``executor``, ``context``,
    ``equity``, ``engine``. ``run()`` goes to ``parts.end_ns`` (or the end of the feed)
    and returns the result; a strategy callback that raises does not raise here
    (trading is halted, ``result.error`` says where and why).
    """

    def __init__(self, config: BacktestConfig, strategy: Strategy, parts: SessionParts) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError("strategy", f"must be a sim.Strategy, got {type(strategy).__name__}")
        self.config, self.strategy, self.parts = config, strategy, parts
        self.clock, self.feed, self.venue = parts.clock, parts.feed, parts.venue
        cfg, clock = config, parts.clock
        markets = self.venue.markets()
        risk = None
        if cfg.risk.enabled:
            risk = RiskManager(cfg.risk, clock_start_ns=clock.now_ns(),
                               start_equity_usdc=cfg.cash_usdc)  # fmt: skip
        self.executor = Executor(
            self.venue, clock, cash_usdc=cfg.cash_usdc, config=cfg.executor, books=self.feed.book,
            markets=markets, risk=risk, seed=cfg.seed, journal=parts.journal,
            alerter=parts.alerter,
        )  # fmt: skip
        self.context = EngineContext(
            clock=clock, executor=self.executor, feed=self.feed, markets=markets,
            log=logging.getLogger(f"clobsim.strategy.{strategy.display_name}"),
        )  # fmt: skip
        self.watch = OpsWatch(self.executor, clock, cfg.alerts).install()
        self.equity = EquityRecorder(self.executor, self.feed.mark)
        self.engine = Engine(
            strategy=strategy, feed=self.feed, executor=self.executor, context=self.context,
            clock=clock, equity_interval_s=cfg.equity_interval_s, equity_sampler=self.equity,
            feed_silence_s=cfg.executor.feed_silence_s,
        )  # fmt: skip
        self.start_ns = clock.now_ns()

    def run(self, *, progress: Callable[[Session], None] | None = None) -> BacktestResult:
        """Run to the end; ``progress`` (if given) drives the engine instead of one
        ``engine.run`` call (it must start, step and finish it)."""
        wall0 = time.perf_counter()
        try:
            if progress is None:
                self.engine.run(self.parts.end_ns)
            else:
                progress(self)
        finally:
            self.parts.close()
        return self.result(time.perf_counter() - wall0)

    def result(self, wall_s: float) -> BacktestResult:
        cfg, engine = self.config, self.engine
        extra: dict[str, object] = {"Seed": cfg.seed, **self.parts.summary()}
        if engine.error is not None:
            extra["Stopped by"] = engine.error.line
        return build_result(
            executor=self.executor, markets=self.venue.markets(), equity=self.equity,
            initial_cash_usdc=cfg.cash_usdc, events=self.parts.events(), wall_s=wall_s,
            start_ns=self.start_ns, end_ns=self.clock.now_ns(), extra=extra, error=engine.error,
            feed=self.feed,
        )  # fmt: skip


def build_session(config: BacktestConfig, strategy: Strategy, **options: object) -> Session:
    """The session ``config`` asks for: its mode and ``[venue] kind`` pick the builder
    (``register_builder``); ``options`` go to the builder."""
    builder = builder_for(config.mode, config.venue.kind)
    return Session(config, strategy, builder(config, **options))
