"""``Backtest``: a strategy over recorded data through the executor and the simulated CLOB.

    from exchange_mock import Backtest
    result = Backtest(strategy=MyStrategy(), data="data/sample", cash_usdc=1_000).run()
    result.summary, result.fills, result.equity

Same data, config and seed give the same result to the cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from exchange_mock.clob import codes
from exchange_mock.fault_hook import FaultHook
from exchange_mock.faults import FaultInjector, FaultPlan, library
from exchange_mock.latency import latency_from_config
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.replay_driver import ReplayDriver
from exchange_mock.sim_venue import replay_venue
from sim.backtest_config import BacktestConfig, DataConfig, VenueConfig
from sim.clock import SimClock
from sim.errors import ConfigError
from sim.executor import Executor, ExecutorConfig
from sim.marketdata import Dataset, day_start_ns
from sim.ops_watch import AlertsConfig
from sim.results import BacktestResult
from sim.risk import RiskConfig
from sim.session import Session, SessionParts, register_builder
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
        alerts: AlertsConfig | None = None,
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
            alerts=alerts or AlertsConfig(),
        )
        self.strategy = strategy
        self._dataset = data if isinstance(data, Dataset) else None
        self.fault_hook = fault_hook
        self.progress = progress
        self.venue: MatchingVenue | None = None
        self.feed: ReplayDriver | None = None
        self.executor: Executor | None = None
        self.session: Session | None = None
        #: called with this Backtest once venue, executor and engine exist, before the run
        #: (drills such as a scheduled kill switch hook in here)
        self.on_start: Callable[[Backtest], None] | None = None

    @classmethod
    def from_config(cls, config: BacktestConfig, strategy: Strategy, **kw: object) -> Backtest:
        """A backtest of ``config`` (its ``mode`` must be ``backtest`` and its ``[venue]
        kind`` ``sim``); ``fault_hook`` in ``kw`` replaces the config's ``[faults]``."""
        if config.mode != "backtest" or config.venue.kind != "sim":
            raise ConfigError("mode", f"a backtest needs mode = 'backtest' and [venue] kind = "
                              f"'sim'; this config has mode = {config.mode!r}, kind = "
                              f"{config.venue.kind!r}")  # fmt: skip
        d = config.data
        bt = cls(
            strategy=strategy, data=d.path, cash_usdc=config.cash_usdc, start=d.start,
            end=d.end, markets=d.markets, seed=config.seed, venue=config.venue,
            executor=config.executor, risk=config.risk,
            equity_interval_s=config.equity_interval_s, **kw,
        )  # fmt: skip
        bt.config = config  # the whole of it: strategy table, faults, mode
        return bt

    def run(self) -> BacktestResult:
        """Run to the end of the data. A strategy callback that raises does not raise
        here: trading is halted, the run stops, and ``result.error`` says where and why
        (the tables hold everything up to that point)."""
        parts = build_replay(self.config, dataset=self._dataset, fault_hook=self.fault_hook)
        session = Session(self.config, self.strategy, parts)
        self.session = session
        self.venue, self.feed = session.venue, session.feed
        self.executor, self.engine = session.executor, session.engine
        if self.on_start is not None:
            self.on_start(self)
        return session.run(progress=self._run_with_progress if self.progress else None)

    def _run_with_progress(self, session: Session) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        engine, clock = session.engine, session.clock
        start_ns, end_ns = session.start_ns, session.parts.end_ns

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
                if session.feed.exhausted:
                    break
            engine.finish()


def build_replay(config: BacktestConfig, *, dataset: Dataset | None = None,
                 fault_hook: FaultHook | None = None) -> SessionParts:  # fmt: skip
    """The backtest's parts: a ``SimClock`` at the first row, the replay driver as the
    feed, the matching venue behind the executor. ``fault_hook`` overrides the config's
    ``[faults] plans``."""
    cfg = config
    ds = dataset or Dataset.open(cfg.data.path)
    days = ds.days()
    if not days:
        raise ConfigError("data.path", f"{cfg.data.path} holds no event files")
    first = cfg.data.start or days[0]
    last = cfg.data.end or days[-1]
    clock = SimClock(day_start_ns(first))
    if fault_hook is None and cfg.faults.plans:
        fault_hook = FaultInjector(_plans(cfg.faults.plans, cfg.seed))
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
        fault_hook=fault_hook,
    )
    first_ns = feed.first_event_ns()
    if first_ns is None:
        raise ConfigError("data.markets", "the selection holds no events")
    clock.advance_to(max(first_ns, clock.now_ns()))

    def summary() -> dict[str, object]:
        repairs = ", ".join(f"{k} {v:,}" for k, v in sorted(feed.data_repairs.items()))
        return {"Queue model": cfg.venue.queue_model,
                "Venue cash [USDC]": round(venue.clob.cash_usdc, 6),
                "Data repairs": repairs or "none"}  # fmt: skip

    return SessionParts(
        clock=clock, feed=feed, venue=venue, end_ns=day_start_ns(last + dt.timedelta(days=1)),
        events=feed.rows_replayed, summary=summary, extras={"fault_hook": fault_hook},
    )  # fmt: skip


def _plans(names: Sequence[str], seed: int) -> FaultPlan:
    """The named library plans as one plan (``[faults] plans``)."""
    plans = []
    for i, name in enumerate(names):
        try:
            plans.append(library.plan(name, seed))
        except KeyError:
            raise ConfigError(f"faults.plans[{i}]", f"no fault plan {name!r}; one of "
                              f"{', '.join(library.names())}") from None  # fmt: skip
    return sum(plans[1:], plans[0])


register_builder("backtest", "sim", build_replay)
