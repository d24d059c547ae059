"""Paper trading's parts (``sim.session``): mode ``paper`` on ``[venue] kind = "polymarket"``.

The live market channel (reconnects, PING/PONG, the silence verdict) hands every frame
to ``LiveFrames``, which records it (``Recorder``: ``RUN_DIR/capture``) and holds it for
a ``FrameDriver``: the backtest's replay driver and matching venue (``[venue]`` latency,
queue model, ``[faults]`` plans, the seed) over those frames, ``paper_lag_ms`` behind
real time. Our orders never leave the machine. The run's clock is simulated time that
the frames move on (it never runs ahead of the wall clock), so a replay of the
capture (``clobsim parity RUN_DIR``) gives the same run, order by order.

``RUN_DIR`` is ``[venue] record_dir`` (default ``paper-run``): ``capture/``,
``markets.json``, ``journal.sqlite`` (a restart resumes from it) and ``run.json``
(what a replay needs: the start and end, the grid, the seed).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from exchange_mock.backtest import _QUEUE, _plans
from exchange_mock.clob.state import grid_for_ticks
from exchange_mock.faults import FaultInjector
from exchange_mock.latency import latency_from_config
from exchange_mock.matching_venue import MatchingVenue
from live.market_feed import MarketChannel
from live.notify import operator_alerts
from live.paper_driver import CaptureFrames, FrameDriver, LiveFrames
from live.record_cmd import DiscardSink, venue_markets
from live.recorder import ParquetRoll, Recorder, write_markets
from live.session_builder import select_markets
from sim.backtest_config import BacktestConfig
from sim.clock import SimClock
from sim.errors import ConfigError
from sim.journal import SqliteJournal
from sim.session import SessionParts, register_builder
from sim.types import MarketInfo

NS = 1_000_000_000
DEFAULT_RUN_DIR = "paper-run"
#: the engine runs in chunks of this much simulated time (a stop lands on a boundary)
CHUNK_NS = NS


def run_dir_of(config: BacktestConfig) -> Path:
    return Path(config.venue.record_dir or DEFAULT_RUN_DIR)


def _venue(config: BacktestConfig, markets: list[MarketInfo], clock: SimClock) -> MatchingVenue:
    v, lat = config.venue, config.venue.latency
    hook = FaultInjector(_plans(config.faults.plans, config.seed)) if config.faults.plans \
        else None  # fmt: skip
    return MatchingVenue(
        markets, clock=clock, cash_usdc=config.cash_usdc,
        grid=grid_for_ticks([m.tick_size for m in markets]),
        entry_latency=latency_from_config(lat.order_entry_ms, "venue.latency.order_entry_ms"),
        ack_latency=latency_from_config(lat.ack_ms, "venue.latency.ack_ms"),
        queue_model=_QUEUE[v.queue_model], queue_power=v.queue_power, seed=config.seed,
        fault_hook=hook,
    )  # fmt: skip


def build_paper(config: BacktestConfig, *, duration_s: float | None = None,
                channel_options: dict | None = None) -> SessionParts:  # fmt: skip
    """The paper parts (see the module doc). ``duration_s``: stop after that long."""
    v = config.venue
    run_dir = run_dir_of(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        markets = select_markets(venue_markets(v.host), config.data.markets)
    except OSError as exc:
        raise ConfigError("venue.host", f"cannot read the markets of {v.host}: {exc}") from None
    meta_path = run_dir / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    start_ns = time.time_ns()
    meta.setdefault("start_ns", start_ns)  # a restart continues the same run's record
    meta.update({"seed": config.seed, "lag_ms": v.paper_lag_ms, "step_ms": v.paper_step_ms,
                 "markets": [m.condition_id for m in markets]})  # fmt: skip
    clock = SimClock(start_ns)
    venue = _venue(config, markets, clock)
    write_markets(run_dir, markets)
    roll = ParquetRoll(run_dir)
    recorder = Recorder(run_dir, on_finished=roll)
    frames = LiveFrames(tee=recorder)
    driver = FrameDriver(markets, venue, frames, lag_ms=v.paper_lag_ms, step_ms=v.paper_step_ms)
    assets = [t for m in markets for t in (m.yes_token_id, m.no_token_id)]
    options = {"ping_interval_s": v.ws_ping_s, "pong_timeout_s": v.ws_pong_timeout_s,
               "silence_s": v.ws_silence_s, **(channel_options or {})}  # fmt: skip
    channel = MarketChannel(v.ws_url.rstrip("/") + "/market", assets, recorder=frames,
                            **options)  # fmt: skip
    channel.start(DiscardSink())  # its own events are not used: the driver parses the frames
    journal = SqliteJournal(str(run_dir / "journal.sqlite"))
    alerter, webhook = operator_alerts()
    meta_path.write_text(json.dumps(meta, indent=1))

    def close() -> None:
        channel.stop()
        frames.close()
        recorder.close()
        roll.close()
        journal.close()
        if webhook is not None:
            webhook.close()
        meta["end_ns"] = clock.now_ns()
        meta_path.write_text(json.dumps(meta, indent=1))

    end_ns = 2**62 if duration_s is None else start_ns + int(duration_s * NS)
    return SessionParts(
        clock=clock, feed=driver, venue=venue, end_ns=end_ns,
        summary=lambda: {"Mode": "paper", "Run dir": str(run_dir), "Frames": driver.frames,
                         "Late rows": driver.late_rows, "Skewed rows": driver.skewed_rows},
        extras={"market_channel": channel, "run_dir": run_dir, "meta": meta},
        close=close, journal=journal, alerter=alerter,
    )  # fmt: skip


def build_replay_of(config: BacktestConfig, run_dir: Path, markets: list[MarketInfo],
                    meta: dict) -> SessionParts:  # fmt: skip
    """The same parts over the run's recorded frames, in simulated time (parity)."""
    clock = SimClock(int(meta["start_ns"]))
    venue = _venue(config, markets, clock)
    captures = sorted((run_dir / "capture").glob("*.jsonl"))
    driver = FrameDriver(markets, venue, CaptureFrames(captures), lag_ms=meta["lag_ms"],
                         step_ms=meta["step_ms"])  # fmt: skip
    return SessionParts(
        clock=clock, feed=driver, venue=venue, end_ns=int(meta["end_ns"]),
        summary=lambda: {"Mode": "parity replay", "Frames": driver.frames},
    )  # fmt: skip


register_builder("paper", "polymarket", build_paper)
