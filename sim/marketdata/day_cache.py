"""A disk cache of replay-ready days, so repeated runs over one dataset read Parquet once.

Reading a day means decoding Parquet, validating every row, merging the day's
files by receive time and applying the replay rules; on realistic data (a
``book`` per token after every trade) that is more than half of a backtest's
time, and a paper validation replays the same days for every scenario and seed.
``Dataset.iter_days`` therefore stores each finished day here, as plain ``.npy``
arrays, and later runs load it back in a fraction of a second.

A day's entry is keyed by everything its content depends on: the cache format,
the data schema version, the source of the code that reads, validates and
repairs a day (``CODE_STAMP``: an upgraded clobsim never reuses what an older
one wrote), the dataset folder, the name, size and modification time of every
file of that day (so a hit reads no Parquet at all), the market filter, and the
state carried in from earlier days (tick sizes in force and each asset's exchange-time maximum).
Change any of them and the key changes, so a stale entry is never used; an entry
that cannot be read is ignored (and replaced). Entries are written to a
temporary folder and renamed, so a crash or two workers writing the same day
never leave a half entry.

Settings, from the environment (never from a config file: a cache must not
change results, only their cost):

- ``CLOBSIM_DAY_CACHE``: the cache folder; ``off`` (or empty) disables it.
  Default: ``$XDG_CACHE_HOME/clobsim/days`` or ``~/.cache/clobsim/days``.
- ``CLOBSIM_DAY_CACHE_GB``: size cap (default 8); the least recently used
  entries are deleted beyond it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.marketdata.columns import ARRAY_FIELDS, EventColumns
from sim.marketdata.schema import SCHEMA_VERSION

log = logging.getLogger(__name__)

#: Bump when the content of an entry or the replay rules change.
CACHE_FORMAT = 2  # 2: keyed on every file of the day, not the selected ones
#: the modules whose code decides a cached day's content
_CODE = ("columns.py", "dataset.py", "day_cache.py", "replay_rules.py", "schema.py",
         "validate.py", "findings.py", "markets.py")  # fmt: skip


def _code_stamp() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:16]


#: hash of the source of ``_CODE``: part of every key
CODE_STAMP = _code_stamp()
_DEFAULT_GB = 8.0


@dataclass(frozen=True, slots=True)
class CachedDay:
    """A finished day and the state it hands to the next one."""

    events: EventColumns
    venue_skip: np.ndarray
    repairs: dict[str, int]
    tick_state: np.ndarray
    last_exchange_ns: np.ndarray
    #: the names of the day's files that were read (those holding the selection)
    files: tuple[str, ...] = ()


def default_dir() -> Path | None:
    """The cache folder the environment asks for, or None when disabled."""
    raw = os.environ.get("CLOBSIM_DAY_CACHE")
    if raw is not None:
        raw = raw.strip()
        if raw == "" or raw.lower() == "off":
            return None
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clobsim" / "days"


def _cap_bytes() -> int:
    raw = os.environ.get("CLOBSIM_DAY_CACHE_GB", "")
    try:
        gb = float(raw) if raw.strip() else _DEFAULT_GB
    except ValueError:
        log.warning("CLOBSIM_DAY_CACHE_GB=%r is not a number; using %s", raw, _DEFAULT_GB)
        gb = _DEFAULT_GB
    return int(max(gb, 0.0) * 1e9)


class DayCache:
    """Replay-ready days on disk (see the module docstring)."""

    def __init__(self, root: Path, cap_bytes: int | None = None) -> None:
        self.root = root
        self.cap_bytes = _cap_bytes() if cap_bytes is None else cap_bytes

    @classmethod
    def from_env(cls) -> DayCache | None:
        root = default_dir()
        return None if root is None else cls(root)

    @staticmethod
    def key(
        dataset_root: Path,
        files: list[Path],
        wanted: np.ndarray | None,
        tick_state: np.ndarray,
        last_exchange_ns: np.ndarray,
    ) -> str:
        """The entry name for a day read from ``files`` with the incoming state."""
        h = hashlib.sha256()
        h.update(f"clobsim-day:{CACHE_FORMAT}:{SCHEMA_VERSION}:{CODE_STAMP}:"
                 f"{dataset_root.resolve()}".encode())  # fmt: skip
        for f in files:
            st = f.stat()
            h.update(f"\0{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
        h.update(b"\0wanted:" + (b"all" if wanted is None else wanted.tobytes()))
        h.update(b"\0ticks:" + np.ascontiguousarray(tick_state, dtype=np.float64).tobytes())
        h.update(b"\0last:" + np.ascontiguousarray(last_exchange_ns, dtype=np.int64).tobytes())
        return h.hexdigest()[:32]

    def load(self, key: str, assets: tuple[str, ...]) -> CachedDay | None:
        """The entry ``key``, or None if it is missing or unreadable."""
        folder = self.root / key
        if not folder.is_dir():
            return None
        try:
            arrays = {k: np.load(folder / f"{k}.npy", allow_pickle=False) for k in ARRAY_FIELDS}
            meta = json.loads((folder / "meta.json").read_text())
            day = CachedDay(
                events=EventColumns(assets=assets, **arrays),
                venue_skip=np.load(folder / "venue_skip.npy", allow_pickle=False),
                repairs={str(k): int(v) for k, v in meta["repairs"].items()},
                tick_state=np.load(folder / "tick_state.npy", allow_pickle=False),
                last_exchange_ns=np.load(folder / "last_exchange_ns.npy", allow_pickle=False),
                files=tuple(str(f) for f in meta["files"]),
            )
            n = len(day.events)
            if meta.get("rows") != n or len(day.venue_skip) != n:
                raise ValueError("row counts disagree")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "day cache entry %s unreadable (%s): reading the day from Parquet", key, exc
            )
            return None
        with contextlib.suppress(OSError):
            os.utime(folder)  # recently used: evicted last
        return day

    def store(self, key: str, day: CachedDay) -> None:
        """Write the entry ``key``; a failure (disk full, read-only) only costs the cache."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.root))
            try:
                for k in ARRAY_FIELDS:
                    np.save(tmp / f"{k}.npy", getattr(day.events, k), allow_pickle=False)
                np.save(tmp / "venue_skip.npy", day.venue_skip, allow_pickle=False)
                np.save(tmp / "tick_state.npy", day.tick_state, allow_pickle=False)
                np.save(tmp / "last_exchange_ns.npy", day.last_exchange_ns, allow_pickle=False)
                meta = {"rows": len(day.events), "repairs": day.repairs,
                        "files": list(day.files)}  # fmt: skip
                (tmp / "meta.json").write_text(json.dumps(meta))
                # another worker may have stored the same day first: same content
                with contextlib.suppress(OSError):
                    tmp.rename(self.root / key)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            self._evict()
        except OSError as exc:
            log.warning("day cache not written (%s): %s", self.root, exc)

    def _evict(self) -> None:
        entries = []
        total = 0
        for d in self.root.iterdir():
            if not d.is_dir() or d.name.startswith("."):
                continue
            size = sum(f.stat().st_size for f in d.iterdir())
            entries.append((d.stat().st_mtime, size, d))
            total += size
        for _, size, d in sorted(entries):
            if total <= self.cap_bytes:
                break
            shutil.rmtree(d, ignore_errors=True)
            total -= size
