"""``clobsim paper CONFIG`` and ``clobsim parity RUN_DIR --config CONFIG``.

``paper`` trades the strategy on the live market feed against the simulated matching
venue (``live/paper_builder.py``), recording the feed into its run folder, until
SIGINT/SIGTERM or ``--duration``; it stops on a whole second of the run's clock and
writes its result tables there (``sim.run_files``: ``orders.parquet``, ``fills.parquet``,
``summary.json``, ...), which ``clobsim report RUN_DIR`` renders.

``parity`` replays that folder's capture through the same strategy, executor and
venue in simulated time and compares order by order and fill by fill: every field
equal (prices and sizes to 1e-9, money to the cent), or each divergence listed
(``parity.json``). Exit 0 when there is none, 1 when there are.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from pathlib import Path

import pandas as pd

from live.gamma import load_gamma_markets
from live.logs import configure_logging, run_secrets
from live.malloc_arenas import limit_arenas
from live.paper_builder import CHUNK_NS, build_replay_of, run_dir_of
from sim.backtest_config import BacktestConfig, load_backtest_config
from sim.config_hash import trading_config_hash
from sim.config_loader import from_mapping, load_toml
from sim.errors import ConfigError
from sim.run_files import write_run
from sim.session import Session, build_session
from sim.strategy_loader import load_strategy

log = logging.getLogger("clobsim.paper")
TABLES = ("orders", "fills")
#: columns compared as money (to the cent) and as quantities (to 1e-9)
_MONEY = {"fees_usdc", "fee_usdc", "notional_usdc", "slippage_usdc"}


def _drive(stop: threading.Event | None = None):
    """The engine in whole-second chunks of the run's clock (paper and replay alike)."""

    def drive(s: Session) -> None:
        eng = s.engine
        eng.start()
        t = s.clock.now_ns()
        while t < s.parts.end_ns and not eng.stopped and not s.feed.exhausted:
            if stop is not None and stop.is_set():
                break
            t = min(t + CHUNK_NS, s.parts.end_ns)
            eng.run_until(t)
        eng.finish()

    return drive


def _load(config_path: str | Path, mode: str) -> tuple[BacktestConfig, Path]:
    """The run's config; a ``[validation]`` table in it (``clobsim validate --paper-run``
    reads the same file) is not the run's business."""
    raw = load_toml(Path(config_path))
    if "validation" in raw:
        raw = {k: v for k, v in raw.items() if k != "validation"}
        cfg, base = from_mapping(BacktestConfig, raw), Path(config_path).parent.resolve()
    else:
        cfg, base = load_backtest_config(config_path)
    if cfg.mode != mode:
        raise ConfigError("mode", f'clobsim {mode} needs mode = "{mode}" in the config, got '
                                  f"{cfg.mode!r}")  # fmt: skip
    if cfg.venue.kind != "polymarket":
        raise ConfigError("venue.kind", 'paper trading reads the live feed: [venue] kind = '
                                        '"polymarket" (host, ws_url)')  # fmt: skip
    if cfg.strategy is None:
        raise ConfigError("strategy", "the config has no [strategy] table")
    return cfg, base


def run_paper(config_path: str | Path, *, duration_s: float | None = None,
              ops_port: int | None = None) -> int:  # fmt: skip
    import live.paper_builder  # noqa: F401  (registers the paper builder)

    limit_arenas()  # before any thread: memory stays flat for days
    cfg, base = _load(config_path, "paper")
    run_dir = run_dir_of(cfg)
    logs = configure_logging(run_dir / "logs" / "clobsim.jsonl",
                             run_id=f"paper-{time.time_ns()}", mode="paper",
                             strategy=cfg.strategy.name, secrets=run_secrets())  # fmt: skip
    try:
        return _paper(cfg, base, run_dir, duration_s, ops_port)
    finally:
        logs.close()


def _paper(cfg: BacktestConfig, base: Path, run_dir: Path, duration_s: float | None,
           ops_port: int | None) -> int:  # fmt: skip
    strategy = load_strategy(cfg.strategy, base)
    session = build_session(cfg, strategy, duration_s=duration_s)
    ex, clob = session.executor, session.venue.clob

    def restore() -> None:  # a restart: the simulated venue holds what the journal says
        if ex.tracker.orders:
            clob.restore_account(ex.tracker.cash_usdc, dict(ex.tracker.positions))

    for line in ex.recover(prepare=restore):
        log.warning("paper start: %s", line)
    meta = session.parts.extras["meta"]  # what `clobsim validate --paper-run` checks
    meta["config_hash"] = trading_config_hash(cfg, base)
    (run_dir_of(cfg) / "run.json").write_text(json.dumps(meta, indent=1))
    ops = start_ops(session, ops_port)
    stop = threading.Event()
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = session.run(progress=_drive(stop))
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        ops.stop()
    write_run(result, run_dir, kind="paper")  # `clobsim report RUN_DIR` reads it
    print(result.summary.to_string())
    return 0 if result.error is None else 3


