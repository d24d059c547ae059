"""Helpers shared by tests (import from here, not from conftest)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sim.types import MarketInfo

DAY = dt.date(2026, 11, 2)
#: ../shared/fixtures/polymarket beside the checkout (CI lays shared/ there too).
SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "polymarket"


def make_market(i: int, tick: float = 0.01, **kw: object) -> MarketInfo:
    """A realistic-looking binary market with 77-digit token ids."""
    base = 10**76 + 7919 * (i + 1)
    return MarketInfo(
        condition_id="0x" + f"{i + 1:064x}",
        question=f"Test market {i}?",
        yes_token_id=str(base),
        no_token_id=str(base + 1),
        tick_size=tick,
        slug=f"test-market-{i}",
        **kw,
    )
