"""``clobsim live CONFIG --report REPORT.json``: trade real money, behind a gate.

The gate refuses to start unless

* the config says ``mode = "live"`` itself (no flag turns a backtest config live),
  on ``[venue] kind = "polymarket"``;
* ``REPORT.json`` is a ``clobsim validate`` report whose verdict is GO and whose
  ``config_hash`` (``sim.config_hash``: the strategy's class, source and params,
  and the executor, risk and cash settings) equals this config's.

``--unvalidated`` skips the report check: it is logged at CRITICAL and raised as
an alert before anything is sent. The run then reconciles with the venue first
(open orders, fills, balance), honours the kill-switch file as in a backtest,
and on SIGINT or SIGTERM halts (cancelling every open order until the venue
shows none) and exits cleanly.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path

from live.logs import configure_logging, run_secrets
from live.malloc_arenas import limit_arenas
from live.secrets import load_secrets
from sim.backtest_config import BacktestConfig, load_backtest_config
from sim.config_hash import trading_config_hash
from sim.errors import ConfigError
from sim.executor.alerts import Alert
from sim.run_files import write_run
from sim.session import Session, build_session
from sim.strategy_loader import load_strategy

log = logging.getLogger("clobsim.live")


class _Stop(Exception):
    """A signal asked the live run to stop."""


def check_gate(cfg: BacktestConfig, base_dir: Path, report: Path | None,
               unvalidated: bool = False) -> str:  # fmt: skip
    """Why this config may trade live (a line for the log); ``ConfigError`` when not."""
    if cfg.mode != "live":
        raise ConfigError("mode", f'a live run needs mode = "live" in the config, got {cfg.mode!r}')
    if cfg.venue.kind != "polymarket":
        raise ConfigError("venue.kind", 'a live run needs [venue] kind = "polymarket"')
    mine = trading_config_hash(cfg, base_dir)
    if unvalidated:
        log.critical("LIVE RUN WITHOUT A GO VALIDATION (--unvalidated), config %s", mine)
        return f"UNVALIDATED: started with --unvalidated (config {mine})"
    if report is None:
        raise ConfigError("report", "a live run needs the GO report of `clobsim validate` for "
                                    "this config (--report REPORT.json)")  # fmt: skip
    try:
        data = json.loads(Path(report).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError("report", f"cannot read {report}: {exc}") from None
    if data.get("verdict") != "GO":
        raise ConfigError("report", f"{report} says {data.get('verdict')!r}, not GO: "
                                    f"{data.get('why', '')}")  # fmt: skip
    theirs = data.get("config_hash")
    if theirs != mine:
        raise ConfigError("report", f"{report} validated config {theirs}, this is {mine}: the "
                                    "strategy, its params or its guard settings changed since; "
                                    "validate again")  # fmt: skip
    return f"validated GO ({report}, config {mine})"


def run_live(config_path: str | Path, *, report: str | Path | None, unvalidated: bool = False,
             duration_s: float | None = None, ops_port: int | None = None) -> int:  # fmt: skip
    import live.session_builder  # noqa: F401  (registers the live builder)

    limit_arenas()  # before any thread: memory stays flat for days
    cfg, base = load_backtest_config(config_path)
    why = check_gate(cfg, base, Path(report) if report else None, unvalidated)
    secrets = load_secrets()  # the environment or .env: every value redacted from the logs
    logs = Path(cfg.venue.journal_path).absolute().parent / "logs" / "clobsim-live.jsonl"
    setup = configure_logging(logs, run_id=f"live-{time.time_ns()}", mode="live",
                              strategy=cfg.strategy.name if cfg.strategy else "",
                              secrets=[secrets.private_key, *(secrets.api_creds or ()),
                                       *run_secrets()])  # fmt: skip
    try:
        return _start(cfg, base, why, secrets, unvalidated, duration_s, ops_port)
    finally:
        setup.close()


def _start(cfg: BacktestConfig, base: Path, why: str, secrets, unvalidated: bool,
           duration_s: float | None, ops_port: int | None) -> int:  # fmt: skip
    if cfg.strategy is None:
        raise ConfigError("strategy", "the config has no [strategy] table")
    strategy = load_strategy(cfg.strategy, base)
    session = build_session(cfg, strategy, duration_s=duration_s, secrets=secrets)
    if unvalidated:
        alert = Alert(session.clock.now_ns(), "critical", "unvalidated", why)
        session.executor.alerter.alert(alert)
    log.warning("live: %s", why)
    for line in session.executor.recover():  # reconcile before the first order
        log.warning("live start: %s", line)
    from live.paper_cmd import start_ops

    ops = start_ops(session, ops_port)
    try:
        return _run(session, Path(cfg.venue.journal_path).absolute().parent)
    finally:
        ops.stop()


def _run(session: Session, run_dir: Path) -> int:
    def stop(signum, frame):
        raise _Stop(signal.Signals(signum).name)

    old = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}

    def drive(s: Session) -> None:
        try:
            s.engine.run(s.parts.end_ns)
        except _Stop as exc:
            log.warning("live: %s: halting, every open order cancelled", exc)
            s.executor.halt(f"operator: {exc}")

    try:
        result = session.run(progress=drive)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    write_run(result, run_dir, kind="live")  # `clobsim report` renders the folder
    print(result.summary.to_string())
    print(f"results written to {run_dir}/ (clobsim report {run_dir})")
    return 0 if result.error is None else 3
