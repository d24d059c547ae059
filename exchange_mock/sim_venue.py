"""``SimVenue``: a matching venue fed by the replay driver, held as one object.

A backtest builds the two parts separately (``exchange_mock.backtest``): the
engine pulls events from the ``ReplayDriver``, the executor talks to the
``MatchingVenue``. Code that drives a recorded market by hand (tests, the
benchmarks, a notebook stepping through a day) usually wants both behind one
name: this is that name. Venue calls go to ``venue``, feed calls to
``replay``; any other attribute is looked up on the driver, then the venue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from exchange_mock.clob import codes
from exchange_mock.clob.state import grid_for_ticks
from exchange_mock.fault_hook import FaultHook
from exchange_mock.latency import LatencyModel
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.replay_driver import ReplayDriver
from sim.clock import Clock
from sim.marketdata import Dataset

_VENUE_CALLS = ("markets", "place", "place_many", "cancel", "cancel_many", "cancel_all",
                "get_order", "open_orders", "fills", "balance", "approve", "order_states",
                "positions")  # fmt: skip
_FEED_CALLS = ("advance", "subscribe", "book", "mark", "snapshot", "subscribed_assets",
               "first_event_ns", "last_loaded_ns", "rows_replayed")  # fmt: skip


def replay_venue(
    dataset: Dataset,
    *,
    clock: Clock,
    cash_usdc: float,
    start: dt.date | None = None,
    end: dt.date | None = None,
    markets: Sequence[str] | None = None,
    entry_latency: LatencyModel | None = None,
    ack_latency: LatencyModel | None = None,
    md_extra_ms: float = 0.0,
    queue_model: int = codes.QUEUE_CONSERVATIVE,
    queue_power: float = 2.0,
    seed: int = 0,
    fault_hook: FaultHook | None = None,
    allowance_usdc: float | None = None,
    venue_type: type[MatchingVenue] = MatchingVenue,
) -> tuple[MatchingVenue, ReplayDriver]:
    """A matching venue over every market of ``dataset`` (the ``markets`` selection is
    what it reports and what is replayed) and the driver replaying days ``start..end``
    into it. ``cash_usdc``/``allowance_usdc``: ``MatchingVenue``; the latencies, queue
    model and seed: the venue's; ``md_extra_ms``: the driver's. ``venue_type``: a
    ``MatchingVenue`` subclass (the loopback server's names orders by their hash)."""
    wanted = dataset.select(markets)
    every = list(dataset.markets)
    selected = [m for i, m in enumerate(every) if wanted is None or wanted[i]]
    venue = venue_type(
        every, clock=clock, cash_usdc=cash_usdc, grid=grid_for_ticks([m.tick_size for m in every]),
        selected=selected, entry_latency=entry_latency, ack_latency=ack_latency,
        queue_model=queue_model, queue_power=queue_power, seed=seed, fault_hook=fault_hook,
        allowance_usdc=allowance_usdc,
    )  # fmt: skip
    driver = ReplayDriver(dataset, venue, start=start, end=end, markets=markets,
                          md_extra_ms=md_extra_ms)  # fmt: skip
    return venue, driver


class SimVenue:
    """Recorded market data + simulated matching as one ``Venue`` and one ``MarketFeed``
    (arguments as ``replay_venue``)."""

    name = "sim"

    def __init__(self, dataset: Dataset, **kw) -> None:
        self.venue, self.replay = replay_venue(dataset, **kw)
        for call in _VENUE_CALLS:  # bound once: no lookup cost per call
            setattr(self, call, getattr(self.venue, call))
        for call in _FEED_CALLS:
            setattr(self, call, getattr(self.replay, call))

    @property
    def time_ns(self) -> int:
        return self.replay.time_ns

    @property
    def exhausted(self) -> bool:
        return self.replay.exhausted

    @property
    def last_update_ns(self) -> int:
        return self.replay.last_update_ns

    def __getattr__(self, name: str):
        if name in ("venue", "replay"):  # not set yet (during construction)
            raise AttributeError(name)
        try:
            return getattr(self.replay, name)
        except AttributeError:
            return getattr(self.venue, name)
