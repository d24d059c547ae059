"""The guarded order round trip on loopback: what the executor and ``LiveVenue`` add.

    python -m benchmarks.live_round_trip [--data DIR] [--orders N] [--warmup N]

One loopback Polymarket (``exchange_mock.server``) over the demo week, in a thread of
this process, and in the same process, alternating blocks of the same size:

* **raw**: py-clob-client-v2, unchanged: ``create_and_post_order`` of a resting bid,
  then ``cancel_order`` (what a bare bot does);
* **guarded**: the same bid through ``Executor.buy`` (every pre-trade check, the
  journal, the deadline, retries on) over ``LiveVenue`` (signing, the order hash
  journaled before posting), then ``Executor.cancel``.

Reports p50/p99/mean per round trip and the guarded/raw ratio. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.server import DEMO_DATA, ensure_data
from benchmarks.server_harness import BTC, _ms

OUT = Path("benchmarks/_work/live_round_trip.json")


def _raw_block(client, args, n: int) -> list[float]:
    from py_clob_client_v2.clob_types import OrderPayload

    out = []
    for _ in range(n):
        t = time.perf_counter()
        resp = client.create_and_post_order(args)
        if not (resp.get("success") and resp.get("status") == "live"):
            raise RuntimeError(f"the resting bid was not accepted: {resp}")
        client.cancel_order(OrderPayload(orderID=resp["orderID"]))
        out.append(time.perf_counter() - t)
    return out


def _guarded_block(ex, token: str, price: float, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        ack = ex.buy(token, price, 5.0, post_only=True)
        if not ack.accepted:
            raise RuntimeError(f"the guarded bid was refused: {ack.reason} {ack.message}")
        if not ex.cancel(ack.client_order_id):
            raise RuntimeError("the guarded cancel failed")
        out.append(time.perf_counter() - t)
    return out


def bench(data: Path, orders: int, warmup: int, blocks: int = 4) -> dict:
    from py_clob_client_v2 import ClobClient, OrderArgs

    from exchange_mock.validation.live_mock import mock_exchange
    from live.clob_api import ClobApi
    from live.live_venue import LiveVenue
    from sim.backtest_config import BacktestConfig, DataConfig
    from sim.clock import WallClock
    from sim.executor import Executor, ExecutorConfig
    from sim.executor.config import LimitsConfig
    from sim.journal import SqliteJournal

    cfg = BacktestConfig(data=DataConfig(path=str(data), markets=(BTC,)), cash_usdc=10_000.0)
    with mock_exchange(cfg, speed=1.0, seed=0, plan=None) as mock, \
            tempfile.TemporaryDirectory(prefix="clobsim-bench-") as tmp:  # fmt: skip
        market = mock.server.exchange.markets[0]
        token, price = market.yes_token_id, market.tick_size  # a bid that rests
        raw = ClobClient(mock.urls.rest, 137, key=mock.key)
        raw.set_api_creds(raw.create_or_derive_api_key())
        order = OrderArgs(token_id=token, price=price, size=5.0, side="BUY")
        api = ClobApi(mock.urls.rest, 137, mock.key, http_timeout_s=5.0)
        clock = WallClock()
        journal = SqliteJournal(str(Path(tmp) / "journal.sqlite"))
        limits = LimitsConfig(max_orders_per_day=10**6)
        ex = Executor(LiveVenue(api, [market], clock), clock, cash_usdc=10_000.0,
                      markets=[market], journal=journal,
                      config=ExecutorConfig(kill_switch_path=str(Path(tmp) / "KILL"),
                                            limits=limits))  # fmt: skip
        _raw_block(raw, order, warmup)
        _guarded_block(ex, token, price, warmup)
        rt_raw: list[float] = []
        rt_guarded: list[float] = []
        per = max(orders // blocks, 1)
        for _ in range(blocks):  # alternating: drift on a busy machine hits both alike
            rt_raw += _raw_block(raw, order, per)
            rt_guarded += _guarded_block(ex, token, price, per)
        api.close()
        journal.close()
    r, g = _ms(rt_raw), _ms(rt_guarded)
    return {"raw": r, "guarded": g,
            "ratio_p50": round(g["p50_ms"] / r["p50_ms"], 2),
            "ratio_mean": round(g["mean_ms"] / r["mean_ms"], 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.live_round_trip",
                                 description=__doc__.split("\n")[0])  # fmt: skip
    ap.add_argument("--data", type=Path, default=DEMO_DATA, help=f"default {DEMO_DATA}")
    ap.add_argument("--orders", type=int, default=200, help="timed round trips each (200)")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up round trips each (20)")
    args = ap.parse_args(argv)
    con = Console(width=120)
    ensure_data(args.data, con)
    out = bench(args.data, args.orders, args.warmup)
    t = Table(title="order round trip on loopback (place a resting bid, cancel it)")
    for col in ("path", "n", "p50 ms", "p99 ms", "mean ms"):
        t.add_column(col)
    for name in ("raw", "guarded"):
        m = out[name]
        t.add_row(name, str(m["n"]), f"{m['p50_ms']:.2f}", f"{m['p99_ms']:.2f}",
                  f"{m['mean_ms']:.2f}")  # fmt: skip
    con.print(t)
    con.print(f"guarded / raw: p50 {out['ratio_p50']}x, mean {out['ratio_mean']}x")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
