"""``POST /rpc``: the few Polygon JSON-RPC calls a balance check makes (reference §7).

``web3_clientVersion``, ``eth_chainId`` (137) and ``eth_call`` of the collateral
token (pUSD): ``balanceOf(owner)`` (selector ``0x70a08231``) and ``decimals()``
(``0x313ce567``). The test wallet's balance is the venue's cash, so it agrees
with ``/balance-allowance``; any other owner holds 0. Anything else is a
JSON-RPC error (-32601 method not found, -32602 bad params), never a 500.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from exchange_mock.server.app import SERVER_KEY
from exchange_mock.server.signed_orders import UNITS

if TYPE_CHECKING:
    from exchange_mock.server.mock_server import MockServer

PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
CLIENT_VERSION = "clobsim-mock/1.0"
BALANCE_OF = "0x70a08231"
DECIMALS = "0x313ce567"


def add_rpc_route(app: web.Application) -> None:
    app.router.add_post("/rpc", rpc)


def _word(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def _is_hex(data: str) -> bool:
    digits = data.removeprefix("0x")
    return (
        data.startswith("0x")
        and len(digits) % 2 == 0
        and all(c in "0123456789abcdef" for c in digits)
    )


def _error(req_id, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": req_id, "error": {"code": code, "message": message}}


def answer(srv: MockServer, req: object) -> dict:
    """One JSON-RPC request's answer."""
    if not isinstance(req, dict) or not isinstance(req.get("method"), str):
        return _error(None, -32600, "invalid request")
    rid, method, params = req.get("id"), req["method"], req.get("params") or []
    if method == "web3_clientVersion":
        return {"jsonrpc": "2.0", "id": rid, "result": CLIENT_VERSION}
    if method == "eth_chainId":
        return {"jsonrpc": "2.0", "id": rid, "result": hex(srv.auth.chain_id)}
    if method != "eth_call":
        return _error(rid, -32601, f"the method {method} does not exist/is not available")
    call = params[0] if isinstance(params, list) and params else None
    if not isinstance(call, dict) or not isinstance(call.get("to"), str):
        return _error(rid, -32602, "eth_call: expected [{to, data}, block]")
    data = str(call.get("data") or call.get("input") or "").lower()
    if not _is_hex(data):  # what a node answers an undecodable hex string
        return _error(rid, -32602, "eth_call: data is not a 0x-prefixed hex string")
    if call["to"].lower() != PUSD.lower():
        return {"jsonrpc": "2.0", "id": rid, "result": "0x"}  # no contract there
    if data.startswith(DECIMALS):
        return {"jsonrpc": "2.0", "id": rid, "result": _word(6)}
    if data.startswith(BALANCE_OF) and len(data) >= 10 + 64:
        owner = "0x" + data[10 + 24 : 10 + 64]
        units = 0
        if owner.lower() == srv.account.address.lower():
            srv.exchange.step()
            units = round(srv.exchange.venue.clob.cash_usdc * UNITS)
        return {"jsonrpc": "2.0", "id": rid, "result": _word(max(units, 0))}
    return _error(rid, -32602, "eth_call: only balanceOf and decimals are served")


async def rpc(request: web.Request) -> web.Response:
    srv: MockServer = request.app[SERVER_KEY]  # type: ignore[assignment]
    try:
        body = json.loads((await request.read()).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):  # not UTF-8 JSON: a parse error
        return web.json_response(_error(None, -32700, "parse error"))
    if body == []:  # JSON-RPC 2.0: an empty batch is one invalid request
        return web.json_response(_error(None, -32600, "invalid request: empty batch"))
    if isinstance(body, list):
        return web.json_response([answer(srv, r) for r in body])
    return web.json_response(answer(srv, body))
