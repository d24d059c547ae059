"""The account's funds at the simulated venue: collateral, allowance, reservations.

Funds are enforced as Polymarket enforces them (reference 4.7, 7): an order the
account cannot pay for never reaches the book and is answered ``not enough
balance / allowance``. A BUY needs ``price * size`` USDC beyond what our open
BUYs reserve, out of the cash and out of the allowance; a SELL needs the shares
beyond what our open SELLs of that token reserve (there is no shorting). So a
backtest catches an executor that over-sends.
"""

from __future__ import annotations

from collections.abc import Mapping

from exchange_mock.clob.engine import SimBook
from exchange_mock.clob.state import OF_FILLED, OF_PRICE, OF_SIZE, OI_MARKET, OI_OUTCOME, OI_SIDE
from sim.types import OrderRequest, Side

#: Polymarket's refusal of an order the account cannot pay for, collateral or tokens alike
#: (reference 1 "zero balance", 4.7, 7); a venue-level check, so not a kernel code
NOT_ENOUGH_BALANCE = "not_enough_balance"
NOT_ENOUGH_BALANCE_MESSAGE = "not enough balance / allowance"
_FUNDS_EPS = 1e-9  # float slack on USDC and shares (the kernels' EPS)


class VenueFunds:
    """Reads the matching engine's cash, positions and our resting orders (``open_oids``,
    the venue's own live map, shared not copied); holds the allowance."""

    def __init__(self, clob: SimBook, open_oids: Mapping[int, object],
                 allowance_usdc: float | None = None) -> None:  # fmt: skip
        self._clob = clob
        self._open = open_oids
        self.allowance_usdc: float | None = None
        self.approve(allowance_usdc)

    def approve(self, allowance_usdc: float | None) -> None:
        """Set the collateral allowance, as an on-chain approval does (None: unlimited)."""
        if allowance_usdc is not None and not allowance_usdc >= 0.0:  # NaN fails too
            raise ValueError(f"allowance_usdc must be >= 0 or None, got {allowance_usdc!r}")
        self.allowance_usdc = None if allowance_usdc is None else float(allowance_usdc)

    def spend(self, usdc: float) -> None:
        """A BUY fill's collateral moved (the ERC-20 ``transferFrom`` uses the approval up)."""
        if self.allowance_usdc is not None:
            self.allowance_usdc -= usdc

    def reserved(self, side: Side, asset: int | None = None) -> float:
        """What our open orders on ``side`` hold back: USDC (price * remaining) for BUYs,
        shares (remaining) for SELLs; of one asset index, or of all when None. Read from
        the order tables, so a partial fill has already released its part. (A loop: open
        orders are few, and numpy's fixed cost is some twenty of these rows.)"""
        oi, of = self._clob.a.oi, self._clob.a.of
        sd, total = int(side), 0.0
        for oid in self._open:  # resting orders only (the venue drops the rest)
            row = oi[oid]
            if row[OI_SIDE] != sd or (
                asset is not None and 2 * row[OI_MARKET] + row[OI_OUTCOME] != asset
            ):
                continue
            f = of[oid]
            remaining = f[OF_SIZE] - f[OF_FILLED]
            total += remaining * f[OF_PRICE] if sd == 1 else remaining
        return float(total)

    def available_usdc(self) -> float:
        """USDC a new BUY may still commit: cash (and allowance) less open BUYs' reservations."""
        spendable = self._clob.cash_usdc
        if self.allowance_usdc is not None:
            spendable = min(spendable, self.allowance_usdc)
        return spendable - self.reserved(Side.BUY)

    def funded(self, order: OrderRequest) -> bool:
        """Can the account pay for ``order``? A BUY commits ``price * size`` USDC whatever
        its type (Polymarket's order amount; fills at better prices cost less); a SELL
        commits its shares."""
        if order.side is Side.BUY:
            return order.price * order.size_shares <= self.available_usdc() + _FUNDS_EPS
        ai = self._clob.asset(order.asset_id)
        free = self._clob.position(ai) - self.reserved(Side.SELL, ai)
        return order.size_shares <= free + _FUNDS_EPS
