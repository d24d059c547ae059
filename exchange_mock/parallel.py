"""Independent runs spread over processes with Dask: local by default, a cluster with no
code change. ``clobsim validate`` and ``clobsim sweep`` both go through ``run_tasks``.

Where the runs go, in order:

1. ``workers = 1`` and no scheduler: serially, in this process (no Dask at all; what a
   debugger or a profiler wants);
2. a scheduler address (``--scheduler tcp://host:8786``), or else Dask's own setting
   (``DASK_SCHEDULER_ADDRESS`` in the environment, or ``scheduler-address`` in a Dask
   config file): that cluster's workers;
3. otherwise a local cluster of ``workers`` processes (0 = one per core), one thread
   each, bound to 127.0.0.1 (its dashboard too, on a free port), started for the call and closed
   after it.

Each run is one task with a stable key (``<prefix>-<key>``): results come back by key,
so a run is counted once however often it ran. A worker that dies mid-run (killed, out
of memory) has its runs started again on another worker by the scheduler (up to
Dask's ``distributed.scheduler.allowed-failures``, 3 by default); a run that still
cannot finish comes back as a ``TaskFailed`` naming the run and why, never dropped.
A task that raises is retried ``retries`` times (the task functions here catch a
strategy's or a run's own errors, so what reaches Dask is the machinery failing).

A cluster's workers must see the same files as this process: the dataset, the
config's folder (strategy source) and the output folder, at the same paths (shared
storage, or the same machine). Nothing else is shipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sim.errors import ClobsimError

log = logging.getLogger(__name__)
#: how long a scheduler named by address may take to answer before it counts as down
CONNECT_TIMEOUT_S = 15


class SchedulerUnreachable(ClobsimError):
    """The Dask scheduler named by ``--scheduler`` (or Dask's setting) does not answer."""


@dataclass(frozen=True)
class TaskFailed:
    """A run that did not come back: its key and why (``KilledWorker``: its worker died
    more often than the scheduler allows; anything else: the machinery raised)."""

    key: str
    why: str


def release_memory() -> None:
    """After a run, before the next on the same worker: collect the run's cyclic object
    graph (executor, venue, books hold each other and the day arrays) and hand the freed
    heap back to the system (glibc keeps it otherwise, and the next run's peak stacks on
    top). Without glibc only the collection happens."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the collection only
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The scheduler to use: ``scheduler``, else Dask's configured one, else None."""
    if scheduler:
        return scheduler
    import dask

    return dask.config.get("scheduler-address", None) or None


@contextmanager
def dask_client(workers: int = 0, scheduler: str | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` on ``scheduler`` (or Dask's configured one), else on a
    local cluster of ``workers`` processes (0 = one per core), closed on exit."""
    from distributed import Client, LocalCluster

    address = scheduler_address(scheduler)
    if address:
        try:
            client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachable(
                f"cannot reach the Dask scheduler at {address} ({exc}); is it running? (it "
                "comes from --scheduler, or else DASK_SCHEDULER_ADDRESS or a Dask config)"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0",
                           silence_logs=logging.ERROR)  # fmt: skip
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_tasks(
    fn: Callable[..., Any], jobs: Sequence[tuple], keys: Sequence[str], *, workers: int = 0,
    scheduler: str | None = None, prefix: str = "clobsim", retries: int = 1,
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:  # fmt: skip
    """``fn(*job)`` for every job; the results in job order (a ``TaskFailed`` where a run
    never came back). ``on_done(index, result)`` as each finishes (a progress bar)."""
    if len(keys) != len(jobs) or len(set(keys)) != len(keys):
        raise ValueError("one distinct key per job")
    results: list[Any] = [None] * len(jobs)
    if not jobs:
        return results
    if workers == 1 and not scheduler_address(scheduler):
        for i, job in enumerate(jobs):
            results[i] = fn(*job)
            if on_done is not None:
                on_done(i, results[i])
        return results
    from distributed import as_completed

    n = min(workers or os.cpu_count() or 1, len(jobs))
    with dask_client(n, scheduler) as client:
        index = {}
        futures = []
        for i, (job, key) in enumerate(zip(jobs, keys, strict=True)):
            f = client.submit(fn, *job, key=f"{prefix}-{key}", pure=False, retries=retries)
            index[f.key] = i
            futures.append(f)
        for f in as_completed(futures):
            i = index[f.key]
            try:
                results[i] = f.result()
            except Exception as exc:  # the run never came back: say which and why
                why = f"{type(exc).__name__}: {exc}"
                log.error("run %s did not finish: %s", keys[i], why)
                results[i] = TaskFailed(keys[i], why)
            f.release()
            if on_done is not None:
                on_done(i, results[i])
    return results
