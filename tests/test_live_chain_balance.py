"""``ChainBalance`` and ``CrossCheckedBalance`` against the loopback node (``/rpc`` of the
mock) and against tiny local servers that stall, refuse or answer JSON-RPC errors: one
HTTP request per read (web3's 5 retries are off), ``sim.venue`` errors with no secret of
the RPC URL in them, the API's balance served only while the chain agrees, and the
wrong-wallet zero refused with a pointer at signature_type and funder."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from eth_account import Account
from py_clob_client_v2.config import get_contract_config

from exchange_mock.faults import FaultSpec
from exchange_mock.server import rpc as mock_rpc
from live.chain_balance import (
    PUSD,
    BalanceMismatch,
    ChainBalance,
    CrossCheckedBalance,
)
from live.clob_api import ClobApi
from live.live_venue import LiveVenue
from sim.clock import SimClock, WallClock
from sim.errors import ConfigError
from sim.types import Balance, OrderRequest, OrderType, Side
from sim.venue import (
    VenueError,
    VenueRateLimited,
    VenueRejected,
    VenueTimeout,
    VenueUnavailable,
)
from tests.server_helpers import KEY, OTHER_KEY, T0, YES, M, plan, running_server, write_dataset

OWNER = Account.from_key(KEY).address  # the mock's funded wallet (signature type 0: the EOA)
OTHER = Account.from_key(OTHER_KEY).address  # a wallet the mock never funded
SECRET = "v2/not-a-real-api-key-4f1c"  # where RPC providers put their keys: the URL's path
LOGGERS = ("live.chain_balance", "web3")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("chain_balance") / "ds", minutes=2)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def live_venue(run) -> LiveVenue:
    return LiveVenue(ClobApi(run.urls.rest, 137, KEY, http_timeout_s=2.0), [M], WallClock())


class CountingVenue:
    """A venue's ``balance``, counted; ``answer`` replaces the venue's figure when set,
    ``fail`` is raised instead when set."""

    def __init__(
        self,
        venue: LiveVenue | None = None,
        answer: float | None = None,
        fail: VenueError | None = None,
    ) -> None:
        self.venue = venue
        self.answer = answer
        self.fail = fail
        self.calls = 0

    def balance(self, *, deadline_s: float) -> Balance:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if self.answer is not None or self.venue is None:
            usdc = self.answer or 0.0
            return Balance(usdc, usdc, 0)
        return self.venue.balance(deadline_s=deadline_s)


# ---------------------------------------------------------------------- local servers
def closed_port_url(path: str = SECRET) -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def read_request(conn: socket.socket) -> bytes:
    """One HTTP request's bytes, as far as the sender sent them."""
    conn.settimeout(5)
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
            if len(body) >= length:
                return data
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            return data
        if not chunk:
            return data
        data += chunk


@dataclass
class Stall:
    url: str
    listener: socket.socket

    def connections(self) -> list[bytes]:
        """Every connection made so far (the kernel completed them; nobody accepted them),
        with the first bytes each one sent."""
        self.listener.setblocking(False)
        got: list[bytes] = []
        with contextlib.suppress(BlockingIOError):
            while True:
                conn, _ = self.listener.accept()
                with conn:
                    got.append(read_request(conn))
        return got

    def close(self) -> None:
        """Closing a listener resets the connections it never accepted."""
        self.listener.close()


@contextlib.contextmanager
def stalled_node() -> Iterator[Stall]:
    """A listener that never accepts: requests connect, are sent, and are never answered."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=16)
    stall = Stall(f"http://127.0.0.1:{listener.getsockname()[1]}/{SECRET}", listener)
    try:
        yield stall
    finally:
        listener.close()


@dataclass
class Node:
    url: str
    requests: list[dict]
    answer: Callable[[dict], tuple[int, dict[str, str], bytes]]


def rpc_result(req: dict, result: object) -> tuple[int, dict[str, str], bytes]:
    return 200, {}, json.dumps({"jsonrpc": "2.0", "id": req.get("id"), "result": result}).encode()


def pusd(req: dict, *, decimals: int, units: int) -> tuple[int, dict[str, str], bytes]:
    """Polygon's chain id, and a token with these ``decimals`` and this balance."""
    if req.get("method") == "eth_chainId":
        return rpc_result(req, "0x89")
    data = req["params"][0].get("data") or req["params"][0].get("input")
    value = decimals if data.startswith(mock_rpc.DECIMALS) else units
    return rpc_result(req, "0x" + value.to_bytes(32, "big").hex())


