"""Domain types validate at construction with specific messages."""

from __future__ import annotations

import pytest

from sim.errors import ConfigError
from sim.types import (
    MarketInfo,
    OrderRequest,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
    check_tick_size,
    taker_fee_usdc,
)
from tests.helpers import make_market


def test_fee_formula_matches_polymarket_example() -> None:
    # reference 5: 100 crypto shares @ 0.50 -> 100 * 0.07 * 0.25 = 1.75 USDC
    assert taker_fee_usdc(100, 0.5, 0.07) == pytest.approx(1.75)
    assert taker_fee_usdc(100, 0.5, 0.0) == 0.0
    assert taker_fee_usdc(100, 0.9, 0.07) < taker_fee_usdc(100, 0.5, 0.07)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"price": 0.0}, "outside"),
        ({"price": 1.0}, "outside"),
        ({"size_shares": 0.0}, "positive"),
        ({"post_only": True, "order_type": OrderType.FOK}, "post_only"),
        ({"order_type": OrderType.GTD}, "expire_ns"),
        ({"expire_ns": 5}, "expire_ns"),
        ({"client_order_id": ""}, "client_order_id"),
    ],
)
def test_order_request_refuses_bad_fields(kw: dict, message: str) -> None:
    base = {
        "client_order_id": "c1",
        "asset_id": "1",
        "side": Side.BUY,
        "price": 0.5,
        "size_shares": 10.0,
    }
    with pytest.raises(ValueError, match=message):
        OrderRequest(**{**base, **kw})


def test_tick_sizes() -> None:
    assert check_tick_size(0.001) == 0.001
    with pytest.raises(ConfigError, match="tick_size"):
        check_tick_size(0.005)


def test_market_outcomes_and_complement() -> None:
    m = make_market(3)
    assert m.outcome_of(m.yes_token_id) is Outcome.YES
    assert m.complement_of(m.no_token_id) == m.yes_token_id
    with pytest.raises(KeyError):
        m.outcome_of("42")
    with pytest.raises(ValueError, match="equal"):
        MarketInfo("0x1", "q", "5", "5", 0.01)
    with pytest.raises(ValueError, match="resolution"):
        make_market(1, resolution="MAYBE")


def test_side_and_status_helpers() -> None:
    assert Side.parse(" buy ") is Side.BUY
    with pytest.raises(ValueError, match="BUY or SELL"):
        Side.parse("hold")
    assert OrderStatus.FILLED.terminal and not OrderStatus.UNKNOWN.terminal
