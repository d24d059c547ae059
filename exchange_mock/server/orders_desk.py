"""What the server's trading routes do, without HTTP: place, cancel, read orders and
trades, balances, the heartbeat dead-man switch (protocol reference §3-§4, §7).

The matching is the ``MockExchange``'s venue; this desk keeps what Polymarket
keeps beside it: who owns each order (API key, maker address), its signed
amounts and expiration, the trades it took part in and each trade's settlement
status (``MATCHED`` -> ``MINED`` -> ``CONFIRMED``, the transaction hash filled in
at ``MINED``, as the venue does since 2026-07-24). Answers are the venue's JSON
shapes; refusals raise ``Refused`` with the venue's status and message.

One funded account: the server's test wallet. Any wallet may create API keys
(L1), but only the test wallet holds collateral, so another wallet's orders
are refused ``not enough balance / allowance`` as an unfunded one would be.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from exchange_mock.server.auth import ApiCreds
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.market_encoder import format_decimal
from exchange_mock.server.signed_orders import (
    EXCHANGE_V2,
    NEG_RISK_EXCHANGE_V2,
    UNITS,
    OrderInvalid,
    SignedOrder,
    parse_signed_order,
)
from sim.types import Fill, MarketInfo, OrderRequest, OrderState, OrderStatus, Side
from sim.venue import VenueError

NS = 1_000_000_000
MAX_POST_BATCH = 15  # POST /orders (reference §3)
MAX_CANCEL_BATCH = 1000  # DELETE /orders since 2026-06-15
#: seconds from a match to MINED (the hash appears) and to CONFIRMED: wall seconds, as
#: the chain takes them, whatever the replay's speed (``_age_s``)
MINE_AFTER_S = 2.0
CONFIRM_AFTER_S = 6.0
#: a trade that fails settlement (fault ``trade_fail``): MATCHED, RETRYING, then FAILED
RETRY_AFTER_S = 2.0
FAIL_AFTER_S = 4.0
#: the dead-man switch: no beat for this long cancels all of the key's orders (§4.8)
HEARTBEAT_TIMEOUT_S = 10.0
NOT_FOUND = "order can't be found - already canceled or matched"
NEG_RISK_ADAPTER = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
_UNLIMITED = str(2**256 - 1)
_OPEN_STATUS = {
    OrderStatus.OPEN: "LIVE",
    OrderStatus.PARTIALLY_FILLED: "LIVE",
    OrderStatus.FILLED: "MATCHED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.EXPIRED: "CANCELED",
    OrderStatus.REJECTED: "CANCELED",
    OrderStatus.PENDING_NEW: "LIVE",
    OrderStatus.UNKNOWN: "LIVE",
}


class Refused(Exception):
    """An answer other than 200: ``status`` and ``{"error": message}`` (plus ``extra``)."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict:
        return {"error": self.message, **self.extra}


@dataclass
class _Order:
    signed: SignedOrder
    owner: str  # API key
    created_s: int  # wire time
    market: MarketInfo
    trades: list[str] = field(default_factory=list)


@dataclass
class _Trade:
    fill: Fill
    owner: str
    maker_address: str
    matched_ns: int  # data time
    tx_hash: str


