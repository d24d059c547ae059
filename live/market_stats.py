"""The market channel's reasons and counters (``live.market_feed.MarketChannel.stats``)."""

from __future__ import annotations

from dataclasses import dataclass, field

DROP_CONNECT_FAILED = "connect_failed"
DROP_CLOSED = "closed"
DROP_NO_PONG = "no_pong"
DROP_SILENCE = "silence"
DROP_NO_BOOK = "no_book"
DROP_INTERNAL = "internal_error"
#: Every reason a connection is judged dead (``MarketChannelStats.drops`` keys).
DROPS: frozenset[str] = frozenset(
    {DROP_CONNECT_FAILED, DROP_CLOSED, DROP_NO_PONG, DROP_SILENCE, DROP_NO_BOOK, DROP_INTERNAL}
)
#: ``MarketChannelStats.errors`` key of a frame whose handling raised unexpectedly.
HANDLER_ERROR = "handler_error"


@dataclass(frozen=True)
class MarketChannelStats:
    """A snapshot of a ``MarketChannel``'s counters.

    ``attempts``: connections tried; ``connects``: handshakes that succeeded
    (``reconnects`` of them after the first); ``ups``: connections that came up (fresh
    books and a PONG); ``up``: the state the feed was last told (None: nothing told
    yet). ``frames``: data frames received (keep-alives apart: ``pings``/``pongs``);
    ``messages``/``events``: messages parsed and events put. ``errors``: rejected
    messages by reason (``live.market_messages.REASONS``, plus ``handler_error``);
    ``notes``: repairs by reason. ``drops``: dead verdicts by reason (``DROPS``).
    ``last_data_ns``: receive time (feed clock) of the last market data, 0 = never.
    ``backoff_delays``: the latest reconnect delays, oldest first.
    """

    attempts: int = 0
    connects: int = 0
    ups: int = 0
    up: bool | None = None
    frames: int = 0
    messages: int = 0
    events: int = 0
    pings: int = 0
    pongs: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)
    drops: dict[str, int] = field(default_factory=dict)
    last_data_ns: int = 0
    backoff_delays: tuple[float, ...] = ()

    @property
    def reconnects(self) -> int:
        return max(self.connects - 1, 0)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())
