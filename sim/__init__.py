"""clobsim: simulation-first backtesting and paper trading for Polymarket's CLOB.

The public API lives here; everything with a leading underscore is private.
"""

from sim.clock import Clock, Deadline, SimClock, WallClock
from sim.errors import ClobsimError, ConfigError, DataValidationError, MessageParseError
from sim.events import (
    BestBidAsk,
    BookSnapshot,
    ConnectionState,
    FillEvent,
    FillReversed,
    LevelChange,
    MarketResolved,
    OrdersInDoubt,
    OrderUpdate,
    TickSizeChange,
    TradePrint,
)
from sim.strategy import BookView, OrderGateway, Strategy, StrategyContext
from sim.types import (
    Balance,
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderIntent,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
    taker_fee_usdc,
)
from sim.venue import CancelAck, Venue, VenueError

__version__ = "0.1.0"

__all__ = [
    "Balance",
    "BestBidAsk",
    "BookSnapshot",
    "BookView",
    "CancelAck",
    "ClobsimError",
    "Clock",
    "ConfigError",
    "ConnectionState",
    "DataValidationError",
    "Deadline",
    "Fill",
    "FillEvent",
    "FillReversed",
    "LevelChange",
    "Liquidity",
    "MarketInfo",
    "MarketResolved",
    "MessageParseError",
    "OrderAck",
    "OrderGateway",
    "OrderIntent",
    "OrderRequest",
    "OrderState",
    "OrderStatus",
    "OrderType",
    "OrderUpdate",
    "OrdersInDoubt",
    "Outcome",
    "Side",
    "SimClock",
    "Strategy",
    "StrategyContext",
    "TickSizeChange",
    "TradePrint",
    "Venue",
    "VenueError",
    "WallClock",
    "__version__",
    "taker_fee_usdc",
]
