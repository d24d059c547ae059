"""``LiveVenue``: the ``sim.venue.Venue`` protocol over Polymarket's CLOB V2.

The executor talks to it exactly as it talks to the simulated venue. What is
live-specific:

* **Order identity.** ``order_id`` signs the order and returns its EIP-712 hash;
  the executor journals that id before ``place`` posts the *same* signed order.
  A re-send after an ambiguous answer is refused by the venue as a duplicate,
  and ``get_order`` finds the order by its hash.
* **Client ids.** The venue knows orders by hash only; this venue keeps the
  client id <-> hash map (``remember`` restores it after a restart, from the
  journal's ``venue_order_id``s).
* **Answers** are parsed from the venue's JSON (reference §4.5-§4.6): a post's
  ``status`` and matched amounts, open orders, trades of our orders (taker or
  maker side), the collateral balance in 1e-6 units.

Every call goes through ``ClobApi`` (deadlines, error mapping).
"""

from __future__ import annotations

from collections.abc import Sequence

from live.clob_api import ClobApi, reason_of
from sim.clock import Clock
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
from sim.venue import CancelAck, VenueRejected

NS = 1_000_000_000
UNITS = 1_000_000
EPS = 1e-9
NOT_FOUND = "order not found"
_OPEN = {"LIVE": OrderStatus.OPEN, "MATCHED": OrderStatus.FILLED,
         "CANCELED": OrderStatus.CANCELED}  # fmt: skip
_FILLS_FROM = ("MATCHED", "MINED", "CONFIRMED", "RETRYING")
_FAILED = "FAILED"  # settlement failed: the venue undid the trade


def _tick_text(tick: float) -> str:
    return f"{tick:.4f}".rstrip("0").rstrip(".")


