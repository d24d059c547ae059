"""The live run's parts (``sim.session``): mode ``live`` on ``[venue] kind = "polymarket"``.

Importing this module registers the builder. It wires, for the markets the
config names:

* ``LiveVenue`` over ``ClobApi`` (host, chain, signature type and funder from the
  ``[venue]`` table; the key and API credentials from ``live.secrets``);
* a ``QueueFeed`` over fresh books, fed by the ``MarketChannel`` (``ws_url`` +
  ``market``) and the ``UserChannel`` (``ws_url`` + ``user``, with its REST poller);
* a ``WallClock``.

The markets come from the venue's own ``/markets`` (tick size, minimum size and
neg-risk as the venue says them now), filtered by ``[data] markets``, which a live
run must name: trading every market of the venue is never a default.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence

import numpy as np

from live.chain_balance import ChainBalance, CrossCheckedBalance
from live.clob_api import ClobApi
from live.heartbeat import start_heartbeat
from live.live_venue import ApiBalance, LiveVenue
from live.market_feed import MarketChannel
from live.notify import operator_alerts
from live.recorder import ParquetRoll, Recorder, write_markets
from live.secrets import LiveSecrets, load_secrets
from live.user_feed import UserChannel
from sim.backtest_config import BacktestConfig
from sim.books import LocalBooks
from sim.clock import WallClock
from sim.errors import ConfigError
from sim.feed import QueueFeed
from sim.journal import SqliteJournal
from sim.session import SessionParts, register_builder
from sim.types import MarketInfo

NS = 1_000_000_000
_GRID_FINE = 10_000  # a 0.0001 tick needs 10,000 slots; 0.001 and coarser fit in 1,000


def market_info(row: dict) -> MarketInfo | None:
    """A ``MarketInfo`` of one ``/markets`` row (None: not a binary market with two tokens)."""
    tokens = row.get("tokens") or []
    if len(tokens) != 2 or not row.get("condition_id"):
        return None
    by_outcome = {str(t.get("outcome", "")).lower(): str(t.get("token_id", "")) for t in tokens}
    yes = by_outcome.get("yes") or str(tokens[0].get("token_id", ""))
    no = by_outcome.get("no") or str(tokens[1].get("token_id", ""))
    if not (yes and no):
        return None
    return MarketInfo(
        condition_id=str(row["condition_id"]), question=str(row.get("question", "")),
        yes_token_id=yes, no_token_id=no,
        tick_size=float(row.get("minimum_tick_size") or 0.01),
        min_order_size=float(row.get("minimum_order_size") or 5.0),
        neg_risk=bool(row.get("neg_risk", False)), slug=str(row.get("market_slug", "")),
    )  # fmt: skip


def select_markets(rows: Sequence[dict], wanted: Sequence[str]) -> list[MarketInfo]:
    """The markets ``wanted`` names (slugs, glob patterns, condition ids); each name
    must match something, or the run is refused."""
    if not wanted:
        raise ConfigError("data.markets", "a live run must name its markets (slugs, glob "
                                          "patterns or condition ids)")  # fmt: skip
    markets = [m for m in (market_info(r) for r in rows) if m is not None]
    out: dict[str, MarketInfo] = {}
    for name in wanted:
        hits = [m for m in markets
                if m.condition_id == name or fnmatch.fnmatchcase(m.slug, name)]  # fmt: skip
        if not hits:
            raise ConfigError("data.markets", f"{name!r} matches no market the venue lists")
        for m in hits:
            out[m.condition_id] = m
    return list(out.values())


def build_live(config: BacktestConfig, *, duration_s: float | None = None,
               secrets: LiveSecrets | None = None, channel_options: dict | None = None,
               user_options: dict | None = None,
               heartbeat_options: dict | None = None) -> SessionParts:  # fmt: skip
    """The live parts. ``duration_s``: stop after that long (None: until stopped).
    ``channel_options``/``user_options``/``heartbeat_options``: ``MarketChannel``/
    ``UserChannel``/``VenueHeartbeat`` keywords."""
    v = config.venue
    secrets = secrets or load_secrets()
    api = ClobApi(v.host, v.chain_id, secrets.private_key, creds=secrets.api_creds,
                  signature_type=v.signature_type, funder=v.funder or None,
                  http_timeout_s=v.http_timeout_s)  # fmt: skip
    try:
        rows = api.call("markets", _all_markets, api, deadline_s=30.0)
        markets = select_markets(rows, config.data.markets)
    except BaseException:
        api.close()
        raise
    clock = WallClock()
    venue = LiveVenue(api, markets, clock)
    if v.rpc_url:  # the API's balance must agree with the wallet's pUSD on chain
        chain = ChainBalance(v.rpc_url, v.funder or api.address, chain_id=v.chain_id)
        venue.check_balance_with(CrossCheckedBalance(
            ApiBalance(venue), chain, clock, ttl_s=0.0,
            signature_type=v.signature_type))  # fmt: skip
    assets = tuple(t for m in markets for t in (m.yes_token_id, m.no_token_id))
    ticks = np.array([m.tick_size for m in markets for _ in (0, 1)])
    grid = _GRID_FINE if ticks.min() < 0.001 - 1e-12 else 1_000
    books = LocalBooks(assets, ticks, grid)
    market_options = {"ping_interval_s": v.ws_ping_s, "pong_timeout_s": v.ws_pong_timeout_s,
                      "silence_s": v.ws_silence_s, **(channel_options or {})}  # fmt: skip
    recorder = roll = None
    if v.record_dir:  # what the feed said, kept as it came (``clobsim data import`` reads it)
        write_markets(v.record_dir, markets)
        roll = ParquetRoll(v.record_dir)
        recorder = Recorder(v.record_dir, on_finished=roll)
    market_channel = MarketChannel(v.ws_url.rstrip("/") + "/market", recorder=recorder,
                                   **market_options)  # fmt: skip
    feed = QueueFeed(clock, books, on_subscribe=market_channel.subscribe)
    user_channel = UserChannel(v.ws_url.rstrip("/") + "/user", venue,
                               **{"poll_s": v.user_poll_s, **(user_options or {})})  # fmt: skip
    market_channel.start(feed)
    user_channel.start(feed)
    # the venue's dead-man switch: beats that lapse put every open order in doubt
    heartbeat = start_heartbeat(api, feed, v.heartbeat_s, **(heartbeat_options or {}))

    journal = SqliteJournal(v.journal_path)
    alerter, webhook = operator_alerts()

    def close() -> None:
        heartbeat.stop()
        user_channel.stop()
        market_channel.stop()
        if recorder is not None:
            recorder.close()
            roll.close()
        feed.close()
        api.close()
        journal.close()
        if webhook is not None:
            webhook.close()

    end_ns = 2**62 if duration_s is None else clock.now_ns() + int(duration_s * NS)
    return SessionParts(
        clock=clock, feed=feed, venue=venue, end_ns=end_ns,
        summary=lambda: {"Venue": v.host, "Markets": len(markets),
                         "Market channel": _stats_line(market_channel.stats),
                         "User channel": _stats_line(user_channel.stats),
                         "Venue heartbeats": _beats_line(heartbeat)},
        extras={"api": api, "market_channel": market_channel, "user_channel": user_channel,
                "heartbeat": heartbeat,
                "started_wall": time.time()},
        close=close,
        journal=journal, alerter=alerter,
    )  # fmt: skip


def _all_markets(api: ClobApi) -> list[dict]:
    """Every row of the venue's ``/markets``, page after page."""
    rows: list[dict] = []
    cursor = "MA=="
    while cursor != "LTE=":
        page = api.client.get_markets(next_cursor=cursor)
        rows.extend(page.get("data") or [])
        cursor = page.get("next_cursor") or "LTE="
    return rows


def _beats_line(heartbeat) -> str:
    st = heartbeat.stats
    return f"{st.ok}/{st.sent} ok, {st.lapses} lapses"


def _stats_line(stats: object) -> str:
    fields = ("connects", "reconnects", "frames", "events")
    return ", ".join(f"{f} {getattr(stats, f)}" for f in fields if hasattr(stats, f))


register_builder("live", "polymarket", build_live)
