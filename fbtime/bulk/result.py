"""ApplyResult: what an apply, resume or undo did, one row per planned entry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fbtime.bulk.views import result_text

#: Row statuses. ``already_applied``: the server already held the target values, so
#: nothing was written (not a conflict). ``in_flight``: Ctrl-C pressed twice stopped the
#: waiting while its request ran (the journal records how it ended). ``not_attempted``:
#: the run stopped first.
STATUSES = (
    "applied", "already_applied", "skipped", "conflict", "failed", "in_flight", "not_attempted",
)  # fmt: skip
#: Statuses that need nothing more.
FINE = frozenset({"applied", "already_applied", "skipped"})


@dataclass
class ApplyResult:
    """What an apply did, row by row (``rows``: id -> status, reason, http_status, new_id).

    Attributes:
        run_id: the journal's run id.
        journal_path: the journal file; pass it to :func:`fbtime.resume` or
            :func:`fbtime.undo`.
        rows: one row per planned entry, indexed by id.
        stopped: why the run stopped early (unreachable API, cancelled, interrupted,
            an auth error), or None when it ran to the end.
    """

    run_id: str
    journal_path: Path
    rows: pd.DataFrame
    stopped: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts = self.rows["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """True when every planned row was applied (or found already applied)."""
        return self.stopped is None and set(self.rows["status"]) <= FINE

    def ids(self, status: str) -> list[int]:
        return sorted(self.rows.index[self.rows["status"] == status].tolist())

    def __repr__(self) -> str:
        return result_text(self)
