"""Apply an invoice plan exactly once: per client, check, POST the draft, verify, mark billed.

For each draft, in order:

1. **Check** its entries on the server (one fresh listing of the client's time): each must
   still exist, be billable and unbilled, and hold what the plan saw; and the client must
   exist, not be deleted, and be billed in the plan's currency. Anything stale: the draft
   is a ``conflict`` and nothing is sent for it.
2. **Journal the intent** (client, time sent), then **POST once** (``?include[]=lines``),
   paced under FreshBooks' 250 accounting POSTs a minute. Never retried: after a lost
   answer, a 5xx, a 409 or anything else, the server is searched
   (:func:`~fbtime.bulk.invoice_once.find_made`).
3. **Verify** the answer to the cent (:meth:`fbtime.api.invoices.Draft.differences`) and
   that it is a draft. A server that stored anything else (a quantity truncated...): the
   draft is deleted again (``vis_state`` 1), journaled ``mismatch``, and nothing marked.
4. **Mark** its entries billed: the draft's ``mark_billed`` plan, applied like any plan
   (GET, compare, full PUT, journaled in :func:`~fbtime.bulk.invoice_journal.marks_directory`).

**Found again, never made twice.** Before any POST for a draft whose intent has no outcome
(a lost answer, a crash, Ctrl-C), and after any failed POST, the client's invoices of the
draft's date are listed with their lines (deleted ones left out) and those created since
the intent (less :data:`~fbtime.bulk.once.CLOCK_SKEW`) compared with the draft:
exactly one matching -> it is adopted; none at all -> the POST is sent; several, or one
made since that does not match (the server may have changed it) -> ``ambiguous``: nothing
is sent, the user decides.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime.api import reference
from fbtime.api.client import Client
from fbtime.api.invoice_answers import Invoice
from fbtime.api.invoices import Invoices
from fbtime.bulk.apply import (
    apply_plan,
    check_confirmation,
    claim,
    record,
    release,
    resume,
    writer,
    written_by,
)
from fbtime.bulk.change import DEFAULT_MAX_AGE, snapshot
from fbtime.bulk.invoice_journal import (
    KIND,
    InvoiceJournal,
    marks_directory,
    read_invoice_journal,
)
from fbtime.bulk.invoice_once import Pacer, find_made
from fbtime.bulk.invoice_result import InvoiceResult
from fbtime.bulk.journal import Journal, lock
from fbtime.bulk.result import ApplyResult
from fbtime.errors import (
    APIError,
    ApplyInterrupted,
    AuthError,
    ConfirmationError,
    FBTimeError,
    PartialApplyError,
    PlanError,
    TransportError,
)
from fbtime.money import money_array
from fbtime.text import for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoiceDraft, InvoicePlanData

DEFAULT_MAX_CHANGES = 200
logger = logging.getLogger("fbtime.bulk")


class _Halt(Exception):
    """The run stopped: no new request starts."""


@dataclass
class _Row:
    status: str = "not_attempted"
    reason: str = ""
    invoice_id: int | None = None
    invoice_number: str | None = None
    billed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class InvoiceRunner:
    """Carries out an invoice plan's drafts against one client, journaling as it goes."""

    def __init__(
        self,
        client: Client,
        journal: Journal,
        plan: InvoicePlanData,
        *,
        done: InvoiceJournal | None = None,
        cancel: threading.Event | None = None,
        workers: int = 4,
        progress: bool | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.client, self.journal, self.plan, self.done = client, journal, plan, done
        self.cancel, self.workers, self.progress = cancel, workers, progress
        self.pacer = pacer or Pacer()
        self.invoices = Invoices(client)
        self.rows: dict[int, _Row] = {d.client_id: _Row() for d in plan.drafts}
        self.stop_cause: str | None = None
        self.stop_reason: str | None = None
        self._clients: dict[int, dict[str, Any]] | None = None

    # -- stopping ---------------------------------------------------------------------------
    def halt(self, cause: str, reason: str) -> None:
        if self.stop_cause is None:
            self.stop_cause, self.stop_reason = cause, reason
            self.journal.write("stop", cause=cause, reason=reason)

    def go_on(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            self.halt("cancelled", "cancelled: no new request was started")
        if self.stop_cause is not None:
            raise _Halt

    # -- the run ----------------------------------------------------------------------------
    def run_all(self) -> InvoiceResult:
        try:
            for draft in self.plan.drafts:
                try:
                    self.go_on()
                    self.one(draft)
                except _Halt:
                    pass
                except AuthError as exc:
                    self.halt("auth", f"stopped by an auth error: {exc.message}")
                except TransportError as exc:
                    self.halt("unreachable", f"the API is unreachable: {exc}")
                except PartialApplyError as exc:  # marking the entries stopped
                    cancelled = self.cancel is not None and self.cancel.is_set()
                    self.halt("cancelled" if cancelled else "error", f"stopped: {exc}")
                except FBTimeError as exc:  # before any intent, or the draft stays in doubt
                    self.outcome(
                        draft, "failed", str(exc), http_status=getattr(exc, "status", None)
                    )
        except KeyboardInterrupt as exc:
            self.halt("interrupted", "interrupted (Ctrl-C): the request in flight finished")
            result = self.finish()
            raise ApplyInterrupted(
                self.message(result),
                journal_path=str(self.journal.path),
                result=result,  # type: ignore[arg-type]  # read through .result as any result
            ) from exc
        result = self.finish()
        if self.stop_reason:
            raise PartialApplyError(
                self.message(result),
                journal_path=str(self.journal.path),
                result=result,  # type: ignore[arg-type]
            )
        return result

    def finish(self) -> InvoiceResult:
        self.client.invalidate_cache()
        frame = self.frame()
        counts = frame["status"].value_counts().to_dict()
        self.journal.write("end", counts={str(k): int(v) for k, v in counts.items()})
        return InvoiceResult(self.journal.run_id, self.journal.path, frame, self.stop_reason)

    def message(self, result: InvoiceResult) -> str:
        path = str(result.journal_path)
        return for_terminal(
            f"{self.stop_reason}; {result.counts['created'] + result.counts['adopted']} drafts "
            f"made, {result.counts['not_attempted']} not attempted. Finish it with "
            f"fbtime.resume({path!r}) or: fbtime resume {path}"
        )

    def frame(self) -> pd.DataFrame:
        drafts = self.plan.drafts
        out = pd.DataFrame(
            {
                "client_id": pd.array([d.client_id for d in drafts], dtype="Int64"),
                "client_name": pd.array([d.client_name for d in drafts], dtype="str"),
                "status": pd.array([self.rows[d.client_id].status for d in drafts], dtype="str"),
                "invoice_id": pd.array(
                    [self.rows[d.client_id].invoice_id for d in drafts], dtype="Int64"
                ),
                "invoice_number": pd.array(
                    [self.rows[d.client_id].invoice_number for d in drafts], dtype="str"
                ),
                "amount": money_array(
                    pd.Series([int(d.amount * 100) for d in drafts], dtype="int64").to_numpy()
                ),
                "entries": pd.array([len(d.entry_ids) for d in drafts], dtype="Int64"),
                "billed": pd.array([self.rows[d.client_id].billed for d in drafts], dtype="Int64"),
                "reason": pd.array([self.rows[d.client_id].reason for d in drafts], dtype="str"),
            }
        )
        return out.set_index("client_id")

    # -- one draft --------------------------------------------------------------------------
    def outcome(
        self,
        draft: InvoiceDraft,
        status: str,
        reason: str,
        invoice: Invoice | None = None,
        http_status: int | None = None,
    ) -> None:
        reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
        self.journal.write(
            "draft_outcome",
            client_id=draft.client_id,
            status=status,
            reason=reason,
            invoice_id=invoice.id if invoice else None,
            invoice_number=invoice.invoice_number if invoice else None,
            version=invoice.version if invoice else None,
            http_status=http_status,
        )
        row = self.rows[draft.client_id]
        row.status, row.reason = status, reason
        if invoice is not None:
            row.invoice_id, row.invoice_number = invoice.id, invoice.invoice_number

    def one(self, draft: InvoiceDraft) -> None:
        before = self.done.outcomes.get(draft.client_id) if self.done else None
        if before is not None and before["status"] in ("created", "adopted", "mismatch"):
            row = self.rows[draft.client_id]
            row.status, row.reason = before["status"], before["reason"]
            row.invoice_id, row.invoice_number = before["invoice_id"], before["invoice_number"]
            if before["status"] != "mismatch":
                self.mark(draft)
            return
        intent = self.done.intents.get(draft.client_id) if self.done else None
        if intent is not None:  # a POST whose outcome says no invoice: it may exist
            found = self.recover(draft, intent["sent_at"])
            if found == "adopted":
                self.mark(draft)
            if found != "none":
                return
        if not self.fresh(draft):
            return
        self.go_on()
        self.pacer.wait()
        sent_at = dt.datetime.now(dt.UTC).isoformat()
        self.journal.write("draft_intent", client_id=draft.client_id, sent_at=sent_at)
        try:
            made = self.invoices.create(draft.draft)
        except AuthError:
            raise
        except (TransportError, APIError) as exc:  # never sent again: look for it instead
            if self.recover(draft, sent_at, failure=exc) == "adopted":
                self.mark(draft)
            return
        if self.verify(draft, made, "created"):
            self.mark(draft)

    def fresh(self, draft: InvoiceDraft) -> bool:
        """The client and every entry still as the plan saw them; else a conflict."""
        clients = self._clients_by_id()
        found = clients.get(draft.client_id)
        problem = None
        if found is None or found.get("vis_state") == 1:
            problem = "the client is deleted in FreshBooks (or no longer listed)"
        elif str(found.get("currency_code") or "").upper() != draft.draft.currency:
            problem = (
                f"the client is billed in {found.get('currency_code')!r}, not "
                f"{draft.draft.currency}"
            )
        else:
            problem = self._stale(draft)
        if problem is not None:
            self.outcome(draft, "conflict", f"{problem}; nothing was created")
            return False
        return True

    def _clients_by_id(self) -> dict[int, dict[str, Any]]:
        if self._clients is None:
            rows = reference.list_clients(self.client, refresh=True)
            self._clients = {r["id"]: r for r in rows}
        return self._clients

    def _stale(self, draft: InvoiceDraft) -> str | None:
        changes = draft.marks.changes
        starts = [pd.Timestamp(c.before["started_at"]) for c in changes]
        rows = self.client.time_entries.list(
            team=True,
            client_id=draft.client_id,
            include_deleted=True,
            started_from=min(starts),
            started_to=max(starts) + pd.Timedelta(seconds=1),
        )
        now = {r["id"]: r for r in rows}
        problems = []
        for change in changes:
            current = now.get(change.id)
            if current is None or current.get("active") is False:
                problems.append(f"entry {change.id} was deleted")
                continue
            seen = snapshot(current)
            changed = [k for k, v in change.before.items() if seen.get(k) != v]
            if changed:
                problems.append(f"entry {change.id} changed since the plan ({', '.join(changed)})")
        if not problems:
            return None
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        return "; ".join(problems[:3]) + more

    def verify(self, draft: InvoiceDraft, made: Invoice, status: str) -> bool:
        """Keep a draft that is exactly the plan's; delete and report any other."""
        wrong = draft.draft.differences(made)
        if made.status != 1 or made.v3_status != "draft":
            wrong.append(f"status {made.status}/{made.v3_status} instead of a draft")
        if not wrong:
            self.outcome(draft, status, "", made)
            return True
        reason = "the server stored another invoice: " + "; ".join(wrong[:5])
        try:
            self.invoices.delete(made.id)
            reason += " (deleted it again; no entry marked billed)"
        except FBTimeError as exc:
            reason += f" (could not delete it: {exc}; delete invoice {made.invoice_number} by hand)"
        self.outcome(draft, "mismatch", reason, made)
        return False

    def recover(self, draft: InvoiceDraft, sent_at: str, failure: Exception | None = None) -> str:
        """Look for a draft an earlier POST made: ``adopted``, ``ambiguous`` or ``none``."""
        found = find_made(self.invoices, draft, sent_at)
        what = f" after {type(failure).__name__}: {failure}" if failure else ""
        http = getattr(failure, "status", None)
        if found.adopt is not None:
            return "adopted" if self.verify(draft, found.adopt, "adopted") else "ambiguous"
        if found.others:
            ids = ", ".join(str(i.invoice_number) for i in found.others)
            self.outcome(
                draft,
                "ambiguous",
                f"invoices {ids} were made since the POST{what} "
                "and none is exactly this draft: check them in FreshBooks (delete the "
                "wrong ones), then resume",
                http_status=http,
            )
            return "ambiguous"
        if failure is not None:
            self.outcome(
                draft,
                "failed",
                f"not created{what}; resume looks for it again before sending it",
                http_status=http,
            )
        return "none"

    def mark(self, draft: InvoiceDraft) -> None:
        """Mark the draft's entries billed with its own mark_billed journal (resumed if one
        was begun)."""
        self.go_on()
        folder = marks_directory(self.journal.path, draft.client_id)
        begun = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
        count = len(draft.marks.changes)
        try:
            if begun:
                done = resume(
                    begun[-1],
                    self.client,
                    workers=self.workers,
                    progress=self.progress,
                    cancel=self.cancel,
                )
            else:
                done = apply_plan(
                    draft.marks,
                    self.client,
                    confirm=count,
                    max_changes=count,
                    journal=folder,
                    allow_stale=True,
                    workers=self.workers,
                    progress=self.progress,
                    cancel=self.cancel,
                )
        except (PartialApplyError, ApplyInterrupted) as exc:
            self._billed(draft, exc.result)
            raise
        self._billed(draft, done)

    def _billed(self, draft: InvoiceDraft, done: ApplyResult | None) -> None:
        if done is None:
            return
        row = self.rows[draft.client_id]
        row.billed = done.counts["applied"] + done.counts["already_applied"]
        left = len(draft.marks.changes) - row.billed
        if left:
            row.reason = f"{left} entries not marked billed: see {done.journal_path}"


def apply_invoices(
    plan: InvoicePlanData,
    client: Client | None = None,
    *,
    confirm: bool | int = False,
    max_changes: int = DEFAULT_MAX_CHANGES,
    workers: int = 4,
    journal: str | Path | None = None,
    progress: bool | None = None,
    allow_stale: bool = False,
    max_age: dt.timedelta = DEFAULT_MAX_AGE,
    cancel: threading.Event | None = None,
) -> InvoiceResult:
    """Create each draft once, verify it, and mark its entries billed, journaling it all.

    Args:
        client: the connection (default: the frame's own, else ``fbtime.Client()``).
        confirm: ``True``; for plans billing more than ``max_changes`` entries, the count.
        workers: entries marked billed at once.
        journal: directory for the journal (default: the user data dir).
        allow_stale: apply a plan older than ``max_age`` (24 h).
        cancel: set it (from another thread) to stop starting requests.

    Raises:
        ConfirmationError, PlanError: nothing was sent.
        PartialApplyError: the run stopped early (``journal_path``; :func:`fbtime.resume`).
        ApplyInterrupted: Ctrl-C (a ``KeyboardInterrupt`` carrying the same).
    """
    changes = f"creates {len(plan)} draft invoices and marks {plan.entry_count} entries billed"
    check_confirmation(plan.entry_count, confirm, max_changes, changes)
    plan = plan.checked()
    if plan.age() > max_age and not allow_stale:
        raise ConfirmationError(
            f"this plan was built {plan.age()} ago; entries may have changed since. Rebuild "
            "it, or pass allow_stale=True (--yes) to apply it anyway"
        )
    client = writer(client, plan.api_url, plan.business_id, plan.connection, "invoice plan")
    key = claim(plan)  # one registry with update plans: a plan is applied once a process
    try:
        log = Journal.create(
            journal,
            kind=KIND,
            business_id=client.business_id,
            header={"base_url": client.base_url, "plan": plan.to_dict()},
        )
        held = lock(log.path)
    except BaseException:  # nothing was sent: the plan may be applied after all
        release(key)
        raise
    record(key, log.path, client.connection_id)
    logger.info("journal %s", for_terminal(log.path))
    try:
        runner = InvoiceRunner(client, log, plan, cancel=cancel, workers=workers, progress=progress)
        return runner.run_all()
    finally:
        held.release()


def resume_invoices(
    journal: str | Path,
    client: Client | None = None,
    *,
    workers: int = 4,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
) -> InvoiceResult:
    """Finish an invoice apply: one draft per client, every entry billed, never a second
    invoice (drafts in doubt are looked for first; see the module docstring)."""
    held = lock(journal)  # before reading: another run may be appending to it
    try:
        state = read_invoice_journal(journal)
        if state.kind != KIND:
            raise PlanError(f"{for_terminal(state.path)} is not an invoice apply's journal")
        api_url, connection = state.header.get("base_url"), written_by(journal)
        client = writer(client, api_url, state.business_id, connection, "journal")
        log = Journal.reopen(state)  # type: ignore[arg-type]  # a journal state, as read
        left = [d for d in state.plan.drafts if d.client_id not in state.invoice_ids()]
        log.write("resume", pending=len(left))
        runner = InvoiceRunner(
            client, log, state.plan, done=state, cancel=cancel, workers=workers, progress=progress
        )
        return runner.run_all()
    finally:
        held.release()
