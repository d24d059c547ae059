"""Signed V2 orders as ``POST /order`` carries them (protocol reference §4.1, §4.3).

The body is ``{"order": {...signed fields..., "signature"}, "owner", "orderType",
"postOnly", "deferExec"}``. The order id is the EIP-712 hash of the signed
struct under the CTF Exchange V2 domain (the neg-risk exchange for neg-risk
markets); the signature must recover to ``signer``, which must be the API key's
wallet. Prices come from the amounts: a BUY gives ``makerAmount`` USDC for
``takerAmount`` shares, a SELL the reverse, both in 1e-6 units; a limit order's
price must lie on the market's tick. ``expiration`` is sent but not signed.

Signature types 0-2 (EOA, proxy, Safe: ECDSA by the signer) are verified;
type 3 (ERC-1271 deposit wallets) is refused ``invalid signature``: the mock
has no contract wallet to ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import EncodingError
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_address, keccak

from exchange_mock.server.auth import CHAIN_ID
from sim.types import OrderType, Side

#: CTF Exchange V2 contracts on Polygon (verifyingContract of the order domain).
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
UNITS = 1_000_000  # pUSD and outcome tokens have 6 decimals

_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
_ORDER = [
    {"name": n, "type": t}
    for n, t in (
        ("salt", "uint256"),
        ("maker", "address"),
        ("signer", "address"),
        ("tokenId", "uint256"),
        ("makerAmount", "uint256"),
        ("takerAmount", "uint256"),
        ("side", "uint8"),
        ("signatureType", "uint8"),
        ("timestamp", "uint256"),
        ("metadata", "bytes32"),
        ("builder", "bytes32"),
    )
]
#: the signed integer fields but ``side`` (sent as "BUY"/"SELL"): their widths in bits
_UINT_BITS = {"salt": 256, "tokenId": 256, "makerAmount": 256, "takerAmount": 256,
              "signatureType": 8, "timestamp": 256}  # fmt: skip
_V1_ONLY = ("taker", "nonce", "feeRateBps")
_TYPES = {t.value: t for t in OrderType}


class OrderInvalid(Exception):
    """A body the venue refuses (400 ``{"error": message}``) before matching."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SignedOrder:
    order_id: str  # 0x + the EIP-712 hash: the venue's order id
    maker: str
    signer: str
    token_id: str
    side: Side
    price: float
    size_shares: float
    maker_amount: int
    taker_amount: int
    expiration_s: int  # 0: none
    order_type: OrderType
    post_only: bool
    defer_exec: bool
    owner: str  # the API key named in the body
    signature_type: int
    timestamp_ms: int


def order_hash(order: dict[str, Any], neg_risk: bool, chain_id: int = CHAIN_ID):
    """(order id, encoded typed data) of the signed fields of ``order``.

    Raises ``KeyError``/``ValueError``/``TypeError`` naming the field when one cannot be
    encoded as its EIP-712 type (out of range, not an address, not 32 bytes)."""
    message: dict[str, Any] = {}
    for k, bits in _UINT_BITS.items():
        value = int(order[k])
        if not 0 <= value < 1 << bits:
            raise ValueError(f"field '{k}' is out of range for uint{bits}")
        message[k] = value
    for k in ("maker", "signer"):
        if not isinstance(order[k], str) or not is_address(order[k]):
            raise ValueError(f"field '{k}' is not an address")
        message[k] = order[k]
    for k in ("metadata", "builder"):
        try:
            message[k] = bytes.fromhex(order[k].removeprefix("0x"))
        except (AttributeError, ValueError):
            raise ValueError(f"field '{k}' is not a hex string") from None
        if len(message[k]) != 32:
            raise ValueError(f"field '{k}' is not 32 bytes")
    message["side"] = 0 if order["side"] == "BUY" else 1
    typed = {
        "types": {"EIP712Domain": _DOMAIN, "Order": _ORDER},
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": chain_id,
            "verifyingContract": NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2,
        },
        "message": message,
    }
    encoded = encode_typed_data(full_message=typed)
    digest = keccak(b"\x19" + encoded.version + encoded.header + encoded.body)
    return "0x" + digest.hex(), encoded


