"""``clobsim doctor CONFIG``: is this machine ready to run CONFIG live or on paper?

One line per check, ``PASS``/``WARN``/``FAIL`` and why; exit 1 if any FAILs:

* credentials: ``POLY_PRIVATE_KEY`` present and a valid key (its address is shown, the
  key never), API credentials present or to be derived at start;
* the venue: ``[venue] host`` answers ``/time``, and our clock against it (a skew over
  ``MAX_SKEW_S`` makes signed requests and GTD expiries fail: WARN, over 10x: FAIL);
* the chain: ``rpc_url`` answers ``eth_chainId`` with the config's chain (when set);
* the journal: its folder is writable; the disk there has ``MIN_FREE_GB``;
* the alert webhook (when set in the environment) answers as one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from sim.backtest_config import BacktestConfig

MAX_SKEW_S = 1.0
MIN_FREE_GB = 5.0


def _line(status: str, what: str, detail: str) -> tuple[str, str, str]:
    return status, what, detail


def check_credentials(env=None) -> list[tuple[str, str, str]]:
    from eth_account import Account

    from live.secrets import load_secrets
    from sim.errors import ConfigError

    try:
        secrets = load_secrets(env)
    except ConfigError as exc:
        return [_line("FAIL", "credentials", str(exc))]
    try:
        address = Account.from_key(secrets.private_key).address
    except (ValueError, TypeError):
        return [_line("FAIL", "credentials", "POLY_PRIVATE_KEY is not a hex private key")]
    creds = "present" if secrets.has_api_creds else "absent: derived with L1 auth at start"
    return [_line("PASS", "credentials", f"key of {address} present (never shown); API "
                                         f"credentials {creds}")]  # fmt: skip


def check_venue(cfg: BacktestConfig, timeout_s: float = 5.0) -> list[tuple[str, str, str]]:
    host = cfg.venue.host.rstrip("/")
    try:
        t0 = time.time()
        resp = httpx.get(f"{host}/time", timeout=timeout_s)
        t1 = time.time()
        resp.raise_for_status()
        server_s = float(resp.text.strip().strip('"'))
    except (httpx.HTTPError, ValueError) as exc:
        return [_line("FAIL", "venue", f"{host}/time: {type(exc).__name__}: {exc}")]
    skew = server_s - (t0 + t1) / 2
    rtt_ms = (t1 - t0) * 1e3
    status = "PASS" if abs(skew) <= MAX_SKEW_S else "WARN" if abs(skew) <= 10 * MAX_SKEW_S \
        else "FAIL"  # fmt: skip
    detail = (f"{host} answers in {rtt_ms:.0f} ms; our clock is {-skew:+.2f} s from its "
              f"(bound {MAX_SKEW_S:g} s)")  # fmt: skip
    return [_line(status, "venue", detail)]


def check_chain(cfg: BacktestConfig, timeout_s: float = 5.0) -> list[tuple[str, str, str]]:
    url = cfg.venue.rpc_url
    if not url:
        return [_line("WARN", "chain", "no rpc_url: the on-chain balance is not cross-checked")]
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    try:
        resp = httpx.post(url, json=body, timeout=timeout_s)
        resp.raise_for_status()
        chain = int(resp.json()["result"], 16)
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return [_line("FAIL", "chain", f"rpc_url does not answer eth_chainId: "
                                       f"{type(exc).__name__}")]  # fmt: skip
    if chain != cfg.venue.chain_id:  # an RPC of another network reads other balances
        return [_line("FAIL", "chain", f"rpc_url is chain {chain}, the config says "
                                       f"{cfg.venue.chain_id}")]  # fmt: skip
    return [_line("PASS", "chain", f"rpc_url answers, chain {chain}")]


def check_disk(cfg: BacktestConfig) -> list[tuple[str, str, str]]:
    folder = Path(cfg.venue.journal_path).absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return [_line("FAIL", "journal", f"{folder} is not writable: {exc}")]
    free_gb = shutil.disk_usage(folder).free / 2**30
    status = "PASS" if free_gb >= MIN_FREE_GB else "WARN"
    disk = f"{free_gb:.1f} GB free there (want {MIN_FREE_GB:g})"
    return [_line("PASS", "journal", f"{folder} is writable"), _line(status, "disk", disk)]


def check_webhook(env=None) -> list[tuple[str, str, str]]:
    from live.notify import notifier_from_env, where

    hook = notifier_from_env(env)
    if hook is None:
        return [_line("WARN", "alerts", "no webhook set: alerts go to the log only")]
    try:
        problem = hook.check()
    finally:
        hook.close(timeout_s=2.0)
    if problem:
        return [_line("FAIL", "alerts", problem)]
    return [_line("PASS", "alerts", f"webhook {where(hook._url)} answers")]


def run_doctor(config_path: str | Path, env=None, as_json: bool = False) -> int:
    """Print each check (``as_json``: one JSON document, ``{"ok", "checks": [{"status",
    "check", "detail"}]}``); 1 if any FAILed."""
    from sim.backtest_config import load_backtest_config

    cfg, _ = load_backtest_config(config_path)
    env = os.environ if env is None else env
    lines = []
    if cfg.mode == "live":
        lines += check_credentials(env)
    lines += check_venue(cfg) + check_chain(cfg) + check_disk(cfg) + check_webhook(env)
    failed = any(s == "FAIL" for s, _, _ in lines)
    if as_json:
        checks = [{"status": s, "check": w, "detail": d} for s, w, d in lines]
        print(json.dumps({"ok": not failed, "checks": checks}, indent=2))
    else:
        for status, what, detail in lines:
            print(f"{status:4}  {what:<12} {detail}")
    return 1 if failed else 0
