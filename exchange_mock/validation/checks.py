"""Checks: each line of the readiness checklist judged from measured run evidence.

A check PASSes only on evidence: a fault that was never injected, or a
breaker that never tripped, proves nothing and FAILs with that as its reason.
"""

from __future__ import annotations

from collections.abc import Callable

from exchange_mock.validation.runner import RunOutcome
from exchange_mock.validation.scenarios import BY_NAME

SECRET_WORDS = ("private_key", "secret", "passphrase", "api_key", "mnemonic", "password")

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
    "api_timeouts": ("API timeouts", "every call returned within its deadline; 0 doubled orders"),
    "retries": ("Retries", "transient failures retried; 0 doubled orders; positions = venue"),
    "network_health": ("Network health", "no order left lost at the end; positions = venue"),
    "balance_checking": (
        "Balance checking",
        "an unknown or zero balance refused new risk; cash never below 0",
    ),
    "slippage": ("Slippage", "no fill beyond max_slippage of the price seen; measured"),
    "partial_fills": ("Partial fills", "partials tracked to the end; FOK never partial"),
    "insufficient_funds": ("Insufficient funds", "refused before sending; cash never below 0"),
    "kill_switch": ("Kill switch", "no order after the switch; every open order cancelled"),
    "websocket_reconnect": (
        "WebSocket reconnect",
        "disconnect seen; no new risk until reconnected with a fresh book",
    ),
    "websocket_heartbeat": (
        "WebSocket heartbeat / silent feed",
        "a silent feed detected; no new risk until data flows",
    ),
    "exchange_modes": ("Exchange cancel-only mode", "places refused, cancels work, 0 doubled"),
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


def _sum(runs: list[RunOutcome], key: str) -> float:
    return sum(r.metrics[key] for r in runs)


def _injected(runs: list[RunOutcome], *kinds: str) -> int:
    return (
        sum(r.metrics["injected"].get(k, 0) for r in runs for k in kinds)
        if kinds
        else sum(sum(r.metrics["injected"].values()) for r in runs)
    )


def _reasons(runs: list[RunOutcome], *reasons: str) -> int:
    return sum(r.metrics["refusal_reasons"].get(x, 0) for r in runs for x in reasons)


def _result(ok: bool, evidence: dict, why: str = "") -> tuple[bool, dict]:
    if why and not ok:
        evidence = {**evidence, "why": why}
    return ok, evidence


