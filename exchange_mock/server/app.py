"""The aiohttp application: every route py-clob-client-v2 1.2.1 calls, both WebSocket
channels and the JSON-RPC endpoint, over one ``MockServer`` (reference §3, §6, §7).

Only 200 is success to the client; refusals are ``{"error": message}`` with the
venue's status. Trading routes check L2 (``auth.py``) over the exact body bytes.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from exchange_mock.server.auth import AuthError
from exchange_mock.server.market_encoder import format_decimal
from exchange_mock.server.orders_desk import MAX_CANCEL_BATCH, Refused
from exchange_mock.server.pages import page

if TYPE_CHECKING:
    from exchange_mock.server.mock_server import MockServer

SERVER_KEY = web.AppKey("server", object)
log = logging.getLogger(__name__)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def ok(value: object) -> web.Response:
    return web.json_response(value, dumps=_dumps)


def refused(status: int, body: dict) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


def server_of(request: web.Request) -> MockServer:
    return request.app[SERVER_KEY]  # type: ignore[return-value]


async def _text(request: web.Request) -> str:
    """The body as text. A body that is not UTF-8 is the client's 400, not a 500
    (``request.text()`` would raise ``UnicodeDecodeError``)."""
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "invalid body: not UTF-8 text") from None


async def _json_body(text: str) -> object:
    try:
        return json.loads(text) if text else None
    except json.JSONDecodeError:
        raise Refused(400, "invalid json body") from None


@web.middleware
async def errors(request: web.Request, handler):
    """Refusals and auth failures as the venue answers them; faults before anything."""
    srv = server_of(request)
    try:
        return await srv.faults.around(request, handler)
    except AuthError as exc:
        return refused(exc.status, {"error": exc.message})
    except Refused as exc:
        return refused(exc.status, exc.body())
    except (web.HTTPException, ConnectionResetError):
        raise  # aiohttp's own answers; a fault that dropped the connection
    except Exception as exc:  # a bug in the mock: loud in the log, JSON to the client
        log.exception("mock server error on %s %s", request.method, request.path)
        return refused(500, {"error": f"mock server error: {type(exc).__name__}: {exc}"})


async def _l2(request: web.Request):
    srv = server_of(request)
    body = await _text(request)
    creds = srv.auth.verify_l2(
        request.headers, request.method, request.path, body, srv.exchange.time.wall_now_ns() / 1e9
    )
    return creds, body


# ---------------------------------------------------------------------- public
async def get_ok(request: web.Request) -> web.Response:
    return web.Response(text='"OK"', content_type="application/json")


async def get_time(request: web.Request) -> web.Response:
    return ok(server_of(request).exchange.time.wire_now_ns() // 1_000_000_000)


async def get_version(request: web.Request) -> web.Response:
    return ok({"version": 2})


def _token(request: web.Request) -> str:
    token = request.query.get("token_id", "")
    if not token:
        raise Refused(400, "Invalid token id")
    return token


async def get_tick_size(request: web.Request) -> web.Response:
    srv = server_of(request)
    token = _token(request)
    srv.desk.market_of(token)  # unknown: 400
    return ok({"minimum_tick_size": srv.market_hub.tick_of(token)})


async def get_neg_risk(request: web.Request) -> web.Response:
    m = server_of(request).desk.market_of(_token(request))
    return ok({"neg_risk": m.neg_risk})


async def get_fee_rate(request: web.Request) -> web.Response:
    m = server_of(request).desk.market_of(_token(request))
    return ok({"base_fee": round(m.fee_rate * 10_000)})


def _condition(request: web.Request):
    """The market the path's ``condition_id`` names (404 when the mock has none)."""
    m = server_of(request).exchange.by_condition.get(request.match_info["condition_id"])
    if m is None:
        raise Refused(404, "market not found")
    return m


async def get_clob_market(request: web.Request) -> web.Response:
    return ok(server_of(request).market_info(_condition(request)))


async def get_market_by_token(request: web.Request) -> web.Response:
    m = server_of(request).desk.market_of(request.match_info["token_id"])
    return ok({"condition_id": m.condition_id})


async def get_markets(request: web.Request) -> web.Response:
    srv = server_of(request)
    rows = [srv.market_summary(m) for m in srv.exchange.markets]
    return ok(page(rows, request.query.get("next_cursor", "")))


async def get_market(request: web.Request) -> web.Response:
    return ok(server_of(request).market_summary(_condition(request)))


async def get_book(request: web.Request) -> web.Response:
    srv = server_of(request)
    return ok(srv.book(_token(request)))


async def post_books(request: web.Request) -> web.Response:
    srv = server_of(request)
    body = await _json_body(await _text(request))
    if not isinstance(body, list):
        raise Refused(400, "invalid payload: expected an array of {token_id}")
    books = []
    for item in body:
        token = item.get("token_id") if isinstance(item, dict) else None
        if not isinstance(token, str):
            raise Refused(400, "Invalid token id")
        books.append(srv.book(token))
    return ok(books)


