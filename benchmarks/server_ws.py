"""(2) and (3) of ``benchmarks.server``: market-channel throughput and lag at replay speeds
(a ``websocket-client`` in a child process), and the headroom of the busiest market replayed
flat out in-process by a manual clock."""

from __future__ import annotations

import asyncio
import cProfile
import glob
import json
import multiprocessing as mp
import re
import time
from pathlib import Path

import numpy as np

from benchmarks.server_harness import BTC, NS, _cpu_s, _pct, _top10, serving

#: recorded seconds per ``MockExchange.step()`` in the headroom run (the pump, at speed S,
#: steps 0.02 * S recorded seconds; 1 s is the pump at 50x)
HEADROOM_STEP_S = 1.0
#: the market-channel client's text PING period (the mock closes a socket silent for 60 s)
PING_EVERY_S = 10.0


def market_rates(path: Path) -> list[dict]:
    """Per market (slug): recorded rows, first and last receive time and rows per recorded
    second over that span, from the Parquet footers (no row is read)."""
    import pyarrow.parquet as pq

    acc: dict[str, list[int]] = {}
    for f in glob.glob(str(path / "events" / "date=*" / "market=*.parquet")):
        slug = Path(f).stem.removeprefix("market=")
        if slug.startswith("_"):
            continue  # the connection rows (_feed)
        md = pq.ParquetFile(f).metadata
        lo, hi = None, None
        for g in range(md.num_row_groups):
            rg = md.row_group(g)
            for c in range(rg.num_columns):
                col = rg.column(c)
                if col.path_in_schema == "ts_recv_ns" and col.statistics is not None:
                    st = col.statistics
                    lo = st.min if lo is None else min(lo, st.min)
                    hi = st.max if hi is None else max(hi, st.max)
        if lo is None:  # no statistics: read the one column
            ts = pq.read_table(f, columns=["ts_recv_ns"]).column(0).to_numpy()
            if not len(ts):
                continue
            lo, hi = int(ts.min()), int(ts.max())
        a = acc.setdefault(slug, [0, lo, hi])
        a[0] += md.num_rows
        a[1], a[2] = min(a[1], lo), max(a[2], hi)
    out = []
    for slug, (rows, lo, hi) in acc.items():
        span = max((hi - lo) / NS, 1e-9)
        out.append({"slug": slug, "series": re.sub(r"-\d+$", "", slug), "rows": rows,
                    "first_ns": lo, "last_ns": hi, "span_s": round(span, 3),
                    "rows_per_s": rows / span})  # fmt: skip
    out.sort(key=lambda r: -r["rows_per_s"])
    return out


# ---------------------------------------------------------------------------- (2) WebSocket
_TYPES = ("price_change", "best_bid_ask", "last_trade_price", "book", "market_resolved",
          "tick_size_change")  # fmt: skip
_TS = re.compile(r'"timestamp":"(\d+)"')


