"""The ``live-mock`` target's scenarios: the network faults, through the live adapter.

Each runs the strategy through ``LiveVenue``, both WebSocket channels and the
REST poller against the loopback server (``exchange_mock.server``), with the
fault injected *on the wire* (an HTTP status, a stalled answer, a dropped or
silent socket), and is judged by the same check as its backtest scenario.

A live-mock run is short (``[validation.live_mock] seconds`` of wall time, the
recording replayed at ``speed`` times real time), so the plans here are the
library's plans squeezed into it: rates high enough that a run of a few dozen
orders meets them, and each outage one window placed ``LEAD_S`` into the run,
sized from the settings it must cross (a silence longer than your
``ws_silence_s``, a stall longer than your longest deadline). Windows are given
in wall seconds; ``plan`` turns them into the replay's data time.

Partial fills are not among them: they are the matching engine's behaviour, the
same ``MatchingVenue`` in both targets, and the backtest scenario judges them.
The slippage shock is kept because the executor's bound acts on the live book
as the strategy's feed shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from exchange_mock.faults import FaultPlan, FaultSpec
from exchange_mock.validation.scenarios import shock_ticks, stall_s
from sim.backtest_config import BacktestConfig, VenueConfig
from sim.errors import ConfigError

#: an outage opens this many wall seconds into the run (connected, books in, trading)
LEAD_S = 4.0
#: and the run goes on this long after it closes (reconnect, resync, trade again)
RECOVER_S = 6.0


@dataclass(frozen=True)
class LiveMockConfig:
    """The ``[validation.live_mock]`` table: the live adapter against the loopback server.

    ``enabled``: run the target (``clobsim validate --target live-mock`` also turns it
    on). ``seconds``: wall time of each run (an outage scenario runs longer when its
    window needs it). ``speed``: the recording replayed this many times faster than
    real time. ``seeds``: empty = the first of ``[validation] seeds``. ``scenarios``:
    empty = every live scenario. ``workers``: runs in parallel (each its own server
    and process); 1 = one after another, the safe choice on a loaded machine, since
    a live run's deadlines are wall time."""

    enabled: bool = False
    seconds: float = 20.0
    speed: float = 30.0
    seeds: tuple[int, ...] = ()
    scenarios: tuple[str, ...] = ()
    workers: int = 1

    def __post_init__(self) -> None:
        if not 5.0 <= self.seconds <= 3600.0:
            raise ConfigError("seconds", f"must be in [5, 3600], got {self.seconds!r}")
        if not 1.0 <= self.speed <= 1000.0:
            raise ConfigError("speed", f"must be in [1, 1000], got {self.speed!r}")
        unknown = [s for s in self.scenarios if s not in LIVE_BY_NAME]
        if unknown:
            raise ConfigError("scenarios", f"unknown {unknown}; known: {', '.join(LIVE_BY_NAME)}")
        if self.workers < 1:
            raise ConfigError("workers", f"must be >= 1, got {self.workers!r}")


def live_venue_settings(cfg: BacktestConfig) -> VenueConfig:
    """The live venue settings under test: the config's own when it is a live config,
    else the live defaults (a backtest config has none)."""
    return cfg.venue if cfg.venue.kind == "polymarket" else VenueConfig(kind="polymarket")


@dataclass(frozen=True)
class Window:
    """One outage: ``kind`` from ``LEAD_S`` wall seconds in, for ``seconds``."""

    kind: str
    seconds: float
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LiveScenario:
    name: str
    injects: str
    #: per-call faults (rates; wall-time stalls), built from the config under test
    calls: Callable[[BacktestConfig], tuple[FaultSpec, ...]] | None = None
    #: outages, one after another from ``LEAD_S``
    windows: Callable[[BacktestConfig], tuple[Window, ...]] | None = None
    #: the backtest scenario whose checks judge it (and whose selection selects it)
    judged_as: str = ""
    #: check names (``checks.CHECKS``)
    checks: tuple[str, ...] = ()
    #: trip the kill switch this many wall seconds in
    kill_switch_at_s: float | None = None
    #: the plans' parameters, shown as evidence
    fault_params: Callable[[BacktestConfig], dict] | None = None

    def seconds(self, cfg: BacktestConfig, base_s: float) -> float:
        """How long this scenario's run lasts: ``base_s``, longer if its windows need it."""
        outage = sum(w.seconds for w in self.windows(cfg)) if self.windows else 0.0
        need = LEAD_S + outage + RECOVER_S if outage else 0.0
        stalls = self.calls is not None and any(s.kind == "delay" for s in self.calls(cfg))
        if stalls:  # a stalled call must be able to time out and settle
            need = max(need, LEAD_S + stall_s(cfg) + RECOVER_S)
        if self.kill_switch_at_s is not None:  # and a drill must have time to act
            need = max(need, self.kill_switch_at_s + 3.0)
        return max(base_s, need)

    def plan(self, seed: int, cfg: BacktestConfig, speed: float) -> FaultPlan | None:
        specs = list(self.calls(cfg)) if self.calls is not None else []
        at = LEAD_S
        for w in self.windows(cfg) if self.windows is not None else ():
            specs.append(FaultSpec(w.kind, at_s=at * speed, duration_s=w.seconds * speed,
                                   **w.params))  # fmt: skip
            at += w.seconds
        return FaultPlan(tuple(specs), seed, f"live-mock {self.name}") if specs else None


