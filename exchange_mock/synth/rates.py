"""Message rates: how many trades and level changes, and when.

A book's events are a Poisson process whose rate is given on the path grid as
``lam_trade`` (taker orders per second) and ``lam_lc`` (maker level-change
messages per second). A trade is followed by a ``book`` message per token,
not by level changes (Polymarket sends ``book`` "when there is a trade that
affects the book"), so maker messages arrive at ``LC_PER_TRADE`` = 2-4 x the
trade rate: the "price_change 2-4 x trades" of market-statistics.md 1.1.

Counts at intensity 1.0 (sources in this package's ``README.md``):

- **BTC up/down**: trade prints (both tokens together) per second of the
  window: 3.0-4.0 in 15-minute windows (issue 10: 3.5/s in a real capture),
  7.0-9.5 in 5-minute windows (stats 1.1: 2,104-2,850 prints per window),
  interpolated log-log between the two lengths and flat outside them [A];
  busier on high-volatility days.
- **Other crypto assets**: 0.2-0.4 x BTC (stats 6 [A]).
- **Event markets**: 100-1,500 prints a day (stats 1.1: 24 h volumes of
  $6k-$38k at about $30 a trade; stats 7), shaped by a UTC hour-of-day profile
  and multiplied 10-100 x for 1-10 minutes after a news jump (stats 3.2 [A]).

Within a window the rate is proportional to a baseline plus the speed of
fair value, |dp/dt| (stats 1.1 "near a window's end"), so the last
30-60 seconds of an undecided window burst at 2-3.5 x the average.
"""

from __future__ import annotations

import math

import numpy as np

#: Trade-rate multiplier of each asset relative to BTC (stats 6 [A]: 0.2-0.4 x).
ASSET_TRADE_SHARE: dict[str, float] = {
    "BTC": 1.0,
    "ETH": 0.4,
    "SOL": 0.3,
    "XRP": 0.25,
    "DOGE": 0.2,
    "BNB": 0.2,
    "HYPE": 0.25,
    "ZEC": 0.2,
}
#: BTC trade prints per second (both tokens) on the calmest and the busiest day, by
#: window length in minutes (issue 10: 3.5/s in 15-minute windows, +-15 % [A];
#: stats 1.1: 7.0 / 9.5 per second in 5-minute windows on 07-24 / 06-08).
BTC_PRINTS_PER_S: dict[int, tuple[float, float]] = {5: (7.0, 9.5), 15: (3.0, 4.0)}
#: Prints per taker order: an order that walks several levels prints once per level
#: (measured on the calibrated set: 1.03-1.05).
PRINTS_PER_ORDER = 1.09
#: Window-to-window spread of the trade count (lognormal sigma) [A].
WINDOW_COUNT_SIGMA = 0.25
#: Baseline of the |dp/dt| weighting, per second: the mean 1-s |dp| of the
#: Phi model itself on a 15-minute window (about 0.01; the stats' 0.004-0.005
#: come from the sticky 1 Hz Chainlink feed), so a window moving at its average
#: speed is half baseline, half speed.
SPEED_BASELINE = 0.01
#: |dp/dt| above this (per second) adds nothing more: caps the last-second spikes.
SPEED_CAP = 0.06
#: Maker level-change messages per taker order (stats 1.1 [A]: price_change 2-4 x trades).
LC_PER_TRADE = (2.0, 4.0)
#: Event-market prints per day, log-uniform (stats 7: 100-1,500).
EVENT_TRADES_PER_DAY = (100.0, 1500.0)
#: Day-to-day spread of an event market's trade count (lognormal sigma) [A].
EVENT_DAY_SIGMA = 0.3
#: Activity after a news jump: peak multiplier and decay time (stats 3.2 [A]).
BURST_PEAK = (10.0, 100.0)
BURST_SECONDS = (60.0, 600.0)

