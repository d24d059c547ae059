"""The rules that turn recorded rows into one replayable stream (``data/README.md``).

Polymarket's feed is not tidy, and a replay must accept everything it can
send. Rows are replayed in receive order, what a strategy saw. Three rules
repair what that order leaves inconsistent, and every repair is counted:

* **Exchange time** (``exchange_time_clamped``). A ``book`` that follows a
  trade can carry a timestamp 28-37 ms earlier than the trade's. Per asset,
  the replay uses the running maximum of the exchange timestamps received so
  far (across files and days), so the matching venue's clock never steps back.
* **Mirrored prints** (``mirrored_trade``). The matching venue keeps one book
  per market. A NO print at q is the YES-side print at 1 - q, taker side
  flipped, and fills resting orders as such. A feed that reports one match on
  both tokens would count it twice. A NO print is a *mirror*, applied once,
  when a YES print of the same market has the same exchange timestamp, size,
  and YES-side price and taker side. Pairs are matched one to one, in receive
  order, within a UTC day. The strategy still receives both prints: that is
  what the feed sent.
* **Unknown taker side or size** (``trade_side_unknown``). A print without
  side or size (both optional in Polymarket's clients; stored as side 0 or
  size 0) is delivered but touches no resting order: which side it took from,
  or how much, is unknown.

Books are not repaired here. The matching venue builds a market's book from
its YES token's rows; the NO token's book rows reach the strategy but not the
venue (``exchange_mock.clob``). ``clobsim data check`` counts the pairs
whose two books are not mirrors (``sim.marketdata.check``).
"""

from __future__ import annotations

import itertools

import numpy as np

from sim.marketdata.columns import EventColumns
from sim.marketdata.schema import K_TRADE

_PRICE_SCALE = 1e6  # prices and sizes are compared at 1e-6


def clamp_exchange_time(cols: EventColumns, last: np.ndarray) -> tuple[EventColumns, int]:
    """``cols`` with each asset's exchange time clamped to its running maximum.

    ``last`` (per asset, int64) holds the maximum seen before ``cols`` and is
    advanced in place. Returns the (possibly new) columns and how many rows
    were clamped; ``cols`` itself is never modified.
    """
    asset = cols.asset
    rows = np.flatnonzero(asset >= 0)
    if not len(rows):
        return cols, 0
    a = asset[rows]
    order = np.lexsort((rows, a))
    r_sorted, a_sorted = rows[order], a[order]
    ts = cols.ts_exchange_ns[r_sorted]
    bounds = np.append(np.flatnonzero(np.r_[True, a_sorted[1:] != a_sorted[:-1]]), len(ts))
    fixed = np.empty_like(ts)
    for s, e in itertools.pairwise(bounds):
        g = int(a_sorted[s])
        run = np.maximum.accumulate(ts[s:e])
        np.maximum(run, last[g], out=fixed[s:e])
        last[g] = fixed[e - 1]
    clamped = fixed != ts
    n = int(np.count_nonzero(clamped))
    if not n:
        return cols, 0
    ex = cols.ts_exchange_ns.copy()
    ex[r_sorted] = fixed
    return (
        EventColumns(
            ts_exchange_ns=ex,
            ts_recv_ns=cols.ts_recv_ns,
            seq=cols.seq,
            asset=cols.asset,
            kind=cols.kind,
            side=cols.side,
            price=cols.price,
            size=cols.size,
            assets=cols.assets,
        ),
        n,
    )


def mirrored_trades(cols: EventColumns) -> np.ndarray:
    """Boolean mask of NO-token TRADE rows that mirror a YES print (module docstring rule)."""
    out = np.zeros(len(cols.kind), dtype=bool)
    t = np.flatnonzero((cols.kind == K_TRADE) & (cols.asset >= 0) & (cols.side != 0))
    t = t[cols.size[t] > 0]
    if not len(t):
        return out
    a = cols.asset[t]
    is_no = (a & 1) == 1
    if not is_no.any() or is_no.all():
        return out
    price_yes = np.where(is_no, 1.0 - cols.price[t], cols.price[t])
    side_yes = np.where(is_no, -cols.side[t], cols.side[t]).astype(np.int64)
    key = np.stack(
        [
            (a >> 1).astype(np.int64),
            cols.ts_exchange_ns[t],
            np.rint(price_yes * _PRICE_SCALE).astype(np.int64),
            side_yes,
            np.rint(cols.size[t] * _PRICE_SCALE).astype(np.int64),
        ],
        axis=1,
    )
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    n_yes = np.bincount(group[~is_no], minlength=group.max() + 1)
    # rank of each NO print among the NO prints of its group, in receive (row) order
    no_rows = np.flatnonzero(is_no)
    g_no = group[no_rows]
    order = np.lexsort((no_rows, g_no))
    g_sorted = g_no[order]
    first = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    start_idx = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - start_idx
    mirror = rank < n_yes[g_no]
    out[t[no_rows[mirror]]] = True
    return out


def unknown_side_trades(cols: EventColumns) -> int:
    """TRADE rows without taker side or size (they touch no resting order)."""
    trade = cols.kind == K_TRADE
    return int(np.count_nonzero(trade & ((cols.side == 0) | ~(cols.size > 0))))
