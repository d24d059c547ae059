"""Domain types shared by every mode: orders, fills, balances, market metadata.

Prices are in USDC per share in (0, 1); sizes are in shares; money in USDC.
Time is integer nanoseconds since the Unix epoch (UTC) unless a name says
otherwise.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sim.errors import ConfigError

#: Tick sizes Polymarket uses (see reference/polymarket-protocol.md, 4.3).
VALID_TICK_SIZES: tuple[float, ...] = (0.1, 0.01, 0.001, 0.0001)


class Side(enum.IntEnum):
    """Order side. The integer value is the signed direction of the position change."""

    BUY = 1
    SELL = -1

    @classmethod
    def parse(cls, text: str) -> Side:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown side {text!r}: expected BUY or SELL") from None


class OrderType(enum.Enum):
    """Polymarket order types (reference 4.2)."""

    GTC = "GTC"  # rests until filled or cancelled
    GTD = "GTD"  # rests until its expiry
    FOK = "FOK"  # fills entirely now, or is killed
    FAK = "FAK"  # fills what it can now, the rest is cancelled

    #: True for the types that rest on the book (GTC, GTD); set below for every member
    rests: bool


class OrderStatus(enum.Enum):
    """Lifecycle of an order as clobsim tracks it.

    ``PENDING_NEW`` -> (``OPEN`` | ``REJECTED`` | ``UNKNOWN``) ->
    ``PARTIALLY_FILLED`` -> (``FILLED`` | ``CANCELED`` | ``EXPIRED``).
    ``UNKNOWN`` means the venue's answer was lost: the executor must reconcile
    before it may act as if the order does not exist.
    """

    PENDING_NEW = "PENDING_NEW"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    #: True once the order can change no more; set below for every member
    terminal: bool


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED}
)
# Plain member attributes, not properties: read on every order event (a property doing a set
# lookup hashes the enum in Python, ~0.7 us a call).
for _status in OrderStatus:
    _status.terminal = _status in _TERMINAL
for _type in OrderType:
    _type.rests = _type in (OrderType.GTC, OrderType.GTD)


class Liquidity(enum.Enum):
    """Whether a fill added liquidity (maker, no fee) or took it (taker, pays the fee)."""

    MAKER = "MAKER"
    TAKER = "TAKER"


class Outcome(enum.Enum):
    YES = "YES"
    NO = "NO"


def check_tick_size(tick_size: float, *, key: str = "tick_size") -> float:
    """Return ``tick_size`` if Polymarket uses it, else raise ConfigError naming ``key``."""
    for valid in VALID_TICK_SIZES:
        if abs(tick_size - valid) < 1e-12:
            return valid
    raise ConfigError(key, f"{tick_size!r} is not a Polymarket tick size {VALID_TICK_SIZES}")


def price_on_tick(price: float, tick_size: float) -> bool:
    """True if ``price`` is a whole number of ticks (within float noise)."""
    ticks = price / tick_size
    return abs(ticks - round(ticks)) < 1e-6


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a strategy asks the executor to send.

    ``client_order_id`` is assigned before anything is sent, so an order can be
    found again after a lost response. ``expire_ns`` is required for GTD only.
    """

    client_order_id: str
    asset_id: str
    side: Side
    price: float
    size_shares: float
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    expire_ns: int | None = None

    def __post_init__(self) -> None:
        if not self.client_order_id:
            raise ValueError("client_order_id must be non-empty")
        if not (0.0 < self.price < 1.0):
            raise ValueError(f"price {self.price} outside (0, 1)")
        if not (self.size_shares > 0.0):
            raise ValueError(f"size_shares {self.size_shares} must be positive")
        if self.post_only and not self.order_type.rests:
            raise ValueError("post_only is only valid for GTC and GTD orders")
        if (self.order_type is OrderType.GTD) != (self.expire_ns is not None):
            raise ValueError("expire_ns is required for GTD orders and only for them")

    @property
    def notional_usdc(self) -> float:
        return self.price * self.size_shares


