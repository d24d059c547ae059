"""The ``clobsim`` verbs of the live side: ``live``, ``serve-mock``, ``paper``, ``parity``,
``kill``, ``doctor``, ``status``, ``record`` (their parsers and the thin calls into
``live/`` and ``exchange_mock/``; ``sim.cli`` owns the rest and the entry point)."""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_OK = 0  # sim.cli.EXIT_OK (sim.cli imports this module)


def cmd_live(args: argparse.Namespace) -> int:
    from live.run_live import run_live

    return run_live(args.config, report=args.report, unvalidated=args.unvalidated,
                    duration_s=args.duration, ops_port=args.ops_port)  # fmt: skip


def cmd_serve_mock(args: argparse.Namespace) -> int:
    from exchange_mock.server.serve import ServeOptions, run

    opts = ServeOptions(
        data=Path(args.data), markets=tuple(args.markets), speed=args.speed,
        faults=Path(args.faults) if args.faults else None, port=args.port, seed=args.seed,
        cash_usdc=args.cash, secrets_file=Path(args.secrets_file), key_env=args.key_env,
    )  # fmt: skip
    return run(opts)


def cmd_paper(args: argparse.Namespace) -> int:
    from live.paper_cmd import run_paper

    return run_paper(args.config, duration_s=args.duration, ops_port=args.ops_port)


def cmd_parity(args: argparse.Namespace) -> int:
    from live.paper_cmd import run_parity

    return run_parity(args.run_dir, args.config)


def cmd_kill(args: argparse.Namespace) -> int:
    """Trip (or reset) the kill switch file a run of CONFIG watches."""
    from sim.backtest_config import load_backtest_config
    from sim.executor.trading_state import KillSwitch

    cfg, _ = load_backtest_config(args.config)
    switch = KillSwitch(Path(cfg.executor.kill_switch_path).absolute())
    if args.reset:
        switch.reset()
        print(f"kill switch reset: {switch.path} removed (a halted run stays halted until "
              f"it is restarted)")  # fmt: skip
    else:
        switch.trip(args.reason)
        print(f"kill switch tripped: {switch.path} ({args.reason}); a run watching it halts "
              f"at its next check and cancels every open order")  # fmt: skip
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from live.doctor import run_doctor

    return run_doctor(args.config, as_json=args.json)


def cmd_status(args: argparse.Namespace) -> int:
    from live.status_cmd import run_status

    return run_status(args.url, args.journal, args.json)


def cmd_record(args: argparse.Namespace) -> int:
    from live.record_cmd import run_record

    return run_record(args.host, args.ws_url, list(args.markets), args.out,
                      flush_s=args.flush_s, duration_s=args.duration,
                      discover_s=args.discover_s)  # fmt: skip


