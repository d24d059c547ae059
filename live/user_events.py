"""User-channel messages -> our ``OrderState``s and ``Fill``s (the mapping both the
user socket and its REST poller use, so a fill heard either way has one trade id)."""

from __future__ import annotations

from collections.abc import Callable

from live.live_venue import LiveVenue
from live.user_messages import UserOrder, UserTrade
from sim.types import Fill, Liquidity, OrderState, OrderStatus, OrderType, Side, taker_fee_usdc

#: Trade statuses at which a trade is a fill (``LiveVenue.fills`` counts the same ones).
FILL_STATUSES: frozenset[str] = frozenset({"MATCHED", "MINED", "CONFIRMED", "RETRYING"})
FAILED = "FAILED"
_EPS = 1e-9

# ------------------------------------------------------------------------------ mapping


def venue_client_ids(venue: LiveVenue) -> Callable[[str], str | None]:
    """Our client order id of an order hash, None when the hash is not one of ours:
    ``LiveVenue``'s own map (which ``order_id``/``remember`` fill), read live.

    ``LiveVenue`` has no public lookup yet; this is the one place that reads its map.
    """
    return venue._cid_of.get


def order_status(status: str, kind: str, size: float, matched: float) -> OrderStatus:
    """An ``order`` message's ``status`` (and ``type``) as an ``OrderStatus``.

    ``CANCELED...`` (an FOK kill carries the venue's words after ``CANCELED_``),
    ``INVALID`` and any ``CANCELLATION`` are CANCELED, or EXPIRED when the words say
    so; ``MATCHED`` (or the whole size matched) is FILLED; otherwise the order rests:
    OPEN, or PARTIALLY_FILLED once something matched.
    """
    words = status.strip().upper()
    if "EXPIRED" in words:
        return OrderStatus.EXPIRED
    if words.startswith("CANCELED") or words == "INVALID" or kind.upper() == "CANCELLATION":
        return OrderStatus.CANCELED
    if words == "MATCHED" or (size > 0 and matched >= size - _EPS):
        return OrderStatus.FILLED
    return OrderStatus.PARTIALLY_FILLED if matched > _EPS else OrderStatus.OPEN


def order_state(msg: UserOrder, client_id_of: Callable[[str], str | None]) -> OrderState:
    """The ``OrderState`` an ``order`` message reports: our client id, or the order hash
    when ``client_id_of`` does not know it."""
    kind = msg.order_type.strip().upper()
    return OrderState(
        client_order_id=client_id_of(msg.id) or msg.id,
        venue_order_id=msg.id,
        asset_id=msg.asset_id,
        side=msg.side,
        price=msg.price,
        size_shares=msg.original_size,
        filled_shares=msg.size_matched,
        status=order_status(msg.status, msg.type, msg.original_size, msg.size_matched),
        order_type=OrderType(kind) if kind in OrderType.__members__ else OrderType.GTC,
        created_ns=msg.created_at_ns or 0,
    )


def trade_fills(trade: UserTrade, client_id_of: Callable[[str], str | None]) -> list[Fill]:
    """Our legs of a ``trade`` message as fills, with ``LiveVenue.fills``' trade ids.

    The taker leg when ``taker_order_id`` is ours (the fee: ``fee_rate_bps`` by reference
    §5, paid in USDC as ``LiveVenue`` books it), each maker leg whose ``order_id`` is
    ours (no fee). A maker entry without a ``side`` took the other side of the taker
    on the same token, or the same side on the complementary token.
    """
    ts = trade.matchtime_ns or trade.ts_exchange_ns
    out: list[Fill] = []
    cid = client_id_of(trade.taker_order_id) if trade.taker_order_id else None
    if cid is not None:
        fee = taker_fee_usdc(trade.size, trade.price, trade.fee_rate_bps / 10_000)
        out.append(Fill(f"{trade.id}:{trade.taker_order_id}", cid, trade.taker_order_id,
                        trade.asset_id, trade.side, trade.price, trade.size, fee, 0.0,
                        Liquidity.TAKER, ts))  # fmt: skip
    for mo in trade.maker_orders:
        cid = client_id_of(mo.order_id)
        if cid is None:
            continue
        asset = mo.asset_id or trade.asset_id
        side = mo.side
        if side is None:
            side = trade.side if asset != trade.asset_id else Side(-int(trade.side))
        out.append(Fill(f"{trade.id}:{mo.order_id}", cid, mo.order_id, asset, side, mo.price,
                        mo.matched_amount, 0.0, 0.0, Liquidity.MAKER, ts))  # fmt: skip
    return out


def trade_status_of(status: str) -> str:
    words = status.strip().upper()
    return words.removeprefix("TRADE_STATUS_")


def root_trade_id(trade_id: str) -> str:
    """The venue's trade id of one of our fills (``"<trade id>:<order hash>"``)."""
    return trade_id.rsplit(":", 1)[0]


def order_advances(old: OrderState | None, new: OrderState) -> bool:
    """Does ``new`` tell more than ``old`` (module docstring, "Orders")?"""
    if old is None:
        return True
    if old.status.terminal or new.filled_shares < old.filled_shares - _EPS:
        return False
    return new.status is not old.status or new.filled_shares > old.filled_shares + _EPS


# ------------------------------------------------------------------------------ the channel
