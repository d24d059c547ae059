"""Load the strategy a config names (``module:Class``) and build it with its params.

The params are checked against the class's ``__init__`` (names, required ones,
annotated types) before the class is called; see ``sim.strategy_params``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

from sim.backtest_config import StrategyConfig
from sim.errors import ClobsimError, ConfigError
from sim.strategy import Strategy
from sim.strategy_params import check_params, keyword_params


def strategy_class(cfg: StrategyConfig, base_dir: Path) -> type[Strategy]:
    """Import ``cfg.name`` (modules next to the config file first) and return the class."""
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
    if cls is None:
        raise ConfigError("strategy.name", f"module {module_name!r} has no {class_name!r}")
    if not inspect.isclass(cls):
        raise ConfigError(
            "strategy.name", f"{cfg.name!r} is a {type(cls).__name__}, not a sim.Strategy class"
        )
    if not issubclass(cls, Strategy):
        raise ConfigError(
            "strategy.name",
            f"{cfg.name!r} is not a sim.Strategy subclass; derive it from sim.Strategy",
        )
    return cls


def accepted_params(cfg: StrategyConfig, base_dir: Path) -> set[str]:
    """The parameter names the strategy's ``__init__`` takes by keyword (no instance built).

    A ``**kwargs`` catch-all is not listed: ``sim.strategy_params.takes_any_keyword``
    tells whether one is there.
    """
    return set(keyword_params(strategy_class(cfg, Path(base_dir))))


def load_strategy(cfg: StrategyConfig, base_dir: Path) -> Strategy:
    """Import ``cfg.name``, check its params against the constructor, and build it."""
    cls = strategy_class(cfg, base_dir)
    params = check_params(cls, cfg.params)
    try:
        return cls(**params)
    except ClobsimError:
        raise
    except Exception as exc:  # the strategy's own validation (or a bug in its __init__)
        what = str(exc) if isinstance(exc, TypeError | ValueError) and str(exc) else ""
        what = what or f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise ConfigError(
            "strategy.params", f"{cls.__name__} rejected its parameters: {what}"
        ) from None
