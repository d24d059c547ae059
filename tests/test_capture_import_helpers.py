"""Shared pieces of the capture-import tests: ids, frame builders, replay helpers.

(Named ``test_capture_import_*`` to live beside them; it holds no tests.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from live.capture import BadLine, CaptureConnection, CaptureWriter, read_capture
from live.capture_import import ImportReport, import_capture
from live.market_messages import MarketFrameParser
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    LevelChange,
    MarketEvent,
    MarketResolved,
    TickSizeChange,
    TradePrint,
)
from sim.marketdata import Dataset, day_start_ns
from sim.marketdata.from_events import rows_to_events
from sim.types import Side

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "capture"
GAMMA = FIXTURES / "gamma_markets.json"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"

BTC = "0x69b7aedf2a57d711f9224cb433e56bdde784538e9555fbad701aa728ec5cf78f"
BTC_UP = "84831569838904791218418410612741109617111478451809583542668714941306103289877"
BTC_DOWN = "70289393152762927290909742986664820310412834280653190642870797128823495563834"
ETH = "0xf25fec4dbcf5e3d10e21b243ef4edea8eda47a16f039d7921395f4bc6b526d63"
ETH_UP = "44697759479775338187663519447233238784453408493293963121470703867984107996767"
ETH_DOWN = "58779037936359736878735448308899987843205457151222287948948646287649138019356"
OTHER = "0x9ede68b306ddc62d21b8bed69e9f8ceab8feff2bc5d290aa2cb957593172d6e0"
OTHER_YES = "71405762080559200205436812523477291210956339650809167716621739488709198395495"
OTHER_NO = "25512958672545459211993317042224031284754984290383242884213179815384123752886"
BTC_SLUG = "btc-updown-15m-1768485600"
ETH_SLUG = "eth-updown-15m-1768485600"

DAY = dt.date(2026, 1, 15)
MIDNIGHT_MS = day_start_ns(dt.date(2026, 1, 16)) // 1_000_000


# -- frame builders (field names as Polymarket sends them) ------------------------------------


def book(
    asset: str,
    ts_ms: int,
    bids: list[tuple[str, str]],
    asks: list[tuple[str, str]],
    market: str = BTC,
    tick: str | None = "0.01",
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "event_type": "book",
        "market": market,
        "asset_id": asset,
        "timestamp": str(ts_ms),
        "hash": "9f1c",
        "bids": [{"price": p, "size": s} for p, s in bids],
        "asks": [{"price": p, "size": s} for p, s in asks],
    }
    if tick is not None:
        msg["tick_size"] = tick
    return msg


def price_change(ts_ms: int, *changes: tuple[str, str, str, str], market: str = BTC) -> dict:
    return {
        "event_type": "price_change",
        "market": market,
        "timestamp": str(ts_ms),
        "price_changes": [
            {"asset_id": a, "price": p, "size": s, "side": side, "hash": "77ab"}
            for a, p, s, side in changes
        ],
    }


def trade(asset: str, ts_ms: int, price: str, side: str, size: str, market: str = BTC) -> dict:
    return {
        "event_type": "last_trade_price",
        "asset_id": asset,
        "market": market,
        "price": price,
        "side": side,
        "size": size,
        "fee_rate_bps": "0",
        "timestamp": str(ts_ms),
    }


def tick_change(asset: str, ts_ms: int, old: str, new: str, market: str = ETH) -> dict:
    return {
        "event_type": "tick_size_change",
        "asset_id": asset,
        "market": market,
        "old_tick_size": old,
        "new_tick_size": new,
        "timestamp": str(ts_ms),
    }


def resolved(market: str, yes: str, no: str, winner: str, ts_ms: int) -> dict:
    return {
        "event_type": "market_resolved",
        "id": "1301790",
        "market": market,
        "assets_ids": [yes, no],
        "winning_asset_id": winner,
        "winning_outcome": "Up" if winner == yes else "Down",
        "timestamp": str(ts_ms),
        "tags": ["crypto"],
    }


def btc_books(ts_ms: int) -> list[dict]:
    up = book(BTC_UP, ts_ms, [("0.49", "250"), ("0.5", "310")], [("0.52", "200"), ("0.51", "150")])
    down = book(
        BTC_DOWN, ts_ms, [("0.48", "200"), ("0.49", "150")], [("0.51", "250"), ("0.5", "310")]
    )
    return [up, down]


def ns(ts_ms: int, latency_ms: int = 9) -> int:
    return (ts_ms + latency_ms) * 1_000_000


def write_capture(path: Path, records: list[tuple]) -> Path:
    """records: ("frame", recv_ns, frame-object-or-text) / ("conn", recv_ns, connected, reason)."""
    with CaptureWriter(path) as w:
        for rec in records:
            if rec[0] == "frame":
                text = rec[2] if isinstance(rec[2], str) else json.dumps(rec[2])
                w.frame(text, rec[1])
            else:
                w.connection(rec[2], rec[3], rec[1])
    return path


def run(capture: Path, out: Path, markets: list[Path] | None = None) -> ImportReport:
    return import_capture(capture, markets or [GAMMA], out)


# -- replaying into dict books ------------------------------------------------------------------

Books = dict[str, tuple[dict[float, float], dict[float, float]]]


def apply(books: Books, ev: MarketEvent) -> None:
    if isinstance(ev, BookSnapshot):
        books[ev.asset_id] = (dict(ev.bids), dict(ev.asks))
    elif isinstance(ev, LevelChange):
        side = books.setdefault(ev.asset_id, ({}, {}))[0 if ev.side is Side.BUY else 1]
        if ev.size == 0.0:
            side.pop(ev.price, None)
        else:
            side[ev.price] = ev.size
    elif isinstance(ev, ConnectionState) and not ev.connected:
        books.clear()  # the book is unknown until the fresh snapshots


def norm(ev: MarketEvent) -> tuple | None:
    """What the Parquet format keeps of an event (``rows_to_events`` is lossy elsewhere)."""
    if isinstance(ev, BookSnapshot):
        return ("book", ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.bids, ev.asks)
    if isinstance(ev, LevelChange | TradePrint):
        kind = "change" if isinstance(ev, LevelChange) else "trade"
        return (kind, ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.side, ev.price, ev.size)
    if isinstance(ev, TickSizeChange):
        return ("tick", ev.ts_exchange_ns, ev.ts_recv_ns, ev.asset_id, ev.old_tick_size,
                ev.new_tick_size)  # fmt: skip
    if isinstance(ev, MarketResolved):
        assets = tuple(sorted(ev.asset_ids))
        return ("resolved", ev.ts_exchange_ns, ev.ts_recv_ns, ev.market, assets,
                ev.winning_asset_id)  # fmt: skip
    if isinstance(ev, ConnectionState):
        return ("connection", ev.ts_recv_ns, ev.connected)
    assert isinstance(ev, BestBidAsk)
    return None  # not stored: derivable from the book


def direct_events(capture: Path) -> list[MarketEvent]:
    """The parser's own events, straight from the capture (sorted by receive time)."""
    parser = MarketFrameParser()
    records = [r for r in read_capture(capture) if not isinstance(r, BadLine)]
    records.sort(key=lambda r: r.recv_ns)
    out: list[MarketEvent] = []
    for rec in records:
        if isinstance(rec, CaptureConnection):
            out.append(ConnectionState(rec.recv_ns, rec.recv_ns, rec.connected, rec.reason))
        else:
            out.extend(parser.parse(rec.frame, rec.recv_ns))
    return out


def imported_events(out: Path) -> tuple[Dataset, list[MarketEvent]]:
    ds = Dataset.open(out)
    events: list[MarketEvent] = []
    for batch in ds.iter_days():
        events += rows_to_events(batch.events, ds.markets)
    return ds, events


def replay(events: list[MarketEvent]) -> Books:
    books: Books = {}
    for ev in events:
        apply(books, ev)
    return books


def all_rows(ds: Dataset) -> dict[str, np.ndarray]:
    """Every file's rows concatenated in file order (days in order), plus a file index."""
    cols: dict[str, list[np.ndarray]] = {}
    for day in ds.days():
        for f in ds.day_files(day):
            part = ds.read_file(f)
            for name in ("seq", "ts_recv_ns", "kind", "side", "price", "size", "asset"):
                cols.setdefault(name, []).append(getattr(part, name))
    return {k: np.concatenate(v) for k, v in cols.items()}
