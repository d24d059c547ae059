"""``clobsim data check DIR``: every problem in a dataset, grouped by reason and counted.

Unlike reading (which stops at the first error), a check runs every
validation over every file and collects the findings (``Findings``):

* **errors**: what reading would refuse (the reasons of ``sim.marketdata.validate``,
  plus ``not_a_dataset``/``schema_version``/``corrupt_file`` for the folder
  and the markets table);
* **repairs**: what the replay rules fix (``sim.marketdata.replay_rules``), with
  the counts a replay would make;
* **notes**: what is kept as sent but worth knowing: book snapshots that are
  crossed, list a price twice or hold an empty level; YES/NO snapshot pairs
  that are not mirrors, have no partner, or were received apart.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from sim.errors import DataValidationError
from sim.marketdata.columns import EventColumns
from sim.marketdata.dataset import Dataset
from sim.marketdata.findings import Findings
from sim.marketdata.replay_rules import mirrored_trades, unknown_side_trades
from sim.marketdata.schema import K_RESET, K_SNAP, EventKind
from sim.marketdata.validate import table_to_columns, validate_columns

_SCALE = 1_000_000  # prices compared at 1e-6, sizes at 1e-6 shares
#: YES/NO books of one update received further apart than this are noted.
PAIR_APART_NS = 100_000_000
# multipliers of an order-independent hash of a snapshot's levels
_H1, _H2, _H3 = (
    np.uint64(0x9E3779B97F4A7C15),
    np.uint64(0xBF58476D1CE4E5B9),
    np.uint64(0x94D049BB133111EB),
)


def check_dataset(path: str | Path, on_file: Callable[[Path, int], None] | None = None) -> Findings:
    """Check every file of the dataset at ``path``; never raises for bad data."""
    out = Findings()
    try:
        ds = Dataset.open(path)
    except DataValidationError as exc:
        out.error(exc.path, exc.reason, exc.detail, exc.row)
        return out
    import pyarrow as pa
    import pyarrow.parquet as pq

    tick_state = ds.initial_ticks()
    last_seen = np.full(len(ds.assets), np.iinfo(np.int64).min, dtype=np.int64)
    for day in ds.days():
        out.days += 1
        for f in ds.day_files(day):
            out.files += 1
            try:
                table = pq.read_table(f)
            except (OSError, pa.ArrowException) as exc:
                out.error(str(f), "corrupt_file", f"cannot read Parquet: {exc}", None)
                continue
            try:
                cols = table_to_columns(table, str(f), ds.asset_index, ds.assets)
            except DataValidationError as exc:  # schema-level: the rows cannot be read
                out.error(exc.path, exc.reason, exc.detail, exc.row)
                continue
            out.rows += len(cols)
            validate_columns(cols, str(f), tick_state, last_seen, out)
            check_replay_rules(cols, str(f), out)
            check_snapshots(cols, str(f), out)
            if on_file is not None:
                on_file(f, len(cols))
    return out


def check_replay_rules(cols: EventColumns, path: str, out: Findings) -> None:
    """Count the prints the replay rules treat specially in one file (``validate_columns``
    counts the exchange-time clamps)."""
    skip = mirrored_trades(cols)
    if skip.any():
        out.repair("mirrored_trade", int(skip.sum()), f"{path}, row {int(np.argmax(skip))}")
    unknown = unknown_side_trades(cols)
    if unknown:
        trade = cols.kind == EventKind.TRADE
        r = int(np.argmax(trade & ((cols.side == 0) | ~(cols.size > 0))))
        out.repair("trade_side_unknown", unknown, f"{path}, row {r}")


def _snapshots(cols: EventColumns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(head row of each snapshot, snapshot id per row or -1, member mask).

    A snapshot is a BOOK_RESET and the SNAPSHOT_LEVEL rows of the same asset
    directly after it (how the recorder writes a ``book`` message)."""
    kind, asset = cols.kind, cols.asset
    n = len(kind)
    cont = np.zeros(n, dtype=bool)
    cont[1:] = (kind[1:] == K_SNAP) & (asset[1:] == asset[:-1])
    seg = np.cumsum(~cont) - 1
    heads = np.flatnonzero(~cont)
    is_snap_head = kind[heads] == K_RESET
    member = is_snap_head[seg] & cont
    snap_id = np.cumsum(is_snap_head) - 1  # per segment: its snapshot number
    row_snap = np.where(is_snap_head[seg], snap_id[seg], -1)
    return heads[is_snap_head], row_snap, member


