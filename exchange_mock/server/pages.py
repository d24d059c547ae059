"""Cursor pagination as the CLOB does it (reference §3 "Paging").

Cursors are base64 of the row offset: ``MA==`` (0) is the first page and ``LTE=``
(-1) means no page follows; every page carries both ``data`` and ``next_cursor``
(the client loops until it reads exactly ``LTE=``).
"""

from __future__ import annotations

import base64
import binascii

from exchange_mock.server.orders_desk import Refused

FIRST = "MA=="
END = "LTE="
PAGE_SIZE = 500


def cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def offset_of(raw: str) -> int:
    """The row offset a cursor names ("" and ``MA==``: 0)."""
    if not raw or raw == FIRST:
        return 0
    try:
        value = int(base64.b64decode(raw, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Refused(400, f"invalid next_cursor {raw!r}") from None
    if value < 0:
        raise Refused(400, f"invalid next_cursor {raw!r}: no page follows {END}")
    return value


def page(rows: list, raw_cursor: str, size: int | None = None) -> dict:
    """One page of ``rows`` from ``raw_cursor``: ``size`` rows, ``PAGE_SIZE`` (read at call
    time, so tests may patch it) when None."""
    size = PAGE_SIZE if size is None else size
    start = offset_of(raw_cursor)
    chunk = rows[start : start + size]
    end = start + len(chunk)
    return {
        "data": chunk,
        "next_cursor": cursor(end) if end < len(rows) else END,
        "limit": size,
        "count": len(chunk),
    }
