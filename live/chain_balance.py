"""The collateral balance on chain, and the CLOB's balance checked against it.

Why (reference §7): the CLOB infers the wallet from the API key and the client's
``signature_type``; the ``funder`` is never sent. A wrong type, or API credentials
derived under another wallet, make ``/balance-allowance`` answer ``"0"`` with no
error, and the bot then runs on a balance that is not the wallet's. The chain is
the independent witness: ``pUSD.balanceOf(funder)``.

``ChainBalance`` reads it through web3 (8.x) with no hidden waiting:

* the ``HTTPProvider`` gets ``exception_retry_configuration=None``. web3 8's only
  retry loop is in ``HTTPProvider._make_request`` (5 tries with backoff for
  allow-listed methods, ``eth_call`` and ``eth_chainId`` among them, each under a
  30 s default timeout); with ``None`` it posts once. The ``requests`` session is
  ours, mounted with ``HTTPAdapter(max_retries=0)`` (urllib3 retries nothing), and
  ``Web3`` is built with no middleware at all: the default ``validation``
  middleware would ask ``eth_chainId`` before every ``eth_call``. CCIP-read (up to
  4 off-chain lookups after an ``OffchainLookup`` revert) is off for our calls. So
  one read is one HTTP request (``requests_sent`` counts them);
* each request has its own socket timeout (``timeout_s``), and the whole read runs
  in a worker thread that is abandoned at the caller's deadline (``VenueTimeout``).
  While an abandoned read is still in flight, the next read is refused at once
  (``VenueUnavailable``) rather than queued behind it;
* the chain id and the token's ``decimals()`` (must be 6) are checked once, on the
  first read that gets that far; a wrong answer, or an empty one (no contract at
  that address), is a permanent ``VenueRejected``. The views are plain ``eth_call``s
  (web3's contract ``.call()`` would follow an empty answer with ``eth_getCode``);
* errors are ``sim.venue`` errors: timeouts ``VenueTimeout``; connection failures,
  HTTP errors and JSON-RPC errors ``VenueUnavailable`` (with the node's message);
  HTTP 429 ``VenueRateLimited``. The RPC URL's path, query and user info (where
  providers put API keys) never appear in a message; the original exception is
  neither the cause nor the context of ours, so a logged traceback cannot show it.

``CrossCheckedBalance`` stands in front of a venue's ``balance``: it reads the API,
then the chain, and returns the API's ``Balance`` when the two agree within the
tolerance, cached for ``ttl_s`` on the given clock. Otherwise it raises, so the
executor's balance cache refuses new risk:

* the API answers 0 while the chain shows funds: ``BalanceMismatch`` with reason
  ``api_balance_zero`` and a message naming ``signature_type`` and ``funder`` (the
  wrong-wallet bug above; never traded on, never cached);
* any other disagreement: ``BalanceMismatch``, reason ``balance_mismatch``, both
  figures in the message. This includes the seconds between a fill and its
  settlement on chain: new risk waits until the chain has caught up;
* either source failing: that source's own ``VenueError``, unchanged (a timeout
  stays retryable).

Every refusal is kept in ``findings`` and logged at WARNING (once per run of the
same reason; repeats at DEBUG), with figures and public addresses only.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from web3 import HTTPProvider, Web3
from web3.exceptions import TimeExhausted, Web3Exception, Web3RPCError

from sim.clock import Clock, seconds_to_ns
from sim.errors import ConfigError
from sim.types import Balance
from sim.venue import VenueError, VenueRateLimited, VenueRejected, VenueTimeout, VenueUnavailable

log = logging.getLogger(__name__)
#: web3's provider logs its endpoint URI (which may hold an API key) at DEBUG: ours
#: logs to a logger that never emits DEBUG, whatever the root level
_provider_log = logging.getLogger(__name__ + ".provider")
_provider_log.setLevel(logging.INFO)

#: pUSD, the CLOB V2 collateral (py-clob-client-v2 ``get_contract_config(137).collateral``)
PUSD = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"
POLYGON_CHAIN_ID = 137
PUSD_DECIMALS = 6
CALL = "balance"  # the executor's call kind these reads belong to
_ERC20 = [
    {"name": "balanceOf", "type": "function", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"name": "decimals", "type": "function", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
]  # fmt: skip
_MAX_MESSAGE = 400
_SIGNATURE_TYPES = "0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271"


# ---------------------------------------------------------------------- ChainBalance
class _CountingSession(requests.Session):
    """A ``requests`` session that counts the HTTP requests it sends and retries none."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        for prefix in ("http://", "https://"):
            self.mount(prefix, HTTPAdapter(max_retries=0))

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent += 1
        return super().request(*args, **kwargs)


