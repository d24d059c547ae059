"""The one module that imports py-clob-client-v2 (a later move to the official
``polymarket-client`` touches this file only).

``ClobApi`` wraps a ``ClobClient`` so that every call:

* runs under a hard deadline: the client's module-level httpx client is replaced
  by one with our timeouts, and the call itself runs in a worker thread that we
  stop waiting for at the deadline (``VenueTimeout``; the request may still land,
  which the executor's lookup-before-resend handles);
* raises ``sim.venue`` errors with the truth the client hides: its
  ``PolyApiException(status_code=None, "Request exception!")`` is mapped back to
  a timeout or a connection failure from the exception it wraps, a 429 carries
  the ``Retry-After`` the response said (captured by an httpx event hook), 5xx
  and 425 are transient, other 4xx are permanent refusals with the venue's words;
* never waits out the client's 30 s trade-hash poll (``post`` uses
  ``defer_exec``: the hash arrives with the trade, read later).

Signing is separate from posting: ``sign`` returns the order's hash (the
venue's id) and the signed order, so the executor can journal the id before
anything is sent, and a re-send posts the very same signed order.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import httpx
from py_clob_client_v2 import ClobClient, OrderArgs, PartialCreateOrderOptions
from py_clob_client_v2.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    OrderPayload,
    OrderType,
    PostOrdersV2Args,
    TradeParams,
)
from py_clob_client_v2.config import get_contract_config
from py_clob_client_v2.exceptions import PolyApiException, PolyException
from py_clob_client_v2.http_helpers import helpers as _client_http
from py_clob_client_v2.order_utils import ExchangeOrderBuilderV2, OrderV2

from sim.venue import VenueError, VenueRateLimited, VenueRejected, VenueTimeout, VenueUnavailable

T = TypeVar("T")
_RATE_LIMITED = 429
_TRANSIENT = (425, 500, 502, 503, 504)
_last_headers = threading.local()  # the response headers each worker thread saw last


def _remember_headers(response: httpx.Response) -> None:
    _last_headers.value = response.headers


def install_http_client(timeout_s: float) -> httpx.Client:
    """Give the client library an httpx client with our timeout (its own default is
    5 s, set once at import) and a hook that keeps each response's headers."""
    client = httpx.Client(
        http2=False,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0)),
        event_hooks={"response": [_remember_headers]},
    )
    old = _client_http._http_client
    _client_http._http_client = client
    if old is not client:
        old.close()
    return client


def _in_worker(fn: Callable[..., T], *args) -> T:
    """Run a client call; a refusal keeps the headers of the response that refused it
    (read in this worker thread, where the httpx hook saw them)."""
    _last_headers.value = None
    try:
        return fn(*args)
    except PolyApiException as exc:
        exc.response_headers = getattr(_last_headers, "value", None)
        raise


class HeartbeatRejected(VenueRejected):
    """A heartbeat refused for its id: ``expected_id`` is the one the venue wants next."""

    def __init__(self, message: str, *, expected_id: str, status: int | None = 400) -> None:
        super().__init__(message, reason="invalid_heartbeat", call="heartbeat", status=status)
        self.expected_id = expected_id


def venue_error(exc: Exception, call: str) -> VenueError:
    """What a client exception means, as the executor's retry rules need it."""
    if isinstance(exc, PolyApiException):
        status = exc.status_code
        if status is None:  # "Request exception!": the cause is the wrapped httpx error
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, httpx.TimeoutException):
                return VenueTimeout(f"{call}: no answer in time ({type(cause).__name__})",
                                    call=call)  # fmt: skip
            what = type(cause).__name__ if cause is not None else "transport error"
            return VenueUnavailable(f"{call}: connection failed ({what}: {cause})", call=call)
        message = _message(exc.error_msg)
        if status == _RATE_LIMITED:
            headers = getattr(exc, "response_headers", None) or {}
            return VenueRateLimited(message, call=call, retry_after_s=_seconds(
                headers.get("Retry-After")))  # fmt: skip
        reason = reason_of(message, status)
        if reason in _MODES and call == "place":  # the exchange's mode: final for this order
            return VenueRejected(message, reason=reason, call=call, status=status)
        if status in _TRANSIENT or status >= 500:
            return VenueUnavailable(message, call=call, status=status)
        return VenueRejected(message, reason=reason, call=call, status=status)
    if isinstance(exc, httpx.TimeoutException):
        return VenueTimeout(f"{call}: no answer in time", call=call)
    if isinstance(exc, httpx.TransportError):
        return VenueUnavailable(f"{call}: connection failed ({exc})", call=call)
    raise exc


