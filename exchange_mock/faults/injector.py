"""``FaultInjector``: a ``FaultPlan`` acting on a venue through its ``FaultHook``.

It keeps a record of every injection (``injections``, ``counts``) so a report
can set "injected N" against what the executor handled. One record per call
hit for call faults (a refused place, a delayed cancel, a thinned book that
an order met); one per window for ``ws_drop``, ``ws_silent``, ``stale_book``
and ``clock_skew`` (``withheld`` counts the events a feed fault held back).

Determinism: each spec draws from its own ``numpy`` generator seeded with
(plan seed, spec index), only on the calls or batches it matches, so the same
plan and seed over the same run inject the same faults. ``bind`` (called by
the venue that installs the injector) resets everything: an injector can be
reused for another run and behaves the same.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from exchange_mock.fault_hook import BookMove, CallFault, FaultTarget, FeedFault, shift_ts
from exchange_mock.faults.spec import FaultPlan, FaultSpec
from sim.events import (
    AccountEvent,
    ConnectionState,
    MarketResolved,
    TickSizeChange,
    VenueEvent,
)

NS = 1_000_000_000
_END = 2**62  # "until the end of the run" in nanoseconds

#: the venue's own words (reference/polymarket-protocol.md sections 1 and 9)
MESSAGES = {
    425: "engine restarting",
    500: "could not run the execution",
    503: "Trading is currently disabled. Check polymarket.com for updates",
}
CANCEL_ONLY_MESSAGE = (
    "Trading is currently cancel-only. New orders are not accepted, but cancels are allowed."
)
TOO_MANY_REQUESTS = "Too Many Requests"
REQUEST_EXCEPTION = "Request exception!"  # py-clob-client's transport error: status None

_CATCH_UP = (MarketResolved, TickSizeChange)  # held back by feed faults, delivered after
_BEFORE = (
    "server_error",
    "rate_limit",
    "balance_failing",
    "cancel_only",
    "connection_drop",
    "html_error",
)  # refuse, not act
_LOST = ("lost_response", "half_body")  # act, then the answer is lost
#: market-WebSocket faults; those that cut the client off (it reconnects after them)
_FEED = ("ws_drop", "ws_silent", "ws_no_pong")
_CUT_OFF = ("ws_drop", "ws_no_pong")
#: what a Cloudflare block answers instead of JSON (reference §1, §9)
HTML_ERROR_PAGE = (
    "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
    "<body><h1>Sorry, you have been blocked</h1></body></html>"
)


@dataclass(frozen=True, slots=True)
class Injection:
    """One fault that acted: when (venue time), what, on which call (``feed`` for events).

    ``until_ns`` is the end of a window fault's window (``ts_ns`` for a one-shot hit);
    ``id`` numbers the injections of a run in order, so a report can tie what the
    executor detected to the injection that caused it."""

    ts_ns: int
    kind: str
    call: str
    detail: str = ""
    until_ns: int = 0
    id: int = 0

    @property
    def end_ns(self) -> int:
        return max(self.until_ns, self.ts_ns)


def _ns(seconds: float) -> int:
    return _END if math.isinf(seconds) else round(seconds * NS)


def _status_message(status: int | None) -> str:
    if status is None:
        return REQUEST_EXCEPTION
    return MESSAGES.get(status, f"HTTP {status}")


# ---------------------------------------------------------------------- per-spec state
class _SpecState:
    """One spec at run time: its generator, trigger counters and windows."""

    def __init__(self, spec: FaultSpec, index: int, seed: int, start_ns: int) -> None:
        self.spec = spec
        self.index = index
        self.rng = np.random.default_rng([seed, index])
        self.seen = 0  # matching calls (or batches) counted for every_n
        self.fired = 0  # triggers so far (one-shot hits or windows opened)
        self.armed = False  # an at_s book move waiting for a marketable order
        self.windows: list[list[int]] = []  # [t0, t1) in venue ns, in opening order
        self.recorded: set[int] = set()  # starts of windows already recorded
        self.current: list[int] | None = None  # the feed window in effect (feed faults)
        self.one_shot = False  # a book move decided by a one-shot hit (not a window)
        self.held: list[VenueEvent] = []
        self.start = start_ns
        s = spec
        self.window_ns = None if s.duration_s is None else _ns(s.duration_s)
        if s.between_s is not None:
            self.lo, self.hi = start_ns + _ns(s.between_s[0]), start_ns + _ns(s.between_s[1])
        else:
            self.lo, self.hi = -_END, _END
        self.fixed = s.at_s is None and s.every_n is None and s.rate is None  # between_s alone
        if self.fixed:
            self.windows.append([self.lo, self.hi])
        elif s.at_s is not None and self.window_ns is not None:
            t0 = start_ns + _ns(s.at_s)
            self.windows.append([t0, t0 + self.window_ns])

    def window_at(self, t: int) -> list[int] | None:
        for w in self.windows:
            if w[0] <= t < w[1]:
                return w
        return None

    def prune(self, now: int) -> None:
        if self.windows and self.windows[0][1] <= now:
            self.windows = [w for w in self.windows if w[1] > now]

    def trigger(self, now: int) -> list[int] | bool:
        """A matching call or batch at ``now``: the window it falls in, True for a one-shot
        hit, False if the spec does not act on it."""
        w = self.window_at(now)
        if w is not None:
            return w
        s = self.spec
        if self.fixed or self.armed or not self.lo <= now < self.hi:
            return False
        if s.max_count is not None and self.fired >= s.max_count:
            return False
        if s.at_s is not None:
            fire = self.window_ns is None and self.fired == 0 and now >= self.start + _ns(s.at_s)
        elif s.every_n is not None:
            self.seen += 1
            fire = self.seen % s.every_n == 0
        else:
            fire = bool(self.rng.random() < s.rate)
        if not fire:
            return False
        if self.window_ns is not None:
            w = [now, now + self.window_ns]
            self.windows.append(w)
            self.fired += 1
            return w
        return True


class FaultInjector:
    """Implements ``FaultHook`` for a ``FaultPlan``.

    ``start_ns`` is the run's start, from which ``at_s`` and ``between_s``
    count; by default the first event of the venue the injector is bound to
    (or the first time it is consulted, without a venue).
    """

    def __init__(self, plan: FaultPlan, start_ns: int | None = None) -> None:
        if not isinstance(plan, FaultPlan):
            raise TypeError(f"FaultInjector needs a FaultPlan, got {type(plan).__name__}")
        self.plan = plan
        self._start_arg = start_ns
        self._feed: FaultTarget | None = None
        has_stale = any(s.kind == "stale_book" for s in plan.specs)
        #: FaultHook's optional stale-book windows (None: the venue never asks)
        self.local_pause: Callable[[int], tuple[int, int] | None] | None = (
            self._local_pause if has_stale else None
        )
        has_feed = any(s.kind in _FEED for s in plan.specs)
        #: FaultHook's optional WebSocket-fault timing (None: the venue never asks)
        self.next_feed_fault_ns: Callable[[int], int | None] | None = (
            self._next_feed_fault_ns if has_feed else None
        )
        self.feed_silent_since: Callable[[int], int | None] | None = (
            self._feed_silent_since if has_feed else None
        )
        self._reset(start_ns)

    # ------------------------------------------------------------------ lifecycle
    def _reset(self, start_ns: int | None) -> None:
        self.start_ns = start_ns
        self.injections: list[Injection] = []
        self.withheld: Counter[str] = Counter()
        self._now = -_END
        self._states: list[_SpecState] = []
        self._by_call: dict[str, list[_SpecState]] = {}
        self._feed_states: list[_SpecState] = []
        self._skews: list[_SpecState] = []
        self._stale: list[_SpecState] = []
        self._pauses: list[list] = []  # merged stale windows: [t0, t1, [(state, window)...]]
        if start_ns is not None:
            self._build(start_ns)

    def _build(self, start_ns: int) -> None:
        self.start_ns = start_ns
        for i, spec in enumerate(self.plan.specs):
            st = _SpecState(spec, i, self.plan.seed, start_ns)
            self._states.append(st)
            for call in spec.effective_calls:
                self._by_call.setdefault(call, []).append(st)
            if spec.kind in _FEED:
                self._feed_states.append(st)
            elif spec.kind == "stale_book":
                self._stale.append(st)
                for w in st.windows:
                    self._add_pause(st, w)
            elif spec.kind == "clock_skew":
                self._skews.append(st)

    def bind(self, feed: FaultTarget) -> None:
        """Called by the venue that installs this injector: resets it for a new run."""
        self._feed = feed
        start = self._start_arg
        if start is None:
            first = feed.first_event_ns()
            start = feed.time_ns if first is None else max(first, feed.time_ns)
        self._reset(start)

    def _see(self, now: int) -> None:
        if self.start_ns is None:
            self._build(now)
        if now > self._now:
            self._now = now

    # ------------------------------------------------------------------ records
    @property
    def counts(self) -> dict[str, int]:
        """Injections per kind."""
        return dict(Counter(i.kind for i in self.injections))

    def _record(self, ts: int, st: _SpecState, call: str, detail: str, until: int = 0) -> None:
        n = len(self.injections) + 1
        self.injections.append(Injection(ts, st.spec.kind, call, detail, until, n))

    def _record_window(self, st: _SpecState, w: list[int], call: str, detail: str) -> None:
        if w[0] not in st.recorded:
            st.recorded.add(w[0])
            self._record(w[0], st, call, detail, w[1])

    # ------------------------------------------------------------------ venue calls
    def on_call(self, call: str, now_ns: int) -> CallFault | None:
        self._see(now_ns)
        states = self._by_call.get(call)
        if not states:
            return None
        delay = skew = 0
        refusal: CallFault | None = None
        lost: FaultSpec | None = None
        zero = fail = False
        moves: list[BookMove] = []
        hits: list[_SpecState] = []
        for st in states:
            st.prune(now_ns)
            hit = True if st.armed else st.trigger(now_ns)
            if hit is False:
                continue
            s, kind = st.spec, st.spec.kind
            if kind in ("partial_fill", "slippage"):
                # at_s waits for the first marketable order; every_n and rate hit the call
                # they fire on, which does nothing if that order does not cross the book
                st.armed = hit is True and s.at_s is not None
                st.one_shot = hit is True
                fraction = 1.0 if s.fill_fraction is None else s.fill_fraction
                moves.append(BookMove(st.index, s.slippage_ticks or 0, fraction))
            elif kind == "clock_skew":
                skew += _ns(s.skew_s)
                self._record_window(st, hit, "feed+calls", f"venue clock {s.skew_s:+g} s")
            elif kind in _BEFORE:
                if refusal is None:  # the first spec's refusal answers the call
                    refusal = self._refusal(s)
                    hits.append(st)
            elif kind in _LOST:
                if lost is None:
                    lost = s
                    hits.append(st)
            else:  # delay, zero_balance, trade_fail
                if kind == "delay":
                    delay += _ns(s.delay_s)
                elif kind == "trade_fail":
                    fail = True
                else:
                    zero = True
                hits.append(st)
        if refusal is not None:  # refused before the venue acted: only the refusal happened
            hits = [st for st in hits if st.spec.kind in _BEFORE]
        for st in hits:
            if st.window_at(now_ns) is None:
                st.fired += 1  # a one-shot hit (windows count when they open)
            self._record(now_ns, st, call, self._detail(st.spec))
        if refusal is not None:
            return refusal
        if not (delay or lost or zero or moves or skew or fail):
            return None
        return CallFault(
            delay_ns=delay,
            act_then_drop=lost is not None,
            half_body=lost is not None and lost.kind == "half_body",
            status=None if lost is None else lost.status,
            message="" if lost is None else _status_message(lost.status),
            book_moves=tuple(moves),
            zero_balance=zero,
            skew_ns=skew,
            trades_fail=fail,
        )

    @staticmethod
    def _refusal(s: FaultSpec) -> CallFault:
        """A refusal before the venue acts, as data (``fault_hook.venue_error`` makes the
        in-process caller's exception of it; the server sends it as an HTTP answer)."""
        if s.kind == "rate_limit":
            ra = 1.0 if s.retry_after_s is None else s.retry_after_s
            return CallFault(refuse=True, status=429, message=TOO_MANY_REQUESTS,
                             retry_after_s=ra or None)  # fmt: skip
        if s.kind == "cancel_only":
            return CallFault(refuse=True, status=503, message=CANCEL_ONLY_MESSAGE,
                             reason="cancel_only")  # fmt: skip
        if s.kind == "connection_drop":
            return CallFault(refuse=True, status=None, message=REQUEST_EXCEPTION)
        if s.kind == "html_error":
            return CallFault(refuse=True, status=403, message=HTML_ERROR_PAGE, html=True)
        status = s.status
        if s.kind == "server_error" and status is None:
            status = 500
        return CallFault(refuse=True, status=status, message=_status_message(status))

    def book_moved(self, move: BookMove, call: str, client_order_id: str, arrival_ns: int,
                   shares: float) -> None:  # fmt: skip
        """A decided book move acted on ``client_order_id`` (``FaultHook``): recorded, and
        an ``at_s`` spec waiting for a marketable order is spent."""
        st = self._states[move.spec]
        s = st.spec
        if st.one_shot:
            st.armed = False
            st.fired += 1
        what = (f"{s.slippage_ticks} ticks against" if s.kind == "slippage"
                else f"fill fraction {s.fill_fraction:g}")  # fmt: skip
        self._record(arrival_ns, st, call, f"{client_order_id}: {what}, {shares:g} shares "
                     "out of reach")  # fmt: skip

    @staticmethod
    def _detail(s: FaultSpec) -> str:
        k = s.kind
        if k == "delay":
            return f"+{s.delay_s:g} s"
        if k == "rate_limit":
            ra = 1.0 if s.retry_after_s is None else s.retry_after_s
            return f"429 Retry-After {ra:g} s" if ra else "429 without Retry-After"
        if k == "cancel_only":
            return "503 cancel-only"
        if k == "zero_balance":
            return "balance 0"
        if k == "connection_drop":
            return "connection dropped before the venue acted"
        if k == "html_error":
            return "403 HTML error page"
        if k == "trade_fail":
            return "trades stay MATCHED, then FAIL"
        if k == "half_body":
            return "answer cut off halfway after the venue acted"
        status = 500 if k == "server_error" and s.status is None else s.status
        what = "transport error" if status is None else f"HTTP {status}"
        return what + (" after the venue acted" if k == "lost_response" else "")

    # ------------------------------------------------------------------ feed
    def on_events(self, events: list[VenueEvent], now_ns: int) -> list[VenueEvent]:
        self._see(now_ns)
        if self._feed_states or self._stale:
            market = any(not isinstance(e, AccountEvent) for e in events)
            for st in self._stale:
                st.prune(now_ns)
                n = len(st.windows)
                if market and st.trigger(now_ns) is not False and len(st.windows) > n:
                    w = st.windows[-1]  # opened now: the book freezes from here
                    self._add_pause(st, w)
                    self._record_window(st, w, "feed", self._pause_detail(st))
            for st in self._feed_states:
                events = self._feed_fault(st, events, now_ns, market)
        if self._skews:
            ns = 0
            for st in self._skews:
                st.prune(now_ns)
                w = st.window_at(now_ns)
                if w is not None:
                    ns += _ns(st.spec.skew_s)
                    self._record_window(st, w, "feed+calls", f"venue clock {st.spec.skew_s:+g} s")
            if ns:
                events = [shift_ts(e, ns) for e in events]
        return events

    def _feed_fault(
        self, st: _SpecState, events: list[VenueEvent], now: int, market: bool
    ) -> list[VenueEvent]:
        """Withhold market events in a ws_drop/ws_silent/ws_no_pong window; reconnect after
        it. In process, a socket that answers no PONG is one the client must give up on:
        it is cut off as by a drop (the wire applies the missing PONGs themselves)."""
        st.prune(now)
        w = st.window_at(now)
        if w is None and market and st.current is None:
            hit = st.trigger(now)
            w = hit if hit is not False else None
        drop = st.spec.kind in _CUT_OFF
        out: list[VenueEvent] = []
        if st.current is not None and st.current is not w:
            out += self._end_outage(st, now, drop)
        if w is None:
            return out + events if out else events
        if st.current is None:
            st.current = w
            end = "end of run" if w[1] >= _END // 2 else f"{(w[1] - w[0]) / NS:g} s"
            self._record_window(st, w, "feed", f"{'disconnected' if drop else 'silent'} ({end})")
            if drop:
                out.append(ConnectionState(now, now, False, "fault: ws_drop"))
        for e in events:
            if isinstance(e, AccountEvent):
                out.append(e)  # the user channel is not the market channel
            else:
                self.withheld[st.spec.kind] += 1
                if isinstance(e, _CATCH_UP):
                    st.held.append(e)
        return out

    def _next_feed_fault_ns(self, after_ns: int) -> int | None:
        """When the next scheduled WebSocket fault window that has not acted yet opens, or
        the one in effect ends (the venue stops there so the fault acts on time; a time
        already past means now), or None."""
        starts = [w[0] for st in self._feed_states for w in st.windows
                  if w[0] not in st.recorded and w[1] > after_ns]  # fmt: skip
        # ... and when one in effect ends (a dropped socket reconnects at once)
        starts += [st.current[1] for st in self._feed_states
                   if st.current is not None and st.current[1] < _END // 2]  # fmt: skip
        return min(starts) if starts else None

    def _feed_silent_since(self, now_ns: int) -> int | None:
        """Start of the dropped or silent WebSocket window in effect at ``now_ns``: no
        market data has reached the strategy since (what its silence watchdog must see),
        or None."""
        since = None
        for st in self._feed_states:
            w = st.current
            if w is not None and w[0] <= now_ns < w[1]:
                since = w[0] if since is None else min(since, w[0])
        return since

    def feed_fault_at(self, now_ns: int) -> FeedFault | None:
        """The WebSocket fault window in effect at ``now_ns`` (``FaultHook``), as data: a
        drop closes the socket with 1006 (abnormal closure, what a vanished peer gives),
        a silent window keeps it open with no market data. The first window wins."""
        for st in self._feed_states:
            w = st.window_at(now_ns)
            if w is not None:
                kind = st.spec.kind
                end = "end of run" if w[1] >= _END // 2 else f"{(w[1] - w[0]) / NS:g} s"
                what = "disconnected" if kind == "ws_drop" else "no PONG" if kind == "ws_no_pong" \
                    else "silent"  # fmt: skip
                self._record_window(st, w, "feed", f"{what} ({end})")  # once per window
                drop = kind == "ws_drop"
                code = (st.spec.close_code or 1006) if drop else None
                return FeedFault(w[0], w[1], drop, code,
                                 no_pong=kind == "ws_no_pong")  # fmt: skip
        return None

    def _end_outage(self, st: _SpecState, now: int, drop: bool) -> list[VenueEvent]:
        st.current = None
        out: list[VenueEvent] = []
        if drop:
            out.append(ConnectionState(now, now, True, "fault: ws_drop over, resubscribed"))
            if self._feed is not None:
                out += [self._feed.snapshot(a, now) for a in self._feed.subscribed_assets()]
        out += st.held
        st.held = []
        return out

    # ------------------------------------------------------------------ stale book
    @staticmethod
    def _pause_detail(st: _SpecState) -> str:
        w = st.window_ns
        return "book frozen" + ("" if w is None or w >= _END // 2 else f" for {w / NS:g} s")

    def _add_pause(self, st: _SpecState, w: list[int]) -> None:
        """Merge ``w`` into the disjoint stale windows (touching windows merge too)."""
        t0, t1, origins = w[0], w[1], [(st, w)]
        keep = []
        for p in self._pauses:
            if p[1] < t0 or p[0] > t1:
                keep.append(p)
            else:
                t0, t1, origins = min(t0, p[0]), max(t1, p[1]), p[2] + origins
        keep.append([t0, t1, origins])
        keep.sort(key=lambda p: p[0])
        self._pauses = keep

    def _local_pause(self, t_ns: int) -> tuple[int, int] | None:
        ps = self._pauses
        if ps and ps[0][1] <= self._now:
            self._pauses = ps = [p for p in ps if p[1] > self._now]
        for p in ps:
            if p[0] > t_ns:
                return None
            if t_ns < p[1]:
                for st, w in p[2]:
                    if w[0] <= t_ns:
                        self._record_window(st, w, "feed", self._pause_detail(st))
                return p[0], p[1]
        return None
