"""Synthetic Polymarket recordings: many markets over many days, written in the
exact Parquet format a live recorder writes (``sim.marketdata``).

``generate_dataset(SynthConfig(...), out)`` writes crypto up/down windows,
standalone event markets and neg-risk groups with mirrored YES/NO books,
trades that deplete levels, tick switches, resolutions and recorder feed
gaps, following ``reference/market-statistics.md``.
"""

from exchange_mock.synth.config import SynthConfig
from exchange_mock.synth.generate import SynthSummary, generate_dataset

__all__ = ["SynthConfig", "SynthSummary", "generate_dataset"]
