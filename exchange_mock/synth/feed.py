"""The recorder's own feed: disconnects and the CONNECTION rows that mark them.

Per UTC day the recorder drops ``feed_gaps_per_day`` times (the integer part
every day, the fraction with that probability), each for 5-60 s (stats 5
"Feed gaps": the measured feed delivered 91-98 % of seconds, with gaps from
seconds to minutes [A]). A gap is a receive-time interval [start, end): a
CONNECTION row with side 0 at the start and side 1 at the end, both in the
day's ``_feed`` file. Messages arriving inside a gap are lost, and after it
every live book is re-sent as a fresh snapshot (``book_kernel.py``). Gaps stay a
minute clear of midnight so each lies within one day.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from exchange_mock.synth.book_layout import RowBlock
from exchange_mock.synth.config import SynthConfig
from exchange_mock.synth.seeds import Stream, rng
from sim.marketdata import EventKind, day_start_ns

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
GAP_SECONDS = (5.0, 60.0)
#: File name part of the day's CONNECTION rows.
FEED_NAME = "_feed"
_MARGIN_NS = 60 * NS_PER_S


def day_gaps(config: SynthConfig, day: dt.date) -> np.ndarray:
    """The day's feed gaps as receive-time [start, end) rows, sorted, non-overlapping."""
    g = rng(config.seed, Stream.FEED, day.toordinal())
    whole = int(config.feed_gaps_per_day)
    count = whole + int(g.random() < config.feed_gaps_per_day - whole)
    d0 = day_start_ns(day)
    starts = np.sort(g.integers(d0 + _MARGIN_NS, d0 + NS_PER_DAY - 2 * _MARGIN_NS, size=count))
    lengths = (g.uniform(*GAP_SECONDS, size=count) * NS_PER_S).astype(np.int64)
    out: list[tuple[int, int]] = []
    prev_end = d0
    for s, n in zip(starts.tolist(), lengths.tolist(), strict=True):
        s = max(s, prev_end + 10 * NS_PER_S)
        if s + n > d0 + NS_PER_DAY - _MARGIN_NS:
            break
        out.append((s, s + n))
        prev_end = s + n
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def connection_rows(gaps: np.ndarray) -> RowBlock:
    """CONNECTION rows of ``gaps``: side 0 at each start, side 1 at each end.

    A disconnect has no exchange time; both timestamps are the recorder's.
    """
    t = gaps.reshape(-1).astype(np.int64)
    n = len(t)
    return RowBlock(
        t.copy(),
        t.copy(),
        np.full(n, -1, dtype=np.int32),
        np.full(n, int(EventKind.CONNECTION), dtype=np.uint8),
        np.tile(np.array([0, 1], dtype=np.int8), n // 2),
        np.zeros(n),
        np.zeros(n),
    )
