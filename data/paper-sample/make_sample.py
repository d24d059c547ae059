"""Re-make this folder: a short paper run of ``examples/live_drill.py`` against the loopback
server over a 10-minute one-market recording, at 5x, with one dropped socket.

    .venv/bin/python data/paper-sample/make_sample.py

Writes ``run/`` (the paper run folder: ``capture/``, ``markets.json``, ``run.json``,
``orders.parquet``, ``fills.parquet``, ``equity.parquet``, ``summary.json``) and
``paper.toml`` (the config it ran; its URLs were the server's, which a replay never
reads). ``notebooks/paper_parity.ipynb`` replays it and compares.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from exchange_mock.faults import FaultSpec  # noqa: E402
from live.paper_cmd import run_paper  # noqa: E402
from tests.server_helpers import M, plan, running_server, write_dataset  # noqa: E402

CONFIG = """mode = "paper"
cash_usdc = 1000.0
seed = 3

[data]
path = "unused-by-a-replay"
markets = ["{slug}"]

[strategy]
name = "live_drill:LiveDrill"

[strategy.params]
take_shares = 20.0

[executor.limits]
max_orders_per_day = 50000

[venue]
kind = "polymarket"
host = "{rest}"
ws_url = "{ws}"
record_dir = "{run}"
paper_lag_ms = 300

[venue.latency]
order_entry_ms = 30.0
ack_ms = 20.0
"""


def main() -> None:
    run_dir = HERE / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_dataset(Path(tmp) / "ds", minutes=10)
        shutil.copy(ROOT / "examples" / "live_drill.py", Path(tmp) / "live_drill.py")
        drop = plan(FaultSpec("ws_drop", at_s=20.0, duration_s=10.0))
        with running_server(data, realtime_speed=5.0, faults=drop) as run:
            ws = run.urls.ws_market.rsplit("/", 1)[0] + "/"
            text = CONFIG.format(slug=M.slug, rest=run.urls.rest, ws=ws, run=run_dir)
            (Path(tmp) / "paper.toml").write_text(text)
            run_paper(Path(tmp) / "paper.toml", duration_s=8.0)
        (HERE / "paper.toml").write_text(text.replace(str(run_dir), "run"))
    (run_dir / "journal.sqlite").unlink()  # the run's own state: not needed to replay it


if __name__ == "__main__":
    main()