def _message(error_msg: Any) -> str:
    if isinstance(error_msg, dict):
        return str(error_msg.get("error") or error_msg.get("errorMsg") or error_msg)
    return str(error_msg)


def _seconds(raw: str | None) -> float | None:
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


#: the venue's words -> the refusal's reason (reference §4.7)
_REASONS = (
    ("not enough balance", "not_enough_balance"), ("Duplicated", "duplicated"),
    ("lower than the minimum", "min_size"), ("minimum tick size", "invalid_tick"),
    ("invalid price", "invalid_price"), ("order crosses book", "post_only_cross"),
    ("FOK orders are fully filled", "fok_not_filled"), ("FAK orders", "fak_no_match"),
    ("cancel-only", "cancel_only"), ("invalid signature", "invalid_signature"),
    ("not yet ready", "market_closed"), ("invalid expiration", "invalid_expiration"),
    ("Trading is currently disabled", "trading_disabled"), ("post-only mode", "post_only_mode"),
)  # fmt: skip
#: the exchange's modes (HTTP 503, reference §4.7): the order is refused, not retried
_MODES = frozenset({"cancel_only", "trading_disabled", "post_only_mode"})


def reason_of(message: str, status: int | None) -> str:
    for words, reason in _REASONS:
        if words in message:
            return reason
    return "unauthorized" if status == 401 else "rejected"


#: the share of a call's deadline kept for returning its outcome (see ``ClobApi.call``)
RETURN_MARGIN = 0.05
RETURN_MARGIN_MAX_S = 0.05


