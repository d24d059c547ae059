"""Paper trading's feed: market-channel frames, as they come or as recorded, replayed into
the matching venue and the strategy's books by the backtest's own replay driver.

``FrameDriver`` is a ``ReplayDriver`` whose rows are not read from a dataset but made
from frames (the market-channel parser, ``RowBuilder``, then the dataset's replay
rules: mirrored prints marked, exchange times clamped per asset). It walks time on a
fixed grid (``step_ms``): to reach ``t`` it first takes every frame received by
``t + lag`` (the exchange book at an order's arrival holds rows the feed delivers a
little later, as a backtest's does), then replays up to ``t`` exactly as a backtest
does. Which frames go into which batch depends only on their receive times and the
grid, never on when the machine got to them, so:

* **paper** (``LiveFrames``): frames arrive from a ``MarketChannel`` in receive order;
  to take frames up to ``h`` the driver waits until the wall clock reads ``h``
  (nothing received later can be earlier). The run is the backtest of its own feed,
  ``lag`` behind real time;
* **parity** (``CaptureFrames``): the same frames read back from the run's capture
  give the same batches at the same grid points, hence the same run, in simulated
  time without waiting.

A frame received more than ``lag`` after its exchange time still counts, from the
batch it arrived in (``late_rows`` counts them). An exchange time after the receive
time (a skewed clock) is taken as the receive time (``skewed_rows``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.replay_driver import ReplayDriver
from live.capture import CaptureConnection, CaptureFrame, read_capture
from live.market_messages import MarketFrameParser
from live.recorder import FrameRecorder
from sim.events import ConnectionState, MarketEvent, VenueEvent
from sim.marketdata import EventColumns, asset_table
from sim.marketdata.from_events import RowBuilder
from sim.marketdata.replay_rules import clamp_exchange_time, mirrored_trades
from sim.types import MarketInfo

log = logging.getLogger("clobsim.paper")
_parser_log = logging.getLogger("clobsim.paper.rejected")
_parser_log.addHandler(logging.NullHandler())

#: one received record: (recv_ns, frame text) or (recv_ns, (connected, reason))
Record = tuple[int, object]


class LiveFrames(FrameRecorder):
    """Frames from a ``MarketChannel`` (its ``recorder``), passed on to ``tee`` (the run's
    ``Recorder``) with the same receive times, and held for the driver."""

    def __init__(self, tee: FrameRecorder | None = None) -> None:
        self._tee = tee
        self._q: deque[Record] = deque()
        self._lock = threading.Lock()
        self._last = 0
        self.closed = False

    def _stamp(self, recv_ns: int) -> int:
        # receive times never go back (a wall-clock step would reorder the run)
        self._last = max(self._last, int(recv_ns))
        return self._last

    def frame(self, frame: str | bytes, recv_ns: int) -> None:
        with self._lock:
            t = self._stamp(recv_ns)
            if self._tee is not None:
                self._tee.frame(frame, t)
            self._q.append((t, frame))

    def connection(self, connected: bool, reason: str, recv_ns: int) -> None:
        with self._lock:
            t = self._stamp(recv_ns)
            if self._tee is not None:
                self._tee.connection(connected, reason, t)
            self._q.append((t, (connected, reason)))

    def wait_until(self, horizon_ns: int) -> None:
        """Until the wall clock reads ``horizon_ns``: then every frame received by then
        is here (they come in receive order)."""
        while not self.closed and (left := horizon_ns - time.time_ns()) > 0:
            time.sleep(min(left / 1e9, 0.05))

    def take(self, horizon_ns: int) -> list[Record]:
        out = []
        with self._lock:
            while self._q and self._q[0][0] <= horizon_ns:
                out.append(self._q.popleft())
        return out

    @property
    def done(self) -> bool:
        return False  # a live feed ends with the run, not with its frames

    def close(self) -> None:
        self.closed = True


class CaptureFrames:
    """The frames of capture files (``live/capture.py``), in order, for a replay: read as
    they are taken, so a day of capture is never held in memory at once."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self._records = self._read(list(paths))
        self._next: Record | None = next(self._records, None)

    @staticmethod
    def _read(paths: list[str | Path]) -> Iterator[Record]:
        for path in paths:
            for rec in read_capture(path):
                if isinstance(rec, CaptureFrame):
                    yield rec.recv_ns, rec.frame
                elif isinstance(rec, CaptureConnection):
                    yield rec.recv_ns, (rec.connected, rec.reason)

    def wait_until(self, horizon_ns: int) -> None:
        return None  # recorded: everything is already here

    def take(self, horizon_ns: int) -> list[Record]:
        out = []
        while self._next is not None and self._next[0] <= horizon_ns:
            out.append(self._next)
            self._next = next(self._records, None)
        return out

    @property
    def done(self) -> bool:
        return self._next is None