def check_snapshots(cols: EventColumns, path: str, out: Findings) -> None:
    """Notes on book snapshots: crossed, duplicate or empty levels, and YES/NO pairs."""
    heads, row_snap, member = _snapshots(cols)
    if not len(heads):
        return
    n_snap = len(heads)
    rows = np.flatnonzero(member)
    sid = row_snap[rows]
    side, price, size = cols.side[rows], cols.price[rows], cols.size[rows]
    pkey = np.rint(price * _SCALE).astype(np.int64)

    zero = size <= 0
    if zero.any():
        out.note("zero_size_level", int(zero.sum()), f"{path}, row {int(rows[np.argmax(zero)])}")
    order = np.lexsort((pkey, side, sid))
    same = (sid[order][1:] == sid[order][:-1]) & (side[order][1:] == side[order][:-1])
    dup = same & (pkey[order][1:] == pkey[order][:-1])
    if dup.any():
        r = int(rows[order][1:][np.argmax(dup)])
        out.note("duplicate_level", int(dup.sum()), f"{path}, row {r}")
    live = ~zero
    best_bid = np.full(n_snap, -1, dtype=np.int64)
    best_ask = np.full(n_snap, np.iinfo(np.int64).max, dtype=np.int64)
    bid = live & (side > 0)
    ask = live & (side < 0)
    np.maximum.at(best_bid, sid[bid], pkey[bid])
    np.minimum.at(best_ask, sid[ask], pkey[ask])
    crossed = best_bid >= best_ask
    if crossed.any():
        out.note(
            "crossed_book", int(crossed.sum()), f"{path}, row {int(heads[np.argmax(crossed)])}"
        )

    # YES/NO pairs: NO books in YES terms (price 1 - q, side flipped) must equal the YES book
    head_asset = cols.asset[heads]
    is_no = (head_asset & 1) == 1
    if not is_no.any():
        return
    member_no = is_no[sid]
    yes_side = np.where(member_no, -side, side).astype(np.int64)
    yes_key = np.where(member_no, _SCALE - pkey, pkey)
    skey = np.rint(size * _SCALE).astype(np.int64)
    with np.errstate(over="ignore"):
        h = (
            (yes_side.astype(np.uint64) + np.uint64(3)) * _H1
            ^ yes_key.astype(np.uint64) * _H2
            ^ skey.astype(np.uint64) * _H3
        )
        h = np.where(live, h, np.uint64(0))
        snap_hash = np.zeros(n_snap, dtype=np.uint64)
        np.add.at(snap_hash, sid, h)
    market = head_asset >> 1
    ts = cols.ts_exchange_ns[heads]
    recv = cols.ts_recv_ns[heads]
    yes_at: dict[tuple[int, int], list[int]] = {}
    for j in np.flatnonzero(~is_no).tolist():
        yes_at.setdefault((int(market[j]), int(ts[j])), []).append(j)
    mismatch = unpaired = apart = 0
    widest = 0
    first_mismatch = first_unpaired = -1
    for j in np.flatnonzero(is_no).tolist():
        partners = yes_at.get((int(market[j]), int(ts[j])))
        if not partners:
            unpaired += 1
            first_unpaired = first_unpaired if first_unpaired >= 0 else int(heads[j])
            continue
        if all(snap_hash[k] != snap_hash[j] for k in partners):
            mismatch += 1
            first_mismatch = first_mismatch if first_mismatch >= 0 else int(heads[j])
        gap = min(abs(int(recv[j]) - int(recv[k])) for k in partners)
        if gap > PAIR_APART_NS:
            apart += 1
            widest = max(widest, gap)
    out.note("snapshot_pair_mismatch", mismatch, f"{path}, row {first_mismatch}")
    out.note("unpaired_snapshot", unpaired, f"{path}, row {first_unpaired}")
    out.note("snapshot_pairs_apart", apart, f"{path}: up to {widest / 1e9:.3f} s apart")
