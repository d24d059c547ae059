"""A strategy is an adversary too: it cannot reach past the executor, a raising callback
is contained (halted, cancelled, reported), and whatever it hands the order path is
refused, never raised."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sim import OrderIntent, OrderType, Side, Strategy
from sim.cli import main
from sim.context import MIN_TIMER_PERIOD_S
from sim.executor import ExecutorConfig
from sim.risk import RiskConfig
from tests.test_faults_helpers import YES, Script, backtest, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("gateway"))


def attempt(fn) -> str:
    """What happened when the strategy tried ``fn``: the exception's name, or "ok"."""
    try:
        fn()
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def _set(obj, name, value):
    setattr(obj, name, value)


#: every bypass a hostile strategy tried (issue 9), as (name, action on ctx)
BYPASSES = {
    "reset_kill_switch": lambda ctx: ctx.orders.reset_kill_switch(),
    "trip_kill_switch": lambda ctx: ctx.orders.trip_kill_switch("x"),
    "read executor config": lambda ctx: ctx.orders.config,
    "replace executor config": lambda ctx: _set(ctx.orders, "config", ExecutorConfig()),
    "remove the risk manager": lambda ctx: _set(ctx.orders, "risk", None),
    "venue.place": lambda ctx: ctx.orders.venue.place,
    "tracker.positions": lambda ctx: ctx.orders.tracker.positions.__setitem__(YES, 9e9),
    "journal": lambda ctx: ctx.orders.journal,
    "executor by a private name": lambda ctx: ctx.orders._executor,
    "instance dict": lambda ctx: ctx.orders.__dict__,
    "clock.advance_to": lambda ctx: ctx.clock.advance_to(2**62),
    "clock.schedule": lambda ctx: ctx.clock.schedule("x", 0),
    "clock.sleep": lambda ctx: ctx.clock.sleep(3600),
    "ctx.feed": lambda ctx: ctx.feed,
    "ctx.executor": lambda ctx: ctx.executor,
    "replace ctx.orders": lambda ctx: _set(ctx, "orders", None),
    "book internals": lambda ctx: ctx.book(YES)._books,
    "replace a book value": lambda ctx: _set(ctx.book(YES), "best_bid", 0.99),
    "framework timer name": lambda ctx: ctx.schedule("__executor__", every_s=1.0),
}


def test_every_bypass_fails_and_the_guards_still_hold(root: Path, tmp_path: Path) -> None:
    tried: dict[str, str] = {}

    def hostile(ctx):
        for name, fn in BYPASSES.items():
            tried[name] = attempt(lambda fn=fn: fn(ctx))
        held = ctx.orders.positions()
        held[YES] = 5_000.0  # a copy: changes nothing
        return ctx.orders.buy(YES, 0.52, 5_000.0, order_type=OrderType.FAK)

    s = Script((1.0, hostile), (2.0, lambda ctx: ctx.orders.buy(YES, 0.52, 10.0)))
    kill = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
    res, bt, _ = backtest(root, s, executor=kill, risk=RiskConfig())
    assert {k: v for k, v in tried.items() if v == "ok"} == {}
    assert tried["reset_kill_switch"] == "AttributeError"
    assert tried["framework timer name"] == "TimerError"
    big, small = s.results
    assert not big.accepted and big.reason == "max_order_size"  # the limit still applies
    assert small.accepted
    ex = bt.executor
    assert ex.config.limits.max_order_shares == 1_000.0 and ex.risk is not None
    assert ex.tracker.positions == pytest.approx(bt.venue.positions())  # never diverged
    assert res.error is None and ex.trading_state == "ACTIVE"