@contextlib.contextmanager
def scripted_node() -> Iterator[Node]:
    """A JSON-RPC server on 127.0.0.1 answering with ``node.answer(request)``; it keeps
    every request it got. By default a healthy Polygon pUSD holding 1234.56."""

    def healthy(req: dict) -> tuple[int, dict[str, str], bytes]:
        return pusd(req, decimals=6, units=1_234_560_000)

    node = Node("", [], healthy)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            node.requests.append(req)
            status, headers, body = node.answer(req)
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    node.url = f"http://127.0.0.1:{server.server_address[1]}/{SECRET}"
    try:
        yield node
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def assert_no_secret(exc: BaseException, logs: pytest.LogCaptureFixture) -> None:
    assert SECRET not in str(exc) and "not-a-real" not in str(exc)
    # the transport error (its text may hold the URL) is not chained to what we raise
    assert exc.__cause__ is None and exc.__context__ is None
    assert SECRET not in logs.text


# ---------------------------------------------------------------------- agreement
def test_agreeing_sources_are_served_from_cache_until_the_ttl(data: Path, logs) -> None:
    assert PUSD == mock_rpc.PUSD == get_contract_config(137).collateral
    with running_server(data) as run:
        venue = live_venue(run)
        api = CountingVenue(venue)
        chain = ChainBalance(run.urls.rpc, venue.api.address)
        clock = SimClock(T0)
        checked = CrossCheckedBalance(api, chain, clock, ttl_s=10.0, signature_type=0)
        try:
            first = checked.balance(deadline_s=2.0)
            assert first.total_usdc == 10_000.0
            assert chain.requests_sent == 3  # eth_chainId and decimals once, then balanceOf
            assert api.calls == 1
            clock.sleep(9.0)
            assert checked.balance(deadline_s=2.0) is first  # within the TTL: nobody asked
            assert (api.calls, chain.requests_sent) == (1, 3)

            buy = OrderRequest("c-1", YES, Side.BUY, 0.52, 20.0, order_type=OrderType.FOK)
            assert venue.place(buy, deadline_s=2.0).accepted  # 10.40 spent, on both sides
            assert checked.balance(deadline_s=2.0) is first  # still within the TTL
            clock.sleep(1.5)
            after = checked.balance(deadline_s=2.0)
            assert after.total_usdc == pytest.approx(10_000 - 10.4, abs=1e-6)
            assert (api.calls, chain.requests_sent) == (2, 4)  # one balanceOf, no decimals
            checked.invalidate()  # the executor's "may have moved": ask again at once
            assert checked.balance(deadline_s=2.0).total_usdc == after.total_usdc
            assert (api.calls, chain.requests_sent) == (3, 5)
            assert checked.findings == []
            assert not [r for r in logs.records if r.levelno >= logging.WARNING]
        finally:
            chain.close()
            venue.api.close()


def test_a_disagreeing_api_is_refused_with_both_figures_and_never_cached(data: Path, logs) -> None:
    with running_server(data) as run:
        api = CountingVenue(answer=9_990.0)
        chain = ChainBalance(run.urls.rpc, OWNER)
        clock = SimClock(T0)
        checked = CrossCheckedBalance(api, chain, clock, ttl_s=10.0, signature_type=0)
        try:
            for _ in range(2):
                with pytest.raises(BalanceMismatch) as err:
                    checked.balance(deadline_s=2.0)
                exc = err.value
                assert isinstance(exc, VenueRejected) and not exc.retryable  # never retried
                assert exc.reason == "balance_mismatch" and exc.call == "balance"
                assert (exc.api_usdc, exc.chain_usdc) == (9_990.0, 10_000.0)
                assert "9990.000000" in str(exc) and "10000.000000" in str(exc)
            assert api.calls == 2 and chain.requests_sent == 4  # a refusal is not cached
            assert [f.reason for f in checked.findings] == ["balance_mismatch"] * 2
            assert checked.findings[0].api_usdc == 9_990.0
            assert checked.findings[0].chain_usdc == 10_000.0
            warnings = [r for r in logs.records if r.levelno == logging.WARNING]
            assert len(warnings) == 1 and "balance_mismatch" in warnings[0].getMessage()

            api.answer = 10_000.004  # within the 0.01 USDC tolerance: the API's figure
            assert checked.balance(deadline_s=2.0).total_usdc == 10_000.004
            assert any("agree again" in r.getMessage() for r in logs.records)

            loose = CrossCheckedBalance(CountingVenue(answer=9_990.0), chain, clock,
                                        rel_tolerance=0.002)  # fmt: skip
            assert loose.balance(deadline_s=2.0).total_usdc == 9_990.0  # 10 <= 0.2% of 10k

            unfunded = ChainBalance(run.urls.rpc, OTHER)  # the chain asked about another wallet
            try:
                wrong_owner = CrossCheckedBalance(CountingVenue(answer=10_000.0), unfunded, clock,
                                                  signature_type=2)  # fmt: skip
                with pytest.raises(BalanceMismatch) as err:
                    wrong_owner.balance(deadline_s=2.0)
                assert err.value.reason == "balance_mismatch" and err.value.chain_usdc == 0.0
                assert "funder for signature_type=2" in str(err.value)
            finally:
                unfunded.close()
        finally:
            chain.close()


