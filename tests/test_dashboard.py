"""The Grafana dashboard (``docs/grafana-dashboard.json``) only reads metrics the health
endpoint exports: every metric name in its queries is in a live ``/metrics`` scrape."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

from live.ops_server import OpsServer
from live.venue_probe import VenueProbe
from tests.test_faults_helpers import Script, backtest, buy, write_dataset

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json"


def test_every_dashboard_query_names_an_exported_metric(tmp_path: Path) -> None:
    _, bt, _ = backtest(write_dataset(tmp_path / "ds"), Script((1.0, buy(0.52, 5.0))))
    probe = VenueProbe("http://127.0.0.1:9")  # not started: its gauges exist all the same
    ops = OpsServer(bt.session, probe=probe).start()
    try:
        bt.session.executor.caller.observe("place", 0.01)
        with urllib.request.urlopen(ops.url + "/metrics", timeout=5) as resp:
            text = resp.read().decode()
        # declared families (a labelled counter with no sample yet is declared all the same)
        suffixes = {"histogram": ("_bucket", "_sum", "_count")}
        exported = {name.removesuffix("_total") + ("_total" if kind == "counter" else "")
                    + suffix
                    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
                    for suffix in suffixes.get(kind, ("",))}  # fmt: skip
    finally:
        ops.stop()
    panels = json.loads(DASHBOARD.read_text())["panels"]
    queried = {name for p in panels for t in p["targets"]
               for name in re.findall(r"\bclobsim_[a-z_]+", t["expr"])}  # fmt: skip
    assert len(panels) >= 10 and queried
    assert queried <= exported, queried - exported
