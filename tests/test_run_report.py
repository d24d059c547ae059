"""``clobsim report RUN_DIR``: the HTML page of a finished run folder (``sim.report.run_page``).

Built from real small backtests written with ``write_run``: the key figures are the
summary's, the counters carry the names ``/metrics`` exports, every text from the folder
is escaped, and the page renders in a real browser with its chart visible."""

from __future__ import annotations

import base64
import dataclasses
import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from prometheus_client import generate_latest

from live.ops_server import OpsServer
from sim.cli import EXIT_OK, EXIT_USAGE, main
from sim.report import plots, write_report
from sim.report.run_facts import COUNTERS, counter_rows
from sim.report.run_page import LAST_FILLS, render_run_html, write_run_report
from sim.risk import RiskConfig
from sim.run_counters import run_counters
from sim.run_files import read_run, write_run
from tests.test_faults_helpers import Script, backtest, buy, write_dataset

#: copy a run folder without a page an earlier test wrote into it
_NO_PAGE = shutil.ignore_patterns("report.html")
HOSTILE = '<script>alert("market")</script>'


def _boom(ctx) -> None:
    raise ValueError("strategy <script>alert(1)</script> broke")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("runreport") / "data")


@pytest.fixture(scope="module")
def error_run(data, tmp_path_factory):
    """A backtest (CSV folder, as ``clobsim backtest --out``) with fills, refusals, a
    breaker trip, alerts and a strategy error whose message carries a <script> tag; its
    market renamed to a hostile string. (result, session, folder)"""
    strategy = Script((1, buy(0.52, 10)), (3, buy(0.53, 5)), (5, buy(0.53, 5)), (20, _boom))
    res, bt, _ = backtest(data, strategy, risk=RiskConfig(daily_trade_limit=1))
    assert res.error is not None and len(res.breakers) and len(res.refusals)
    res = dataclasses.replace(
        res,
        fills=res.fills.assign(market=HOSTILE),
        positions=res.positions.assign(market=HOSTILE),
    )
    out = tmp_path_factory.mktemp("error_run")
    write_run(res, out, kind="backtest", fmt="csv")
    return res, bt.session, out


@pytest.fixture(scope="module")
def clean_run(data, tmp_path_factory):
    """A paper-kind Parquet folder of a run without error: (result, folder)."""
    strategy = Script((1, buy(0.52, 10)), (5, buy(0.53, 5)), (8, buy(0.40, 5)))
    res, _, _ = backtest(data, strategy)
    assert res.error is None and len(res.fills) == 2
    out = tmp_path_factory.mktemp("clean_run")
    write_run(res, out, kind="paper")
    return res, out


def _figures(page: str) -> dict[str, str]:
    """The key-figure boxes: {label: value as shown}."""
    pairs = re.findall(r'<div class="l">(.*?)</div><div class="v[^"]*">(.*?)</div>', page)
    return {html_lib.unescape(k): html_lib.unescape(v) for k, v in pairs}


def _expected_figures(res) -> dict[str, str]:
    s = res.summary
    pnl = s["Final equity [USDC]"] - s["Initial cash [USDC]"]
    return {
        "Return": f"{s['Return [%]']:+.2f} %",
        "P&L": f"{pnl:+,.2f} USDC",
        "Max. drawdown": f"{s['Max. Drawdown [%]']:.2f} %",
        "Final equity": f"{s['Final equity [USDC]']:,.2f} USDC",
        "Orders": f"{s['Orders']:,}",
        "Fills": f"{s['Fills']:,}",
        "Refusals": f"{s['Refusals']:,}",
        "Halts": f"{s['Halts']:,}",
        "Breaker trips": f"{s['Breaker trips']:,}",
        "Alerts": f"{s['Alerts']:,}",
    }


@pytest.mark.parametrize("which", ["error_run", "clean_run"])
def test_key_figures_are_the_summary(which, request):
    res, out = request.getfixturevalue(which)[0], request.getfixturevalue(which)[-1]
    page = render_run_html(read_run(out))
    assert _figures(page) == _expected_figures(res)
    kind = "backtest" if which == "error_run" else "paper"
    assert f'<span class="badge k-{kind}">{kind}</span>' in page
    assert "Return [%]" in page and "Initial cash [USDC]" in page  # the summary table


def test_figures_are_not_constants(error_run, clean_run):
    a, b = _expected_figures(error_run[0]), _expected_figures(clean_run[0])
    assert a["Fills"] != b["Fills"] or a["P&L"] != b["P&L"]
    assert a["Halts"] == "1" and a["Breaker trips"] == "1" and b["Halts"] == "0"