class _Markets:
    """What ``ReplayDriver`` reads of a dataset, for markets known from the venue."""

    def __init__(self, markets: Sequence[MarketInfo]) -> None:
        self.markets = list(markets)
        self.assets = asset_table(self.markets)

    def initial_ticks(self) -> np.ndarray:
        return np.repeat(np.array([m.tick_size for m in self.markets], dtype=np.float64), 2)

    def iter_days(self, **_: object):
        return iter(())


class FrameDriver(ReplayDriver):
    """The replay driver over frames (see the module doc). ``source``: ``LiveFrames`` or
    ``CaptureFrames``; ``lag_ms``: how far behind the newest frame the run goes;
    ``step_ms``: the time grid the frames are taken on."""

    def __init__(self, markets: Sequence[MarketInfo], venue: MatchingVenue, source, *,
                 lag_ms: float = 500.0, step_ms: float = 50.0) -> None:  # fmt: skip
        if not (lag_ms >= 0 and step_ms > 0):
            raise ValueError(f"lag_ms must be >= 0 and step_ms > 0, got {lag_ms}, {step_ms}")
        ds = _Markets(markets)
        self._source = source
        self._lag_ns = round(lag_ms * 1e6)
        self._step_ns = round(step_ms * 1e6)
        self._parser = MarketFrameParser(max_rejected=64, log=_parser_log)
        self._rows = RowBuilder(ds.assets)
        self._last_ex = np.full(len(ds.assets), np.iinfo(np.int64).min, dtype=np.int64)
        self.horizon_ns = venue.clock.now_ns() + self._lag_ns
        self.late_rows = 0  # rows whose exchange time had passed when they arrived
        self.skewed_rows = 0  # rows stamped by the exchange after we received them
        self.frames = 0
        super().__init__(ds, venue)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ time
    def advance(self, until_ns: int) -> list[VenueEvent]:
        while True:
            grid = (self.time_ns // self._step_ns + 1) * self._step_ns
            step_end = min(until_ns, grid)
            self.horizon_ns = step_end + self._lag_ns
            self._source.wait_until(self.horizon_ns)
            out = super().advance(step_end)
            if out or step_end >= until_ns or self.exhausted:
                return out

    # ------------------------------------------------------------------ rows
    def _load_next_day(self) -> bool:
        if not getattr(self, "_more_days", True):
            return False
        records = self._source.take(self.horizon_ns)
        if not records:
            if self._source.done:
                self._more_days = False
            return False
        events: list[MarketEvent] = []
        for recv_ns, item in records:
            if isinstance(item, tuple):
                connected, reason = item
                events.append(ConnectionState(recv_ns, recv_ns, bool(connected), str(reason)))
            else:
                self.frames += 1
                events.extend(self._parser.parse(item, recv_ns))
        if not self._rows.extend(events):
            return False
        cols: EventColumns = self._rows.flush()
        skip = mirrored_trades(cols)  # on the exchange times as sent, as a dataset does
        # an exchange clock ahead of ours (skew; a replay served faster than real time)
        # would keep rows from the venue until our clock catches up: never after receipt
        ahead = cols.ts_exchange_ns > cols.ts_recv_ns
        if ahead.any():
            self.skewed_rows += int(np.count_nonzero(ahead))
            np.minimum(cols.ts_exchange_ns, cols.ts_recv_ns, out=cols.ts_exchange_ns)
        self.late_rows += int(np.count_nonzero(cols.ts_exchange_ns < self.time_ns))
        cols, _ = clamp_exchange_time(cols, self._last_ex)
        self.clob.check_assets(cols)
        self.venue.choose_book_source(cols)
        self._batches.append(cols)
        self._skips.append(skip)
        return True