async def get_midpoint(request: web.Request) -> web.Response:
    book = server_of(request).book(_token(request))
    bid = float(book["bids"][-1]["price"]) if book["bids"] else None
    ask = float(book["asks"][-1]["price"]) if book["asks"] else None
    if bid is None or ask is None:
        raise Refused(404, "No orderbook exists for the requested token id")
    return ok({"mid": format_decimal(round((bid + ask) / 2, 6))})


# ---------------------------------------------------------------------- L1
async def create_api_key(request: web.Request) -> web.Response:
    srv = server_of(request)
    address, nonce = srv.auth.verify_l1(request.headers, srv.exchange.time.wall_now_ns() / 1e9)
    return ok(srv.auth.creds_for(address, nonce).as_json())


# ---------------------------------------------------------------------- L2: trading
async def post_order(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    return ok(server_of(request).desk.post_order(creds, await _json_body(body)))


async def post_orders(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    return ok(server_of(request).desk.post_orders(creds, await _json_body(body)))


async def delete_order(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    payload = await _json_body(body)
    oid = payload.get("orderID") if isinstance(payload, dict) else None
    if not isinstance(oid, str) or not oid:
        raise Refused(400, 'invalid payload: expected {"orderID": ...}')
    return ok(server_of(request).desk.cancel(creds, [oid]))


async def delete_orders(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    ids = await _json_body(body)
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise Refused(400, "invalid payload: expected an array of order ids")
    if len(ids) > MAX_CANCEL_BATCH:
        raise Refused(400, f"too many orders in payload: max {MAX_CANCEL_BATCH}")
    return ok(server_of(request).desk.cancel(creds, ids))


async def cancel_all(request: web.Request) -> web.Response:
    creds, _ = await _l2(request)
    return ok(server_of(request).desk.cancel_where(creds))


async def cancel_market_orders(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    # no body: every order of the key; a body must be an object ([], 0 or null are not
    # "no filter", which would cancel everything)
    payload = await _json_body(body) if body else {}
    if not isinstance(payload, dict):
        raise Refused(400, 'invalid payload: expected {"market", "asset_id"}')
    market, asset = str(payload.get("market") or ""), str(payload.get("asset_id") or "")
    return ok(server_of(request).desk.cancel_where(creds, market, asset))


async def get_order(request: web.Request) -> web.Response:
    creds, _ = await _l2(request)
    return ok(server_of(request).desk.get_order(creds, request.match_info["order_id"]))


async def get_orders(request: web.Request) -> web.Response:
    creds, _ = await _l2(request)
    rows = server_of(request).desk.open_orders(creds, dict(request.query))
    return ok(page(rows, request.query.get("next_cursor", "")))


async def get_trades(request: web.Request) -> web.Response:
    creds, _ = await _l2(request)
    rows = server_of(request).desk.trades(creds, dict(request.query))
    return ok(page(rows, request.query.get("next_cursor", "")))


async def get_balance_allowance(request: web.Request) -> web.Response:
    creds, _ = await _l2(request)
    q = request.query
    return ok(
        server_of(request).desk.balance_allowance(
            creds, q.get("asset_type", "COLLATERAL"), q.get("token_id", "")
        )
    )


async def post_heartbeat(request: web.Request) -> web.Response:
    creds, body = await _l2(request)
    payload = await _json_body(body)
    beat = payload.get("heartbeat_id") if isinstance(payload, dict) else None
    return ok(server_of(request).desk.heartbeat(creds, beat or ""))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/ok", get_ok)
    r.add_get("/", get_ok)
    r.add_get("/time", get_time)
    r.add_get("/version", get_version)
    r.add_get("/tick-size", get_tick_size)
    r.add_get("/neg-risk", get_neg_risk)
    r.add_get("/fee-rate", get_fee_rate)
    r.add_get("/clob-markets/{condition_id}", get_clob_market)
    r.add_get("/markets-by-token/{token_id}", get_market_by_token)
    r.add_get("/markets", get_markets)
    r.add_get("/markets/{condition_id}", get_market)
    r.add_get("/book", get_book)
    r.add_post("/books", post_books)
    r.add_get("/midpoint", get_midpoint)
    r.add_post("/auth/api-key", create_api_key)
    r.add_get("/auth/derive-api-key", create_api_key)
    r.add_post("/order", post_order)
    r.add_post("/orders", post_orders)
    r.add_delete("/order", delete_order)
    r.add_delete("/orders", delete_orders)
    r.add_delete("/cancel-all", cancel_all)
    r.add_delete("/cancel-market-orders", cancel_market_orders)
    r.add_get("/data/order/{order_id}", get_order)
    r.add_get("/data/orders", get_orders)
    r.add_get("/data/trades", get_trades)
    r.add_get("/balance-allowance", get_balance_allowance)
    r.add_get("/balance-allowance/update", get_balance_allowance)
    r.add_post("/v1/heartbeats", post_heartbeat)
    r.add_post("/heartbeats", post_heartbeat)
