"""A venue whose state lives in a file, so it outlives a killed executor process.

Each call reads the state, acts, and replaces the file atomically. Orders are
marketable and fill at once (a taker fill at the order price), enough to test
that a restarted executor loses nothing and doubles nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sim.types import (
    Balance,
    Fill,
    Liquidity,
    MarketInfo,
    OrderAck,
    OrderRequest,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
)
from sim.venue import CancelAck


class PersistentVenue:
    name = "persistent"

    def __init__(self, path: Path, market: MarketInfo, clock, cash_usdc: float = 1_000.0) -> None:
        self.path = Path(path)
        self.market = market
        self.clock = clock
        if not self.path.exists():
            self._save({"orders": {}, "fills": [], "cash": cash_usdc, "positions": {}})

    def _load(self) -> dict:
        return json.loads(self.path.read_text())

    def _save(self, state: dict) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)

    def markets(self) -> list[MarketInfo]:
        return [self.market]

    def order_id(self, order: OrderRequest) -> str:
        return f"p-{order.client_order_id}"

    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck:
        st = self._load()
        now = self.clock.now_ns()
        cid = order.client_order_id
        if cid in st["orders"]:
            return OrderAck(cid, None, False, OrderStatus.REJECTED, "duplicated",
                            "order is invalid. Duplicated.", now)  # fmt: skip
        vid = self.order_id(order)
        st["orders"][cid] = {
            "vid": vid, "asset": order.asset_id, "side": order.side.name, "price": order.price,
            "size": order.size_shares, "filled": order.size_shares, "status": "FILLED",
            "created": now,
        }  # fmt: skip
        st["fills"].append({
            "trade_id": f"t-{vid}", "cid": cid, "vid": vid, "asset": order.asset_id,
            "side": order.side.name, "price": order.price, "size": order.size_shares, "ts": now,
        })  # fmt: skip
        sign = 1 if order.side is Side.BUY else -1
        st["cash"] -= sign * order.price * order.size_shares
        pos = st["positions"].get(order.asset_id, 0.0) + sign * order.size_shares
        st["positions"][order.asset_id] = pos
        self._save(st)
        return OrderAck(cid, vid, True, OrderStatus.FILLED, ts_ns=now)

    def _state(self, cid: str, o: dict) -> OrderState:
        return OrderState(
            cid,
            o["vid"],
            o["asset"],
            Side[o["side"]],
            o["price"],
            o["size"],
            o["filled"],
            OrderStatus(o["status"]),
            OrderType.GTC,
            o["created"],
        )

    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        o = self._load()["orders"].get(client_order_id)
        return None if o is None else self._state(client_order_id, o)

    def open_orders(self, *, deadline_s: float) -> list[OrderState]:
        return [self._state(c, o) for c, o in self._load()["orders"].items()
                if o["status"] in ("OPEN", "PARTIALLY_FILLED")]  # fmt: skip

    def fills(self, since_ns: int, *, deadline_s: float) -> list[Fill]:
        return [
            Fill(
                f["trade_id"],
                f["cid"],
                f["vid"],
                f["asset"],
                Side[f["side"]],
                f["price"],
                f["size"],
                0.0,
                0.0,
                Liquidity.TAKER,
                f["ts"],
            )
            for f in self._load()["fills"]
            if f["ts"] >= since_ns
        ]

    def place_many(self, orders, *, deadline_s: float) -> list[OrderAck]:
        return [self.place(o, deadline_s=deadline_s) for o in orders]

    def cancel(self, client_order_id: str, *, deadline_s: float) -> CancelAck:
        return CancelAck(client_order_id, "", False, "already matched")

    def cancel_many(self, client_order_ids, *, deadline_s: float) -> list[CancelAck]:
        return [self.cancel(c, deadline_s=deadline_s) for c in client_order_ids]

    def cancel_all(self, *, deadline_s: float) -> list[CancelAck]:
        return []

    def balance(self, *, deadline_s: float) -> Balance:
        cash = self._load()["cash"]
        return Balance(cash, cash, self.clock.now_ns())

    def positions(self) -> dict[str, float]:
        return self._load()["positions"]

    def orders_by_cid(self) -> dict[str, dict]:
        return self._load()["orders"]
