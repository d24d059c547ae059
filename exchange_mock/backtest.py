"""``Backtest``: a strategy over recorded data through the executor and the simulated CLOB.

    from exchange_mock import Backtest
    result = Backtest(strategy=MyStrategy(), data="data/sample", cash_usdc=1_000).run()
    result.summary, result.fills, result.equity

Same data, config and seed give the same result to the cent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from exchange_mock.clob import codes
from exchange_mock.fault_hook import FaultHook
from exchange_mock.latency import latency_from_config
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.replay_driver import ReplayDriver
from exchange_mock.sim_venue import replay_venue
from sim.backtest_config import BacktestConfig, DataConfig, VenueConfig
from sim.clock import SimClock
from sim.context import EngineContext
from sim.engine import Engine
from sim.errors import ConfigError
from sim.executor import Executor, ExecutorConfig
from sim.marketdata import Dataset, day_start_ns
from sim.results import BacktestResult, EquityRecorder, build_result
from sim.risk import RiskConfig, RiskManager
from sim.strategy import Strategy

_QUEUE = {
    "conservative": codes.QUEUE_CONSERVATIVE,
    "clamped": codes.QUEUE_CLAMPED,
    "probabilistic": codes.QUEUE_PROBABILISTIC,
}
PROGRESS_TIMER = "__progress__"


class Backtest:
    """Run one strategy over a date range of a dataset. All arguments are keyword-only."""

    def __init__(
        self,
        *,
        strategy: Strategy,
        data: str | Path | Dataset,
        cash_usdc: float = 1_000.0,
        start: dt.date | None = None,
        end: dt.date | None = None,
        markets: Sequence[str] = (),
        seed: int = 0,
        venue: VenueConfig | None = None,
        executor: ExecutorConfig | None = None,
        risk: RiskConfig | None = None,
        equity_interval_s: float = 60.0,
        fault_hook: FaultHook | None = None,
        progress: bool = False,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError("strategy", f"must be a sim.Strategy, got {type(strategy).__name__}")
        path = data.root if isinstance(data, Dataset) else Path(data)
        self.config = BacktestConfig(
            data=DataConfig(str(path), start, end, tuple(markets)),
            cash_usdc=cash_usdc,
            seed=seed,
            equity_interval_s=equity_interval_s,
            venue=venue or VenueConfig(),
            executor=executor or ExecutorConfig(),
            risk=risk or RiskConfig(),
        )
        self.strategy = strategy
        self._dataset = data if isinstance(data, Dataset) else None
        self.fault_hook = fault_hook
        self.progress = progress
        self.venue: MatchingVenue | None = None
        self.feed: ReplayDriver | None = None
        self.executor: Executor | None = None
        #: called with this Backtest once venue, executor and engine exist, before the run
        #: (drills such as a scheduled kill switch hook in here)
        self.on_start: Callable[[Backtest], None] | None = None

    @classmethod
    def from_config(cls, config: BacktestConfig, strategy: Strategy, **kw: object) -> Backtest:
        d = config.data
        return cls(
            strategy=strategy, data=d.path, cash_usdc=config.cash_usdc, start=d.start,
            end=d.end, markets=d.markets, seed=config.seed, venue=config.venue,
            executor=config.executor, risk=config.risk,
            equity_interval_s=config.equity_interval_s, **kw,
        )  # fmt: skip

    def _risk(self, cfg: BacktestConfig, now_ns: int) -> RiskManager | None:
        if not cfg.risk.enabled:
            return None
        return RiskManager(cfg.risk, clock_start_ns=now_ns, start_equity_usdc=cfg.cash_usdc)

    def run(self) -> BacktestResult:
        """Run to the end of the data. A strategy callback that raises does not raise
        here: trading is halted, the run stops, and ``result.error`` says where and why
        (the tables hold everything up to that point)."""
        cfg = self.config
        ds = self._dataset or Dataset.open(cfg.data.path)
        days = ds.days()
        if not days:
            raise ConfigError("data.path", f"{cfg.data.path} holds no event files")
        first = cfg.data.start or days[0]
        last = cfg.data.end or days[-1]
        clock = SimClock(day_start_ns(first))
        lat = cfg.venue.latency
        venue, feed = replay_venue(
            ds,
            clock=clock,
            cash_usdc=cfg.cash_usdc,
            start=first,
            end=last,
            markets=list(cfg.data.markets) or None,
            entry_latency=latency_from_config(lat.order_entry_ms, "venue.latency.order_entry_ms"),
            ack_latency=latency_from_config(lat.ack_ms, "venue.latency.ack_ms"),
            md_extra_ms=lat.market_data_extra_ms,
            queue_model=_QUEUE[cfg.venue.queue_model],
            queue_power=cfg.venue.queue_power,
            seed=cfg.seed,
            fault_hook=self.fault_hook,
        )
        first_ns = feed.first_event_ns()
        if first_ns is None:
            raise ConfigError("data.markets", "the selection holds no events")
        clock.advance_to(max(first_ns, clock.now_ns()))
        end_ns = day_start_ns(last + dt.timedelta(days=1))

        executor = Executor(
            venue, clock, cash_usdc=cfg.cash_usdc, config=cfg.executor, books=feed.book,
            markets=venue.markets(), risk=self._risk(cfg, clock.now_ns()), seed=cfg.seed,
        )  # fmt: skip
        ctx = EngineContext(
            clock=clock, executor=executor, feed=feed, markets=venue.markets(),
            log=logging.getLogger(f"clobsim.strategy.{self.strategy.display_name}"),
        )  # fmt: skip
        equity = EquityRecorder(executor, feed.mark)
        engine = Engine(
            strategy=self.strategy, feed=feed, executor=executor, context=ctx, clock=clock,
            equity_interval_s=cfg.equity_interval_s, equity_sampler=equity,
            feed_silence_s=cfg.executor.feed_silence_s,
        )  # fmt: skip
        self.venue, self.feed, self.executor, self.engine = venue, feed, executor, engine
        if self.on_start is not None:
            self.on_start(self)
        start_ns = clock.now_ns()
        wall0 = time.perf_counter()
        if self.progress:
            self._run_with_progress(engine, clock, start_ns, end_ns)
        else:
            engine.run(end_ns)
        wall = time.perf_counter() - wall0
        events = feed.rows_replayed()
        extra: dict[str, object] = {}
        if engine.error is not None:
            extra["Stopped by"] = engine.error.line
        result = build_result(
            executor=executor,
            markets=venue.markets(),
            equity=equity,
            initial_cash_usdc=cfg.cash_usdc,
            events=events,
            wall_s=wall,
            start_ns=start_ns,
            end_ns=clock.now_ns(),
            extra={
                "Seed": cfg.seed,
                "Queue model": cfg.venue.queue_model,
                "Venue cash [USDC]": round(venue.clob.cash_usdc, 6),
                "Data repairs": ", ".join(
                    f"{k} {v:,}" for k, v in sorted(feed.data_repairs.items())
                )
                or "none",
                **extra,
            },
            error=engine.error,
        )
        return result

    def _run_with_progress(self, engine: Engine, clock: SimClock, start_ns: int, end_ns: int):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        span = max(end_ns - start_ns, 1)
        with Progress(
            TextColumn("[bold]backtest"), BarColumn(), TextColumn("{task.description}"),
            TimeElapsedColumn(), transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("", total=span)
            engine.start()
            step = 3_600 * 10**9  # report every simulated hour
            t = clock.now_ns()
            while t < end_ns:
                t = min(t + step, end_ns)
                engine.run_until(t)
                if engine.stopped:
                    break
                now = clock.now_ns()
                sim_day = dt.datetime.fromtimestamp(now / 1e9, tz=dt.UTC)
                bar.update(task, completed=now - start_ns, description=f"{sim_day:%Y-%m-%d %H:%M}")
                if self.feed.exhausted:
                    break
            engine.finish()