def check_credentials(runs, raw_config) -> tuple[bool, dict]:
    found: list[str] = []

    def walk(d: dict, prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            elif any(w in k.lower() for w in SECRET_WORDS):
                found.append(prefix + k)

    walk(raw_config, "")
    return _result(not found, {"secret_keys_in_config": len(found), "keys": ",".join(found)},
                   "secrets must come from the environment")  # fmt: skip


def check_positions(runs, _raw) -> tuple[bool, dict]:
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    unknown = _sum(runs, "unknown_at_venue")
    return _result(gap <= 1e-6 and unknown == 0,
                   {"runs": len(runs), "max_position_gap_shares": gap,
                    "orders_unknown_to_us": unknown})  # fmt: skip


def check_alerting(runs, _raw) -> tuple[bool, dict]:
    missing = 0
    for r in runs:
        a = r.metrics["alerts"]
        missing += (r.metrics["halts"] > 0 and not a.get("kill_switch")) + (
            r.metrics["breaker_trips"] > 0 and not a.get("breaker")
        )
    total = sum(sum(r.metrics["alerts"].values()) for r in runs)
    return _result(missing == 0, {"alerts": total, "events_without_alert": missing})


def check_timeouts(runs, _raw) -> tuple[bool, dict]:
    worst = max(c["max_elapsed_s"] - c["deadline_s"] for r in runs
                for c in r.metrics["calls"].values())  # fmt: skip
    over = sum(c["over_deadline"] for r in runs for c in r.metrics["calls"].values())
    timeouts = sum(c["timeouts"] for r in runs for c in r.metrics["calls"].values())
    inj = _injected(runs, "delay")
    ok = inj > 0 and over == 0 and worst <= 1e-9 and _sum(runs, "doubled_orders") == 0
    return _result(ok, {"injected": inj, "timeouts_seen": timeouts, "calls_over_deadline": over,
                        "worst_margin_s": round(worst, 6),
                        "doubled_orders": _sum(runs, "doubled_orders")},
                   "no delay was injected" if inj == 0 else "")  # fmt: skip


def check_retries(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "server_error", "rate_limit", "lost_response")
    retries = sum(c["retries"] for r in runs for c in r.metrics["calls"].values())
    doubled = _sum(runs, "doubled_orders")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    ok = inj > 0 and retries > 0 and doubled == 0 and gap <= 1e-6
    return _result(ok, {"injected": inj, "retries": retries, "doubled_orders": doubled,
                        "max_position_gap_shares": gap})  # fmt: skip


def check_network(runs, _raw) -> tuple[bool, dict]:
    lost = _sum(runs, "lost_orders")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    errors = sum(c["transient_errors"] for r in runs for c in r.metrics["calls"].values())
    return _result(lost == 0 and gap <= 1e-6,
                   {"transient_errors": errors, "orders_lost_at_end": lost,
                    "max_position_gap_shares": gap})  # fmt: skip


def check_balance(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "zero_balance", "balance_failing")
    refused = _reasons(runs, "balance_unknown", "zero_balance")
    min_cash = min(r.metrics["min_cash_usdc"] for r in runs)
    ok = inj > 0 and refused > 0 and min_cash >= -1e-6
    return _result(ok, {"injected": inj, "refused_new_risk": refused, "min_cash_usdc": min_cash},
                   "the faulty balance never met an order" if refused == 0 else "")  # fmt: skip


def check_slippage(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "slippage")
    worst = max(r.metrics["slippage_max"] for r in runs)
    bound = runs[0].metrics["max_slippage_bound"]
    p95 = max(r.metrics["slippage_p95"] for r in runs)
    return _result(inj > 0 and worst <= bound + 1e-9,
                   {"injected": inj, "worst_excess_per_share": worst, "p95_excess": p95,
                    "max_slippage": bound})  # fmt: skip


def check_partials(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "partial_fill")
    fok = _sum(runs, "fok_partial_alerts")
    gap = max(r.metrics["position_gap_shares"] for r in runs)
    return _result(inj > 0 and fok == 0 and gap <= 1e-6,
                   {"injected": inj, "partially_filled_orders": _sum(runs, "partial_fill_orders"),
                    "fok_partial": fok, "max_position_gap_shares": gap})  # fmt: skip


def check_funds(runs, _raw) -> tuple[bool, dict]:
    refused = _reasons(runs, "insufficient_funds", "risk_per_trade")
    min_cash = min(r.metrics["min_cash_usdc"] for r in runs)
    return _result(refused > 0 and min_cash >= -1e-6,
                   {"refused_before_sending": refused, "min_cash_usdc": min_cash},
                   "no order ever needed more than the funds" if refused == 0 else "")  # fmt: skip


def check_kill_switch(runs, _raw) -> tuple[bool, dict]:
    halts = _sum(runs, "halts")
    after = _sum(runs, "orders_after_halt")
    still_open = _sum(runs, "open_after_halt")
    return _result(
        halts > 0 and after == 0 and still_open == 0,
        {"halts": halts, "orders_after_halt": after, "open_after_halt": still_open},
    )


def check_ws_reconnect(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "ws_drop")
    seen = _sum(runs, "feed_down_intervals")
    risky = _sum(runs, "risk_orders_while_feed_down")
    return _result(inj > 0 and seen > 0 and risky == 0,
                   {"injected": inj, "disconnects_seen": seen, "risk_orders_while_down": risky},
                   "no disconnect reached the executor" if seen == 0 else "")  # fmt: skip


def check_ws_silent(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "ws_silent", "stale_book")
    seen = _sum(runs, "feed_down_intervals")
    risky = _sum(runs, "risk_orders_while_feed_down")
    return _result(
        inj > 0 and seen > 0 and risky == 0,
        {"injected": inj, "silences_detected": seen, "risk_orders_while_silent": risky},
        "silence not detected: set executor.feed_silence_s" if seen == 0 else "",
    )


def check_modes(runs, _raw) -> tuple[bool, dict]:
    inj = _injected(runs, "cancel_only")
    refused = _reasons(runs, "cancel_only")
    doubled = _sum(runs, "doubled_orders")
    return _result(
        inj > 0 and doubled == 0,
        {"injected": inj, "places_refused": refused, "doubled_orders": doubled},
    )


def _breaker(name: str) -> Callable:
    def check(runs, _raw) -> tuple[bool, dict]:
        trips = [t for r in runs for t in r.metrics["trips"] if t["breaker"] == name]
        if not trips:
            return _result(False, {"trips": 0}, "the scenario never tripped it")
        first = trips[0]
        after = sum(t["risk_orders_after"] for t in trips)
        if name == "min_bankroll":  # trips when equity falls to the minimum
            at_threshold = all(t["value"] <= t["threshold"] + 1e-9 for t in trips)
        else:
            at_threshold = all(t["value"] >= t["threshold"] - 1e-9 for t in trips if t["threshold"])
        return _result(
            after == 0 and at_threshold,
            {
                "trips": len(trips),
                "first_value": first["value"],
                "threshold": first["threshold"],
                "risk_orders_after_trip": after,
            },
        )

    return check


CHECKS: dict[str, Callable] = {
    "credentials_configured": check_credentials,
    "positions_reconcile": check_positions,
    "alerting": check_alerting,
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
    "breaker_daily_loss": _breaker("daily_loss"),
    "breaker_consecutive_losses": _breaker("consecutive_losses"),
    "breaker_min_bankroll": _breaker("min_bankroll"),
    "breaker_cooldown": _breaker("cooldown"),
    "breaker_daily_trades": _breaker("daily_trade_limit"),
}

#: checks judged over every run, not only their scenario's
GLOBAL = ("positions_reconcile", "alerting")


def evaluate(outcomes: list[RunOutcome], raw_config: dict) -> list[dict]:
    out = []
    for scenario in dict.fromkeys(o.scenario for o in outcomes):
        sc = BY_NAME[scenario]
        for name in sc.checks:
            runs = outcomes if name in GLOBAL else [o for o in outcomes if o.scenario == scenario]
            ok, evidence = CHECKS[name](runs, raw_config)
            title, requirement = TITLES[name]
            out.append({"name": name, "title": title, "status": "PASS" if ok else "FAIL",
                        "scenario": scenario, "injects": sc.injects, "requirement": requirement,
                        "evidence": evidence})  # fmt: skip
    return out
