"""Which channel a message belongs to, and which market event_type an untagged one is.

The user channel's messages share fields with the market channel's
(``price``/``side``/``size``), so both parsers classify a message before
parsing it: ``is_user_channel_message`` (tagged, or by a user-only field or
``type``) and ``_infer_event_type`` (the one market-channel shape an untagged
message fits; the rules are in ``live.market_messages``'s docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from live.message_fields import _fail

#: Fields only user-channel messages carry (reference 6.2): a message with any of
#: them is never market data.
USER_CHANNEL_FIELDS: frozenset[str] = frozenset(
    {
        "taker_order_id",
        "maker_orders",
        "trader_side",
        "trade_owner",
        "matchtime",
        "match_time",
        "original_size",
        "size_matched",
        "order_type",
        "order_owner",
        "associate_trades",
    }
)
#: User-channel ``type`` values (``trade``: TRADE; ``order``: the other three).
USER_CHANNEL_TYPES: frozenset[str] = frozenset({"TRADE", "PLACEMENT", "UPDATE", "CANCELLATION"})
_USER_EVENT_TYPES = frozenset({"trade", "order"})


def _infer_event_type(msg: Mapping[str, Any]) -> str:
    """The event_type of an untagged message, from the one shape it fits (module docstring)."""
    fits = []
    if "bids" in msg and "asks" in msg:
        fits.append("book")
    if "price_changes" in msg or "changes" in msg:
        fits.append("price_change")
    if "new_tick_size" in msg:
        fits.append("tick_size_change")
    if "winning_asset_id" in msg:
        fits.append("market_resolved")
    if "best_bid" in msg and "best_ask" in msg:
        fits.append("best_bid_ask")
    if "price" in msg and "side" in msg and "size" in msg:
        fits.append("last_trade_price")
    if len(fits) != 1:
        shapes = f"it fits {fits}" if fits else "it fits no known shape"
        raise _fail("missing_field", f"event_type: field is missing and {shapes}", msg)
    return fits[0]


def _user_evidence(msg: Mapping[str, Any]) -> list[str]:
    """What marks ``msg`` as a user-channel message (empty if nothing does)."""
    event_type = msg.get("event_type")
    if isinstance(event_type, str):
        return [f"event_type {event_type!r}"] if event_type in _USER_EVENT_TYPES else []
    evidence = sorted(k for k in USER_CHANNEL_FIELDS if k in msg)
    kind = msg.get("type")
    if isinstance(kind, str) and kind in USER_CHANNEL_TYPES:
        evidence.insert(0, f"type {kind!r}")
    return evidence


def is_user_channel_message(msg: Mapping[str, Any]) -> bool:
    """True for a user-channel message (reference 6.2), tagged or not.

    Tagged: ``event_type`` ``trade`` or ``order``. Untagged: a ``type`` in
    ``USER_CHANNEL_TYPES`` or any field of ``USER_CHANNEL_FIELDS``. A message
    with a market-channel ``event_type`` is never a user message.
    """
    return bool(_user_evidence(msg))
