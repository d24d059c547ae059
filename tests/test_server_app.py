"""The server's own routes through aiohttp's test client (in-process: no thread, no pump,
the replay moved by a manual clock): the public answers' shapes, L1/L2 refusals, order
and payload checks. Valid headers and orders come from py-clob-client-v2's own signing
helpers, then are tampered with."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from py_clob_client_v2 import ClobClient, CreateOrderOptions, OrderArgs, OrderArgsV1
from py_clob_client_v2.clob_types import ApiCreds as ClientCreds
from py_clob_client_v2.clob_types import RequestArgs
from py_clob_client_v2.headers.headers import create_level_1_headers, create_level_2_headers
from py_clob_client_v2.order_utils.model.order_data_v1 import order_to_json_v1
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2
from py_clob_client_v2.signer import Signer
from py_clob_client_v2.utilities import generate_orderbook_summary_hash, parse_raw_orderbook_summary

from exchange_mock.server import pages
from exchange_mock.server.auth import INVALID_KEY, INVALID_L1, MAX_SKEW_S
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.mock_server import MockServer
from exchange_mock.server.orders_desk import NOT_FOUND
from exchange_mock.server.replay_time import ManualTime
from sim.marketdata import Dataset
from tests.server_helpers import KEY, NO, OTHER_KEY, YES, M, write_dataset

ME = Signer(KEY, 137)
OTHER = Signer(OTHER_KEY, 137)
#: builds and signs orders locally (no request: tick and neg-risk are given)
BUILDER = ClobClient("http://127.0.0.1:9", 137, key=KEY).builder
TICK_MSG = "order is invalid. Price breaks minimum tick size rules"


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("server_app") / "ds", minutes=2)


def dumps(body: object) -> str:
    """A body as the client serializes it (and signs it)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signed_order(price=0.45, size=10.0, side="BUY", token=YES, tick="0.01", neg_risk=False):
    return BUILDER.build_order(
        OrderArgs(token_id=token, price=price, size=size, side=side),
        CreateOrderOptions(tick_size=tick, neg_risk=neg_risk),
    )


def l2_headers(
    creds: ClientCreds,
    method: str,
    path: str,
    body: str | None = None,
    *,
    signer: Signer = ME,
    ts: int | None = None,
) -> dict[str, str]:
    return create_level_2_headers(signer, creds, RequestArgs(method, path, None, body), ts)


