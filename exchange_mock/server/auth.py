"""Authentication as the CLOB does it (protocol reference §2).

* **L1** (``POST /auth/api-key``, ``GET /auth/derive-api-key``): an EIP-712
  ``ClobAuth`` signature by the wallet named in ``POLY_ADDRESS``.
* **L2** (every trading and account call): ``POLY_API_KEY`` and
  ``POLY_PASSPHRASE`` of credentials issued to ``POLY_ADDRESS``, and
  ``POLY_SIGNATURE`` = urlsafe-base64 HMAC-SHA256, keyed by the decoded secret,
  of ``timestamp + METHOD + path (no query) + body`` (the exact body bytes sent).

Failures answer 401 with the venue's messages. Credentials are derived from the
server's own secret and (address, nonce): deriving again gives the same ones,
as the venue's ``derive-api-key`` does. Nothing here logs a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from eth_account import Account
from eth_account.messages import encode_typed_data

CHAIN_ID = 137
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
INVALID_L1 = "Invalid L1 Request headers"
INVALID_KEY = "Unauthorized/Invalid api key"
#: How far an L1/L2 timestamp may be from the server's wall clock. Polymarket's own
#: tolerance is not documented (reference §2: "allowed skew unconfirmed").
MAX_SKEW_S = 300

_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
]
_CLOB_AUTH = [
    {"name": "address", "type": "address"},
    {"name": "timestamp", "type": "string"},
    {"name": "nonce", "type": "uint256"},
    {"name": "message", "type": "string"},
]


class AuthError(Exception):
    """A request refused before it acts: ``status`` and the venue's ``message``."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ApiCreds:
    api_key: str
    secret: str  # urlsafe base64, as the client decodes it
    passphrase: str
    address: str  # the wallet (checksummed) they were issued to

    def as_json(self) -> dict[str, str]:
        return {"apiKey": self.api_key, "secret": self.secret, "passphrase": self.passphrase}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise AuthError(INVALID_L1 if name == "POLY_NONCE" else INVALID_KEY)
    return value


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two header strings. ``hmac.compare_digest`` refuses
    non-ASCII ``str`` (a ``TypeError``), so compare their bytes: any value a client
    sends is then just unequal, never a 500."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


def _check_timestamp(raw: str, wall_now_s: float, message: str) -> None:
    try:
        ts = int(raw)
    except ValueError:
        raise AuthError(message) from None
    if abs(ts - wall_now_s) > MAX_SKEW_S:
        raise AuthError(message)


class Authenticator:
    """Issues and checks credentials. ``server_secret`` seeds key derivation (random per
    server unless given: tests pass one for stable keys)."""

    def __init__(self, server_secret: bytes | None = None, chain_id: int = CHAIN_ID) -> None:
        self._secret = server_secret if server_secret is not None else secrets.token_bytes(32)
        self.chain_id = chain_id
        self._by_key: dict[str, ApiCreds] = {}

    # ------------------------------------------------------------------ L1
    def verify_l1(self, headers: Mapping[str, str], wall_now_s: float) -> tuple[str, int]:
        """The (checksummed address, nonce) an L1 request proves control of."""
        address = headers.get("POLY_ADDRESS", "")
        signature = headers.get("POLY_SIGNATURE", "")
        ts_raw = headers.get("POLY_TIMESTAMP", "")
        nonce_raw = headers.get("POLY_NONCE", "0") or "0"
        if not (address and signature and ts_raw):
            raise AuthError(INVALID_L1)
        _check_timestamp(ts_raw, wall_now_s, INVALID_L1)
        try:
            nonce = int(nonce_raw)
            typed = {
                "types": {"EIP712Domain": _DOMAIN, "ClobAuth": _CLOB_AUTH},
                "primaryType": "ClobAuth",
                "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": self.chain_id},
                "message": {
                    "address": address,
                    "timestamp": ts_raw,
                    "nonce": nonce,
                    "message": CLOB_AUTH_MESSAGE,
                },
            }
            signer = Account.recover_message(
                encode_typed_data(full_message=typed), signature=signature
            )
        except Exception:  # malformed address, nonce or signature: all the same answer
            raise AuthError(INVALID_L1) from None
        if signer.lower() != address.lower():
            raise AuthError(INVALID_L1)
        return signer, nonce

    def creds_for(self, address: str, nonce: int) -> ApiCreds:
        """The credentials of (address, nonce): the same every time they are derived."""
        seed = hmac.new(self._secret, f"{address.lower()}:{nonce}".encode(), hashlib.sha256)
        d = seed.digest()
        creds = ApiCreds(
            api_key=str(uuid.UUID(bytes=d[:16], version=4)),
            secret=base64.urlsafe_b64encode(hashlib.sha256(d + b"secret").digest()).decode(),
            passphrase=hashlib.sha256(d + b"passphrase").hexdigest()[:32],
            address=address,
        )
        self._by_key[creds.api_key] = creds
        return creds

    # ------------------------------------------------------------------ L2
    def verify_l2(
        self, headers: Mapping[str, str], method: str, path: str, body: str, wall_now_s: float
    ) -> ApiCreds:
        """The credentials a signed trading request was made with."""
        creds = self._by_key.get(_header(headers, "POLY_API_KEY"))
        if creds is None or not _same(_header(headers, "POLY_PASSPHRASE"), creds.passphrase):
            raise AuthError(INVALID_KEY)
        if _header(headers, "POLY_ADDRESS").lower() != creds.address.lower():
            raise AuthError(INVALID_KEY)
        ts_raw = _header(headers, "POLY_TIMESTAMP")
        _check_timestamp(ts_raw, wall_now_s, INVALID_KEY)
        expected = l2_signature(creds.secret, ts_raw, method, path, body)
        if not _same(expected, _header(headers, "POLY_SIGNATURE")):
            raise AuthError(INVALID_KEY)
        return creds

    def creds_by_key(self, api_key: str) -> ApiCreds | None:
        return self._by_key.get(api_key)


def l2_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    """The L2 HMAC (reference §2): over ``timestamp + METHOD + path + body``."""
    msg = timestamp + method.upper() + path + (body.replace("'", '"') if body else "")
    mac = hmac.new(base64.urlsafe_b64decode(secret), msg.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode()
