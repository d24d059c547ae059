"""The markets table: ``MarketInfo`` rows <-> ``markets.parquet``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import DataValidationError
from sim.marketdata.schema import MARKETS_SCHEMA
from sim.types import MarketInfo


def markets_to_table(markets: list[MarketInfo]) -> pa.Table:
    rows = {f.name: [getattr(m, f.name) for m in markets] for f in MARKETS_SCHEMA}
    return pa.Table.from_pydict(rows, schema=MARKETS_SCHEMA)


def write_markets(path: Path, markets: list[MarketInfo]) -> None:
    seen: set[str] = set()
    for m in markets:
        for token in (m.yes_token_id, m.no_token_id):
            if token in seen:
                raise ValueError(f"token id {token} appears in more than one market")
            seen.add(token)
    pq.write_table(markets_to_table(markets), path, compression="zstd")


def read_markets(path: Path) -> list[MarketInfo]:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataValidationError(
            str(path), "corrupt_file", f"cannot read markets table: {exc}"
        ) from exc
    names = set(table.column_names)
    for field in MARKETS_SCHEMA:
        if field.name not in names:
            raise DataValidationError(
                str(path), "missing_column", f"column {field.name!r} is missing"
            )
        actual = table.schema.field(field.name).type
        if actual != field.type and not (
            pa.types.is_large_string(actual) and pa.types.is_string(field.type)
        ):
            raise DataValidationError(
                str(path),
                "wrong_type",
                f"column {field.name!r} has type {actual}, expected {field.type}",
            )
    out: list[MarketInfo] = []
    for i, row in enumerate(table.to_pylist()):
        try:
            out.append(MarketInfo(**row))
        except (ValueError, TypeError) as exc:
            raise DataValidationError(str(path), "bad_market", str(exc), row=i) from exc
    return out
