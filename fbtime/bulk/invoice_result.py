"""What an invoice apply (or its undo) did: one row per draft, and whether it is done."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pandas as pd

from fbtime.bulk.invoice_views import result_html, result_text

#: Statuses of a draft in :attr:`InvoiceResult.invoices`.
STATUSES = ("created", "adopted", "conflict", "mismatch", "ambiguous", "failed", "not_attempted")


@dataclass
class InvoiceResult:
    """What an invoice apply (or resume) did, one row per draft.

    Attributes:
        run_id: the journal's run id.
        journal_path: pass it to :func:`fbtime.resume` or :func:`fbtime.undo`.
        invoices: index ``client_id``: ``client_name``, ``status`` (:data:`STATUSES`),
            ``invoice_id``, ``invoice_number``, ``amount``, ``entries``, ``billed``
            (entries marked billed), ``reason``.
        stopped: why the run stopped early, or None.
    """

    run_id: str
    journal_path: Path
    invoices: pd.DataFrame
    stopped: str | None = None
    #: Every status a row may have, the ones that are done, and the column counting the
    #: entries written (:class:`~fbtime.bulk.invoice_undo.UndoResult` has its own).
    STATUSES: ClassVar[tuple[str, ...]] = STATUSES
    DONE: ClassVar[tuple[str, ...]] = ("created", "adopted")
    WRITTEN: ClassVar[str] = "billed"

    @property
    def counts(self) -> dict[str, int]:
        found = self.invoices["status"].value_counts()
        return {s: int(found.get(s, 0)) for s in self.STATUSES}

    @property
    def ok(self) -> bool:
        """Every draft done (made or found again; deleted for an undo) and every entry of
        it written (billed; unbilled for an undo)."""
        rows = self.invoices
        done = rows["status"].isin(self.DONE).all()
        written = (rows[self.WRITTEN] == rows["entries"]).all()
        return self.stopped is None and bool(done) and bool(written)

    def __repr__(self) -> str:
        return result_text(self)

    def _repr_html_(self) -> str:
        return result_html(self)
