"""``/ws/market`` and ``/ws/user`` (reference §6): subscribe messages, text ``PING`` ->
``PONG``, idle sockets closed, and the channel faults (silence, no PONG, a close
with a code) the fault plan decides per connection.

The venue closes a socket that sends nothing for a minute ("send activity at
least once a minute"); so does the mock (``IDLE_CLOSE_S``). A message that is
not ``PING`` and not a JSON subscribe is answered ``INVALID OPERATION`` (the
venue's wording for it is unconfirmed) and the socket stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import weakref
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from exchange_mock.server.app import SERVER_KEY

if TYPE_CHECKING:
    from exchange_mock.server.mock_server import MockServer

IDLE_CLOSE_S = 60.0
CLOSE_IDLE = 1000  # a normal close: nothing heard from the client for a minute
CLOSE_POLICY = 1008  # bad credentials on the user channel
INVALID = "INVALID OPERATION"
_SOCKETS = web.AppKey("sockets", weakref.WeakSet)


def add_ws_routes(app: web.Application) -> None:
    app[_SOCKETS] = weakref.WeakSet()
    app.router.add_get("/ws/market", market_socket)
    app.router.add_get("/ws/user", user_socket)


async def close_all(app: web.Application) -> None:
    for ws in list(app[_SOCKETS]):
        with contextlib.suppress(Exception):
            await ws.close(code=1001, message=b"server shutting down")


#: queued in place of a frame that came due in a drop window: the writer drops the socket
_DROP = object()


class _Outbox(asyncio.Queue):
    """A socket's outgoing frames (``None``: close it, a slow reader). The channel's
    faults judge each frame as it is queued, at the replay time of its events
    (``ChannelFaults``): withheld in a silent window; in a drop window the socket goes
    instead, after the frames queued before it."""

    def __init__(self, faults) -> None:
        super().__init__()
        self.faults = faults
        self.dropped = False

    def put_nowait(self, item) -> None:
        if self.dropped:
            return
        if item is not None:
            if self.faults.silent():
                return
            if self.faults.dropping():
                self.drop()
                return
        super().put_nowait(item)

    def drop(self) -> None:
        """Drop the socket once the frames queued so far are sent."""
        if not self.dropped:
            self.dropped = True
            super().put_nowait(_DROP)


async def _writer(ws: web.WebSocketResponse, queue: asyncio.Queue, faults) -> None:
    """Send queued frames in order; ``None`` closes the socket (a slow reader), ``_DROP``
    drops it (a fault window). PONGs are not queued: a silent window leaves them be."""
    while True:
        frame = await queue.get()
        if frame is None:
            await ws.close(code=1008, message=b"slow consumer")
            return
        if frame is _DROP:
            await faults.drop(ws)
            return
        await ws.send_str(frame)


async def _serve(request: web.Request, channel: str, on_message) -> web.WebSocketResponse:
    srv: MockServer = request.app[SERVER_KEY]  # type: ignore[assignment]
    ws = web.WebSocketResponse(autoping=True)
    await ws.prepare(request)
    request.app[_SOCKETS].add(ws)
    faults = srv.faults.channel(channel)
    queue = _Outbox(faults)
    writer = asyncio.create_task(_writer(ws, queue, faults))
    closer = asyncio.create_task(faults.watch_drop(queue.drop))
    try:
        while not ws.closed:
            try:
                msg = await ws.receive(timeout=IDLE_CLOSE_S)
            except TimeoutError:
                await ws.close(code=CLOSE_IDLE, message=b"idle")
                break
            if msg.type != WSMsgType.TEXT:
                break
            if msg.data.strip() == "PING":
                if faults.answers_ping():
                    with contextlib.suppress(ConnectionResetError):  # a drop is closing it
                        await ws.send_str("PONG")
                continue
            try:
                payload = json.loads(msg.data)
            except json.JSONDecodeError:
                await ws.send_str(INVALID)
                continue
            if not isinstance(payload, dict) or not await on_message(srv, ws, queue, payload):
                await ws.send_str(INVALID)
    finally:
        writer.cancel()
        closer.cancel()
        srv.market_hub.disconnect_queue(queue)
        srv.user_hub.disconnect_queue(queue)
    return ws


async def market_socket(request: web.Request) -> web.WebSocketResponse:
    return await _serve(request, "market", _market_message)


async def _market_message(srv: MockServer, ws, queue: asyncio.Queue, msg: dict) -> bool:
    assets = msg.get("assets_ids", msg.get("asset_ids"))
    if not isinstance(assets, list) or not all(isinstance(a, str) for a in assets):
        return False
    sub = srv.market_hub.subscriber_for(queue)
    custom = msg.get("custom_feature_enabled")
    if msg.get("operation") == "unsubscribe":
        srv.market_hub.unsubscribe(sub, assets)
        return True
    srv.market_hub.subscribe(
        sub,
        assets,
        initial_dump=bool(msg.get("initial_dump", True)),
        custom=None if custom is None else bool(custom),
    )
    return True


async def user_socket(request: web.Request) -> web.WebSocketResponse:
    return await _serve(request, "user", _user_message)


async def _user_message(srv: MockServer, ws, queue: asyncio.Queue, msg: dict) -> bool:
    markets = msg.get("markets")
    if markets is not None and (
        not isinstance(markets, list) or not all(isinstance(m, str) for m in markets)
    ):
        return False
    sub = srv.user_hub.subscriber_for(queue)
    if sub.api_key is None:  # the first message must authenticate
        auth = msg.get("auth")
        creds = srv.auth.creds_by_key(auth.get("apiKey", "")) if isinstance(auth, dict) else None
        if creds is None or not (
            hmac.compare_digest(str(auth.get("secret", "")), creds.secret)
            and hmac.compare_digest(str(auth.get("passphrase", "")), creds.passphrase)
        ):
            await ws.close(code=CLOSE_POLICY, message=b"invalid credentials")
            return True
        sub.api_key = creds.api_key
        sub.all_markets = not markets  # no markets named: all of them
    if msg.get("operation") == "unsubscribe":
        sub.markets.difference_update(markets or [])
    elif markets:
        sub.markets.update(markets)
    return True
