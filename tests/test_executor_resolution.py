"""Fills heard of after their market resolved (a stalled answer) are settled, live and on
replay, so our positions match the venue's (found by the weakened-settings validation)."""

from __future__ import annotations

import pytest

from sim.events import MarketResolved
from tests.test_engine import NO, YES, M, Recorder, build


class Buyer(Recorder):
    def on_start(self, ctx):
        super().on_start(ctx)
        self.ack = ctx.orders.buy(YES, 0.4, 10.0)


@pytest.mark.parametrize("winner", [YES, NO])
def test_a_fill_after_resolution_is_settled_at_once(winner: str) -> None:
    s = Buyer()
    eng, venue, ex, _ = build(s, [MarketResolved(500, 500, M.condition_id, (YES, NO), winner)])
    eng.start()
    eng.run_until(600)  # the resolution is delivered first ...
    assert ex.tracker.positions.get(YES, 0.0) == 0.0
    venue.fill(s.ack.client_order_id, 10.0)  # ... then the fill of an order matched before
    eng.run(end_ns=1_000)
    payout = 1.0 if winner == YES else 0.0
    assert ex.tracker.positions.get(YES, 0.0) == 0.0  # not a stale position forever
    assert ex.tracker.cash_usdc == pytest.approx(100.0 - 4.0 + 10.0 * payout)


def test_a_fill_before_resolution_settles_once() -> None:
    s = Buyer()
    eng, venue, ex, _ = build(s, [MarketResolved(500, 500, M.condition_id, (YES, NO), YES)])
    eng.start()
    eng.run_until(100)
    venue.fill(s.ack.client_order_id, 10.0)
    eng.run(end_ns=1_000)
    assert ex.tracker.cash_usdc == pytest.approx(100.0 - 4.0 + 10.0)
