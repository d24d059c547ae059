"""How Polymarket-like is a dataset? The figures of issue 10, measured from rows.

    .venv/bin/python -m benchmarks.realism [DATASET] [--days N] [--intensity X]
                                          [--assets BTC,SOL] [--seed S] [--keep DIR]

With a DATASET folder (any dataset in the ``data/README.md`` format: a real
import as well as ``clobsim synth`` output) it measures that dataset. Without
one it generates a small calibrated set into a temporary folder first
(``--days``, ``--intensity``, ``--assets``, ``--seed``; ``--keep DIR`` writes
it there instead and keeps it) and measures that.

Everything is computed from the rows, never from generator internals, per
market group: one group per up/down series (``BTC 15m``, ``SOL 15m``, from
the slug ``<sym>-updown-<window>-<start>``) and one for every other market
(``events``). The printed table puts each figure next to the reference of
``REFERENCE`` (one dict, with the source of every number), so the next
calibration is: run this on a fresh real import, update ``REFERENCE``, rerun
on ``clobsim synth`` output and tune ``exchange_mock/synth``.

What is measured (rows are read per file, in the file's (ts_recv_ns, seq)
order, with the exchange times as recorded, i.e. before the replay's clamp):

- prints/s: TRADE rows (both tokens) per second of a market's life (the
  window for up/down markets, the recorded days otherwise), mean over markets;
- NO share of prints, and NO prints that mirror a YES print (the data layer's
  rule, ``sim.marketdata.replay_rules.mirrored_trades``);
- print size p10/p50/p90 (shares), share under 5 shares, share of whole
  shares, mean print notional (size x price, USDC);
- one-tick spread share and top-of-book size p50: time-weighted (receive
  time) over the YES books, replayed row by row; the tick follows TICK_SIZE
  rows; both sides' best sizes are pooled;
- levels per side p50: SNAPSHOT_LEVEL rows per YES ``book`` message / 2;
- feed latency ts_recv_ns - ts_exchange_ns p50/p95, one value per message
  (consecutive rows of one asset with the same two timestamps);
- book messages per print per token: BOOK_RESET rows of a token / TRADE rows
  of its market;
- YES/NO book receive skew: the YES and NO ``book`` of one update (same
  exchange timestamp) received this far apart, p50 and max;
- exchange-time backsteps: distinct (market, exchange timestamp) of rows whose
  exchange time is below the running maximum of their asset, per 15 minutes of
  market life, and how far back they step (ms).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from numba import njit
from rich.console import Console
from rich.table import Table

from exchange_mock.replay_stats import price_grid
from sim.books import ASK, BID, clear_levels, set_level
from sim.marketdata import Dataset, EventColumns
from sim.marketdata.replay_rules import mirrored_trades
from sim.marketdata.schema import K_LEVEL, K_RESET, K_RESOLVED, K_SNAP, K_TICK, K_TRADE


@dataclass(frozen=True)
class Reference:
    """One reference figure: its text, the group it was measured on, and where it comes from."""

    value: str
    source: str


#: The real figures, with their source. "issue 10" = the side-by-side measurement of a
#: real capture (BTC, ETH, SOL up/down) in GitHub issue 10; "stats x.y" = section of
#: ``reference/market-statistics.md``.
REFERENCE: dict[str, Reference] = {
    "prints_per_s": Reference("3.5 (BTC 15m); 7-9.5 (BTC 5m)", "issue 10; stats 1.1"),
    "no_share": Reference("47 % (BTC 15m)", "issue 10"),
    "no_mirrored": Reference("0 % (0 of 3,971 Down prints)", "issue 10"),
    "size_p10": Reference("~3", "issue 10"),
    "size_p50": Reference("7-20", "issue 10"),
    "size_p90": Reference("~75", "issue 10"),
    "size_lt5": Reference("12-14 %", "issue 10"),
    "size_whole": Reference("55-69 %", "issue 10"),
    "notional_mean": Reference("~29 USDC (BTC 5m)", "stats 1.1"),
    "one_tick": Reference("10 % (SOL 15m) .. 56 % (BTC 1h)", "issue 10"),
    "top_p50": Reference("95-174", "issue 10"),
    "levels_p50": Reference("not measured ([A] 20-80)", "stats 2.1, 7"),
    "latency_p50": Reference("120-130 ms", "issue 10"),
    "latency_p95": Reference("not measured", "-"),
    "books_per_print": Reference("1 (each token, after each trade)", "issue 10"),
    "book_skew_p50": Reference("not measured", "-"),
    "book_skew_max": Reference("up to 1.7 s", "issue 10"),
    "backsteps_15m": Reference("10-15 per market", "issue 10"),
    "backstep_ms": Reference("28-37 ms", "issue 10"),
}

#: Row labels of the table, in order.
LABELS: dict[str, str] = {
    "markets": "markets measured",
    "prints_per_s": "prints/s (both tokens)",
    "no_share": "NO share of prints",
    "no_mirrored": "NO prints mirroring a YES print",
    "size_p10": "print size p10 [shares]",
    "size_p50": "print size p50 [shares]",
    "size_p90": "print size p90 [shares]",
    "size_lt5": "prints under 5 shares",
    "size_whole": "prints of whole shares",
    "notional_mean": "mean print [USDC]",
    "one_tick": "one-tick spread, share of time",
    "top_p50": "top-of-book size p50 [shares]",
    "levels_p50": "levels per side p50 (at book)",
    "latency_p50": "recv - exchange p50",
    "latency_p95": "recv - exchange p95",
    "books_per_print": "book messages per print per token",
    "book_skew_p50": "YES/NO book receive skew p50",
    "book_skew_max": "YES/NO book receive skew max",
    "backsteps_15m": "exchange-time backsteps per 15 min",
    "backstep_ms": "backstep size p50 / max",
    "rows_per_print": "rows per print (cost)",
}

_UPDOWN = re.compile(r"^(?P<sym>[a-z0-9]+)-updown-(?P<win>\d+[mhd])-\d+")
NS_PER_S = 1_000_000_000
#: Log-spaced histogram bins: sizes 0.01 .. 1e8 shares, latencies 1 us .. 100 s.
_BINS_PER_DECADE = 50
_SIZE_LOG_LO, _SIZE_LOG_HI = -2.0, 8.0
_LAT_LOG_LO, _LAT_LOG_HI = 3.0, 11.0


def market_group(slug: str, category: str) -> str:
    """``BTC 15m`` for ``btc-updown-15m-<start>``; ``events`` for anything else."""
    m = _UPDOWN.match(slug or "")
    if m:
        return f"{m.group('sym').upper()} {m.group('win')}"
    return "events"


# ---------------------------------------------------------------------------------------
# the book replay (time-weighted spread and top-of-book size)
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _log_bin(x, lo, hi):
    n = int((hi - lo) * _BINS_PER_DECADE)
    if x <= 0.0:
        return 0
    b = int((math.log10(x) - lo) * _BINS_PER_DECADE)
    return min(max(b, 0), n - 1)


class YesBooks(NamedTuple):
    """Per market: its YES token's tick and the receive time of its last row."""

    tick: np.ndarray
    last_t: np.ndarray  # 0: no state to weight (before the first row, after resolution)


