"""The bench streams, cached as ``.npz`` files under ``benchmarks/_work/``.

A cache file is keyed by the generator (``STREAM_VERSION`` and a hash of
``stream.py``'s source) and by ``(n_events, seed, events_per_second)``:

    stream_v1_<hash>_r1400_n5000000_s1.npz

Editing the generator changes the hash, so an older file is never loaded again;
it is deleted the next time any stream is written.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from benchmarks.stream import EVENTS_PER_SECOND, STREAM_VERSION, bench_assets, make_stream
from sim.marketdata import EventColumns
from sim.marketdata.columns import ARRAY_FIELDS

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work"


def _generator_prefix() -> str:
    """``stream_v{version}_{hash of stream.py}_``: editing the generator invalidates caches."""
    digest = hashlib.sha1((HERE / "stream.py").read_bytes()).hexdigest()[:10]
    return f"stream_v{STREAM_VERSION}_{digest}_"


def cache_path(n_events: int, seed: int, events_per_second: float = EVENTS_PER_SECOND) -> Path:
    """Where the stream for these arguments is (or would be) cached."""
    rate = f"{events_per_second:g}".replace(".", "p")
    return WORK / f"{_generator_prefix()}r{rate}_n{n_events}_s{seed}.npz"


def load_stream(
    n_events: int, seed: int, *, events_per_second: float = EVENTS_PER_SECOND
) -> tuple[EventColumns, bool]:
    """The stream for these arguments, from the cache when present. Returns (stream, cached)."""
    path = cache_path(n_events, seed, events_per_second)
    if path.is_file():
        try:
            with np.load(path) as z:
                arrays = {k: z[k] for k in ARRAY_FIELDS}
            return EventColumns.from_arrays(bench_assets(), **arrays), True
        except (OSError, KeyError, ValueError):
            path.unlink(missing_ok=True)  # a broken cache file is rebuilt
    cols = make_stream(n_events, seed, events_per_second=events_per_second)
    WORK.mkdir(parents=True, exist_ok=True)
    current = _generator_prefix()
    for stale in WORK.glob("stream_*.npz"):  # written by an older generator: never loadable
        if not stale.name.startswith(current):
            stale.unlink(missing_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **{k: getattr(cols, k) for k in ARRAY_FIELDS})
    tmp.replace(path)
    return cols, False