def test_counters_carry_their_metrics_names(error_run):
    res, _, out = error_run
    page = render_run_html(read_run(out))
    assert "<code>clobsim_orders_total</code>" in page
    assert html_lib.escape('clobsim_calls_total{kind="place"}') in page
    reason = res.refusals["reason"].iloc[0]
    assert html_lib.escape(f'clobsim_refusals_total{{reason="{reason}"}}') in page
    assert "<code>clobsim_feed_up</code>" in page and "clobsim_feed_up_total" not in page
    row = re.search(r"<code>clobsim_orders_total</code></td><td>counter</td>"
                    r"<td class=num>([^<]*)</td>", page)  # fmt: skip
    assert row and float(row.group(1)) == res.summary["Orders"]


def test_every_counter_row_is_a_sample_metrics_exports(error_run):
    """The report's names are the exposition's: scrape the same session's collector."""
    _, session, out = error_run
    ops = OpsServer(session, stuck_s=3600.0).start()
    try:
        text = generate_latest(ops.registry).decode()
    finally:
        ops.stop()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    rows = counter_rows(read_run(out).counters)
    assert len(rows) > 20
    for r in rows:
        if r.value is None:  # a labelled counter with no sample exports none
            assert not any(k.startswith(r.metric + "{") for k in samples)
            continue
        assert r.metric in samples, r.metric
        if r.kind == "counter":
            assert samples[r.metric] == r.value, r.metric


def test_counter_table_matches_run_counters(error_run):
    _, session, _ = error_run
    built = {c.name: (c.kind, "/".join(c.labels), c.help)
             for c in run_counters(session.executor, session.feed)}  # fmt: skip
    assert built == COUNTERS


def test_hostile_text_is_escaped(error_run):
    res, _, out = error_run
    page = render_run_html(read_run(out))
    assert "<script" not in page.lower()
    assert html_lib.escape(HOSTILE) in page  # the market, in fills, positions and P&L
    message = res.alerts["message"].iloc[-1]
    assert "<script>" in message and html_lib.escape(message) in page
    # nothing fetched from elsewhere: the chart is inline
    for bad in ('src="http', 'href="http', "<link", "url(", "@import"):
        assert bad not in page.lower()
    assert page.count("data:image/png;base64,") == 1


def test_strategy_error_section_only_when_the_run_had_one(error_run, clean_run):
    res, _, out = error_run
    page = render_run_html(read_run(out))
    assert 'id="strategy-error"' in page
    assert html_lib.escape(res.error.traceback.rstrip()) in page
    assert html_lib.escape(res.error.traceback.strip().splitlines()[-1]) in page  # banner
    clean = render_run_html(read_run(clean_run[1]))
    assert 'id="strategy-error"' not in clean and "strategy error" not in clean.lower()


def test_sections_show_the_tables(error_run, clean_run):
    res, _, out = error_run
    page = render_run_html(read_run(out))
    for section in ("figures", "equity", "counters", "refusals", "calls", "alerts",
                    "breakers", "positions", "pnl-by-market", "fills", "summary"):  # fmt: skip
        assert f'id="{section}"' in page, section
    assert "daily_trade_limit" in page  # refusals by reason and the breakers table
    assert f"<td class=num>{len(res.refusals)}</td>" in page
    # P&L by market adds up to the run's P&L and says so
    pnl = res.summary["Final equity [USDC]"] - res.summary["Initial cash [USDC]"]
    assert f"adds up to the run&#x27;s P&amp;L ({pnl:+,.2f} USDC)" in page
    fills = read_run(clean_run[1])
    assert all(t in render_run_html(fills) for t in fills.tables["fills"]["trade_id"])
    assert "Run metadata" not in page


def test_only_the_last_fills_are_shown(clean_run, tmp_path):
    res, _ = clean_run
    many = res.fills.loc[res.fills.index.repeat(40)].reset_index(drop=True)
    many["trade_id"] = [f"t-{i:04d}" for i in range(len(many))]
    write_run(dataclasses.replace(res, fills=many), tmp_path, kind="paper")
    page = render_run_html(read_run(tmp_path))
    fills_part = page[page.index('id="fills"') : page.index('id="summary"')]
    assert f"The last {LAST_FILLS} of {len(many)} rows." in fills_part
    assert f"t-{len(many) - 1:04d}" in fills_part and f"t-{len(many) - LAST_FILLS:04d}" in page
    assert f"t-{len(many) - LAST_FILLS - 1:04d}" not in page


