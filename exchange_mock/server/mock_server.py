"""``MockServer``: the loopback Polymarket, wired and run.

It owns the replay (``MockExchange``), the credentials (``Authenticator``), the
order desk, the WebSocket hubs and the fault plan; ``start()`` binds the aiohttp
app (127.0.0.1 by default) and runs the pump that keeps the replay at wall-clock
time between requests and fires the heartbeat dead-man switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass

from aiohttp import web
from eth_account import Account

from exchange_mock.server import ws_routes
from exchange_mock.server.app import SERVER_KEY, add_routes, errors
from exchange_mock.server.auth import Authenticator
from exchange_mock.server.exchange import MockExchange
from exchange_mock.server.market_encoder import format_decimal
from exchange_mock.server.market_hub import MarketHub
from exchange_mock.server.orders_desk import OrdersDesk, Refused
from exchange_mock.server.rpc import add_rpc_route
from exchange_mock.server.user_hub import UserHub
from exchange_mock.server.wire_faults import WireFaults
from sim.types import MarketInfo

log = logging.getLogger(__name__)

#: How often the pump brings the replay up to date between requests (wall seconds).
PUMP_PERIOD_S = 0.02


@dataclass(frozen=True)
class Urls:
    rest: str
    ws_market: str
    ws_user: str
    rpc: str


class MockServer:
    """``account_key``: the test wallet's private key (hex); a new one when None."""

    def __init__(
        self,
        exchange: MockExchange,
        *,
        account_key: str | None = None,
        server_secret: bytes | None = None,
        faults: WireFaults | None = None,
    ) -> None:
        self.exchange = exchange
        self.account = Account.from_key(account_key) if account_key else Account.create()
        self.auth = Authenticator(server_secret)
        self.desk = OrdersDesk(exchange, self.account.address)
        self.market_hub = MarketHub(exchange)
        self.user_hub = UserHub(self.desk)
        self.faults = faults or WireFaults.none()
        self.faults.now_ns = exchange.clock.now_ns  # the plan counts in the replay's time
        self.faults.venue = exchange.venue
        self.faults.fail_trades = self.desk.fail_trades_of_this_request
        self.app = web.Application(middlewares=[errors])
        self.app[SERVER_KEY] = self
        add_routes(self.app)
        ws_routes.add_ws_routes(self.app)
        add_rpc_route(self.app)
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task | None = None
        self.urls: Urls | None = None

    # ------------------------------------------------------------------ answers
    def book(self, token_id: str) -> dict:
        """REST ``/book``: the ``book`` message's fields plus the market's settings, with
        the venue's ``hash`` (SHA-1 of the compact JSON with ``hash`` empty, reference §6.1;
        the client's ``generate_orderbook_summary_hash`` recomputes it)."""
        m = self.desk.market_of(token_id)
        msg = self.market_hub.book_message(token_id)
        book = {"market": msg["market"], "asset_id": msg["asset_id"],
                "timestamp": msg["timestamp"], "hash": "", "bids": msg["bids"],
                "asks": msg["asks"], "min_order_size": format_decimal(m.min_order_size),
                "tick_size": format_decimal(self.market_hub.tick_of(token_id)),
                "neg_risk": m.neg_risk,
                "last_trade_price": msg.get("last_trade_price", "")}  # fmt: skip
        compact = json.dumps(book, separators=(",", ":"))
        book["hash"] = hashlib.sha1(compact.encode()).hexdigest()
        return book

    def market_info(self, m: MarketInfo) -> dict:
        """``/clob-markets/<condition_id>`` (reference §3)."""
        return {
            "gst": None,
            "r": None,
            "t": [{"t": m.yes_token_id, "o": "Yes"}, {"t": m.no_token_id, "o": "No"}],
            "mos": m.min_order_size,
            "mts": m.tick_size,
            "mbf": 0,
            "tbf": 0,
            "fd": {"r": m.fee_rate, "e": m.fee_exponent, "to": True},
            "nr": m.neg_risk,
        }

    def market_summary(self, m: MarketInfo) -> dict:
        """One market of ``/markets``: enough for any client to find what the mock trades."""
        return {
            "condition_id": m.condition_id,
            "question": m.question,
            "market_slug": m.slug,
            "active": True,
            "closed": False,
            "accepting_orders": not self.exchange.venue.clob.closed(
                self.exchange.venue.clob.asset(m.yes_token_id) >> 1
            ),
            "neg_risk": m.neg_risk,
            "minimum_order_size": m.min_order_size,
            "minimum_tick_size": m.tick_size,
            "tokens": [
                {"token_id": m.yes_token_id, "outcome": "Yes"},
                {"token_id": m.no_token_id, "outcome": "No"},
            ],
        }

    # ------------------------------------------------------------------ running
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Urls:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sock = site._server.sockets[0]  # type: ignore[union-attr]
        bound_host, bound_port = sock.getsockname()[:2]
        base = f"http://{bound_host}:{bound_port}"
        ws = f"ws://{bound_host}:{bound_port}/ws"
        self.urls = Urls(base, f"{ws}/market", f"{ws}/user", f"{base}/rpc")
        self._pump = asyncio.create_task(self._run_pump())
        return self.urls

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await ws_routes.close_all(self.app)
        if self._runner is not None:
            await self._runner.cleanup()

    def tick(self) -> None:
        """One pump step: replay to now, fire the dead-man switch, push user events."""
        self.exchange.step()
        self.desk.check_heartbeats(self.auth)
        self.desk.settle_failures()
        self.user_hub.flush()

    async def _run_pump(self) -> None:
        while True:
            try:
                self.tick()
            except Refused as exc:  # a venue refusal inside a timed cancel: log, go on
                log.warning("pump: %s", exc.message)
            await asyncio.sleep(PUMP_PERIOD_S)
