"""Append records to a SqliteJournal until killed (used by the SIGKILL test).

Usage: ``python tests/journal_writer_proc.py DBPATH N``

Continues where the journal left off: record ``i`` (key ``k{i}``, payload
``payload_for(i)``) is appended for ``i`` from ``last_seq`` up to ``N - 1``,
then the state ``progress`` is saved as ``{"i": i}``, then ``"<seq> <i>"`` is
printed and flushed: a printed line is an acknowledged record and state.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.journal import SqliteJournal


def payload_for(i: int) -> dict:
    """A payload that is different for each ``i`` and big enough to span WAL pages."""
    return {
        "i": i,
        "price": i / 7,
        "neg": -0.0 if i % 2 else -(i * 1e-9),
        "side": "BUY" if i % 2 else "SELL",
        "fills": [{"trade": f"t{i}-{j}", "size": j * 0.5} for j in range(i % 5)],
        "text": f"record {i} " + "x" * (i % 300),
    }


def main() -> None:
    path, n = sys.argv[1], int(sys.argv[2])
    with SqliteJournal(path) as journal:
        for i in range(journal.last_seq, n):
            seq = journal.append("fill", 1_000 + i, f"k{i}", payload_for(i))
            journal.save_state("progress", {"i": i}, 1_000 + i)
            print(seq, i, flush=True)


if __name__ == "__main__":
    main()
