"""The simulated Polymarket CLOB: matching kernels, simulated venue, backtests, synthetic data."""

from exchange_mock.backtest import Backtest
from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.replay_driver import ReplayDriver
from exchange_mock.sim_venue import SimVenue, replay_venue

__all__ = ["Backtest", "MatchingVenue", "ReplayDriver", "SimVenue", "replay_venue"]