class Operations:
    """What watches a paper or live run from outside the engine: the order log
    (``live.logs.OrderLogger``) and the venue probe (``[venue] probe_s``;
    ``live.venue_probe``) always, and the health and metrics endpoint on
    127.0.0.1:``port`` when a port is given. ``stop()`` ends the probe and the endpoint."""

    def __init__(self, session: Session, port: int | None) -> None:
        from live.logs import OrderLogger
        from live.ops_server import OpsServer
        from live.venue_probe import VenueProbe

        # every order's changes in the run's log, with its ids and market as fields
        session.executor.on_order_change = OrderLogger(session.venue.markets())
        venue = session.config.venue
        self.probe = None
        if venue.probe_s > 0:
            self.probe = VenueProbe(venue.host, interval_s=venue.probe_s,
                                    timeout_s=min(venue.http_timeout_s, venue.probe_s),
                                    alerter=session.executor.alerter,
                                    now_ns=session.clock.now_ns)  # fmt: skip
        self.server = None
        if port is not None:
            self.server = OpsServer(session, port=port, probe=self.probe).start()
            print(f"health and metrics: {self.server.url}/healthz /readyz /status /metrics",
                  flush=True)  # fmt: skip
        if self.probe is not None:
            self.probe.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.probe is not None:
            self.probe.stop()


def start_ops(session: Session, port: int | None) -> Operations:
    """The run's probe and (with a port) its health and metrics endpoint, started."""
    return Operations(session, port)


def replay_run(config_path: str | Path, run_dir: str | Path):
    """The run folder's capture replayed as a backtest (simulated time): the result."""
    cfg, base = _load(config_path, "paper")
    run_dir = Path(run_dir)
    meta_path = run_dir / "run.json"
    if not meta_path.is_file():
        raise ConfigError("run_dir", f"{run_dir} has no run.json: not a paper run folder")
    meta = json.loads(meta_path.read_text())
    if "end_ns" not in meta:
        raise ConfigError("run_dir", f"{run_dir}: the run did not stop cleanly (no end_ns)")
    markets = load_gamma_markets(run_dir / "markets.json")
    parts = build_replay_of(cfg, run_dir, markets, meta)
    session = Session(cfg, load_strategy(cfg.strategy, base), parts)
    session.executor.recover()  # as the paper run started: its calls take simulated time
    return session.run(progress=_drive())


def compare(paper: dict[str, pd.DataFrame], replay: dict[str, pd.DataFrame]) -> list[dict]:
    """Every difference between two runs' tables, field by field (``[]``: none)."""
    out: list[dict] = []
    for name, key in (("orders", "client_order_id"), ("fills", "trade_id")):
        a = paper[name].set_index(key)
        b = replay[name].set_index(key)
        for k in a.index.difference(b.index):
            out.append({"table": name, "id": k, "what": "only in the paper run"})
        for k in b.index.difference(a.index):
            out.append({"table": name, "id": k, "what": "only in the replay"})
        for k in a.index.intersection(b.index):
            for col in a.columns.intersection(b.columns):
                x, y = a.at[k, col], b.at[k, col]
                if not _same(col, x, y):
                    out.append({"table": name, "id": k, "what": f"{col}: paper {x!r}, "
                                                                f"replay {y!r}"})  # fmt: skip
    return out


def _same(col: str, x: object, y: object) -> bool:
    if pd.isna(x) and pd.isna(y):
        return True
    if isinstance(x, float) or isinstance(y, float):
        try:
            tol = 0.005 if col in _MONEY else 1e-9
            return abs(float(x) - float(y)) <= tol
        except (TypeError, ValueError):
            return False
    return x == y


def run_parity(run_dir: str | Path, config_path: str | Path) -> int:
    run_dir = Path(run_dir)
    paper = {}
    for name in TABLES:
        path = run_dir / f"{name}.parquet"
        if not path.is_file():
            raise ConfigError("run_dir", f"{path} is missing: did `clobsim paper` finish?")
        paper[name] = pd.read_parquet(path)
    result = replay_run(config_path, run_dir)
    replay = {name: getattr(result, name) for name in TABLES}
    divergences = compare(paper, replay)
    report = {"orders": len(paper["orders"]), "fills": len(paper["fills"]),
              "divergences": divergences}  # fmt: skip
    (run_dir / "parity.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"parity of {run_dir}: {len(paper['orders'])} orders, {len(paper['fills'])} fills, "
          f"{len(divergences)} divergences")  # fmt: skip
    for d in divergences[:20]:
        print(f"  {d['table']} {d['id']}: {d['what']}")
    return 0 if not divergences else 1