def test_meta_and_a_folder_without_summary(clean_run, tmp_path):
    _, out = clean_run
    shutil.copytree(out, tmp_path / "run", ignore=_NO_PAGE)
    folder = tmp_path / "run"
    (folder / "run.json").write_text(json.dumps({"seed": 3, "start_ns": 1796533753375227752,
                                                 "markets": ["0xabc"]}))  # fmt: skip
    (folder / "summary.json").unlink()
    page = render_run_html(read_run(folder))
    assert "Run metadata (run.json)" in page and "2026-12-06 05:09:13.375 UTC" in page
    figures = _figures(page)
    assert figures["Return"] == "—" and figures["P&L"] == "—"
    assert figures["Fills"] == "2"  # from the counters
    assert "P&amp;L by market" in page and "holds no P&amp;L" in page


def test_a_sparse_folder_still_renders(tmp_path):
    """Tables without the usual columns, no summary, no counters: the page says what is
    missing instead of failing."""
    (tmp_path / "result.json").write_text('{"kind": "live", "format": "csv"}')
    (tmp_path / "orders.csv").write_text("client_order_id\nc-1\n")
    (tmp_path / "fills.csv").write_text("trade_id,note\nt-1,<b>x</b>\n")
    (tmp_path / "equity.csv").write_text("time,cash_usdc\n2026-11-02T00:00:00Z,5\n")
    page = render_run_html(read_run(tmp_path))
    figures = _figures(page)
    assert figures["Orders"] == "1" and figures["Fills"] == "1" and figures["Return"] == "—"
    assert "The folder has no counters.json." in page
    assert "The folder has no alerts table." in page
    assert "not derivable" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert '<span class="badge k-live">live</span>' in page


def test_validation_folder_re_renders_with_the_validation_page(tmp_path):
    check = {"name": "x", "title": "T <b>", "status": "FAIL", "evidence": {}}
    report = {"verdict": "NO-GO", "strategy": "s.py", "runs": [], "checks": [check],
              "summary": {"checks_total": 1}}  # fmt: skip
    paths = write_report(report, {}, tmp_path)
    written = paths["html"].read_text()
    again = write_run_report(tmp_path, tmp_path / "again.html").read_text()
    assert again == written and "data:image/png;base64," in again


# -- the command line ---------------------------------------------------------------------


def test_cli_writes_the_page_and_prints_its_path(clean_run, tmp_path, capsys):
    _, out = clean_run
    target = tmp_path / "sub" / "r.html"
    assert main(["report", str(out), "--out", str(target)]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(out)]) == EXIT_OK
    assert (out / "report.html").is_file()


def test_cli_json(error_run, tmp_path, capsys):
    _, _, out = error_run
    assert main(["report", str(out), "--out", str(tmp_path / "r.html"), "--json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["path"] == str(tmp_path / "r.html") and doc["kind"] == "backtest"
    assert doc["summary"] == json.loads((out / "summary.json").read_text())
    assert doc["counters"] == json.loads((out / "counters.json").read_text())


def test_cli_not_a_run_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == EXIT_USAGE == 2
    err = capsys.readouterr().err
    assert err.startswith("clobsim: ") and str(tmp_path) in err and "not a run folder" in err
    assert "Traceback" not in err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_cli_corrupt_parquet(clean_run, tmp_path, capsys):
    shutil.copytree(clean_run[1], tmp_path / "run", ignore=_NO_PAGE)
    bad = tmp_path / "run" / "equity.parquet"
    bad.write_bytes(b"\x00" * 64)
    assert main(["report", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("clobsim: ") and str(bad) in err and "Traceback" not in err
    assert not (tmp_path / "run" / "report.html").exists()


# -- in a real browser ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LINE = np.array([round(255 * c) for c in to_rgb(plots._BLUE)])  # the equity line's colour


def _screenshot(page: Path, tmp: Path) -> np.ndarray:
    from PIL import Image

    png = tmp / f"{page.stem}.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={tmp / 'profile'}", f"--screenshot={png}",
           "--window-size=1280,2000", page.absolute().as_uri()]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr}"
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def _line_pixels(img: np.ndarray) -> int:
    return int((np.abs(img - LINE).max(axis=2) <= 12).sum())


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")
def test_page_renders_in_chromium_with_its_chart(clean_run, tmp_path):
    _, out = clean_run
    page = write_run_report(out, tmp_path / "report.html")
    img = _screenshot(page, tmp_path)
    assert img.shape[1] == 1280
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    assert colours > 200, f"the page looks blank ({colours} colours)"
    assert _line_pixels(img) > 100, "the equity line's colour is not on screen"
    # negative control: the same page with a broken chart image shows no such colour
    text = page.read_text()
    b64 = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text).group(1)
    assert base64.b64decode(b64)[:4] == b"\x89PNG"
    broken = tmp_path / "broken.html"
    broken.write_text(text.replace(b64, "AAAA"))
    img = _screenshot(broken, tmp_path)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 50  # the text still renders
    assert _line_pixels(img) == 0