class _QuietProvider(HTTPProvider):
    """web3's HTTP provider, its DEBUG lines (with the endpoint URI) kept quiet."""

    logger = _provider_log


def _endpoint_label(url: str) -> str:
    """scheme://host[:port]: what may be shown of the RPC URL."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _url_secrets(url: str) -> list[str]:
    """The parts of the RPC URL that may carry a key, longest first."""
    parts = urlsplit(url)
    found = {url, parts.path, parts.query, parts.username or "", parts.password or ""}
    found |= {unquote(s) for s in found}
    return sorted((s for s in found if len(s) > 1), key=len, reverse=True)


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


class ChainBalance:
    """``token.balanceOf(owner)`` over JSON-RPC, one request per read, under deadlines.

    ``owner`` is the wallet whose balance the CLOB spends: the ``funder`` (proxy, Safe
    or deposit wallet) for signature types 1-3, the signer's EOA for type 0.
    ``chain_id`` None skips the chain check.
    """

    def __init__(
        self,
        rpc_url: str,
        owner: str,
        *,
        token: str = PUSD,
        chain_id: int | None = POLYGON_CHAIN_ID,
        timeout_s: float = 2.0,
    ) -> None:
        if not Web3.is_address(owner):
            raise ConfigError("funder", f"{owner!r} is not an address")
        if not Web3.is_address(token):
            raise ConfigError("token", f"{token!r} is not an address")
        if not (timeout_s > 0 and math.isfinite(timeout_s)):
            raise ConfigError("timeout_s", "must be a positive number of seconds")
        self.owner = Web3.to_checksum_address(owner)
        self.token = Web3.to_checksum_address(token)
        self.endpoint = _endpoint_label(rpc_url)
        self.timeout_s = timeout_s
        self._secrets = _url_secrets(rpc_url)
        self._chain_id = chain_id
        self._session = _CountingSession()
        provider = _QuietProvider(
            rpc_url, request_kwargs={"timeout": timeout_s}, session=self._session,
            exception_retry_configuration=None,
        )  # fmt: skip
        if provider.exception_retry_configuration is not None:  # a web3 that ignored it
            raise RuntimeError("web3's HTTPProvider kept its retry configuration")
        self._w3 = Web3(provider, middleware=[])
        self._contract = self._w3.eth.contract(address=self.token, abi=_ERC20)
        self._checked = False  # chain id and decimals verified
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chain-balance")
        self._lock = threading.Lock()
        self._pending: Future[int] | None = None

    @property
    def requests_sent(self) -> int:
        """HTTP requests sent to the node so far (retries would count here too)."""
        return self._session.sent

    @property
    def in_flight(self) -> bool:
        """A read (perhaps one abandoned at its deadline) is still waiting for the node."""
        with self._lock:
            return self._pending is not None and not self._pending.done()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._session.close()

    # ------------------------------------------------------------------ reading
    def units(self, *, deadline_s: float) -> int:
        """The balance in the token's base units (1e-6 USDC), or a ``VenueError``."""
        with self._lock:
            if self._pending is not None and not self._pending.done():
                raise VenueUnavailable(
                    f"chain balance: the previous read from {self.endpoint} has not returned "
                    "yet (abandoned at its deadline)", call=CALL,
                )  # fmt: skip
            future = self._pending = self._pool.submit(self._read)
        try:
            return future.result(timeout=max(deadline_s, 0.001))
        except FutureTimeout:
            raise VenueTimeout(f"chain balance: no answer from {self.endpoint} within "
                               f"{deadline_s:g} s", call=CALL) from None  # fmt: skip

    def usdc(self, *, deadline_s: float) -> float:
        return self.units(deadline_s=deadline_s) / 10**PUSD_DECIMALS

    def _read(self) -> int:  # in the worker thread
        if not self._checked:
            self._check_setup()
        return self._view_uint("balanceOf", self.owner)

    def _check_setup(self) -> None:
        if self._chain_id is not None:
            chain = self._rpc("eth_chainId", lambda: self._w3.eth.chain_id)
            if chain != self._chain_id:
                raise VenueRejected(f"chain balance: the node at {self.endpoint} serves chain "
                                    f"{chain}, not {self._chain_id}", reason="wrong_chain",
                                    call=CALL, status=None)  # fmt: skip
        decimals = self._view_uint("decimals")
        if decimals != PUSD_DECIMALS:
            raise VenueRejected(f"chain balance: the token {self.token} has {decimals} decimals, "
                                f"not {PUSD_DECIMALS}: not pUSD", reason="wrong_decimals",
                                call=CALL, status=None)  # fmt: skip
        self._checked = True

    def _view_uint(self, name: str, *args: Any) -> int:
        """One ``eth_call`` of the token's view ``name``, its uint answer. (Not web3's
        contract ``.call()``: on an empty answer it asks ``eth_getCode`` too.)"""
        data = self._contract.encode_abi(name, list(args))
        tx: Any = {"to": self.token, "data": data}
        raw = self._rpc(name, lambda: self._w3.eth.call(tx, "latest", ccip_read_enabled=False))
        if len(raw) == 0:
            raise VenueRejected(f"chain balance: {name} at {self.endpoint}: empty answer (no "
                                f"contract at {self.token} on this chain?)", reason="no_contract",
                                call=CALL, status=None)  # fmt: skip
        if len(raw) != 32:
            raise VenueUnavailable(
                f"chain balance: {name} at {self.endpoint}: unusable answer "
                f"({len(raw)} bytes, not one 32-byte word)",
                call=CALL,
            )
        return int.from_bytes(raw, "big")

    def _rpc(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except (Web3Exception, requests.RequestException, OSError, ValueError) as exc:
            error = self._error(exc, what)
        # raised outside the handler: the transport error, whose text may hold the URL, is
        # neither the cause nor the context of ours
        raise error

    def _redact(self, text: str) -> str:
        """``text`` without the URL's secrets, cut to a loggable length (a node's error
        page can be long)."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"

    def _error(self, exc: Exception, what: str) -> VenueError:
        where = f"chain balance: {what} at {self.endpoint}"
        name = type(exc).__name__
        if isinstance(exc, requests.Timeout | TimeExhausted):
            return VenueTimeout(f"{where}: no answer within {self.timeout_s:g} s ({name})",
                                call=CALL)  # fmt: skip
        if isinstance(exc, requests.HTTPError):
            response = exc.response
            status = response.status_code if response is not None else None
            if status == 429:
                headers = response.headers if response is not None else {}
                retry = _seconds(headers.get("Retry-After"))
                return VenueRateLimited(f"{where}: HTTP 429", call=CALL, retry_after_s=retry)
            return VenueUnavailable(f"{where}: HTTP {status}", call=CALL, status=status)
        if isinstance(exc, Web3RPCError):
            error = (exc.rpc_response or {}).get("error")
            if isinstance(error, dict):
                detail = f"{error.get('message', '')} (code {error.get('code')})"
            else:
                detail = str(error if error is not None else exc.message)
            return VenueUnavailable(self._redact(f"{where}: JSON-RPC error: {detail}"), call=CALL)
        if isinstance(exc, requests.RequestException | OSError):
            return VenueUnavailable(self._redact(f"{where}: connection failed ({name}: {exc})"),
                                    call=CALL)  # fmt: skip
        return VenueUnavailable(self._redact(f"{where}: unusable answer ({name}: {exc})"),
                                call=CALL)  # fmt: skip


# ---------------------------------------------------------------------- the cross-check
class BalanceSource(Protocol):
    """What the cross-check reads the API balance from (``LiveVenue``, or any venue)."""

    def balance(self, *, deadline_s: float) -> Balance: ...


class ChainSource(Protocol):
    """What the cross-check reads the chain's figure from (``ChainBalance``)."""

    owner: str

    def usdc(self, *, deadline_s: float) -> float: ...


class BalanceMismatch(VenueRejected):
    """The API's balance is not the chain's: no new risk until they agree again.
    ``reason`` is ``api_balance_zero`` or ``balance_mismatch``."""

    def __init__(self, message: str, *, reason: str, api_usdc: float, chain_usdc: float) -> None:
        super().__init__(message, reason=reason, call=CALL, status=None)
        self.api_usdc = api_usdc
        self.chain_usdc = chain_usdc


@dataclass(frozen=True, slots=True)
class BalanceFinding:
    """One refused balance read. ``reason``: ``api_balance_zero``, ``balance_mismatch``,
    ``api_failed`` or ``chain_failed``; figures in USDC where known."""

    ts_ns: int
    reason: str
    message: str
    api_usdc: float | None = None
    chain_usdc: float | None = None


class CrossCheckedBalance:
    """A venue's ``balance`` that is returned only when the chain agrees (module doc).

    ``ttl_s``: how long an agreed balance is served without asking either source
    (``invalidate`` forgets it at once: call it when the venue's balance may have moved).
    Two figures agree when they differ by at most ``abs_tolerance_usdc`` or by at most
    ``rel_tolerance`` of the larger one. ``signature_type`` (the CLOB client's) is only
    used in messages. One caller at a time (the engine thread).
    """

    def __init__(self, venue: BalanceSource, chain: ChainSource, clock: Clock, *,
                 ttl_s: float = 5.0, abs_tolerance_usdc: float = 0.01, rel_tolerance: float = 0.0,
                 signature_type: int | None = None, max_findings: int = 1000) -> None:  # fmt: skip
        for key, value in (("ttl_s", ttl_s), ("abs_tolerance_usdc", abs_tolerance_usdc)):
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(key, "must be a finite number >= 0")
        if not 0 <= rel_tolerance < 1:
            raise ConfigError("rel_tolerance", "must be in [0, 1)")
        if max_findings < 1:
            raise ConfigError("max_findings", "must be at least 1")
        self.venue = venue
        self.chain = chain
        self.clock = clock
        self.ttl_ns = seconds_to_ns(ttl_s)
        self.abs_tolerance_usdc = abs_tolerance_usdc
        self.rel_tolerance = rel_tolerance
        self.signature_type = signature_type
        self._findings: deque[BalanceFinding] = deque(maxlen=max_findings)
        self._cached: Balance | None = None
        self._cached_at_ns = 0
        self._warned = ""  # the reason last logged at WARNING; "" once they agree again

    @property
    def findings(self) -> list[BalanceFinding]:
        return list(self._findings)

    def invalidate(self) -> None:
        self._cached = None

    def balance(self, *, deadline_s: float) -> Balance:
        now = self.clock.now_ns()
        if self._cached is not None and now - self._cached_at_ns < self.ttl_ns:
            return self._cached
        self._cached = None
        started = time.monotonic()
        try:
            api = self.venue.balance(deadline_s=deadline_s)
        except VenueError as exc:
            self._refuse(BalanceFinding(now, "api_failed", f"API balance read failed: {exc}"))
            raise
        left = deadline_s - (time.monotonic() - started)
        try:
            if left <= 0:
                raise VenueTimeout("chain balance: the API read used the whole deadline",
                                   call=CALL)  # fmt: skip
            chain = self.chain.usdc(deadline_s=left)
        except VenueError as exc:
            self._refuse(BalanceFinding(now, "chain_failed", f"chain balance read failed: {exc}",
                                        api.total_usdc))  # fmt: skip
            raise
        mismatch = self._judge(api.total_usdc, chain)
        if mismatch is not None:
            self._refuse(BalanceFinding(now, mismatch.reason, str(mismatch), api.total_usdc,
                                        chain))  # fmt: skip
            raise mismatch
        if self._warned:
            log.info("balance cross-check: API and chain agree again (%.6f USDC)",
                     api.total_usdc)  # fmt: skip
            self._warned = ""
        self._cached, self._cached_at_ns = api, now
        return api

    def _judge(self, api: float, chain: float) -> BalanceMismatch | None:
        allowed = max(self.abs_tolerance_usdc, self.rel_tolerance * max(abs(api), abs(chain)))
        if abs(api - chain) <= allowed + 1e-9:
            return None
        owner = self.chain.owner
        stype = "?" if self.signature_type is None else str(self.signature_type)
        figures = (f"API {api:.6f} USDC, chain {chain:.6f} pUSD at {owner} "
                   f"(tolerance {allowed:.6f})")  # fmt: skip
        if api <= 0.0:
            return BalanceMismatch(
                f"the CLOB reports 0 USDC while the chain shows {chain:.6f} pUSD at funder "
                f"{owner}: the API key and signature_type={stype} point at another wallet. "
                f"Check signature_type ({_SIGNATURE_TYPES}; set it in the client's "
                "constructor) and funder (the proxy/Safe/deposit wallet holding the funds), "
                "and derive the API credentials under that wallet; after a deposit, "
                "update_balance_allowance refreshes the CLOB's cache", reason="api_balance_zero",
                api_usdc=api, chain_usdc=chain,
            )  # fmt: skip
        if chain <= 0.0:
            hint = (f"is {owner} the funder for signature_type={stype} (the proxy, Safe or "
                    "deposit wallet, not the signer's EOA)?")  # fmt: skip
        else:
            hint = (
                "fills not settled on chain yet, a deposit or withdrawal the CLOB has not "
                "seen (update_balance_allowance), or another wallet than the funder"
            )
        return BalanceMismatch(f"balance mismatch: {figures}; {hint}", reason="balance_mismatch",
                               api_usdc=api, chain_usdc=chain)  # fmt: skip

    def _refuse(self, finding: BalanceFinding) -> None:
        self._findings.append(finding)
        if finding.reason != self._warned:
            log.warning("balance cross-check (%s): %s", finding.reason, finding.message)
            self._warned = finding.reason
        else:
            log.debug("balance cross-check (%s): %s", finding.reason, finding.message)
