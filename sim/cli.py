"""The ``clobsim`` command line: the composition root.

This is the one module of ``sim`` allowed to import ``exchange_mock`` and
``live``: it reads what the user asked for and wires the pieces together.
Imports are done inside the commands so ``clobsim --help`` stays fast.

Commands:
  clobsim synth --out DIR [--days N --seed S --intensity X ...]
  clobsim summary DATASET [--csv FILE]
  clobsim data check DATASET [--json FILE]
  clobsim data import CAPTURE --markets GAMMA.json [...] --out DIR
  clobsim live CONFIG --report REPORT.json [--duration S]
  clobsim serve-mock --data DIR [--markets ...] [--speed X] [--faults PLAN.toml] [--port 0]
  clobsim backtest CONFIG.toml [--out DIR]
  clobsim validate CONFIG.toml --out DIR
  clobsim record --markets M [M ...] --out DIR
  clobsim kill CONFIG.toml [--reset]
  clobsim status --url URL | --journal PATH [--json]
  clobsim doctor CONFIG.toml
  clobsim paper CONFIG.toml [--duration S]
  clobsim parity RUN_DIR --config CONFIG.toml
  clobsim report RUN_DIR [--out FILE] [--json]
  clobsim sweep CONFIG.toml --grid GRID.toml --out DIR [--workers N] [--scheduler ADDR]
  clobsim demo
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import sys
from pathlib import Path

from sim.cli_live import add_live_verbs
from sim.errors import ClobsimError, ConfigError

EXIT_CODES = """exit codes:
  0  success (validate: GO)
  1  validate: NO-GO (the report says why); data check: the dataset has errors;
     data import: nothing importable (counts say why)
  2  usage or configuration error (nothing was run); report: not a run folder, or a
     file in it that cannot be read (named)
  3  the run itself failed: a strategy callback raised (trading was halted, results so
     far and, for validate, the report are written) or clobsim hit an internal error"""
EXIT_OK, EXIT_NO_GO, EXIT_USAGE, EXIT_RUN_FAILED = 0, 1, 2, 3

#: Where `make demo` keeps the generated week (git-ignored, regenerated when missing).
DEMO_DATA = Path("data/generated/week")
DEMO_OUT = Path("out/demo")
DEMO_VALIDATION = Path("examples/window_pair_validation.toml")


def _synth_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=7, help="days to generate (default 7)")
    p.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=None,
        help="first UTC day, YYYY-MM-DD (default 2026-11-02)",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument(
        "--intensity",
        type=float,
        default=None,
        help="message-rate multiplier; 1.0 = measured Polymarket rates",
    )
    p.add_argument(
        "--assets",
        default=None,
        help="comma-separated crypto up/down underlyings (default BTC,ETH)",
    )
    p.add_argument("--window-minutes", type=int, default=None, help="up/down window length")


def _synth_config(args: argparse.Namespace):
    from exchange_mock.synth import SynthConfig

    kw: dict = {"days": args.days, "seed": args.seed}
    if args.start is not None:
        kw["start_date"] = args.start
    if args.intensity is not None:
        kw["intensity"] = args.intensity
    if args.assets is not None:
        kw["crypto_assets"] = tuple(a.strip().upper() for a in args.assets.split(",") if a.strip())
    if args.window_minutes is not None:
        kw["window_minutes"] = args.window_minutes
    return SynthConfig(**kw)


def cmd_synth(args: argparse.Namespace) -> int:
    from exchange_mock.synth import generate_dataset

    config = _synth_config(args)
    summary = generate_dataset(
        config, Path(args.out), progress=not args.quiet, overwrite=args.overwrite
    )
    print(summary)
    return 0


def _console():
    """A console wide enough for the tables even when output is piped (CI logs, files)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=150)


def _print_summary(dataset: Path, csv: Path | None, quiet: bool) -> None:
    from rich.progress import Progress

    from exchange_mock.replay_summary import summarize
    from sim.marketdata import Dataset
    from sim.report_tables import group_table, series_table

    ds = Dataset.open(dataset)
    days = ds.days()
    console = _console()
    with Progress(console=console, disable=quiet, transient=True) as progress:
        task = progress.add_task("replaying", total=len(days))

        def on_day(day: dt.date, rows: int) -> None:
            progress.update(task, advance=1, description=f"replayed {day} ({rows:,} events)")

        result = summarize(ds, on_day=on_day)
    console.print(
        f"[bold]{dataset}[/]: {result.total_events:,} events, {len(result.days)} days "
        f"({result.days[0] if result.days else '-'} .. {result.days[-1] if result.days else '-'}), "
        f"{len(result.markets)} markets"
    )
    if ds.repairs:
        repaired = ", ".join(f"{k} {v:,}" for k, v in sorted(ds.repairs.items()))
        console.print(f"replay repairs (data/README.md, Ordering and replay): {repaired}")
    console.print(series_table(result.markets))
    if len(result.groups):
        console.print(group_table(result.groups))
    if csv is not None:
        csv.parent.mkdir(parents=True, exist_ok=True)
        result.markets.to_csv(csv, index=False)
        console.print(f"per-market table: {csv}")


