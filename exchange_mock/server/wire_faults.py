"""Fault decisions applied on the wire: the same ``CallFault``/``FeedFault`` data the
in-process venue applies (``exchange_mock.fault_hook``), here as HTTP answers
and WebSocket behaviour (reference §1 "Mock transport", §9).

Per REST call (the route's call kind, ``ROUTE_CALLS``):

* ``refuse``: answered ``status`` with the venue's body (a 429 with
  ``Retry-After``; status None: the connection is dropped before acting);
* ``delay_ns``: the answer waits that long in wall time (past the client's
  timeout: the client times out, and the venue still acts, as live);
* ``act_then_drop``: the route acts, then the connection is dropped (status
  None) or answered that status: the order rests, the client never hears;

Per WebSocket connection (``channel``): a silent window (connected, PONGs,
no data), a drop (closed with the fault's close code). Every decision is
recorded with its request id and times in ``log`` (what tests read).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from exchange_mock.fault_hook import CallFault, FaultHook

#: the venue call kind each trading route counts as (``sim.venue.CALL_KINDS``)
ROUTE_CALLS: dict[tuple[str, str], str] = {
    ("POST", "/order"): "place",
    ("POST", "/orders"): "place",
    ("DELETE", "/order"): "cancel",
    ("DELETE", "/orders"): "cancel",
    ("DELETE", "/cancel-all"): "cancel_all",
    ("DELETE", "/cancel-market-orders"): "cancel_all",
    ("GET", "/data/orders"): "open_orders",
    ("GET", "/data/trades"): "fills",
    ("GET", "/balance-allowance"): "balance",
    ("GET", "/balance-allowance/update"): "balance",
}


def call_kind(method: str, path: str) -> str | None:
    if path.startswith("/data/order/"):
        return "get_order"
    return ROUTE_CALLS.get((method, path))


@dataclass
class FaultRecord:
    """One fault applied: which request (``n``: its number), when (wire ns), what."""

    n: int
    call: str
    path: str
    effect: str
    t_wall_ns: int


class ChannelFaults:
    """One market-channel connection's faults, read from the plan's feed windows at the
    replay's time: silent (frames withheld, PONGs answered), no PONG, dropped (the socket
    is closed: with the window's close code, or aborted for 1006, which no close frame
    may carry). ``now_ns`` reads the replay's data time.

    A frame is judged when it is queued (``silent``, ``dropping``), at the replay time
    of the events it carries (the hubs queue frames as the replay delivers them), not
    when the socket's writer gets to send it: a replay that moves on in one step (a fast
    ``--speed``, a test's manual clock) would otherwise send events stamped inside a
    window once it is over, or lose ones from before it."""

    def __init__(self, wire: WireFaults | None = None, channel: str = "market",
                 now_ns=None) -> None:  # fmt: skip
        self._wire = wire
        self._hook = wire.hook if wire is not None and channel == "market" else None
        self._now = now_ns
        self._noticed: set[tuple[int, int]] = set()

    def _fault(self):
        if self._hook is None or self._now is None:
            return None
        fault = self._hook.feed_fault_at(self._now())
        if fault is not None and (fault.t0_ns, fault.t1_ns) not in self._noticed:
            self._noticed.add((fault.t0_ns, fault.t1_ns))
            kind = "dropped" if fault.dropped else "no PONG" if fault.no_pong else "silent"
            self._wire.record("ws", "/ws/market", kind)
        return fault

    def silent(self) -> bool:
        f = self._fault()
        return f is not None and not f.dropped and not f.no_pong

    def dropping(self) -> bool:
        """A drop window is in effect: the socket must go."""
        f = self._fault()
        return f is not None and f.dropped

    def answers_ping(self) -> bool:
        f = self._fault()
        return f is None or not f.no_pong

    async def drop(self, ws: web.WebSocketResponse) -> None:
        """Close (or abort, for 1006) ``ws`` as the drop window in effect says."""
        f = self._fault()
        code = (f.close_code if f is not None else None) or 1006
        if code == 1006:  # abnormal closure: the peer just vanishes
            transport = ws._req.transport if ws._req is not None else None
            if transport is not None:
                transport.abort()
            return
        await ws.close(code=code, message=b"fault: connection dropped")

    async def watch_drop(self, on_drop) -> None:
        """Poll for a drop window (also one in which no frame comes due) and call
        ``on_drop()`` once when one is in effect; the caller drops the socket after the
        frames queued before it (``drop``)."""
        if self._hook is None:
            return
        while not self.dropping():
            await asyncio.sleep(0.05)
        on_drop()


@dataclass
class WireFaults:
    """The server's fault decisions. ``hook``: the plan's injector (None: no faults);
    ``now_ns``: the replay's data time (the plan's clock)."""

    hook: FaultHook | None = None
    now_ns: object = None
    venue: object = None  # the ServerVenue book moves are handed to
    fail_trades: object = None  # the desk's hook for trade_fail
    log: list[FaultRecord] = field(default_factory=list)
    _n: int = 0

    @classmethod
    def none(cls) -> WireFaults:
        return cls()

    def record(self, call: str, path: str, effect: str) -> None:
        self.log.append(FaultRecord(self._n, call, path, effect, time.time_ns()))

    def channel(self, name: str) -> ChannelFaults:
        return ChannelFaults(self, name, self.now_ns)

    async def around(self, request: web.Request, handler):
        """Run ``handler`` under this request's fault decision."""
        self._n += 1
        kind = call_kind(request.method, request.path)
        if self.hook is None or kind is None:
            return await handler(request)
        fault: CallFault | None = self.hook.on_call(kind, self.now_ns())
        if fault is None:
            return await handler(request)
        return await self._apply(request, handler, kind, fault)

    async def _apply(self, request: web.Request, handler, kind: str, fault: CallFault):
        path = request.path
        if fault.refuse:
            if fault.status is None:  # the connection drops before anything happens
                self.record(kind, path, "dropped before acting")
                _abort(request)
                raise ConnectionResetError("fault: connection dropped before acting")
            if fault.html:
                self.record(kind, path, f"{fault.status} HTML page")
                return web.Response(status=fault.status, text=fault.message,
                                    content_type="text/html")  # fmt: skip
            headers = {}
            if fault.retry_after_s is not None:
                headers["Retry-After"] = f"{fault.retry_after_s:g}"
            self.record(kind, path, f"{fault.status} {fault.message}")
            return web.json_response({"error": fault.message}, status=fault.status or 500,
                                     headers=headers)  # fmt: skip
        if fault.book_moves:
            self.handoff(fault)
        if fault.trades_fail and self.fail_trades is not None:
            self.record(kind, path, "trades will FAIL")
            self.fail_trades()
        response = await handler(request)
        if fault.zero_balance and kind == "balance":
            body = json.loads(response.body)
            body["balance"] = "0"
            response = web.json_response(body)
            self.record(kind, path, "balance 0")
        if fault.delay_ns:  # the venue acted; the answer is late (past a client's timeout)
            self.record(kind, path, f"answer delayed {fault.delay_ns / 1e9:g} s")
            await asyncio.sleep(fault.delay_ns / 1e9)
        if fault.act_then_drop:
            if fault.half_body:
                self.record(kind, path, "acted; answer cut off halfway")
                await _half_body(request, response)
                raise ConnectionResetError("fault: answer cut off halfway")
            if fault.status is None:
                self.record(kind, path, "acted; connection dropped")
                _abort(request)
                raise ConnectionResetError("fault: the answer was lost")
            self.record(kind, path, f"acted; answered {fault.status}")
            return web.json_response({"error": fault.message}, status=fault.status)
        return response

    def handoff(self, fault: CallFault) -> None:
        """Book moves act inside the matching venue (``ServerVenue.handoff``), on the
        request about to run."""
        if self.venue is not None:
            self.venue.handoff(fault.book_moves, self.hook)


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


async def _half_body(request: web.Request, response: web.Response) -> None:
    """Send the headers (the full Content-Length) and half the body, then abort."""
    body = response.body or b""
    raw = bytes(body) if not isinstance(body, bytes) else body
    head = (f"HTTP/1.1 {response.status} OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n\r\n").encode()  # fmt: skip
    if request.transport is not None:
        request.transport.write(head + raw[: len(raw) // 2])
        await asyncio.sleep(0)
        request.transport.abort()
