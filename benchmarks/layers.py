"""Where a clobsim requote's time goes: the 100 ms quoter with one layer added at a time.

    python -m benchmarks.layers [--events N] [--events-per-second R] [--seed S] [--quick]
                                [--repeat K] [--out PATH]

On the bench's default stream (``benchmarks.stream``, cached in ``_work/``), four
backtests through the real ``exchange_mock.Backtest``, each one layer more than
the one before:

(a) ``replay``: no strategy work at all (``clobsim_runs.replay_only``'s strategy);
(b) ``timer``: a strategy with the quoter's 100 ms timer whose ``on_timer`` does
    nothing: the engine's loop stopping the feed every 100 ms and one callback;
(c) ``venue``: on that timer, read the book and send the quotes straight to
    ``SimVenue`` (one ``cancel_many`` of 2, one ``place_many`` of 2), no executor;
    the venue's acks, order updates and fills go through the engine but not the
    executor (``clobsim_runs._VenueQuoter``);
(d) ``executor``: the same quotes through ``ctx.orders`` and every executor guard,
    exactly the ``quote_100ms`` run of ``make bench`` (``clobsim_runs._Quoter``).

Each layer's time is divided by the quoter's requote count (the timer's firings,
the same in (b)-(d); (a) is divided by it too), so the delta between two rows is
what that layer adds per requote. Best of ``--repeat`` (layers interleaved, so a
slow spell of a shared machine hits all of them). Prints a table and writes
``benchmarks/layers.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import clobsim_runs
from benchmarks.stream import EVENTS_PER_SECOND, STREAM_VERSION, simulated_seconds
from benchmarks.stream_cache import load_stream
from sim.marketdata import EventColumns
from sim.strategy import Strategy

HERE = Path(__file__).resolve().parent
OUT = HERE / "layers.json"
DEFAULT_EVENTS = 5_000_000
QUICK_EVENTS = 200_000


class _IdleTimer(Strategy):
    """The quoter's 100 ms timer and nothing else: ``on_timer`` only counts."""

    def on_start(self, ctx):
        self.requotes = 0
        ctx.schedule("quote", every_s=0.1)

    def on_timer(self, ctx, name):
        self.requotes += 1


@dataclass(frozen=True)
class Layer:
    key: str
    what: str
    strategy: type[Strategy]
    executor: bool  # False: the strategy is handed SimVenue and the executor is bypassed


LAYERS = (
    Layer("a", "replay only (no strategy work)", clobsim_runs._NoOp, True),
    Layer("b", "+ 100 ms timer, on_timer does nothing", _IdleTimer, True),
    Layer("c", "+ book read, cancel 2 + place 2 to SimVenue", clobsim_runs._VenueQuoter, False),
    Layer("d", "+ executor (ctx.orders): the quote_100ms run", clobsim_runs._Quoter, True),
)


def measure(stream: EventColumns, repeat: int = 3, *, log=None) -> dict:
    """Best-of-``repeat`` seconds of each layer on ``stream``, and the requote count."""
    best: dict[str, float] = {}
    all_seconds: dict[str, list[float]] = {layer.key: [] for layer in LAYERS}
    requotes: dict[str, int] = {}
    for rep in range(max(repeat, 1)):
        for layer in LAYERS:
            strategy = layer.strategy()
            out = clobsim_runs._run(strategy, stream, executor=layer.executor)
            if out["events"] != len(stream):
                raise RuntimeError(f"layer {layer.key} consumed {out['events']} events")
            all_seconds[layer.key].append(out["seconds"])
            best[layer.key] = min(best.get(layer.key, float("inf")), out["seconds"])
            if hasattr(strategy, "requotes"):
                requotes[layer.key] = strategy.requotes
            if log is not None:
                log(f"  repetition {rep + 1}, layer ({layer.key}): {out['seconds']:.2f} s")
    if len(set(requotes.values())) != 1:
        raise RuntimeError(f"the layers' timers fired different numbers of times: {requotes}")
    n_requotes = next(iter(requotes.values()))
    rows = []
    prev = None
    for layer in LAYERS:
        us = best[layer.key] / max(n_requotes, 1) * 1e6
        rows.append({
            "layer": layer.key,
            "what": layer.what,
            "seconds": round(best[layer.key], 4),
            "all_seconds": [round(s, 4) for s in all_seconds[layer.key]],
            "eps": round(len(stream) / best[layer.key], 1),
            "us_per_requote": round(us, 2),
            "delta_us_per_requote": None if prev is None else round(us - prev, 2),
        })  # fmt: skip
        prev = us
    return {"requotes": n_requotes, "layers": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.layers", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--events", type=int, default=None, help="stream rows (default 5,000,000)")
    ap.add_argument(
        "--events-per-second",
        type=float,
        default=EVENTS_PER_SECOND,
        help=f"the stream's rows per simulated second (default {EVENTS_PER_SECOND:,.0f})",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS:,} rows, one repetition")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions, best kept (default 3)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    n = args.events or (QUICK_EVENTS if args.quick else DEFAULT_EVENTS)
    repeat = args.repeat or (1 if args.quick else 3)
    con = Console()

    t0 = time.perf_counter()
    stream, cached = load_stream(n, args.seed, events_per_second=args.events_per_second)
    sim_s = simulated_seconds(stream)
    con.print(
        f"stream: {n:,} rows, seed {args.seed}, {sim_s / 60:.1f} min simulated "
        f"({n / sim_s:,.0f} rows/s); {'loaded' if cached else 'generated'} in "
        f"{time.perf_counter() - t0:.1f} s; {len(LAYERS)} layers x {repeat} ..."
    )
    res = measure(stream, repeat, log=con.print)

    table = Table(
        title=f"clobsim per requote, {n:,} rows, {res['requotes']:,} requotes, best of {repeat}"
    )
    table.add_column("layer")
    table.add_column("what")
    table.add_column("ev/s", justify="right")
    table.add_column("µs/requote", justify="right")
    table.add_column("Δ vs previous", justify="right")
    for row in res["layers"]:
        d = row["delta_us_per_requote"]
        table.add_row(
            f"({row['layer']})",
            row["what"],
            f"{row['eps'] / 1e6:,.2f} M",
            f"{row['us_per_requote']:,.1f}",
            "-" if d is None else f"{d:+,.1f}",
        )
    con.print(table)

    out = {
        "events": n,
        "seed": args.seed,
        "rows_per_s": args.events_per_second,
        "simulated_s": round(sim_s, 3),
        "stream_version": STREAM_VERSION,
        "repeat": repeat,
        **res,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    con.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
