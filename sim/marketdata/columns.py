"""In-memory columnar events: what the reader yields and the writer takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.marketdata.schema import EVENT_COLUMNS

_DTYPES: dict[str, np.dtype] = {
    "ts_exchange_ns": np.dtype(np.int64),
    "ts_recv_ns": np.dtype(np.int64),
    "seq": np.dtype(np.int64),
    "asset": np.dtype(np.int32),
    "kind": np.dtype(np.uint8),
    "side": np.dtype(np.int8),
    "price": np.dtype(np.float64),
    "size": np.dtype(np.float64),
}

#: Column names of ``EventColumns`` arrays (``asset`` replaces the on-disk ``asset_id``).
ARRAY_FIELDS: tuple[str, ...] = tuple(_DTYPES)
assert len(ARRAY_FIELDS) == len(EVENT_COLUMNS)


@dataclass(frozen=True, slots=True, eq=False)
class EventColumns:
    """Equal-length numpy arrays, one element per event row.

    ``asset`` indexes ``assets`` (the dataset's asset table: for market ``i``,
    ``2*i`` is its YES token and ``2*i+1`` its NO token); ``-1`` means no asset
    (CONNECTION rows).
    """

    ts_exchange_ns: np.ndarray
    ts_recv_ns: np.ndarray
    seq: np.ndarray
    asset: np.ndarray
    kind: np.ndarray
    side: np.ndarray
    price: np.ndarray
    size: np.ndarray
    assets: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.ts_exchange_ns)
        for name, dtype in _DTYPES.items():
            arr = getattr(self, name)
            if not isinstance(arr, np.ndarray) or arr.ndim != 1:
                raise TypeError(f"EventColumns.{name} must be a 1-d numpy array")
            if arr.dtype != dtype:
                raise TypeError(f"EventColumns.{name} has dtype {arr.dtype}, expected {dtype}")
            if len(arr) != n:
                raise ValueError(f"EventColumns.{name} has {len(arr)} rows, expected {n}")

    def __len__(self) -> int:
        return len(self.ts_exchange_ns)

    @classmethod
    def from_arrays(cls, assets: tuple[str, ...] | list[str], **arrays: object) -> EventColumns:
        """Build from array-likes, casting each to its dtype."""
        missing = set(_DTYPES) - set(arrays)
        if missing:
            raise ValueError(f"missing event arrays: {sorted(missing)}")
        cast = {k: np.ascontiguousarray(np.asarray(arrays[k]), dtype=d) for k, d in _DTYPES.items()}
        return cls(assets=tuple(assets), **cast)

    @classmethod
    def empty(cls, assets: tuple[str, ...] | list[str]) -> EventColumns:
        return cls(assets=tuple(assets), **{k: np.empty(0, d) for k, d in _DTYPES.items()})

    def take(self, index: np.ndarray) -> EventColumns:
        """Rows at ``index`` (an integer or boolean array), in that order."""
        return EventColumns(
            assets=self.assets, **{k: getattr(self, k)[index] for k in ARRAY_FIELDS}
        )

    @staticmethod
    def concat(parts: list[EventColumns]) -> EventColumns:
        if not parts:
            raise ValueError("nothing to concatenate")
        assets = parts[0].assets
        for p in parts[1:]:
            if p.assets != assets:
                raise ValueError("cannot concatenate EventColumns with different asset tables")
        return EventColumns(
            assets=assets,
            **{k: np.concatenate([getattr(p, k) for p in parts]) for k in ARRAY_FIELDS},
        )

    def equals(self, other: EventColumns) -> bool:
        """Exact equality, element for element (NaN never equals anything)."""
        return self.assets == other.assets and all(
            np.array_equal(getattr(self, k), getattr(other, k)) for k in ARRAY_FIELDS
        )
