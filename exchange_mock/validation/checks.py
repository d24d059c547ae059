"""Checks: each line of the readiness checklist judged from measured run evidence.

A check PASSes only on evidence the injected fault caused, under the user's own
settings:

- detections are matched to injections: a feed outage the executor saw counts
  only if it falls in an injected window (a disconnect recorded in the data is
  not evidence for the heartbeat check); a refusal for a bad balance counts only
  if it happened while the balance fault acted;
- counts that cannot be tied to a time (timeouts, retries, partial fills) count
  only what the scenario run shows beyond its fault-free twin (the baseline run
  with the same seed);
- a fault that was never injected, a mechanism that never acted, or a fault too
  weak to cross the user's setting (a slippage shock below ``max_slippage``)
  proves nothing and FAILs with that as its reason;
- where a scenario had to test a stand-in value (a breaker threshold the
  strategy cannot reach in the data), the evidence says so: ``tested`` holds
  the stand-in and ``yours`` the user's value.

Every check is shown able to fail by a test that turns its mechanism off
(``tests/test_validation_mechanisms.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exchange_mock.validation.runner import RunOutcome
from exchange_mock.validation.scenarios import BY_NAME

SECRET_WORDS = ("private_key", "secret", "passphrase", "api_key", "mnemonic", "password")
EPS_SHARES = 1e-6
NS = 1_000_000_000

TITLES = {
    "credentials_configured": (
        "Credentials configured",
        "credentials come only from the environment or .env",
    ),
    "positions_reconcile": (
        "Positions reconcile",
        "in every run our positions equal the venue's and no order is unknown",
    ),
    "alerting": ("Alerting", "every halt, breaker trip and lost order raised an alert"),
    "strategy_errors": (
        "Strategy errors",
        "no strategy callback raised in any run (a raise halts trading)",
    ),
    "api_timeouts": (
        "API timeouts",
        "stalled calls timed out at your deadline; none ran past it; 0 doubled orders",
    ),
    "retries": ("Retries", "transient failures retried; 0 doubled orders; positions = venue"),
    "network_health": ("Network health", "no order left lost at the end; positions = venue"),
    "balance_checking": (
        "Balance checking",
        "an unknown or zero balance refused new risk while the fault lasted; cash never < 0",
    ),
    "slippage": (
        "Slippage",
        "a shock past your max_slippage was met; no fill beyond it; measured",
    ),
    "partial_fills": ("Partial fills", "partials tracked to the end; FOK never partial"),
    "insufficient_funds": (
        "Insufficient funds",
        "refused before sending (the venue never had to); cash never below 0",
    ),
    "kill_switch": ("Kill switch", "no order after the switch; every open order cancelled"),
    "websocket_reconnect": (
        "WebSocket reconnect",
        "the injected disconnect seen; no new risk until reconnected with a fresh book",
    ),
    "websocket_heartbeat": (
        "WebSocket heartbeat / silent feed",
        "the injected silence detected; no new risk until data flows",
    ),
    "exchange_modes": ("Exchange cancel-only mode", "places refused, cancels work, 0 doubled"),
    "trade_failures": (
        "Trades failing after the match",
        "every fill whose trade failed on chain was reversed; positions = venue",
    ),
    "breaker_daily_loss": ("Breaker: daily loss", "trips at its threshold; no new risk after"),
    "breaker_consecutive_losses": (
        "Breaker: consecutive losses",
        "trips at its threshold; no new risk after",
    ),
    "breaker_min_bankroll": (
        "Breaker: minimum bankroll",
        "trips at its threshold; no new risk after",
    ),
    "breaker_cooldown": ("Breaker: cooldown after a loss", "blocks new risk until it ends"),
    "breaker_daily_trades": (
        "Breaker: daily trade count",
        "trips at its threshold; no new risk after",
    ),
}


@dataclass(frozen=True)
class Evidence:
    """What a check reads: its runs (its scenario's, or every run for a global check) and
    the fault-free twins by seed."""

    runs: list[RunOutcome]
    baseline: dict[int, RunOutcome]  # by seed
    raw_config: dict

    def twin(self, run: RunOutcome) -> RunOutcome | None:
        return self.baseline.get(run.seed)

    def caused(self, measure: Callable[[RunOutcome], float]) -> float:
        """``measure`` over the scenario runs beyond each run's fault-free twin."""
        total = 0.0
        for r in self.runs:
            twin = self.twin(r)
            base = measure(twin) if twin is not None and twin is not r else 0.0
            total += max(measure(r) - base, 0.0)
        return total


def _sum(runs: list[RunOutcome], key: str) -> float:
    return sum(r.metrics[key] for r in runs)


def _calls(r: RunOutcome, field: str) -> float:
    return sum(c[field] for c in r.metrics["calls"].values())


def _injections(runs: list[RunOutcome], *kinds: str) -> list[dict]:
    return [i for r in runs for i in r.metrics["injections"] if i["kind"] in kinds]


def _reasons(runs: list[RunOutcome], *reasons: str) -> int:
    return sum(r.metrics["refusal_reasons"].get(x, 0) for r in runs for x in reasons)


def _result(ok: bool, evidence: dict, why: str = "") -> tuple[bool, dict]:
    if why and not ok:
        evidence = {**evidence, "why": why}
    return ok, evidence


def _inside(t: int, windows: list[dict], grace_ns: int) -> bool:
    """Does time ``t`` fall in one of the injection ``windows`` (start to end + grace)?"""
    return any(w["ts_ns"] <= t <= w["end_ns"] + grace_ns for w in windows)


def _in_windows(ev: Evidence, kinds: tuple[str, ...], times: Callable[[RunOutcome], list[int]],
                grace_s: Callable[[RunOutcome], float]) -> tuple[int, int]:  # fmt: skip
    """(injected windows of ``kinds``, detections inside one): a detection (a time from
    ``times``) counts only inside an injected window, plus the run's ``grace_s`` and its
    ``clock_slack_s`` (0 in a backtest, one clock; a live-mock run maps the venue's
    replay time onto the wall clock, and an answer reaches the executor after the
    venue decided it)."""
    injected = hits = 0
    for r in ev.runs:
        windows = [i for i in r.metrics["injections"] if i["kind"] in kinds]
        grace = round((grace_s(r) + r.metrics.get("clock_slack_s", 0.0)) * NS)
        injected += len(windows)
        hits += sum(1 for t in times(r) if _inside(t, windows, grace))
    return injected, hits


def _feed_downs(reason_has: str | None) -> Callable[[RunOutcome], list[int]]:
    return lambda r: [t for t, up, why in r.metrics["feed_events"]
                      if not up and (reason_has is None or reason_has in why)]  # fmt: skip


def _refusals(*reasons: str) -> Callable[[RunOutcome], list[int]]:
    return lambda r: [t for t, why in r.metrics["refusal_events"] if why in reasons]


# ---------------------------------------------------------------------- the checks
def check_credentials(ev: Evidence) -> tuple[bool, dict]:
    found: list[str] = []

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif any(w in k.lower() for w in SECRET_WORDS):
                found.append(prefix + k)

    walk(ev.raw_config, "")
    return _result(not found, {"secret_keys_in_config": len(found), "keys": ",".join(found)},
                   "secrets must come from the environment")  # fmt: skip


def check_positions(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    unknown = _sum(runs, "unknown_at_venue")
    return _result(gap <= EPS_SHARES and unknown == 0,
                   {"runs": len(runs), "max_position_gap_shares": gap,
                    "orders_unknown_to_us": unknown})  # fmt: skip


def check_alerting(ev: Evidence) -> tuple[bool, dict]:
    missing = 0
    for r in ev.runs:
        a = r.metrics["alerts"]
        missing += (r.metrics["halts"] > 0 and not a.get("kill_switch")) + (
            r.metrics["breaker_trips"] > 0 and not a.get("breaker")
        )
    total = sum(sum(r.metrics["alerts"].values()) for r in ev.runs)
    return _result(missing == 0, {"alerts": total, "events_without_alert": missing})


def check_strategy_errors(ev: Evidence) -> tuple[bool, dict]:
    errors = [(r, r.metrics["strategy_error"]) for r in ev.runs if r.metrics["strategy_error"]]
    if not errors:
        return True, {"runs": len(ev.runs), "strategy_errors": 0}
    r, first = errors[0]
    return _result(False, {
        "strategy_errors": len(errors), "first": f"{r.scenario} seed {r.seed}: {first['line']}",
        "traceback": first["traceback"],
    }, "the strategy raised: trading was halted and the run stopped")  # fmt: skip


def check_timeouts(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj = len(_injections(runs, "delay"))
    caused = int(ev.caused(lambda r: _calls(r, "timeouts")))
    over = sum(_calls(r, "over_deadline") for r in runs)
    worst = max((c["max_elapsed_s"] - c["deadline_s"] for r in runs
                 for c in r.metrics["calls"].values()), default=0.0)  # fmt: skip
    doubled = _sum(runs, "doubled_orders")
    stall = runs[0].metrics.get("fault_params", {}).get("timeouts", {}).get("stall_s")
    place = runs[0].metrics["calls"].get("place", {}).get("deadline_s")
    ok = inj > 0 and caused > 0 and over == 0 and worst <= 1e-9 and doubled == 0
    why = ("no delay was injected" if inj == 0 else
           "no injected stall was detected as a timeout" if caused == 0 else "")  # fmt: skip
    return _result(ok, {"injected": inj, "stall_s": stall, "place_deadline_s": place,
                        "timeouts_caused": caused, "calls_over_deadline": over,
                        "worst_margin_s": round(worst, 6), "doubled_orders": doubled},
                   why)  # fmt: skip


def check_retries(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj = len(_injections(runs, "server_error", "rate_limit", "lost_response"))
    retries = int(ev.caused(lambda r: _calls(r, "retries")))
    doubled = _sum(runs, "doubled_orders")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    ok = inj > 0 and retries > 0 and doubled == 0 and gap <= EPS_SHARES
    return _result(ok, {"injected": inj, "retries_caused": retries, "doubled_orders": doubled,
                        "max_position_gap_shares": gap},
                   "no injected failure was retried" if retries == 0 else "")  # fmt: skip


def check_network(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    lost = _sum(runs, "lost_orders")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    errors = int(ev.caused(lambda r: _calls(r, "transient_errors")))
    unknown = _sum(runs, "unknown_at_venue")
    ok = errors > 0 and lost == 0 and gap <= EPS_SHARES and unknown == 0
    why = ("no injected failure reached the executor" if errors == 0 else
           "the venue holds orders we do not know (re-sent under a new id?)" if unknown else
           "")  # fmt: skip
    return _result(ok, {"transient_errors_caused": errors, "orders_lost_at_end": lost,
                        "orders_unknown_to_us": unknown, "max_position_gap_shares": gap},
                   why)  # fmt: skip


def check_balance(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj, refused = _in_windows(ev, ("zero_balance", "balance_failing"),
                               _refusals("balance_unknown", "zero_balance"),
                               lambda r: r.metrics["balance_ttl_s"] + 1.0)  # fmt: skip
    min_cash = min(r.metrics["min_cash_usdc"] for r in runs)
    ok = inj > 0 and refused > 0 and min_cash >= -1e-6
    return _result(ok, {"injected": inj, "refused_while_faulty": refused,
                        "min_cash_usdc": min_cash},
                   "the faulty balance never refused an order" if refused == 0 else "")  # fmt: skip


def check_slippage(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj = len(_injections(runs, "slippage"))
    worst = max(r.metrics["slippage_max"] for r in runs)
    bound = runs[0].metrics["max_slippage_bound"]
    ticks = runs[0].metrics.get("fault_params", {}).get("slippage_shock", {}).get("shock_ticks")
    shock = round(ticks * max(r.metrics["min_tick"] for r in runs), 6) if ticks else 0.0
    p95 = max(r.metrics["slippage_p95"] for r in runs)
    exercised = shock > bound + 1e-12
    ok = inj > 0 and exercised and worst <= bound + 1e-9
    why = ("no slippage was injected" if inj == 0 else
           f"the largest shock ({shock:g}/share) cannot exceed your max_slippage ({bound:g}): "
           "the bound was never exercised" if not exercised else "")  # fmt: skip
    return _result(ok, {"injected": inj, "shock_per_share": shock, "max_slippage": bound,
                        "worst_excess_per_share": worst, "p95_excess": p95}, why)  # fmt: skip


def check_partials(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj = len(_injections(runs, "partial_fill"))
    partial = int(ev.caused(lambda r: r.metrics["partial_fill_orders"]))
    fok = _sum(runs, "fok_partial_alerts")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    ok = inj > 0 and partial > 0 and fok == 0 and gap <= EPS_SHARES
    return _result(ok, {"injected": inj, "partial_orders_caused": partial, "fok_partial": fok,
                        "max_position_gap_shares": gap},
                   "no injected partial fill was tracked" if partial == 0 else "")  # fmt: skip


def check_funds(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    refused = _reasons(runs, "insufficient_funds", "risk_per_trade")
    at_venue = sum(r.metrics["venue_refusal_reasons"].get("not_enough_balance", 0)
                   for r in runs)  # fmt: skip
    min_cash = min(r.metrics["min_cash_usdc"] for r in runs)
    ok = refused > 0 and at_venue == 0 and min_cash >= -1e-6
    why = "no order ever needed more than the funds" if refused == 0 else ""
    if at_venue:
        why = "the venue had to refuse orders the executor let through"
    return _result(ok, {"refused_before_sending": refused, "refused_by_venue": at_venue,
                        "min_cash_usdc": min_cash}, why)  # fmt: skip


def check_kill_switch(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    halts = sum(1 for r in runs if r.metrics["halt_ns"] is not None
                and r.metrics["drill_ns"] is not None
                and r.metrics["halt_ns"] >= r.metrics["drill_ns"])  # fmt: skip
    after = _sum(runs, "orders_after_halt")
    still_open = _sum(runs, "open_after_halt")
    return _result(halts > 0 and after == 0 and still_open == 0,
                   {"halts_after_drill": halts, "orders_after_halt": after,
                    "open_after_halt": still_open},
                   "the drill did not halt trading" if halts == 0 else "")  # fmt: skip


def check_ws_reconnect(ev: Evidence) -> tuple[bool, dict]:
    # a drop, or a connection that stopped answering PING (the live channel's verdict)
    inj, seen = _in_windows(ev, ("ws_drop", "ws_no_pong"), _feed_downs(None), lambda r: 5.0)
    risky = _sum(ev.runs, "risk_orders_while_feed_down")
    return _result(inj > 0 and seen > 0 and risky == 0,
                   {"injected": inj, "injected_disconnects_seen": seen,
                    "risk_orders_while_down": risky},
                   "no injected disconnect reached the executor" if seen == 0 else "")  # fmt: skip


def check_ws_silent(ev: Evidence) -> tuple[bool, dict]:
    silence = max(r.metrics["feed_silence_s"] for r in ev.runs)
    inj, seen = _in_windows(
        ev,
        ("ws_silent",),
        _feed_downs("no market data"),
        lambda r: r.metrics["feed_silence_s"] + 5.0,
    )
    risky = _sum(ev.runs, "risk_orders_while_feed_down")
    why = ("the watchdog is off (executor.feed_silence_s = 0)" if silence == 0 else
           "no injected silence was detected" if seen == 0 else "")  # fmt: skip
    return _result(inj > 0 and seen > 0 and risky == 0,
                   {"injected": inj, "injected_silences_detected": seen,
                    "feed_silence_s": silence, "risk_orders_while_silent": risky}, why)  # fmt: skip


def check_modes(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj, refused = _in_windows(ev, ("cancel_only",), _refusals("cancel_only"), lambda r: 0.0)
    doubled = _sum(runs, "doubled_orders")
    # a cancel-only answer is final for that order: re-sending it only hammers the venue
    retried = int(ev.caused(lambda r: r.metrics["calls"].get("place", {}).get("retries", 0)))
    why = ("no place met the cancel-only window" if refused == 0 else
           "places refused for cancel-only were re-sent" if retried else "")  # fmt: skip
    return _result(
        inj > 0 and refused > 0 and doubled == 0 and retried == 0,
        {"injected": inj, "places_refused_in_window": refused, "place_retries_caused": retried,
         "doubled_orders": doubled}, why,
    )  # fmt: skip


def check_trade_failures(ev: Evidence) -> tuple[bool, dict]:
    runs = ev.runs
    inj = len(_injections(runs, "trade_fail"))
    reversed_ = int(ev.caused(lambda r: r.metrics["alerts"].get("fill_reversed", 0)))
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    why = ("no trade was made to fail" if inj == 0 else
           "no failed trade's fill was reversed" if reversed_ == 0 else "")  # fmt: skip
    return _result(inj > 0 and reversed_ > 0 and gap <= EPS_SHARES,
                   {"injected": inj, "fills_reversed": reversed_,
                    "max_position_gap_shares": gap}, why)  # fmt: skip


_BREAKER_SETTING = {
    "daily_loss": "risk.daily_loss_usdc",
    "consecutive_losses": "risk.max_consecutive_losses",
    "min_bankroll": "risk.min_bankroll_usdc",
    "cooldown": "risk.cooldown_after_loss_s",
    "daily_trade_limit": "risk.daily_trade_limit",
}


def _breaker(name: str) -> Callable:
    def check(ev: Evidence) -> tuple[bool, dict]:
        runs = ev.runs
        tested = next((t for t in runs[0].metrics.get("tested", [])
                       if t["setting"] == _BREAKER_SETTING[name]), None)  # fmt: skip
        label = {}
        if tested is not None:
            label = {"tested": tested["tested"], "yours": tested["yours"],
                     "tested_at": "a stand-in value" if tested["stand_in"]
                     else "your setting"}  # fmt: skip
        trips = [t for r in runs for t in r.metrics["trips"] if t["breaker"] == name]
        if not trips:
            return _result(False, {"trips": 0, **label}, "the scenario never tripped it")
        first = trips[0]
        after = sum(t["risk_orders_after"] for t in trips)
        if name == "min_bankroll":  # trips when equity falls to the minimum
            at_threshold = all(t["value"] <= t["threshold"] + 1e-9 for t in trips)
        else:
            at_threshold = all(t["value"] >= t["threshold"] - 1e-9 for t in trips if t["threshold"])
        return _result(
            after == 0 and at_threshold,
            {"trips": len(trips), "first_value": first["value"], "threshold": first["threshold"],
             "risk_orders_after_trip": after, **label},
            "it tripped away from its threshold" if not at_threshold else
            "risk orders were sent after it tripped",
        )  # fmt: skip

    return check


CHECKS: dict[str, Callable[[Evidence], tuple[bool, dict]]] = {
    "credentials_configured": check_credentials,
    "positions_reconcile": check_positions,
    "alerting": check_alerting,
    "strategy_errors": check_strategy_errors,
    "api_timeouts": check_timeouts,
    "retries": check_retries,
    "network_health": check_network,
    "balance_checking": check_balance,
    "slippage": check_slippage,
    "partial_fills": check_partials,
    "insufficient_funds": check_funds,
    "kill_switch": check_kill_switch,
    "websocket_reconnect": check_ws_reconnect,
    "websocket_heartbeat": check_ws_silent,
    "exchange_modes": check_modes,
    "trade_failures": check_trade_failures,
    "breaker_daily_loss": _breaker("daily_loss"),
    "breaker_consecutive_losses": _breaker("consecutive_losses"),
    "breaker_min_bankroll": _breaker("min_bankroll"),
    "breaker_cooldown": _breaker("cooldown"),
    "breaker_daily_trades": _breaker("daily_trade_limit"),
}

#: checks judged over every run, not only their scenario's
GLOBAL = ("positions_reconcile", "alerting", "strategy_errors")


def evaluate(outcomes: list[RunOutcome], raw_config: dict, *,
             scenarios: Mapping[str, Any] | None = None,
             baseline_name: str = "baseline") -> list[dict]:  # fmt: skip
    """Every scenario's checks. A scenario with a run that failed (not the strategy:
    the run itself) fails its checks with the failure as evidence. ``scenarios``: the
    runs' scenarios by name (default the backtest's), each with ``checks`` and
    ``injects``; ``baseline_name``: the fault-free scenario (each run's twin)."""
    lookup = BY_NAME if scenarios is None else scenarios
    done = [o for o in outcomes if o.failure is None]
    baseline = {o.seed: o for o in done if o.scenario == baseline_name}
    out = []
    for scenario in dict.fromkeys(o.scenario for o in outcomes):
        sc = lookup[scenario]
        failed = [o.failure for o in outcomes if o.scenario == scenario and o.failure]
        for name in sc.checks:
            runs = done if name in GLOBAL else [o for o in done if o.scenario == scenario]
            if failed or not runs:
                ok, evidence = False, {"run_failed": failed[0]["line"] if failed else "no run"}
            else:
                ok, evidence = CHECKS[name](Evidence(runs, baseline, raw_config))
            title, requirement = TITLES[name]
            out.append({"name": name, "title": title, "status": "PASS" if ok else "FAIL",
                        "scenario": scenario, "injects": sc.injects, "requirement": requirement,
                        "evidence": evidence})  # fmt: skip
    return out
