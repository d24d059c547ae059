"""Journal payloads for requests, fills and order states (plain JSON-able dicts).

Enum names and values are read as ``_name_``/``_value_`` (Enum's documented sunder
attributes): on Python 3.11 ``.name``/``.value`` go through a Python-level descriptor, and
these run for every order and fill.
"""

from __future__ import annotations

from sim.types import Fill, Liquidity, OrderRequest, OrderState, OrderStatus, OrderType, Side


def request_to_dict(r: OrderRequest) -> dict:
    return {
        "client_order_id": r.client_order_id, "asset_id": r.asset_id, "side": r.side._name_,
        "price": r.price, "size_shares": r.size_shares, "order_type": r.order_type._value_,
        "post_only": r.post_only, "expire_ns": r.expire_ns,
    }  # fmt: skip


def request_from_dict(d: dict) -> OrderRequest:
    return OrderRequest(
        d["client_order_id"], d["asset_id"], Side[d["side"]], float(d["price"]),
        float(d["size_shares"]), OrderType(d["order_type"]), bool(d["post_only"]),
        d.get("expire_ns"),
    )  # fmt: skip


def fill_to_dict(f: Fill) -> dict:
    return {
        "trade_id": f.trade_id, "client_order_id": f.client_order_id,
        "venue_order_id": f.venue_order_id, "asset_id": f.asset_id, "side": f.side._name_,
        "price": f.price, "size_shares": f.size_shares, "fee_usdc": f.fee_usdc,
        "fee_shares": f.fee_shares, "liquidity": f.liquidity._value_, "ts_ns": f.ts_ns,
    }  # fmt: skip


def fill_from_dict(d: dict) -> Fill:
    return Fill(
        d["trade_id"], d["client_order_id"], d["venue_order_id"], d["asset_id"], Side[d["side"]],
        float(d["price"]), float(d["size_shares"]), float(d["fee_usdc"]),
        float(d["fee_shares"]), Liquidity(d["liquidity"]), int(d["ts_ns"]),
    )  # fmt: skip


def state_to_dict(s: OrderState) -> dict:
    return {
        "client_order_id": s.client_order_id, "venue_order_id": s.venue_order_id,
        "status": s.status._value_, "filled_shares": s.filled_shares,
    }  # fmt: skip


def status_from(value: str) -> OrderStatus:
    return OrderStatus(value)
