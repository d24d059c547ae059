"""Integer codes shared by the CLOB kernels and their Python wrapper.

numba kernels speak small ints; this module is the one place that says what
each int means. Rejection reasons are data (vectorbt's habit): every refusal
carries a code that tests and reports can count, a stable name and the
venue's wording (reference/polymarket-protocol.md 4.7).
"""

from __future__ import annotations

from sim.types import OrderStatus, OrderType

# --- rejection reasons -------------------------------------------------------
OK = 0
INVALID_TICK = 1
INVALID_PRICE = 2
MIN_SIZE = 3
MIN_NOTIONAL = 4
POST_ONLY_CROSS = 5
FOK_NOT_FILLED = 6
FAK_NO_MATCH = 7
MARKET_CLOSED = 8
POST_ONLY_TYPE = 9
INVALID_EXPIRATION = 10

#: code -> (name, message template). Templates use ``str.format`` keys
#: ``price``, ``tick``, ``max``, ``size``, ``min``, ``amount``.
REASONS: dict[int, tuple[str, str]] = {
    OK: ("ok", ""),
    INVALID_TICK: ("invalid_tick", "order is invalid. Price breaks minimum tick size rules"),
    INVALID_PRICE: ("invalid_price", "invalid price ({price}), min: {tick} - max: {max}"),
    MIN_SIZE: ("min_size", "order is invalid. Size ({size}) lower than the minimum: {min}"),
    MIN_NOTIONAL: (
        "min_notional",
        "invalid amount for a marketable BUY order (${amount}), min size: $1",
    ),
    POST_ONLY_CROSS: ("post_only_cross", "invalid post-only order: order crosses book"),
    FOK_NOT_FILLED: (
        "fok_not_filled",
        "order couldn't be fully filled. FOK orders are fully filled or killed.",
    ),
    FAK_NO_MATCH: (
        "fak_no_match",
        "no orders found to match with FAK order. "
        "FAK orders are partially filled or killed if no match is found.",
    ),
    MARKET_CLOSED: ("market_closed", "the market is not yet ready to process new orders"),
    POST_ONLY_TYPE: (
        "post_only_type",
        "invalid post-only order: only GTC and GTD order types are allowed",
    ),
    INVALID_EXPIRATION: ("invalid_expiration", "invalid expiration"),
}
REASON_NAMES: dict[int, str] = {code: name for code, (name, _) in REASONS.items()}
REASON_CODES: dict[str, int] = {name: code for code, name in REASON_NAMES.items()}


def reason_message(code: int, **values: object) -> str:
    """The venue's wording for ``code``; missing template keys are left as ``?``."""
    return REASONS[code][1].format_map(_Missing(values))


class _Missing(dict):
    """Template values where an absent key reads as ``?`` (defined once, not per call)."""

    def __missing__(self, key: str) -> str:
        return "?"


# --- order types (kernel ints) ----------------------------------------------
T_GTC = 0
T_GTD = 1
T_FOK = 2
T_FAK = 3
ORDER_TYPE_CODE: dict[OrderType, int] = {
    OrderType.GTC: T_GTC,
    OrderType.GTD: T_GTD,
    OrderType.FOK: T_FOK,
    OrderType.FAK: T_FAK,
}

# --- order statuses (kernel ints) -------------------------------------------
S_OPEN = 1
S_PARTIAL = 2
S_FILLED = 3
S_CANCELED = 4
S_EXPIRED = 5
S_REJECTED = 6
STATUS: dict[int, OrderStatus] = {
    S_OPEN: OrderStatus.OPEN,
    S_PARTIAL: OrderStatus.PARTIALLY_FILLED,
    S_FILLED: OrderStatus.FILLED,
    S_CANCELED: OrderStatus.CANCELED,
    S_EXPIRED: OrderStatus.EXPIRED,
    S_REJECTED: OrderStatus.REJECTED,
}

# --- queue models ------------------------------------------------------------
#: Only trades at our price advance us; cancels never do (queue_ahead may stay
#: above the displayed size: the most pessimistic reading).
QUEUE_CONSERVATIVE = 0
#: As conservative, but queue_ahead never exceeds the displayed size at our
#: level (hftbacktest's RiskAdverseQueueModel).
QUEUE_CLAMPED = 1
#: Cancels advance us by ``chg * f(front) / (f(front) + f(back))``, ``f(x) = x**n``
#: (hftbacktest's power probability queue model), clamped to the displayed size.
QUEUE_PROBABILISTIC = 2

# --- why the replay kernel returned -----------------------------------------
STOP_END = 0  # all rows (or max_rows) applied
STOP_FILL = 1  # a row filled at least one of our resting orders
STOP_EXPIRED = 2  # a GTD order expired before the next row
STOP_RESOLVED = 3  # a market resolved: positions settled, orders canceled
STOP_TIME = 4  # the next row is later than until_ns
STOP_NAMES: dict[int, str] = {
    STOP_END: "end",
    STOP_FILL: "fill",
    STOP_EXPIRED: "expired",
    STOP_RESOLVED: "resolved",
    STOP_TIME: "time",
}

# --- liquidity flag of a fill ------------------------------------------------
MAKER = 0
TAKER = 1
