"""``POST /rpc``, the loopback Polygon node, with web3 as caller: chain id, client version,
the pUSD balance (the venue's cash, the same as the CLOB's ``/balance-allowance``) and
JSON-RPC errors for anything else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from eth_account import Account
from py_clob_client_v2.clob_types import (
    AssetType,
    BalanceAllowanceParams,
    MarketOrderArgs,
    OrderType,
)
from web3 import Web3
from web3.exceptions import Web3RPCError

from exchange_mock.server.rpc import CLIENT_VERSION, PUSD
from tests.server_helpers import OTHER_KEY, YES, client, running_server, write_dataset

ERC20 = [
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
]  # fmt: skip
OTHER = Account.from_key(OTHER_KEY).address


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("server_rpc") / "ds", minutes=2)


def node(rpc_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 2}))


def rpc_error(exc: pytest.ExceptionInfo[Web3RPCError]) -> dict:
    assert exc.value.rpc_response is not None
    return exc.value.rpc_response["error"]


def test_the_node_names_itself_and_polygon(data: Path) -> None:
    with running_server(data) as run:
        w3 = node(run.urls.rpc)
        assert w3.client_version == CLIENT_VERSION
        assert w3.eth.chain_id == 137


def test_pusd_balance_is_the_clob_balance_before_and_after_a_fill(data: Path) -> None:
    with running_server(data) as run:
        c = client(run.urls)
        pusd = node(run.urls.rpc).eth.contract(address=PUSD, abi=ERC20)
        collateral = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)

        def balances() -> tuple[float, float]:
            on_chain = pusd.functions.balanceOf(c.get_address()).call() / 1e6
            return on_chain, int(c.get_balance_allowance(collateral)["balance"]) / 1e6

        assert pusd.functions.decimals().call() == 6
        assert balances() == (10_000.0, 10_000.0)
        order = c.create_market_order(
            MarketOrderArgs(token_id=YES, amount=10.4, side="BUY", price=0.52)
        )
        resp = c.post_order(order, OrderType.FOK, defer_exec=True)
        assert resp["status"] == "matched"  # 20 shares at 0.52: 10.40 of cash spent
        on_chain, clob = balances()
        assert on_chain == clob == pytest.approx(10_000 - 10.4, abs=1e-6)
        run.advance(5.0)  # the replay moves on; still one balance
        assert balances() == (on_chain, clob)
        assert pusd.functions.balanceOf(OTHER).call() == 0  # an owner the mock never funded
        assert pusd.functions.balanceOf(Web3.to_checksum_address("0x" + "12" * 20)).call() == 0


def test_an_unknown_method_is_a_jsonrpc_error(data: Path) -> None:
    with running_server(data) as run:
        w3 = node(run.urls.rpc)
        with pytest.raises(Web3RPCError) as err:
            w3.eth.block_number  # noqa: B018 (a property that makes the call)
        assert rpc_error(err)["code"] == -32601
        with pytest.raises(Web3RPCError) as err:
            w3.eth.get_balance(OTHER)
        assert rpc_error(err)["code"] == -32601


def test_bad_requests_are_jsonrpc_errors_never_500(data: Path) -> None:
    with running_server(data) as run:

        def post(content: bytes) -> object:
            resp = httpx.post(run.urls.rpc, content=content, timeout=2)
            assert resp.status_code == 200, resp.text
            return resp.json()

        def call(params: object) -> dict:
            body = {"jsonrpc": "2.0", "id": 7, "method": "eth_call", "params": params}
            return post(httpx.Request("POST", "/", json=body).content)  # type: ignore[return-value]

        def code(answer: object) -> int:
            assert isinstance(answer, dict)
            return answer["error"]["code"]

        assert post(b"{not json") == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "parse error"},
        }
        assert code(post(b"\xff\xfe")) == -32700  # not UTF-8
        assert code(post(b"[]")) == -32600  # an empty batch
        assert code(post(b"5")) == -32600
        assert code(post(b'{"id":1}')) == -32600
        batch = post(
            b'[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},'
            b'{"jsonrpc":"2.0","id":2,"method":"web3_clientVersion"}]'
        )
        assert batch == [
            {"jsonrpc": "2.0", "id": 1, "result": "0x89"},
            {"jsonrpc": "2.0", "id": 2, "result": CLIENT_VERSION},
        ]
        assert code(call({"to": PUSD})) == -32602  # params not a list
        assert code(call([])) == -32602
        assert code(call([{"to": PUSD, "data": "0x70a08231" + "zz" * 32}])) == -32602
        assert code(call([{"to": PUSD, "data": "0x12345678"}])) == -32602  # another function
        assert call([{"to": OTHER, "data": "0x313ce567"}, "latest"])["result"] == "0x"
        decimals = call([{"to": PUSD.lower(), "input": "0x313ce567"}, "latest"])
        assert int(decimals["result"], 16) == 6 and decimals["id"] == 7  # type: ignore[index]
