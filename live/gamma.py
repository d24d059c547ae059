"""Gamma market metadata (``gamma-api.polymarket.com``) -> ``sim.types.MarketInfo``.

A file may hold one market object, a list of markets, a Gamma event object
(whose ``markets`` list is read, the event supplying ``event_id``, ``category``,
``negRisk`` and tags), or a list of events (what ``/events`` answers).

Field by field (Gamma name -> ``MarketInfo``):

=============================  =====================================================
``conditionId``                ``condition_id`` (required)
``question``                   ``question`` (required)
``slug``                       ``slug`` (required: it names the dataset's files)
``clobTokenIds`` + ``outcomes``  ``yes_token_id``/``no_token_id`` (required; both are
                               JSON-encoded strings in Gamma, plain lists accepted).
                               YES is the outcome named ``Yes``/``Up`` (any case),
                               else the first outcome; exactly two tokens
``orderPriceMinTickSize``      ``tick_size`` (required; a Polymarket tick)
``orderMinSize``               ``min_order_size`` (required)
``feesEnabled``/``feeSchedule``  ``fee_rate``/``fee_exponent`` = ``feeSchedule.rate``/
                               ``.exponent`` when fees are enabled (then
                               ``feeSchedule`` is required: the base fees
                               ``makerBaseFee``/``takerBaseFee`` are not the rate);
                               0 and 1 when disabled
``negRisk``                    ``neg_risk`` (the event's when the market has none;
                               false when neither has it)
``events[0].id`` / event       ``event_id``
``category``                   ``category`` (the market's, else the event's, else "")
``eventStartTime``/``startDate``  ``start_ns``: the window start of up/down markets
                               and the game start of sports markets, else the
                               market's start; 0 when neither is given
``endDate``                    ``end_ns`` (0 when absent)
``closed`` + ``umaResolutionStatus`` + ``outcomePrices``
                               ``resolution``: ``YES``/``NO`` when the market is
                               closed, its UMA status (if given) is ``resolved`` and
                               its prices are exactly one ``1`` and one ``0``; ""
                               otherwise (open, proposed, disputed, 50-50, 0/0)
event ``tags[].slug``          ``tags``
=============================  =====================================================

A missing or malformed field raises ``DataValidationError`` (reason
``missing_field`` or ``bad_field``) whose message names the file, the market
(index and slug/condition id) and the Gamma field.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.errors import ConfigError, DataValidationError
from sim.types import VALID_TICK_SIZES, MarketInfo

__all__ = ["load_gamma_markets", "load_markets", "market_from_gamma"]

_YES_NAMES = frozenset({"yes", "up"})
_NO_NAMES = frozenset({"no", "down"})


class _Ctx:
    """Where a market came from, for error messages; ``parent`` prefixes nested fields."""

    def __init__(self, source: str, where: str, parent: str = "") -> None:
        self.source = source
        self.where = where
        self.parent = parent

    @classmethod
    def of(cls, source: str, where: str, market: Mapping[str, Any]) -> _Ctx:
        label = market.get("slug") or market.get("conditionId") or market.get("id") or "?"
        return cls(source, f"{where} ({label})" if where else str(label))

    def nested(self, parent: str) -> _Ctx:
        return _Ctx(self.source, self.where, parent)

    def fail(self, reason: str, field: str, problem: str) -> DataValidationError:
        name = f"{self.parent}.{field}" if self.parent else field
        return DataValidationError(
            self.source, reason, f"Gamma market {self.where}: field {name!r} {problem}"
        )


def _required(m: Mapping[str, Any], key: str, ctx: _Ctx) -> Any:
    value = m.get(key)
    if value is None or value == "":
        raise ctx.fail("missing_field", key, "is missing" if key not in m else "is empty")
    return value


def _string(m: Mapping[str, Any], key: str, ctx: _Ctx) -> str:
    value = _required(m, key, ctx)
    if not isinstance(value, str):
        raise ctx.fail("bad_field", key, f"must be a string, got {value!r}")
    return value


def _number(value: Any, key: str, ctx: _Ctx) -> float:
    if isinstance(value, bool):
        raise ctx.fail("bad_field", key, f"must be a number, got {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ctx.fail("bad_field", key, f"must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ctx.fail("bad_field", key, f"must be finite, got {value!r}")
    return out


def _string_list(m: Mapping[str, Any], key: str, ctx: _Ctx) -> list[str]:
    """A list of strings that Gamma JSON-encodes into one string (a plain list is accepted)."""
    value = _required(m, key, ctx)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ctx.fail("bad_field", key, f"is not a JSON-encoded list: {value!r}") from None
    if not isinstance(value, list):
        raise ctx.fail("bad_field", key, f"must be a list, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, int | float) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item:
            raise ctx.fail("bad_field", key, f"has an entry that is not a string: {item!r}")
        out.append(item)
    return out


def _bool(m: Mapping[str, Any], key: str, ctx: _Ctx, default: bool | None) -> bool | None:
    value = m.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ctx.fail("bad_field", key, f"must be true or false, got {value!r}")
    return value


def _time_ns(m: Mapping[str, Any], key: str, ctx: _Ctx) -> int | None:
    """An ISO-8601 time (``2026-03-12T09:25:00Z``) as ns since the epoch; naive = UTC."""
    value = m.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ctx.fail("bad_field", key, f"must be an ISO-8601 time, got {value!r}")
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ctx.fail("bad_field", key, f"is not an ISO-8601 time: {value!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    delta = t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # exact: no float seconds
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _tokens(m: Mapping[str, Any], ctx: _Ctx) -> tuple[str, str, int]:
    """(yes token, no token, index of YES in the Gamma lists)."""
    tokens = _string_list(m, "clobTokenIds", ctx)
    if len(tokens) != 2:
        raise ctx.fail("bad_field", "clobTokenIds", f"must hold 2 token ids, got {len(tokens)}")
    if tokens[0] == tokens[1]:
        raise ctx.fail("bad_field", "clobTokenIds", "holds the same token id twice")
    outcomes = _string_list(m, "outcomes", ctx)
    if len(outcomes) != 2:
        raise ctx.fail("bad_field", "outcomes", f"must hold 2 outcomes, got {outcomes!r}")
    names = [o.strip().lower() for o in outcomes]
    yes = 1 if names[1] in _YES_NAMES and names[0] in _NO_NAMES else 0
    return tokens[yes], tokens[1 - yes], yes


def _tick(m: Mapping[str, Any], ctx: _Ctx) -> float:
    key = "orderPriceMinTickSize"
    tick = _number(_required(m, key, ctx), key, ctx)
    for valid in VALID_TICK_SIZES:
        if abs(tick - valid) < 1e-12:
            return valid
    raise ctx.fail("bad_field", key, f"{tick!r} is not a Polymarket tick {VALID_TICK_SIZES}")


def _fees(m: Mapping[str, Any], ctx: _Ctx) -> tuple[float, float]:
    enabled = _bool(m, "feesEnabled", ctx, None)
    schedule = m.get("feeSchedule")
    if enabled is False or (enabled is None and schedule is None):
        return 0.0, 1.0
    if schedule is None:
        raise ctx.fail(
            "missing_field",
            "feeSchedule",
            "is missing although feesEnabled is true: the taker fee rate is unknown "
            "(makerBaseFee/takerBaseFee are not the rate); add "
            '"feeSchedule": {"rate": R, "exponent": E} from a newer Gamma answer',
        )
    if not isinstance(schedule, Mapping):
        raise ctx.fail("bad_field", "feeSchedule", f"must be an object, got {schedule!r}")
    sub = ctx.nested("feeSchedule")
    rate = _number(_required(schedule, "rate", sub), "rate", sub)
    exponent = _number(_required(schedule, "exponent", sub), "exponent", sub)
    if rate < 0:
        raise sub.fail("bad_field", "rate", f"must be >= 0, got {rate!r}")
    return rate, exponent


def _resolution(m: Mapping[str, Any], yes_index: int, ctx: _Ctx) -> str:
    if not _bool(m, "closed", ctx, False):
        return ""
    status = m.get("umaResolutionStatus")
    if status is not None and status != "resolved":
        return ""  # proposed / disputed: not final
    if m.get("outcomePrices") in (None, ""):
        return ""
    prices = [_number(p, "outcomePrices", ctx) for p in _string_list(m, "outcomePrices", ctx)]
    if len(prices) != 2 or sorted(prices) != [0.0, 1.0]:
        return ""  # 50-50, 0/0 (voided legacy markets) or not final
    return "YES" if prices[yes_index] == 1.0 else "NO"


def _tags(event: Mapping[str, Any] | None) -> tuple[str, ...]:
    out: list[str] = []
    for tag in (event or {}).get("tags") or ():
        if isinstance(tag, Mapping):
            name = tag.get("slug") or tag.get("label")
            if isinstance(name, str) and name:
                out.append(name)
        elif isinstance(tag, str) and tag:
            out.append(tag)
    return tuple(out)


def market_from_gamma(
    market: Mapping[str, Any],
    *,
    source: str = "<gamma>",
    where: str = "",
    event: Mapping[str, Any] | None = None,
) -> MarketInfo:
    """One Gamma market object as ``MarketInfo`` (field table in the module docstring).

    ``source`` (the file) and ``where`` (e.g. ``markets[3]``) only label errors.
    ``event`` is the enclosing Gamma event, if the market came inside one; else
    the market's own ``events[0]`` is used.
    """
    if not isinstance(market, Mapping):
        raise DataValidationError(
            source, "bad_field", f"{where or 'market'}: expected a Gamma market object"
        )
    ctx = _Ctx.of(source, where, market)
    if event is None:
        events = market.get("events")
        if isinstance(events, list) and events and isinstance(events[0], Mapping):
            event = events[0]
    yes, no, yes_index = _tokens(market, ctx)
    rate, exponent = _fees(market, ctx)
    neg_risk = _bool(market, "negRisk", ctx, None)
    if neg_risk is None and event is not None:
        neg_risk = _bool(event, "negRisk", ctx.nested("event"), None)
    event_id = "" if event is None else event.get("id", "")
    category = market.get("category") or (event or {}).get("category") or ""
    start = _time_ns(market, "eventStartTime", ctx)
    if start is None:
        start = _time_ns(market, "startDate", ctx)
    end = _time_ns(market, "endDate", ctx)
    min_size = _number(_required(market, "orderMinSize", ctx), "orderMinSize", ctx)
    if min_size <= 0:
        raise ctx.fail("bad_field", "orderMinSize", f"must be > 0, got {min_size!r}")
    try:
        return MarketInfo(
            condition_id=_string(market, "conditionId", ctx),
            question=_string(market, "question", ctx),
            yes_token_id=yes,
            no_token_id=no,
            tick_size=_tick(market, ctx),
            min_order_size=min_size,
            fee_rate=rate,
            fee_exponent=exponent,
            neg_risk=bool(neg_risk),
            event_id=str(event_id),
            slug=_string(market, "slug", ctx),
            category=str(category),
            start_ns=start or 0,
            end_ns=end or 0,
            resolution=_resolution(market, yes_index, ctx),
            tags=_tags(event),
        )
    except (ValueError, ConfigError) as exc:  # MarketInfo's own checks
        if isinstance(exc, DataValidationError):
            raise
        raise DataValidationError(source, "bad_field", f"Gamma market {ctx.where}: {exc}") from exc


def _is_event(obj: Any) -> bool:
    return isinstance(obj, Mapping) and isinstance(obj.get("markets"), list)


def _markets_of(
    doc: Any, source: str
) -> Iterable[tuple[Mapping[str, Any], str, Mapping[str, Any] | None]]:
    """(market, where, event) for every market in a decoded Gamma document."""
    items = doc if isinstance(doc, list) else [doc]
    top = "" if isinstance(doc, list) else None
    for i, item in enumerate(items):
        prefix = f"[{i}]" if top is not None else ""
        if _is_event(item):
            for j, market in enumerate(item["markets"]):
                yield market, f"{prefix}.markets[{j}]".lstrip("."), item
        elif isinstance(item, Mapping):
            yield item, prefix, None
        else:
            raise DataValidationError(
                source,
                "bad_field",
                f"{prefix or 'document'}: expected a Gamma market or event object, "
                f"got {type(item).__name__}",
            )


def load_gamma_markets(path: str | Path) -> list[MarketInfo]:
    """Every market of one Gamma JSON file (a market, a list, an event or a list of events)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes())
    except ValueError as exc:
        raise DataValidationError(str(path), "corrupt_file", f"not JSON: {exc}") from None
    out = [
        market_from_gamma(m, source=str(path), where=where, event=event)
        for m, where, event in _markets_of(doc, str(path))
    ]
    if not out:
        raise DataValidationError(str(path), "missing_field", "the file holds no Gamma market")
    return out


def load_markets(paths: Sequence[str | Path]) -> list[MarketInfo]:
    """The markets of several Gamma files, in file order.

    A market listed twice (same condition id, identical metadata) is kept once;
    two different descriptions of one condition id, or one token id in two
    markets, raise ``DataValidationError``.
    """
    out: list[MarketInfo] = []
    seen: dict[str, tuple[MarketInfo, str]] = {}
    tokens: dict[str, str] = {}
    for p in paths:
        for m in load_gamma_markets(p):
            if m.condition_id in seen:
                first, where = seen[m.condition_id]
                if first != m:
                    raise DataValidationError(
                        str(p),
                        "duplicate_market",
                        f"market {m.condition_id} ({m.slug}) differs from its entry in {where}",
                    )
                continue
            for t in (m.yes_token_id, m.no_token_id):
                if t in tokens:
                    raise DataValidationError(
                        str(p),
                        "duplicate_market",
                        f"token {t} of market {m.condition_id} also belongs to {tokens[t]}",
                    )
                tokens[t] = m.condition_id
            seen[m.condition_id] = (m, str(p))
            out.append(m)
    return out