def cmd_summary(args: argparse.Namespace) -> int:
    _print_summary(Path(args.dataset), Path(args.csv) if args.csv else None, args.quiet)
    return 0


def cmd_data_check(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from sim.marketdata.check import check_dataset

    console = _console()
    with Progress(console=console, disable=args.quiet, transient=True) as progress:
        task = progress.add_task("checking", total=None)

        def on_file(path: Path, rows: int) -> None:
            progress.update(task, advance=1, description=f"checked {path.name} ({rows:,} rows)")

        findings = check_dataset(args.dataset, on_file=on_file)
    for line in findings.lines():
        console.print(line, markup=False, highlight=False)
    if args.json:
        Path(args.json).write_text(json.dumps(findings.to_dict(), indent=2) + "\n")
    return EXIT_OK if findings.ok else EXIT_NO_GO


def cmd_data_import(args: argparse.Namespace) -> int:
    from live.capture_import import import_capture

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty: choose a new folder")
    report = import_capture(Path(args.capture), [Path(m) for m in args.markets], out)
    console = _console()
    for line in report.lines():
        console.print(line, markup=False, highlight=False)
    return EXIT_OK if report.ok else EXIT_NO_GO


def cmd_demo(args: argparse.Namespace) -> int:
    from exchange_mock.synth import SynthConfig, generate_dataset

    data = Path(args.data)
    config = SynthConfig(intensity=args.intensity)
    meta = data / "dataset.json"
    wanted = _fingerprint(config)
    if meta.is_file() and json.loads(meta.read_text()).get("demo_fingerprint") == wanted:
        print(f"using cached data set {data} (delete it to regenerate)")
    else:
        if data.exists():
            shutil.rmtree(data)  # stale or partial: never mix two generations
        print(f"generating the {config.days}-day data set in {data} (first run only) ...")
        print(generate_dataset(config, data, progress=not args.quiet))
        stamped = json.loads(meta.read_text())
        stamped["demo_fingerprint"] = wanted
        meta.write_text(json.dumps(stamped, indent=2, sort_keys=True) + "\n")
    _print_summary(data, DEMO_OUT / "markets.csv", args.quiet)
    if args.summary_only:
        return 0
    from exchange_mock.validation import validate
    from sim.report import render_table

    console = _console()
    console.print(f"\n[bold]Paper validation[/] of {DEMO_VALIDATION} over the {config.days} days "
                  "(every scenario x seed, on all cores) ...")  # fmt: skip
    report = validate(DEMO_VALIDATION, DEMO_OUT / "validation", progress=not args.quiet)
    console.print(render_table(report))
    s = report["summary"]
    console.print(verdict_line(report))
    console.print(
        f"Baseline (fault-free) P&L {s['baseline_pnl_usdc']:+.2f} USDC, max drawdown "
        f"{s['baseline_max_drawdown_pct']:.1f} %."
    )
    console.print(f"Report: {DEMO_OUT / 'validation' / 'report.html'} (and report.md, report.json)")
    return 0


def _fingerprint(config: object) -> str:
    """Identifies a generator config (and the code's schema) for the demo cache."""
    from sim.marketdata import SCHEMA_VERSION

    body = json.dumps(dataclasses.asdict(config), default=str, sort_keys=True)
    return hashlib.sha256(f"{SCHEMA_VERSION}:{body}".encode()).hexdigest()[:16]


def cmd_backtest(args: argparse.Namespace) -> int:
    from exchange_mock import Backtest
    from sim.backtest_config import load_backtest_config
    from sim.strategy_loader import load_strategy

    cfg, base = load_backtest_config(args.config)
    if cfg.strategy is None:
        raise ConfigError("strategy", "the config has no [strategy] table")
    strategy = load_strategy(cfg.strategy, base)
    result = Backtest.from_config(cfg, strategy, progress=not (args.quiet or args.json)).run()
    console = _console()
    if args.json:  # one document on stdout for a script: the summary and the counters
        doc = {"summary": json.loads(result.summary.to_json(default_handler=str)),
               "counters": result.counters, "out": args.out,
               "error": result.error.line if result.error is not None else None}  # fmt: skip
        print(json.dumps(doc, indent=1, default=str))
    else:
        console.print(result.summary.to_string())
    if args.out:
        from sim.run_files import write_run

        out = Path(args.out)
        write_run(result, out, kind="backtest", fmt="csv")
        if not args.json:
            console.print(f"results written to {out}/ (an HTML report: clobsim report {out})")
    if result.error is not None:
        where = f"; traceback in {Path(args.out) / 'strategy_error.txt'}" if args.out else ""
        print(f"clobsim: run stopped: {result.error.line}; trading was halted (orders "
              f"cancelled){where}", file=sys.stderr)  # fmt: skip
        return EXIT_RUN_FAILED
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from exchange_mock.validation import validate
    from sim.report import render_table

    out = Path(args.out)
    report = validate(args.config, out, workers=args.workers, progress=not args.quiet,
                      live_mock=True if args.live_mock else None,
                      paper_run=args.paper_run, scheduler=args.scheduler)  # fmt: skip
    console = _console()
    console.print(render_table(report))
    console.print(verdict_line(report))
    console.print(f"report: {out / 'report.html'} (also report.md, report.json, runs/)")
    failed = report.get("run_failures") or []
    if failed:
        for f in failed:
            print(f"clobsim: run failed: {f['scenario']} seed {f['seed']}: {f['line']}",
                  file=sys.stderr)  # fmt: skip
        return EXIT_RUN_FAILED
    return EXIT_OK if report["verdict"] == "GO" else EXIT_NO_GO


def cmd_report(args: argparse.Namespace) -> int:
    from sim.report.run_page import run_json, write_run_report
    from sim.run_files import read_run

    run = read_run(args.run_dir)  # RunFolderError (exit 2) names the folder or file
    path = write_run_report(run, args.out)
    if args.json:
        from sim.report import to_jsonable

        print(json.dumps(to_jsonable(run_json(run, path)), indent=1, allow_nan=False))
    else:
        print(path)
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from exchange_mock.sweep import run_sweep

    df = run_sweep(args.config, args.grid, args.out, workers=args.workers,
                   scheduler=args.scheduler, progress=not args.quiet)  # fmt: skip
    failed = int((df["verdict"] == "FAILED").sum())
    if args.json:
        print(df.to_json(orient="records", indent=1))
    else:
        shown = [
            c
            for c in df.columns
            if c
            not in ("why", "wall_s", "events", "lost_orders", "executor_refusals", "slippage_p95")
        ]
        _console().print(df[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        counts = df["verdict"].value_counts().to_dict()
        print(
            f"{len(df)} runs ({', '.join(f'{n} {v}' for v, n in counts.items())}); "
            f"table: {Path(args.out) / 'sweep.parquet'}, runs: {Path(args.out) / 'runs'}/"
        )
    if failed:
        print(f"clobsim: {failed} run(s) never finished (the why column says why: a worker "
              "that kept dying, a machine error); run the same command again to retry them",
              file=sys.stderr)  # fmt: skip
        return EXIT_RUN_FAILED
    return EXIT_OK


def verdict_line(report: dict) -> str:
    """The verdict in one line: both halves, and the first reason when it is NO-GO."""
    s = report["summary"]
    line = (f"[bold]{report['verdict']}[/]: safety {report['safety']['verdict']} "
            f"({s['checks_passed']}/{s['checks_total']} checks), performance "
            f"{report['performance']['verdict']}; {len(report['runs'])} runs in "
            f"{report['wall_s']:.1f} s, peak memory {report['peak_rss_mb']:.0f} MB")  # fmt: skip
    if report["verdict"] != "GO" and report.get("why"):
        line += f"\n[bold]Why:[/] {report['why']}"
    return line


def _workers(text: str) -> int:
    """``--workers``: 0 = one process per core, N >= 1 = that many; anything else refused."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 = one per core), got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clobsim", description=__doc__.split("\n")[0], epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--version", action="version", version=f"clobsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a synthetic multi-day recording")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing dataset in --out (never a folder that is not one)",
    )
    _synth_args(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("summary", help="replay a dataset and summarise it per market")
    p.add_argument("dataset", help="dataset folder (with dataset.json)")
    p.add_argument("--csv", default=None, help="also write the per-market table here")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("data", help="check a dataset, or import a WebSocket capture")
    data = p.add_subparsers(dest="data_command", required=True)
    p = data.add_parser(
        "check", help="every problem in a dataset, grouped and counted",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("dataset", help="dataset folder (with dataset.json)")
    p.add_argument("--json", default=None, help="also write the findings as JSON here")
    p.set_defaults(func=cmd_data_check)
    p = data.add_parser(
        "import", help="turn a JSON-lines capture of market-channel frames into a dataset",
        description="Capture format: docs/data-capture.md",
    )  # fmt: skip
    p.add_argument("capture", help="JSON-lines capture (.jsonl, .jsonl.gz)")
    p.add_argument("--markets", nargs="+", required=True,
                   help="Gamma market JSON file(s) describing the captured markets")  # fmt: skip
    p.add_argument("--out", required=True, help="new dataset folder to write")
    p.set_defaults(func=cmd_data_import)

    p = sub.add_parser("backtest", help="run a strategy over recorded data (TOML config)")
    p.add_argument("config", help="backtest config (see docs/config.md)")
    p.add_argument(
        "--out",
        default=None,
        help="folder for the run (CSV tables, summary.json, "
        "counters.json; clobsim report reads it)",
    )
    p.add_argument(
        "--json", action="store_true", help="print the summary and counters as one JSON document"
    )
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser(
        "validate", help="paper validation: scenarios x seeds -> GO/NO-GO report",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("config", help="backtest config with a [validation] table")
    p.add_argument("--out", required=True, help="folder for report.md/html/json and runs/")
    p.add_argument("--workers", type=_workers, default=None,
                   help="parallel runs: 0 = one per core, 1 = serial (default: the config's "
                        "[validation] workers, itself 0 by default)")  # fmt: skip
    p.add_argument("--scheduler", default=None,
                   help="a Dask scheduler's address (tcp://HOST:8786) to run on its workers "
                        "(default: DASK_SCHEDULER_ADDRESS, else a local cluster)")  # fmt: skip
    p.add_argument("--live-mock", action="store_true",
                   help="also run the live-mock target: the scenarios through the live "
                        "adapter (LiveVenue, both WebSocket channels) against a loopback "
                        "Polymarket on 127.0.0.1 ([validation.live_mock] sets its length and "
                        "speed; `enabled = true` there does the same as this flag)")  # fmt: skip
    p.add_argument("--paper-run", default=None,
                   help="also judge this `clobsim paper` run folder (its days, feed health, "
                        "strategy errors and parity); the config must be that run's")  # fmt: skip
    p.set_defaults(func=cmd_validate)

    add_live_verbs(sub)

    p = sub.add_parser(
        "report", help="an HTML report of a finished run folder (backtest, paper, live, validate)",
        description="Writes RUN_DIR/report.html (or --out) and prints its path. See "
                    "docs/report.md.", epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (clobsim backtest --out, "
                   "paper, live, validate --out)")  # fmt: skip
    p.add_argument("--out", default=None, help="the HTML file to write (default "
                   "RUN_DIR/report.html)")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help="print {path, kind, summary, counters} as JSON, not the path")  # fmt: skip
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "sweep", help="backtests over a grid of parameters x seeds, on Dask, into one table",
        description="Runs the product of GRID.toml's [grid] keys, [latency] models, [faults] "
                    "sets and seeds as backtests of CONFIG (a local Dask cluster by default, "
                    "--scheduler for an existing one) into OUT/sweep.parquet (one row per "
                    "run) and OUT/runs/<id>/. Finished runs are not run again. See "
                    "exchange_mock/sweep_grid.py for the grid's format.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("config", help="a backtest config (its [validation.acceptance] judges runs)")
    p.add_argument("--grid", required=True, help="the grid (TOML)")
    p.add_argument("--out", required=True, help="the sweep's folder (resumed if it exists)")
    p.add_argument("--workers", type=_workers, default=0,
                   help="local processes: 0 = one per core, 1 = serial, no Dask")  # fmt: skip
    p.add_argument("--scheduler", default=None,
                   help="a Dask scheduler's address (tcp://HOST:8786): run on its workers "
                        "(default: DASK_SCHEDULER_ADDRESS, else a local cluster)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("demo", help="generate the demo week (cached) and summarise it")
    p.add_argument("--data", default=str(DEMO_DATA), help=f"dataset folder (default {DEMO_DATA})")
    p.add_argument("--intensity", type=float, default=0.25, help="message-rate multiplier")
    p.add_argument("--summary-only", action="store_true", help="skip the paper validation")
    p.set_defaults(func=cmd_demo)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("clobsim")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ClobsimError as exc:
        print(f"clobsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, FileExistsError, NotADirectoryError, PermissionError) as exc:
        # a user's path mistake (missing dataset, occupied output folder): no traceback
        print(f"clobsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("clobsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # not the user's mistake: ours. Say so, keep the trace.
        import traceback

        traceback.print_exc(file=sys.stderr)
        print(f"clobsim: run failed (internal error, please report it): "
              f"{type(exc).__name__}: {exc}", file=sys.stderr)  # fmt: skip
        return EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
