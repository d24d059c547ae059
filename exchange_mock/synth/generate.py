"""Orchestration: plan the markets, simulate one UTC day at a time, write it.

Per day: every up/down window starting that day is simulated in one kernel
call (its underlying path from ``paths.py``), every event market and
neg-risk group advances one day with its book carried over, the feed gaps
become the ``_feed`` file, and the rows are written through
``sim.marketdata.DatasetWriter`` (which validates each file) as one file per
market and day. Rows received after midnight (in-flight messages, a
resolution 20 s after the last window) go to the next day's file; after the
last day they are not recorded.

``seq`` is the recorder's global row counter: each day's rows are numbered in
receive order across all files, continuing from the previous day, so merging
the files by (``ts_recv_ns``, ``seq``) gives back the single stream a live
recorder would have written.

Memory: at most two days of rows, one being written while the next is
simulated (about 1.5 GB peak for the default config at intensity 1.0),
never the week.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from exchange_mock.synth import paths, rates, shape
from exchange_mock.synth.book import BookUnit
from exchange_mock.synth.book_layout import P_BACKSTEP, RowBlock
from exchange_mock.synth.config import SynthConfig
from exchange_mock.synth.feed import FEED_NAME, NS_PER_DAY, connection_rows, day_gaps
from exchange_mock.synth.markets import CryptoWindow, EventGroup, Plan, plan_markets
from exchange_mock.synth.seeds import Stream, rng, symbol_key
from sim.marketdata import DatasetWriter, EventColumns, EventKind, day_start_ns

_WINDOW_STEP_S = paths.CRYPTO_STEP_NS / 1e9
_EVENT_STEPS = NS_PER_DAY // paths.EVENT_STEP_NS
_WRITE_THREADS = 2


@dataclass(frozen=True)
class SynthSummary:
    """What ``generate_dataset`` wrote."""

    path: Path
    rows: int
    trades: int
    files: int
    markets: int
    days: int
    bytes_on_disk: int
    wall_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.wall_seconds if self.wall_seconds > 0 else 0.0


def _window_steps(config: SynthConfig) -> int:
    """Grid steps (100 ms) in one up/down window."""
    return config.window_minutes * 60 * 1_000_000_000 // paths.CRYPTO_STEP_NS


class _Underlying:
    """One crypto asset's price path, regenerated day by day from its seeded streams."""

    def __init__(self, config: SynthConfig, symbol: str) -> None:
        self.config = config
        self.symbol = symbol
        _, s0, self.vol_multiplier = paths.asset_profile(symbol, config.seed)
        self.trade_share = rates.trade_share(
            symbol, rng(config.seed, Stream.ASSET_META, symbol_key(symbol), 1)
        )
        self.day_open: list[float] = []
        per_day = 1440 // config.window_minutes
        stride = _window_steps(config)
        boundaries = [math.log(s0)]
        log_s = math.log(s0)
        for d in range(config.days):
            self.day_open.append(log_s)
            path = self.path(d)
            boundaries.extend(path[stride : per_day * stride + 1 : stride].tolist())
            log_s = float(path[-1])
        self.boundaries = np.array(boundaries)

    def sigma(self, d: int) -> float:
        return paths.crypto_sigma_per_min(self.activity(d), self.vol_multiplier)

    def activity(self, d: int) -> float:
        day = self.config.start_date + dt.timedelta(days=d)
        return paths.day_activity(self.config.seed, day.toordinal())

    def path(self, d: int) -> np.ndarray:
        day = self.config.start_date + dt.timedelta(days=d)
        return paths.underlying_day(
            self.config.seed, self.symbol, day.toordinal(), self.day_open[d], self.sigma(d)
        )


