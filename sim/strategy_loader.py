"""Load the strategy a config names (``module:Class``) and build it with its params."""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

from sim.backtest_config import StrategyConfig
from sim.errors import ConfigError
from sim.strategy import Strategy


def load_strategy(cfg: StrategyConfig, base_dir: Path) -> Strategy:
    """Import ``cfg.name`` (modules next to the config file first) and call it with params."""
    module_name, _, class_name = cfg.name.partition(":")
    base = str(base_dir)
    added = base not in sys.path
    if added:
        sys.path.insert(0, base)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError("strategy.name", f"cannot import {module_name!r}: {exc}") from None
    finally:
        if added:
            sys.path.remove(base)
    cls = getattr(module, class_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError("strategy.name", f"{cfg.name!r} is not a sim.Strategy subclass")
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(cfg.params) - set(accepted))
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        raise ConfigError(
            f"strategy.params.{unknown[0]}",
            f"{class_name} takes no such parameter; it takes {', '.join(accepted) or 'none'}",
        )
    try:
        return cls(**cfg.params)
    except (TypeError, ValueError) as exc:
        raise ConfigError("strategy.params", f"{class_name} refused its params: {exc}") from None