def _stalls(cfg: BacktestConfig) -> tuple[FaultSpec, ...]:
    s = stall_s(cfg)
    return (FaultSpec("delay", calls=("place",), rate=0.15, delay_s=s, max_count=3),
            FaultSpec("delay", calls=("cancel",), rate=0.1, delay_s=s, max_count=2))  # fmt: skip


def _transients(cfg: BacktestConfig) -> tuple[FaultSpec, ...]:
    return (
        FaultSpec("server_error", calls=("place", "cancel"), rate=0.08, status=500),
        FaultSpec("rate_limit", calls=("place", "cancel"), rate=0.05, retry_after_s=1.0),
        FaultSpec("lost_response", calls=("place",), rate=0.05),
        FaultSpec("connection_drop", calls=("place", "cancel"), rate=0.04),
        FaultSpec("half_body", calls=("place",), rate=0.03),
        FaultSpec("html_error", calls=("place", "cancel"), rate=0.03),
    )  # fmt: skip


def _no_pong_s(cfg: BacktestConfig) -> float:
    v = live_venue_settings(cfg)
    return v.ws_ping_s + v.ws_pong_timeout_s + 2.0


def _silent_s(cfg: BacktestConfig) -> float:
    return live_venue_settings(cfg).ws_silence_s + 3.0


def _balance_windows(cfg: BacktestConfig) -> tuple[Window, ...]:
    # long enough that the executor's balance cache must read the source inside it
    span = max(4.0, math.ceil(cfg.executor.balance_ttl_s) + 3.0)
    return (Window("zero_balance", span), Window("balance_failing", span, {"status": 500}))


LIVE_SCENARIOS: tuple[LiveScenario, ...] = (
    LiveScenario("baseline", "nothing: the fault-free run through the live adapter",
                 judged_as="baseline",
                 checks=("positions_reconcile", "alerting", "strategy_errors")),
    LiveScenario("api_timeouts", "HTTP answers stalled past your longest deadline (the "
                 "order still lands)", calls=_stalls, judged_as="api_timeouts",
                 checks=("api_timeouts",),
                 fault_params=lambda c: {"timeouts": {"stall_s": stall_s(c)}}),
    LiveScenario("retries", "HTTP 500, 429 with Retry-After, answers lost after the order "
                 "landed, dropped connections, cut-off bodies, HTML error pages",
                 calls=_transients, judged_as="retries", checks=("retries", "network_health")),
    LiveScenario("balance", "the balance API answering 0, then failing (HTTP 500)",
                 windows=_balance_windows, judged_as="balance", checks=("balance_checking",)),
    LiveScenario("slippage", "the book moved against marketable orders on arrival, past "
                 "your max_slippage",
                 calls=lambda c: (FaultSpec("slippage", rate=0.5,
                                            slippage_ticks=shock_ticks(c)),),
                 judged_as="slippage", checks=("slippage",),
                 fault_params=lambda c: {"slippage_shock": {"shock_ticks": shock_ticks(c)}}),
    LiveScenario("kill_switch", "the kill switch tripped 8 s in", kill_switch_at_s=8.0,
                 judged_as="kill_switch", checks=("kill_switch",)),
    LiveScenario("ws_reconnect", "the market socket dropped (no close frame) for 3 s",
                 windows=lambda c: (Window("ws_drop", 3.0),), judged_as="ws_reconnect",
                 checks=("websocket_reconnect",)),
    LiveScenario("ws_no_pong", "the market socket answering no PING (data still flowing) "
                 "past your ws_pong_timeout_s", windows=lambda c: (Window("ws_no_pong",
                                                                          _no_pong_s(c)),),
                 judged_as="ws_reconnect", checks=("websocket_reconnect",)),
    LiveScenario("ws_silent", "the market socket connected, answering PONG, sending nothing "
                 "past your ws_silence_s", windows=lambda c: (Window("ws_silent",
                                                                     _silent_s(c)),),
                 judged_as="ws_silent", checks=("websocket_heartbeat",)),
    LiveScenario("trade_failures", "half the orders' trades MATCHED, then FAILED on chain and "
                 "reversed by the venue",
                 calls=lambda c: (FaultSpec("trade_fail", rate=0.5),),
                 judged_as="baseline", checks=("trade_failures",)),
    LiveScenario("cancel_only", "the exchange in cancel-only mode (HTTP 503) for 4 s",
                 windows=lambda c: (Window("cancel_only", 4.0),), judged_as="cancel_only",
                 checks=("exchange_modes",)),
)  # fmt: skip

LIVE_BY_NAME = {s.name: s for s in LIVE_SCENARIOS}
