"""Calendar arithmetic in integer nanoseconds: trading days and UTC-aligned windows.

A trading day starts at ``hour`` o'clock UTC; day ``k`` covers
``[k * DAY + hour h, (k + 1) * DAY + hour h)``. Windows of ``window_ns`` are
aligned to the Unix epoch, which is UTC midnight, so 15-minute windows start at
:00, :15, :30 and :45 like the up/down markets.
"""

from __future__ import annotations

from sim.clock import NS_PER_S

DAY_NS = 86_400 * NS_PER_S
HOUR_NS = 3_600 * NS_PER_S


def day_index(ts_ns: int, boundary_hour: int) -> int:
    """Which trading day ``ts_ns`` falls in (days counted from the epoch)."""
    return (ts_ns - boundary_hour * HOUR_NS) // DAY_NS


def day_start_ns(index: int, boundary_hour: int) -> int:
    """When trading day ``index`` starts."""
    return index * DAY_NS + boundary_hour * HOUR_NS


def window_end_ns(ts_ns: int, windows: int, window_ns: int) -> int:
    """Start of the ``windows``-th window after the one containing ``ts_ns``.

    ``windows=1`` is the start of the next window: a loss at 10:07 with 15-minute
    windows ends at 10:15; a loss at exactly 10:15 ends at 10:30.
    """
    return (ts_ns // window_ns + windows) * window_ns
