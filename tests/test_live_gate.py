"""``clobsim live``: the gate before real money, and a live process against the mock that
reconciles, trades, and on SIGTERM cancels everything and exits cleanly."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from live.run_live import check_gate
from sim.backtest_config import load_backtest_config
from sim.config_hash import trading_config_hash
from sim.errors import ConfigError
from tests.server_helpers import KEY, M, running_server, write_dataset

STRATEGY = """
from sim.strategy import Strategy

class Bidder(Strategy):
    def __init__(self, size: float = 5.0):
        self.size = size

    def on_start(self, ctx):
        self.yes = ctx.markets[0].yes_token_id
        ctx.subscribe([self.yes])
        ctx.schedule("bid", every_s=0.5)

    def on_timer(self, ctx, name):
        book = ctx.book(self.yes)
        if book.best_bid is not None and not ctx.orders.open_orders():
            ctx.orders.buy(self.yes, round(book.best_bid - 0.02, 2), self.size, post_only=True)
"""


def write_config(folder: Path, *, mode: str = "live", host: str = "http://127.0.0.1:9",
                 ws: str = "ws://127.0.0.1:9/ws/", size: float = 5.0) -> Path:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bidder.py").write_text(STRATEGY)
    journal = folder / "journal.sqlite"
    venue = (f'kind = "polymarket"\nhost = "{host}"\nws_url = "{ws}"\n'
             f'journal_path = "{journal}"\n') if mode == "live" else ""  # fmt: skip
    (folder / "live.toml").write_text(
        f'mode = "{mode}"\ncash_usdc = 1000.0\n[data]\npath = "{folder}"\n'
        f'markets = ["{M.slug}"]\n[strategy]\nname = "bidder:Bidder"\n'
        f"params = {{ size = {size} }}\n[venue]\n{venue}[executor]\n"
        f'kill_switch_path = "{folder / "KILL"}"\n[risk]\nenabled = false\n'
    )  # fmt: skip
    return folder / "live.toml"


def report(folder: Path, verdict: str, config_hash: str) -> Path:
    path = folder / "report.json"
    path.write_text(json.dumps({"verdict": verdict, "why": "test", "config_hash": config_hash}))
    return path


def test_the_gate(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg, base = load_backtest_config(write_config(tmp_path / "a"))
    mine = trading_config_hash(cfg, base)
    assert "validated GO" in check_gate(cfg, base, report(tmp_path, "GO", mine))
    with pytest.raises(ConfigError, match="not GO"):
        check_gate(cfg, base, report(tmp_path, "NO-GO", mine))
    with pytest.raises(ConfigError, match="validate again"):
        check_gate(cfg, base, report(tmp_path, "GO", "0" * 16))
    with pytest.raises(ConfigError, match="needs the GO report"):
        check_gate(cfg, base, None)
    other, base2 = load_backtest_config(write_config(tmp_path / "b", size=6.0))
    assert trading_config_hash(other, base2) != mine  # params are part of what was judged
    with caplog.at_level(logging.CRITICAL, logger="clobsim.live"):
        assert check_gate(cfg, base, None, unvalidated=True).startswith("UNVALIDATED")
    assert "WITHOUT A GO VALIDATION" in caplog.text
    backtest, base3 = load_backtest_config(write_config(tmp_path / "c", mode="backtest"))
    with pytest.raises(ConfigError, match='needs mode = "live"'):
        check_gate(backtest, base3, report(tmp_path, "GO", mine), unvalidated=True)


def test_a_live_process_trades_then_cancels_everything_on_sigterm(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "ds", minutes=5)
    with running_server(data, realtime_speed=5.0) as run:
        ws = run.urls.ws_market.rsplit("/", 1)[0] + "/"
        config = write_config(tmp_path / "run", host=run.urls.rest, ws=ws)
        env = {**os.environ, "POLY_PRIVATE_KEY": KEY}
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "live", str(config),
                                 "--unvalidated"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
        mock = run.server.exchange.venue
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not mock.open_orders(deadline_s=1.0):
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.2)
        assert mock.open_orders(deadline_s=1.0), "the live run placed nothing"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert mock.open_orders(deadline_s=1.0) == []  # the halt cancelled what rested
        assert "UNVALIDATED" in err and KEY not in out + err and KEY[2:] not in out + err
    # every file the run wrote (the JSON log, the journal, ...) holds no trace of the key
    logs = list((tmp_path / "run").rglob("*.jsonl"))
    assert logs and any('"mode": "live"' in p.read_text() for p in logs)
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert KEY[2:].encode() not in raw and KEY[2:].upper().encode() not in raw, path
