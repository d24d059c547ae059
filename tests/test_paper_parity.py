"""Paper trading against the loopback server, and its parity: the run's recorded feed,
replayed as a backtest in simulated time, gives the same orders and fills, field by
field, with a WebSocket drop (a recorded gap) and fault plans in the run."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from exchange_mock.faults import FaultSpec
from live.capture import CaptureConnection, read_capture
from live.notify import ALWAYS_SENT, WEBHOOK_ENV
from live.paper_cmd import run_paper, run_parity
from sim.errors import ConfigError
from sim.run_files import read_run
from tests.server_helpers import M, plan, running_server, write_dataset
from tests.test_notify import Hook

ROOT = Path(__file__).resolve().parents[1]
FAULTS = """
[faults]
plans = ["partial_fills"]
"""
LATENCY = """
[venue.latency]
order_entry_ms = 30.0
ack_ms = 20.0
"""


def write_config(tmp: Path, data: Path, urls, run_dir: Path, mode: str = "paper",
                 fills_model: bool = True) -> Path:  # fmt: skip
    shutil.copy(ROOT / "examples" / "live_drill.py", tmp / "live_drill.py")
    ws = urls.ws_market.rsplit("/", 1)[0] + "/"
    cfg = tmp / "paper.toml"
    cfg.write_text(f"""
mode = "{mode}"
cash_usdc = 1000.0
seed = 3

[data]
path = "{data}"
markets = ["{M.slug}"]

[strategy]
name = "live_drill:LiveDrill"

[strategy.params]
take_shares = 20.0

[executor.limits]
max_orders_per_day = 50000

