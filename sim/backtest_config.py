"""Configuration of a backtest: frozen dataclasses, built from TOML, defaults in one place.

Every key is documented in ``docs/config.md``. ``load_backtest_config`` refuses
an unknown key or a bad value at start, naming the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import MISSING, dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.config_loader import from_mapping, load_toml
from sim.errors import ConfigError
from sim.executor import ExecutorConfig
from sim.ops_watch import AlertsConfig
from sim.risk import RiskConfig

QUEUE_MODELS = ("conservative", "clamped", "probabilistic")
#: how a run trades: recorded data and simulated fills, the live feed and simulated fills,
#: or the live feed and real orders (``sim.session`` builds each from registered builders)
MODES = ("backtest", "paper", "live")
#: what ``[venue] kind`` may name: the simulated CLOB, or Polymarket itself
VENUE_KINDS = ("sim", "polymarket")


def check_latency(value: float | dict, key: str) -> None:
    """A latency is a non-negative number of ms or a ``{median_ms, p95_ms}`` table."""
    if isinstance(value, dict):
        extra = set(value) - {"median_ms", "p95_ms"}
        if extra:
            raise ConfigError(key, f"unknown latency keys {sorted(extra)}")
        med, p95 = value.get("median_ms"), value.get("p95_ms", value.get("median_ms"))
        ok = isinstance(med, int | float) and isinstance(p95, int | float) and 0 < med <= p95
        if not ok:
            raise ConfigError(key, "needs 0 < median_ms <= p95_ms")
    elif not value >= 0:
        raise ConfigError(key, f"must be >= 0 ms, got {value!r}")


@dataclass(frozen=True)
class LatencyConfig:
    """Milliseconds, or ``{median_ms = .., p95_ms = ..}`` for a lognormal draw per call."""

    order_entry_ms: float | dict = 25.0
    ack_ms: float | dict = 25.0
    #: added to recorded receive times before the strategy sees market data
    market_data_extra_ms: float = 0.0

    def __post_init__(self) -> None:
        for key in ("order_entry_ms", "ack_ms"):
            check_latency(getattr(self, key), key)
        if not self.market_data_extra_ms >= 0:
            raise ConfigError("market_data_extra_ms", "must be >= 0")


#: the longest heartbeat interval allowed: the venue's dead-man switch fires at 10 s
HEARTBEAT_MAX_S = 8.0


@dataclass(frozen=True)
class VenueConfig:
    """The ``[venue]`` table, tagged by ``kind``: ``sim`` (the simulated CLOB; the keys
    below) or ``polymarket`` (the live venue)."""

    kind: str = "sim"
    queue_model: str = "conservative"
    queue_power: float = 2.0
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    # --- kind = "polymarket" (the live venue; secrets never here: see live/secrets.py)
    host: str = "https://clob.polymarket.com"
    ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/"
    rpc_url: str = ""  # Polygon JSON-RPC for the on-chain balance cross-check ("" = none)
    chain_id: int = 137
    signature_type: int = 0  # 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271
    funder: str = ""  # the wallet holding the funds ("" = the signer, type 0)
    http_timeout_s: float = 5.0
    journal_path: str = "live-journal.sqlite"  # durable: orders are journaled before sending
    ws_ping_s: float = 10.0  # PING the market channel this often
    ws_pong_timeout_s: float = 5.0  # no PONG within this long: the connection is dead
    ws_silence_s: float = 60.0  # no data within this long: dead too (a PONG is not data)
    user_poll_s: float = 5.0  # the user channel's REST reconcile poll
    heartbeat_s: float = 5.0  # venue heartbeats (its dead-man switch cancels all after 10 s)
    record_dir: str = ""  # record the market channel's raw frames here ("" = no recording)
    probe_s: float = 5.0  # ask the venue's GET /time this often (network health; 0 = never)
    paper_lag_ms: float = 500.0  # paper: the run goes this far behind the newest frame
    paper_step_ms: float = 50.0  # paper: the time grid frames are taken on

    def __post_init__(self) -> None:
        if self.kind not in VENUE_KINDS:
            raise ConfigError("kind", f"must be one of {', '.join(VENUE_KINDS)}, got {self.kind!r}")
        self._check_tagged()
        if self.kind == "polymarket":
            self._check_live()
        if self.queue_model not in QUEUE_MODELS:
            raise ConfigError("queue_model", f"must be one of {', '.join(QUEUE_MODELS)}")
        if not self.queue_power > 0:
            raise ConfigError("queue_power", "must be > 0")

    _SIM_KEYS = ("queue_model", "queue_power", "latency")
    _LIVE_KEYS = ("host", "ws_url", "rpc_url", "chain_id", "signature_type", "funder",
                  "http_timeout_s", "journal_path", "ws_ping_s", "ws_pong_timeout_s",
                  "ws_silence_s", "user_poll_s", "heartbeat_s", "record_dir", "paper_lag_ms",
                  "paper_step_ms", "probe_s")  # fmt: skip

    def _check_tagged(self) -> None:
        """A key of the other kind is a mistake (e.g. a latency model on the live venue)."""
        # on kind = "polymarket" the simulated venue's keys are paper's fill model
        # (checked with the mode, ``BacktestConfig``); the live keys never apply to "sim"
        if self.kind != "sim":
            return
        other = self._LIVE_KEYS
        default = VenueConfig.__dataclass_fields__
        for key in other:
            f = default[key]
            dflt = f.default_factory() if f.default_factory is not MISSING else f.default
            if getattr(self, key) != dflt:
                raise ConfigError(key, f"is not a key of [venue] kind = {self.kind!r}")

    def _check_live(self) -> None:
        for key in ("host", "ws_url"):
            url = getattr(self, key)
            scheme = ("http://", "https://") if key == "host" else ("ws://", "wss://")
            if not url.startswith(scheme):
                raise ConfigError(key, f"must start with {' or '.join(scheme)}, got {url!r}")
        if self.rpc_url and not self.rpc_url.startswith(("http://", "https://")):
            raise ConfigError("rpc_url", f"must be an http(s) URL, got {self.rpc_url!r}")
        if self.signature_type not in (0, 1, 2, 3):
            raise ConfigError("signature_type", f"must be 0-3, got {self.signature_type!r}")
        if self.signature_type != 0 and not self.funder:
            raise ConfigError("funder", f"signature_type {self.signature_type} needs the funder "
                                        "(proxy, Safe or deposit wallet) address")  # fmt: skip
        if self.funder and not (self.funder.startswith("0x") and len(self.funder) == 42):
            raise ConfigError("funder", f"must be a 0x address, got {self.funder!r}")
        for key in ("http_timeout_s", "ws_ping_s", "ws_pong_timeout_s", "ws_silence_s",
                    "user_poll_s"):  # fmt: skip
            if not 0 < getattr(self, key) < float("inf"):
                raise ConfigError(key, f"must be a positive number of seconds, got "
                                       f"{getattr(self, key)!r}")  # fmt: skip
        if not 0 <= self.probe_s < float("inf"):
            raise ConfigError("probe_s", f"must be >= 0 seconds (0 = no probe), got "
                                         f"{self.probe_s!r}")  # fmt: skip
        if not (self.paper_lag_ms >= 0 and self.paper_step_ms > 0):
            raise ConfigError("paper_lag_ms", "paper_lag_ms must be >= 0 and paper_step_ms > 0")
        if not 0 < self.heartbeat_s <= HEARTBEAT_MAX_S:
            raise ConfigError("heartbeat_s", f"must be in (0, {HEARTBEAT_MAX_S:g}]: the venue "
                                             "cancels every order 10 s after the last beat, "
                                             f"got {self.heartbeat_s!r}")  # fmt: skip


@dataclass(frozen=True)
class DataConfig:
    path: str
    start: dt.date | None = None
    end: dt.date | None = None
    #: slugs (glob patterns allowed), condition ids or event ids; empty = every market
    markets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ConfigError("end", f"{self.end} is before start {self.start}")


@dataclass(frozen=True)
class StrategyConfig:
    #: ``module:Class``; the module is looked up next to the config file first
    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if ":" not in self.name:
            raise ConfigError("name", f"expected 'module:Class', got {self.name!r}")


@dataclass(frozen=True)
class FaultsConfig:
    """``[faults]``: fault plans by name (``exchange_mock.faults.library``), injected into
    the run with its seed. Empty: no faults."""

    plans: tuple[str, ...] = ()


@dataclass(frozen=True)
class BacktestConfig:
    """A run's configuration (every mode; the name is historical)."""

    data: DataConfig
    strategy: StrategyConfig | None = None
    #: ``backtest``, ``paper`` or ``live`` (MODES)
    mode: str = "backtest"
    cash_usdc: float = 1_000.0
    seed: int = 0
    equity_interval_s: float = 60.0
    venue: VenueConfig = field(default_factory=VenueConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    faults: FaultsConfig = field(default_factory=FaultsConfig)
    #: ``[alerts]``: the run-wide alerts (``sim.ops_watch``); not part of the config hash
    alerts: AlertsConfig = field(default_factory=AlertsConfig)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError("mode", f"must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not self.cash_usdc > 0:
            raise ConfigError("cash_usdc", f"must be > 0, got {self.cash_usdc}")
        if not self.equity_interval_s > 0:
            raise ConfigError("equity_interval_s", "must be > 0")
        if self.venue.kind == "polymarket" and self.mode != "paper":
            default = VenueConfig(kind="polymarket")
            for key in VenueConfig._SIM_KEYS:
                if getattr(self.venue, key) != getattr(default, key):
                    raise ConfigError(f"venue.{key}", "is the simulated fills' model: a key of "
                                      'mode = "paper" (or of [venue] kind = "sim"), not of '
                                      f"mode = {self.mode!r} on the live venue")  # fmt: skip


def load_backtest_config(path: str | Path) -> tuple[BacktestConfig, Path]:
    """Read a TOML config; relative data paths are resolved against the config's folder."""
    p = Path(path)
    raw: dict[str, Any] = load_toml(p)
    cfg = from_mapping(BacktestConfig, raw)
    data_path = Path(cfg.data.path)
    if not data_path.is_absolute() and not data_path.exists():
        candidate = (p.parent / data_path).resolve()
        if candidate.exists():
            cfg = replace(cfg, data=replace(cfg.data, path=str(candidate)))
    return cfg, p.parent.resolve()