def test_a_zero_from_the_api_while_the_chain_has_funds_names_signature_type_and_funder(
    data: Path, logs
) -> None:
    faults = plan(FaultSpec("zero_balance", calls=("balance",), every_n=1, max_count=1))
    with running_server(data, faults=faults) as run:
        venue = live_venue(run)
        chain = ChainBalance(run.urls.rpc, venue.api.address)
        checked = CrossCheckedBalance(venue, chain, SimClock(T0), signature_type=0)
        try:
            with pytest.raises(BalanceMismatch) as err:
                checked.balance(deadline_s=2.0)
            exc = err.value
            assert exc.reason == "api_balance_zero" and not exc.retryable
            assert (exc.api_usdc, exc.chain_usdc) == (0.0, 10_000.0)
            message = str(exc)
            assert "signature_type=0" in message and f"funder {OWNER}" in message
            assert [f.reason for f in checked.findings] == ["api_balance_zero"]
            warning = next(r for r in logs.records if r.levelno == logging.WARNING)
            assert "signature_type" in warning.getMessage()
            assert venue.api.api_key not in logs.text  # the API key is never logged
            # the fault is spent: the API's answer is the wallet's again, and agrees
            assert checked.balance(deadline_s=2.0).total_usdc == 10_000.0
        finally:
            chain.close()
            venue.api.close()


# ---------------------------------------------------------------------- failing nodes
def test_a_refused_connection_is_unavailable_after_one_attempt(logs) -> None:
    chain = ChainBalance(closed_port_url(), OWNER, timeout_s=2.0)
    checked = CrossCheckedBalance(CountingVenue(answer=100.0), chain, SimClock(T0))
    try:
        with pytest.raises(VenueUnavailable) as err:
            chain.usdc(deadline_s=5.0)
        assert "connection failed" in str(err.value) and err.value.retryable
        assert chain.requests_sent == 1  # web3's default would have tried 5 times
        assert_no_secret(err.value, logs)

        with pytest.raises(VenueUnavailable) as err:  # the cross-check passes it on as it is
            checked.balance(deadline_s=5.0)
        assert chain.requests_sent == 2
        assert [f.reason for f in checked.findings] == ["chain_failed"]
        assert checked.findings[0].api_usdc == 100.0
        assert_no_secret(err.value, logs)
        assert "chain_failed" in logs.text

        api = CountingVenue(fail=VenueTimeout("balance: no answer within 5 s", call="balance"))
        api_down = CrossCheckedBalance(api, chain, SimClock(T0))
        with pytest.raises(VenueTimeout):  # the API's own error, still retryable
            api_down.balance(deadline_s=5.0)
        assert chain.requests_sent == 2  # the chain was not asked
        assert [f.reason for f in api_down.findings] == ["api_failed"]
    finally:
        chain.close()


def test_a_stalled_node_times_out_after_one_request(logs) -> None:
    with stalled_node() as node:
        chain = ChainBalance(node.url, OWNER, timeout_s=0.2)
        try:
            with pytest.raises(VenueTimeout) as err:
                chain.usdc(deadline_s=10.0)  # the socket timeout, well inside the deadline
            assert "no answer within 0.2 s" in str(err.value)
            assert_no_secret(err.value, logs)
            sent = node.connections()
            assert len(sent) == 1 and chain.requests_sent == 1  # no second try
            assert sent[0].startswith(b"POST /" + SECRET.encode()) and b"eth_chainId" in sent[0]
        finally:
            chain.close()


def test_the_deadline_abandons_a_read_and_the_next_is_not_queued_behind_it(logs) -> None:
    with stalled_node() as node:
        chain = ChainBalance(node.url, OWNER, timeout_s=60.0)  # the socket would wait a minute
        try:
            with pytest.raises(VenueTimeout) as err:
                chain.usdc(deadline_s=0.2)
            assert "within 0.2 s" in str(err.value)
            assert chain.in_flight  # still stuck in the worker
            with pytest.raises(VenueUnavailable) as err:
                chain.usdc(deadline_s=0.2)
            assert "has not returned yet" in str(err.value)
            assert chain.requests_sent == 1
            node.close()  # the node goes away: the stuck request ends (reset)
            for _ in range(1000):
                if not chain.in_flight:
                    break
                time.sleep(0.01)
            assert not chain.in_flight
            with pytest.raises(VenueUnavailable) as err:  # a new read: refused at once
                chain.usdc(deadline_s=2.0)
            assert "connection failed" in str(err.value) and chain.requests_sent == 2
            assert_no_secret(err.value, logs)
        finally:
            chain.close()