def test_the_gateway_offers_exactly_the_trading_surface(root: Path) -> None:
    seen = {}

    def look(ctx):
        seen["orders"] = sorted(n for n in dir(ctx.orders) if not n.startswith("_"))
        seen["ctx"] = sorted(n for n in dir(ctx) if not n.startswith("_"))
        seen["clock"] = sorted(n for n in dir(ctx.clock) if not n.startswith("_"))
        seen["book"] = sorted(n for n in dir(ctx.book(YES)) if not n.startswith("_"))

    backtest(root, Script((0.5, look)))
    assert seen["orders"] == ["buy", "cancel", "cancel_all", "cancel_many", "halt",
                              "open_orders", "place_many", "position", "positions", "sell",
                              "submit", "trading_state"]  # fmt: skip
    assert seen["ctx"] == ["balance", "book", "cancel_timer", "clock", "log", "market_of",
                           "markets", "orders", "position", "schedule", "subscribe"]  # fmt: skip
    assert seen["clock"] == ["now_ns"]
    assert seen["book"] == ["asks", "asset_id", "best_ask", "best_bid", "bids", "tick_size"]


# ---------------------------------------------------------------------- containment
class Raises(Strategy):
    """Rests a bid, then raises in ``where`` once the bid is resting."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.rested = False

    def on_start(self, ctx):
        ctx.subscribe([YES])
        ctx.schedule("t", every_s=0.5)
        if self.where == "on_start":
            raise ValueError("bad start")

    def on_timer(self, ctx, name):
        if not self.rested:
            self.rested = ctx.orders.buy(YES, 0.45, 10.0).accepted
        elif self.where == "on_timer":
            raise ZeroDivisionError("division by zero")

    def on_book(self, ctx, event):
        if self.rested and self.where == "on_book":
            raise KeyError("missing")

    def on_stop(self, ctx):
        if self.where == "on_stop":
            raise RuntimeError("bad stop")


@pytest.mark.parametrize("where", ["on_start", "on_timer", "on_book", "on_stop"])
def test_a_raising_callback_halts_trading_and_stops_the_run(root, tmp_path, where) -> None:
    kill = ExecutorConfig(kill_switch_path=str(tmp_path / "KILL"))
    res, bt, _ = backtest(root, Raises(where), executor=kill)
    err = res.error
    assert err is not None and err.callback == where
    assert err.strategy == "Raises" and "Traceback" in err.traceback
    assert where in err.line and "(simulated)" in err.line and err.exception in err.line
    ex = bt.executor
    assert ex.trading_state == "HALTED" and "strategy error" in ex.state_reason
    assert not [o for o in bt.venue.order_states() if not o.status.terminal]  # nothing left
    assert "Stopped by" in res.summary.index
    if where in ("on_timer", "on_book"):  # stopped where it failed, not at the data's end
        assert err.ts_ns < bt.feed.last_loaded_ns()
    assert (res.alerts.kind == "kill_switch").any()


def test_a_strategy_that_raises_is_not_called_again(root: Path) -> None:
    s = Raises("on_timer")
    calls = []
    s.on_stop = lambda ctx: calls.append("stop")  # type: ignore[method-assign]
    res, _, _ = backtest(root, s)
    assert res.error is not None and calls == []


@pytest.mark.parametrize("every_s", [1e-6, MIN_TIMER_PERIOD_S / 2, -1.0, math.nan, "1"])
def test_timers_below_the_minimum_period_are_refused(root: Path, every_s) -> None:
    class Fast(Strategy):
        def on_start(self, ctx):
            ctx.schedule("fast", every_s=every_s)

    res, _, _ = backtest(root, Fast())  # returns: it does not hang
    assert res.error is not None and res.error.exception.startswith("TimerError")


def test_cli_backtest_exit_3_with_one_line_and_results(root, tmp_path, capsys) -> None:
    (tmp_path / "raiser.py").write_text(
        "from sim import Strategy\n"
        "class Boom(Strategy):\n"
        "    def on_start(self, ctx):\n"
        "        ctx.schedule('t', every_s=1.0)\n"
        "    def on_timer(self, ctx, name):\n"
        "        raise RuntimeError('boom')\n"
    )
    cfg = tmp_path / "bt.toml"
    cfg.write_text(f'[data]\npath = "{root.as_posix()}"\n[strategy]\nname = "raiser:Boom"\n')
    code = main(["-q", "backtest", str(cfg), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1 and "raised in on_timer at" in err[0] and "RuntimeError: boom" in err[0]
    assert "Traceback" not in err[0]
    assert (tmp_path / "out" / "orders.csv").is_file()
    assert "raise RuntimeError" in (tmp_path / "out" / "strategy_error.txt").read_text()


def test_cli_usage_errors_exit_2(tmp_path, capsys) -> None:
    assert main(["-q", "backtest", str(tmp_path / "missing.toml")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["validate", "x.toml", "--out", str(tmp_path), "--workers", "-1"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and "clobsim" in capsys.readouterr().out


# ---------------------------------------------------------------------- bad input
BAD = {
    "price None": dict(price=None),
    "price string": dict(price="0.5"),
    "price NaN": dict(price=math.nan),
    "price bool": dict(price=True),
    "size string": dict(size="ten"),
    "size None": dict(size=None),
    "order type string": dict(order_type="GTC"),
    "order type int": dict(order_type=1),
    "asset None": dict(asset=None),
    "asset int": dict(asset=7),
    "post_only string": dict(post_only="yes"),
    "expire float": dict(order_type=OrderType.GTD, expire=1.5),
}


def test_bad_arguments_are_refused_with_a_reason_never_raised(root: Path) -> None:
    acks = {}

    def send_all(ctx):
        for name, bad in BAD.items():
            a = {"asset": YES, "price": 0.45, "size": 10.0, "order_type": OrderType.GTC,
                 "post_only": False, "expire": None, **bad}  # fmt: skip
            acks[name] = ctx.orders.buy(a["asset"], a["price"], a["size"],
                                        order_type=a["order_type"], post_only=a["post_only"],
                                        expire_ns=a["expire"])  # fmt: skip
        acks["sell side string"] = ctx.orders.submit("SELL", YES, 0.55, 1.0)
        acks["batch element"] = ctx.orders.place_many([None, OrderIntent.buy(YES, None, 1.0)])
        acks["cancel None"] = ctx.orders.cancel(None)
        acks["cancel_all int"] = ctx.orders.cancel_all(5)

    res, bt, _ = backtest(root, Script((0.5, send_all)))
    assert res.error is None
    for name in BAD:
        ack = acks[name]
        assert not ack.accepted and ack.reason == "invalid_order", (name, ack)
    assert "price: expected a number, got None" in acks["price None"].message
    assert "order_type: expected an OrderType" in acks["order type string"].message
    assert "'GTC'" in acks["order type string"].message
    assert acks["sell side string"].reason == "invalid_order"
    assert [a.reason for a in acks["batch element"]] == ["invalid_order", "invalid_order"]
    assert acks["cancel None"] is False and acks["cancel_all int"] == 0
    assert len(res.refusals) == len(BAD) + 3  # every one recorded, none lost
    assert not bt.venue.order_states()  # nothing reached the venue


def test_numpy_scalars_are_numbers(root: Path) -> None:
    s = Script((0.5, lambda ctx: ctx.orders.buy(YES, np.float64(0.45), np.int64(10),
                                                post_only=np.bool_(True))))  # fmt: skip
    backtest(root, s)
    (ack,) = s.results
    assert ack.accepted


def test_a_book_listener_that_subscribed_nothing_hears_its_markets(root: Path) -> None:
    class Listener(Strategy):
        def __init__(self):
            self.books = 0

        def on_book(self, ctx, event):
            self.books += 1

    s = Listener()
    backtest(root, s, risk=RiskConfig(enabled=False))
    assert s.books > 500


def test_a_side_refused_is_shown_as_given(root: Path) -> None:
    s = Script((0.5, lambda ctx: ctx.orders.submit(Side.SELL, YES, 2.0, 1.0)))
    res, _, _ = backtest(root, s)
    assert res.refusals.iloc[0].side == "SELL" and res.refusals.iloc[0].reason == "invalid_order"
