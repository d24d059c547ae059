"""``clobsim record --markets M [M ...] --out DIR``: keep what Polymarket's market channel says.

No key, no orders: the venue's public ``/markets`` names the markets (slugs, glob
patterns or condition ids, as ``[data] markets``), ``DIR/markets.json`` keeps them in
Gamma's shape, and a ``MarketChannel`` (reconnects, PING/PONG, the silence verdict)
hands every frame to a ``Recorder`` (``live/recorder.py``: one capture file per UTC
day under ``DIR/capture``; each finished day imported into ``DIR/parquet/<day>``).
Every ``discover_s`` the market list is read again: a new
market matching a pattern (the next 15-minute window of a series) is subscribed and
added to ``markets.json``, and a market's resolution is written there when the channel
announces it. SIGINT or SIGTERM (or ``--duration``) stops it cleanly:
the day's file is finished and named.

``clobsim data import DIR/capture/<day>.jsonl --markets DIR/markets.json --out DS``
makes the Parquet dataset a backtest reads.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from pathlib import Path

import httpx

from live.malloc_arenas import limit_arenas
from live.market_feed import MarketChannel
from live.recorder import ParquetRoll, Recorder, write_markets
from live.session_builder import market_info, select_markets
from sim.clock import WallClock
from sim.errors import ConfigError
from sim.events import MarketResolved
from sim.types import MarketInfo

log = logging.getLogger("clobsim.record")


class DiscardSink:
    """The channel's feed when only the frames are wanted: events are counted, not kept;
    a resolution is handed to ``on_resolved`` (the markets table records it)."""

    def __init__(self, on_resolved=None) -> None:
        self.clock = WallClock()
        self.events = 0
        self.on_resolved = on_resolved

    def put(self, events) -> None:
        self.events += len(events)
        if self.on_resolved is not None:
            for ev in events:
                if isinstance(ev, MarketResolved):
                    self.on_resolved(ev)


def venue_markets(host: str, timeout_s: float = 10.0) -> list[dict]:
    """Every row of the venue's public ``/markets``, page after page."""
    rows: list[dict] = []
    cursor = "MA=="
    with httpx.Client(timeout=timeout_s) as http:
        while cursor != "LTE=":
            resp = http.get(f"{host.rstrip('/')}/markets", params={"next_cursor": cursor})
            resp.raise_for_status()
            page = resp.json()
            rows.extend(page.get("data") or [])
            cursor = page.get("next_cursor") or "LTE="
    return rows


def _find(host: str, wanted: list[str]) -> list[MarketInfo]:
    try:
        return select_markets(venue_markets(host), wanted)
    except httpx.HTTPError as exc:
        raise ConfigError("host", f"cannot read the markets of {host}: {exc}") from None


def run_record(host: str, ws_url: str, markets: list[str], out: str | Path, *,
               flush_s: float = 1.0, duration_s: float | None = None,
               discover_s: float = 60.0, channel_options: dict | None = None) -> int:  # fmt: skip
    """Record until stopped (or ``duration_s``); returns the exit code (0)."""
    if not host.startswith(("http://", "https://")):
        raise ConfigError("host", f"must start with http:// or https://, got {host!r}")
    if not ws_url.startswith(("ws://", "wss://")):
        raise ConfigError("ws_url", f"must start with ws:// or wss://, got {ws_url!r}")
    if discover_s <= 0:
        raise ConfigError("discover_s", f"must be > 0, got {discover_s!r}")
    limit_arenas()  # before any thread: memory stays flat for days
    chosen = {m.condition_id: m for m in _find(host, markets)}
    write_markets(out, list(chosen.values()))
    roll = ParquetRoll(out)
    recorder = Recorder(out, flush_s=flush_s, on_finished=roll)
    assets = [t for m in chosen.values() for t in (m.yes_token_id, m.no_token_id)]
    channel = MarketChannel(ws_url.rstrip("/") + "/market", assets, recorder=recorder,
                            **(channel_options or {}))  # fmt: skip
    lock = threading.Lock()

    def resolved(ev: MarketResolved) -> None:  # from the channel's thread
        with lock:
            m = chosen.get(ev.market)
            if m is None or m.resolution:
                return
            won = "YES" if ev.winning_asset_id == m.yes_token_id else "NO"
            chosen[ev.market] = dataclasses.replace(m, resolution=won)
            write_markets(out, list(chosen.values()))
        log.warning("record: %s resolved %s", m.slug or m.condition_id, won)

    sink = DiscardSink(resolved)
    stop = threading.Event()
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    end = None if duration_s is None else time.monotonic() + duration_s
    next_discovery = time.monotonic() + discover_s
    channel.start(sink)
    log.warning("recording %d markets (%d assets) from %s into %s", len(chosen), len(assets),
                ws_url, Path(out) / "capture")  # fmt: skip
    try:
        while not stop.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                break
            if now >= next_discovery:
                next_discovery = now + discover_s
                with lock:
                    _discover(host, markets, chosen, channel, out)
            stop.wait(min(1.0, max(0.0, (end or now + 1.0) - now)))
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        channel.stop()
        recorder.close()
        roll.close()  # the last day's import, too
    st = recorder.stats
    print(f"recorded {st.frames} frames, {st.connections} connection changes, "
          f"{st.bytes} bytes in {Path(out) / 'capture'} ({len(chosen)} markets)")  # fmt: skip
    return 0


def _discover(host: str, wanted: list[str], chosen: dict[str, MarketInfo],
              channel: MarketChannel, out: str | Path) -> None:  # fmt: skip
    """New markets matching ``wanted`` (a series' next window): subscribed and listed."""
    try:
        rows = venue_markets(host)
    except httpx.HTTPError as exc:
        log.warning("record: market discovery failed, trying again later: %s", exc)
        return
    new = [m for m in (market_info(r) for r in rows) if m is not None
           and m.condition_id not in chosen and _wanted(m, wanted)]  # fmt: skip
    if not new:
        return
    for m in new:
        chosen[m.condition_id] = m
    channel.subscribe([t for m in new for t in (m.yes_token_id, m.no_token_id)])
    write_markets(out, list(chosen.values()))
    log.warning("record: %d new markets subscribed: %s", len(new),
                ", ".join(m.slug or m.condition_id for m in new))  # fmt: skip


def _wanted(m: MarketInfo, wanted: list[str]) -> bool:
    import fnmatch

    return any(m.condition_id == w or fnmatch.fnmatchcase(m.slug, w) for w in wanted)