class GroupTime(NamedTuple):
    """Per market group (index: ``of_asset``): time-weighted book figures."""

    of_asset: np.ndarray  # group of each asset
    quoted_ns: np.ndarray  # time with both sides quoted
    one_tick_ns: np.ndarray  # ... of it with a one-tick spread
    top_hist: np.ndarray  # [group, log-size bin] time at each best size (both sides)


@njit(cache=True)
def _book_kernel(recv, asset, kind, side, price, size, ladder, best, yes, groups):
    """Replay YES books row by row (``ladder``/``best`` indexed by market, ``sim.books``);
    weight the state before each row by the time it held."""
    grid = ladder.shape[2] - 1
    for r in range(len(recv)):
        a = asset[r]
        if a < 0 or (a & 1) == 1:
            continue
        y = a >> 1
        g = groups.of_asset[a]
        t = recv[r]
        b, o = best[y, BID], best[y, ASK]
        if b >= 0 and o <= grid and yes.last_t[y] > 0 and t > yes.last_t[y]:
            dt = float(t - yes.last_t[y])
            groups.quoted_ns[g] += dt
            if o - b <= int(yes.tick[y] * grid + 0.5):
                groups.one_tick_ns[g] += dt
            groups.top_hist[g, _log_bin(ladder[y, BID, b], _SIZE_LOG_LO, _SIZE_LOG_HI)] += dt
            groups.top_hist[g, _log_bin(ladder[y, ASK, o], _SIZE_LOG_LO, _SIZE_LOG_HI)] += dt
        yes.last_t[y] = t
        k = kind[r]
        if k == K_RESET or k == K_RESOLVED:
            clear_levels(ladder, best, y, grid)
            if k == K_RESOLVED:
                yes.last_t[y] = 0
        elif k == K_TICK:
            yes.tick[y] = price[r]
        elif k == K_SNAP or k == K_LEVEL:
            i = int(price[r] * grid + 0.5)
            if side[r] > 0:  # a constant side: LLVM inlines set_level
                set_level(ladder, best, y, BID, i, size[r], grid)
            else:
                set_level(ladder, best, y, ASK, i, size[r], grid)


