"""Average cost, realised P&L and round trips per market.

A round trip is the life of a market position from the first share bought to
the moment the market holds no shares again (sold or settled). Its realised
P&L feeds the consecutive-losses and cooldown breakers.

Average cost depends on the order of fills, so a fill the venue undid (a trade
that FAILED on chain) cannot be subtracted: ``reverse`` rebuilds the ledger from
what it was given (fills and settlements, in order) without that fill, which is
what the ledger would hold had the fill never happened.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.types import Fill, Side

#: a settlement in the ledger's history: (asset, payout per share)
_Settled = tuple[str, float]

EPS = 1e-9


@dataclass
class _Book:
    shares: float = 0.0
    cost_usdc: float = 0.0  # cost basis of the shares held


class PnlLedger:
    def __init__(self, market_of: dict[str, str]) -> None:
        self._market_of = market_of
        self._assets: dict[str, _Book] = {}
        self._open_pnl: dict[str, float] = {}  # realised P&L of the market's open round trip
        self.realized_usdc = 0.0
        self.realized_by_market: dict[str, float] = {}
        #: what was applied since the start (or ``restore``), in order: ``reverse`` replays it
        self._history: list[Fill | _Settled] = []
        self._base: dict | None = None  # the restored state the history starts from

    def avg_cost(self, asset_id: str) -> float:
        b = self._assets.get(asset_id)
        return b.cost_usdc / b.shares if b and b.shares > EPS else 0.0

    def on_fill(self, fill: Fill) -> float | None:
        """Apply a fill; returns the market's round-trip P&L when this fill closed it."""
        self._history.append(fill)
        return self._apply(fill)

    def _apply(self, fill: Fill) -> float | None:
        b = self._assets.setdefault(fill.asset_id, _Book())
        market = self._market_of.get(fill.asset_id, fill.asset_id)
        if fill.side is Side.BUY:
            b.shares += fill.size_shares - fill.fee_shares
            b.cost_usdc += fill.price * fill.size_shares
            self._open_pnl.setdefault(market, 0.0)
            return None
        avg = b.cost_usdc / b.shares if b.shares > EPS else fill.price
        sold = min(fill.size_shares, max(b.shares, 0.0))
        pnl = (fill.price - avg) * sold - fill.fee_usdc
        b.cost_usdc -= avg * sold
        b.shares -= fill.size_shares
        return self._realise(market, pnl)

    def settle(self, asset_id: str, payout: float) -> float | None:
        """The asset's market resolved at ``payout`` per share."""
        self._history.append((asset_id, payout))
        return self._settle(asset_id, payout)

    def reverse(self, trade_id: str) -> bool:
        """Rebuild the ledger as if the fill ``trade_id`` had never been applied; False
        (nothing changed) when no such fill was. Round trips are not reported again."""
        history = self._history
        i = next((i for i in range(len(history) - 1, -1, -1)
                  if isinstance(history[i], Fill) and history[i].trade_id == trade_id),
                 None)  # fmt: skip
        if i is None:
            return False
        del history[i]
        self._reset(self._base)
        for item in history:
            if isinstance(item, Fill):
                self._apply(item)
            else:
                self._settle(*item)
        return True

    def _settle(self, asset_id: str, payout: float) -> float | None:
        b = self._assets.pop(asset_id, None)
        market = self._market_of.get(asset_id, asset_id)
        if b is None or abs(b.shares) <= EPS:
            return self._realise(market, 0.0) if market in self._open_pnl else None
        return self._realise(market, b.shares * payout - b.cost_usdc)

    def _realise(self, market: str, pnl: float) -> float | None:
        self.realized_usdc += pnl
        self.realized_by_market[market] = self.realized_by_market.get(market, 0.0) + pnl
        if market not in self._open_pnl:
            return None
        self._open_pnl[market] += pnl
        held = any(
            abs(b.shares) > EPS for a, b in self._assets.items() if self._market_of.get(a) == market
        )
        if held:
            return None
        return self._open_pnl.pop(market)

    def pnl_by_market(self, mark) -> dict[str, float]:
        """Realised plus unrealised P&L per market; ``mark(asset)`` prices open shares."""
        out = dict(self.realized_by_market)
        for asset, b in self._assets.items():
            if abs(b.shares) > EPS:
                market = self._market_of.get(asset, asset)
                out[market] = out.get(market, 0.0) + b.shares * mark(asset) - b.cost_usdc
        return out

    def state(self) -> dict:
        return {
            "assets": {a: [b.shares, b.cost_usdc] for a, b in self._assets.items()},
            "open_pnl": dict(self._open_pnl),
            "realized_usdc": self.realized_usdc,
            "realized_by_market": dict(self.realized_by_market),
        }

    def restore(self, state: dict) -> None:
        self._reset(state)
        self._history = []
        self._base = self.state()  # a copy: what the caller holds may change

    def _reset(self, state: dict | None) -> None:
        state = state or {}
        self.realized_by_market = dict(state.get("realized_by_market", {}))
        self._assets = {a: _Book(s, c) for a, (s, c) in state.get("assets", {}).items()}
        self._open_pnl = dict(state.get("open_pnl", {}))
        self.realized_usdc = float(state.get("realized_usdc", 0.0))
