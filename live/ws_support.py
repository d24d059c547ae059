"""Small pieces both live WebSocket channels use: setting checks, exception text,
close-frame reading, and waking a reader blocked in ``recv``."""

from __future__ import annotations

import contextlib
import math
import socket
import struct

import websocket

from sim.errors import ConfigError


def check_positive_seconds(key: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ConfigError(key, f"must be a positive number of seconds, got {value!r}")


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def close_info(data: bytes) -> tuple[int | None, str]:
    """(close code or None, a sentence) of a close frame's payload."""
    if len(data) >= 2:
        code = struct.unpack("!H", data[:2])[0]
        reason = data[2:].decode("utf-8", "replace")
        return code, f"closed by the server (code {code}{': ' + reason if reason else ''})"
    return None, "closed by the server"


def abort(ws: websocket.WebSocket) -> None:
    """Shut the socket down under a reader blocked in ``recv`` (it wakes with an error).
    ``WebSocket.abort()`` does nothing once a close frame was sent, hence the raw socket."""
    raw = ws.sock
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)
