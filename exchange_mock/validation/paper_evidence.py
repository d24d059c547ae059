"""``clobsim validate CONFIG --paper-run RUN_DIR``: the paper run's own evidence, judged.

The simulated fault matrix shows the guards act; a paper run of several real days shows
the strategy on the real feed. Its folder (``clobsim paper``) is judged here, each line
beside the backtest's checks (scenario ``paper-run``):

* ``paper_same_config``: the run traded this config (its ``config_hash``: strategy,
  source, params, guard settings), not an earlier one;
* ``paper_duration``: it covered at least ``paper_min_days`` of real time;
* ``paper_feed_health``: every disconnect of the recorded feed ended within
  ``paper_max_gap_s`` (and the feed was up at the end);
* ``paper_strategy_errors``: the strategy never raised (no "Stopped by" in its summary);
* ``paper_parity``: the recording, replayed as a backtest, gives the same orders and
  fills (``clobsim parity``); a run restarted after a crash is replayed from its start,
  so a restart shows as divergences here, named.
"""

from __future__ import annotations

import json
from pathlib import Path

from live.capture import CaptureConnection, read_capture
from sim.backtest_config import BacktestConfig
from sim.config_hash import trading_config_hash

NS = 1_000_000_000
DAY_S = 86_400.0
SCENARIO = "paper-run"
TITLES = {
    "paper_same_config": ("Paper run: same config",
                          "the paper run traded this strategy, its params and guard settings"),
    "paper_duration": ("Paper run: duration", "it covered the minimum of real days"),
    "paper_feed_health": ("Paper run: feed health",
                          "every disconnect ended within the bound; the feed up at the end"),
    "paper_strategy_errors": ("Paper run: strategy errors", "the strategy never raised"),
    "paper_parity": ("Paper run: parity",
                     "its recording replays to the same orders and fills, to the cent"),
}  # fmt: skip


def _gaps(run_dir: Path) -> tuple[list[float], bool | None]:
    """(seconds of each disconnect, whether the feed was up at the end of the recording;
    the channel's own stop, the last row, is not a disconnect)."""
    rows: list[tuple[int, bool, str]] = []
    for path in sorted((run_dir / "capture").glob("*.jsonl")):
        rows += [(r.recv_ns, r.connected, r.reason) for r in read_capture(path)
                 if isinstance(r, CaptureConnection)]  # fmt: skip
    if rows and not rows[-1][1] and "stopped" in rows[-1][2]:
        rows = rows[:-1]
    gaps, down = [], None
    for t, up, _ in rows:
        if not up and down is None:
            down = t
        elif up and down is not None:
            gaps.append((t - down) / NS)
            down = None
    return gaps, (rows[-1][1] if rows else None)


def judge_paper_run(cfg: BacktestConfig, base_dir: Path, config_path: Path, run_dir: Path, *,
                    min_days: float, max_gap_s: float) -> list[dict]:  # fmt: skip
    """The ``paper-run`` check rows (as ``checks.evaluate`` writes them)."""
    from live.paper_cmd import compare, replay_run

    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "run.json").read_text())
    results: dict[str, tuple[bool, dict, str]] = {}
    mine = trading_config_hash(cfg, base_dir)
    theirs = meta.get("config_hash")
    why = "the paper run traded other settings: run it again"
    results["paper_same_config"] = (theirs == mine, {"run": theirs, "this_config": mine}, why)
    days = (meta.get("end_ns", meta["start_ns"]) - meta["start_ns"]) / NS / DAY_S
    results["paper_duration"] = (days >= min_days, {"days": round(days, 3),
                                                    "minimum_days": min_days},
                                 f"{days:.2f} days is less than {min_days:g}")  # fmt: skip
    gaps, up_at_end = _gaps(run_dir)
    longest = max(gaps, default=0.0)
    results["paper_feed_health"] = (
        longest <= max_gap_s and up_at_end is not False,
        {"disconnects": len(gaps), "longest_gap_s": round(longest, 3),
         "max_gap_s": max_gap_s, "up_at_end": up_at_end},
        "a disconnect lasted past the bound" if longest > max_gap_s else
        "the feed was down at the end",
    )  # fmt: skip
    summary = json.loads((run_dir / "summary.json").read_text())
    stopped = summary.get("Stopped by")
    results["paper_strategy_errors"] = (not stopped, {"stopped_by": stopped or ""},
                                        f"the strategy raised: {stopped}")  # fmt: skip
    import pandas as pd

    paper = {n: pd.read_parquet(run_dir / f"{n}.parquet") for n in ("orders", "fills")}
    replay = replay_run(config_path, run_dir)
    found = compare(paper, {"orders": replay.orders, "fills": replay.fills})
    results["paper_parity"] = (not found, {"orders": len(paper["orders"]),
                                           "fills": len(paper["fills"]),
                                           "divergences": len(found),
                                           "first": found[:3]},
                               "the replay of the recording differs from what it did")  # fmt: skip
    out = []
    for name, (ok, evidence, why) in results.items():
        title, requirement = TITLES[name]
        if not ok:
            evidence = {**evidence, "why": why}
        out.append({"name": name, "title": title, "status": "PASS" if ok else "FAIL",
                    "scenario": SCENARIO, "injects": "nothing: the real feed, real days",
                    "requirement": requirement, "evidence": evidence})  # fmt: skip
    return out
