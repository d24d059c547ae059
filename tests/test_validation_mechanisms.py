"""Every check of the readiness checklist can fail: turn its mechanism off, see FAIL.

One validation with every mechanism on is the positive control (each check PASSes
there, so a FAIL below is the mechanism's absence, not a broken scenario). Each
test then disables one mechanism (a monkeypatch, or the user's own setting) and
runs that check's scenario on one day of ``data/sample``. Runs are in-process
(``workers = 1``) so the monkeypatches reach them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from exchange_mock.matching_venue import MatchingVenue
from exchange_mock.validation import validate
from sim.executor import Executor
from sim.executor.alerts import Alarm
from sim.executor.balance import BalanceCache
from sim.executor.checks import PreTradeChecks
from sim.executor.placement import Placer
from sim.executor.tracker import OrderTracker
from sim.types import Balance

ROOT = Path(__file__).resolve().parents[1]

#: a strategy whose marketable orders carry a limit 10 cents past the ask: only the
#: executor's slippage bound stands between it and a shocked book
TAKER = """
from sim import OrderType, Strategy


class Taker(Strategy):
    def on_start(self, ctx):
        self.windows = sorted(ctx.markets, key=lambda m: m.start_ns)
        ctx.schedule("take", every_s=20.0)

    def on_timer(self, ctx, name):
        now = ctx.clock.now_ns()
        for m in self.windows:
            if m.start_ns <= now < m.end_ns - 60e9:
                ask = ctx.book(m.yes_token_id).best_ask
                if ask is not None and ask < 0.85 and ctx.position(m.yes_token_id) < 40:
                    ctx.orders.buy(m.yes_token_id, round(ask + 0.10, 2), 5.0,
                                   order_type=OrderType.FAK)
                return
"""

RAISES = """
from window_pair import WindowPairAccumulator


class RaisesAtNoon(WindowPairAccumulator):
    def on_timer(self, ctx, name):
        if ctx.clock.now_ns() % 86_400_000_000_000 >= 12 * 3_600_000_000_000:
            raise RuntimeError("boom at noon")
        super().on_timer(ctx, name)
"""


def write_config(tmp: Path, scenarios: list[str], extra: str = "",
                 strategy: str = "window_pair:WindowPairAccumulator") -> Path:  # fmt: skip
    (tmp / "window_pair.py").write_text((ROOT / "examples" / "window_pair.py").read_text())
    (tmp / "taker.py").write_text(TAKER)
    (tmp / "raises.py").write_text(RAISES)
    names = ", ".join(f'"{s}"' for s in scenarios)
    cfg = tmp / "val.toml"
    cfg.write_text(f"""
