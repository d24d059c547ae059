"""The silence watchdog (``executor.feed_silence_s``) in a backtest: market data the
strategy is subscribed to counts as data. (It once did not: rows of subscribed assets
went to the strategy without moving the watchdog's clock, so every backtest of a
subscribing strategy read as "no market data" and refused all new risk.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_mock.faults import FaultSpec
from sim.executor import ExecutorConfig
from tests.test_faults_helpers import S, Script, backtest, buy, plan, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("feed_watchdog"))


def test_a_subscribed_flowing_feed_is_never_judged_silent(root: Path) -> None:
    strategy = Script((30.0, buy(0.47, 5.0)))
    res, bt, _ = backtest(root, strategy, executor=ExecutorConfig(feed_silence_s=2.0))
    assert strategy.books  # it is subscribed: its rows are delivered one by one
    assert bt.executor.feed_events == []
    assert strategy.results[0].accepted and len(res.refusals) == 0


def test_a_silent_window_is_detected_and_cleared(root: Path) -> None:
    fault = plan(FaultSpec("ws_silent", at_s=10.0, duration_s=10.0))
    strategy = Script((15.0, buy(0.47, 5.0)), (40.0, buy(0.47, 5.0)))
    _, bt, _ = backtest(root, strategy, fault, executor=ExecutorConfig(feed_silence_s=2.0))
    (t_down, down, why), (t_up, up, _) = bt.executor.feed_events
    assert (down, up, why) == (False, True, "no market data")
    start = bt.session.start_ns
    assert start + 12 * S <= t_down <= start + 13 * S and t_up >= start + 20 * S
    refused, accepted = strategy.results
    assert not refused.accepted and refused.reason == "feed_down"
    assert accepted.accepted
