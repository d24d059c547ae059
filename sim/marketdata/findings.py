"""What checking a dataset found: errors, repairs and notes, grouped by reason and counted.

Reading a dataset stops at the first *error* (``DataValidationError``): a file
that breaks the format cannot be replayed. ``clobsim data check`` instead
collects every problem into a ``Findings``: each reason gets a count and the
first few places it occurred, so one run shows everything wrong with a
dataset. *Repairs* are things Polymarket really sends that the replay fixes by
a stated rule (``data/README.md``, "Ordering and replay"), *notes* are
anomalies that are kept as sent but worth knowing. Neither makes a dataset
fail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sim.errors import DataValidationError

#: Severity of each finding kind: errors fail a check, repairs and notes do not.
ERROR = "error"
REPAIR = "repair"
NOTE = "note"

#: How many example places are kept per reason.
MAX_EXAMPLES = 5

#: Every repair the replay applies, with the rule it follows (shown by ``data check``).
REPAIRS: dict[str, str] = {
    "exchange_time_clamped": "an asset's exchange time stepped back; replayed at its running "
    "maximum",
    "mirrored_trade": "a NO print mirrors a YES print of the same match; matched once",
    "trade_side_unknown": "a print without taker side or size; touches no resting order",
}

#: Every note ``data check`` reports, with what it means.
NOTES: dict[str, str] = {
    "snapshot_pair_mismatch": "the YES and NO books of one update are not mirrors; the YES "
    "book is used",
    "unpaired_snapshot": "a NO book with no YES book at the same exchange time; the YES book "
    "is used",
    "crossed_book": "a snapshot whose best bid is at or above its best ask",
    "duplicate_level": "a snapshot lists one price twice on one side; the last size is used",
    "zero_size_level": "a snapshot level of size 0 (the level is empty)",
    "snapshot_pairs_apart": "the YES and NO books of one update were received apart "
    "(count; the largest gap is in the detail)",
}


@dataclass
class Finding:
    """One reason: how often it happened and where (the first ``MAX_EXAMPLES``)."""

    reason: str
    severity: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, count: int, where: str) -> None:
        self.count += count
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(where)


class Findings:
    """Collects findings by (severity, reason); ``raise_errors`` makes errors raise at once."""

    def __init__(self, *, raise_errors: bool = False) -> None:
        self.raise_errors = raise_errors
        self._by: dict[tuple[str, str], Finding] = {}
        self.files = 0
        self.rows = 0
        self.days = 0

    def error(self, path: str, reason: str, detail: str, row: int | None, count: int = 1) -> None:
        if self.raise_errors:
            raise DataValidationError(path, reason, detail, row=row)
        where = path if row is None else f"{path}, row {row}"
        self._add(ERROR, reason, count, f"{where}: {detail}")

    def repair(self, reason: str, count: int, where: str) -> None:
        if count:
            self._add(REPAIR, reason, count, where)

    def note(self, reason: str, count: int, where: str) -> None:
        if count:
            self._add(NOTE, reason, count, where)

    def _add(self, severity: str, reason: str, count: int, where: str) -> None:
        key = (severity, reason)
        found = self._by.get(key)
        if found is None:
            found = self._by[key] = Finding(reason, severity)
        found.add(int(count), where)

    def of(self, severity: str) -> list[Finding]:
        return sorted(
            (f for (s, _), f in self._by.items() if s == severity), key=lambda f: -f.count
        )

    def counts(self, severity: str) -> Counter[str]:
        return Counter({f.reason: f.count for f in self.of(severity)})

    @property
    def ok(self) -> bool:
        """No errors (repairs and notes do not fail a dataset)."""
        return not self.of(ERROR)

    def lines(self) -> list[str]:
        """A plain-text report: errors first, then repairs and notes, each with examples."""
        out = [
            f"{self.files} files, {self.rows:,} rows, {self.days} days: "
            + ("OK" if self.ok else f"{sum(f.count for f in self.of(ERROR)):,} errors")
        ]
        for severity, title in ((ERROR, "errors"), (REPAIR, "repairs"), (NOTE, "notes")):
            found = self.of(severity)
            if not found:
                continue
            out.append(f"{title}:")
            for f in found:
                rule = REPAIRS.get(f.reason) or NOTES.get(f.reason) or ""
                out.append(f"  {f.reason}: {f.count:,}" + (f" ({rule})" if rule else ""))
                out += [f"    {e}" for e in f.examples]
        return out

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "files": self.files,
            "rows": self.rows,
            "days": self.days,
            **{
                sev: {f.reason: {"count": f.count, "examples": f.examples} for f in self.of(sev)}
                for sev in (ERROR, REPAIR, NOTE)
            },
        }
