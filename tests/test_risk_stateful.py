"""Stateful property test of RiskManager against an independent model.

Arbitrary interleavings of equity marks, fills, round trips, time passing (across
day boundaries and cooldown ends) and restarts. The model keeps money in integer
cents and recomputes every breaker condition from the observations alone; the
manager must refuse exactly when a condition holds, keep refusing until the
documented reset, record exactly the model's trips and resets, and a restarted
manager must stay indistinguishable from one that never restarted.
"""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sim.risk import RiskConfig, RiskManager

S = 1_000_000_000
HOUR = 3600 * S
DAY = 24 * HOUR
T0 = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp()) * S
ORDER = ("min_bankroll", "daily_loss", "consecutive_losses", "daily_trade_limit", "cooldown")
ORDER_IDS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
CENTS = st.integers(min_value=-3_000, max_value=3_000)


def usdc(cents: int) -> float:
    return cents / 100


class Model:
    """What the breakers must say, from the documented rules, in integer cents."""

    def __init__(self, cfg: RiskConfig, start_ns: int, equity_c: int) -> None:
        self.loss_c = round(cfg.daily_loss_usdc * 100)
        self.min_c = round(cfg.min_bankroll_usdc * 100)
        self.max_losses = cfg.max_consecutive_losses
        self.trade_limit = cfg.daily_trade_limit
        self.cooldown_ns = round(cfg.cooldown_after_loss_s * S)
        self.windows = cfg.cooldown_after_loss_windows
        self.window_ns = cfg.window_s * S
        self.offset_ns = cfg.day_boundary_utc_hour * HOUR
        self.rpt = Fraction(str(cfg.risk_per_trade))
        self.now = start_ns
        self.day = (start_ns - self.offset_ns) // DAY
        self.equity_c = equity_c
        self.cooldown_until = 0
        self.events: list[tuple[int, str, str]] = []
        self._new_day()
        self.status = dict.fromkeys(ORDER, False)
        self._record(start_ns)

    # -- the rules ------------------------------------------------------------------------
    def _new_day(self) -> None:
        self.day_start_c = self.equity_c
        self.loss_tripped = False
        self.bankroll_tripped = self.equity_c <= self.min_c
        self.run = 0
        self.run_tripped = False
        self.trades = 0
        self.counted: set[str] = set()

    def conditions(self, now: int) -> dict[str, bool]:
        return {
            "min_bankroll": self.bankroll_tripped,
            "daily_loss": self.loss_tripped,
            "consecutive_losses": self.run_tripped,
            "daily_trade_limit": self.trades >= self.trade_limit,
            "cooldown": now < self.cooldown_until,
        }

    def expected_reason(self) -> str | None:
        cond = self.conditions(self.now)
        return next((name for name in ORDER if cond[name]), None)

    def roll(self, t: int) -> None:
        """Time moves to ``t``: a new trading day starts with the last equity seen."""
        t = max(t, self.now)
        day = (t - self.offset_ns) // DAY
        if day > self.day:
            boundary = day * DAY + self.offset_ns
            self._record(boundary)
            self.day = day
            self._new_day()
            self._record(boundary)
        self.now = t
        self._record(t)

    def equity(self, cents: int) -> None:
        self.equity_c = cents
        if self.day_start_c - cents >= self.loss_c:
            self.loss_tripped = True
        if cents <= self.min_c:
            self.bankroll_tripped = True

    def fill(self, order_id: str, opens_risk: bool) -> None:
        if opens_risk and order_id not in self.counted:
            self.counted.add(order_id)
            self.trades += 1

    def round_trip(self, pnl_c: int) -> None:
        if pnl_c < 0:
            self.run += 1
            if self.run >= self.max_losses:
                self.run_tripped = True
            if self.cooldown_ns or self.windows:
                end = self.now + self.cooldown_ns
                if self.windows:
                    end = max(end, (self.now // self.window_ns + self.windows) * self.window_ns)
                self.cooldown_until = max(self.cooldown_until, end)
        elif pnl_c > 0:
            self.run = 0

    def settle(self) -> None:
        """An observation was applied at ``now``: record what it tripped."""
        self._record(self.now)

    def _record(self, at: int) -> None:
        """Trips and resets since the last look; a cooldown resets when it ended."""
        cond = self.conditions(at)
        new = []
        for name in ORDER:
            if cond[name] != self.status[name]:
                ended = name == "cooldown" and not cond[name]
                ts = self.cooldown_until if ended else at
                new.append((ts, name, "trip" if cond[name] else "reset"))
                self.status[name] = cond[name]
        self.events.extend(sorted(new, key=lambda e: e[0]))


class RiskMachine(RuleBasedStateMachine):
    @initialize(
        loss_c=st.integers(1, 5_000),
        min_c=st.integers(0, 20_000),
        equity_c=st.integers(0, 40_000),
        max_losses=st.integers(1, 4),
        trade_limit=st.integers(1, 4),
        cooldown_s=st.sampled_from([0.0, 1.0, 45.0, 600.0]),
        windows=st.integers(0, 2),
        window_s=st.sampled_from([60, 900, 3600]),
        hour=st.integers(0, 23),
        rpt=st.sampled_from([0.04, 0.1, 0.5, 1.0]),
        start_ns=st.integers(0, 2 * DAY),
    )
    def setup(
        self,
        loss_c: int,
        min_c: int,
        equity_c: int,
        max_losses: int,
        trade_limit: int,
        cooldown_s: float,
        windows: int,
        window_s: int,
        hour: int,
        rpt: float,
        start_ns: int,
    ) -> None:
        self.cfg = RiskConfig(
            daily_loss_usdc=usdc(loss_c),
            min_bankroll_usdc=usdc(min_c),
            max_consecutive_losses=max_losses,
            daily_trade_limit=trade_limit,
            cooldown_after_loss_s=cooldown_s,
            cooldown_after_loss_windows=windows,
            window_s=window_s,
            day_boundary_utc_hour=hour,
            risk_per_trade=rpt,
        )
        self.t = T0 + start_ns
        self.model = Model(self.cfg, self.t, equity_c)
        # ``mgr`` restarts now and then; ``twin`` never does. They must stay indistinguishable.
        self.mgr = RiskManager(self.cfg, clock_start_ns=self.t, start_equity_usdc=usdc(equity_c))
        self.twin = RiskManager(self.cfg, clock_start_ns=self.t, start_equity_usdc=usdc(equity_c))

    def both(self, method: str, *args: object, **kwargs: object) -> tuple[object, object]:
        return getattr(self.mgr, method)(*args, **kwargs), getattr(self.twin, method)(
            *args, **kwargs
        )

    # -- time ---------------------------------------------------------------------------------
    @rule(dt_ns=st.one_of(st.integers(0, 3), st.integers(0, 3600).map(lambda s: s * S)))
    def wait_a_little(self, dt_ns: int) -> None:
        self.t += dt_ns

    @rule(days=st.integers(0, 3), seconds=st.integers(0, 86_399))
    def wait_long(self, days: int, seconds: int) -> None:
        self.t += days * DAY + seconds * S

    @rule(offset=st.sampled_from([-1, 0, 1]))
    def wait_until_day_boundary(self, offset: int) -> None:
        boundary = (self.model.day + 1) * DAY + self.model.offset_ns
        self.t = max(self.t, boundary + offset)

    @precondition(lambda self: self.model.cooldown_until > self.t)
    @rule(offset=st.sampled_from([-1, 0, 1]))
    def wait_until_cooldown_end(self, offset: int) -> None:
        self.t = max(self.t, self.model.cooldown_until + offset)

    @rule()
    def timer_tick(self) -> None:
        self.model.roll(self.t)
        self.both("advance", self.t)

    # -- observations -------------------------------------------------------------------------
    @rule(delta_c=CENTS)
    def mark_equity(self, delta_c: int) -> None:
        cents = self.model.equity_c + delta_c
        self.model.roll(self.t)
        self.model.equity(cents)
        self.model.settle()
        self.both("on_equity", self.t, usdc(cents))

    @rule(
        target_c=st.integers(-5, 5),
        which=st.sampled_from(["loss", "bankroll"]),
    )
    def mark_equity_near_a_threshold(self, target_c: int, which: str) -> None:
        self.model.roll(self.t)
        base = self.model.day_start_c - self.model.loss_c if which == "loss" else self.model.min_c
        cents = base + target_c
        self.model.equity(cents)
        self.model.settle()
        self.both("on_equity", self.t, usdc(cents))

    @rule(order_id=ORDER_IDS, opens_risk=st.booleans(), delta_c=st.none() | CENTS)
    def fill(self, order_id: str, opens_risk: bool, delta_c: int | None) -> None:
        self.model.roll(self.t)
        equity = None
        if delta_c is not None:
            cents = self.model.equity_c + delta_c
            self.model.equity(cents)
            equity = usdc(cents)
        self.model.fill(order_id, opens_risk)
        self.model.settle()
        self.both("on_fill", self.t, order_id, opens_risk=opens_risk, equity_usdc=equity)

    @rule(pnl_c=st.integers(-500, 500) | st.sampled_from([-1, 0, 1]), delta_c=st.none() | CENTS)
    def round_trip(self, pnl_c: int, delta_c: int | None) -> None:
        self.model.roll(self.t)
        equity = None
        if delta_c is not None:
            cents = self.model.equity_c + delta_c
            self.model.equity(cents)
            equity = usdc(cents)
        self.model.round_trip(pnl_c)
        self.model.settle()
        self.both("on_round_trip", self.t, usdc(pnl_c), equity_usdc=equity)

    @rule()
    def restart(self) -> None:
        saved = json.loads(json.dumps(self.mgr.state()))
        fresh = RiskManager(self.cfg, clock_start_ns=0, start_equity_usdc=1.0)
        fresh.restore(saved)
        self.mgr = fresh

    # -- questions ------------------------------------------------------------------------------
    @rule()
    def ask(self) -> None:
        self.model.roll(self.t)
        got, twin = self.both("allow_new_risk", self.t)
        assert got == twin
        expected = self.model.expected_reason()
        if got is None:
            # "Never place after HALTED": nothing the model says is tripped.
            assert not any(self.model.conditions(self.t).values())
        assert got == expected

    @rule(notional_c=st.integers(0, 10_000), bankroll_c=st.integers(-1_000, 40_000))
    def ask_order(self, notional_c: int, bankroll_c: int) -> None:
        self.model.roll(self.t)
        got, twin = self.both("check_order", usdc(notional_c), usdc(bankroll_c), self.t)
        assert got == twin
        expected = self.model.expected_reason()
        if expected is None and notional_c > max(bankroll_c, 0) * self.model.rpt:
            expected = "risk_per_trade"
        assert got == expected

    @rule()
    def ask_which(self) -> None:
        self.model.roll(self.t)
        got, twin = self.both("tripped_breakers", self.t)
        cond = self.model.conditions(self.t)
        assert got == twin == [name for name in ORDER if cond[name]]

    # -- invariants -----------------------------------------------------------------------------
    @invariant()
    def restarted_is_indistinguishable(self) -> None:
        assert self.mgr.state() == self.twin.state()

    @invariant()
    def never_faults_on_valid_input(self) -> None:
        assert self.mgr.fault is None

    @invariant()
    def events_are_the_models(self) -> None:
        got = [(e.ts_ns, e.breaker, e.kind) for e in self.mgr.events]
        assert got == self.model.events

    @invariant()
    def events_are_consistent_with_trips(self) -> None:
        last: dict[str, str] = {}
        prev_ts = None
        for e in self.mgr.events:
            assert prev_ts is None or e.ts_ns >= prev_ts
            prev_ts = e.ts_ns
            assert last.get(e.breaker, "reset") != e.kind  # alternate, starting with a trip
            last[e.breaker] = e.kind
            if e.kind == "trip":
                if e.breaker in ("daily_loss", "consecutive_losses", "daily_trade_limit"):
                    assert e.value >= e.threshold - 1e-9
                elif e.breaker == "min_bankroll":
                    assert e.value <= e.threshold + 1e-9
                else:
                    assert e.value > 0.0
            elif e.breaker != "cooldown":
                # latched breakers reset only at a day boundary
                assert (e.ts_ns - self.model.offset_ns) % DAY == 0
        for name, tripped in self.model.status.items():
            assert (last.get(name) == "trip") == tripped


TestRiskMachine = RiskMachine.TestCase
TestRiskMachine.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
