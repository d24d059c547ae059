"""``UserChannelStats``: a snapshot of what a ``live.user_feed.UserChannel`` did."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class UserChannelStats:
    """A snapshot of a ``UserChannel``'s counters.

    Socket: ``attempts`` (connections tried), ``connects`` (handshakes that succeeded),
    ``ups`` (subscriptions the server took), ``up`` (now), ``frames``, ``pings``,
    ``pongs``, parser ``errors``/``notes`` by reason, ``drops`` by reason (``DROPS``),
    ``refusals`` (in a row, now), ``backoff_delays`` (the latest, oldest first).
    What was put: ``fills_socket``/``fills_poll`` (fills, by the source that told
    them first), ``orders_socket``/``orders_poll`` (``OrderUpdate``s), and
    ``duplicate_fills`` (legs heard again: a status repeat or the other source).
    ``trades`` counts trade messages by status; ``failed_after_fill``: legs put as
    fills whose trade then FAILED (each put again as a ``FillReversed``:
    ``reversals_socket``/``reversals_poll``, by the source that told it first);
    ``failed_unreported``: legs FAILED before being put (never put). Poller: ``polls``
    (that answered), ``poll_errors`` by kind. ``verdict``: why a thread gave up (""
    while both go on).
    """

    attempts: int = 0
    connects: int = 0
    ups: int = 0
    up: bool = False
    frames: int = 0
    pings: int = 0
    pongs: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    refusals: int = 0
    backoff_delays: tuple[float, ...] = ()
    fills_socket: int = 0
    fills_poll: int = 0
    orders_socket: int = 0
    orders_poll: int = 0
    duplicate_fills: int = 0
    trades: dict[str, int] = field(default_factory=dict)
    failed_after_fill: int = 0
    failed_unreported: int = 0
    reversals_socket: int = 0
    reversals_poll: int = 0
    polls: int = 0
    poll_errors: dict[str, int] = field(default_factory=dict)
    verdict: str = ""
