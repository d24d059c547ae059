"""The simulated Polymarket CLOB: matching kernels, simulated venue, backtests, synthetic data."""

from exchange_mock.backtest import Backtest
from exchange_mock.sim_venue import SimVenue

__all__ = ["Backtest", "SimVenue"]
