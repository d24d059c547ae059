"""Recorded market data: the Parquet format, its reader, writer and validator."""

from sim.marketdata.columns import EventColumns
from sim.marketdata.dataset import Dataset, DatasetWriter, DayBatch, asset_table, day_start_ns
from sim.marketdata.schema import SCHEMA_VERSION, SIDE_ASK, SIDE_BID, SIDE_NONE, EventKind

__all__ = [
    "SCHEMA_VERSION",
    "SIDE_ASK",
    "SIDE_BID",
    "SIDE_NONE",
    "Dataset",
    "DatasetWriter",
    "DayBatch",
    "EventColumns",
    "EventKind",
    "asset_table",
    "day_start_ns",
]