class ClobApi:
    """py-clob-client-v2 under deadlines. ``creds`` None: derived with L1 auth."""

    def __init__(self, host: str, chain_id: int, private_key: str, *,
                 creds: tuple[str, str, str] | None = None, signature_type: int = 0,
                 funder: str | None = None, http_timeout_s: float = 5.0,
                 workers: int = 4) -> None:  # fmt: skip
        self.timeout_s = http_timeout_s
        self.http = install_http_client(http_timeout_s)
        self.client = ClobClient(host, chain_id, key=private_key, signature_type=signature_type,
                                 funder=funder)  # fmt: skip
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clob-api")
        contracts = get_contract_config(chain_id)
        self._hashers = {
            False: ExchangeOrderBuilderV2(contracts.exchange_v2, chain_id, None),
            True: ExchangeOrderBuilderV2(contracts.neg_risk_exchange_v2, chain_id, None),
        }
        if creds is None:
            api = self.call("auth", self.client.create_or_derive_api_key, deadline_s=10.0)
        else:
            api = ApiCreds(*creds)
        self.client.set_api_creds(api)

    @property
    def address(self) -> str:
        return self.client.get_address()

    @property
    def api_key(self) -> str:
        return self.client.creds.api_key

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ deadline
    def call(self, kind: str, fn: Callable[..., T], *args, deadline_s: float) -> T:
        """``fn(*args)`` in a worker, abandoned at ``deadline_s`` (a ``VenueTimeout``).

        The wait ends ``RETURN_MARGIN`` (5 %, at most 50 ms) early: waking this thread
        and handing the timeout back takes a few milliseconds on a busy machine, and
        the caller's deadline is when it must have its answer, not when we start
        giving up."""
        future = self._pool.submit(_in_worker, fn, *args)
        wait = deadline_s - min(RETURN_MARGIN * deadline_s, RETURN_MARGIN_MAX_S)
        try:
            return future.result(timeout=max(wait, 0.001))
        except FutureTimeout:
            raise VenueTimeout(f"{kind}: no answer within {deadline_s:g} s", call=kind) from None
        except (PolyApiException, httpx.HTTPError) as exc:
            raise venue_error(exc, kind) from exc
        except PolyException as exc:  # the client's own check, before any request
            if kind == "sign":
                raise
            raise VenueRejected(f"{kind}: the client refused: {exc.msg}", reason="client_refused",
                                call=kind, status=None) from None  # fmt: skip

    # ------------------------------------------------------------------ orders
    def sign(self, token_id: str, side: str, price: float, size: float, *, tick: str,
             neg_risk: bool, expiration_s: int = 0):  # fmt: skip
        """(order hash, signed order): the id is known before anything is sent."""
        args = OrderArgs(token_id=token_id, price=price, size=size, side=side,
                         expiration=expiration_s)  # fmt: skip
        options = PartialCreateOrderOptions(tick_size=tick, neg_risk=neg_risk)
        # the client may ask the venue first (/tick-size, /version): under a deadline too;
        # its own checks (a price off the tick, ...) are a bad order, not a venue failure
        try:
            signed = self.call("sign", self.client.create_order, args, options,
                               deadline_s=2 * self.timeout_s)  # fmt: skip
        except PolyException as exc:
            raise ValueError(f"the client refused to sign the order: {exc.msg}") from None
        hasher = self._hashers[neg_risk]
        fields = {f.name: getattr(signed, f.name) for f in dataclasses.fields(OrderV2)}
        return hasher.build_order_hash(hasher.build_order_typed_data(OrderV2(**fields))), signed

    def post(self, signed, order_type: str, post_only: bool, *, deadline_s: float) -> dict:
        otype = getattr(OrderType, order_type)
        return self.call("place", self.client.post_order, signed, otype, post_only, True,
                         deadline_s=deadline_s)  # fmt: skip

    def post_many(self, items: list[tuple[Any, str]], post_only: bool, *,
                  deadline_s: float) -> list[dict]:  # fmt: skip
        args = [PostOrdersV2Args(order=s, orderType=getattr(OrderType, t)) for s, t in items]
        return self.call("place", self.client.post_orders, args, post_only, True,
                         deadline_s=deadline_s)  # fmt: skip

    def cancel(self, order_id: str, *, deadline_s: float) -> dict:
        return self.call("cancel", self.client.cancel_order, OrderPayload(orderID=order_id),
                         deadline_s=deadline_s)  # fmt: skip

    def cancel_many(self, order_ids: list[str], *, deadline_s: float) -> dict:
        return self.call("cancel", self.client.cancel_orders, order_ids, deadline_s=deadline_s)

    def cancel_all(self, *, deadline_s: float) -> dict:
        return self.call("cancel_all", self.client.cancel_all, deadline_s=deadline_s)

    def get_order(self, order_id: str, *, deadline_s: float) -> dict | None:
        try:
            return self.call("get_order", self.client.get_order, order_id, deadline_s=deadline_s)
        except VenueRejected as exc:
            if exc.status == 404:
                return None  # the venue never saw it
            raise

    def open_orders(self, *, deadline_s: float) -> list[dict]:
        return self.call("open_orders", self.client.get_open_orders, deadline_s=deadline_s)

    def trades(self, *, after_s: int = 0, deadline_s: float) -> list[dict]:
        params = TradeParams(after=after_s) if after_s else None
        return self.call("fills", self.client.get_trades, params, deadline_s=deadline_s)

    def balance(self, *, deadline_s: float) -> dict:
        params = BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
        return self.call("balance", self.client.get_balance_allowance, params,
                         deadline_s=deadline_s)  # fmt: skip

    def heartbeat(self, beat_id: str, *, deadline_s: float) -> dict:
        """One beat of the dead-man switch (reference §4.8): the answer carries the id the
        next beat must send. A beat with a stale id is refused 400 with the id the venue
        expects: raised as ``HeartbeatRejected`` carrying it."""
        try:
            return self.call("heartbeat", self.client.post_heartbeat, beat_id,
                             deadline_s=deadline_s)  # fmt: skip
        except VenueRejected as exc:
            body = getattr(exc.__cause__, "error_msg", None)
            expected = body.get("heartbeat_id") if isinstance(body, dict) else None
            if not expected:
                raise
            raise HeartbeatRejected(str(exc), expected_id=str(expected),
                                    status=exc.status) from exc  # fmt: skip
