"""The fingerprint of what a validation judged: the strategy (its class, its source file,
its parameters) and the settings that guard it (executor, risk, cash).

``clobsim validate`` writes it into ``report.json`` (``config_hash``); ``clobsim live``
refuses a config whose fingerprint differs from the GO report's. The data, the mode and
the venue are not part of it: the point is to run what was validated somewhere else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from pathlib import Path

from sim.backtest_config import BacktestConfig
from sim.errors import ConfigError
from sim.strategy_loader import strategy_class


def trading_config_hash(cfg: BacktestConfig, base_dir: Path) -> str:
    """16 hex digits over the strategy's name, source, params and guard settings."""
    if cfg.strategy is None:
        raise ConfigError("strategy", "the config has no [strategy] table")
    cls = strategy_class(cfg.strategy, base_dir)
    try:
        source = Path(inspect.getsourcefile(cls) or "").read_bytes()
    except (OSError, TypeError):
        source = inspect.getsource(cls).encode()
    body = json.dumps({
        "strategy": cfg.strategy.name,
        "params": cfg.strategy.params,
        "source_sha256": hashlib.sha256(source).hexdigest(),
        "executor": dataclasses.asdict(cfg.executor),
        "risk": dataclasses.asdict(cfg.risk),
        "cash_usdc": cfg.cash_usdc,
    }, sort_keys=True, default=str)  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()[:16]