cash_usdc = 1000.0
[data]
path = "{(ROOT / "data" / "sample").as_posix()}"
markets = ["btc-updown-15m-*"]
[strategy]
name = "{strategy}"
[executor]
feed_silence_s = 30.0
{extra}
[validation]
days = 1
seeds = [1]
scenarios = [{names}]
workers = 1
""")
    return cfg


def check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


def run(tmp: Path, scenarios: list[str], **kw) -> dict:
    return validate(write_config(tmp, scenarios, **kw), tmp / "out")


BREAKERS = ["breaker_daily_loss", "breaker_consecutive_losses", "breaker_min_bankroll",
            "breaker_cooldown", "breaker_daily_trades"]  # fmt: skip
SCENARIOS = ["api_timeouts", "retries", "balance", "partial_fills", "insufficient_funds",
             "kill_switch", "ws_reconnect", "ws_silent", "cancel_only", *BREAKERS]  # fmt: skip


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> dict:
    """Every mechanism on: the positive control."""
    return run(tmp_path_factory.mktemp("healthy"), SCENARIOS)


@pytest.fixture(scope="module")
def healthy_taker(tmp_path_factory) -> dict:
    return run(tmp_path_factory.mktemp("taker"), ["slippage"], strategy="taker:Taker")


def test_every_check_passes_with_every_mechanism_on(healthy, healthy_taker) -> None:
    failed = [(c["name"], c["evidence"]) for c in healthy["checks"] if c["status"] != "PASS"]
    assert not failed
    assert check(healthy_taker, "slippage")["status"] == "PASS"
    assert len(healthy["checks"]) + 1 == 20  # every check but slippage, and slippage


def _fails(report: dict, name: str) -> dict:
    c = check(report, name)
    assert c["status"] == "FAIL", c["evidence"]
    assert report["verdict"] == "NO-GO"
    return c["evidence"]


def test_positions_reconcile_fails_when_resolutions_are_not_settled(tmp_path, monkeypatch):
    monkeypatch.setattr(OrderTracker, "settle", lambda self, asset, payout: 0.0)
    ev = _fails(run(tmp_path, ["baseline"]), "positions_reconcile")
    assert ev["max_position_gap_shares"] > 0


def test_alerting_fails_when_alerts_are_not_raised(tmp_path, monkeypatch):
    monkeypatch.setattr(Alarm, "__call__", lambda self, *a, **k: None)
    ev = _fails(run(tmp_path, ["kill_switch"]), "alerting")
    assert ev["events_without_alert"] > 0


def test_strategy_errors_fail_and_the_report_carries_the_traceback(tmp_path):
    report = run(tmp_path, ["kill_switch"], strategy="raises:RaisesAtNoon")
    ev = _fails(report, "strategy_errors")
    assert "RuntimeError: boom at noon" in ev["first"] and "raise RuntimeError" in ev["traceback"]
    assert "on_timer" in ev["first"] and "12:00" in ev["first"]
    assert report["run_failures"] and report["run_failures"][0]["kind"] == "strategy"
    assert (tmp_path / "out" / "report.json").is_file()


def test_api_timeouts_fail_without_a_client_deadline(tmp_path, monkeypatch):
    real = MatchingVenue._finish

    def no_deadline(self, call, now, response, deadline_s, effect):
        return real(self, call, now, response, 1e9, effect)  # the HTTP client waits on

    monkeypatch.setattr(MatchingVenue, "_finish", no_deadline)
    ev = _fails(run(tmp_path, ["api_timeouts"]), "api_timeouts")
    assert ev["timeouts_caused"] == 0 or ev["calls_over_deadline"] > 0


def test_api_timeouts_judge_the_users_own_deadline(tmp_path):
    """A 60 s deadline is stalled past 60 s, not 8 s: the timeout is exercised at the
    setting under test (and the audit flags the setting itself)."""
    extra = "[executor.deadlines]\nplace = 60.0\ncancel = 60.0"
    report = run(tmp_path, ["api_timeouts"], extra=extra)
    ev = check(report, "api_timeouts")["evidence"]
    assert ev["stall_s"] > 60 and ev["timeouts_caused"] > 0
    audit = {a["setting"]: a["status"] for a in report["settings_audit"]}
    assert audit["executor.deadlines.place"] == "FAIL" and report["verdict"] == "NO-GO"


def test_retries_fail_without_retries(tmp_path):
    extra = "[executor.retry]\nmax_attempts = 1"
    ev = _fails(run(tmp_path, ["retries"], extra=extra), "retries")
    assert ev["retries_caused"] == 0


def test_network_health_fails_when_a_lost_answer_is_re_sent_under_a_new_id(tmp_path, monkeypatch):
    """The naive retry: no look-up, a fresh order instead. The venue ends up holding
    orders we never heard of (and their fills)."""
    real = Placer._place_attempt

    def naive(self, order, state):
        if not state["ambiguous"]:
            return real(self, order, state)
        state["ambiguous"] = False
        req = order.request
        fresh = dataclasses.replace(req, client_order_id=req.client_order_id + "x")
        ack = self.caller.attempt("place", self.venue.place, fresh)
        return self._answered(order, dataclasses.replace(ack, client_order_id=req.client_order_id))

    monkeypatch.setattr(Placer, "_place_attempt", naive)
    ev = _fails(run(tmp_path, ["retries"]), "network_health")
    assert ev["orders_unknown_to_us"] > 0


def test_balance_checking_fails_when_the_balance_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(BalanceCache, "now",
                        lambda self: Balance(1e6, 1e6, self._clock.now_ns()))  # fmt: skip
    ev = _fails(run(tmp_path, ["balance"]), "balance_checking")
    assert ev["refused_while_faulty"] == 0


def test_slippage_fails_without_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(PreTradeChecks, "bound_slippage", lambda self, req, market, expected: req)
    ev = _fails(run(tmp_path, ["slippage"], strategy="taker:Taker"), "slippage")
    assert ev["worst_excess_per_share"] > ev["max_slippage"]


def test_slippage_fails_when_the_cap_is_too_wide_to_be_exercised(tmp_path):
    ev = _fails(run(tmp_path, ["slippage"], extra="max_slippage = 0.9"), "slippage")
    assert "never exercised" in ev["why"]


def test_partial_fills_fail_when_partials_are_not_tracked(tmp_path, monkeypatch):
    real = OrderTracker.on_fill

    def only_whole(self, fill):  # a partial fill is "unverified": dropped
        order = self.orders.get(fill.client_order_id)
        if order is not None and fill.size_shares < order.request.size_shares - 1e-9:
            return None
        return real(self, fill)

    monkeypatch.setattr(OrderTracker, "on_fill", only_whole)
    ev = _fails(run(tmp_path, ["partial_fills"]), "partial_fills")
    assert ev["max_position_gap_shares"] > 0 or ev["partial_orders_caused"] == 0


def test_insufficient_funds_fails_without_the_pre_check(tmp_path, monkeypatch):
    monkeypatch.setattr(BalanceCache, "funds_check", lambda self, *a: ("", ""))
    ev = _fails(run(tmp_path, ["insufficient_funds"]), "insufficient_funds")
    assert ev["refused_by_venue"] > 0


def test_kill_switch_fails_when_the_switch_does_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(Executor, "trip_kill_switch", lambda self, reason="api": None)
    ev = _fails(run(tmp_path, ["kill_switch"]), "kill_switch")
    assert ev["halts_after_drill"] == 0


def test_websocket_reconnect_fails_when_the_executor_ignores_the_feed(tmp_path, monkeypatch):
    monkeypatch.setattr(Executor, "on_feed_state", lambda self, connected, reason="": None)
    ev = _fails(run(tmp_path, ["ws_reconnect"]), "websocket_reconnect")
    assert ev["injected_disconnects_seen"] == 0


def test_websocket_heartbeat_fails_with_the_watchdog_off(tmp_path):
    """The recorded disconnect in the data is not evidence: only the injected silence."""
    report = validate(write_config(tmp_path, ["ws_silent"]), tmp_path / "on")
    assert check(report, "websocket_heartbeat")["status"] == "PASS"
    cfg = write_config(tmp_path, ["ws_silent"])
    cfg.write_text(cfg.read_text().replace("feed_silence_s = 30.0", "feed_silence_s = 0.0"))
    ev = _fails(validate(cfg, tmp_path / "off"), "websocket_heartbeat")
    assert ev["injected_silences_detected"] == 0 and "watchdog is off" in ev["why"]


def test_exchange_modes_fail_when_cancel_only_refusals_are_retried(tmp_path, monkeypatch):
    import sim.executor.placement as ex_mod

    monkeypatch.setattr(ex_mod, "_retry_place", lambda exc: isinstance(exc, ex_mod.VenueError))
    ev = _fails(run(tmp_path, ["cancel_only"]), "exchange_modes")
    assert ev["place_retries_caused"] > 0


@pytest.fixture(scope="module")
def breakers_off(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("breakers_off")
    return run(tmp, BREAKERS, extra="[risk]\nenabled = false")


@pytest.mark.parametrize("name", BREAKERS)
def test_each_breaker_check_fails_with_breakers_disabled(breakers_off, name):
    ev = _fails(breakers_off, name)
    assert ev["trips"] == 0


def test_breaker_checks_say_when_they_tested_a_stand_in(healthy):
    ev = check(healthy, "breaker_daily_loss")["evidence"]
    assert ev["tested_at"] == "a stand-in value" and ev["yours"] == 125.0 and ev["tested"] == 20.0
