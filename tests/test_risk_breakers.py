"""Each breaker trips at exactly its threshold, resets when documented, survives a restart,
and the manager fails closed."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from sim.config_loader import from_mapping
from sim.errors import ConfigError
from sim.risk import (
    RISK_CHECK_FAILED,
    RISK_PER_TRADE,
    BreakerEvent,
    RiskConfig,
    RiskManager,
    RiskStateError,
    kelly_fraction_binary,
    kelly_stake_usdc,
    max_order_usdc,
)
from sim.risk.boundaries import day_index, day_start_ns, window_end_ns

S = 1_000_000_000
MIN = 60 * S
HOUR = 3600 * S
DAY = 24 * HOUR
#: Monday 2026-11-02 00:00:00 UTC
T0 = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp()) * S


def at(hours: float = 0, minutes: float = 0, seconds: float = 0, day: int = 0) -> int:
    return T0 + day * DAY + round(hours * HOUR + minutes * MIN + seconds * S)


def manager(equity: float = 1000.0, start_ns: int = T0, **cfg: object) -> RiskManager:
    return RiskManager(RiskConfig(**cfg), clock_start_ns=start_ns, start_equity_usdc=equity)


def kinds(mgr: RiskManager, breaker: str) -> list[tuple[int, str]]:
    return [(e.ts_ns, e.kind) for e in mgr.events if e.breaker == breaker]


def restarted(mgr: RiskManager) -> RiskManager:
    """A new process: the state went through the journal as JSON."""
    saved = json.loads(json.dumps(mgr.state()))
    fresh = RiskManager(mgr.config, clock_start_ns=0, start_equity_usdc=1.0)
    fresh.restore(saved)
    return fresh


# -- calendar -------------------------------------------------------------------------------------
def test_day_index_and_window_end() -> None:
    assert day_start_ns(day_index(at(6, 59), 7), 7) == at(7, day=-1)
    assert day_start_ns(day_index(at(7), 7), 7) == at(7)
    assert window_end_ns(at(10, 7), 1, 900 * S) == at(10, 15)
    assert window_end_ns(at(10, 15), 1, 900 * S) == at(10, 30)
    assert window_end_ns(at(10, 7), 3, 900 * S) == at(10, 45)


# -- config ---------------------------------------------------------------------------------------
def test_defaults_are_the_documented_ones() -> None:
    c = RiskConfig()
    assert (c.daily_loss_usdc, c.max_consecutive_losses, c.min_bankroll_usdc) == (125.0, 25, 50.0)
    assert (c.cooldown_after_loss_s, c.cooldown_after_loss_windows, c.window_s) == (0.0, 0, 900)
    assert (c.daily_trade_limit, c.risk_per_trade, c.kelly_fraction) == (200, 0.04, 0.25)
    assert (c.day_boundary_utc_hour, c.enabled) == (0, True)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("enabled", 1),
        ("daily_loss_usdc", 0.0),
        ("daily_loss_usdc", -5.0),
        ("daily_loss_usdc", math.nan),
        ("daily_loss_usdc", math.inf),
        ("max_consecutive_losses", 0),
        ("max_consecutive_losses", 2.5),
        ("max_consecutive_losses", True),
        ("min_bankroll_usdc", -0.01),
        ("cooldown_after_loss_s", -1.0),
        ("cooldown_after_loss_s", 8 * 86400.0),
        ("cooldown_after_loss_windows", -1),
        ("cooldown_after_loss_windows", 10_000),
        ("window_s", 0),
        ("window_s", 7),
        ("window_s", 172_800),
        ("daily_trade_limit", 0),
        ("risk_per_trade", 0.0),
        ("risk_per_trade", 1.5),
        ("kelly_fraction", 0.0),
        ("kelly_fraction", 1.01),
        ("day_boundary_utc_hour", 24),
        ("day_boundary_utc_hour", -1),
    ],
)
def test_invalid_value_names_its_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as err:
        RiskConfig(**{key: value})
    assert err.value.key == key


def test_loader_prefixes_the_table() -> None:
    with pytest.raises(ConfigError) as err:
        from_mapping(RiskConfig, {"daily_loss_usdc": -1}, "risk.")
    assert err.value.key == "risk.daily_loss_usdc"
    with pytest.raises(ConfigError) as err:
        from_mapping(RiskConfig, {"daily_trade_limit": 2.0}, "risk.")
    assert err.value.key == "risk.daily_trade_limit"
    cfg = from_mapping(RiskConfig, {"daily_loss_usdc": 10, "window_s": 300}, "risk.")
    assert cfg.daily_loss_usdc == 10.0 and cfg.window_s == 300


# -- daily loss -----------------------------------------------------------------------------------
@pytest.mark.parametrize("hour", [0, 7])
def test_daily_loss_trips_at_exactly_the_limit_and_resets_at_the_boundary(hour: int) -> None:
    start = at(hour)
    mgr = manager(1000.0, start, day_boundary_utc_hour=hour)
    mgr.on_equity(start + HOUR, 875.01)  # 124.99 down: one cent short
    assert mgr.allow_new_risk(start + HOUR) is None
    mgr.on_equity(start + 2 * HOUR, 875.00)
    assert mgr.allow_new_risk(start + 2 * HOUR) == "daily_loss"
    mgr.on_equity(start + 3 * HOUR, 1000.0)  # recovering does not re-open the day
    assert mgr.allow_new_risk(start + DAY - 1) == "daily_loss"
    assert mgr.allow_new_risk(start + DAY) is None
    trip, reset = (e for e in mgr.events if e.breaker == "daily_loss")
    assert trip == BreakerEvent(start + 2 * HOUR, "daily_loss", "trip", 125.0, 125.0)
    assert (reset.ts_ns, reset.kind, reset.value) == (start + DAY, "reset", 0.0)


def test_daily_loss_absorbs_float_noise_at_the_threshold() -> None:
    mgr = manager(1000.10)
    mgr.on_equity(at(1), 875.10)  # 1000.10 - 875.10 == 124.99999999999989 in floats
    assert mgr.allow_new_risk(at(1)) == "daily_loss"


def test_daily_loss_counts_from_the_equity_at_the_boundary() -> None:
    mgr = manager(1000.0, day_boundary_utc_hour=0)
    mgr.on_equity(at(23), 900.0)  # 100 down: fine
    mgr.on_equity(at(1, day=1), 775.01)  # new day: 124.99 below 900
    assert mgr.allow_new_risk(at(1, day=1)) is None
    mgr.on_equity(at(2, day=1), 775.0)
    assert mgr.allow_new_risk(at(2, day=1)) == "daily_loss"


def test_daily_loss_is_checked_on_fills_and_round_trips_too() -> None:
    mgr = manager(1000.0)
    mgr.on_fill(at(1), "o1", equity_usdc=875.0)
    assert mgr.tripped_breakers(at(1)) == ["daily_loss"]
    mgr2 = manager(1000.0)
    mgr2.on_round_trip(at(1), 3.0, equity_usdc=874.0)
    assert mgr2.tripped_breakers(at(1)) == ["daily_loss"]


# -- minimum bankroll -----------------------------------------------------------------------------
def test_min_bankroll_trips_at_exactly_the_minimum_and_rearms_only_if_recovered() -> None:
    mgr = manager(100.0, daily_loss_usdc=1000.0)
    mgr.on_equity(at(1), 50.01)
    assert mgr.allow_new_risk(at(1)) is None
    mgr.on_equity(at(2), 50.0)
    assert mgr.allow_new_risk(at(2)) == "min_bankroll"
    mgr.on_equity(at(3), 40.0)
    assert mgr.allow_new_risk(at(0, day=1)) == "min_bankroll"  # still broke at the boundary
    mgr.on_equity(at(1, day=1), 500.0)  # a deposit: latched until the next boundary
    assert mgr.allow_new_risk(at(1, day=1)) == "min_bankroll"
    assert mgr.allow_new_risk(at(0, day=2)) is None
    assert kinds(mgr, "min_bankroll") == [(at(2), "trip"), (at(0, day=2), "reset")]


def test_starting_below_the_minimum_is_halted_from_the_start() -> None:
    mgr = manager(50.0)
    assert mgr.allow_new_risk(T0) == "min_bankroll"
    assert kinds(mgr, "min_bankroll") == [(T0, "trip")]


# -- consecutive losses ---------------------------------------------------------------------------
def test_consecutive_losses_trip_at_n_a_win_resets_the_run() -> None:
    mgr = manager(max_consecutive_losses=3)
    mgr.on_round_trip(at(1), -1.0)
    mgr.on_round_trip(at(2), -1.0)
    assert mgr.allow_new_risk(at(2)) is None  # N - 1 losses
    mgr.on_round_trip(at(3), 2.0)  # a win: the run starts again
    mgr.on_round_trip(at(4), -1.0)
    mgr.on_round_trip(at(5), 0.0)  # a scratch neither extends nor breaks it
    mgr.on_round_trip(at(6), -1.0)
    assert mgr.allow_new_risk(at(6)) is None
    mgr.on_round_trip(at(7), -0.01)
    assert mgr.allow_new_risk(at(7)) == "consecutive_losses"
    mgr.on_round_trip(at(8), 5.0)  # a win after the trip does not re-open the day
    assert mgr.allow_new_risk(at(8)) == "consecutive_losses"
    assert mgr.allow_new_risk(at(0, day=1)) is None
    trip = next(e for e in mgr.events if e.kind == "trip")
    assert (trip.ts_ns, trip.value, trip.threshold) == (at(7), 3.0, 3.0)


def test_consecutive_losses_run_resets_at_the_boundary() -> None:
    mgr = manager(max_consecutive_losses=2, day_boundary_utc_hour=5)
    mgr.on_round_trip(at(4), -1.0)
    mgr.on_round_trip(at(5), -1.0)  # 05:00 is the new day: the run restarted at 1
    assert mgr.allow_new_risk(at(5)) is None
    mgr.on_round_trip(at(6), -1.0)
    assert mgr.allow_new_risk(at(6)) == "consecutive_losses"


# -- cooldown -------------------------------------------------------------------------------------
def test_cooldown_in_seconds() -> None:
    mgr = manager(cooldown_after_loss_s=60.0)
    mgr.on_round_trip(at(1), 1.0)  # a win: no cooldown
    assert mgr.allow_new_risk(at(1)) is None
    mgr.on_round_trip(at(2), -1.0)
    assert mgr.allow_new_risk(at(2)) == "cooldown"
    assert mgr.allow_new_risk(at(2, seconds=60) - 1) == "cooldown"
    assert mgr.allow_new_risk(at(2, seconds=60)) is None
    assert kinds(mgr, "cooldown") == [(at(2), "trip"), (at(2, seconds=60), "reset")]


def test_cooldown_reset_is_stamped_at_its_end_even_when_noticed_later() -> None:
    mgr = manager(cooldown_after_loss_s=60.0)
    mgr.on_round_trip(at(2), -1.0)
    mgr.on_round_trip(at(2, seconds=30), -1.0)  # a second loss pushes the end
    assert mgr.allow_new_risk(at(3)) is None
    assert kinds(mgr, "cooldown") == [(at(2), "trip"), (at(2, seconds=90), "reset")]


@pytest.mark.parametrize(
    ("loss_at", "windows", "ends"),
    [(at(10, 7), 1, at(10, 15)), (at(10, 7), 2, at(10, 30)), (at(10, 15), 1, at(10, 30))],
)
def test_cooldown_in_windows(loss_at: int, windows: int, ends: int) -> None:
    mgr = manager(cooldown_after_loss_windows=windows)
    mgr.on_round_trip(loss_at, -1.0)
    assert mgr.allow_new_risk(ends - 1) == "cooldown"
    assert mgr.allow_new_risk(ends) is None


def test_cooldown_with_both_ends_at_the_later() -> None:
    mgr = manager(cooldown_after_loss_s=600.0, cooldown_after_loss_windows=1)
    mgr.on_round_trip(at(10, 14), -1.0)  # window ends 10:15, seconds end 10:24
    assert mgr.allow_new_risk(at(10, 24) - 1) == "cooldown"
    assert mgr.allow_new_risk(at(10, 24)) is None


def test_cooldown_is_not_ended_by_the_day_boundary() -> None:
    mgr = manager(cooldown_after_loss_s=600.0)
    mgr.on_round_trip(at(23, 55), -1.0)
    assert mgr.allow_new_risk(at(0, 1, day=1)) == "cooldown"
    assert mgr.allow_new_risk(at(0, 5, day=1)) is None


# -- daily trade count ----------------------------------------------------------------------------
def test_daily_trade_limit_counts_risk_opening_orders_once() -> None:
    mgr = manager(daily_trade_limit=3)
    mgr.on_fill(at(1), "a")
    mgr.on_fill(at(1, 1), "a")  # a partial fill of the same order
    mgr.on_fill(at(2), "b")
    mgr.on_fill(at(3), "x", opens_risk=False)  # closing exposure is not a trade
    assert mgr.allow_new_risk(at(3)) is None  # 2 of 3
    mgr.on_fill(at(4), "c")
    assert mgr.allow_new_risk(at(4)) == "daily_trade_limit"
    assert mgr.allow_new_risk(at(0, day=1)) is None
    mgr.on_fill(at(1, day=1), "c")  # the same order filling again on a new day counts there
    trip = next(e for e in mgr.events if e.kind == "trip")
    assert (trip.ts_ns, trip.value, trip.threshold) == (at(4), 3.0, 3.0)
    assert mgr.breakers[3].value(at(1, day=1)) == 1.0


# -- risk per trade and sizing --------------------------------------------------------------------
def test_check_order_enforces_risk_per_trade_after_the_breakers() -> None:
    mgr = manager(1000.0)
    assert mgr.check_order(40.0, 1000.0, at(1)) is None
    assert mgr.check_order(40.01, 1000.0, at(1)) == RISK_PER_TRADE
    assert mgr.check_order(1.0, -5.0, at(1)) == RISK_PER_TRADE
    assert mgr.check_order(math.nan, 1000.0, at(1)) == RISK_CHECK_FAILED
    assert mgr.check_order(-1.0, 1000.0, at(1)) == RISK_CHECK_FAILED
    assert mgr.fault is None  # a bad argument refuses the order, it does not halt
    mgr.on_equity(at(2), 50.0)
    assert mgr.check_order(1.0, 1000.0, at(2)) == "min_bankroll"


def test_sizing() -> None:
    cfg = RiskConfig()
    assert max_order_usdc(1000.0, cfg) == pytest.approx(40.0)
    assert max_order_usdc(-3.0, cfg) == 0.0
    assert kelly_fraction_binary(0.6, 0.5) == pytest.approx(0.2)
    assert kelly_fraction_binary(0.4, 0.5) == 0.0
    assert kelly_stake_usdc(0.52, 0.5, 1000.0, cfg) == pytest.approx(0.25 * 0.04 * 1000.0)
    assert kelly_stake_usdc(0.6, 0.5, 1000.0, cfg) == pytest.approx(40.0)  # capped
    assert kelly_stake_usdc(0.3, 0.5, 1000.0, cfg) == 0.0
    with pytest.raises(ValueError, match="price"):
        kelly_stake_usdc(0.5, 1.0, 1000.0, cfg)
    with pytest.raises(ValueError, match="p_win"):
        kelly_stake_usdc(1.2, 0.5, 1000.0, cfg)


# -- restart --------------------------------------------------------------------------------------
def test_restart_mid_day_keeps_trips_and_counters() -> None:
    cfg = {"max_consecutive_losses": 3, "daily_trade_limit": 3, "cooldown_after_loss_s": 60.0}
    mgr = manager(1000.0, **cfg)
    mgr.on_fill(at(1), "a", equity_usdc=990.0)
    mgr.on_round_trip(at(2), -10.0, equity_usdc=980.0)
    mgr.on_round_trip(at(3), -10.0, equity_usdc=970.0)
    mgr.on_equity(at(4), 880.0)  # 120 down
    again = restarted(mgr)
    assert again.state() == mgr.state()
    # The restarted one behaves exactly as the original would have.
    for m in (mgr, again):
        m.on_fill(at(5), "a")  # already counted today
        m.on_fill(at(5), "b")
        assert m.allow_new_risk(at(5)) is None
        m.on_equity(at(6), 875.01)
        assert m.allow_new_risk(at(6)) is None
        m.on_round_trip(at(7), -0.01, equity_usdc=875.0)
        assert m.tripped_breakers(at(7)) == ["daily_loss", "consecutive_losses", "cooldown"]
    assert again.state() == mgr.state()
    tripped_again = restarted(again)
    assert tripped_again.allow_new_risk(at(8)) == "daily_loss"
    assert tripped_again.allow_new_risk(at(0, day=1)) is None  # the restart crossed midnight
    assert tripped_again.state()["breakers"]["daily_trade_limit"]["count"] == 0


def test_restore_refuses_a_malformed_state_and_changes_nothing() -> None:
    mgr = manager(max_consecutive_losses=2)
    mgr.on_round_trip(at(1), -1.0)
    before = mgr.state()
    broken = json.loads(json.dumps(before))
    broken["breakers"]["consecutive_losses"]["run"] = "one"
    with pytest.raises(RiskStateError):
        mgr.restore(broken)
    for key in ("breakers", "was_tripped", "version"):
        partial = {k: v for k, v in before.items() if k != key}
        with pytest.raises(RiskStateError):
            mgr.restore(partial)
    assert mgr.state() == before


# -- fail closed ----------------------------------------------------------------------------------
def test_a_breaker_that_raises_while_evaluating_fails_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mgr = manager()
    broken = mgr.breakers[2]

    def boom(now_ns: int) -> bool:
        raise ZeroDivisionError("pnl maths")

    monkeypatch.setattr(broken, "tripped", boom)
    assert mgr.allow_new_risk(at(1)) == RISK_CHECK_FAILED
    assert mgr.check_order(1.0, 1000.0, at(1)) == RISK_CHECK_FAILED
    assert mgr.tripped_breakers(at(1))[0] == RISK_CHECK_FAILED
    monkeypatch.undo()
    assert mgr.allow_new_risk(at(2)) == RISK_CHECK_FAILED  # latched until an operator clears it
    assert restarted(mgr).allow_new_risk(at(2)) == RISK_CHECK_FAILED  # and across a restart
    mgr.clear_fault(at(3))
    assert mgr.allow_new_risk(at(3)) is None
    assert kinds(mgr, RISK_CHECK_FAILED) == [(at(1), "trip"), (at(3), "reset")]


def test_a_breaker_that_raises_on_an_observation_fails_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mgr = manager()

    def boom(ts_ns: int, equity_usdc: float) -> None:
        raise RuntimeError("mark price feed died")

    monkeypatch.setattr(mgr.breakers[1], "on_equity", boom)
    mgr.on_equity(at(1), 999.0)  # does not raise into the executor's fill handler
    assert mgr.allow_new_risk(at(1)) == RISK_CHECK_FAILED
    assert "mark price feed died" in (mgr.fault or "")


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "12"])
def test_garbage_equity_or_pnl_fails_closed(bad: object) -> None:
    mgr = manager()
    mgr.on_equity(at(1), bad)  # type: ignore[arg-type]
    assert mgr.allow_new_risk(at(1)) == RISK_CHECK_FAILED
    mgr2 = manager()
    mgr2.on_round_trip(at(1), bad)  # type: ignore[arg-type]
    assert mgr2.allow_new_risk(at(1)) == RISK_CHECK_FAILED


def test_disabled_refuses_nothing_but_still_records() -> None:
    mgr = manager(enabled=False)
    mgr.on_equity(at(1), 10.0)
    assert mgr.allow_new_risk(at(1)) is None
    assert mgr.check_order(1e6, 1.0, at(1)) is None
    assert mgr.tripped_breakers(at(1)) == ["min_bankroll", "daily_loss"]
    assert {e.breaker for e in mgr.events} == {"min_bankroll", "daily_loss"}


def test_time_never_goes_back() -> None:
    mgr = manager(cooldown_after_loss_s=60.0)
    mgr.on_round_trip(at(2), -1.0)
    mgr.on_equity(at(1), 1000.0)  # a late timestamp is treated as the latest seen
    assert mgr.last_ns == at(2)
    assert mgr.allow_new_risk(at(1)) == "cooldown"


# -- a deliberately losing strategy ---------------------------------------------------------------
def test_a_losing_strategy_is_stopped_at_the_threshold_and_places_nothing_after() -> None:
    """Every minute buy 10 USDC of YES at the ask and sell at the bid one tick lower.

    Each round trip loses 10 * 0.01 / 0.5 = 0.2 USDC; marked equity also counts
    the open position at the bid. Daily loss 5 USDC must trip at the 25th loss,
    and no order may go out after that minute.
    """
    mgr = manager(1000.0, daily_loss_usdc=5.0, max_consecutive_losses=1000, daily_trade_limit=1000)
    bid, ask, notional = 0.49, 0.50, 10.0
    cash, placed = 1000.0, []
    for i in range(120):
        now = at(9, i)
        if mgr.check_order(notional, cash, now) is not None:
            continue
        placed.append(now)
        shares = notional / ask
        cash -= notional
        mgr.on_fill(now, f"o{i}", equity_usdc=cash + shares * bid)  # unrealised loss marked
        cash += shares * bid
        mgr.on_round_trip(now + 30 * S, shares * bid - notional, equity_usdc=cash)
    trip = next(e for e in mgr.events if e.kind == "trip")
    assert trip.breaker == "daily_loss" and trip.threshold == 5.0
    # The 25th buy's mark already shows 25 * 0.2 = 5 USDC down.
    assert trip.ts_ns == at(9, 24)
    assert placed[-1] == at(9, 24) and len(placed) == 25
    assert all(t <= trip.ts_ns for t in placed)