class OrdersDesk:
    def __init__(self, exchange: MockExchange, account_address: str) -> None:
        self.ex = exchange
        self.account = account_address
        self._orders: dict[str, _Order] = {}
        self._trades: dict[str, _Trade] = {}
        self._seen_fills = 0
        self._heartbeat: dict[str, tuple[str, int]] = {}  # api key -> (expected id, data ns)
        self._fail_request = False  # fault trade_fail: this request's trades will fail
        self._failing: dict[str, bool] = {}  # trade id -> reversed yet
        self._failing_orders: set[str] = set()  # orders hit by trade_fail: all their trades
        #: told of each FOK/FAK killed unfilled: (its order JSON, the venue's message)
        self.on_killed: Callable[[dict, str], None] | None = None
        #: told of each order that reached the book (the user channel's PLACEMENT)
        self.on_placed: Callable[[str], None] | None = None

    # ------------------------------------------------------------------ helpers
    def order_record(self, order_id: str) -> _Order | None:
        return self._orders.get(order_id)

    def _killed_json(self, so: SignedOrder, creds: ApiCreds, market: MarketInfo) -> dict:
        """A killed order's fields (it is not kept: the venue refused it)."""
        return {"id": so.order_id, "status": "CANCELED", "owner": creds.api_key,
                "maker_address": so.maker, "market": market.condition_id,
                "asset_id": so.token_id, "side": so.side.name,
                "original_size": f"{so.size_shares:.6f}", "size_matched": "0",
                "price": format_decimal(so.price), "associate_trades": [],
                "expiration": str(so.expiration_s), "order_type": so.order_type.value}  # fmt: skip

    def trade_ids(self) -> list[str]:
        return list(self._trades)

    def market_of(self, token_id: str) -> MarketInfo:
        m = self.ex.by_token.get(token_id)
        if m is None:
            raise Refused(400, "Invalid token id")
        return m

    def _wire_s(self, data_ns: int) -> int:
        return self.ex.time.to_wire_ns(data_ns) // NS

    def _request(self, so: SignedOrder) -> OrderRequest:
        expire = None
        if so.order_type.value == "GTD":
            expire = self.ex.time.to_data_ns(so.expiration_s * NS)
        try:
            return OrderRequest(
                so.order_id,
                so.token_id,
                so.side,
                so.price,
                so.size_shares,
                so.order_type,
                so.post_only,
                expire,
            )
        except ValueError as exc:
            raise Refused(400, f"order {so.order_id} is invalid. {exc}") from None

    # ------------------------------------------------------------------ placing
    def post_order(self, creds: ApiCreds, body: object) -> dict:
        """``POST /order``: the post response (§4.5), or ``Refused``."""
        return self._post([body], creds)[0]

    def post_orders(self, creds: ApiCreds, bodies: object) -> list[dict]:
        if not isinstance(bodies, list) or not bodies:
            raise Refused(400, "invalid payload: expected a non-empty array of orders")
        if len(bodies) > MAX_POST_BATCH:
            raise Refused(400, f"too many orders in payload: max {MAX_POST_BATCH}")
        return self._post(bodies, creds, batch=True)

    def fail_trades_of_this_request(self) -> None:
        """Fault ``trade_fail``: every trade of the orders this request places will fail
        (those matched now and those matched later, as maker or taker)."""
        self._fail_request = True

    def _post(self, bodies: list, creds: ApiCreds, batch: bool = False) -> list[dict]:
        try:
            return self._post_checked(bodies, creds, batch)
        finally:
            self._fail_request = False

    def _post_checked(self, bodies: list, creds: ApiCreds, batch: bool) -> list[dict]:
        self.ex.step()
        checked: list[SignedOrder | Refused] = []
        for body in bodies:
            try:
                checked.append(self._check(body, creds))
            except Refused as exc:
                if not batch:
                    raise
                checked.append(exc)
        out = []
        for item in checked:
            if isinstance(item, Refused):  # a batch answers each order on its own
                out.append(_failed("", item.message))
                continue
            try:
                out.append(self._place(item, creds))
            except Refused as exc:
                if not batch:
                    raise
                out.append(_failed(item.order_id, exc.message))
        return out

    def _check(self, body: object, creds: ApiCreds) -> SignedOrder:
        order = body.get("order") if isinstance(body, dict) else None
        token = order.get("tokenId") if isinstance(order, dict) else None
        if not isinstance(token, str):
            raise Refused(400, "invalid order: missing field 'tokenId'")
        market = self.market_of(token)
        try:
            so = parse_signed_order(body, neg_risk=market.neg_risk, tick=market.tick_size)
        except OrderInvalid as exc:
            raise Refused(exc.status, exc.message) from None
        if so.signer.lower() != creds.address.lower():
            raise Refused(400, "the order signer address has to be the address of the API KEY")
        if so.owner and so.owner != creds.api_key:
            raise Refused(400, "the order owner has to be the owner of the API KEY")
        return so

    def _place(self, so: SignedOrder, creds: ApiCreds) -> dict:
        if so.order_id in self._orders:
            raise Refused(400, f"order {so.order_id} is invalid. Duplicated.")
        if so.maker.lower() != self.account.lower():
            raise Refused(400, "not enough balance / allowance")
        req = self._request(so)
        try:
            ack = self.ex.venue.place(req, deadline_s=3600.0)
        except VenueError as exc:
            raise Refused(exc.status or 500, str(exc)) from None
        market = self.ex.by_token[so.token_id]
        if not ack.accepted:
            message = _rejection(so, market, ack.reason or "", ack.message or "")
            if ack.reason in ("fok_not_filled", "fak_no_match") and self.on_killed is not None:
                self.on_killed(self._killed_json(so, creds, market), message)
            raise Refused(400, message)
        self._orders[so.order_id] = _Order(
            so, creds.api_key, self._wire_s(self.ex.clock.now_ns()), market
        )
        self.collect_trades()
        if self._fail_request:  # its trades fail: those made now and those the order's
            self._failing.update(dict.fromkeys(self._orders[so.order_id].trades, False))
            self._failing_orders.add(so.order_id)  # arrival (entry latency) makes later
        if self.on_placed is not None:
            self.on_placed(so.order_id)
        trades = self._orders[so.order_id].trades
        making = taking = ""
        status = "live"
        if trades:
            status = "matched"
            shares = sum(self._trades[t].fill.size_shares for t in trades)
            usdc = sum(
                self._trades[t].fill.size_shares * self._trades[t].fill.price for t in trades
            )
            making, taking = (usdc, shares) if so.side is Side.BUY else (shares, usdc)
            making, taking = format_decimal(round(making, 6)), format_decimal(round(taking, 6))
        return {
            "success": True,
            "errorMsg": "",
            "orderID": so.order_id,
            "status": status,
            "makingAmount": making,
            "takingAmount": taking,
            "transactionsHashes": [],
            "tradeIDs": list(trades),
        }

    # ------------------------------------------------------------------ trades
    def collect_trades(self) -> list[_Trade]:
        """Record the venue's fills not seen yet as trades (our orders' side of each)."""
        fills = self.ex.venue.fills(0, deadline_s=3600.0)
        new = []
        for fill in fills[self._seen_fills :]:
            order = self._orders.get(fill.client_order_id)
            if order is None:
                continue
            tid = str(
                uuid.UUID(bytes=hashlib.sha256(fill.trade_id.encode()).digest()[:16], version=4)
            )
            tx = "0x" + hashlib.sha256(b"tx:" + tid.encode()).hexdigest()
            trade = _Trade(fill, order.owner, order.signed.maker, fill.ts_ns, tx)
            self._trades[tid] = trade
            order.trades.append(tid)
            if fill.client_order_id in self._failing_orders:  # a trade_fail hit it
                self._failing.setdefault(tid, False)
            new.append(trade)
        self._seen_fills = len(fills)
        return new

    def _age_s(self, trade: _Trade) -> float:
        """Wall seconds since ``trade`` matched: settlement is the chain's, in real time,
        however fast the recording replays (as the heartbeat's dead-man switch)."""
        return (self.ex.clock.now_ns() - trade.matched_ns) / NS / self.ex.time.speed

    def settle_failures(self) -> None:
        """Reverse, once, each failing trade whose settlement has now FAILED."""
        for tid, reversed_ in self._failing.items():
            t = self._trades.get(tid)
            if reversed_ or t is None or self._age_s(t) < FAIL_AFTER_S:
                continue
            f = t.fill
            self.ex.venue.clob.reverse_fill(f.asset_id, int(f.side), f.price,
                                            f.size_shares, f.fee_usdc, f.fee_shares)  # fmt: skip
            self._failing[tid] = True

    def trade_status(self, trade: _Trade, tid: str = "") -> str:
        age = self._age_s(trade)
        if tid in self._failing:
            if age >= FAIL_AFTER_S:
                return "FAILED"
            return "RETRYING" if age >= RETRY_AFTER_S else "MATCHED"
        if age >= CONFIRM_AFTER_S:
            return "CONFIRMED"
        if age >= MINE_AFTER_S:
            return "MINED"
        return "MATCHED"

    def trade_json(self, tid: str) -> dict:
        t = self._trades[tid]
        f, m = t.fill, self.ex.by_token[t.fill.asset_id]
        status = self.trade_status(t, tid)
        outcome = "Yes" if f.asset_id == m.yes_token_id else "No"
        price, size = format_decimal(f.price), format_decimal(round(f.size_shares, 6))
        fee_bps = str(round(m.fee_rate * 10_000))
        body = {
            "id": tid,
            "market": m.condition_id,
            "asset_id": f.asset_id,
            "side": f.side.name,
            "size": size,
            "fee_rate_bps": fee_bps,
            "price": price,
            "status": status,
            "match_time": str(self._wire_s(t.matched_ns)),
            "last_update": str(self._wire_s(self.ex.clock.now_ns())),
            "outcome": outcome,
            "bucket_index": 0,
            "owner": t.owner,
            "maker_address": t.maker_address,
            "transaction_hash": t.tx_hash if status in ("MINED", "CONFIRMED") else "",
            "trader_side": f.liquidity.name,
        }
        if f.liquidity.name == "TAKER":
            body["taker_order_id"] = f.venue_order_id
            body["maker_orders"] = []
        else:  # our resting order was the maker of someone else's taker order
            body["taker_order_id"] = ""
            body["maker_orders"] = [
                {
                    "order_id": f.venue_order_id,
                    "owner": t.owner,
                    "maker_address": t.maker_address,
                    "matched_amount": size,
                    "price": price,
                    "fee_rate_bps": fee_bps,
                    "asset_id": f.asset_id,
                    "outcome": outcome,
                    "side": f.side.name,
                }
            ]
        return body

    def trades(self, creds: ApiCreds, query: dict[str, str]) -> list[dict]:
        self.ex.step()
        self.collect_trades()
        self.settle_failures()
        out = []
        after = int(query.get("after", 0) or 0)
        before = int(query.get("before", 0) or 0)
        for tid, t in self._trades.items():
            if t.owner != creds.api_key:
                continue
            m = self.ex.by_token[t.fill.asset_id]
            if query.get("id") and query["id"] != tid:
                continue
            if query.get("market") and query["market"] != m.condition_id:
                continue
            if query.get("asset_id") and query["asset_id"] != t.fill.asset_id:
                continue
            if (
                query.get("maker_address")
                and query["maker_address"].lower() != t.maker_address.lower()
            ):
                continue
            ts = self._wire_s(t.matched_ns)
            if (after and ts < after) or (before and ts > before):
                continue
            out.append(self.trade_json(tid))
        return out

    # ------------------------------------------------------------------ orders
    def _state(self, order_id: str) -> OrderState | None:
        return self.ex.venue.get_order(order_id, deadline_s=3600.0)

    def order_json(self, order_id: str) -> dict:
        o = self._orders[order_id]
        st = self._state(order_id)
        so = o.signed
        outcome = "Yes" if so.token_id == o.market.yes_token_id else "No"
        return {
            "id": so.order_id,
            "status": _OPEN_STATUS[st.status] if st else "CANCELED",
            "owner": o.owner,
            "maker_address": so.maker,
            "market": o.market.condition_id,
            "asset_id": so.token_id,
            "side": so.side.name,
            "original_size": f"{so.size_shares:.6f}",
            "size_matched": format_decimal(round(st.filled_shares, 6)) if st else "0",
            "price": format_decimal(so.price),
            "associate_trades": list(o.trades),
            "outcome": outcome,
            "created_at": o.created_s,
            "expiration": str(so.expiration_s),
            "order_type": so.order_type.value,
        }

    def get_order(self, creds: ApiCreds, order_id: str) -> dict:
        self.ex.step()
        self.collect_trades()
        o = self._orders.get(order_id)
        if o is None or o.owner != creds.api_key:
            raise Refused(404, "order not found")  # the venue's answer is unconfirmed (§3)
        return self.order_json(order_id)

    def open_orders(self, creds: ApiCreds, query: dict[str, str]) -> list[dict]:
        self.ex.step()
        self.collect_trades()
        live = {s.client_order_id for s in self.ex.venue.open_orders(deadline_s=3600.0)}
        out = []
        for oid, o in self._orders.items():
            if oid not in live or o.owner != creds.api_key:
                continue
            if query.get("id") and query["id"] != oid:
                continue
            if query.get("market") and query["market"] != o.market.condition_id:
                continue
            if query.get("asset_id") and query["asset_id"] != o.signed.token_id:
                continue
            out.append(self.order_json(oid))
        return out

    # ------------------------------------------------------------------ cancelling
    def cancel(self, creds: ApiCreds, order_ids: list[str]) -> dict:
        self.ex.step()
        mine = [
            i for i in order_ids if i in self._orders and self._orders[i].owner == creds.api_key
        ]
        acks = self.ex.venue.cancel_many(mine, deadline_s=3600.0) if mine else []
        canceled = [a.client_order_id for a in acks if a.canceled]
        not_canceled = {a.client_order_id: a.reason or NOT_FOUND for a in acks if not a.canceled}
        for i in order_ids:
            if i not in mine:
                not_canceled[i] = NOT_FOUND
        return {"canceled": canceled, "not_canceled": not_canceled}

    def cancel_where(self, creds: ApiCreds, market: str = "", asset_id: str = "") -> dict:
        """``/cancel-all`` (no filter) and ``/cancel-market-orders``."""
        self.ex.step()
        live = {s.client_order_id for s in self.ex.venue.open_orders(deadline_s=3600.0)}
        ids = [
            oid
            for oid, o in self._orders.items()
            if oid in live
            and o.owner == creds.api_key
            and (not market or o.market.condition_id == market)
            and (not asset_id or o.signed.token_id == asset_id)
        ]
        return self.cancel(creds, ids)

    # ------------------------------------------------------------------ balances
    def balance_allowance(self, creds: ApiCreds, asset_type: str, token_id: str) -> dict:
        self.ex.step()
        funded = creds.address.lower() == self.account.lower()
        if asset_type.upper() == "CONDITIONAL":
            if not token_id:
                raise Refused(400, "token_id is required for CONDITIONAL")
            self.market_of(token_id)
            held = self.ex.venue.positions().get(token_id, 0.0) if funded else 0.0
            units = round(held * UNITS)
        else:
            bal = self.ex.venue.balance(deadline_s=3600.0) if funded else None
            units = round(bal.total_usdc * UNITS) if bal else 0
        spenders = (EXCHANGE_V2, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER)
        return {
            "balance": str(units),
            "allowances": {s: _UNLIMITED for s in spenders},
            "allowance": _UNLIMITED,
        }

    # ------------------------------------------------------------------ heartbeat
    def heartbeat(self, creds: ApiCreds, beat_id: object) -> dict:
        self.ex.step()
        expected = self._heartbeat.get(creds.api_key)
        if expected is not None and beat_id != expected[0]:
            raise Refused(
                400,
                "Invalid Heartbeat ID",
                heartbeat_id=expected[0],
                error_msg="Invalid Heartbeat ID",
            )
        new = str(uuid.uuid4())
        self._heartbeat[creds.api_key] = (new, self.ex.clock.now_ns())
        return {"heartbeat_id": new, "status": "ok"}

    def check_heartbeats(self, auth) -> list[str]:
        """The dead-man switch: keys whose beats stopped lose all their orders. Returns
        the keys whose orders were cancelled (``auth`` finds each key's credentials)."""
        now = self.ex.clock.now_ns()  # data time: 10 wall seconds are 10 x speed of it
        expired = [
            k
            for k, (_, t) in self._heartbeat.items()
            if now - t > HEARTBEAT_TIMEOUT_S * NS * self.ex.time.speed
        ]
        for key in expired:
            del self._heartbeat[key]
            creds = auth.creds_by_key(key)
            if creds is not None:
                self.cancel_where(creds)
        return expired


def _rejection(so: SignedOrder, market: MarketInfo, reason: str, message: str) -> str:
    """The venue's wording of a matching-engine refusal, with this order's figures."""
    tick = market.tick_size
    if reason == "min_size":
        return (
            f"order {so.order_id} is invalid. Size ({format_decimal(so.size_shares)}) "
            f"lower than the minimum: {format_decimal(market.min_order_size)}"
        )
    if reason == "invalid_price":
        return (
            f"invalid price ({format_decimal(so.price)}), min: {format_decimal(tick)} - "
            f"max: {format_decimal(round(1.0 - tick, 6))}"
        )
    if reason == "min_notional":
        amount = format_decimal(round(so.price * so.size_shares, 6))
        return f"invalid amount for a marketable BUY order (${amount}), min size: $1"
    if reason == "duplicated":
        return f"order {so.order_id} is invalid. Duplicated."
    return message or reason or "order rejected"


def _failed(order_id: str, message: str) -> dict:
    return {
        "success": False,
        "errorMsg": message,
        "orderID": order_id,
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    }
