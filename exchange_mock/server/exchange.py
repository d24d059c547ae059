"""The loopback server's exchange: a recording replayed in wall-clock time into the
same matching venue backtests use.

``MockExchange.step()`` brings the replay up to "now" (``ReplayTime``): the
matching venue gets every exchange row due (resting orders fill as they would
in a backtest), and what the replay delivers is handed to the listeners: public
market events (book, level changes, prints, tick sizes, resolutions) for the
market channel, our fills and order updates for the user channel. Request
handlers call ``step()`` before they act, so an order meets the book as it
stands at that moment; a background task calls it between requests.

Everything here runs on the server's one event-loop thread: the venue is never
touched from two threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from exchange_mock.fault_hook import BookMove, CallFault, FaultHook
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.server.replay_time import ReplayTime
from exchange_mock.sim_venue import replay_venue
from sim.clock import SimClock
from sim.events import FillEvent, OrderUpdate, VenueEvent
from sim.marketdata.dataset import Dataset
from sim.types import MarketInfo, OrderRequest

log = logging.getLogger(__name__)

Listener = Callable[[list[VenueEvent]], None]


class ServerVenue(MatchingVenue):
    """The matching venue as the server runs it: an order's client id *is* its venue id,
    the EIP-712 hash of the signed order (Polymarket names orders by that hash).

    Faults are decided on the wire (``wire_faults``); only book moves act inside the
    venue, handed over for the next placement (``handoff``)."""

    _handed: tuple[BookMove, ...] = ()
    _recorder: FaultHook | None = None

    def order_id(self, order: OrderRequest) -> str:
        return order.client_order_id

    def handoff(self, moves: tuple[BookMove, ...], recorder: FaultHook | None) -> None:
        """Act ``moves`` on the next placement; ``recorder`` is told when one acted."""
        self._handed, self._recorder = tuple(moves), recorder

    def _round_trip(self, call: str, deadline_s: float, fault_call: str = ""):
        now, arrival, response, fault = super()._round_trip(call, deadline_s, fault_call)
        if self._handed and call in ("place", "place_many"):
            fault, self._handed = CallFault(book_moves=self._handed), ()
        return now, arrival, response, fault

    def _move_book(self, order: OrderRequest, arrival: int, moves: list[BookMove]) -> list:
        saved, self._hook = self._hook, self._recorder
        try:
            return super()._move_book(order, arrival, moves)
        finally:
            self._hook = saved


class MockExchange:
    """``dataset`` (its ``markets`` selection, default all) replayed at ``speed`` times wall
    time into a ``ServerVenue`` holding ``cash_usdc`` of collateral for the test account.

    ``time_source``: (wall_ns, monotonic_ns) callables replacing the real clocks (tests).
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        markets: Sequence[str] | None = None,
        speed: float = 1.0,
        cash_usdc: float = 10_000.0,
        seed: int = 0,
        time_source: tuple[Callable[[], int], Callable[[], int]] | None = None,
    ) -> None:
        self.dataset = dataset
        self.clock = SimClock(0)
        venue, driver = replay_venue(
            dataset,
            clock=self.clock,
            cash_usdc=cash_usdc,
            markets=markets,
            seed=seed,
            venue_type=ServerVenue,
        )
        self.venue: ServerVenue = venue  # type: ignore[assignment]
        self.driver = driver
        self.markets: list[MarketInfo] = venue.markets()
        if not self.markets:
            raise ValueError(f"no market of {dataset.root} matches {list(markets or [])}")
        self.opening: list[VenueEvent] = []
        first = driver.first_event_ns()
        if first is None:
            raise ValueError(f"{dataset.root}: the selected markets have no recorded rows")
        self.clock.advance_to(first)
        driver.time_ns = first
        driver.subscribe([a for m in self.markets for a in (m.yes_token_id, m.no_token_id)])
        start = self._skip_to_first_book()
        wall, mono = time_source or (None, None)
        kw = {} if time_source is None else {"wall_ns": wall, "monotonic_ns": mono}
        self.time = ReplayTime(start, speed=speed, **kw)
        self._market_listeners: list[Listener] = []
        self._user_listeners: list[Listener] = []
        self._reported_end = False
        self.by_token: dict[str, MarketInfo] = {}
        self.by_condition: dict[str, MarketInfo] = {}
        for m in self.markets:
            self.by_token[m.yes_token_id] = self.by_token[m.no_token_id] = m
            self.by_condition[m.condition_id] = m

    def _skip_to_first_book(self) -> int:
        """Replay, unpublished, to the first row of a selected market: a recording (or a
        market selection) may open with hours of feed-only rows (connection state), and
        the server's "now" should begin where there is a book to show."""
        driver, clock = self.driver, self.clock
        while not driver.exhausted:
            events = driver.advance(2**62)
            if driver.time_ns > clock.now_ns():
                clock.advance_to(driver.time_ns)
            if any(hasattr(e, "asset_id") for e in events):
                self.opening = events
                break
        return clock.now_ns()

    # ------------------------------------------------------------------ listeners
    def on_market(self, listener: Listener) -> None:
        """``listener(events)`` gets each batch of public market events, in order."""
        self._market_listeners.append(listener)

    def on_user(self, listener: Listener) -> None:
        """``listener(events)`` gets each batch of our fills and order updates, in order."""
        self._user_listeners.append(listener)

    # ------------------------------------------------------------------ time
    @property
    def exhausted(self) -> bool:
        """The recording has no rows left (the book stays as it ended)."""
        return self.driver.exhausted

    def step(self) -> None:
        """Replay up to now: apply due rows, publish what they caused."""
        target = self.time.data_now_ns()
        driver, clock = self.driver, self.clock
        while driver.time_ns < target:
            if driver.exhausted:  # no rows left, but the venue may still have news due
                due = self.venue.next_delivery_ns()
                if due is None or due > target:
                    break
            before = driver.time_ns
            events = driver.advance(target)
            if driver.time_ns > clock.now_ns():
                clock.advance_to(driver.time_ns)
            if events:
                self._publish(events)
            elif driver.time_ns == before:
                break  # nothing moved: never spin
        if target > clock.now_ns():
            clock.advance_to(target)
        if driver.exhausted and not self._reported_end:
            self._reported_end = True
            log.warning(
                "the recording ended at %d (data time): books stay as they ended", driver.time_ns
            )

    def _publish(self, events: list[VenueEvent]) -> None:
        user = [e for e in events if isinstance(e, FillEvent | OrderUpdate)]
        market = [e for e in events if not isinstance(e, FillEvent | OrderUpdate)]
        if market:
            for listener in self._market_listeners:
                listener(market)
        if user:
            for listener in self._user_listeners:
                listener(user)
