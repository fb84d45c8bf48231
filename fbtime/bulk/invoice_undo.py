"""Undo an invoice apply: delete each draft nobody touched since, and unmark its entries.

``fbtime.undo(journal)`` on an invoice journal returns an :class:`InvoiceUndo` (nothing
sent); its :meth:`~InvoiceUndo.apply` goes draft by draft, journaled (kind
``invoice_undo``):

* the invoice is read fresh; if it was **sent, paid or edited** since fbtime made it
  (``status`` no longer 1, ``paid`` above 0, its ``version`` stamp changed, or its lines
  differ from the plan) it is a ``conflict``: left as it is, and its entries stay billed,
  since a client may have seen them on that invoice;
* otherwise it is deleted (``vis_state`` 1, as FreshBooks deletes) and then its entries
  are marked unbilled by undoing the draft's ``mark_billed`` journals
  (:func:`fbtime.undo`), which checks each entry like every undo. Deleting first means a
  stop half way leaves billed entries without an invoice, never unbilled entries on one.

Every step can run again (a deleted invoice stays deleted, an unbilled entry is
``already_applied``), so :func:`fbtime.resume` of an undo journal simply runs it again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.invoice_answers import Invoice
from fbtime.api.invoices import Invoices
from fbtime.bulk.apply import check_confirmation, writer
from fbtime.bulk.invoice_apply import logger
from fbtime.bulk.invoice_journal import (
    UNDO_KIND,
    InvoiceJournal,
    marks_directory,
    read_invoice_journal,
)
from fbtime.bulk.invoice_result import InvoiceResult
from fbtime.bulk.journal import Journal, lock
from fbtime.bulk.undo import undo
from fbtime.errors import (
    ApplyInterrupted,
    AuthError,
    NotFoundError,
    PartialApplyError,
    PlanError,
    TransportError,
)
from fbtime.text import for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoiceDraft

#: Statuses of a draft in an undo's result.
STATUSES = ("deleted", "already_deleted", "conflict", "failed", "not_attempted")


class UndoResult(InvoiceResult):
    """What an invoice undo did, one row per draft (index ``client_id``): ``client_name``,
    ``status`` (:data:`STATUSES`), ``invoice_id``, ``invoice_number``, ``entries``,
    ``unbilled`` (entries marked unbilled again), ``reason``."""

    STATUSES = STATUSES
    DONE = ("deleted", "already_deleted")
    WRITTEN = "unbilled"


@dataclass(frozen=True)
class InvoiceUndo:
    """The drafts an invoice apply made, to delete, and the entries to mark unbilled."""

    source: InvoiceJournal

    @property
    def drafts(self) -> list[InvoiceDraft]:
        made = self.source.invoice_ids()
        return [d for d in self.source.plan.drafts if d.client_id in made]

    @property
    def entry_count(self) -> int:
        return sum(len(d.entry_ids) for d in self.drafts)

    def __len__(self) -> int:
        return len(self.drafts)

    def __repr__(self) -> str:
        made = self.source.invoice_ids()
        lines = [
            f"InvoiceUndo of {for_terminal(self.source.path)}: delete {len(self)} draft "
            f"invoices (unless sent, paid or edited since) and mark {self.entry_count} "
            "entries unbilled"
        ]
        for d in self.drafts:
            number = made[d.client_id].get("invoice_number")
            lines.append(
                f"  {for_terminal(d.client_name)}: invoice {for_terminal(number)}, "
                f"{len(d.entry_ids)} entries"
            )
        return "\n".join(lines)

    def apply(
        self,
        client: Client | None = None,
        *,
        confirm: bool | int = False,
        max_changes: int = 200,
        journal: str | Path | None = None,
        cancel: threading.Event | None = None,
    ) -> UndoResult:
        """Delete the untouched drafts and unmark their entries, journaled.

        Raises:
            ConfirmationError: no (or the wrong) confirmation; nothing sent.
            PartialApplyError: stopped early (``journal_path``; :func:`fbtime.resume`).
        """
        count = self.entry_count
        changes = f"deletes {len(self)} draft invoices and marks {count} entries unbilled"
        check_confirmation(count, confirm, max_changes, changes)
        held = [lock(self.source.path)]  # one undo (or resume) of that apply at a time
        try:
            source = read_invoice_journal(self.source.path)  # as it is now, under the lock
            client = writer(
                client, source.header.get("base_url"), source.business_id, None, "journal"
            )
            log = Journal.create(
                journal,
                kind=UNDO_KIND,
                business_id=client.business_id,
                header={
                    "base_url": client.base_url,
                    "source_journal": str(Path(source.path).resolve()),
                    "plan": source.plan.to_dict(),
                },
            )
            held.append(lock(log.path))
            logger.info("journal %s", for_terminal(log.path))
            return _Undoer(client, log, source, None, cancel).run()
        finally:
            for one in reversed(held):
                one.release()


class _Undoer:
    def __init__(
        self,
        client: Client,
        log: Journal,
        source: InvoiceJournal,
        done: InvoiceJournal | None,
        cancel: threading.Event | None,
    ) -> None:
        self.client, self.log, self.source, self.done, self.cancel = (
            client, log, source, done, cancel,
        )  # fmt: skip
        self.invoices = Invoices(client)
        self.rows: dict[int, dict[str, Any]] = {}
        self.stopped: str | None = None

    def run(self) -> UndoResult:
        made = self.source.invoice_ids()
        drafts = [d for d in self.source.plan.drafts if d.client_id in made]
        try:
            for d in drafts:
                if self.stopped is None and self.cancel is not None and self.cancel.is_set():
                    self._stop("cancelled", "cancelled: no new request was started")
                if self.stopped is not None:
                    continue
                try:
                    self.one(d, made[d.client_id])
                except AuthError as exc:
                    self._stop("auth", f"stopped by an auth error: {exc.message}")
                except TransportError as exc:
                    self._stop("unreachable", f"the API is unreachable: {exc}")
                except PartialApplyError as exc:
                    self._stop("error", f"stopped: {exc}")
        except KeyboardInterrupt as exc:
            self._stop("interrupted", "interrupted (Ctrl-C)")
            result = self.finish(drafts)
            raise ApplyInterrupted(
                str(self.stopped),
                journal_path=str(self.log.path),
                result=result,  # type: ignore[arg-type]  # read through .result as any result
            ) from exc
        result = self.finish(drafts)
        if self.stopped:
            raise PartialApplyError(
                for_terminal(
                    f"{self.stopped}; finish it with fbtime.resume({str(self.log.path)!r})"
                ),
                journal_path=str(self.log.path),
                result=result,  # type: ignore[arg-type]
            )
        return result

    def _stop(self, cause: str, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason
            self.log.write("stop", cause=cause, reason=reason)

    def finish(self, drafts: list[InvoiceDraft]) -> UndoResult:
        made = self.source.invoice_ids()
        rows = [
            {
                "client_id": d.client_id,
                "client_name": d.client_name,
                "status": self.rows.get(d.client_id, {}).get("status", "not_attempted"),
                "invoice_id": made[d.client_id]["invoice_id"],
                "invoice_number": made[d.client_id].get("invoice_number"),
                "entries": len(d.entry_ids),
                "unbilled": self.rows.get(d.client_id, {}).get("unbilled", 0),
                "reason": self.rows.get(d.client_id, {}).get("reason", ""),
            }
            for d in drafts
        ]
        frame = pd.DataFrame(
            rows,
            columns=[
                "client_id",
                "client_name",
                "status",
                "invoice_id",
                "invoice_number",
                "entries",
                "unbilled",
                "reason",
            ],
        )
        frame = frame.astype(
            {
                "client_id": "Int64",
                "client_name": "str",
                "status": "str",
                "invoice_id": "Int64",
                "invoice_number": "str",
                "entries": "Int64",
                "unbilled": "Int64",
                "reason": "str",
            }
        ).set_index("client_id")
        counts = frame["status"].value_counts().to_dict()
        self.log.write("end", counts={str(k): int(v) for k, v in counts.items()})
        self.client.invalidate_cache()
        return UndoResult(self.log.run_id, self.log.path, frame, self.stopped)

    def outcome(self, d: InvoiceDraft, invoice_id: int, status: str, reason: str) -> None:
        self.log.write(
            "delete_outcome",
            client_id=d.client_id,
            invoice_id=invoice_id,
            status=status,
            reason=reason,
        )
        self.rows[d.client_id] = {"status": status, "reason": reason, "unbilled": 0}

    def one(self, d: InvoiceDraft, made: dict[str, Any]) -> None:
        invoice_id = int(made["invoice_id"])
        before = self.done.outcomes.get(d.client_id) if self.done else None
        if before is not None and before["status"] in ("deleted", "already_deleted", "conflict"):
            self.rows[d.client_id] = {
                "status": before["status"],
                "reason": before["reason"],
                "unbilled": 0,
            }
        else:
            try:
                now: Invoice | None = self.invoices.get(invoice_id)
            except NotFoundError:
                now = None
            if now is None or now.vis_state == 1:
                self.outcome(d, invoice_id, "already_deleted", "deleted in FreshBooks already")
            elif touched := _touched(d, made, now):
                self.outcome(
                    d,
                    invoice_id,
                    "conflict",
                    f"{touched} since fbtime made it: left as it is, and its entries stay billed",
                )
                return
            else:
                self.log.write("delete_intent", client_id=d.client_id, invoice_id=invoice_id)
                self.invoices.delete(invoice_id)
                self.outcome(d, invoice_id, "deleted", "")
        if self.rows[d.client_id]["status"] != "conflict":
            self.rows[d.client_id]["unbilled"] = self.unmark(d)

    def unmark(self, d: InvoiceDraft) -> int:
        """Undo the draft's mark_billed journals (each entry checked as every undo does)."""
        done = 0
        folder = marks_directory(self.source.path, d.client_id)
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            plan = undo(path)
            if not plan.changes:
                continue
            n = len(plan.changes)
            target = marks_directory(self.log.path, d.client_id)
            result = plan.apply(
                self.client,
                confirm=n,
                max_changes=n,
                journal=target,
                allow_stale=True,
                cancel=self.cancel,
            )
            done += result.counts["applied"] + result.counts["already_applied"]
        return done


