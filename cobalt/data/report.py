"""What a loader did with its input: rows read, problems kept, and every drop with its reason.

Every loader fills one :class:`LoadReport`. A row is either kept (one :class:`~cobalt.records.Problem`),
dropped by a cleaning rule (counted under the rule's reason, e.g. ``"fewer than 8 tests"``), or
invalid (bad input: it stops the run unless ``skip_invalid`` is set, in which case it is counted
under ``"invalid row"`` and logged). ``notes`` counts changes that kept the problem (tests capped,
statement cut, ...), so a user can see how much each rule touched.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cobalt.jsonl import InputError

log = logging.getLogger(__name__)

INVALID = "invalid row"


@dataclass
class LoadReport:
    """Counts for one load. ``rows == kept + sum(dropped.values())`` once the load has finished."""

    source: str
    rows: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    invalid_examples: list[str] = field(default_factory=list)

    def drop(self, reason: str) -> None:
        """Count one row dropped by a cleaning rule, under the rule's ``reason``."""
        self.dropped[reason] += 1

    def note(self, what: str, count: int = 1) -> None:
        """Count ``count`` changes of kind ``what`` that kept the problem (a cap, a cut statement)."""
        self.notes[what] += count

    def invalid(self, error: InputError, *, skip: bool) -> None:
        """Record a bad row: re-raise it, or (``skip``) count it and warn."""
        if not skip:
            raise error
        self.dropped[INVALID] += 1
        if len(self.invalid_examples) < 20:
            self.invalid_examples.append(str(error))
        log.warning("skipping invalid row: %s", error)

    @property
    def total_dropped(self) -> int:
        """Rows dropped for any reason, invalid rows included."""
        return sum(self.dropped.values())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data, reasons and notes most frequent first."""
        return {
            "source": self.source,
            "rows": self.rows,
            "kept": self.kept,
            "dropped": dict(self.dropped.most_common()),
            "notes": dict(self.notes.most_common()),
            "invalid_examples": list(self.invalid_examples),
        }

    def summary(self) -> str:
        """A few lines for humans: totals, then one line per drop reason and per note."""
        lines = [f"{self.source}: {self.rows} rows read, {self.kept} kept, {self.total_dropped} dropped"]
        lines += [f"  dropped {count:>6}  {reason}" for reason, count in self.dropped.most_common()]
        lines += [f"  note    {count:>6}  {what}" for what, count in self.notes.most_common()]
        return "\n".join(lines)