class _EventUnit:
    """A standalone event market or a whole neg-risk group, carried from day to day."""

    def __init__(self, config: SynthConfig, group: EventGroup) -> None:
        self.config = config
        self.group = group
        n = len(group.market_indexes)
        if group.neg_risk:
            self.gen = rng(config.seed, Stream.GROUP_BOOK, group.key, n)
        else:
            self.gen = rng(config.seed, Stream.EVENT_BOOK, group.key)
        g = self.gen
        self.walk = paths.LogitWalk.start(g, np.array(group.probs))
        params = np.stack([shape.event_params(g, group.tick) for _ in range(n)])
        if not config.exchange_time_backsteps:
            params[:, P_BACKSTEP] = 0.0
        lo, hi = rates.EVENT_TRADES_PER_DAY
        prints = np.exp(g.uniform(math.log(lo), math.log(hi), size=n))
        self.trades_per_day = prints / rates.PRINTS_PER_ORDER
        self.lc_per_trade = g.uniform(*rates.LC_PER_TRADE, size=n)
        ticks = np.full(n, round(group.tick * 1000))
        yes = 2 * np.array(group.market_indexes)
        self.unit = BookUnit(g, params, yes, ticks, arbitrage=group.neg_risk and n > 1)

    def day(self, d: int, d0: int, gaps: np.ndarray, recording_end: int) -> RowBlock:
        g = self.gen
        fair, jumps = self.walk.day(g, d0)
        # a jump of one outcome moves every outcome of a group: all of them burst
        all_jumps = np.sort(np.concatenate(jumps))
        lam_t = np.empty_like(fair)
        lam_l = np.empty_like(fair)
        for m in range(fair.shape[0]):
            count = self.trades_per_day[m] * math.exp(
                rates.EVENT_DAY_SIGMA * g.standard_normal() - 0.5 * rates.EVENT_DAY_SIGMA**2
            )
            lam_t[m], lam_l[m] = rates.event_day_rates(
                d0,
                paths.EVENT_STEP_NS,
                _EVENT_STEPS,
                count * self.config.intensity,
                self.lc_per_trade[m],
                all_jumps,
                g,
            )
        return self.unit.run(
            d0, paths.EVENT_STEP_NS, fair, lam_t, lam_l, gaps, recording_end, initial=d == 0
        )


def _window_rows(
    config: SynthConfig,
    w: CryptoWindow,
    under: _Underlying,
    d: int,
    path: np.ndarray,
    gaps: np.ndarray,
) -> RowBlock:
    """All rows of one up/down window, its RESOLVED message included when recorded.

    The window's book feed closes at its end: book messages still in flight
    at the close are not recorded (so no book row is received after the end
    and a day file never starts with a stale tick), then only RESOLVED follows.
    """
    g = rng(config.seed, Stream.CRYPTO_BOOK, symbol_key(w.symbol), w.start_ns // 1_000_000_000)
    stride = _window_steps(config)
    first = (w.start_ns - day_start_ns(config.start_date + dt.timedelta(days=d))) // (
        paths.CRYPTO_STEP_NS
    )
    sd_step = under.sigma(d) * math.sqrt(_WINDOW_STEP_S / 60.0)
    fair = paths.updown_fair(path[first : first + stride + 1], sd_step)
    params = shape.crypto_params(g, w.symbol)
    if not config.exchange_time_backsteps:
        params[P_BACKSTEP] = 0.0
    trades = rates.window_trade_count(
        under.activity(d), under.trade_share, config.window_minutes, config.intensity, g
    )
    lam_t, lam_l = rates.window_rates(fair, _WINDOW_STEP_S, trades, g.uniform(*rates.LC_PER_TRADE))
    unit = BookUnit(g, params[None, :], np.array([2 * w.market_index]), np.array([10]))
    rows = unit.run(
        w.start_ns, paths.CRYPTO_STEP_NS, fair, lam_t, lam_l, gaps, w.end_ns, initial=True
    )
    if not w.resolution_recorded:
        return rows
    ya = 2 * w.market_index
    resolved = RowBlock(
        np.full(2, w.resolved_ex_ns, dtype=np.int64),
        np.full(2, w.resolved_recv_ns, dtype=np.int64),
        np.array([ya, ya + 1], dtype=np.int32),
        np.full(2, int(EventKind.RESOLVED), dtype=np.uint8),
        np.zeros(2, dtype=np.int8),
        np.array([1.0, 0.0]) if w.up else np.array([0.0, 1.0]),
        np.zeros(2),
    )
    return _concat([rows, resolved])