def _hist_quantile(hist: np.ndarray, q: float, lo: float) -> float:
    total = hist.sum()
    if total <= 0:
        return math.nan
    i = int(np.searchsorted(np.cumsum(hist), q * total))
    return 10.0 ** (lo + (i + 0.5) / _BINS_PER_DECADE)


# ---------------------------------------------------------------------------------------
# accumulation per group
# ---------------------------------------------------------------------------------------
@dataclass
class _Group:
    markets: set[int] = field(default_factory=set)
    life_s: dict[int, float] = field(default_factory=dict)
    prints: dict[int, int] = field(default_factory=dict)
    rows: int = 0
    sizes: list[np.ndarray] = field(default_factory=list)
    notional: list[np.ndarray] = field(default_factory=list)
    no_prints: int = 0
    mirrored: int = 0
    books_yes: int = 0
    books_no: int = 0
    levels: list[np.ndarray] = field(default_factory=list)
    skew_ns: list[np.ndarray] = field(default_factory=list)
    backsteps: set[tuple[int, int]] = field(default_factory=set)
    backstep_ns: list[np.ndarray] = field(default_factory=list)
    latency: np.ndarray = field(
        default_factory=lambda: np.zeros(int((_LAT_LOG_HI - _LAT_LOG_LO) * _BINS_PER_DECADE))
    )


def _levels_per_book(cols: EventColumns, yes_rows: np.ndarray) -> np.ndarray:
    """SNAPSHOT_LEVEL rows per BOOK_RESET, over one file's rows of YES assets."""
    kind = cols.kind[yes_rows]
    asset = cols.asset[yes_rows]
    out = []
    for a in np.unique(asset):
        k = kind[asset == a]
        book_no = np.cumsum(k == K_RESET)
        snaps = np.bincount(book_no[k == K_SNAP], minlength=book_no[-1] + 1)
        out.append(snaps[1:])
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def _book_skew(cols: EventColumns, resets: np.ndarray) -> np.ndarray:
    """|recv(YES book) - recv(NO book)| for the books of one update (same exchange time)."""
    if not len(resets):
        return np.zeros(0, dtype=np.int64)
    df = pd.DataFrame(
        {
            "market": cols.asset[resets] >> 1,
            "no": cols.asset[resets] & 1,
            "ex": cols.ts_exchange_ns[resets],
            "recv": cols.ts_recv_ns[resets],
        }
    )
    df["k"] = df.groupby(["market", "no", "ex"]).cumcount()
    yes, no = df[df["no"] == 0], df[df["no"] == 1]
    both = yes.merge(no, on=["market", "ex", "k"], suffixes=("_y", "_n"))
    return np.abs((both["recv_y"] - both["recv_n"]).to_numpy())