def add_live_verbs(sub) -> None:
    """The live side's subcommands, on ``sub`` (``argparse`` subparsers)."""
    p = sub.add_parser(
        "live", help="trade real orders: mode = \"live\" config, gated by a GO validation",
        description="Refuses to start unless the config says mode = \"live\" and REPORT is a "
                    "GO report of `clobsim validate` for the same strategy and settings. "
                    "Secrets come from the environment or .env (docs/config.md).",
    )  # fmt: skip
    p.add_argument("config", help="run config with mode = \"live\" and [venue] kind = "
                                  "\"polymarket\"")  # fmt: skip
    p.add_argument("--report", default=None, help="report.json of the GO validation")
    p.add_argument(
        "--unvalidated",
        action="store_true",
        help="start without a GO report (logged at CRITICAL and alerted)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: until SIGINT/SIGTERM)",
    )
    p.add_argument("--ops-port", type=int, default=None,
                   help="serve /healthz /readyz /status /metrics on 127.0.0.1:PORT "
                        "(0: any free port; default: none)")  # fmt: skip
    p.set_defaults(func=cmd_live)

    p = sub.add_parser(
        "serve-mock", help="a loopback Polymarket (REST, WebSocket, JSON-RPC) over a dataset",
        description="Serves the CLOB protocol on 127.0.0.1 over recorded data replayed in "
                    "wall-clock time; py-clob-client-v2 and the live adapter talk to it unchanged. "
                    "Secrets go only to --secrets-file.",
    )  # fmt: skip
    p.add_argument("--data", required=True, help="dataset folder (with dataset.json)")
    p.add_argument("--markets", nargs="+", default=[],
                   help="market slugs or condition ids to serve (default: all)")  # fmt: skip
    p.add_argument("--speed", type=float, default=1.0,
                   help="recorded seconds per wall second (1 = real time)")  # fmt: skip
    p.add_argument("--faults", default=None, help="fault plan TOML applied on the wire")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--seed", type=int, default=0, help="seed of the venue's own randomness")
    p.add_argument("--cash", type=float, default=10_000.0, help="test account's USDC")
    p.add_argument(
        "--secrets-file",
        default="mock-account.env",
        help="where the account's private key and API secret are written (0600)",
    )
    p.add_argument(
        "--key-env",
        default="CLOBSIM_MOCK_PRIVATE_KEY",
        help="environment variable holding a private key to reuse (else a new one)",
    )
    p.set_defaults(func=cmd_serve_mock)

    p = sub.add_parser(
        "paper", help="paper trading: the live market feed, simulated fills, nothing sent",
        description='Runs a mode = "paper" config: the strategy, executor and breakers on the '
                    "live market channel ([venue] host, ws_url), our orders filled by the "
                    "simulated matching venue ([venue.latency], queue model, [faults]), the "
                    "feed recorded in [venue] record_dir (default paper-run) with the journal "
                    "and the result tables. SIGINT/SIGTERM stop it; `clobsim parity` replays "
                    "it.",
    )  # fmt: skip
    p.add_argument("config", help='a mode = "paper" config (see docs/config.md)')
    p.add_argument("--ops-port", type=int, default=None,
                   help="serve /healthz /readyz /status /metrics on 127.0.0.1:PORT "
                        "(0: any free port; default: none)")  # fmt: skip
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: until SIGINT/SIGTERM)",
    )
    p.set_defaults(func=cmd_paper)

    p = sub.add_parser(
        "parity", help="replay a paper run's recording as a backtest and compare, fill by fill",
        description="Replays RUN_DIR's capture through the same strategy, executor and venue "
                    "in simulated time and lists every order or fill that differs from what "
                    "the paper run did (exit 0: none, 1: some; parity.json holds them).",
    )  # fmt: skip
    p.add_argument("run_dir", help="the paper run's folder ([venue] record_dir)")
    p.add_argument("--config", required=True, help="the paper run's config")
    p.set_defaults(func=cmd_parity)

    p = sub.add_parser(
        "kill", help="trip (or --reset) the kill switch of a run of CONFIG, running or not",
        description="Writes the kill switch file CONFIG's [executor] kill_switch_path names "
                    "(relative paths from the current directory, as the run resolves them): "
                    "a run watching it halts at its next check (every order, and every "
                    "check_interval_s) and cancels every open order; a run started later "
                    "starts halted. --reset removes the file.",
    )  # fmt: skip
    p.add_argument("config", help="the run's config")
    p.add_argument("--reset", action="store_true", help="remove the file instead")
    p.add_argument("--reason", default="operator: clobsim kill", help="written into the file")
    p.set_defaults(func=cmd_kill)

    p = sub.add_parser(
        "doctor", help="is this machine ready to run CONFIG: credentials, venue, clock, "
                       "chain, journal, disk, alert webhook",
    )  # fmt: skip
    p.add_argument("config", help="a paper or live config")
    p.add_argument("--json", action="store_true", help="print the checks as one JSON document")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "status", help="how a run is doing: its /status and /readyz, or its journal",
        description="--url: a run started with --ops-port (its state, positions, open "
                    "orders, readiness); --journal: a stopped run's journal (records by "
                    "kind, the last trading state). Exit 1 if not ready or halted.",
    )  # fmt: skip
    p.add_argument("--url", default=None, help="http://127.0.0.1:PORT of a running run")
    p.add_argument("--journal", default=None, help="a stopped run's journal.sqlite")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "record", help="record the market channel's raw frames, one capture file per UTC day",
        description="Subscribes to the named markets (no key, no orders), writes every frame "
                    "as received to OUT/capture/<day>.jsonl (the capture format; the day being "
                    "written ends in .part) and the markets to OUT/markets.json; reconnects, "
                    "and subscribes new markets matching a pattern as the venue lists them. "
                    "`clobsim data import` turns a day into a dataset.",
    )  # fmt: skip
    p.add_argument("--markets", nargs="+", required=True,
                   help="slugs, glob patterns (btc-updown-15m-*) or condition ids")  # fmt: skip
    p.add_argument("--out", required=True, help="folder for capture/ and markets.json")
    p.add_argument("--host", default="https://clob.polymarket.com",
                   help="the CLOB REST URL (the market list)")  # fmt: skip
    p.add_argument("--ws-url", default="wss://ws-subscriptions-clob.polymarket.com/ws/",
                   help="the WebSocket base (market is appended)")  # fmt: skip
    p.add_argument("--flush-s", type=float, default=1.0,
                   help="push written frames to the OS this often: a crash loses at most "
                        "this much (1)")  # fmt: skip
    p.add_argument(
        "--discover-s",
        type=float,
        default=60.0,
        help="read the market list again this often for new markets (60)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop after this many seconds (default: until SIGINT/SIGTERM)",
    )
    p.set_defaults(func=cmd_record)
