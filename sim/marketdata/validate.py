"""Validation of event rows: every problem is reported with file, row and reason.

Reasons (``DataValidationError.reason``): ``corrupt_file``, ``missing_column``,
``wrong_type``, ``null_value``, ``seq_not_increasing``, ``timestamp_backwards``,
``unknown_asset``, ``unknown_kind``, ``bad_side``, ``price_out_of_range``,
``price_off_tick``, ``negative_size``, ``bad_tick_size``, ``implausible_timestamp``.
Exchange time stepping back for an asset is not among them: it is repaired
on replay (``sim.marketdata.replay_rules``) and counted.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa

from sim.errors import DataValidationError
from sim.marketdata.columns import EventColumns
from sim.marketdata.findings import Findings
from sim.marketdata.schema import EVENT_SCHEMA, SIDE_ASK, SIDE_BID, SIDE_NONE, EventKind
from sim.types import VALID_TICK_SIZES

_PRICED_KINDS = np.array(
    [EventKind.SNAPSHOT_LEVEL, EventKind.LEVEL_CHANGE, EventKind.TRADE], dtype=np.uint8
)
_SIDED_KINDS = _PRICED_KINDS
_KNOWN_KINDS = np.array([int(k) for k in EventKind], dtype=np.uint8)
_VALID_TICKS = np.array(VALID_TICK_SIZES)
#: Exchange and receive time of one row more than this apart: a timestamp in the wrong unit.
MAX_CLOCK_GAP_NS = 86_400 * 1_000_000_000


def _fail(path: str, reason: str, detail: str, rows: np.ndarray | int | None) -> None:
    if rows is None:
        raise DataValidationError(path, reason, detail)
    row = int(rows) if np.ndim(rows) == 0 else int(np.flatnonzero(rows)[0])
    raise DataValidationError(path, reason, detail, row=row)


def check_table_schema(table: pa.Table, path: str) -> None:
    """Missing columns and wrong types, named."""
    names = set(table.column_names)
    for field in EVENT_SCHEMA:
        if field.name not in names:
            _fail(path, "missing_column", f"column {field.name!r} is missing", None)
        actual = table.schema.field(field.name).type
        expected = field.type
        ok = actual == expected
        if field.name == "asset_id":
            ok = (
                pa.types.is_string(actual)
                or pa.types.is_large_string(actual)
                or (
                    pa.types.is_dictionary(actual)
                    and (
                        pa.types.is_string(actual.value_type)
                        or pa.types.is_large_string(actual.value_type)
                    )
                )
            )
        if not ok:
            _fail(
                path,
                "wrong_type",
                f"column {field.name!r} has type {actual}, expected {expected}",
                None,
            )
        col = table.column(field.name)
        if col.null_count:
            nulls = np.asarray(col.is_null().to_numpy(zero_copy_only=False))
            _fail(path, "null_value", f"column {field.name!r} has a null", nulls)


def table_to_columns(
    table: pa.Table, path: str, asset_index: dict[str, int], assets: tuple[str, ...]
) -> EventColumns:
    """Convert a schema-checked table to ``EventColumns``, mapping asset ids to indexes."""
    check_table_schema(table, path)
    asset_col = table.column("asset_id").combine_chunks()
    if not pa.types.is_dictionary(asset_col.type):
        asset_col = asset_col.dictionary_encode()
    dictionary = asset_col.dictionary.to_pylist()
    codes = asset_col.indices.to_numpy(zero_copy_only=False)
    lookup = np.empty(len(dictionary), dtype=np.int32)
    unknown = np.zeros(len(dictionary), dtype=bool)
    for i, a in enumerate(dictionary):
        if a == "":
            lookup[i] = -1
        elif a in asset_index:
            lookup[i] = asset_index[a]
        else:
            lookup[i] = -1
            unknown[i] = True
    if unknown.any():
        bad_rows = unknown[codes]
        first = int(np.flatnonzero(bad_rows)[0])
        _fail(
            path,
            "unknown_asset",
            f"asset {dictionary[codes[first]]!r} is not in the markets table",
            first,
        )

    def col(name: str, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(table.column(name).to_numpy(), dtype=dtype)

    return EventColumns(
        ts_exchange_ns=col("ts_exchange_ns", np.int64),
        ts_recv_ns=col("ts_recv_ns", np.int64),
        seq=col("seq", np.int64),
        asset=np.ascontiguousarray(lookup[codes] if len(codes) else np.empty(0, np.int32)),
        kind=col("kind", np.uint8),
        side=col("side", np.int8),
        price=col("price", np.float64),
        size=col("size", np.float64),
        assets=assets,
    )


def _kind_name(k: int) -> str:
    try:
        return EventKind(k).name
    except ValueError:
        return str(k)


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def validate_columns(
    cols: EventColumns,
    path: str,
    tick_state: np.ndarray,
    last_exchange_ns: np.ndarray | None = None,
    findings: Findings | None = None,
) -> None:
    """Check the rows of one file. ``tick_state`` (per asset) is read and advanced in place.

    Errors raise ``DataValidationError`` at the first one, unless ``findings``
    collects them (``clobsim data check``), in which case every check runs and
    each problem is counted. ``last_exchange_ns`` (per asset) carries the last
    exchange timestamp seen, so exchange time stepping back is counted across
    the files of one stream too; it is advanced in place. Exchange time
    stepping back for an asset is not an error (Polymarket sends it: a ``book``
    can trail the trade before it by tens of ms); it is counted as the repair
    ``exchange_time_clamped`` when ``findings`` is given.
    """
    out = findings if findings is not None else Findings(raise_errors=True)
    n = len(cols)
    if n == 0:
        return
    kind, side, price, size, asset = cols.kind, cols.side, cols.price, cols.size, cols.asset

    def fail(reason: str, detail: str, mask: np.ndarray | int | None) -> None:
        if mask is None or np.ndim(mask) == 0:
            out.error(path, reason, detail, None if mask is None else int(mask))
        else:
            out.error(path, reason, detail, _first(mask), int(np.count_nonzero(mask)))

    known = np.isin(kind, _KNOWN_KINDS)
    if not known.all():
        fail("unknown_kind", f"kind {int(kind[_first(~known)])} is not an EventKind", ~known)
    if n > 1:
        back = np.zeros(n, dtype=bool)
        back[1:] = np.diff(cols.seq) <= 0
        if back.any():
            r = _first(back)
            fail("seq_not_increasing", f"seq {cols.seq[r]} after {cols.seq[r - 1]}", back)
        back[1:] = np.diff(cols.ts_recv_ns) < 0
        back[0] = False
        if back.any():
            r = _first(back)
            fail(
                "timestamp_backwards",
                f"ts_recv_ns {cols.ts_recv_ns[r]} is before the previous row's "
                f"{cols.ts_recv_ns[r - 1]}",
                back,
            )
    no_asset = asset < 0
    bad = no_asset & (kind != EventKind.CONNECTION)
    if bad.any():
        fail("unknown_asset", "row has an empty asset_id but is not a CONNECTION row", bad)
    sided = np.isin(kind, _SIDED_KINDS)
    is_trade = kind == EventKind.TRADE
    bad = sided & (side != SIDE_BID) & (side != SIDE_ASK) & ~(is_trade & (side == SIDE_NONE))
    bad |= known & (~sided) & (kind != EventKind.CONNECTION) & (side != SIDE_NONE)
    bad |= (kind == EventKind.CONNECTION) & (side != 0) & (side != 1)
    if bad.any():
        r = _first(bad)
        name = _kind_name(int(kind[r]))
        fail("bad_side", f"side {int(side[r])} is not valid for kind {name}", bad)
    bad = ~(size >= 0)  # catches NaN too
    if bad.any():
        fail("negative_size", f"size {size[_first(bad)]} is negative or NaN", bad)
    priced = np.isin(kind, _PRICED_KINDS)
    bad = priced & ~((price > 0.0) & (price < 1.0))
    bad |= (kind == EventKind.RESOLVED) & (price != 0.0) & (price != 1.0)
    if bad.any():
        r = _first(bad)
        fail(
            "price_out_of_range",
            f"price {price[r]} out of range for {_kind_name(int(kind[r]))}",
            bad,
        )
    bad = (~no_asset) & (np.abs(cols.ts_recv_ns - cols.ts_exchange_ns) > MAX_CLOCK_GAP_NS)
    if bad.any():
        r = _first(bad)
        fail(
            "implausible_timestamp",
            f"ts_exchange_ns {cols.ts_exchange_ns[r]} is more than a day from ts_recv_ns "
            f"{cols.ts_recv_ns[r]} (a timestamp in seconds or microseconds?)",
            bad,
        )

    is_tick = kind == EventKind.TICK_SIZE
    if is_tick.any():
        ok = np.isclose(price[is_tick][:, None], _VALID_TICKS[None, :], rtol=0, atol=1e-12).any(
            axis=1
        )
        if not ok.all():
            bad = np.zeros(n, dtype=bool)
            bad[np.flatnonzero(is_tick)[~ok]] = True
            r = _first(bad)
            fail("bad_tick_size", f"new tick size {price[r]} is not a Polymarket tick size", bad)

    # Per-asset checks: exchange time stepping back (a repair), prices on the tick in force.
    has_asset = ~no_asset
    rows = np.flatnonzero(has_asset)
    if len(rows) == 0:
        return
    a = asset[rows]
    order = np.lexsort((rows, a))  # by asset, then file order
    r_sorted = rows[order]
    a_sorted = a[order]
    start = np.ones(len(r_sorted), dtype=bool)
    start[1:] = a_sorted[1:] != a_sorted[:-1]

    ts = cols.ts_exchange_ns[r_sorted]
    if findings is not None:
        running = _grouped_running_max(ts, start, a_sorted, last_exchange_ns)
        back = ts < running
        if back.any():
            r = int(r_sorted[_first(back)])
            out.repair(
                "exchange_time_clamped",
                int(np.count_nonzero(back)),
                f"{path}, row {r}: ts_exchange_ns {cols.ts_exchange_ns[r]} is "
                f"{(int(running[_first(back)]) - int(cols.ts_exchange_ns[r])) / 1e6:.0f} ms "
                f"behind asset {cols.assets[asset[r]]}'s",
            )

    k_sorted = kind[r_sorted]
    tick_here = (k_sorted == EventKind.TICK_SIZE) & np.isin(price[r_sorted], _VALID_TICKS)
    pos = np.arange(len(r_sorted))
    marker = np.where(tick_here | start, pos, -1)
    last = np.maximum.accumulate(marker)
    from_event = tick_here[last]
    tick = np.where(from_event, price[r_sorted][last], tick_state[a_sorted])
    check = np.isin(k_sorted, _PRICED_KINDS)
    p = price[r_sorted]
    ticks = p / tick
    off = check & (np.abs(ticks - np.round(ticks)) > 1e-6)
    if off.any():
        j = _first(off)
        r = int(r_sorted[j])
        bad = np.zeros(n, dtype=bool)
        bad[r_sorted[off]] = True
        fail(
            "price_off_tick",
            f"price {price[r]} is not on tick {tick[j]} of asset {cols.assets[asset[r]]}",
            bad,
        )
    # Advance the carried state: last tick and last exchange time per asset.
    end = np.ones(len(r_sorted), dtype=bool)
    end[:-1] = a_sorted[1:] != a_sorted[:-1]
    tick_state[a_sorted[end]] = tick[end]
    if last_exchange_ns is not None:
        np.maximum.at(last_exchange_ns, a_sorted, ts)


def _grouped_running_max(
    ts: np.ndarray, start: np.ndarray, group: np.ndarray, carried: np.ndarray | None
) -> np.ndarray:
    """For each element, the largest ``ts`` before it in its run (runs begin where ``start``
    is set), seeded per run from ``carried[group]`` (the earlier files of the stream)."""
    lowest = np.iinfo(np.int64).min
    out = np.empty_like(ts)
    bounds = np.append(np.flatnonzero(start), len(ts))
    for s, e in itertools.pairwise(bounds):
        seed = lowest if carried is None else int(carried[group[s]])
        out[s] = seed
        if e - s > 1:
            out[s + 1 : e] = np.maximum(np.maximum.accumulate(ts[s : e - 1]), seed)
    return out
