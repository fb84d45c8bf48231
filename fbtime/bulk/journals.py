"""``fbtime.resume`` and ``fbtime.undo`` for every journal (entry changes, invoices, undos),
and :func:`load_plan` for every saved plan.

A journal's run header says its kind: an invoice apply (``invoice``) and its undo
(``invoice_undo``) go to :mod:`fbtime.bulk.invoice_apply` and
:mod:`fbtime.bulk.invoice_undo`; every other kind to :func:`fbtime.bulk.apply.resume` and
:func:`fbtime.bulk.undo.undo`. Each checks the whole journal before acting on it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fbtime.api.client import Client
from fbtime.bulk.apply import resume as resume_entries
from fbtime.bulk.change import MAX_PLAN_BYTES, read_untrusted
from fbtime.bulk.checks import loads
from fbtime.bulk.invoice_apply import resume_invoices
from fbtime.bulk.invoice_change import PLAN_FORMAT as INVOICE_PLAN_FORMAT
from fbtime.bulk.invoice_journal import KIND, UNDO_KIND, journal_kind
from fbtime.bulk.invoice_plan import InvoicePlan
from fbtime.bulk.invoice_result import InvoiceResult
from fbtime.bulk.invoice_undo import InvoiceUndo, UndoResult, resume_undo, undo_invoices
from fbtime.bulk.plan import UpdatePlan
from fbtime.bulk.result import ApplyResult
from fbtime.bulk.runner import Progress
from fbtime.bulk.undo import undo as undo_entries
from fbtime.errors import PlanError
from fbtime.text import for_terminal


def resume(
    journal: str | Path,
    client: Client | None = None,
    *,
    workers: int = 4,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
) -> ApplyResult | InvoiceResult | UndoResult:
    """Finish an interrupted or stopped apply (of entries, invoices or an undo) from its
    journal, without writing anything twice.

    Entry changes: see :func:`fbtime.bulk.apply.resume`. An invoice apply: each draft in
    doubt is looked for on the server before anything is sent, so it ends with one draft
    per client and every entry billed (:func:`fbtime.bulk.invoice_apply.resume_invoices`).
    An invoice undo runs again (:func:`fbtime.bulk.invoice_undo.resume_undo`).

    Raises:
        PlanError: the journal fails its checks (naming the line); nothing sent.
    """
    kind = journal_kind(journal)
    if kind == KIND:
        return resume_invoices(journal, client, workers=workers, progress=progress, cancel=cancel)
    if kind == UNDO_KIND:
        return resume_undo(journal, client)
    return resume_entries(
        journal, client, workers=workers, progress=progress, cancel=cancel, on_progress=on_progress
    )


def undo(journal: str | Path) -> UpdatePlan | InvoiceUndo:
    """What undoing an apply would do, to review and then apply (nothing is sent).

    Entry changes: an :class:`fbtime.UpdatePlan` restoring them (:func:`fbtime.bulk.undo.undo`).
    An invoice apply: an :class:`~fbtime.bulk.invoice_undo.InvoiceUndo` that deletes each
    draft nobody sent, paid or edited since and marks its entries unbilled.

    Raises:
        PlanError: the journal is missing or fails its checks (naming the line).
    """
    if journal_kind(journal) == KIND:
        return undo_invoices(journal)
    return undo_entries(journal)


def load_plan(path: str | Path) -> UpdatePlan | InvoicePlan:
    """A saved plan of either kind (an update plan or an invoice plan), read once and
    checked in every part by its own class.

    Raises:
        PlanError: missing, too large, not JSON, not a plan, or edited.
    """
    raw = read_untrusted(path, MAX_PLAN_BYTES, "plan")
    try:
        data = loads(raw)
    except (ValueError, RecursionError):
        raise PlanError(f"{for_terminal(path)} is not a plan file (not JSON)") from None
    if isinstance(data, dict) and data.get("format") == INVOICE_PLAN_FORMAT:
        return InvoicePlan.from_dict(data, where=str(path))
    return UpdatePlan.from_dict(data, where=str(path))