def _ws_client(url: str, assets: list[str], seconds: float, clock: tuple, conn) -> None:
    """Child process: subscribe, count for ``seconds``, send the counts through ``conn``.

    ``clock`` = (monotonic_ns, wire_now_ns, speed) sampled together in the server process:
    CLOCK_MONOTONIC is system-wide, so the wire time "now" is known here without asking."""
    import websocket

    mono_ref, wire_ref, speed = clock

    def wire_now() -> int:
        return wire_ref + int((time.monotonic_ns() - mono_ref) * speed)

    ws = websocket.create_connection(url, timeout=30, skip_utf8_validation=True)
    t0 = time.perf_counter()
    ws.send(json.dumps({"assets_ids": assets, "type": "market", "initial_dump": True,
                        "custom_feature_enabled": True}))  # fmt: skip
    dump = ws.recv()
    dump_s = time.perf_counter() - t0
    conn.send({"dump_bytes": len(dump), "dump_books": dump.count('"event_type"'),
               "dump_s": dump_s})  # fmt: skip
    ws.settimeout(0.2)
    frames = messages = chars = 0
    types = dict.fromkeys(_TYPES, 0)
    lags: list[int] = []  # wire ns between a frame's newest timestamp and its arrival
    last_ts = None
    cpu0 = time.process_time()
    start = time.monotonic()
    end = start + seconds
    next_ping = start + PING_EVERY_S
    while time.monotonic() < end:
        if time.monotonic() >= next_ping:  # the venue (and the mock) close a silent client
            ws.send("PING")
            next_ping += PING_EVERY_S
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        if frame == "PONG":
            continue
        now = wire_now()
        frames += 1
        chars += len(frame)
        messages += frame.count('"event_type"')
        for t in _TYPES:
            types[t] += frame.count(f'"event_type":"{t}"')
        stamps = _TS.findall(frame)
        if stamps:
            ts = max(int(s) for s in stamps) * 1_000_000
            last_ts = ts if last_ts is None else max(last_ts, ts)
            lags.append(now - ts)
    elapsed = time.monotonic() - start
    at_end = wire_now()
    cpu = time.process_time() - cpu0
    ws.close()
    conn.send({"frames": frames, "messages": messages, "chars": chars, "types": types,
               "seconds": elapsed, "last_ts_ns": last_ts, "wire_now_end_ns": at_end,
               "lags_ns": lags, "client_cpu_s": cpu})  # fmt: skip
    conn.close()


def bench_ws(data: Path, speed: float, seconds: float, profile: bool, log) -> dict:
    from exchange_mock.server.exchange import MockExchange
    from sim.marketdata import Dataset

    t0 = time.perf_counter()
    exchange = MockExchange(Dataset.open(data), markets=[BTC], speed=speed)
    assets = [a for m in exchange.markets for a in (m.yes_token_id, m.no_token_id)]
    # message timestamps are exchange times; a row is replayed at its receive time
    first = exchange.driver._batches[0]
    rec = first.asset >= 0
    feed_ms = np.percentile((first.ts_recv_ns[rec] - first.ts_exchange_ns[rec]) / 1e6, [50, 99])
    with serving(exchange) as run:
        setup_s = time.perf_counter() - t0
        rt = exchange.time
        clock = (time.monotonic_ns(), rt.wire_now_ns(), rt.speed)
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_ws_client, args=(run.urls.ws_market, assets, seconds,
                                                    clock, child), daemon=True)  # fmt: skip
        proc.start()
        child.close()
        dump = parent.recv()
        hub = run.server.market_hub
        frames0, cpu0, w0 = hub.frames_sent, _cpu_s(), time.perf_counter()
        data0 = exchange.clock.now_ns()
        prof = None
        if profile:
            prof = cProfile.Profile()
            run.call(prof.enable)
        max_queue = 0
        max_pump_lag_ns = 0
        while not parent.poll(0.1):
            # racy reads from this thread (ints and qsize): a sample, not an exact figure
            qs = [s.queue.qsize() for s in hub.subscribers]
            max_queue = max(max_queue, *qs, 0)
            max_pump_lag_ns = max(max_pump_lag_ns, rt.data_now_ns() - exchange.clock.now_ns())
        got = parent.recv()
        wall, cpu = time.perf_counter() - w0, _cpu_s() - cpu0
        if prof is not None:
            run.call(prof.disable)
        wire_now_parent = rt.wire_now_ns()
        frames_sent = hub.frames_sent - frames0
        data_s = (exchange.clock.now_ns() - data0) / NS
        overflowed = any(s.overflowed for s in hub.subscribers)
        proc.join(timeout=30)
    lags = got["lags_ns"]
    secs = got["seconds"]
    behind_ns = None if got["last_ts_ns"] is None else got["wire_now_end_ns"] - got["last_ts_ns"]
    to_wall_ms = lambda ns: None if ns is None else round(ns / speed / 1e6, 2)  # noqa: E731
    return {
        "speed": speed,
        "assets": len(assets),
        "markets": len(exchange.markets),
        "setup_s": round(setup_s, 2),
        "initial_dump": {
            "books": dump["dump_books"],
            "bytes": dump["dump_bytes"],
            "seconds": round(dump["dump_s"], 3),
        },
        "seconds": round(secs, 2),
        "frames": got["frames"],
        "messages": got["messages"],
        "messages_by_type": got["types"],
        "frames_per_s": round(got["frames"] / secs, 1),
        "messages_per_s": round(got["messages"] / secs, 1),
        "kbytes_per_s": round(got["chars"] / secs / 1e3, 1),
        "server_frames_sent": frames_sent,
        "recorded_s_replayed": round(data_s, 2),
        "achieved_speed": round(data_s / wall, 2),
        "behind_at_end_recorded_s": None if behind_ns is None else round(behind_ns / NS, 3),
        "behind_at_end_wall_ms": to_wall_ms(behind_ns),
        "behind_at_end_recorded_s_parent": None
        if got["last_ts_ns"] is None
        else round((wire_now_parent - got["last_ts_ns"]) / NS, 3),
        "frame_lag_wall_ms": {
            "p50": to_wall_ms(_pct(lags, 50)),
            "p99": to_wall_ms(_pct(lags, 99)),
            "max": to_wall_ms(max(lags) if lags else None),
        },
        "max_pump_lag_wall_ms": to_wall_ms(max_pump_lag_ns),
        "recorded_feed_latency_ms": {"p50": round(feed_ms[0], 1), "p99": round(feed_ms[1], 1)},
        "recorded_feed_latency_wall_ms_p50": round(feed_ms[0] / speed, 2),
        "max_server_queue_frames": max_queue,
        "slow_consumer_disconnect": overflowed,
        "server_process_cpu_share": round(cpu / wall, 3),
        "client_cpu_share": round(got["client_cpu_s"] / secs, 3),
        "profile_server": None if prof is None else _top10(prof),
    }


