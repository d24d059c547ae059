"""Keep a long-running process's memory flat: one malloc arena per process, not per thread.

The live processes (``paper``, ``live``, ``record``) receive every WebSocket frame on
the channel's thread and free it on the engine's. glibc gives each thread its own
malloc arena and a block is returned to the arena it came from, so the channel's arena
keeps growing in pieces the engine has freed: measured at 100x replay speed, RSS rose
a steady 0.1 MB/s (``python -m benchmarks.paper_long``); with one arena it is flat.
``limit_arenas()`` asks glibc for that (``mallopt(M_ARENA_MAX, n)``) before the threads
start; on other C libraries it does nothing and says so at DEBUG.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("clobsim.memory")
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_arenas(arenas: int = 1) -> bool:
    """Cap glibc's malloc arenas at ``arenas``; True if glibc took it."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        ok = bool(libc is not None and libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        ok = False
    if not ok:
        log.debug("malloc arenas not limited (not glibc?)")
    return ok