def test_node_errors_are_mapped_and_never_retried(logs) -> None:
    with scripted_node() as node:
        chain = ChainBalance(node.url, OWNER)
        try:
            assert chain.usdc(deadline_s=2.0) == 1234.56  # healthy: chain id, decimals, balance
            assert [r["method"] for r in node.requests] == ["eth_chainId", "eth_call", "eth_call"]

            def error(req: dict) -> tuple[int, dict[str, str], bytes]:
                failure = {"code": -32005, "message": "daily request limit reached"}
                body = {"jsonrpc": "2.0", "id": req.get("id"), "error": failure}
                return 200, {}, json.dumps(body).encode()

            limit = "JSON-RPC error: daily request limit reached (code -32005)"
            cases: list[tuple[Callable, type[VenueError], str]] = [
                (error, VenueUnavailable, limit),
                (lambda req: (500, {}, b"oops"), VenueUnavailable, "HTTP 500"),
                (lambda req: (429, {"Retry-After": "7"}, b""), VenueRateLimited, "HTTP 429"),
                (lambda req: (200, {}, b"<html>" + b"x" * 5000), VenueUnavailable, "unusable"),
                (lambda req: (200, {}, b"{}"), VenueUnavailable, "balanceOf at http://127.0.0.1"),
                (lambda req: rpc_result(req, "0x01"), VenueUnavailable, "1 bytes, not one 32"),
            ]  # fmt: skip
            for answer, kind, words in cases:
                node.answer = answer
                before = len(node.requests)
                with pytest.raises(kind) as err:
                    chain.usdc(deadline_s=2.0)
                assert type(err.value) is kind and words in str(err.value), str(err.value)
                assert len(str(err.value)) <= 400
                assert len(node.requests) == before + 1  # one request, whatever the failure
                assert_no_secret(err.value, logs)
            assert err.value.retryable
            node.answer = cases[2][0]
            with pytest.raises(VenueRateLimited) as err:
                chain.usdc(deadline_s=2.0)
            assert err.value.retry_after_s == 7.0 and err.value.status == 429
            node.answer = cases[1][0]
            with pytest.raises(VenueUnavailable) as err:
                chain.usdc(deadline_s=2.0)
            assert err.value.status == 500
        finally:
            chain.close()


def test_the_wrong_chain_token_or_decimals_is_a_permanent_refusal(data: Path) -> None:
    with running_server(data) as run:
        amoy = ChainBalance(run.urls.rpc, OWNER, chain_id=80002)
        not_a_token = ChainBalance(run.urls.rpc, OWNER, token=OTHER)  # no contract there
        try:
            with pytest.raises(VenueRejected) as err:
                amoy.usdc(deadline_s=2.0)
            assert err.value.reason == "wrong_chain" and "137" in str(err.value)
            with pytest.raises(VenueRejected) as err:
                not_a_token.usdc(deadline_s=2.0)
            assert err.value.reason == "no_contract" and not err.value.retryable
        finally:
            amoy.close()
            not_a_token.close()
    with scripted_node() as node:
        node.answer = lambda req: pusd(req, decimals=18, units=10**18)
        chain = ChainBalance(node.url, OWNER)
        try:
            for _ in range(2):  # a failed check is made again on the next read
                with pytest.raises(VenueRejected) as err:
                    chain.usdc(deadline_s=2.0)
                assert err.value.reason == "wrong_decimals" and "18 decimals" in str(err.value)
            assert len(node.requests) == 4
        finally:
            chain.close()


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError) as err:
        ChainBalance("http://127.0.0.1:1/", "0x1234")
    assert err.value.key == "funder"
    with pytest.raises(ConfigError):
        ChainBalance("http://127.0.0.1:1/", OWNER, timeout_s=0.0)
    chain = ChainBalance("http://127.0.0.1:1/", OWNER)
    try:
        with pytest.raises(ConfigError):
            CrossCheckedBalance(CountingVenue(), chain, SimClock(), rel_tolerance=1.5)
        with pytest.raises(ConfigError):
            CrossCheckedBalance(CountingVenue(), chain, SimClock(), abs_tolerance_usdc=-1.0)
    finally:
        chain.close()