# ---------------------------------------------------------------------------- (3) headroom
def _replay_flat_out(data: Path, market: dict, budget_s: float, subscribe: bool,
                     prof: cProfile.Profile | None = None) -> dict:  # fmt: skip
    """Replay ``market`` by a manual clock, ``HEADROOM_STEP_S`` recorded seconds per step, as
    fast as possible, from its first row until its last or ``budget_s`` wall seconds."""
    from exchange_mock.server.exchange import MockExchange
    from exchange_mock.server.market_hub import MarketHub
    from exchange_mock.server.replay_time import ManualTime
    from sim.marketdata import Dataset

    t0 = time.perf_counter()
    mono = ManualTime(0)
    ex = MockExchange(Dataset.open(data), markets=[market["slug"]], speed=1.0,
                      time_source=(time.time_ns, mono))  # fmt: skip
    hub = MarketHub(ex)
    # the replay starts at the dataset's first row (see the README): skip to the market's
    gap_s = max(market["first_ns"] - 1 - ex.clock.now_ns(), 0) / NS
    mono.advance(gap_s)
    ex.step()
    queue: asyncio.Queue = asyncio.Queue()  # drained here, as a socket's writer would
    if subscribe:
        assets = [a for m in ex.markets for a in (m.yes_token_id, m.no_token_id)]
        hub.subscribe(hub.subscriber_for(queue), assets, initial_dump=True, custom=True)
        while not queue.empty():
            queue.get_nowait()
    setup_s = time.perf_counter() - t0
    start, last = ex.clock.now_ns(), market["last_ns"]
    frames = messages = chars = steps = 0
    if prof is not None:
        prof.enable()
    w0 = time.perf_counter()
    while ex.clock.now_ns() < last and time.perf_counter() - w0 < budget_s:
        mono.advance(HEADROOM_STEP_S)
        ex.step()
        steps += 1
        while not queue.empty():
            frame = queue.get_nowait()
            frames += 1
            chars += len(frame)
            messages += frame.count('"event_type"')
    wall = time.perf_counter() - w0
    if prof is not None:
        prof.disable()
    end = min(ex.clock.now_ns(), last)
    ts = market["ts_recv_ns"]
    rows = int(np.searchsorted(ts, end, "right") - np.searchsorted(ts, start, "right"))
    recorded = (end - start) / NS
    return {"subscriber": subscribe, "setup_s": round(setup_s, 2),
            "skipped_to_first_row_s": round(gap_s, 1), "wall_s": round(wall, 3),
            "recorded_s": round(recorded, 1), "whole_market": end >= last, "steps": steps,
            "rows": rows, "max_speed": round(recorded / wall, 1),
            "rows_per_wall_s": round(rows / wall), "frames": frames, "messages": messages,
            "messages_per_wall_s": round(messages / wall),
            "mbytes_per_wall_s": round(chars / wall / 1e6, 2)}  # fmt: skip


