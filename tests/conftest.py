"""Pytest configuration: hypothesis profiles and shared fixtures."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from sim.types import MarketInfo
from tests.helpers import make_market

# The suite never shares replay-ready days with a developer's cache (sim.marketdata.day_cache);
# the tests of the cache switch it on for themselves.
os.environ["CLOBSIM_DAY_CACHE"] = "off"

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def two_markets() -> list[MarketInfo]:
    return [make_market(0, 0.01, fee_rate=0.07), make_market(1, 0.001, neg_risk=True)]