def _field(obj: dict, name: str, kind: type | tuple[type, ...]):
    if name not in obj:
        raise OrderInvalid(f"invalid order: missing field '{name}'")
    value = obj[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise OrderInvalid(f"invalid order: field '{name}' has the wrong type")
    return value


def parse_signed_order(
    body: Any, *, neg_risk: bool, tick: float, chain_id: int = CHAIN_ID
) -> SignedOrder:
    """Check one ``POST /order`` body (or one element of ``POST /orders``).

    ``neg_risk`` and ``tick`` are the market's (look the token up first: an unknown
    token is the caller's 400). Raises ``OrderInvalid`` with the venue's message.
    """
    if not isinstance(body, dict):
        raise OrderInvalid("invalid order: the body is not a JSON object")
    order = _field(body, "order", dict)
    if any(k in order for k in _V1_ONLY) or "timestamp" not in order:
        raise OrderInvalid("order_version_mismatch")
    side_raw = _field(order, "side", str)
    if side_raw not in ("BUY", "SELL"):
        raise OrderInvalid(f"invalid order: side '{side_raw}'")
    otype = _TYPES.get(_field(body, "orderType", str))
    if otype is None:
        raise OrderInvalid(f"invalid order type '{body['orderType']}'")
    try:
        oid, encoded = order_hash(order, neg_risk, chain_id)
        maker_amt, taker_amt = int(order["makerAmount"]), int(order["takerAmount"])
        expiration = int(order.get("expiration", "0") or 0)
        sig_type = int(order["signatureType"])
    except KeyError as exc:
        raise OrderInvalid(f"invalid order: missing field {exc}") from None
    except (ValueError, TypeError, AttributeError, OverflowError, EncodingError) as exc:
        raise OrderInvalid(f"invalid order: {exc}") from None
    if sig_type == 3:
        raise OrderInvalid("invalid signature")
    try:
        recovered = Account.recover_message(encoded, signature=_field(order, "signature", str))
    except Exception:
        raise OrderInvalid("invalid signature") from None
    if recovered.lower() != str(order["signer"]).lower():
        raise OrderInvalid("invalid signature")
    if maker_amt <= 0 or taker_amt <= 0:
        raise OrderInvalid(f"order {oid} is invalid. Size (0) lower than the minimum: 1")
    side = Side.BUY if side_raw == "BUY" else Side.SELL
    usdc, shares = (maker_amt, taker_amt) if side is Side.BUY else (taker_amt, maker_amt)
    price = usdc / shares
    on_tick = round(price / tick) * tick
    if otype.rests:  # a limit order states its price exactly
        if abs(price - on_tick) > 1e-9:
            raise OrderInvalid("order is invalid. Price breaks minimum tick size rules")
        price = on_tick
    else:  # a marketable order's implied price may be off the tick: its limit, inward
        price = _limit_on_tick(price, tick, side)
    post_only = bool(body.get("postOnly", False))
    if post_only and not otype.rests:
        raise OrderInvalid("invalid post-only order: only GTC and GTD order types are allowed")
    if otype is OrderType.GTD and expiration <= 0:
        raise OrderInvalid("invalid expiration")
    return SignedOrder(
        order_id=oid,
        maker=str(order["maker"]),
        signer=recovered,
        token_id=str(order["tokenId"]),
        side=side,
        price=round(price, 6),
        size_shares=shares / UNITS,
        maker_amount=maker_amt,
        taker_amount=taker_amt,
        expiration_s=expiration,
        order_type=otype,
        post_only=post_only,
        defer_exec=bool(body.get("deferExec", False)),
        owner=str(body.get("owner", "")),
        signature_type=sig_type,
        timestamp_ms=int(order["timestamp"]),
    )


def _limit_on_tick(price: float, tick: float, side: Side) -> float:
    """A marketable order's limit on the tick grid, never beyond what it signed: a BUY
    pays at most ``price`` (round down), a SELL takes at least it (round up)."""
    steps = price / tick
    n = int(steps + 1e-9) if side is Side.BUY else -int(-steps + 1e-9)
    return max(tick, min(1.0 - tick, n * tick))