def _touched(d: InvoiceDraft, made: dict[str, Any], now: Invoice) -> str | None:
    """How the invoice changed since fbtime made it, or None."""
    if now.paid > 0:
        return f"paid ({now.paid} {now.currency})"
    if now.status != 1 or now.v3_status != "draft":
        return f"sent ({now.v3_status})"
    if made.get("version") and now.version != made["version"]:
        return "edited"
    if d.draft.differences(now):
        return "edited"
    return None


def undo_invoices(journal: str | Path) -> InvoiceUndo:
    """What undoing an invoice apply would do (review it, then apply it).

    Raises:
        PlanError: not an invoice journal (an undo's own journal is resumed, not undone).
    """
    state = read_invoice_journal(journal)
    if state.kind == UNDO_KIND:
        raise PlanError(f"{for_terminal(state.path)} is an undo's journal: resume it instead")
    return InvoiceUndo(state)


def resume_undo(journal: str | Path, client: Client | None = None) -> UndoResult:
    """Run an interrupted invoice undo again from its journal (every step is repeatable)."""
    held = [lock(journal)]
    try:
        state = read_invoice_journal(journal)
        if state.kind != UNDO_KIND:
            raise PlanError(f"{for_terminal(state.path)} is not an invoice undo's journal")
        held.append(lock(str(state.source_journal)))
        source = read_invoice_journal(str(state.source_journal))
        if source.kind == UNDO_KIND or source.plan.sha256 != state.plan.sha256:
            raise PlanError(f"{for_terminal(state.path)} does not undo the journal it names")
        client = writer(client, state.header.get("base_url"), state.business_id, None, "journal")
        log = Journal.reopen(state)  # type: ignore[arg-type]  # a journal state, as read
        log.write("resume", pending=len(source.invoice_ids()) - len(state.outcomes))
        return _Undoer(client, log, source, state, None).run()
    finally:
        for one in reversed(held):
            one.release()
