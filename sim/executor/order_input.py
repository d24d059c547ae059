"""What a strategy hands the order path, checked before anything else reads it.

A strategy is user code: it may pass ``None`` for a price, a string for an
order type, a numpy scalar for a size. None of that may raise from inside the
executor (an exception mid-order could strand state); each is turned into a
refusal with reason ``invalid_order`` and a message naming the argument, what
was expected and what came. numpy scalars and ints are accepted as numbers
(converted to ``float``); ``bool`` is not a number here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from sim.types import OrderType, Side


class OrderInputError(ValueError):
    """One argument of an order is unusable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _shown(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def as_number(field: str, value: object) -> float:
    """``value`` as a finite float, or ``OrderInputError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OrderInputError(field, f"expected a number, got {_shown(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise OrderInputError(field, f"expected a finite number, got {_shown(value)}")
    return out


def clean_order(
    side: object, asset_id: object, price: object, size_shares: object, order_type: object,
    post_only: object, expire_ns: object,
) -> tuple[Side, str, float, float, OrderType, bool, int | None]:  # fmt: skip
    """The order's arguments in their proper types, or ``OrderInputError``.

    Range checks (price in (0, 1), size > 0, GTD needs ``expire_ns``) stay with
    ``OrderRequest``; this only makes sure they can be evaluated."""
    if not isinstance(side, Side):
        raise OrderInputError("side", f"expected Side.BUY or Side.SELL, got {_shown(side)}")
    if not isinstance(asset_id, str) or not asset_id:
        raise OrderInputError("asset_id", f"expected a token id string, got {_shown(asset_id)}")
    p = as_number("price", price)
    s = as_number("size_shares", size_shares)
    if not isinstance(order_type, OrderType):
        raise OrderInputError(
            "order_type",
            f"expected an OrderType (e.g. OrderType.GTC), got {_shown(order_type)}",
        )
    if not isinstance(post_only, bool | np.bool_):
        raise OrderInputError("post_only", f"expected True or False, got {_shown(post_only)}")
    post_only = bool(post_only)
    exp: int | None = None
    if expire_ns is not None:
        if isinstance(expire_ns, bool) or not isinstance(expire_ns, numbers.Integral):
            raise OrderInputError(
                "expire_ns", f"expected an int of nanoseconds or None, got {_shown(expire_ns)}"
            )
        exp = int(expire_ns)
    return side, asset_id, p, s, order_type, post_only, exp


def shown_number(value: object) -> float:
    """A number for a refusal record, whatever the strategy passed (NaN when unusable)."""
    try:
        return as_number("", value)
    except OrderInputError:
        return math.nan


def shown_asset(value: object) -> str:
    return value if isinstance(value, str) else repr(value)[:80]


def check_sequence(items: object, item_type: type, call: str, arg: str) -> None:
    """A strategy's batch must be a list (or tuple): anything else is a programming error,
    said plainly (a str would otherwise be taken letter by letter). Malformed elements are
    refused one by one by the caller, never raised."""
    cls = items.__class__
    if cls is list or cls is tuple:  # the usual case, without an ABC check
        return
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise TypeError(f"{call}: {arg} must be a list of {item_type.__name__}, "
                        f"got {cls.__name__}")  # fmt: skip
