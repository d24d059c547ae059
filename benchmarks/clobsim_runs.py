"""clobsim's side of the benchmark: the plug-in point for the engine.

``benchmarks.run`` calls three functions, each free to use whatever clobsim offers:

* ``replay_only(stream) -> {"events": int, "seconds": float, ...}``: every row of
  ``stream`` replayed through clobsim's books, with no strategy;
* ``quote_100ms(stream) -> {...}`` (same keys): a plain Python strategy that
  cancels and re-posts a bid at best bid and an ask at best ask every 100 ms of
  simulated time, through the full executor path;
* ``jit_timings() -> (cold_s, warm_s)``: wall time of a fresh interpreter that
  imports the kernels and replays a tiny stream, first with an empty numba cache
  (compiles) and then with the cache it left behind.

``seconds`` must cover the run only (no stream generation, no JIT compilation:
warm the kernels on a small prefix first). Extra keys are shown by ``run.py``
and saved to ``benchmarks/_work/details.json``. Raise ``NotImplementedError`` for
what does not exist yet: the run is reported as pending.

Until the engine lands, ``replay_only`` measures what exists: the replay kernel
of ``exchange_mock.replay_stats`` (tick-indexed ladders, incremental best
bid/ask, time-weighted spread and top-5 depth per event).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from exchange_mock.replay_stats import N_KINDS, ReplayState
from sim.marketdata import EventColumns

ROOT = Path(__file__).resolve().parents[1]
_WARM_ROWS = 20_000


def one_market_state(grid: int = 1_000) -> ReplayState:
    """A ``ReplayState`` for one binary market (assets 0 and 1), built without a Dataset."""
    n = 2
    return ReplayState(
        grid=grid,
        bid=np.zeros((n, grid + 1)),
        ask=np.zeros((n, grid + 1)),
        best_bid=np.full(n, -1, dtype=np.int64),
        best_ask=np.full(n, grid + 1, dtype=np.int64),
        last_ts=np.zeros(n, dtype=np.int64),
        events=np.zeros((n, N_KINDS), dtype=np.int64),
        spread_ns=np.zeros(n),
        depth_ns=np.zeros(n),
        quoted_ns=np.zeros(n),
        first_ts=np.full(n, -1, dtype=np.int64),
        group_members=np.full((1, 1), -1, dtype=np.int64),  # not a neg-risk group
        group_of_asset=np.full(n, -1, dtype=np.int64),
        group_below=np.zeros(1, dtype=np.bool_),
        group_start=np.zeros(1, dtype=np.int64),
        group_episodes=np.zeros(1, dtype=np.int64),
        group_below_ns=np.zeros(1, dtype=np.int64),
        group_min_sum=np.full(1, np.inf),
    )


def replay_only(stream: EventColumns) -> dict:
    """Replay every row through the replay kernel's books; time the kernel call only."""
    one_market_state().replay(stream.take(np.arange(min(len(stream), _WARM_ROWS))))  # JIT
    state = one_market_state()
    t0 = time.perf_counter()
    state.replay(stream)
    seconds = time.perf_counter() - t0
    return {
        "events": len(stream),
        "seconds": seconds,
        "engine": "exchange_mock.replay_stats kernel",
        "rows_applied": int(state.events.sum()),
    }


def quote_100ms(stream: EventColumns) -> dict:
    """Python quoter through the full executor path: waits for the clobsim engine."""
    raise NotImplementedError("clobsim engine pending")


# A fresh interpreter: import the kernels and replay a tiny stream (a snapshot and changes).
_JIT_PROBE = """
import numpy as np
from benchmarks.clobsim_runs import one_market_state
from sim.marketdata import EventColumns
n = 64
k = np.full(n, 3); k[0] = 1; k[1:9] = 2; k[40::7] = 4
side = np.where(np.arange(n) % 2 == 0, 1, -1); side[0] = 0
price = np.where(side > 0, 0.40, 0.60) - side * 0.01 * (np.arange(n) % 5); price[0] = 0.0
ts = np.arange(n) * 1_000_000 + 1
cols = EventColumns.from_arrays(
    ("1", "2"), ts_exchange_ns=ts, ts_recv_ns=ts,
    seq=np.arange(1, n + 1), asset=np.zeros(n), kind=k, side=side, price=price,
    size=np.where(k == 1, 0.0, 100.0),
)
s = one_market_state()
s.replay(cols)
assert s.events.sum() == n
"""


def _probe(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _JIT_PROBE], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return time.perf_counter() - t0


def jit_timings() -> tuple[float, float]:
    """(cold, warm) wall seconds of a fresh interpreter that imports and replays a tiny stream.

    Cold: ``NUMBA_CACHE_DIR`` points at an empty folder, so every kernel compiles.
    Warm: the same folder again, so the kernels load from the cache just written.
    """
    with tempfile.TemporaryDirectory(prefix="clobsim-jit-") as cache:
        cold = _probe(cache)
        warm = _probe(cache)
    return cold, warm
