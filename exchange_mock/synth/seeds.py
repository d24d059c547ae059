"""Independent, named random streams.

Every stream is a ``numpy`` ``Generator(PCG64)`` seeded from
``SeedSequence([seed, tag, *key])``: the tag says what the stream is for
(book events, metadata, the underlying, the feed) and the key names the
market it belongs to by its identity (asset and window start, event number),
not by its position in the market list. So a market's rows do not depend on
which other markets are generated, in what order, or for how many days.
"""

from __future__ import annotations

import enum
import zlib

import numpy as np


class Stream(enum.IntEnum):
    """What a random stream drives. Values are part of the output: never renumber."""

    CRYPTO_BOOK = 1
    CRYPTO_META = 2
    UNDERLYING = 3
    EVENT_BOOK = 4
    EVENT_META = 5
    GROUP_BOOK = 6
    GROUP_META = 7
    FEED = 8
    ASSET_META = 9


def symbol_key(symbol: str) -> int:
    """A stable integer for an asset symbol (independent of ``PYTHONHASHSEED``)."""
    return zlib.crc32(symbol.encode())


def rng(seed: int, stream: Stream, *key: int) -> np.random.Generator:
    """The generator of ``stream`` for the thing named by ``key``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int(stream), *key])))