def _market_ts(data: Path, slug: str) -> np.ndarray:
    import pyarrow.parquet as pq

    files = glob.glob(str(data / "events" / "date=*" / f"market={slug}.parquet"))
    parts = [pq.read_table(f, columns=["ts_recv_ns"]).column(0).to_numpy() for f in files]
    return np.sort(np.concatenate(parts))


def bench_headroom(data: Path, budget_s: float, repeat: int, profile: bool, log) -> dict:
    rates = market_rates(data)
    top = rates[0]
    series: dict[str, list[int]] = {}
    for r in rates:
        s = series.setdefault(r["series"], [0, r["first_ns"], r["last_ns"]])
        s[0] += r["rows"]
        s[1], s[2] = min(s[1], r["first_ns"]), max(s[2], r["last_ns"])
    series_rates = sorted(
        ({"series": k, "markets": sum(1 for r in rates if r["series"] == k), "rows": v[0],
          "rows_per_s": round(v[0] / max((v[2] - v[1]) / NS, 1e-9), 2)}
         for k, v in series.items()), key=lambda s: -s["rows_per_s"])  # fmt: skip
    log(f"  headroom: busiest market {top['slug']} ({top['rows_per_s']:,.0f} rows per recorded "
        f"second over {top['span_s']:,.0f} s); replaying it flat out ...")  # fmt: skip
    market = top | {"ts_recv_ns": _market_ts(data, top["slug"])}
    best: dict[bool, dict] = {}
    for _ in range(max(repeat, 1)):  # interleaved: a slow spell of the machine hits both
        for sub in (False, True):
            r = _replay_flat_out(data, market, budget_s, sub)
            if sub not in best or r["max_speed"] > best[sub]["max_speed"]:
                best[sub] = r | {"all_max_speed": [*best.get(sub, {}).get("all_max_speed", [])]}
            best[sub]["all_max_speed"].append(r["max_speed"])
    runs = [best[False], best[True]]
    prof_top = None
    if profile:
        log("  headroom: profiling a pass with the subscriber ...")
        prof = cProfile.Profile()
        _replay_flat_out(data, market, budget_s / 2, True, prof)
        prof_top = _top10(prof)
    return {
        "busiest_market": {k: top[k] for k in ("slug", "series", "rows", "span_s")}
        | {"rows_per_s": round(top["rows_per_s"], 1)},
        "next_busiest": [
            {"slug": r["slug"], "rows_per_s": round(r["rows_per_s"], 1)} for r in rates[1:4]
        ],
        "series": series_rates[:4],
        "step_recorded_s": HEADROOM_STEP_S,
        "repeat": repeat,
        "replay_only": runs[0],
        "with_market_channel": runs[1],
        "keeps_up_with_room_x": runs[1]["max_speed"],
        "profile_with_subscriber": prof_top,
    }
