"""Per-fill cash and position accounting, Polymarket fee rules (reference 5).

Taker fee in USDC: ``shares * rate * (p * (1 - p)) ** exponent``; makers pay
nothing. A BUY pays its fee in tokens (it receives ``shares - fee / p``); a
SELL pays it in USDC (it receives ``shares * p - fee``). ``p`` is the fill
price in the order's own token terms (for a NO fill, the NO price); the fee
is symmetric in p and 1-p, so a NO fill at q pays what a YES fill at 1-q does.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def taker_fee(shares: float, price: float, rate: float, exponent: float) -> float:
    """Fee in USDC (the same formula as ``sim.types.taker_fee_usdc``)."""
    return shares * rate * (price * (1.0 - price)) ** exponent


@njit(cache=True)
def fill_accounting(
    side: int, price: float, shares: float, is_taker: bool, rate: float, exponent: float
) -> tuple[float, float, float, float]:
    """(cash_delta, position_delta, fee_usdc, fee_shares) of one fill.

    ``side`` is +1 BUY / -1 SELL of the traded token; ``position_delta`` is the
    change of that token's position.
    """
    fee = taker_fee(shares, price, rate, exponent) if is_taker else 0.0
    if side > 0:
        fee_shares = fee / price if fee > 0.0 else 0.0
        return -shares * price, shares - fee_shares, fee, fee_shares
    return shares * price - fee, -shares, fee, 0.0
