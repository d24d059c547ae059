"""Market metadata: the markets table of a synthetic dataset.

Three kinds, in this order in the table (the asset table follows it: market
``i`` has YES at ``2*i`` and NO at ``2*i+1``):

1. standalone binary event markets, alive over the whole recording;
2. neg-risk groups: several binary markets sharing an ``event_id``, exactly
   one of which will resolve YES;
3. crypto up/down windows, by start time then by asset.

Parameters follow market-statistics.md section 5 and polymarket-protocol.md
sections 5 and 10: up/down windows have slug ``<sym>-updown-15m-<start unix
s>``, question "Bitcoin Up or Down - November 2, 10:00AM-10:15AM ET", tokens
Up (YES) / Down (NO), category crypto, taker fee rate 0.07 with exponent 1,
minimum order 5 shares, neg_risk false, tick 0.01 at the open. Event markets
take the fee of their category (sports 0.03; politics, finance 0.04;
economics, culture, weather 0.05; geopolitics free) and a fixed tick of 0.01
or 0.001 (0.001 for long shots and favourites, as the Xi and Newsom books).

Resolution: a window resolves Up iff its close >= its open; the RESOLVED
message comes 15 s + lognormal(median 5 s) after the end, i.e. median 20 s
and p90 60 s, never under 15 s (stats 5: Gamma closedTime - end, min 15 s,
median 19-21 s). Windows whose RESOLVED message would arrive after the
recording ends keep ``resolution`` "" (the recording never saw it). Event
markets and neg-risk groups outlive the recording: they end months after it
and are unresolved in the data.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np

from exchange_mock.synth.book_messages import LAT_MAX_NS, LAT_MU, LAT_SIGMA
from exchange_mock.synth.config import SynthConfig
from exchange_mock.synth.paths import asset_profile
from exchange_mock.synth.seeds import Stream, rng, symbol_key
from sim.marketdata import day_start_ns
from sim.types import MarketInfo

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S

#: Taker fee rate by category (polymarket-protocol.md section 5).
FEE_RATE: dict[str, float] = {
    "crypto": 0.07,
    "sports": 0.03,
    "finance": 0.04,
    "politics": 0.04,
    "economics": 0.05,
    "culture": 0.05,
    "weather": 0.05,
    "geopolitics": 0.0,
}
MIN_ORDER_SIZE = 5.0  # stats 5: orderMinSize 5 in every market

#: Resolution delay after a window's end: 15 s floor plus a lognormal whose
#: median (5 s) and p90 (45 s) put the total at median 20 s, p90 60 s.
RESOLVE_FLOOR_S = 15.0
RESOLVE_MEDIAN_S = 5.0
RESOLVE_SIGMA = math.log(45.0 / 5.0) / 1.2815515655446004
RESOLVE_MAX_S = 316.0  # the longest measured (stats 5)

_EVENT_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("Xi Jinping out before 2027?", "xi-jinping-out-before-2027", "geopolitics"),
    (
        "Will Gavin Newsom announce a 2028 presidential run before 2027?",
        "newsom-announces-2028-run-before-2027",
        "politics",
    ),
    ("US recession in 2026?", "us-recession-in-2026", "economics"),
    ("Will gold close 2026 above $4,500/oz?", "gold-above-4500-end-of-2026", "finance"),
    (
        "Will a Category 5 hurricane make US landfall in 2026?",
        "cat-5-hurricane-us-landfall-2026",
        "weather",
    ),
    ("New Taylor Swift album before 2027?", "new-taylor-swift-album-before-2027", "culture"),
    ("Will the Lakers win the 2027 NBA Finals?", "lakers-win-2027-nba-finals", "sports"),
    ("Russia x Ukraine ceasefire in 2026?", "russia-ukraine-ceasefire-in-2026", "geopolitics"),
)

_GROUP_TEMPLATES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "Fed decision in January 2027?",
        "fed-decision-in-january-2027",
        "economics",
        "Fed {o} after the January 2027 meeting?",
        ("No change", "25 bps decrease", "50+ bps decrease", "25+ bps increase"),
    ),
    (
        "Which party wins the 2028 US presidential election?",
        "which-party-wins-2028-us-presidential-election",
        "politics",
        "Will the {o} win the 2028 US presidential election?",
        ("Democratic Party", "Republican Party", "Independent candidate"),
    ),
    (
        "Champions League winner 2026-27",
        "champions-league-winner-2026-27",
        "sports",
        "Will {o} win the 2026-27 Champions League?",
        (
            "Real Madrid",
            "Manchester City",
            "Bayern Munich",
            "Arsenal",
            "Barcelona",
            "PSG",
            "Liverpool",
            "Inter Milan",
        ),
    ),
    (
        "Largest company in the world at the end of 2026?",
        "largest-company-end-of-2026",
        "finance",
        "Will {o} be the largest company in the world at the end of 2026?",
        ("NVIDIA", "Microsoft", "Apple", "Alphabet", "Amazon", "Saudi Aramco", "Meta", "Broadcom"),
    ),
)

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class CryptoWindow:
    """One up/down window and when its RESOLVED message is sent and received."""

    symbol: str
    start_ns: int
    end_ns: int
    market_index: int
    up: bool
    resolved_ex_ns: int
    resolved_recv_ns: int

    @property
    def resolution_recorded(self) -> bool:
        return self.resolved_recv_ns >= 0


@dataclass(frozen=True)
class EventGroup:
    """A standalone event market (one outcome) or a neg-risk group (several)."""

    key: int
    market_indexes: tuple[int, ...]
    probs: tuple[float, ...]
    tick: float
    neg_risk: bool


@dataclass(frozen=True)
class Plan:
    """Every market of the dataset and how each is generated."""

    markets: list[MarketInfo]
    events: list[EventGroup]
    windows_by_day: list[list[CryptoWindow]]


_UINT256 = 2**256


def token_id(g: np.random.Generator) -> str:
    """A realistic ERC-1155 token id: a 76-78 digit decimal string below 2**256 (an id is
    a uint256: the signed order encodes it as one). A 78-digit draw past that bound drops
    its second digit (every 77-digit number is below 2**256), so the generator draws
    exactly what it always drew."""
    n = int(g.integers(76, 79))
    digits = g.integers(0, 10, size=n)
    digits[0] = g.integers(1, 10)
    s = "".join(map(str, digits.tolist()))
    return s if int(s) < _UINT256 else s[0] + s[2:]


def condition_id(g: np.random.Generator) -> str:
    return "0x" + g.bytes(32).hex()


def _event_id(g: np.random.Generator) -> str:
    return str(int(g.integers(10_000, 300_000)))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def eastern(t_ns: int) -> dt.datetime:
    """US Eastern local time of a UTC instant (DST: 2nd Sunday of March to 1st of November).

    Written out rather than taken from a tz database so the questions do not
    depend on the machine's tzdata.
    """
    utc = dt.datetime.fromtimestamp(t_ns // NS_PER_S, tz=dt.UTC)
    year = utc.year

    def sunday(month: int, nth: int) -> dt.date:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))

    dst_on = dt.datetime.combine(sunday(3, 2), dt.time(7), tzinfo=dt.UTC)
    dst_off = dt.datetime.combine(sunday(11, 1), dt.time(6), tzinfo=dt.UTC)
    offset = -4 if dst_on <= utc < dst_off else -5
    return (utc + dt.timedelta(hours=offset)).replace(tzinfo=None)


def _clock(t: dt.datetime) -> str:
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d}{'AM' if t.hour < 12 else 'PM'}"


def window_question(name: str, start_ns: int, end_ns: int) -> str:
    """The Gamma question of a window; daily windows are named by their ET day."""
    a, b = eastern(start_ns), eastern(end_ns)
    if end_ns - start_ns >= NS_PER_DAY:
        return f"{name} Up or Down on {_MONTHS[b.month - 1]} {b.day}?"
    return f"{name} Up or Down - {_MONTHS[a.month - 1]} {a.day}, {_clock(a)}-{_clock(b)} ET"


def _resolution_timing(
    g: np.random.Generator, end_ns: int, gaps: np.ndarray, recording_end_ns: int
) -> tuple[int, int]:
    """(exchange, receive) time of a window's RESOLVED message; receive -1 if never recorded.

    A message lost in a feed gap is fetched again when the recorder
    reconnects, so it is received just after the gap.
    """
    delay = RESOLVE_FLOOR_S + RESOLVE_MEDIAN_S * math.exp(RESOLVE_SIGMA * g.standard_normal())
    ex = end_ns + int(min(delay, RESOLVE_MAX_S) * 1000) * 1_000_000
    lat = _latency_ns(g)
    recv = ex + lat
    for start, stop in gaps.tolist():
        if recv >= start and ex < stop:
            recv = stop + _latency_ns(g)
    return ex, (recv if recv < recording_end_ns else -1)


def _latency_ns(g: np.random.Generator) -> int:
    return min(int(math.exp(LAT_MU + LAT_SIGMA * g.standard_normal())), LAT_MAX_NS)


def _edition(question: str, slug: str, cycle: int) -> tuple[str, str]:
    """Tell apart markets made from the same template when there are more markets than templates."""
    if cycle == 0:
        return question, slug
    return f"{question} (#{cycle + 1})", f"{slug}-{cycle + 1}"


def _event_prob(g: np.random.Generator) -> float:
    """A starting price: long shots, coin flips and favourites (EQ books: 0.025, 0.156, 0.80)."""
    u = g.random()
    if u < 0.4:
        return math.exp(g.uniform(math.log(0.01), math.log(0.1)))
    if u < 0.8:
        return float(g.uniform(0.1, 0.9))
    return 1.0 - math.exp(g.uniform(math.log(0.01), math.log(0.1)))


def _lifetime(g: np.random.Generator, config: SynthConfig) -> tuple[int, int]:
    start = day_start_ns(config.start_date) - int(g.uniform(20, 400) * 86_400) * NS_PER_S
    end = day_start_ns(config.end_date) + int(g.integers(20, 300)) * NS_PER_DAY
    return start, end


def plan_markets(
    config: SynthConfig,
    boundaries: dict[str, np.ndarray],
    gaps_by_day: list[np.ndarray],
) -> Plan:
    """All markets of ``config``.

    ``boundaries[symbol]`` holds the log underlying at every window boundary
    of the recording (``days * windows_per_day + 1`` values), which decides
    each window's outcome; ``gaps_by_day`` the feed gaps, which decide whether
    a resolution is recorded.
    """
    markets: list[MarketInfo] = []
    events: list[EventGroup] = []
    used_slugs: set[str] = set()

    def unique(slug: str) -> str:
        out, n = slug, 2
        while out in used_slugs:
            out, n = f"{slug}-{n}", n + 1
        used_slugs.add(out)
        return out

    for j in range(config.event_markets):
        g = rng(config.seed, Stream.EVENT_META, j)
        question, slug, category = _EVENT_TEMPLATES[j % len(_EVENT_TEMPLATES)]
        question, slug = _edition(question, slug, j // len(_EVENT_TEMPLATES))
        p0 = _event_prob(g)
        tick = 0.001 if (p0 < 0.1 or p0 > 0.9 or g.random() < 0.5) else 0.01
        start, end = _lifetime(g, config)
        cid, yes, no, eid = condition_id(g), token_id(g), token_id(g), _event_id(g)
        events.append(EventGroup(j, (len(markets),), (p0,), tick, False))
        markets.append(
            MarketInfo(
                condition_id=cid,
                question=question,
                yes_token_id=yes,
                no_token_id=no,
                tick_size=tick,
                min_order_size=MIN_ORDER_SIZE,
                fee_rate=FEE_RATE[category],
                fee_exponent=1.0,
                neg_risk=False,
                event_id=eid,
                slug=unique(slug),
                category=category,
                start_ns=start,
                end_ns=end,
                resolution="",
            )
        )

    for j, size in enumerate(config.neg_risk_groups):
        g = rng(config.seed, Stream.GROUP_META, j, size)
        _title, slug, category, pattern, names = _GROUP_TEMPLATES[j % len(_GROUP_TEMPLATES)]
        pattern, slug = _edition(pattern, slug, j // len(_GROUP_TEMPLATES))
        outcomes = list(names[:size]) + [f"Other {i}" for i in range(1, size - len(names) + 1)]
        probs = g.dirichlet(np.full(size, 1.5))
        tick = 0.01 if g.random() < 0.6 else 0.001
        start, end = _lifetime(g, config)
        eid = _event_id(g)
        indexes = tuple(range(len(markets), len(markets) + size))
        events.append(EventGroup(j, indexes, tuple(float(p) for p in probs), tick, True))
        for outcome in outcomes:
            cid, yes, no = condition_id(g), token_id(g), token_id(g)
            markets.append(
                MarketInfo(
                    condition_id=cid,
                    question=pattern.format(o=outcome),
                    yes_token_id=yes,
                    no_token_id=no,
                    tick_size=tick,
                    min_order_size=MIN_ORDER_SIZE,
                    fee_rate=FEE_RATE[category],
                    fee_exponent=1.0,
                    neg_risk=True,
                    event_id=eid,
                    slug=unique(f"{slug}-{slugify(outcome)}"),
                    category=category,
                    start_ns=start,
                    end_ns=end,
                    resolution="",
                )
            )

    window_ns = config.window_minutes * 60 * NS_PER_S
    per_day = 1440 // config.window_minutes
    recording_end = day_start_ns(config.end_date)
    windows_by_day: list[list[CryptoWindow]] = []
    for d in range(config.days):
        d0 = day_start_ns(config.start_date + dt.timedelta(days=d))
        day_windows: list[CryptoWindow] = []
        for w in range(per_day):
            start = d0 + w * window_ns
            end = start + window_ns
            unix = start // NS_PER_S
            gaps = np.concatenate(gaps_by_day[d : d + 2]) if gaps_by_day else np.empty((0, 2))
            for sym in config.crypto_assets:
                g = rng(config.seed, Stream.CRYPTO_META, symbol_key(sym), unix)
                b = boundaries[sym]
                up = bool(b[d * per_day + w + 1] >= b[d * per_day + w])
                cid, yes, no, eid = condition_id(g), token_id(g), token_id(g), _event_id(g)
                ex, recv = _resolution_timing(g, end, gaps, recording_end)
                name = asset_profile(sym, config.seed)[0]
                window = CryptoWindow(sym, start, end, len(markets), up, ex, recv)
                day_windows.append(window)
                markets.append(
                    MarketInfo(
                        condition_id=cid,
                        question=window_question(name, start, end),
                        yes_token_id=yes,
                        no_token_id=no,
                        tick_size=0.01,
                        min_order_size=MIN_ORDER_SIZE,
                        fee_rate=FEE_RATE["crypto"],
                        fee_exponent=1.0,
                        neg_risk=False,
                        event_id=eid,
                        slug=unique(f"{sym.lower()}-updown-{config.window_label}-{unix}"),
                        category="crypto",
                        start_ns=start,
                        end_ns=end,
                        resolution=("YES" if up else "NO") if window.resolution_recorded else "",
                    )
                )
        windows_by_day.append(day_windows)
    return Plan(markets, events, windows_by_day)
