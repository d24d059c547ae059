"""``clobsim serve-mock``: run the loopback Polymarket until SIGINT/SIGTERM.

It prints the REST, WebSocket and JSON-RPC URLs and the test account's address
and API key; the account's private key and API secret go only to the
``--secrets-file`` (mode 0600), as ``KEY=value`` lines a shell or a ``.env``
loader reads: ``CLOB_URL``, ``CLOB_WS_URL``, ``MOCK_PRIVATE_KEY``,
``MOCK_TOKEN_ID`` (the busiest recorded token) and the derived
``CLOB_API_KEY``/``CLOB_SECRET``/``CLOB_PASS_PHRASE``. The private key comes
from the environment variable ``--key-env`` names when it is set (so a test
wallet can be reused); otherwise a new one is generated each start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from eth_account import Account

from exchange_mock.faults import FaultInjector, FaultPlan
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.mock_server import MockServer
from exchange_mock.server.wire_faults import WireFaults
from sim.errors import ConfigError
from sim.marketdata import Dataset

DEFAULT_KEY_ENV = "CLOBSIM_MOCK_PRIVATE_KEY"


@dataclass(frozen=True)
class ServeOptions:
    data: Path
    markets: tuple[str, ...] = ()
    speed: float = 1.0
    faults: Path | None = None
    port: int = 0
    seed: int = 0
    cash_usdc: float = 10_000.0
    secrets_file: Path = Path("mock-account.env")
    key_env: str = DEFAULT_KEY_ENV


def build_server(opts: ServeOptions) -> MockServer:
    """The server ``opts`` describe (nothing bound yet). Bad options raise ``ConfigError``."""
    if not (opts.speed > 0):
        raise ConfigError("speed", f"must be > 0 (1 = real time), got {opts.speed!r}")
    if not 0 <= opts.port <= 65535:
        raise ConfigError("port", f"must be 0-65535 (0: any free port), got {opts.port!r}")
    dataset = Dataset.open(opts.data)
    exchange = MockExchange(dataset, markets=list(opts.markets) or None, speed=opts.speed,
                            cash_usdc=opts.cash_usdc, seed=opts.seed)  # fmt: skip
    wire = WireFaults.none()
    if opts.faults is not None:
        fault_plan = FaultPlan.from_toml(opts.faults)
        wire = WireFaults(hook=FaultInjector(fault_plan, start_ns=exchange.time.data_start_ns))
    key = os.environ.get(opts.key_env) or None
    if key is not None:
        try:
            Account.from_key(key)
        except (ValueError, TypeError):
            raise ConfigError(opts.key_env, "is not a hex private key") from None
    return MockServer(exchange, account_key=key, faults=wire)


def busiest_token(server: MockServer) -> str:
    """The token with the most recorded rows on the first day (its book is soonest there)."""
    ev = server.exchange.driver._batches[0]
    counts = np.bincount(ev.asset[ev.asset >= 0], minlength=len(server.exchange.venue.assets))
    selected = {t for m in server.exchange.markets for t in (m.yes_token_id, m.no_token_id)}
    order = np.argsort(-counts, kind="stable")
    return next(server.exchange.venue.assets[i] for i in order
                if server.exchange.venue.assets[i] in selected)  # fmt: skip


def write_secrets(path: Path, server: MockServer, token: str) -> None:
    """The account's secrets, readable by the owner only (never printed, never logged)."""
    urls = server.urls
    creds = server.auth.creds_for(server.account.address, 0)
    lines = {
        "CLOB_URL": urls.rest, "CLOB_WS_URL": urls.ws_market.rsplit("/", 1)[0] + "/",
        "CLOB_RPC_URL": urls.rpc, "MOCK_ADDRESS": server.account.address,
        "MOCK_PRIVATE_KEY": "0x" + bytes(server.account.key).hex(), "MOCK_TOKEN_ID": token,
        "CLOB_API_KEY": creds.api_key, "CLOB_SECRET": creds.secret,
        "CLOB_PASS_PHRASE": creds.passphrase,
    }  # fmt: skip
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in lines.items())
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT


async def serve(opts: ServeOptions, out=sys.stdout) -> None:
    server = build_server(opts)
    urls = await server.start("127.0.0.1", opts.port)
    token = busiest_token(server)
    write_secrets(opts.secrets_file, server, token)
    creds = server.auth.creds_for(server.account.address, 0)
    print(f"clobsim mock Polymarket on {opts.data} at {opts.speed:g}x, "
          f"{len(server.exchange.markets)} markets", file=out)  # fmt: skip
    print(f"  REST       {urls.rest}", file=out)
    print(f"  WebSocket  {urls.ws_market}  {urls.ws_user}", file=out)
    print(f"  JSON-RPC   {urls.rpc}", file=out)
    print(f"  account    {server.account.address}  api key {creds.api_key}", file=out)
    print(f"  secrets    {opts.secrets_file} (private key, API secret; mode 0600)", file=out)
    print(f"  try token  {token}", file=out)
    print("Ctrl-C stops it.", file=out, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        print("clobsim mock stopped.", file=out, flush=True)


def run(opts: ServeOptions) -> int:
    asyncio.run(serve(opts))
    return 0