#: Orders per ``POST /orders`` request (Polymarket's batch limit); larger batches are split.
MAX_BATCH_ORDERS = 15


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order of a batch a strategy hands to ``ctx.orders.place_many``.

    The same fields as ``ctx.orders.buy``/``sell`` take; the executor assigns
    the client order id and checks each order as if it were sent alone (in
    list order, so earlier orders of the batch count against limits and funds).
    """

    side: Side
    asset_id: str
    price: float
    size_shares: float
    order_type: OrderType = OrderType.GTC
    post_only: bool = False
    expire_ns: int | None = None

    @classmethod
    def buy(cls, asset_id: str, price: float, size_shares: float, *,
            order_type: OrderType = OrderType.GTC, post_only: bool = False,
            expire_ns: int | None = None) -> OrderIntent:  # fmt: skip
        return cls(Side.BUY, asset_id, price, size_shares, order_type, post_only, expire_ns)

    @classmethod
    def sell(cls, asset_id: str, price: float, size_shares: float, *,
             order_type: OrderType = OrderType.GTC, post_only: bool = False,
             expire_ns: int | None = None) -> OrderIntent:  # fmt: skip
        return cls(Side.SELL, asset_id, price, size_shares, order_type, post_only, expire_ns)


@dataclass(frozen=True, slots=True)
class OrderAck:
    """The venue's answer to a place request.

    ``accepted`` False carries ``reason`` (machine-readable, e.g. ``min_size``)
    and ``message`` (the venue's words).
    """

    client_order_id: str
    venue_order_id: str | None
    accepted: bool
    status: OrderStatus
    reason: str = ""
    message: str = ""
    ts_ns: int = 0


@dataclass(frozen=True, slots=True)
class OrderState:
    """A snapshot of one order as the venue reports it."""

    client_order_id: str
    venue_order_id: str
    asset_id: str
    side: Side
    price: float
    size_shares: float
    filled_shares: float
    status: OrderStatus
    order_type: OrderType
    created_ns: int

    @property
    def remaining_shares(self) -> float:
        return max(self.size_shares - self.filled_shares, 0.0)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders.

    ``fee_usdc`` is the fee's value in USDC. A BUY pays its fee in tokens
    (``fee_shares`` > 0: the shares received are ``size_shares - fee_shares``); a
    SELL pays it in USDC (``fee_shares`` == 0).
    """

    trade_id: str
    client_order_id: str
    venue_order_id: str
    asset_id: str
    side: Side
    price: float
    size_shares: float
    fee_usdc: float
    fee_shares: float
    liquidity: Liquidity
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Balance:
    """Collateral balance in USDC (pUSD). ``as_of_ns`` is when the venue said so."""

    total_usdc: float
    available_usdc: float
    as_of_ns: int


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """Metadata of one binary market (one condition, two outcome tokens)."""

    condition_id: str
    question: str
    yes_token_id: str
    no_token_id: str
    tick_size: float
    min_order_size: float = 5.0
    fee_rate: float = 0.0
    fee_exponent: float = 1.0
    neg_risk: bool = False
    event_id: str = ""
    slug: str = ""
    category: str = ""
    start_ns: int = 0
    end_ns: int = 0
    #: "YES", "NO" or "" while unresolved.
    resolution: str = ""
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        check_tick_size(self.tick_size)
        if self.yes_token_id == self.no_token_id:
            raise ValueError(f"market {self.condition_id}: YES and NO token ids are equal")
        if self.min_order_size <= 0:
            raise ValueError(f"market {self.condition_id}: min_order_size must be positive")
        if self.fee_rate < 0:
            raise ValueError(f"market {self.condition_id}: fee_rate must be >= 0")
        if self.resolution not in ("", "YES", "NO"):
            raise ValueError(f"market {self.condition_id}: resolution must be YES, NO or empty")

    def outcome_of(self, asset_id: str) -> Outcome:
        if asset_id == self.yes_token_id:
            return Outcome.YES
        if asset_id == self.no_token_id:
            return Outcome.NO
        raise KeyError(f"asset {asset_id} is not a token of market {self.condition_id}")

    def complement_of(self, asset_id: str) -> str:
        return self.no_token_id if self.outcome_of(asset_id) is Outcome.YES else self.yes_token_id


def taker_fee_usdc(shares: float, price: float, rate: float, exponent: float = 1.0) -> float:
    """Polymarket's taker fee: ``shares * rate * (p * (1 - p)) ** exponent`` (reference 5)."""
    return shares * rate * (price * (1.0 - price)) ** exponent
