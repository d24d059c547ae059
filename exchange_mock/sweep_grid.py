"""A sweep's grid (``GRID.toml``): which settings vary, and the runs their product makes.

```toml
seeds = [1, 2]                            # every combination runs once per seed

[grid]                                    # any config key, dotted: a list of values
"strategy.params.edge" = [0.01, 0.02, 0.03]
"risk.daily_loss_usdc" = [50.0, 125.0]

[latency]                                 # named latency models ([venue.latency] tables)
fast = { order_entry_ms = 10.0, ack_ms = 5.0 }
slow = { order_entry_ms = 250.0, ack_ms = 100.0 }

[faults]                                  # named fault plan sets ([faults] plans)
none = []
partial = ["partial_fills"]

[fixed]                                   # dotted config keys set in every run
"data.markets" = ["btc-updown-15m-17935[78]*"]
```

The runs are the product of every ``[grid]`` key (in file order), then the latency
models, then the fault sets, then the seeds: 3 x 2 x 2 x 2 x 2 = 48 runs above;
``[fixed]`` applies to all of them (here: only 14 of the day's windows). Each
run's parameters are one row's columns (``latency`` and ``faults`` by name, ``seed``);
its id is a digest of what it sets in the config (``[fixed]`` and the latency tables
included), so the same run has the same id in every grid that holds it: a grid that
grows (another seed, another value) reuses the runs a folder has finished.
Every run's config is built and checked before any run starts: a key that does not
exist or a value it cannot take is a ``ConfigError`` naming the grid key and the value.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config_loader import load_toml
from sim.errors import ConfigError

_TOP = ("seeds", "grid", "latency", "faults", "fixed")
#: grid keys a sweep sets itself (the seed axis) or that would make runs not comparable
_RESERVED = ("seed", "mode", "validation", "data.path")


@dataclass(frozen=True)
class SweepRun:
    """One run: its ``id`` and ``params`` (column -> value, as the row shows them), and
    ``overrides`` (dotted config key -> value) that make its config."""

    id: str
    params: dict[str, Any]
    overrides: dict[str, Any]


@dataclass(frozen=True)
class SweepGrid:
    seeds: tuple[int, ...]
    grid: dict[str, list[Any]]
    latency: dict[str, dict[str, Any]]
    faults: dict[str, list[str]]
    fixed: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> SweepGrid:
        return cls.from_mapping(load_toml(Path(path)))

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> SweepGrid:
        unknown = [k for k in raw if k not in _TOP]
        if unknown:
            raise ConfigError(f"grid.{unknown[0]}", f"unknown key; a grid has {', '.join(_TOP)}")
        seeds = raw.get("seeds", [0])
        if not (isinstance(seeds, list) and seeds and all(_is_int(s) for s in seeds)):
            raise ConfigError("grid.seeds", f"must be a non-empty list of whole numbers, got "
                                            f"{seeds!r}")  # fmt: skip
        if len(set(seeds)) != len(seeds):
            raise ConfigError("grid.seeds", f"names a seed twice: {seeds!r}")
        grid = raw.get("grid", {})
        if not isinstance(grid, dict):
            raise ConfigError("grid.grid", "must be a table of dotted config keys -> lists")
        for key, values in grid.items():
            if not (isinstance(values, list) and values):
                raise ConfigError(f"grid.{key}", f"must be a non-empty list of values, got "
                                                 f"{values!r}")  # fmt: skip
            if key in _RESERVED or key.startswith("validation."):
                raise ConfigError(
                    f"grid.{key}",
                    "cannot be swept (seeds are the `seeds` list; "
                    "mode, data and [validation] are the sweep's)",
                )
        latency = raw.get("latency", {})
        for name, table in latency.items():
            if not isinstance(table, dict):
                raise ConfigError(f"grid.latency.{name}", "must be a [venue.latency] table")
        faults = raw.get("faults", {})
        for name, plans in faults.items():
            if not (isinstance(plans, list) and all(isinstance(p, str) for p in plans)):
                raise ConfigError(f"grid.faults.{name}", f"must be a list of fault plan names, "
                                                         f"got {plans!r}")  # fmt: skip
        swept_latency = any(k == "venue.latency" or k.startswith("venue.latency.") for k in grid)
        if swept_latency and latency:
            raise ConfigError("grid.latency", "latency is swept twice: [latency] and a "
                                                  "venue.latency key in [grid]")  # fmt: skip
        if "faults.plans" in grid and faults:
            raise ConfigError("grid.faults", "fault plans are swept twice: [faults] and "
                                             "faults.plans in [grid]")  # fmt: skip
        fixed = raw.get("fixed", {})
        if not isinstance(fixed, dict):
            raise ConfigError("grid.fixed", "must be a table of dotted config keys -> values")
        for key in fixed:
            if key in _RESERVED or key.startswith("validation.") or key in grid:
                raise ConfigError(f"grid.fixed.{key}", "cannot be fixed here (the sweep's own "
                                                       "key, or swept in [grid])")  # fmt: skip
        return cls(tuple(int(s) for s in seeds), dict(grid), dict(latency), dict(faults),
                   dict(fixed))  # fmt: skip

    def runs(self) -> list[SweepRun]:
        """Every run, in the grid's order (see the module doc)."""
        axes: list[tuple[str, list[tuple[Any, tuple[str, Any]]]]] = []
        for key, values in self.grid.items():
            axes.append((key, [(_show(v), (key, v)) for v in values]))
        if self.latency:
            axes.append(("latency", [(n, ("venue.latency", t)) for n, t in self.latency.items()]))
        if self.faults:
            axes.append(("faults", [(n, ("faults.plans", p)) for n, p in self.faults.items()]))
        axes.append(("seed", [(s, ("seed", s)) for s in self.seeds]))
        out = []
        for combo in itertools.product(*(values for _, values in axes)):
            params = {name: shown for (name, _), (shown, _) in zip(axes, combo, strict=True)}
            overrides = {**self.fixed, **dict(over for _, over in combo)}
            # the id: what the run changes in the config (latency tables, [fixed] included)
            digest = hashlib.sha256(json.dumps(overrides, sort_keys=True, default=str).encode())
            out.append(SweepRun(digest.hexdigest()[:12], params, overrides))
        return out


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config mapping ``raw`` with each dotted key set (tables created)."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        node = out
        *path, last = key.split(".")
        for part in path:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"grid.{key}", f"{part!r} is not a table in the config")
            node = nxt
        node[last] = copy.deepcopy(value)
    return out


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _show(v: Any) -> Any:
    """A grid value as a DataFrame cell: scalars as they are, lists and tables as JSON."""
    return v if isinstance(v, int | float | str | bool) else json.dumps(v, sort_keys=True)