def _backsteps(cols: EventColumns, last_ex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose exchange time is below their asset's running maximum, and by how much.

    ``last_ex`` (per asset) carries the maximum across files and is advanced.
    """
    rows = np.flatnonzero(cols.asset >= 0)
    if not len(rows):
        return rows, rows
    a = cols.asset[rows]
    order = np.lexsort((rows, a))
    r_sorted, a_sorted = rows[order], a[order]
    ts = cols.ts_exchange_ns[r_sorted]
    starts = np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]])
    before = np.empty_like(ts)
    for s, e in zip(starts, np.r_[starts[1:], len(ts)], strict=True):
        g = int(a_sorted[s])
        run = np.maximum.accumulate(ts[s:e])
        before[s] = last_ex[g]
        before[s + 1 : e] = run[:-1]
        np.maximum(before[s:e], last_ex[g], out=before[s:e])
        last_ex[g] = max(int(last_ex[g]), int(run[-1]))
    back = ts < before
    return r_sorted[back], (before - ts)[back]


def measure(path: Path | str) -> dict[str, dict[str, object]]:
    """The figures of ``LABELS`` for every market group of the dataset at ``path``."""
    ds = Dataset.open(path)
    days = ds.days()
    groups_of_market = [market_group(m.slug, m.category) for m in ds.markets]
    names = sorted(set(groups_of_market), key=lambda g: (g == "events", g))
    gidx = {g: i for i, g in enumerate(names)}
    group_of_asset = np.repeat(np.array([gidx[g] for g in groups_of_market], dtype=np.int64), 2)
    acc = {g: _Group() for g in names}
    grid = price_grid(ds)
    n_m = len(ds.markets)
    ladder = np.zeros((n_m, 2, grid + 1))
    best = np.empty((n_m, 2), dtype=np.int64)
    best[:, BID] = -1
    best[:, ASK] = grid + 1
    yes = YesBooks(
        tick=np.array([m.tick_size for m in ds.markets], dtype=np.float64),
        last_t=np.zeros(n_m, dtype=np.int64),
    )
    n_bins = int((_SIZE_LOG_HI - _SIZE_LOG_LO) * _BINS_PER_DECADE)
    book_time = GroupTime(
        of_asset=group_of_asset,
        quoted_ns=np.zeros(len(names)),
        one_tick_ns=np.zeros(len(names)),
        top_hist=np.zeros((len(names), n_bins)),
    )
    tick_state = ds.initial_ticks()
    last_ex = np.full(len(ds.assets), np.iinfo(np.int64).min, dtype=np.int64)
    recorded_s = len(days) * 86_400.0

    for day in days:
        for f in ds.day_files(day):
            cols = ds.read_file(f, tick_state)
            valid = cols.asset >= 0
            if not valid.any():
                continue
            _book_kernel(cols.ts_recv_ns, cols.asset, cols.kind, cols.side, cols.price, cols.size,
                         ladder, best, yes, book_time)  # fmt: skip
            market = np.where(valid, cols.asset >> 1, -1)
            is_trade = valid & (cols.kind == K_TRADE)
            is_reset = valid & (cols.kind == K_RESET)
            mirrored = mirrored_trades(cols)
            back_rows, back_ns = _backsteps(cols, last_ex)
            # message starts: a row whose asset or timestamps differ from the previous row's
            start = np.r_[True, (np.diff(cols.asset) != 0)
                          | (np.diff(cols.ts_exchange_ns) != 0)
                          | (np.diff(cols.ts_recv_ns) != 0)] & valid  # fmt: skip
            for mi in np.unique(market[valid]).tolist():
                info = ds.markets[mi]
                g = acc[groups_of_market[mi]]
                in_m = market == mi
                g.markets.add(mi)
                g.rows += int(np.count_nonzero(in_m))
                if groups_of_market[mi] == "events":
                    g.life_s[mi] = recorded_s
                else:
                    g.life_s[mi] = (info.end_ns - info.start_ns) / NS_PER_S
                t = np.flatnonzero(in_m & is_trade)
                g.prints[mi] = g.prints.get(mi, 0) + len(t)
                sized = t[cols.size[t] > 0]
                g.sizes.append(cols.size[sized])
                g.notional.append(cols.size[sized] * cols.price[sized])
                g.no_prints += int(np.count_nonzero(cols.asset[t] & 1))
                g.mirrored += int(np.count_nonzero(mirrored[t]))
                resets = np.flatnonzero(in_m & is_reset)
                n_no = int(np.count_nonzero(cols.asset[resets] & 1))
                g.books_no += n_no
                g.books_yes += len(resets) - n_no
                yes_rows = np.flatnonzero(in_m & ((cols.asset & 1) == 0))
                g.levels.append(_levels_per_book(cols, yes_rows) / 2.0)
                g.skew_ns.append(_book_skew(cols, resets))
                lat = (cols.ts_recv_ns - cols.ts_exchange_ns)[in_m & start]
                bins = np.clip(
                    ((np.log10(np.maximum(lat, 1)) - _LAT_LOG_LO) * _BINS_PER_DECADE).astype(int),
                    0,
                    len(g.latency) - 1,
                )
                g.latency += np.bincount(bins, minlength=len(g.latency))
                mine = market[back_rows] == mi
                g.backsteps.update((mi, int(x)) for x in cols.ts_exchange_ns[back_rows[mine]])
                g.backstep_ns.append(back_ns[mine])

    quoted, one_tick, top_hist = book_time.quoted_ns, book_time.one_tick_ns, book_time.top_hist
    out: dict[str, dict[str, object]] = {}
    for i, name in enumerate(names):
        g = acc[name]
        sizes = np.concatenate(g.sizes) if g.sizes else np.zeros(0)
        notional = np.concatenate(g.notional) if g.notional else np.zeros(0)
        levels = np.concatenate(g.levels) if g.levels else np.zeros(0)
        skew = np.concatenate(g.skew_ns) if g.skew_ns else np.zeros(0)
        back = np.concatenate(g.backstep_ns) if g.backstep_ns else np.zeros(0)
        prints = sum(g.prints.values())
        life = sum(g.life_s.values())
        q = np.quantile(sizes, [0.1, 0.5, 0.9]) if len(sizes) else [math.nan] * 3
        out[name] = {
            "markets": len(g.markets),
            "prints_per_s": float(np.mean([g.prints[m] / g.life_s[m] for m in g.markets]))
            if g.markets
            else math.nan,
            "no_share": g.no_prints / prints if prints else math.nan,
            "no_mirrored": g.mirrored / g.no_prints if g.no_prints else math.nan,
            "size_p10": q[0],
            "size_p50": q[1],
            "size_p90": q[2],
            "size_lt5": float(np.mean(sizes < 5.0)) if len(sizes) else math.nan,
            "size_whole": float(np.mean(np.abs(sizes - np.rint(sizes)) < 1e-9))
            if len(sizes)
            else math.nan,
            "notional_mean": float(notional.mean()) if len(notional) else math.nan,
            "one_tick": one_tick[i] / quoted[i] if quoted[i] else math.nan,
            "top_p50": _hist_quantile(top_hist[i], 0.5, _SIZE_LOG_LO),
            "levels_p50": float(np.median(levels)) if len(levels) else math.nan,
            "latency_p50": _hist_quantile(g.latency, 0.5, _LAT_LOG_LO) / 1e6,
            "latency_p95": _hist_quantile(g.latency, 0.95, _LAT_LOG_LO) / 1e6,
            "books_per_print": (g.books_yes + g.books_no) / (2 * prints) if prints else math.nan,
            "book_skew_p50": float(np.median(skew)) / 1e6 if len(skew) else math.nan,
            "book_skew_max": float(skew.max()) / 1e6 if len(skew) else math.nan,
            "backsteps_15m": len(g.backsteps) / (life / 900.0) if life else math.nan,
            "backstep_ms": (float(np.median(back)) / 1e6, float(back.max()) / 1e6)
            if len(back)
            else (math.nan, math.nan),
            "rows_per_print": g.rows / prints if prints else math.nan,
        }
    return out


# ---------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------
_PERCENT = {"no_share", "no_mirrored", "size_lt5", "size_whole", "one_tick"}
_MS = {"latency_p50", "latency_p95", "book_skew_p50", "book_skew_max"}


def fmt(key: str, value: object) -> str:
    """A figure as the table shows it."""
    if isinstance(value, tuple):
        return " / ".join(fmt(key, v) for v in value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)  # type: ignore[arg-type]
    if key in _PERCENT:
        return f"{100 * v:.1f} %"
    if key in _MS or key == "backstep_ms":
        return f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"
    if key == "markets":
        return f"{int(v):,}"
    if 0 < abs(v) < 0.1:
        return f"{v:.2g}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def table(results: dict[str, dict[str, object]], title: str) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column("figure")
    for name in results:
        t.add_column(name, justify="right")
    t.add_column("reference")
    t.add_column("source")
    for key, label in LABELS.items():
        ref = REFERENCE.get(key)
        t.add_row(
            label,
            *(fmt(key, r.get(key)) for r in results.values()),
            ref.value if ref else "",
            ref.source if ref else "",
        )
    return t


def markdown(results: dict[str, dict[str, object]]) -> str:
    """The same table in Markdown (for docs)."""
    head = ["figure", *results, "reference", "source"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key, label in LABELS.items():
        ref = REFERENCE.get(key)
        cells = [fmt(key, r.get(key)) for r in results.values()]
        lines.append(
            "| "
            + " | ".join([label, *cells, ref.value if ref else "", ref.source if ref else ""])
            + " |"
        )
    return "\n".join(lines)


def _default_config(args: argparse.Namespace):
    from exchange_mock.synth import SynthConfig

    return SynthConfig(
        days=args.days,
        seed=args.seed,
        intensity=args.intensity,
        crypto_assets=tuple(a.strip().upper() for a in args.assets.split(",") if a.strip()),
        neg_risk_groups=(3,),
        event_markets=1,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.realism", description=__doc__)
    p.add_argument("dataset", nargs="?", help="dataset folder (default: generate a small one)")
    p.add_argument("--days", type=int, default=1, help="days to generate (default 1)")
    p.add_argument("--intensity", type=float, default=1.0, help="generated rate multiplier")
    p.add_argument("--assets", default="BTC,SOL", help="generated up/down series (BTC,SOL)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", default=None, help="generate into this folder and keep it")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table instead")
    args = p.parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    with tempfile.TemporaryDirectory(prefix="realism-") as tmp:
        if args.dataset:
            path = Path(args.dataset)
        else:
            from exchange_mock.synth import generate_dataset

            path = Path(args.keep) if args.keep else Path(tmp) / "synth"
            config = _default_config(args)
            summary = generate_dataset(config, path, progress=console.is_terminal)
            console.print(
                f"generated {path}: {summary.rows:,} rows, {summary.files} files, "
                f"{summary.bytes_on_disk / 1e6:.0f} MB in {summary.wall_seconds:.1f} s"
            )
        started = time.perf_counter()
        results = measure(path)
        took = time.perf_counter() - started
    if args.markdown:
        print(markdown(results))
    else:
        console.print(table(results, f"{path} (measured in {took:.1f} s, {dt.date.today()})"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