def _concat(blocks: list[RowBlock]) -> RowBlock:
    if len(blocks) == 1:
        return blocks[0]
    return RowBlock(*(np.concatenate(cols) for cols in zip(*blocks, strict=True)))


def _take(block: RowBlock, index: np.ndarray | slice) -> RowBlock:
    return RowBlock(*(col[index] for col in block))


class _DayRows:
    """Rows collected for one day's files, by market index (plus the feed)."""

    def __init__(self) -> None:
        self.by_market: dict[int, list[RowBlock]] = defaultdict(list)

    def add(self, market: int, block: RowBlock) -> None:
        if len(block.ts_recv_ns):
            self.by_market[market].append(block)

    def count(self) -> int:
        """Rows collected (without the feed's CONNECTION rows)."""
        return sum(len(b.ts_recv_ns) for blocks in self.by_market.values() for b in blocks)


def _route(
    block: RowBlock, markets: tuple[int, ...], day_end: int, today: _DayRows, tomorrow: _DayRows
) -> None:
    """File rows by market and by the day they were received."""
    for mi in markets:
        part = block if len(markets) == 1 else _take(block, np.flatnonzero(block.asset // 2 == mi))
        cut = int(np.searchsorted(part.ts_recv_ns, day_end, side="left"))
        today.add(mi, _take(part, slice(0, cut)))
        tomorrow.add(mi, _take(part, slice(cut, None)))


def _write_day(
    writer: DatasetWriter,
    plan: Plan,
    day: dt.date,
    rows: _DayRows,
    feed: RowBlock,
    seq_base: int,
) -> tuple[int, int, int]:
    """Number the day's rows in receive order and write one file per market.

    Returns (rows, TRADE rows, files).
    """
    names: list[str] = []
    blocks: list[RowBlock] = []
    for mi in sorted(rows.by_market):
        names.append(plan.markets[mi].slug)
        blocks.append(_concat(rows.by_market[mi]))
    if len(feed.ts_recv_ns):
        names.append(FEED_NAME)
        blocks.append(feed)
    if not blocks:
        return 0, 0, 0
    recv = np.concatenate([b.ts_recv_ns for b in blocks])
    order = np.argsort(recv, kind="stable")
    seq = np.empty(len(recv), dtype=np.int64)
    seq[order] = np.arange(seq_base, seq_base + len(recv), dtype=np.int64)
    assets = writer.assets
    columns: list[tuple[str, EventColumns]] = []
    start = 0
    for name, b in zip(names, blocks, strict=True):
        n = len(b.ts_recv_ns)
        cols = EventColumns(
            ts_exchange_ns=b.ts_exchange_ns,
            ts_recv_ns=b.ts_recv_ns,
            seq=seq[start : start + n],
            asset=b.asset,
            kind=b.kind,
            side=b.side,
            price=b.price,
            size=b.size,
            assets=assets,
        )
        columns.append((name, cols))
        start += n
    # Parquet encoding and most of the validation release the GIL: two files at a time.
    with ThreadPoolExecutor(max_workers=_WRITE_THREADS) as pool:
        written = [pool.submit(writer.write_day, day, name, cols) for name, cols in columns]
        for future in written:
            future.result()  # re-raises a validation error of that file
    trades = sum(int(np.count_nonzero(b.kind == EventKind.TRADE)) for b in blocks)
    return len(recv), trades, len(blocks)


def _prepare(out: Path, overwrite: bool) -> None:
    """Refuse to mix a new dataset into old files; replace an old dataset if asked."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise FileExistsError(f"{out} is not empty: choose a new folder or pass overwrite=True")
    if not (out / "dataset.json").is_file():
        raise FileExistsError(f"{out} is not empty and holds no dataset.json: not replacing it")
    shutil.rmtree(out / "events", ignore_errors=True)
    for name in ("dataset.json", "markets.parquet"):
        (out / name).unlink(missing_ok=True)


def _progress(enabled: bool, total: int) -> Progress | None:
    """A started rich progress bar over market-days, or None."""
    if not enabled:
        return None
    bar = Progress(
        TextColumn("[bold]synth[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("market-days"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    bar.start()
    bar.add_task("synth", total=total)
    return bar


def generate_dataset(
    config: SynthConfig, out: Path | str, *, progress: bool = False, overwrite: bool = False
) -> SynthSummary:
    """Write the synthetic dataset of ``config`` to the folder ``out``.

    Same config, same bytes: every random draw comes from a stream keyed by
    ``config.seed`` and the market's identity (``seeds.py``). ``out`` must be
    new or empty; with ``overwrite`` an existing dataset there is replaced
    (a folder that is not a dataset is never deleted).
    """
    started = time.perf_counter()
    out = Path(out)
    _prepare(out, overwrite)
    days = [config.start_date + dt.timedelta(days=d) for d in range(config.days)]
    gaps_by_day = [day_gaps(config, day) for day in days]
    underlyings = {sym: _Underlying(config, sym) for sym in config.crypto_assets}
    plan = plan_markets(config, {s: u.boundaries for s, u in underlyings.items()}, gaps_by_day)
    meta = {
        "generator": "exchange_mock.synth",
        "synthetic": True,
        "config": json.loads(json.dumps(asdict(config), default=str)),
    }
    writer = DatasetWriter(out, plan.markets, meta=meta)
    units = [_EventUnit(config, group) for group in plan.events]
    recording_end = day_start_ns(config.end_date)
    long_lived = sum(len(u.group.market_indexes) for u in units)
    total = sum(len(w) for w in plan.windows_by_day) + long_lived * config.days
    bar = _progress(progress, total)

    seq_base = 0
    n_rows = n_trades = n_files = 0
    carry = _DayRows()
    # Day d is written on a worker thread while day d + 1 is simulated (the
    # kernel releases the GIL, Parquet encoding too): at most two days in memory.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="synth-writer")
    pending: Future[tuple[int, int, int]] | None = None
    try:
        for d, day in enumerate(days):
            today, carry = carry, _DayRows()
            d0 = day_start_ns(day)
            gaps = gaps_by_day[d]
            for sym, under in underlyings.items():
                path = under.path(d)
                for w in plan.windows_by_day[d]:
                    if w.symbol != sym:
                        continue
                    block = _window_rows(config, w, under, d, path, gaps)
                    _route(block, (w.market_index,), d0 + NS_PER_DAY, today, carry)
                    if bar is not None:
                        bar.advance(bar.task_ids[0])
            for unit in units:
                block = unit.day(d, d0, gaps, recording_end)
                _route(block, unit.group.market_indexes, d0 + NS_PER_DAY, today, carry)
                if bar is not None:
                    bar.advance(bar.task_ids[0], len(unit.group.market_indexes))
            if pending is not None:
                rows, trades, files = pending.result()
                n_rows, n_trades, n_files = n_rows + rows, n_trades + trades, n_files + files
            feed = connection_rows(gaps)
            pending = pool.submit(_write_day, writer, plan, day, today, feed, seq_base)
            seq_base += today.count() + len(feed.ts_recv_ns)
        if pending is not None:
            rows, trades, files = pending.result()
            n_rows, n_trades, n_files = n_rows + rows, n_trades + trades, n_files + files
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.stop()
    writer.update_meta(rows=n_rows, trades=n_trades)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return SynthSummary(
        path=out,
        rows=n_rows,
        trades=n_trades,
        files=n_files,
        markets=len(plan.markets),
        days=config.days,
        bytes_on_disk=size,
        wall_seconds=time.perf_counter() - started,
    )
