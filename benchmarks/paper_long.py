"""A long paper run against the loopback server at high speed: memory, CPU, recorder bytes.

    python -m benchmarks.paper_long [--minutes 600] [--speed 100] [--seconds 300]

A one-market recording of ``--minutes`` (the book changes every 100 ms, a print every
2 s) is served at ``--speed`` x real time by the loopback server in this process;
``clobsim paper`` runs the live drill strategy (a re-quote every 0.5 s, a take every
1.5 s) on it for ``--seconds`` in its own process, whose RSS is sampled every 5 s. The
report gives RSS at the start, the end and its slope after warm-up, the CPU seconds
used, and the capture's bytes per market-day of data (bytes / data-days recorded).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "_work" / "paper_long.json"


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.paper_long")
    ap.add_argument("--minutes", type=int, default=600, help="recorded minutes (600)")
    ap.add_argument("--speed", type=float, default=100.0, help="replay speed (100)")
    ap.add_argument("--seconds", type=float, default=300.0, help="wall seconds of paper (300)")
    args = ap.parse_args(argv)

    from tests.server_helpers import M, running_server, write_dataset

    tmp = Path(tempfile.mkdtemp(prefix="clobsim-paper-long-"))
    try:
        data = write_dataset(tmp / "ds", minutes=args.minutes)
        shutil.copy(ROOT / "examples" / "live_drill.py", tmp / "live_drill.py")
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample(pid: int) -> None:
            t0 = time.monotonic()
            while not stop.wait(5.0):
                try:
                    samples.append((time.monotonic() - t0, _rss_mb(pid)))
                except OSError:
                    return

        with running_server(data, realtime_speed=args.speed) as run:
            ws = run.urls.ws_market.rsplit("/", 1)[0] + "/"
            cfg = tmp / "paper.toml"
            cfg.write_text(f"""
mode = "paper"
cash_usdc = 100000.0
[data]
path = "{data}"
markets = ["{M.slug}"]
[strategy]
name = "live_drill:LiveDrill"
[strategy.params]
max_position_shares = 1e9
[executor.limits]
max_orders_per_day = 10000000
max_total_position_usdc = 1e9
[venue]
kind = "polymarket"
host = "{run.urls.rest}"
ws_url = "{ws}"
record_dir = "{tmp / "run"}"
""")
            proc = subprocess.Popen(
                [sys.executable, "-m", "sim.cli", "-q", "paper", str(cfg), "--duration",
                 str(args.seconds)], cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(2.0)
            rss0 = _rss_mb(proc.pid)
            th = threading.Thread(target=sample, args=(proc.pid,), daemon=True)
            th.start()
            cpu = 0.0
            while proc.poll() is None:
                try:
                    cpu = _cpu_s(proc.pid)
                except OSError:
                    break
                time.sleep(1.0)
            stop.set()
        capture = sum(p.stat().st_size for p in (tmp / "run" / "capture").iterdir())
        meta = json.loads((tmp / "run" / "run.json").read_text())
        data_days = (meta["end_ns"] - meta["start_ns"]) / 1e9 * args.speed / 86_400
        warm = [(t, r) for t, r in samples if t >= 30.0]
        ts, rs = [t for t, _ in warm], [r for _, r in warm]
        slope = float(np.polyfit(ts, rs, 1)[0]) * 3600 if len(warm) >= 3 else None
        out = {
            "wall_s": args.seconds, "speed": args.speed, "rss_start_mb": round(rss0, 1),
            "rss_end_mb": round(samples[-1][1], 1) if samples else None,
            "rss_max_mb": round(max(r for _, r in samples), 1) if samples else None,
            "rss_slope_mb_per_wall_hour_after_30s": round(slope, 1) if slope else None,
            "cpu_s": round(cpu, 1), "cpu_share": round(cpu / args.seconds, 3),
            "capture_bytes": capture,
            "capture_bytes_per_market_day": round(capture / data_days) if data_days else None,
            "samples": [(round(t, 1), round(r, 1)) for t, r in samples],
        }  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "samples"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