#: Relative activity of event markets by UTC hour [A]. The markets are mostly
#: US politics, economics and culture: quiet 04:00-11:00 UTC (US night), busiest
#: in the US afternoon. Normalised to a mean of 1.
_HOURLY = np.array(
    [
        0.9,
        0.8,
        0.7,
        0.55,
        0.4,
        0.3,
        0.25,
        0.25,
        0.3,
        0.4,
        0.55,
        0.7,
        0.85,
        1.0,
        1.15,
        1.25,
        1.3,
        1.35,
        1.35,
        1.3,
        1.25,
        1.2,
        1.1,
        1.0,
    ]
)
HOURLY_PROFILE = _HOURLY / _HOURLY.mean()


def trade_share(symbol: str, g: np.random.Generator) -> float:
    """An asset's trade rate relative to BTC; unknown symbols draw from 0.2-0.4."""
    return ASSET_TRADE_SHARE.get(symbol, float(g.uniform(0.2, 0.4)))


def btc_prints_per_s(minutes: int, activity: float) -> float:
    """BTC prints per second in a window of ``minutes`` on a day of ``activity`` (0..1).

    Log-log interpolation between the measured window lengths, flat outside them.
    """
    known = sorted(BTC_PRINTS_PER_S)
    x = min(max(minutes, known[0]), known[-1])
    lo_m = max(k for k in known if k <= x)
    hi_m = min(k for k in known if k >= x)

    def at(m: int) -> float:
        lo, hi = BTC_PRINTS_PER_S[m]
        return lo + (hi - lo) * activity

    if lo_m == hi_m:
        return at(lo_m)
    w = math.log(x / lo_m) / math.log(hi_m / lo_m)
    return math.exp((1.0 - w) * math.log(at(lo_m)) + w * math.log(at(hi_m)))


def window_trade_count(
    activity: float, share: float, minutes: int, intensity: float, g: np.random.Generator
) -> float:
    """Expected taker orders in one up/down window."""
    prints = btc_prints_per_s(minutes, activity) * share * minutes * 60.0
    spread = math.exp(WINDOW_COUNT_SIGMA * g.standard_normal() - 0.5 * WINDOW_COUNT_SIGMA**2)
    return prints / PRINTS_PER_ORDER * spread * intensity


def window_rates(
    fair: np.ndarray, step_s: float, trades: float, lc_per_trade: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step trade and level-change rates of a window, summing to ``trades``.

    Weight = baseline + |dp/dt|, with dp/dt the 1-second centred difference
    of fair value (the stats measure |dp|/s at 1 s).
    """
    n = len(fair)
    half = max(1, round(0.5 / step_s))
    idx = np.arange(n)
    hi = np.minimum(idx + half, n - 1)
    lo = np.maximum(idx - half, 0)
    speed = np.abs(fair[hi] - fair[lo]) / ((hi - lo) * step_s)
    w = SPEED_BASELINE + np.minimum(speed, SPEED_CAP)
    lam_trade = w * (trades / (w.sum() * step_s))
    return lam_trade, lam_trade * lc_per_trade


def event_day_rates(
    t0_ns: int,
    step_ns: int,
    steps: int,
    trades_per_day: float,
    lc_per_trade: float,
    jumps_ns: np.ndarray,
    g: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step rates of an event market for one UTC day.

    The hour profile spreads ``trades_per_day`` over the day; each news jump
    adds a burst of ``peak`` x the current rate decaying over 1-10 minutes.
    """
    step_s = step_ns / 1e9
    hours = (np.arange(steps) * step_ns // 3_600_000_000_000) % 24
    base = HOURLY_PROFILE[hours]
    lam_trade = base * (trades_per_day / (base.sum() * step_s))
    if len(jumps_ns):
        t = t0_ns + np.arange(steps, dtype=np.int64) * step_ns
        boost = np.ones(steps)
        for tj in jumps_ns:
            peak = math.exp(g.uniform(math.log(BURST_PEAK[0]), math.log(BURST_PEAK[1])))
            tau = g.uniform(*BURST_SECONDS)
            after = t >= tj
            boost[after] += (peak - 1.0) * np.exp(-(t[after] - tj) / 1e9 / tau)
        lam_trade = lam_trade * boost
    return lam_trade, lam_trade * lc_per_trade
