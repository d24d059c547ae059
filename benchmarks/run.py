"""``make bench``: clobsim against hftbacktest on two seeded L2 streams, in one process.

    python -m benchmarks.run [--events N] [--sparse-events M] [--seed S] [--quick]
                             [--repeat R] [--only STREAM] [--out PATH]

Generates (or loads from ``benchmarks/_work/``) each stream, converts it for
hftbacktest, runs (a) replay only and (b) a quoter re-quoting every 100 ms of
simulated time on both engines, prints events/s, the clobsim/hftbacktest ratios
and the quoters' microseconds per requote, and writes ``benchmarks/results.json``.

The streams (same generator, same seed, different clock):

* ``default``: ~1,400 rows per simulated second, 5,000,000 rows (~1 hour);
* ``sparse_300rps``: ~300 rows per simulated second; by default as many rows as
  cover the same simulated time (~1,071,000), so both quoters requote as often.

::

    {"replay": {"clobsim_eps": .., "hftbacktest_eps": ..},
     "quote_100ms": {"clobsim_eps": .., "hftbacktest_eps": ..,
                     "clobsim_us_per_requote": .., "hftbacktest_us_per_requote": ..},
     "stream": {"events": .., "rows_per_s": 1400.0, "simulated_s": ..},
     "sparse_300rps": {"replay": {..}, "quote_100ms": {..}, "stream": {..}},
     "jit_cold_s": .., "jit_warm_s": .., "peak_rss_mb": ..}

The default stream's numbers stay at the top level (as before the sparse stream
existed). A run that does not exist yet (``NotImplementedError``) is "pending" and
null in the JSON. Per-run details (requotes, fills, seconds, ...) go to
``benchmarks/_work/details.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks import clobsim_runs, hftb
from benchmarks.stream import (
    EVENTS_PER_SECOND,
    SPARSE_EVENTS_PER_SECOND,
    STREAM_VERSION,
    simulated_seconds,
)
from benchmarks.stream_cache import WORK, load_stream

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
DEFAULT_EVENTS = 5_000_000
QUICK_EVENTS = 200_000
#: hftbacktest's numbers on this machine quoted in the product issue (default stream).
PEER_REFERENCE_EPS = {"replay": 19.7e6, "quote_100ms": 10.9e6}
#: Stop repeating a run once one repetition took this long.
REPEAT_BUDGET_S = 10.0
DEFAULT_STREAM = "default"
SPARSE_STREAM = "sparse_300rps"


@dataclass(frozen=True)
class BenchStream:
    """One stream of the bench: its key in ``results.json``, rate and row count."""

    key: str
    events_per_second: float
    n_events: int

    @property
    def label(self) -> str:
        return f"{self.events_per_second:,.0f} rows/s"


def sparse_rows(n_default: int) -> int:
    """Rows of the sparse stream covering the simulated time ``n_default`` default rows do."""
    return max(round(n_default * SPARSE_EVENTS_PER_SECOND / EVENTS_PER_SECOND), 200)


def _timed(fn: Callable[..., dict], arg: object, n_events: int, repeat: int) -> dict:
    """Best (shortest) of up to ``repeat`` runs of ``fn(arg)``."""
    best: dict | None = None
    runs = []
    for _ in range(max(repeat, 1)):
        out = fn(arg)
        if out["events"] != n_events:
            raise RuntimeError(f"{fn.__module__}.{fn.__name__} consumed {out['events']} events")
        runs.append(out["seconds"])
        if best is None or out["seconds"] < best["seconds"]:
            best = out
        if out["seconds"] > REPEAT_BUDGET_S:
            break
    assert best is not None
    out = {**best, "eps": n_events / best["seconds"], "all_seconds": runs}
    if best.get("requotes"):  # wall seconds of the whole run (replay included) per requote
        out["us_per_requote"] = best["seconds"] / best["requotes"] * 1e6
    return out


def _contender(fn: Callable[..., dict], arg: object, n: int, repeat: int) -> dict:
    try:
        return {"status": "ok", **_timed(fn, arg, n, repeat)}
    except NotImplementedError as exc:
        return {"status": "pending", "reason": str(exc) or "not implemented"}
    except Exception as exc:  # one engine failing must not hide the other's numbers
        traceback.print_exc()
        return {"status": "error", "reason": f"{type(exc).__name__}: {exc}"}


def run_stream(con: Console, bs: BenchStream, seed: int, repeat: int) -> dict:
    """Both runs on both engines for one stream: ``{"meta": {...}, "runs": {...}}``."""
    n = bs.n_events
    t0 = time.perf_counter()
    stream, cached = load_stream(n, seed, events_per_second=bs.events_per_second)
    t_stream = time.perf_counter() - t0
    sim_s = simulated_seconds(stream)
    kinds = np.bincount(stream.kind, minlength=5)
    con.print(
        f"stream {bs.key}: {n:,} rows, seed {seed}, {sim_s / 60:.1f} min simulated "
        f"({n / sim_s:,.0f} rows/s), level changes {kinds[3] / n:.1%}, "
        f"trades {kinds[4] / n:.1%}; {'loaded' if cached else 'generated'} in {t_stream:.1f} s"
    )
    t0 = time.perf_counter()
    data = hftb.to_hftbacktest(stream)  # must stay alive while any backtest runs on it
    t_conv = time.perf_counter() - t0

    runs: dict[str, dict[str, dict]] = {}
    for name, ours, peer in (
        ("replay", clobsim_runs.replay_only, hftb.replay_only),
        ("quote_100ms", clobsim_runs.quote_100ms, hftb.quote_100ms),
    ):
        con.print(f"  running {name} ...")
        runs[name] = {
            "clobsim": _contender(ours, stream, n, repeat),
            "hftbacktest": _contender(peer, data, n, repeat),
        }
    del data  # only now: hftbacktest held a raw pointer into it
    meta = {
        "events": n,
        "seed": seed,
        "rows_per_s": bs.events_per_second,
        "simulated_s": round(sim_s, 3),
        "kind_counts": {str(k): int(c) for k, c in enumerate(kinds) if c},
        "stream_seconds": t_stream,
        "stream_cached": cached,
        "hftbacktest_convert_seconds": t_conv,
    }
    return {"meta": meta, "runs": runs}


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kb / 1024.0


def _fmt_eps(r: dict) -> str:
    if r["status"] == "ok":
        return f"{r['eps'] / 1e6:,.2f} M"
    return r["status"]


def _fmt_us(r: dict) -> str:
    return f"{r['us_per_requote']:,.1f}" if "us_per_requote" in r else "-"


def _results_block(out: dict) -> dict:
    """The JSON numbers of one stream."""

    def eps(r: dict) -> float | None:
        return round(r["eps"], 1) if r["status"] == "ok" else None

    def us(r: dict) -> float | None:
        return round(r["us_per_requote"], 3) if "us_per_requote" in r else None

    block: dict = {}
    for name, r in out["runs"].items():
        block[name] = {"clobsim_eps": eps(r["clobsim"]), "hftbacktest_eps": eps(r["hftbacktest"])}
        if name == "quote_100ms":
            block[name]["clobsim_us_per_requote"] = us(r["clobsim"])
            block[name]["hftbacktest_us_per_requote"] = us(r["hftbacktest"])
    m = out["meta"]
    block["stream"] = {k: m[k] for k in ("events", "rows_per_s", "simulated_s")}
    return block


def _eps_table(outs: dict[str, dict], streams: dict[str, BenchStream], repeat: int) -> Table:
    table = Table(title=f"events/s, best of {repeat} (ratio = clobsim / hftbacktest)")
    table.add_column("stream")
    table.add_column("run")
    table.add_column("clobsim", justify="right")
    table.add_column("hftbacktest", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("peer in issue", justify="right", style="dim")
    for key, out in outs.items():
        bs = streams[key]
        first_cells = (bs.label, f"{bs.n_events:,} rows")  # the stream, over its rows
        for i, (name, r) in enumerate(out["runs"].items()):
            a, b = r["clobsim"], r["hftbacktest"]
            ok = a["status"] == b["status"] == "ok"
            peer = PEER_REFERENCE_EPS[name] if key == DEFAULT_STREAM else None
            table.add_row(
                first_cells[i] if i < len(first_cells) else "",
                name,
                _fmt_eps(a),
                _fmt_eps(b),
                f"{a['eps'] / b['eps']:.3f}x" if ok else "-",
                "-" if peer is None else f"{peer / 1e6:.1f} M",
                end_section=i == len(out["runs"]) - 1,
            )
    return table


def _requote_table(outs: dict[str, dict], streams: dict[str, BenchStream]) -> Table:
    table = Table(title="quote_100ms: µs per requote (wall seconds of the run / requotes)")
    table.add_column("stream")
    table.add_column("requotes", justify="right")
    table.add_column("clobsim", justify="right")
    table.add_column("no executor", justify="right", style="dim")
    table.add_column("hftbacktest", justify="right")
    table.add_column("clobsim/hftb", justify="right")
    for key, out in outs.items():
        a, b = out["runs"]["quote_100ms"]["clobsim"], out["runs"]["quote_100ms"]["hftbacktest"]
        ok = "us_per_requote" in a and "us_per_requote" in b
        floor = a.get("no_executor_us_per_requote")
        table.add_row(
            streams[key].label,
            f"{(a if 'requotes' in a else b).get('requotes', 0):,}",
            _fmt_us(a),
            "-" if floor is None else f"{floor:,.1f}",
            _fmt_us(b),
            f"{a['us_per_requote'] / b['us_per_requote']:,.0f}x" if ok else "-",
        )
    return table


def _print_quoters(con: Console, key: str, out: dict) -> None:
    q = out["runs"]["quote_100ms"]["hftbacktest"]
    if q["status"] == "ok":
        con.print(
            f"{key}, hftbacktest quoter: {q['requotes']:,} requotes, "
            f"{q['orders_submitted']:,} orders, {q['cancels']:,} cancels, {q['fills']:,} fills, "
            f"{q['order_errors']} order errors, {q['us_per_requote']:.1f} us per requote"
        )
    c = out["runs"]["quote_100ms"]["clobsim"]
    if c["status"] == "ok":
        con.print(
            f"{key}, clobsim quoter: {c['requotes']:,} requotes, {c['orders']:,} orders, "
            f"{c['fills']:,} fills, {c['us_per_requote']:.0f} us per requote; the same quotes "
            f"straight to SimVenue, no executor: {c['no_executor_eps'] / 1e6:.2f} M ev/s "
            f"({c['no_executor_us_per_requote']:.0f} us per requote, the engine + venue floor)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--events", type=int, default=None, help="rows of the default stream (5,000,000)"
    )
    ap.add_argument(
        "--sparse-events",
        type=int,
        default=None,
        help="rows of the sparse stream (default: the default stream's simulated time)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--quick", action="store_true", help=f"{QUICK_EVENTS:,} default rows, one repetition"
    )
    ap.add_argument("--repeat", type=int, default=None, help="repetitions, best kept (default 3)")
    ap.add_argument(
        "--only", choices=(DEFAULT_STREAM, SPARSE_STREAM), default=None, help="one stream only"
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    n = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    repeat = args.repeat or (1 if args.quick else 3)
    con = Console()

    streams = {
        DEFAULT_STREAM: BenchStream(DEFAULT_STREAM, EVENTS_PER_SECOND, n),
        SPARSE_STREAM: BenchStream(
            SPARSE_STREAM, SPARSE_EVENTS_PER_SECOND, args.sparse_events or sparse_rows(n)
        ),
    }
    if args.only:
        streams = {args.only: streams[args.only]}
    outs = {key: run_stream(con, bs, args.seed, repeat) for key, bs in streams.items()}

    con.print("jit timings (fresh interpreters, cold then warm numba cache) ...")
    try:
        jit_cold, jit_warm = clobsim_runs.jit_timings()
        jit_status = "ok"
    except NotImplementedError:
        jit_cold = jit_warm = None
        jit_status = "pending"
    except Exception as exc:
        traceback.print_exc()
        jit_cold = jit_warm = None
        jit_status = f"error: {type(exc).__name__}: {exc}"
    rss = peak_rss_mb()

    results: dict = {}
    for key, out in outs.items():
        block = _results_block(out)
        if key == DEFAULT_STREAM:
            results.update(block)  # top level, where readers found it before
        else:
            results[key] = block
    results["jit_cold_s"] = None if jit_cold is None else round(jit_cold, 3)
    results["jit_warm_s"] = None if jit_warm is None else round(jit_warm, 3)
    results["peak_rss_mb"] = round(rss, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    details = {
        "stream_version": STREAM_VERSION,
        "hftbacktest_version": hftb.HFTB_VERSION,
        "repeat": repeat,
        "streams": outs,
        "jit": {"status": jit_status, "cold_s": jit_cold, "warm_s": jit_warm},
        "results": results,
    }
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "details.json").write_text(json.dumps(details, indent=2, default=float) + "\n")

    con.print(_eps_table(outs, streams, repeat))
    con.print(_requote_table(outs, streams))
    for key, out in outs.items():
        _print_quoters(con, key, out)
    for key, out in outs.items():
        for name, r in out["runs"].items():
            for who, x in r.items():
                if x["status"] != "ok":
                    con.print(f"{key} / {name} / {who}: {x['status']} ({x['reason']})")
    if jit_cold is not None:
        con.print(f"jit: cold {jit_cold:.2f} s, warm {jit_warm:.2f} s (whole fresh interpreter)")
    else:
        con.print(f"jit: {jit_status}")
    con.print(f"peak RSS: {rss:,.0f} MB; wrote {args.out}")
    failed = jit_status.startswith("error") or any(
        x["status"] == "error"
        for out in outs.values()
        for r in out["runs"].values()
        for x in r.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
