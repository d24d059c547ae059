"""Price paths: the fair YES probability each book is quoted around.

Two families (market-statistics.md section 3):

- **Up/down windows** (3.1): a GBM underlying sampled every 100 ms, with a
  per-minute volatility from the measured range (BTC 4.1 bp calm .. 7.9 bp busy),
  and fair YES = Phi(ln(S_t / S_0) / (sigma * sqrt(tau))) with tau the time
  left. The path is continuous across windows and days, so the next window's
  "price to beat" is this window's close, as on Polymarket.
- **Event markets** (3.2): a logit random walk (daily sigma 0.05-0.1) plus
  Poisson news jumps (1-4 a month, logit size ~N(0, 0.5)). Multi-outcome
  groups take a softmax of independent logit walks, so their fair
  probabilities always sum to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from exchange_mock.synth.seeds import Stream, rng, symbol_key

NS_PER_S = 1_000_000_000
#: Underlying and up/down fair value sampling step. 100 ms resolves the 1-s jumps
#: of 0.3-0.9 seen at the very end of a window (stats 3.1).
CRYPTO_STEP_NS = 100_000_000
#: Event-market path step: their fair value moves by basis points per hour.
EVENT_STEP_NS = 1_000_000_000
#: Fair probabilities are kept inside this band so logits stay finite.
P_FLOOR = 0.0005

#: Per-asset start price and volatility relative to BTC. Start prices only set
#: the scale of the underlying; the ratio S_t/S_0 is what prices a window.
#: BTC's 4-8 bp/min is measured (stats 3.1); the others' multipliers are [A]
#: (alt-coins move more than BTC).
ASSET_PROFILES: dict[str, tuple[str, float, float]] = {
    "BTC": ("Bitcoin", 98_000.0, 1.0),
    "ETH": ("Ethereum", 3_600.0, 1.3),
    "SOL": ("Solana", 180.0, 1.7),
    "XRP": ("XRP", 2.4, 1.6),
    "DOGE": ("Dogecoin", 0.21, 1.9),
    "BNB": ("BNB", 720.0, 1.1),
    "HYPE": ("Hyperliquid", 38.0, 2.2),
    "ZEC": ("Zcash", 420.0, 2.5),
}
#: BTC sigma per minute on a calm and on a busy day (stats 3.1: $26 = 4.1 bp on
#: 07-24, $50 = 7.9 bp on 06-08). Each day draws an activity level in [0, 1].
BTC_SIGMA_PER_MIN = (0.00041, 0.00079)
#: Event-market logit walk: daily sigma range and jump model (stats 3.2 [A]).
EVENT_DAILY_SIGMA = (0.05, 0.10)
JUMPS_PER_DAY = (1.0 / 30.0, 4.0 / 30.0)
JUMP_LOGIT_SD = 0.5


def asset_profile(symbol: str, seed: int) -> tuple[str, float, float]:
    """(display name, start price, sigma multiplier vs BTC) of an asset.

    Unknown symbols get a seeded start price and a multiplier of 1.5-2.5 (a
    small alt-coin).
    """
    if symbol in ASSET_PROFILES:
        return ASSET_PROFILES[symbol]
    g = rng(seed, Stream.ASSET_META, symbol_key(symbol))
    return symbol, float(10.0 ** g.uniform(-1.0, 3.0)), float(g.uniform(1.5, 2.5))


def day_activity(seed: int, day_ordinal: int) -> float:
    """How busy a UTC day is in crypto, in [0, 1] (0 = the calm 07-24, 1 = the busy 06-08).

    Shared by all assets that day: volatility and trade counts rise together.
    """
    return float(rng(seed, Stream.ASSET_META, 0, day_ordinal).uniform(0.0, 1.0))


def crypto_sigma_per_min(activity: float, multiplier: float) -> float:
    lo, hi = BTC_SIGMA_PER_MIN
    return (lo + (hi - lo) * activity) * multiplier


def underlying_day(
    seed: int, symbol: str, day_ordinal: int, log_s0: float, sigma_per_min: float
) -> np.ndarray:
    """Log price of ``symbol`` on the 100 ms grid of one UTC day, 864,001 points.

    Point 0 is midnight and equals ``log_s0`` (the previous day's close), so
    the path is continuous. Driftless in log space: Up and Down are equally
    likely, as measured (48 % / 47 % / 50.5 % Up, stats 3.1).
    """
    steps = 86_400 * NS_PER_S // CRYPTO_STEP_NS
    g = rng(seed, Stream.UNDERLYING, symbol_key(symbol), day_ordinal)
    sd = sigma_per_min * math.sqrt(CRYPTO_STEP_NS / NS_PER_S / 60.0)
    out = np.empty(steps + 1)
    out[0] = log_s0
    np.cumsum(g.standard_normal(steps) * sd, out=out[1:])
    out[1:] += log_s0
    return out


@njit(cache=True)
def updown_fair(log_s: np.ndarray, sigma_per_step: float) -> np.ndarray:
    """Fair YES of an up/down window on its own grid.

    ``log_s`` holds the log underlying at the window's grid points plus the
    close (``n + 1`` points). Point ``g`` has ``n - g`` steps left;
    YES = Phi(ln(S_g/S_0) / (sigma * sqrt(steps left))). Equal to 0.5 at the open.
    """
    n = log_s.shape[0] - 1
    out = np.empty(n)
    x0 = log_s[0]
    for g in range(n):
        z = (log_s[g] - x0) / (sigma_per_step * math.sqrt(n - g))
        out[g] = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    return out


@dataclass
class LogitWalk:
    """The state of one or more logit random walks carried from day to day.

    ``logits`` are the current values; ``daily_sigma`` and ``jump_rate``
    (jumps per day) are fixed per walk. A one-walk group is a binary event
    market (fair = sigmoid); more walks are a neg-risk group (fair = softmax).
    """

    logits: np.ndarray
    daily_sigma: np.ndarray
    jump_rate: np.ndarray
    jumps_ns: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def start(cls, g: np.random.Generator, probs: np.ndarray) -> LogitWalk:
        n = len(probs)
        p = np.clip(np.asarray(probs, dtype=np.float64), P_FLOOR, 1.0 - P_FLOOR)
        logits = np.log(p / (1.0 - p)) if n == 1 else np.log(p)
        return cls(
            logits=logits,
            daily_sigma=g.uniform(*EVENT_DAILY_SIGMA, size=n),
            jump_rate=g.uniform(*JUMPS_PER_DAY, size=n),
        )

    def day(self, g: np.random.Generator, t0_ns: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Advance one UTC day on the 1 s grid.

        Returns the fair YES probabilities, shape (walks, 86,400), and per walk
        the jump times (ns) of the day, which drive the activity bursts.
        """
        n = len(self.logits)
        steps = 86_400 * NS_PER_S // EVENT_STEP_NS
        sd = self.daily_sigma[:, None] * math.sqrt(EVENT_STEP_NS / NS_PER_S / 86_400.0)
        incr = g.standard_normal((n, steps)) * sd
        jumps: list[np.ndarray] = []
        for i in range(n):
            count = int(g.poisson(self.jump_rate[i]))
            at = np.sort(g.integers(0, steps, size=count))
            incr[i, at] += g.normal(0.0, JUMP_LOGIT_SD, size=count)
            jumps.append(t0_ns + at.astype(np.int64) * EVENT_STEP_NS)
        path = self.logits[:, None] + np.cumsum(incr, axis=1)
        self.logits = path[:, -1].copy()
        if n == 1:
            fair = 1.0 / (1.0 + np.exp(-path))
        else:
            e = np.exp(path - path.max(axis=0, keepdims=True))
            fair = e / e.sum(axis=0, keepdims=True)
        return np.clip(fair, P_FLOOR, 1.0 - P_FLOOR), jumps
