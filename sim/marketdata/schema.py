"""The Parquet market-data format, version 1. Documented in ``data/README.md``.

One row per event. A dataset is a folder::

    DATASET/
      dataset.json                       # {"schema_version": 1, ...}
      markets.parquet                    # one row per binary market
      events/date=YYYY-MM-DD/market=SLUG.parquet

Event rows are the columns of ``EVENT_SCHEMA``; ``kind`` takes an
``EventKind`` value and ``side`` a ``SIDE_*`` value.
"""

from __future__ import annotations

import enum

import pyarrow as pa

SCHEMA_VERSION = 1

SIDE_NONE = 0
SIDE_BID = 1  # BUY side of the book / a taker BUY
SIDE_ASK = -1  # SELL side of the book / a taker SELL


class EventKind(enum.IntEnum):
    """What one event row means. Values are stable: they are stored on disk."""

    #: Clears the asset's book; the SNAPSHOT_LEVEL rows that follow rebuild it.
    BOOK_RESET = 1
    #: One level of a snapshot (absolute size) following a BOOK_RESET.
    SNAPSHOT_LEVEL = 2
    #: A level's new total size (0 removes it). From ``price_change``.
    LEVEL_CHANGE = 3
    #: A trade print; ``side`` is the taker's. From ``last_trade_price``.
    TRADE = 4
    #: The asset's tick size changed; ``price`` holds the new tick, ``size`` the old.
    TICK_SIZE = 5
    #: The market resolved; ``price`` is this asset's payout (1 or 0).
    RESOLVED = 6
    #: The recorder's feed connected (``side`` 1) or disconnected (``side`` 0);
    #: ``asset_id`` is empty. Replay treats the book as unknown between them.
    CONNECTION = 7


#: The kinds as plain ints: the one set every module, numba kernels included (which
#: freeze globals at compile time), compares rows against.
K_RESET = int(EventKind.BOOK_RESET)
K_SNAP = int(EventKind.SNAPSHOT_LEVEL)
K_LEVEL = int(EventKind.LEVEL_CHANGE)
K_TRADE = int(EventKind.TRADE)
K_TICK = int(EventKind.TICK_SIZE)
K_RESOLVED = int(EventKind.RESOLVED)
K_CONN = int(EventKind.CONNECTION)

EVENT_COLUMNS: tuple[str, ...] = (
    "ts_exchange_ns",
    "ts_recv_ns",
    "seq",
    "asset_id",
    "kind",
    "side",
    "price",
    "size",
)

EVENT_SCHEMA = pa.schema(
    [
        pa.field("ts_exchange_ns", pa.int64(), nullable=False),
        pa.field("ts_recv_ns", pa.int64(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("asset_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("kind", pa.uint8(), nullable=False),
        pa.field("side", pa.int8(), nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("size", pa.float64(), nullable=False),
    ],
    metadata={b"clobsim.schema_version": str(SCHEMA_VERSION).encode()},
)

MARKET_COLUMNS: tuple[str, ...] = (
    "condition_id",
    "question",
    "slug",
    "category",
    "event_id",
    "yes_token_id",
    "no_token_id",
    "tick_size",
    "min_order_size",
    "fee_rate",
    "fee_exponent",
    "neg_risk",
    "start_ns",
    "end_ns",
    "resolution",
)

MARKETS_SCHEMA = pa.schema(
    [
        pa.field("condition_id", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("slug", pa.string(), nullable=False),
        pa.field("category", pa.string(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("yes_token_id", pa.string(), nullable=False),
        pa.field("no_token_id", pa.string(), nullable=False),
        pa.field("tick_size", pa.float64(), nullable=False),
        pa.field("min_order_size", pa.float64(), nullable=False),
        pa.field("fee_rate", pa.float64(), nullable=False),
        pa.field("fee_exponent", pa.float64(), nullable=False),
        pa.field("neg_risk", pa.bool_(), nullable=False),
        pa.field("start_ns", pa.int64(), nullable=False),
        pa.field("end_ns", pa.int64(), nullable=False),
        pa.field("resolution", pa.string(), nullable=False),
    ],
    metadata={b"clobsim.schema_version": str(SCHEMA_VERSION).encode()},
)