@dataclass
class Harness:
    server: MockServer
    http: TestClient
    clock: ManualTime

    async def get(self, path: str, **kw) -> tuple[int, object]:
        return await answer(await self.http.get(path, **kw))

    async def send(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, object]:
        data = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return await answer(await self.http.request(method, path, data=data, headers=hdrs))

    async def creds(self, signer: Signer = ME, nonce: int = 0) -> ClientCreds:
        status, body = await self.send(
            "POST", "/auth/api-key", None, create_level_1_headers(signer, nonce)
        )
        assert status == 200, body
        return ClientCreds(body["apiKey"], body["secret"], body["passphrase"])

    async def l2(
        self,
        creds: ClientCreds,
        method: str,
        path: str,
        body: object = None,
        signer: Signer = ME,
    ) -> tuple[int, object]:
        """A signed request as the client sends it: ``body`` serialized once, signed and sent."""
        text = None if body is None else dumps(body)
        hdrs = l2_headers(creds, method, path, text, signer=signer)
        return await self.send(method, path, text, hdrs)

    async def raw_l2(
        self, creds: ClientCreds, method: str, path: str, raw: bytes | str
    ) -> tuple[int, object]:
        """``raw`` sent with a valid signature over it (a malformed body reaches the checks)."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return await self.send(method, path, raw, l2_headers(creds, method, path, text))


async def answer(resp: ClientResponse) -> tuple[int, object]:
    text = await resp.text()
    try:
        return resp.status, json.loads(text)
    except json.JSONDecodeError:
        return resp.status, text


def serve(data: Path, body: Callable[[Harness], Awaitable[None]]) -> None:
    """Run ``body`` against a fresh server over ``data`` (opening book in, wall-clock auth)."""

    async def run() -> None:
        mono = ManualTime(0)
        exchange = MockExchange(Dataset.open(data), time_source=(time.time_ns, mono))
        server = MockServer(exchange, account_key=KEY, server_secret=b"s" * 32)
        mono.advance(0.5)
        server.tick()
        async with TestClient(TestServer(server.app)) as http:
            await body(Harness(server, http, mono))

    asyncio.run(run())


# ---------------------------------------------------------------------- public routes
def test_public_routes_answer_what_the_client_reads(data: Path) -> None:
    async def check(h: Harness) -> None:
        resp = await h.http.get("/ok")
        assert resp.status == 200 and await resp.text() == '"OK"'
        status, now = await h.get("/time")
        assert status == 200 and type(now) is int  # unix seconds of the replay's wire clock
        assert now == h.server.exchange.time.wire_now_ns() // 1_000_000_000
        assert abs(now - time.time()) < 600  # the manual replay clock lags the wall a little
        assert await h.get("/version") == (200, {"version": 2})
        status, tick = await h.get(f"/tick-size?token_id={YES}")
        assert status == 200 and str(tick["minimum_tick_size"]) == "0.01"
        assert await h.get(f"/neg-risk?token_id={NO}") == (200, {"neg_risk": False})
        status, fee = await h.get(f"/fee-rate?token_id={YES}")
        assert status == 200 and type(fee["base_fee"]) is int
        status, info = await h.get(f"/clob-markets/{M.condition_id}")
        assert status == 200 and [t["t"] for t in info["t"]] == [YES, NO]
        assert str(info["mts"]) == "0.01" and info["nr"] is False and {"r", "e"} <= set(info["fd"])
        for token in (YES, NO):
            assert await h.get(f"/markets-by-token/{token}") == (
                200,
                {"condition_id": M.condition_id},
            )
        status, one = await h.get(f"/markets/{M.condition_id}")
        assert status == 200 and one["condition_id"] == M.condition_id

    serve(data, check)


def test_markets_page_ends_with_the_end_cursor(data: Path) -> None:
    async def check(h: Harness) -> None:
        for query in ("", "?next_cursor=MA=="):
            status, body = await h.get("/markets" + query)
            assert status == 200 and body["next_cursor"] == "LTE="
            assert [m["condition_id"] for m in body["data"]] == [M.condition_id]
            assert body["count"] == 1 and body["data"][0]["tokens"][0]["token_id"] == YES
        status, body = await h.get("/markets", params={"next_cursor": pages.cursor(7)})
        assert (status, body["data"], body["next_cursor"]) == (200, [], "LTE=")  # past the end
        for bad in ("abc", "LTE=", "!!!!", base64.b64encode(b"x").decode()):
            status, body = await h.get("/markets", params={"next_cursor": bad})
            assert status == 400 and body["error"].startswith("invalid next_cursor"), bad

    serve(data, check)


def test_page_follows_its_cursor_to_the_end() -> None:
    rows = list(range(5))
    first = pages.page(rows, "", size=2)
    assert (first["data"], first["next_cursor"]) == ([0, 1], pages.cursor(2))
    second = pages.page(rows, first["next_cursor"], size=2)
    last = pages.page(rows, second["next_cursor"], size=2)
    assert (second["data"], last["data"], last["next_cursor"]) == ([2, 3], [4], "LTE=")
    assert pages.page([], "MA==") == {"data": [], "next_cursor": "LTE=", "limit": 500, "count": 0}


def test_page_size_is_read_when_a_page_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)  # what the paging tests rely on
    assert pages.page([1, 2, 3], "")["data"] == [1, 2]


def test_book_has_its_best_level_last_and_the_venues_hash(data: Path) -> None:
    async def check(h: Harness) -> None:
        status, book = await h.get(f"/book?token_id={YES}")
        assert status == 200
        assert [lv["price"] for lv in book["bids"]] == ["0.47", "0.48"]
        assert [lv["price"] for lv in book["asks"]] == ["0.53", "0.52"]
        assert all(isinstance(lv["size"], str) for lv in book["bids"] + book["asks"])
        assert (book["market"], book["asset_id"], book["tick_size"]) == (
            M.condition_id,
            YES,
            "0.01",
        )
        assert book["hash"] == generate_orderbook_summary_hash(parse_raw_orderbook_summary(book))
        assert await h.get(f"/midpoint?token_id={YES}") == (200, {"mid": "0.5"})
        body = dumps([{"token_id": YES}, {"token_id": NO}])
        status, books = await h.send("POST", "/books", body)
        assert status == 200 and [b["asset_id"] for b in books] == [YES, NO]
        assert books[0]["bids"] == book["bids"] and books[1]["bids"][-1]["price"] == "0.48"

    serve(data, check)


def test_unknown_tokens_are_400_and_unknown_markets_404(data: Path) -> None:
    async def check(h: Harness) -> None:
        bad_token = (400, {"error": "Invalid token id"})
        for route in ("/book", "/tick-size", "/neg-risk", "/fee-rate", "/midpoint"):
            assert await h.get(f"{route}?token_id=123") == bad_token, route
            assert await h.get(route) == bad_token, route  # no token_id at all
        assert await h.get("/markets-by-token/123") == bad_token
        assert await h.send("POST", "/books", dumps([{"token_id": "123"}])) == bad_token
        for route in ("/clob-markets/0xdead", "/markets/0xdead"):
            status, body = await h.get(route)
            assert status == 404 and body["error"], route

    serve(data, check)


# ---------------------------------------------------------------------- L1
def test_l1_create_and_derive_give_the_same_credentials(data: Path) -> None:
    async def check(h: Harness) -> None:
        created = await h.creds()
        status, derived = await h.send(
            "GET", "/auth/derive-api-key", None, create_level_1_headers(ME, 0)
        )
        assert status == 200
        assert (derived["apiKey"], derived["secret"], derived["passphrase"]) == (
            created.api_key,
            created.api_secret,
            created.api_passphrase,
        )
        assert base64.urlsafe_b64decode(created.api_secret)  # the client decodes it so
        again = create_level_1_headers(ME, 0)  # byte-identical signatures are not replays
        assert (await h.send("POST", "/auth/api-key", None, again))[0] == 200
        assert (await h.send("POST", "/auth/api-key", None, again))[0] == 200
        assert (await h.creds(ME, nonce=1)).api_key != created.api_key
        assert (await h.creds(OTHER)).api_key != created.api_key
        assert (await h.l2(created, "GET", "/data/orders"))[0] == 200

    serve(data, check)


def test_l1_refusals(data: Path) -> None:
    async def check(h: Harness) -> None:
        refused = (401, {"error": INVALID_L1})
        forged = create_level_1_headers(OTHER, 0)
        forged["POLY_ADDRESS"] = ME.address()  # signed by another wallet
        stale = create_level_1_headers(ME, 0, int(time.time()) - MAX_SKEW_S - 30)
        future = create_level_1_headers(ME, 0, int(time.time()) + MAX_SKEW_S + 30)
        tampered_ts = create_level_1_headers(ME, 0)
        tampered_ts["POLY_TIMESTAMP"] = str(int(tampered_ts["POLY_TIMESTAMP"]) - 1)
        other_nonce = create_level_1_headers(ME, 0)
        other_nonce["POLY_NONCE"] = "1"
        cases = [forged, stale, future, tampered_ts, other_nonce, {}]
        for name in ("POLY_ADDRESS", "POLY_SIGNATURE", "POLY_TIMESTAMP"):
            cases.append({k: v for k, v in create_level_1_headers(ME, 0).items() if k != name})
        for name, value in (
            ("POLY_SIGNATURE", "0x1234"),
            ("POLY_NONCE", "abc"),
            ("POLY_ADDRESS", "0xnot-an-address"),
            ("POLY_TIMESTAMP", "soon"),
        ):
            cases.append({**create_level_1_headers(ME, 0), name: value})
        for i, headers in enumerate(cases):
            assert await h.send("POST", "/auth/api-key", None, headers) == refused, i
            assert await h.send("GET", "/auth/derive-api-key", None, headers) == refused, i

    serve(data, check)


# ---------------------------------------------------------------------- L2
def test_l2_refusals_are_401_invalid_api_key(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        other = await h.creds(OTHER)
        refused = (401, {"error": INVALID_KEY})
        now = int(time.time())
        good = l2_headers(creds, "GET", "/data/orders")
        cases: dict[str, dict[str, str]] = {"no headers": {}}
        for name in good:
            cases[f"no {name}"] = {k: v for k, v in good.items() if k != name}
        cases |= {
            "wrong passphrase": {**good, "POLY_PASSPHRASE": other.api_passphrase},
            "non-ASCII passphrase": {**good, "POLY_PASSPHRASE": "pässphrase"},
            "non-ASCII signature": {**good, "POLY_SIGNATURE": "sïg"},
            "unknown key": {**good, "POLY_API_KEY": "00000000-0000-4000-8000-000000000000"},
            "another wallet's address": {**good, "POLY_ADDRESS": OTHER.address()},
            "stale": l2_headers(creds, "GET", "/data/orders", ts=now - MAX_SKEW_S - 30),
            "future": l2_headers(creds, "GET", "/data/orders", ts=now + MAX_SKEW_S + 30),
            "timestamp not a number": {**good, "POLY_TIMESTAMP": "now"},
            "timestamp not the signed one": {**good, "POLY_TIMESTAMP": str(now - 1)},
            "wrong HMAC key": l2_headers(
                ClientCreds(
                    creds.api_key,
                    base64.urlsafe_b64encode(b"x" * 32).decode(),
                    creds.api_passphrase,
                ),
                "GET",
                "/data/orders",
            ),
            "another key's secret": l2_headers(
                ClientCreds(creds.api_key, other.api_secret, creds.api_passphrase),
                "GET",
                "/data/orders",
            ),
            "signed for another path": l2_headers(creds, "GET", "/data/trades"),
            "signed for another method": l2_headers(creds, "DELETE", "/data/orders"),
            "L1 headers": create_level_1_headers(ME, 0),
        }
        for name, headers in cases.items():
            assert await h.send("GET", "/data/orders", None, headers) == refused, name
        # within the allowed skew, and the exact headers: accepted
        near = l2_headers(creds, "GET", "/data/orders", ts=now - MAX_SKEW_S + 30)
        assert (await h.send("GET", "/data/orders", None, near))[0] == 200
        assert (await h.send("GET", "/data/orders", None, good))[0] == 200

    serve(data, check)


def test_l2_signs_the_exact_body_bytes(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        refused = (401, {"error": INVALID_KEY})
        order = dumps(order_to_json_v2(signed_order(), creds.api_key, "GTC"))
        other = dumps(order_to_json_v2(signed_order(0.44), creds.api_key, "GTC"))
        headers = l2_headers(creds, "POST", "/order", order)
        assert await h.send("POST", "/order", other, headers) == refused  # another body
        assert await h.send("POST", "/order", order + " ", headers) == refused  # one byte more
        assert await h.send("POST", "/order", None, headers) == refused  # none
        assert await h.send("POST", "/order", None, l2_headers(creds, "POST", "/order")) == (
            400,
            {"error": "invalid order: missing field 'tokenId'"},
        )
        status, placed = await h.send("POST", "/order", order, headers)
        assert status == 200 and placed["status"] == "live"
        cancel = dumps({"orderID": placed["orderID"]})
        signed_cancel = l2_headers(creds, "DELETE", "/order", cancel)
        assert await h.send("DELETE", "/order", cancel.replace(":", ": "), signed_cancel) == refused
        # the client signs with every ' turned into " (its body string is sent unchanged)
        beat = '{"heartbeat_id":"it\'s"}'
        assert (
            await h.send(
                "POST", "/v1/heartbeats", beat, l2_headers(creds, "POST", "/v1/heartbeats", beat)
            )
        )[0] == 200

    serve(data, check)


def test_a_repeated_signature_on_paged_gets_is_accepted(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)

    async def check(h: Harness) -> None:
        creds = await h.creds()
        ids = []
        for price in (0.40, 0.41, 0.42):
            status, placed = await h.l2(
                creds, "POST", "/order", order_to_json_v2(signed_order(price), creds.api_key, "GTC")
            )
            assert status == 200, placed
            ids.append(placed["orderID"])
        headers = l2_headers(creds, "GET", "/data/orders")  # once, as the client's loop does
        seen, cursor = [], "MA=="
        while cursor != "LTE=":
            status, body = await h.get(
                "/data/orders", params={"next_cursor": cursor}, headers=headers
            )
            assert status == 200, body
            assert body["count"] == len(body["data"]) <= 2
            seen += [o["id"] for o in body["data"]]
            cursor = body["next_cursor"]
        assert sorted(seen) == sorted(ids)
        status, body = await h.get("/data/orders", params={"next_cursor": "%%%"}, headers=headers)
        assert status == 400 and body["error"].startswith("invalid next_cursor")
        status, body = await h.get(
            "/data/trades",
            params={"next_cursor": "LTE="},
            headers=l2_headers(creds, "GET", "/data/trades"),
        )
        assert status == 400 and body["error"].startswith("invalid next_cursor")

    serve(data, check)


# ---------------------------------------------------------------------- payloads
def test_malformed_bodies_are_400_never_500(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        cases = [
            ("POST", "/order", "{bad"),
            ("POST", "/order", b"\xff\xfe{}"),
            ("POST", "/order", "5"),
            ("POST", "/order", "[]"),
            ("POST", "/order", "null"),
            ("POST", "/order", '{"order":{"side":"BUY"}}'),
            ("POST", "/orders", "["),
            ("POST", "/orders", "{}"),
            ("POST", "/orders", "[]"),
            ("DELETE", "/order", "{bad"),
            ("DELETE", "/order", "{}"),
            ("DELETE", "/order", '{"orderID":5}'),
            ("DELETE", "/order", '["0x1"]'),
            ("DELETE", "/orders", '{"a":1}'),
            ("DELETE", "/orders", "[1,2]"),
            ("DELETE", "/orders", "{bad"),
            ("DELETE", "/cancel-market-orders", "[]"),
            ("DELETE", "/cancel-market-orders", "0"),
            ("DELETE", "/cancel-market-orders", "null"),
            ("DELETE", "/cancel-market-orders", "{"),
            ("POST", "/v1/heartbeats", "{bad"),
            ("POST", "/v1/heartbeats", b"\xff"),
        ]
        for method, path, raw in cases:
            status, body = await h.raw_l2(creds, method, path, raw)
            assert status == 400 and isinstance(body, dict), (method, path, raw, status, body)
            assert isinstance(body["error"], str) and body["error"], (method, path, raw)
        assert (await h.raw_l2(creds, "POST", "/order", "{bad"))[1] == {
            "error": "invalid json body"
        }
        for raw in ("{bad", b"\xff", '{"token_id":"1"}', "[5]", '[{"token_id":5}]'):
            status, body = await h.send("POST", "/books", raw)
            assert status == 400 and body["error"], raw
        # an empty cancel-market-orders body or {} is "no filter"; [] above was not
        assert await h.l2(creds, "DELETE", "/cancel-market-orders", {}) == (
            200,
            {"canceled": [], "not_canceled": {}},
        )

    serve(data, check)


def test_an_order_field_that_is_not_an_object_is_400(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        for raw in ('{"order":5}', '{"order":null}', '{"order":[1]}'):
            status, body = await h.raw_l2(creds, "POST", "/order", raw)
            assert status == 400, (raw, body)

    serve(data, check)


def test_orders_the_venue_refuses_before_matching(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()

        async def post(body: object) -> tuple[int, object]:
            return await h.l2(creds, "POST", "/order", body)

        v1 = BUILDER.build_order(
            OrderArgsV1(token_id=YES, price=0.45, size=10, side="BUY"),
            CreateOrderOptions("0.01", False),
            version=1,
        )
        assert await post(order_to_json_v1(v1, creds.api_key, "GTC")) == (
            400,
            {"error": "order_version_mismatch"},
        )
        neg_risk_domain = signed_order(neg_risk=True)  # this market is not neg-risk
        assert await post(order_to_json_v2(neg_risk_domain, creds.api_key, "GTC")) == (
            400,
            {"error": "invalid signature"},
        )
        off_tick = signed_order(0.455, tick="0.001")
        assert await post(order_to_json_v2(off_tick, creds.api_key, "GTC")) == (
            400,
            {"error": TICK_MSG},
        )
        good = order_to_json_v2(signed_order(), creds.api_key, "GTC")
        drop = object()  # the field left out
        tampered = [
            ("makerAmount", str(int(good["order"]["makerAmount"]) + 1), "invalid signature"),
            ("signatureType", 3, "invalid signature"),  # ERC-1271: no contract wallet to ask
            ("signature", "0x" + "11" * 65, "invalid signature"),
            ("metadata", "0x" + "00" * 40, "invalid order: field 'metadata' is not 32 bytes"),
            ("builder", 7, "invalid order: field 'builder' is not a hex string"),
            ("maker", "0x1234", "invalid order: field 'maker' is not an address"),
            ("signer", 5, "invalid order: field 'signer' is not an address"),
            ("salt", -1, "invalid order: field 'salt' is out of range for uint256"),
            (
                "takerAmount",
                str(2**256),
                "invalid order: field 'takerAmount' is out of range for uint256",
            ),
            (
                "signatureType",
                256,
                "invalid order: field 'signatureType' is out of range for uint8",
            ),
            ("signatureType", drop, "invalid order: missing field 'signatureType'"),
            ("timestamp", "soon", "invalid order: invalid literal for int() with base 10: 'soon'"),
        ]
        for field, value, message in tampered:
            body = json.loads(dumps(good))
            if value is drop:
                del body["order"][field]
            else:
                body["order"][field] = value
            assert await post(body) == (400, {"error": message}), (field, value)
        assert await post({**good, "orderType": "GTX"}) == (
            400,
            {"error": "invalid order type 'GTX'"},
        )
        status, placed = await post(good)  # the untouched order: placed
        assert status == 200 and placed["success"] and placed["status"] == "live"
        status, again = await post(good)
        assert status == 400 and again["error"].endswith("Duplicated.")

    serve(data, check)


def test_batch_limits(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        orders = [
            order_to_json_v2(signed_order(0.30 + i / 100), creds.api_key, "GTC") for i in range(16)
        ]
        assert await h.l2(creds, "POST", "/orders", orders) == (
            400,
            {"error": "too many orders in payload: max 15"},
        )
        status, body = await h.l2(creds, "GET", "/data/orders")
        assert status == 200 and body["data"] == []  # nothing of the refused batch placed
        ids = [f"0x{i:064x}" for i in range(1001)]
        assert await h.l2(creds, "DELETE", "/orders", ids) == (
            400,
            {"error": "too many orders in payload: max 1000"},
        )
        status, body = await h.l2(creds, "DELETE", "/orders", ids[:1000])
        assert status == 200 and body["canceled"] == [] and len(body["not_canceled"]) == 1000

    serve(data, check)


def test_cancelling_an_unknown_or_foreign_order_is_not_canceled(data: Path) -> None:
    async def check(h: Harness) -> None:
        creds = await h.creds()
        other = await h.creds(OTHER)
        assert await h.l2(creds, "DELETE", "/order", {"orderID": "0xdead"}) == (
            200,
            {"canceled": [], "not_canceled": {"0xdead": NOT_FOUND}},
        )
        status, placed = await h.l2(
            creds, "POST", "/order", order_to_json_v2(signed_order(), creds.api_key, "GTC")
        )
        assert status == 200
        oid = placed["orderID"]
        foreign = await h.l2(other, "DELETE", "/order", {"orderID": oid}, signer=OTHER)
        assert foreign == (200, {"canceled": [], "not_canceled": {oid: NOT_FOUND}})
        assert await h.l2(creds, "DELETE", "/orders", [oid, "0xbeef"]) == (
            200,
            {"canceled": [oid], "not_canceled": {"0xbeef": NOT_FOUND}},
        )
        assert await h.l2(creds, "DELETE", "/order", {"orderID": oid}) == (
            200,
            {"canceled": [], "not_canceled": {oid: NOT_FOUND}},
        )

    serve(data, check)
