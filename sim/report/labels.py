"""Human-readable labels for market slugs.

Up/down windows carry their start time as an epoch-seconds suffix
(``btc-updown-15m-1793577600``); ``market_label`` turns that into the series and the
UTC window (``btc-updown-15m 2026-11-02 00:00-00:15``). Other slugs pass unchanged.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["market_label", "split_window_slug", "window_period_s"]

#: ``<series>-<9 to 11 digit epoch seconds>`` (1973 .. 5138)
_WINDOW_SLUG = re.compile(r"^(?P<series>.+)-(?P<epoch>\d{9,11})$")
#: the series' period as its last dash-separated token: 5m, 15m, 1h, 4h, 1d
_PERIOD = re.compile(r"(?:^|-)(?P<n>\d+)(?P<unit>m|min|h|d)$")
_UNIT_S = {"m": 60, "min": 60, "h": 3600, "d": 86400}


def split_window_slug(slug: str) -> tuple[str, int] | None:
    """``(series, start epoch seconds)`` of a window slug, else ``None``."""
    m = _WINDOW_SLUG.match(str(slug))
    if m is None:
        return None
    return m.group("series"), int(m.group("epoch"))


def window_period_s(series: str) -> int | None:
    """The window length in seconds named by the series (``btc-updown-15m`` -> 900)."""
    m = _PERIOD.search(series)
    if m is None or int(m.group("n")) <= 0:
        return None
    return int(m.group("n")) * _UNIT_S[m.group("unit")]


def market_label(slug: str, start_ns: int | None = None, end_ns: int | None = None) -> str:
    """``btc-updown-15m-1793577600`` -> ``btc-updown-15m 2026-11-02 00:00-00:15`` (UTC).

    Only slugs ending in a 9-11 digit epoch-seconds suffix are relabelled; any other
    slug is returned unchanged (so the function is idempotent). The window starts at
    ``start_ns`` when given, else at the suffix. It ends at ``end_ns`` when given, else
    after the period named by the series (``5m``, ``15m``, ``1h``, ``1d``); with
    neither, only the start time is shown. Seconds appear only when not zero; a window
    ending at the next midnight ends at ``24:00``; one ending on a later day shows the
    end's date too.
    """
    text = str(slug)
    parts = split_window_slug(text)
    if parts is None:
        return text
    series, epoch_s = parts
    try:
        start = _utc(start_ns) if start_ns is not None else _utc(epoch_s * 1_000_000_000)
        if end_ns is not None:
            end = _utc(end_ns)
        else:
            period = window_period_s(series)
            end = start + dt.timedelta(seconds=period) if period else None
    except (OverflowError, OSError, ValueError):
        return text
    if end is None or end <= start:
        return f"{series} {_stamp(start, date=True)}"
    if end.date() == start.date():
        tail = _stamp(end, date=False)
    elif end - start < dt.timedelta(days=1) and end.time() == dt.time(0):
        tail = "24:00"
    else:
        return f"{series} {_stamp(start, date=True)} - {_stamp(end, date=True)}"
    return f"{series} {_stamp(start, date=True)}-{tail}"


def _utc(ns: int) -> dt.datetime:
    s, rem = divmod(int(ns), 1_000_000_000)
    return dt.datetime.fromtimestamp(s, dt.UTC) + dt.timedelta(microseconds=rem // 1000)


def _stamp(t: dt.datetime, *, date: bool) -> str:
    fmt = "%H:%M:%S" if t.second or t.microsecond else "%H:%M"
    return t.strftime(f"%Y-%m-%d {fmt}" if date else fmt)
