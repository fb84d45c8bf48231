"""The journal of an invoice apply (kind ``invoice``) and of its undo (``invoice_undo``).

Written with :class:`fbtime.bulk.journal.Journal` (fsynced, chained JSON lines, 0600), one
file per run; line 1 holds the whole invoice plan. Before each POST a ``draft_intent``
line records the client and the time it was sent; after it a ``draft_outcome`` records
the invoice id (``created``, or ``adopted`` when a draft made before a lost answer or a
crash was found again) or why there is none. Marking a draft's entries billed is an
ordinary ``mark_billed`` apply with its own journal, in :func:`marks_directory` beside
this one. An undo journals ``delete_intent`` / ``delete_outcome`` per draft.

A journal is read back as untrusted input (resume and undo act on it): the chain of
``prev`` hashes, every line's keys and values, and every client id against the plan of
line 1 are checked; any problem is a :class:`~fbtime.errors.PlanError` naming the line.
A last line cut short by a crash is tolerated (and cut off before appending again).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbtime.bulk.checks import is_id, loads, shown
from fbtime.bulk.invoice_change import InvoicePlanData
from fbtime.bulk.journal import (
    JOURNAL_FORMAT,
    JOURNAL_VERSION,
    MAX_JOURNAL_BYTES,
    STOP_CAUSES,
    read_lines,
)
from fbtime.errors import PlanError
from fbtime.text import for_terminal

KIND, UNDO_KIND = "invoice", "invoice_undo"
INVOICE_KINDS = (KIND, UNDO_KIND)
#: What a ``draft_outcome`` may say of a draft.
DRAFT_STATUSES = ("created", "adopted", "conflict", "failed", "mismatch", "ambiguous")
#: What a ``delete_outcome`` (undo) may say.
UNDO_STATUSES = ("deleted", "already_deleted", "conflict", "failed")
_COMMON = frozenset({"type", "run_id", "business_id", "at", "prev"})
KEYS = {
    "run": _COMMON | {"format", "version", "kind", "base_url", "plan", "source_journal"},
    "draft_intent": _COMMON | {"client_id", "sent_at"},
    "draft_outcome": _COMMON
    | {
        "client_id",
        "status",
        "reason",
        "invoice_id",
        "invoice_number",
        "version",
        "http_status",
    },
    "delete_intent": _COMMON | {"client_id", "invoice_id"},
    "delete_outcome": _COMMON | {"client_id", "invoice_id", "status", "reason"},
    "stop": _COMMON | {"cause", "reason"},
    "resume": _COMMON | {"pending"},
    "end": _COMMON | {"counts"},
}
_RUN_ID = re.compile(r"[0-9a-f]{12}")


@dataclass
class InvoiceJournal:
    """What an invoice (or invoice-undo) journal says happened, checked."""

    path: Path
    run_id: str
    business_id: int
    kind: str
    header: dict[str, Any]
    plan: InvoicePlanData
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    stops: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    last_digest: str | None = None
    cut_at: int | None = None
    unterminated: bool = False

    @property
    def source_journal(self) -> str | None:
        return self.header.get("source_journal")

    def invoice_ids(self) -> dict[int, dict[str, Any]]:
        """Per client, the outcome that holds its draft (created or adopted)."""
        return {c: o for c, o in self.outcomes.items() if o["status"] in ("created", "adopted")}


def marks_directory(journal: str | Path, client_id: int) -> Path:
    """Where the ``mark_billed`` journals of one draft of an invoice run are written."""
    path = Path(journal)
    return path.with_name(f"{path.stem}.marks") / str(int(client_id))


def journal_kind(path: str | Path) -> str | None:
    """The ``kind`` of a journal's run header, or None if the file holds no readable one."""
    try:
        with open(path, "rb") as handle:
            first = loads(handle.readline(MAX_JOURNAL_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    ok = isinstance(first, dict) and first.get("format") == JOURNAL_FORMAT
    return first.get("kind") if ok and isinstance(first.get("kind"), str) else None


def read_invoice_journal(path: str | Path) -> InvoiceJournal:
    """Read and check an invoice or invoice-undo journal.

    Raises:
        PlanError: missing, too large, not such a journal, or a line damaged, out of the
            chain, or naming a client its plan does not (naming the line).
    """
    path = Path(path)
    where = for_terminal(path)
    records, cut_at, unterminated = read_lines(path)
    raw, head = records[0]
    if (
        not isinstance(head, dict)
        or head.get("type") != "run"
        or (head.get("format") != JOURNAL_FORMAT or head.get("kind") not in (KIND, UNDO_KIND))
    ):
        raise PlanError(f"{where} is not an fbtime invoice journal")
    if head.get("version") != JOURNAL_VERSION or set(head) - KEYS["run"]:
        raise PlanError(f"{where} line 1 is not a run header this fbtime wrote")
    run_id, business_id = head.get("run_id"), head.get("business_id")
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or not is_id(business_id):
        raise PlanError(f"{where} line 1 lacks a run id or business id")
    if head.get("prev") is not None or not isinstance(head.get("base_url"), str):
        raise PlanError(f"{where} line 1 is not a run header fbtime wrote")
    source = head.get("source_journal")
    if (head["kind"] == UNDO_KIND) != isinstance(source, str):
        raise PlanError(f"{where} line 1: only an undo journal names its source journal")
    plan = InvoicePlanData.from_dict(head.get("plan"), where=f"{path} line 1 (its plan)")
    if plan.business_id != business_id:
        raise PlanError(f"{where} line 1: the plan's business differs from the run's")
    state = InvoiceJournal(
        path,
        run_id,
        business_id,
        head["kind"],
        head,
        plan,
        last_digest=hashlib.sha256(raw).hexdigest(),
        cut_at=cut_at,
        unterminated=unterminated,
    )
    clients = {d.client_id for d in plan.drafts}
    for number, (raw, record) in enumerate(records[1:], start=2):
        _line(state, f"{where} line {number}", record, clients)
        state.last_digest = hashlib.sha256(raw).hexdigest()
    return state


def _line(state: InvoiceJournal, at: str, record: Any, clients: set[int]) -> None:
    if not isinstance(record, dict):
        raise PlanError(f"{at} is not an object")
    if record.get("prev") != state.last_digest:
        raise PlanError(f"{at} does not follow the line before it (its 'prev' hash differs)")
    kind = record.get("type")
    if kind not in KEYS or kind == "run":
        raise PlanError(f"{at}: unknown line type {shown(kind)}")
    undo = state.kind == UNDO_KIND
    if (kind.startswith("draft_") and undo) or (kind.startswith("delete_") and not undo):
        raise PlanError(f"{at}: a {kind} line in a {state.kind} journal")
    if set(record) - KEYS[kind]:
        raise PlanError(f"{at}: unknown key(s) {shown(sorted(set(record) - KEYS[kind]))}")
    if record.get("run_id") != state.run_id or record.get("business_id") != state.business_id:
        raise PlanError(f"{at} belongs to another run or business")
    if not isinstance(record.get("at"), str):
        raise PlanError(f"{at}: 'at' must be a time")
    if state.finished and kind != "resume":
        raise PlanError(f"{at}: {kind} line after the run's end line")
    if kind in ("stop", "resume", "end"):
        _run_line(state, at, kind, record)
        return
    client_id = record.get("client_id")
    if client_id not in clients:
        raise PlanError(f"{at}: client {shown(client_id)} has no draft in the journal's plan")
    invoice_id = record.get("invoice_id")
    if invoice_id is not None and not is_id(invoice_id):
        raise PlanError(f"{at}: invoice_id {shown(invoice_id)} is not an id")
    if kind.endswith("_intent"):
        if kind == "draft_intent" and not isinstance(record.get("sent_at"), str):
            raise PlanError(f"{at}: a draft intent records when it was sent")
        state.intents[client_id] = record
        return
    status = record.get("status")
    allowed = UNDO_STATUSES if undo else DRAFT_STATUSES
    if status not in allowed or not isinstance(record.get("reason"), str):
        raise PlanError(f"{at}: status {shown(status)} is not one of {allowed}")
    holds = status in ("created", "adopted", "mismatch", "deleted")
    if holds and invoice_id is None:
        raise PlanError(f"{at}: a {status} draft names its invoice id")
    if status in ("created", "deleted") and client_id not in state.intents:
        raise PlanError(f"{at}: {status} without an intent before it")
    for name in ("invoice_number", "version"):
        if record.get(name) is not None and not isinstance(record[name], str):
            raise PlanError(f"{at}: {name} must be text")
    state.outcomes[client_id] = record


def _run_line(state: InvoiceJournal, at: str, kind: str, record: dict[str, Any]) -> None:
    if kind == "stop":
        if record.get("cause") not in STOP_CAUSES or not isinstance(record.get("reason"), str):
            raise PlanError(f"{at}: a stop line needs a known cause and a reason")
        state.stops.append(record)
    elif kind == "resume":
        if type(record.get("pending")) is not int:
            raise PlanError(f"{at}: a resume line counts the drafts left")
        state.finished = False
    else:
        counts = record.get("counts")
        if not isinstance(counts, dict) or not all(type(n) is int for n in counts.values()):
            raise PlanError(f"{at}: an end line counts drafts")
        state.finished = True
