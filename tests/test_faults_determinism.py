"""Same plan and seed: the same injections and the same results. Another seed: others."""

from __future__ import annotations

from pathlib import Path

import pytest

from exchange_mock.faults import FaultInjector, FaultPlan, FaultSpec
from sim.strategy import Strategy
from sim.types import OrderType
from tests.test_faults_helpers import YES, backtest, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("faults_det"))


class Busy(Strategy):
    """Re-quotes a bid every 0.5 s and takes a little every 2 s."""

    def on_start(self, ctx) -> None:
        ctx.subscribe([YES])
        ctx.schedule("quote", every_s=0.5)
        self.n = 0
        self.cid = None

    def on_timer(self, ctx, name) -> None:
        self.n += 1
        if self.cid is not None:
            ctx.orders.cancel(self.cid)
        ack = ctx.orders.buy(YES, 0.40 + 0.01 * (self.n % 5), 5.0)
        self.cid = ack.client_order_id if ack.accepted else None
        if self.n % 4 == 0:
            ctx.orders.buy(YES, 0.54, 2.0, order_type=OrderType.FAK)


PLAN = FaultPlan(
    (
        FaultSpec("server_error", calls=("place", "cancel"), rate=0.15),
        FaultSpec("delay", calls=("cancel",), rate=0.1, delay_s=8.0),
        FaultSpec("lost_response", rate=0.05),
        FaultSpec("rate_limit", calls=("balance",), rate=0.2, retry_after_s=0.5),
        FaultSpec("slippage", rate=0.3, slippage_ticks=1),
        FaultSpec("partial_fill", rate=0.3, fill_fraction=0.5),
        FaultSpec("ws_silent", rate=0.01, duration_s=3.0),
        FaultSpec("stale_book", rate=0.01, duration_s=2.0),
        FaultSpec("clock_skew", between_s=(30.0, 45.0), skew_s=1.5),
    ),
    seed=11,
)


def run(root: Path, plan: FaultPlan):
    res, _, inj = backtest(root, Busy(), plan)
    return res, inj


def test_same_plan_and_seed_give_identical_injections_and_results(root: Path) -> None:
    a, inj_a = run(root, PLAN)
    b, inj_b = run(root, PLAN)
    assert inj_a.injections == inj_b.injections
    assert len(inj_a.injections) > 20 and len(inj_a.counts) >= 6
    for name in ("orders", "fills", "equity", "refusals"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_another_seed_gives_other_injections(root: Path) -> None:
    _, inj_a = run(root, PLAN)
    _, inj_c = run(root, PLAN.with_seed(12))
    assert inj_a.injections != inj_c.injections


def test_an_injector_reused_for_a_second_run_starts_afresh(root: Path) -> None:
    from exchange_mock import Backtest
    from sim.risk import RiskConfig

    inj = FaultInjector(PLAN)
    records = []
    for _ in range(2):
        Backtest(strategy=Busy(), data=root, fault_hook=inj, risk=RiskConfig(enabled=False)).run()
        records.append(list(inj.injections))
    assert records[0] == records[1]


def test_each_spec_draws_from_its_own_seeded_generator() -> None:
    """Adding a spec does not change what the others inject (one generator per spec)."""

    def fires(plan: FaultPlan) -> list[tuple[int, str]]:
        inj = FaultInjector(plan, start_ns=0)
        for i in range(500):
            inj.on_call("place", i * 10**9)
            inj.on_call("cancel", i * 10**9 + 1)
        return [(x.ts_ns, x.kind) for x in inj.injections if x.kind == "server_error"]

    base = FaultPlan((FaultSpec("server_error", rate=0.1),), seed=2)
    extra = FaultSpec("delay", calls=("cancel",), rate=0.5, delay_s=1.0)
    more = FaultPlan((*base.specs, extra), seed=2)
    assert fires(base) == fires(more) and len(fires(base)) > 20
    assert fires(base) != fires(base.with_seed(3))


def test_schedules_at_every_n_between_and_max_count() -> None:
    plan = FaultPlan((
        FaultSpec("server_error", at_s=10.0),
        FaultSpec("rate_limit", calls=("cancel",), every_n=3, max_count=2),
        FaultSpec("lost_response", calls=("get_order",), between_s=(5.0, 8.0)),
        FaultSpec("zero_balance", at_s=4.0, duration_s=2.0),
    ))  # fmt: skip
    inj = FaultInjector(plan, start_ns=0)
    for i in range(20):
        for call in ("place", "cancel", "get_order", "balance"):
            inj.on_call(call, i * 10**9)
    by = {}
    for x in inj.injections:
        by.setdefault(x.kind, []).append(x.ts_ns // 10**9)
    assert by == {
        "server_error": [10],  # once, at the first place at or after 10 s
        "rate_limit": [2, 5],  # every 3rd cancel, twice
        "lost_response": [5, 6, 7],  # every get_order in [5, 8)
        "zero_balance": [4, 5],  # every balance call in [4, 6)
    }
