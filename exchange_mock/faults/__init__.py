"""Fault injection for the simulated venue: declarative, seeded, composable plans.

    from exchange_mock import Backtest
    from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec, library

    plan = FaultPlan([FaultSpec("delay", every_n=10, delay_s=8.0)], seed=1)
    plan = plan + FaultPlan.from_toml("faults.toml") + library.plan("ws_drop")
    injector = FaultInjector(plan)
    result = Backtest(strategy=s, data="data/sample", fault_hook=injector).run()
    injector.counts, injector.injections     # what was injected, when, on which call

How each kind acts (``spec.py`` has the schedules; "call" means a matching
venue call, default ``place``):

* ``delay`` (``delay_s``): the answer comes ``delay_s`` later; past the caller's
  deadline the call raises ``VenueTimeout`` at the deadline while a place
  still lands at the exchange (the answer lost to the timeout).
* ``server_error`` (``status``, default 500): ``VenueUnavailable`` with the
  venue's message ("could not run the execution") before the venue acts.
* ``rate_limit`` (``retry_after_s``, default 1; 0 = no header):
  ``VenueRateLimited("Too Many Requests")`` before the venue acts.
* ``lost_response`` (``status``, default none: "Request exception!"): the
  venue acts (the order exists), then ``VenueUnavailable`` is raised.
* ``partial_fill`` (``fill_fraction``): a marketable order meets only that
  fraction of the liquidity it would have taken; the remainder rests (GTC,
  GTD), is cancelled (FAK) or kills the order (FOK). See ``book_moves``.
* ``slippage`` (``slippage_ticks``): the opposite levels within that many
  ticks of the touch are gone when a marketable order arrives: it fills at
  least that many ticks worse, never beyond its limit. See ``book_moves``.
  Partial fills and slippage act on marketable places only: ``at_s`` waits
  for the first one at or after its time; ``every_n`` and ``rate`` count
  every place, and a hit on an order that does not cross does nothing.
* ``zero_balance``: ``balance()`` answers total 0 and available 0.
* ``balance_failing`` (``status``, default none): ``balance()`` raises
  ``VenueUnavailable``.
* ``cancel_only``: ``place`` raises ``VenueRejected(reason="cancel_only",
  status=503)`` with Polymarket's message; cancels work.
* ``clock_skew`` (``skew_s``): the venue's timestamps run ``skew_s`` ahead
  (behind if negative): acks' ``ts_ns``, fills' ``ts_ns``, orders'
  ``created_ns``, balances' ``as_of_ns`` (so cached-balance ages) and every
  delivered event's ``ts_exchange_ns``. Receive times and the engine clock
  are not moved; ``fills(since_ns)`` still filters on the venue's true time.
* ``ws_drop``: in the window, market events are withheld (account events,
  the user channel, still flow); the first batch in it delivers
  ``ConnectionState(False)``; the first after it ``ConnectionState(True)``,
  a fresh ``BookSnapshot`` per subscribed asset, then any withheld
  resolution or tick-size change. The venue's local book keeps applying
  rows, so the books the strategy reads stay correct; only callbacks stop.
* ``ws_silent``: the same withholding with no ``ConnectionState`` and no
  snapshot: delivery simply resumes (staleness is the engine's to notice).
* ``ws_no_pong``: on the wire, PINGs go unanswered while data may flow; in
  process, the client must give such a socket up, so it acts as ``ws_drop``.
* ``connection_drop`` / ``html_error``: refusals before the venue acts (a
  transport error; a 403 Cloudflare HTML page). ``half_body``: the venue acts
  and the answer is cut off halfway (in process: a lost answer).
* ``stale_book``: the local cursor pauses: the strategy-visible book stays
  as of the window's start and its events are held while the exchange book
  moves on; at the end the book catches up and the held rows are delivered.

Windows are noticed when something happens in them: a feed window starts
with the first batch of events in it and ends with the first batch after it.
"""

from exchange_mock.faults import library
from exchange_mock.faults.book_moves import move_against
from exchange_mock.faults.injector import (
    CANCEL_ONLY_MESSAGE,
    FaultInjector,
    Injection,
    shift_ts,
)
from exchange_mock.faults.spec import KINDS, FaultPlan, FaultSpec

__all__ = [
    "CANCEL_ONLY_MESSAGE",
    "KINDS",
    "FaultInjector",
    "FaultPlan",
    "FaultSpec",
    "Injection",
    "library",
    "move_against",
    "shift_ts",
]