class LiveVenue:
    name = "polymarket"

    def __init__(self, api: ClobApi, markets: Sequence[MarketInfo], clock: Clock) -> None:
        self.api = api
        self.clock = clock
        self._markets = list(markets)
        self._by_token = {t: m for m in self._markets for t in (m.yes_token_id, m.no_token_id)}
        self._hash_of: dict[str, str] = {}  # client id -> order hash
        self._cid_of: dict[str, str] = {}  # order hash -> client id
        self._signed: dict[str, object] = {}  # client id -> the signed order to post
        self._balance_check = None

    # ------------------------------------------------------------------ identity
    def markets(self) -> list[MarketInfo]:
        return list(self._markets)

    def update_market(self, market: MarketInfo) -> None:
        """New settings of a market (a tick size change heard on the feed)."""
        self._markets = [market if m.condition_id == market.condition_id else m
                         for m in self._markets]  # fmt: skip
        self._by_token[market.yes_token_id] = self._by_token[market.no_token_id] = market

    def order_id(self, order: OrderRequest) -> str:
        cid = order.client_order_id
        known = self._hash_of.get(cid)
        if known is not None:
            return known
        market = self._by_token.get(order.asset_id)
        if market is None:
            raise ValueError(f"asset {order.asset_id} is not a market of this venue")
        expiration = order.expire_ns // NS if order.expire_ns else 0
        order_hash, signed = self.api.sign(
            order.asset_id, order.side.name, order.price, order.size_shares,
            tick=_tick_text(market.tick_size), neg_risk=market.neg_risk, expiration_s=expiration,
        )  # fmt: skip
        self.remember(cid, order_hash)
        self._signed[cid] = signed
        return order_hash

    def remember(self, client_order_id: str, order_hash: str) -> None:
        self._hash_of[client_order_id] = order_hash
        self._cid_of[order_hash] = client_order_id

    def _cid(self, order_hash: str) -> str:
        return self._cid_of.get(order_hash, order_hash)

    # ------------------------------------------------------------------ placing
    def place(self, order: OrderRequest, *, deadline_s: float) -> OrderAck:
        oid = self.order_id(order)
        try:
            resp = self.api.post(self._signed[order.client_order_id], order.order_type.value,
                                 order.post_only, deadline_s=deadline_s)  # fmt: skip
        except VenueRejected as exc:
            return OrderAck(order.client_order_id, None, False, OrderStatus.REJECTED,
                            exc.reason, str(exc), self.clock.now_ns())  # fmt: skip
        return self._ack(order, oid, resp)

    def place_many(self, orders: Sequence[OrderRequest], *, deadline_s: float) -> list[OrderAck]:
        ids = [self.order_id(o) for o in orders]
        items = [(self._signed[o.client_order_id], o.order_type.value) for o in orders]
        post_only = any(o.post_only for o in orders)
        if post_only and not all(o.post_only for o in orders):  # one flag per request
            return [self.place(o, deadline_s=deadline_s) for o in orders]
        answers = self.api.post_many(items, post_only, deadline_s=deadline_s)
        return [self._ack(o, oid, r) for o, oid, r in zip(orders, ids, answers, strict=True)]

    def _ack(self, order: OrderRequest, oid: str, resp: dict) -> OrderAck:
        now = self.clock.now_ns()
        cid = order.client_order_id
        if not resp.get("success"):
            message = str(resp.get("errorMsg") or "order refused")
            return OrderAck(cid, None, False, OrderStatus.REJECTED, reason_of(message, 200),
                            message, now)  # fmt: skip
        status = str(resp.get("status", "")).lower()
        if status != "matched":
            return OrderAck(cid, oid, True, OrderStatus.OPEN, ts_ns=now)
        amounts = (resp.get("takingAmount"), resp.get("makingAmount"))
        shares = _decimal(amounts[0] if order.side is Side.BUY else amounts[1])
        if shares >= order.size_shares - EPS:
            state = OrderStatus.FILLED
        elif order.order_type.rests:
            state = OrderStatus.PARTIALLY_FILLED
        else:
            state = OrderStatus.CANCELED  # an FAK's unfilled rest is killed
        return OrderAck(cid, oid, True, state, ts_ns=now)

    # ------------------------------------------------------------------ cancelling
    def cancel(self, client_order_id: str, *, deadline_s: float) -> CancelAck:
        return self.cancel_many([client_order_id], deadline_s=deadline_s)[0]

    def cancel_many(self, client_order_ids: Sequence[str], *, deadline_s: float) -> list[CancelAck]:
        known = [c for c in client_order_ids if c in self._hash_of]
        resp = self.api.cancel_many([self._hash_of[c] for c in known], deadline_s=deadline_s) \
            if known else {"canceled": [], "not_canceled": {}}  # fmt: skip
        return [self._cancel_ack(c, resp) for c in client_order_ids]

    def _cancel_ack(self, cid: str, resp: dict) -> CancelAck:
        oid = self._hash_of.get(cid)
        if oid is None:
            return CancelAck(cid, "", False, NOT_FOUND)
        if oid in (resp.get("canceled") or []):
            return CancelAck(cid, oid, True)
        reason = (resp.get("not_canceled") or {}).get(oid, NOT_FOUND)
        return CancelAck(cid, oid, False, str(reason))

    def cancel_all(self, *, deadline_s: float) -> list[CancelAck]:
        resp = self.api.cancel_all(deadline_s=deadline_s)
        return [CancelAck(self._cid(h), h, True) for h in resp.get("canceled") or []]

    # ------------------------------------------------------------------ reading
    def get_order(self, client_order_id: str, *, deadline_s: float) -> OrderState | None:
        oid = self._hash_of.get(client_order_id)
        if oid is None:
            return None  # never signed here: it cannot have been sent
        raw = self.api.get_order(oid, deadline_s=deadline_s)
        return None if not raw else self._state(raw)

    def open_orders(self, *, deadline_s: float) -> list[OrderState]:
        return [self._state(o) for o in self.api.open_orders(deadline_s=deadline_s)]

    def _state(self, o: dict) -> OrderState:
        size, filled = _decimal(o.get("original_size")), _decimal(o.get("size_matched"))
        status = _OPEN.get(str(o.get("status", "")).upper(), OrderStatus.CANCELED)
        if status is OrderStatus.OPEN and filled > EPS:
            status = OrderStatus.PARTIALLY_FILLED
        otype = str(o.get("order_type") or "GTC").upper()
        return OrderState(
            self._cid(str(o["id"])), str(o["id"]), str(o.get("asset_id", "")),
            Side.BUY if str(o.get("side", "")).upper() == "BUY" else Side.SELL,
            _decimal(o.get("price")), size, filled, status,
            OrderType(otype) if otype in OrderType.__members__ else OrderType.GTC,
            int(_decimal(o.get("created_at")) * NS),
        )  # fmt: skip

    def fills(self, since_ns: int, *, deadline_s: float) -> list[Fill]:
        return self.fills_and_failures(since_ns, deadline_s=deadline_s)[0]

    def fills_and_failures(self, since_ns: int, *,
                           deadline_s: float) -> tuple[list[Fill], list[Fill]]:  # fmt: skip
        """Our fills matched since ``since_ns`` and, apart, our legs of trades that FAILED
        on chain (the venue undid them: ``fills`` leaves them out), from one request.
        A failed leg has the trade id its fill had, so it can be matched to it."""
        trades = self.api.trades(after_s=max(since_ns // NS - 1, 0), deadline_s=deadline_s)
        fills: list[Fill] = []
        failed: list[Fill] = []
        for t in trades:
            status = str(t.get("status", "")).upper()
            out = fills if status in _FILLS_FROM else failed if status == _FAILED else None
            if out is None:
                continue
            ts = int(_decimal(t.get("match_time")) * NS)
            if ts < since_ns - NS:
                continue
            for oid, liq, side, price, size in _our_legs(t, self._cid_of):
                fee_bps = _decimal(t.get("fee_rate_bps"))
                out.append(Fill(f"{t['id']}:{oid}", self._cid(oid), oid, str(t["asset_id"]),
                                side, price, size, _fee(liq, fee_bps, price, size), 0.0, liq,
                                ts))  # fmt: skip
        return fills, failed

    def balance(self, *, deadline_s: float) -> Balance:
        """The API's balance, cross-checked on chain when a checker is installed
        (``check_balance_with``: a mismatch refuses new risk)."""
        if self._balance_check is not None:
            return self._balance_check.balance(deadline_s=deadline_s)
        return self.api_balance(deadline_s=deadline_s)

    def api_balance(self, *, deadline_s: float) -> Balance:
        """The collateral balance as the CLOB's ``/balance-allowance`` says it."""
        raw = self.api.balance(deadline_s=deadline_s)
        total = _decimal(raw.get("balance")) / UNITS
        return Balance(total, total, self.clock.now_ns())

    def check_balance_with(self, checker) -> None:
        """Route ``balance`` through ``checker`` (``live.chain_balance.CrossCheckedBalance``
        built over ``ApiBalance(self)``)."""
        self._balance_check = checker


def _decimal(raw: object) -> float:
    try:
        return float(raw) if raw not in (None, "") else 0.0
    except (TypeError, ValueError):
        return 0.0


def _fee(liq: Liquidity, fee_bps: float, price: float, size: float) -> float:
    """The venue reports the rate; the USDC fee is the reference §5 formula (takers only)."""
    if liq is not Liquidity.TAKER or fee_bps <= 0:
        return 0.0
    return size * fee_bps / 10_000 * price * (1.0 - price)


def _our_legs(trade: dict, ours: dict[str, str]):
    """(order hash, liquidity, side, price, size) of each of our orders in ``trade``."""
    taker = str(trade.get("taker_order_id") or "")
    if taker and taker in ours:
        side = Side.BUY if str(trade.get("side", "")).upper() == "BUY" else Side.SELL
        yield taker, Liquidity.TAKER, side, _decimal(trade.get("price")), _decimal(trade["size"])
    for m in trade.get("maker_orders") or []:
        oid = str(m.get("order_id") or "")
        if oid in ours:
            side = Side.BUY if str(m.get("side", "")).upper() == "BUY" else Side.SELL
            yield (oid, Liquidity.MAKER, side, _decimal(m.get("price")),
                   _decimal(m.get("matched_amount")))  # fmt: skip


class ApiBalance:
    """A venue's API balance alone, as the on-chain cross-check reads it."""

    def __init__(self, venue: LiveVenue) -> None:
        self._venue = venue

    def balance(self, *, deadline_s: float) -> Balance:
        return self._venue.api_balance(deadline_s=deadline_s)