{FAULTS if fills_model else ""}
[venue]
kind = "polymarket"
host = "{urls.rest}"
ws_url = "{ws}"
record_dir = "{run_dir}"
paper_lag_ms = 300
ws_ping_s = 1.0
ws_pong_timeout_s = 2.0
{LATENCY if fills_model else ""}
""")
    return cfg


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("paper")
    data = write_dataset(tmp / "ds", minutes=10)
    # data seconds at 5x: 4 s in, for half a second (a reconnect or two, well inside the run)
    drop = plan(FaultSpec("ws_drop", at_s=20.0, duration_s=2.5))
    run_dir = tmp / "run"
    hook = Hook()  # the operator's webhook, on loopback: the run's alerts go there too
    os.environ[WEBHOOK_ENV] = hook.url
    port = _free_port()
    seen: list[tuple[int, list[str]]] = []
    last_metrics: list[str] = []
    done = threading.Event()

    def watch() -> None:  # what an operator's probe sees of /readyz and /metrics
        while not done.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    seen.append((r.status, []))
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    last_metrics[:] = [r.read().decode()]
            except urllib.error.HTTPError as err:
                seen.append((err.code, json.loads(err.read())["why"]))
            except OSError:
                pass  # not serving yet, or stopped
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with running_server(data, realtime_speed=5.0, faults=drop) as run:
            cfg = write_config(tmp, data, run.urls, run_dir)
            assert run_paper(cfg, duration_s=10.0, ops_port=port) == 0
    finally:
        done.set()
        watcher.join(5)
        del os.environ[WEBHOOK_ENV]
        hook.server.shutdown()
    (run_dir.parent / "alerts.json").write_text(json.dumps(hook.bodies))
    (run_dir.parent / "probes.json").write_text(json.dumps({"readyz": seen,
                                                            "metrics": last_metrics}))  # fmt: skip
    return cfg, run_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_paper_run_trades_records_and_replays_to_zero_divergences(paper_run) -> None:
    cfg, run_dir = paper_run
    orders = pd.read_parquet(run_dir / "orders.parquet")
    fills = pd.read_parquet(run_dir / "fills.parquet")
    assert len(orders) > 5 and len(fills) > 0  # a comparison of nothing proves nothing
    (day,) = list((run_dir / "capture").glob("*.jsonl"))
    states = [r.connected for r in read_capture(day) if isinstance(r, CaptureConnection)]
    # the drop and the reconnect are in the recording (the last row: the channel stopping)
    assert True in states[states.index(False) + 1 :]
    assert run_parity(run_dir, cfg) == 0
    report = json.loads((run_dir / "parity.json").read_text())
    assert report["divergences"] == [] and report["orders"] == len(orders)


def test_parity_names_what_differs(paper_run, tmp_path: Path) -> None:
    cfg, run_dir = paper_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    fills = pd.read_parquet(copy / "fills.parquet")
    fills.iloc[1:].to_parquet(copy / "fills.parquet")  # the paper run "lost" its first fill
    orders = pd.read_parquet(copy / "orders.parquet")
    orders.loc[orders.index[0], "price"] += 0.01
    orders.to_parquet(copy / "orders.parquet")
    assert run_parity(copy, cfg) == 1
    found = json.loads((copy / "parity.json").read_text())["divergences"]
    assert {"table": "fills", "id": fills.iloc[0].trade_id, "what": "only in the replay"} in found
    assert any(d["table"] == "orders" and d["what"].startswith("price:") for d in found)


def test_paper_needs_a_paper_config(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=1)
    with running_server(data) as run:
        cfg = write_config(tmp_path, data, run.urls, tmp_path / "run", mode="live")
        with pytest.raises(ConfigError, match="the simulated fills' model"):
            run_paper(cfg, duration_s=1.0)  # a fill model on the live venue is a mistake
        cfg = write_config(tmp_path, data, run.urls, tmp_path / "run", mode="live",
                           fills_model=False)  # fmt: skip
        with pytest.raises(ConfigError, match='needs mode = "paper"'):
            run_paper(cfg, duration_s=1.0)


def _fills_journaled(path: Path) -> list[str]:
    """The fills a stopped run journaled (a running one holds its journal exclusively)."""
    import sqlite3

    con = sqlite3.connect(path, timeout=5)
    try:
        return [r[0] for r in con.execute("SELECT key FROM records WHERE kind = 'fill'")]
    finally:
        con.close()


def _frames(run_dir: Path) -> int:
    parts = list((run_dir / "capture").glob("*.part")) if (run_dir / "capture").exists() else []
    return sum(p.read_bytes().count(b"\n") for p in parts)


def test_a_paper_run_killed_mid_run_resumes_from_its_journal(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    data = write_dataset(tmp_path / "ds", minutes=10)
    run_dir = tmp_path / "run"
    with running_server(data, realtime_speed=5.0) as run:
        cfg = write_config(tmp_path, data, run.urls, run_dir)
        cmd = [sys.executable, "-m", "sim.cli", "-q", "paper", str(cfg)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60.0
            while _frames(run_dir) < 300:  # some seconds in: the first takes have filled
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the paper run recorded nothing"
                time.sleep(0.1)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        before = _fills_journaled(run_dir / "journal.sqlite")
        assert before  # the killed run had filled something (else nothing is tested)
        again = subprocess.run([*cmd, "--duration", "3"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert "records replayed" in again.stderr  # it resumed from the journal
    assert "balance: venue" not in again.stderr  # the simulated venue holds what it said
    resumed = set(pd.read_parquet(run_dir / "fills.parquet").trade_id)
    assert set(before) <= resumed  # the fills before the kill are the run's fills still
    kept = sorted(p.name for p in (run_dir / "capture").glob("*.jsonl"))
    assert len(kept) == 2  # the killed run's part, kept; the restart's own file


def test_validate_judges_a_paper_run_beside_the_fault_matrix(paper_run) -> None:
    from exchange_mock.validation import validate

    cfg, run_dir = paper_run
    judged = cfg.with_name("validate.toml")
    table = '\n[validation]\ndays = 1\nseeds = [1]\nscenarios = ["baseline"]\nworkers = 1\n'
    judged.write_text(cfg.read_text() + table + "paper_min_days = 0.0001\n")
    report = validate(judged, run_dir.parent / "report", paper_run=run_dir)
    rows = {c["name"]: c for c in report["checks"] if c["scenario"] == "paper-run"}
    assert set(rows) == {"paper_same_config", "paper_duration", "paper_feed_health",
                         "paper_strategy_errors", "paper_parity"}  # fmt: skip
    assert all(c["status"] == "PASS" for c in rows.values()), rows
    assert rows["paper_feed_health"]["evidence"]["disconnects"] >= 1  # the injected drop
    # three real days are the default minimum: ten seconds of paper is not enough
    judged.write_text(cfg.read_text() + table)
    short = validate(judged, run_dir.parent / "report2", paper_run=run_dir)
    (duration,) = [c for c in short["checks"] if c["name"] == "paper_duration"]
    assert duration["status"] == "FAIL" and short["verdict"] == "NO-GO"
    # a config changed since the paper run is not what the paper run showed
    judged.write_text(cfg.read_text().replace("take_shares = 20.0", "take_shares = 25.0")
                      + table + "paper_min_days = 0.0001\n")  # fmt: skip
    changed = validate(judged, run_dir.parent / "report3", paper_run=run_dir)
    (same,) = [c for c in changed["checks"] if c["name"] == "paper_same_config"]
    assert same["status"] == "FAIL"


def test_the_paper_runs_alerts_reach_the_operators_webhook(paper_run) -> None:
    _, run_dir = paper_run
    sent = json.loads((run_dir.parent / "alerts.json").read_text())
    feed = [a for a in sent if a["kind"] == "feed"]
    assert feed and "market feed down" in feed[0]["message"]  # the injected drop, told
    back = [a for a in sent if a["kind"] == "feed_up"]
    assert back and back[0]["level"] == "info"  # and its end: asked-for info goes out too
    assert sent.index(feed[0]) < sent.index(back[0])
    assert all(a["level"] in ("warning", "critical") or a["kind"] in ALWAYS_SENT for a in sent)


def test_an_operators_probes_see_the_drop_and_the_recovery(paper_run) -> None:
    _, run_dir = paper_run
    probes = json.loads((run_dir.parent / "probes.json").read_text())
    codes = [code for code, _ in probes["readyz"]]
    down = [i for i, (code, why) in enumerate(probes["readyz"])
            if code == 503 and any("market feed" in w for w in why)]  # fmt: skip
    assert 200 in codes and down  # ready, then not ready while the feed was down
    assert 200 in codes[down[-1] :]  # and ready again after it
    (text,) = probes["metrics"]
    assert "clobsim_orders_total" in text and "clobsim_feed_up" in text
    metric = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    assert metric["clobsim_feed_downs_total"] >= 1  # the drop, counted
    assert metric["clobsim_venue_up"] == 1.0  # the venue's /time answered throughout


def test_the_run_folder_holds_the_counters_metrics_exported(paper_run) -> None:
    _, run_dir = paper_run
    run = read_run(run_dir)
    assert run.kind == "paper"
    assert run.counters["feed_downs"] >= 1
    assert run.counters["orders"] == len(run.table("orders")) > 0
    assert run.counters["fills"] == len(run.table("fills"))


def test_no_file_of_the_run_holds_the_webhook_token(paper_run) -> None:
    from tests.test_notify import TOKEN

    _, run_dir = paper_run
    (log,) = list((run_dir / "logs").glob("*.jsonl"))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines and all(line["mode"] == "paper" and line["run_id"] for line in lines)
    assert any(line["level"] == "warning" for line in lines)  # e.g. the feed going down
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_the_run_log_names_orders_markets_and_alerts_as_fields(paper_run) -> None:
    _, run_dir = paper_run
    (log,) = list((run_dir / "logs").glob("*.jsonl"))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    orders = [line for line in lines if line["logger"] == "clobsim.orders"]
    run = read_run(run_dir)
    logged_ids = {line["order_id"] for line in orders}
    assert logged_ids == set(run.table("orders")["client_order_id"])  # every order, no other
    assert {line["market"] for line in orders} == {M.slug}
    assert all(line["asset_id"] in (M.yes_token_id, M.no_token_id) for line in orders)
    alerts = [line for line in lines if line["logger"] == "clobsim.alerts"]
    assert "feed" in {line["alert"] for line in alerts}  # the drop's alert, as a field
