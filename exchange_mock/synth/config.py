"""``SynthConfig``: what the synthetic recording generator is asked to produce.

Every default follows a figure of ``reference/market-statistics.md`` (cited
per field below); the numbers that shape books, paths and rates live next to
the code that uses them (``shape.py``, ``paths.py``, ``rates.py``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from sim.errors import ConfigError

_ASSET = re.compile(r"^[A-Z0-9]{2,10}$")
MINUTES_PER_DAY = 1440


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """Parameters of one synthetic dataset. Same config, same bytes.

    - ``start_date``, ``days``: the UTC days recorded (one file per market per day).
    - ``seed``: root of every random stream (``seeds.py``); markets draw from
      streams keyed by their own identity, so adding a market or a day does not
      change the others.
    - ``crypto_assets``: one back-to-back series of up/down windows per asset
      (stats 5: BTC, ETH, SOL, XRP, DOGE, BNB, HYPE, ZEC). BTC trades at the
      measured rate, the others at 0.2-0.4 x BTC (stats 6, [A]).
    - ``window_minutes``: window length; must divide a day so windows are
      aligned to UTC midnight like the real slugs (stats 5: start a multiple of
      the window). 15 is the default series (stats 6: BTC 15m).
    - ``neg_risk_groups``: outcome counts of multi-outcome (neg-risk) events.
    - ``event_markets``: standalone long-lived binary event markets.
    - ``intensity``: multiplies every message rate; 1.0 = the stats' rates.
    - ``feed_gaps_per_day``: mean recorder disconnects per day (5-60 s each;
      stats 5 "Feed gaps"); the integer part happens every day, the fraction
      with that probability.
    - ``exchange_time_backsteps``: the ``book`` after 0.4 % of trades carries a
      timestamp 28-37 ms before the trade's, as Polymarket sends it (issue 10),
      so an asset's exchange time steps back now and then (the data layer
      replays it at its running maximum). False: exchange time never steps
      back, for consumers that require it.
    """

    start_date: dt.date = dt.date(2026, 11, 2)
    days: int = 7
    seed: int = 7
    crypto_assets: tuple[str, ...] = ("BTC", "ETH")
    window_minutes: int = 15
    neg_risk_groups: tuple[int, ...] = (4, 3)
    event_markets: int = 2
    intensity: float = 1.0
    feed_gaps_per_day: float = 1.0
    exchange_time_backsteps: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.start_date, dt.date) or isinstance(self.start_date, dt.datetime):
            raise ConfigError("start_date", f"{self.start_date!r} is not a datetime.date")
        _int_in("days", self.days, 1, 3660)
        _int_in("seed", self.seed, 0, 2**63 - 1)
        # lists (from a CLI or a JSON config) are accepted and stored as tuples
        for key in ("crypto_assets", "neg_risk_groups"):
            if isinstance(getattr(self, key), list):
                object.__setattr__(self, key, tuple(getattr(self, key)))
        if not isinstance(self.crypto_assets, tuple):
            raise ConfigError("crypto_assets", "must be a tuple of asset symbols")
        for sym in self.crypto_assets:
            if not isinstance(sym, str) or not _ASSET.match(sym):
                raise ConfigError(
                    "crypto_assets", f"{sym!r} is not an upper-case symbol like 'BTC' (2-10 chars)"
                )
        if len(set(self.crypto_assets)) != len(self.crypto_assets):
            raise ConfigError("crypto_assets", "symbols must be unique")
        _int_in("window_minutes", self.window_minutes, 1, MINUTES_PER_DAY)
        if MINUTES_PER_DAY % self.window_minutes:
            raise ConfigError(
                "window_minutes",
                f"{self.window_minutes} does not divide a day (1440 min): windows must align "
                "to UTC midnight",
            )
        if not isinstance(self.neg_risk_groups, tuple):
            raise ConfigError("neg_risk_groups", "must be a tuple of outcome counts")
        for n in self.neg_risk_groups:
            _int_in("neg_risk_groups", n, 2, 50)
        _int_in("event_markets", self.event_markets, 0, 1000)
        _float_in("intensity", self.intensity, 0.0, 100.0, low_open=True)
        _float_in("feed_gaps_per_day", self.feed_gaps_per_day, 0.0, 1000.0)
        if not isinstance(self.exchange_time_backsteps, bool):
            raise ConfigError(
                "exchange_time_backsteps", f"{self.exchange_time_backsteps!r} is not true or false"
            )
        if not self.crypto_assets and not self.neg_risk_groups and self.event_markets == 0:
            raise ConfigError(
                "crypto_assets", "no markets: give crypto_assets, neg_risk_groups or event_markets"
            )

    @property
    def end_date(self) -> dt.date:
        """The first day after the recording."""
        return self.start_date + dt.timedelta(days=self.days)

    @property
    def window_label(self) -> str:
        """The window length as it appears in slugs: ``15m``, ``1h``, ``4h``, ``1d``."""
        m = self.window_minutes
        if m == MINUTES_PER_DAY:
            return "1d"
        return f"{m // 60}h" if m % 60 == 0 else f"{m}m"


def _int_in(key: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"{value!r} is not an integer")
    if not lo <= value <= hi:
        raise ConfigError(key, f"{value} is outside [{lo}, {hi}]")


def _float_in(key: str, value: object, lo: float, hi: float, *, low_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"{value!r} is not a number")
    v = float(value)
    if not math.isfinite(v) or v > hi or v < lo or (low_open and v == lo):
        bracket = "(" if low_open else "["
        raise ConfigError(key, f"{value} is outside {bracket}{lo}, {hi}]")
