"""(1) of ``benchmarks.server``: order round trips of py-clob-client-v2 against the loopback
mock (in a child process and in the server's own process), with the server's handler times."""

from __future__ import annotations

import cProfile
import multiprocessing as mp
import time
from pathlib import Path

from benchmarks.server_harness import BTC, _ms, _top10, serving


# ---------------------------------------------------------------------------- (1) orders
def _client(rest: str, key: str):
    """py-clob-client-v2, unchanged, with API credentials derived from the server."""
    from py_clob_client_v2 import ClobClient

    c = ClobClient(rest, 137, key=key)
    c.set_api_creds(c.create_or_derive_api_key())
    return c


def _cancel(c, oid: str) -> None:
    from py_clob_client_v2.clob_types import OrderPayload

    out = c.cancel_order(OrderPayload(orderID=oid))
    if out.get("canceled") != [oid]:
        raise RuntimeError(f"cancel of {oid} answered {out}")


def _live(resp: dict) -> str:
    if not (resp.get("success") and resp.get("status") == "live"):
        raise RuntimeError(f"the resting bid was not accepted: {resp}")
    return resp["orderID"]


def _order_calls(rest: str, key: str, order: dict, n: int, warmup: int, full: bool) -> dict:
    """The client's side of (1): warm-up, ``n`` timed round trips and, when ``full``, ``n``
    ``create_order`` alone and ``n`` pre-signed ``post_order`` + ``cancel_order``. Phase
    windows are in ``time.monotonic()`` (system-wide: the server's handler times are split
    by them in the other process)."""
    from py_clob_client_v2 import OrderArgs

    c = _client(rest, key)
    args = OrderArgs(**order)
    for _ in range(warmup):
        _cancel(c, _live(c.create_and_post_order(args)))
    out: dict = {"windows": {}}
    cpu0, t0 = time.process_time(), time.monotonic()
    rt = []
    for _ in range(n):
        t = time.perf_counter()
        _cancel(c, _live(c.create_and_post_order(args)))
        rt.append(time.perf_counter() - t)
    t1 = time.monotonic()
    out |= {"round_trip_s": rt, "round_trip_wall_s": t1 - t0,
            "round_trip_client_cpu_s": time.process_time() - cpu0}  # fmt: skip
    out["windows"]["round_trip"] = (t0, t1)
    if not full:
        return out
    sign = []
    for _ in range(n):
        t = time.perf_counter()
        c.create_order(args)
        sign.append(time.perf_counter() - t)
    signed = [c.create_order(args) for _ in range(n)]
    post, delete = [], []
    t0 = time.monotonic()
    for o in signed:
        t = time.perf_counter()
        resp = c.post_order(o)
        post.append(time.perf_counter() - t)
        oid = _live(resp)
        t = time.perf_counter()
        _cancel(c, oid)
        delete.append(time.perf_counter() - t)
    out["windows"]["post_delete"] = (t0, time.monotonic())
    return out | {"sign_s": sign, "post_s": post, "delete_s": delete}


def _order_child(conn, *args) -> None:
    try:
        conn.send(_order_calls(*args))
    except Exception as exc:  # the parent reports it
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    conn.close()


def _in_child(target, *args):
    """``target(conn, *args)`` in a fresh interpreter (spawn); returns what it sends."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    child.close()
    try:
        got = parent.recv()
    finally:
        proc.join(timeout=30)
    if "error" in got:
        raise RuntimeError(f"client process: {got['error']}")
    return got


def _ecc_backend() -> str:
    from eth_keys.backends import get_backend

    return type(get_backend()).__name__


def bench_orders(data: Path, n: int, warmup: int, profile: bool, log) -> dict:
    from aiohttp import web

    from exchange_mock.server.exchange import MockExchange
    from exchange_mock.server.serve import busiest_token
    from sim.marketdata import Dataset

    calls: list[tuple[float, str, float]] = []  # (monotonic at the end, route, seconds)

    @web.middleware
    async def timed(request, handler):
        t0 = time.perf_counter()
        try:
            return await handler(request)
        finally:
            dt = time.perf_counter() - t0
            calls.append((time.monotonic(), f"{request.method} {request.path}", dt))

    def handler_ms(window: tuple[float, float], route: str) -> dict:
        lo, hi = window
        return _ms([dt for t, r, dt in calls if r == route and lo <= t <= hi])

    t0 = time.perf_counter()
    exchange = MockExchange(Dataset.open(data), markets=[BTC], speed=1.0)
    with serving(exchange, [timed]) as run:
        setup_s = time.perf_counter() - t0
        token = run.call(busiest_token, run.server)
        m = run.server.exchange.by_token[token]
        bids = run.call(lambda: run.server.market_hub.book_message(token)["bids"])
        order = {"token_id": token, "price": m.tick_size, "size": max(m.min_order_size, 5.0),
                 "side": "BUY"}  # fmt: skip
        key = "0x" + bytes(run.server.account.key).hex()
        rest = run.urls.rest
        log(f"  orders: client in a child process, {warmup} warm-up + {n} round trips, "
            f"{n} signings, {n} post + cancel ...")  # fmt: skip
        child = _in_child(_order_child, rest, key, order, n, warmup, True)
        log(f"  orders: the same {n} round trips with the client in this process ...")
        same = _order_calls(rest, key, order, n, max(warmup // 3, 3), False)
        top = None
        if profile:
            log("  orders: profiling the server thread over a client run ...")
            prof = cProfile.Profile()
            run.call(prof.enable)  # the loop thread's profiler, not this thread's
            _in_child(_order_child, rest, key, order, max(n // 3, 20), 0, True)
            run.call(prof.disable)
            top = _top10(prof)
    w_rt, w_pd = child["windows"]["round_trip"], child["windows"]["post_delete"]
    w_same = same["windows"]["round_trip"]
    return {
        "setup_s": round(setup_s, 2),
        "market": m.slug,
        "token": token,
        "order": order | {"type": "GTC", "best_bid_at_start": bids[-1]["price"] if bids else None},
        "eth_keys_backend": _ecc_backend(),
        "n": n,
        "warmup": warmup,
        "round_trips_per_s": round(n / child["round_trip_wall_s"], 1),
        "round_trip": _ms(child["round_trip_s"]),
        "round_trip_client_cpu_share": round(
            child["round_trip_client_cpu_s"] / child["round_trip_wall_s"], 3
        ),
        "round_trip_server_post": handler_ms(w_rt, "POST /order"),
        "round_trip_server_delete": handler_ms(w_rt, "DELETE /order"),
        "create_order_signing": _ms(child["sign_s"]),
        "post_order": _ms(child["post_s"]),
        "post_order_server_handler": handler_ms(w_pd, "POST /order"),
        "delete_order": _ms(child["delete_s"]),
        "delete_order_server_handler": handler_ms(w_pd, "DELETE /order"),
        "same_process": {
            "round_trips_per_s": round(n / same["round_trip_wall_s"], 1),
            "round_trip": _ms(same["round_trip_s"]),
            "server_post": handler_ms(w_same, "POST /order"),
            "server_delete": handler_ms(w_same, "DELETE /order"),
        },
        "profile_server_orders": top,
    }
