"""What a saved invoice plan may hold: each draft, line and entry checked before it is trusted.

An invoice plan file (and the copy in a journal's first line) is untrusted input: an edit
must never become an invoice or a write nobody reviewed. So every part is checked for type
and range; each line's ``amount`` must be FreshBooks' ``round_half_up(qty x unit_cost, 2)``
(what apply checks the server's answer against); every entry a line bills must be one the
draft's ``mark_billed`` plan marks, and no entry may be on two drafts; the ``mark_billed``
plans are checked as every plan is (:meth:`fbtime.UpdatePlan.from_dict`). Every failure is
a :class:`~fbtime.errors.PlanError` naming the draft, line and field.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from fbtime.api.invoice_answers import InvoiceLine
from fbtime.api.invoices import MAX_LINES, MAX_QTY_PLACES, MAX_TEXT, Draft
from fbtime.bulk.checks import MAX_HOURS, check_text, is_id, shown
from fbtime.bulk.plan import UpdatePlan
from fbtime.drafts import SKIP_REASONS
from fbtime.errors import PlanError

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoiceDraft

DRAFT_KEYS = frozenset(
    {
        "client_id",
        "client_name",
        "create_date",
        "currency",
        "due_offset_days",
        "notes",
        "lines",
        "marks",
    }
)
LINE_KEYS = frozenset({"name", "description", "qty", "unit_cost", "amount", "hours", "entries"})
SKIPPED_KEYS = frozenset({"id", "reason", "client_id", "hours"})
#: Why a saved plan may say an entry was left off: the drafting reasons, or a reviewer's.
SKIPPED_REASONS = (*SKIP_REASONS, "left out by the reviewer")
CENT = Decimal("0.01")
_BIG = Decimal(10) ** 12


def draft_dict(d: InvoiceDraft) -> dict[str, Any]:
    """One draft as saved (JSON values only: decimals as strings)."""
    draft = d.draft
    return {
        "client_id": draft.customer_id,
        "client_name": d.client_name,
        "create_date": draft.create_date.isoformat(),
        "currency": draft.currency,
        "due_offset_days": draft.due_offset_days,
        "notes": draft.notes,
        "lines": [
            {
                "name": line.name,
                "description": line.description,
                "qty": format(line.qty, "f"),
                "unit_cost": str(line.unit_cost),
                "amount": str(line.amount),
                "hours": hours,
                "entries": list(ids),
            }
            for line, ids, hours in zip(draft.lines, d.line_entries, d.line_hours, strict=True)
        ],
        "marks": d.marks.to_dict(),
    }


def keys(data: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(map(str, set(data) - allowed))
    missing = sorted(allowed - set(data) - {"sha256", "notes"})
    if extra or missing:
        raise PlanError(f"{where}: unknown key(s) {shown(extra)}, missing {shown(missing)}")


def text(value: Any, where: str, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise PlanError(f"{where} must be text of at most {limit} characters, got {shown(value)}")
    return check_text(value, where)


def listed(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanError(f"{where} must be a list")
    return value


def decimal(value: Any, where: str, places: int) -> Decimal:
    """A decimal string of at most ``places`` places, 0 or more (the form fbtime saves)."""
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not 0 <= number < _BIG:
        raise PlanError(f"{where} must be a decimal string, got {shown(value)}")
    if number != round(number, places):
        raise PlanError(f"{where} {shown(value)} has more than {places} decimal places")
    return number


def hours(value: Any, where: str) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or not value >= 0:
        raise PlanError(f"{where} must be a number of hours, got {shown(value)}")
    return float(value)


def check_line(item: Any, where: str) -> tuple[InvoiceLine, tuple[int, ...], float]:
    if not isinstance(item, dict):
        raise PlanError(f"{where} is not an object")
    keys(item, LINE_KEYS, where)
    qty = decimal(item.get("qty"), f"{where}: qty", MAX_QTY_PLACES)
    cost = decimal(item.get("unit_cost"), f"{where}: unit_cost", 2)
    amount = decimal(item.get("amount"), f"{where}: amount", 2)
    if qty == 0:
        raise PlanError(f"{where}: qty is 0")
    if (qty * cost).quantize(CENT, ROUND_HALF_UP) != amount:
        raise PlanError(f"{where}: amount {amount} is not qty x unit_cost ({qty} x {cost})")
    ids = listed(item.get("entries"), f"{where}: entries")
    if not ids or not all(is_id(i) for i in ids):
        raise PlanError(f"{where}: entries must be a non-empty list of entry ids")
    line = InvoiceLine(
        text(item.get("name"), f"{where}: name"),
        text(item.get("description"), f"{where}: description"),
        qty,
        cost,
        amount,
    )
    return line, tuple(ids), hours(item.get("hours"), f"{where}: hours")


def check_draft(item: Any, number: int, where: str, business_id: int | None) -> dict[str, Any]:
    """One saved draft, checked: the parts of an
    :class:`~fbtime.bulk.invoice_change.InvoiceDraft`."""
    at = f"{where}: draft #{number}"
    if not isinstance(item, dict):
        raise PlanError(f"{at} is not an object")
    keys(item, DRAFT_KEYS, at)
    client_id = item.get("client_id")
    if not is_id(client_id):
        raise PlanError(f"{at}: client_id must be a positive integer, got {shown(client_id)}")
    at = f"{at} (client {client_id})"
    name = text(item.get("client_name"), f"{at}: client_name", limit=1000)
    try:
        day = dt.date.fromisoformat(text(item.get("create_date"), f"{at}: create_date", limit=10))
    except ValueError:
        raise PlanError(f"{at}: create_date is not a YYYY-MM-DD date") from None
    currency = text(item.get("currency"), f"{at}: currency", limit=3)
    offset = item.get("due_offset_days")
    if type(offset) is not int or not 0 <= offset <= 3650:
        raise PlanError(f"{at}: due_offset_days must be 0 to 3650, got {shown(offset)}")
    notes = item.get("notes")
    if notes is not None:
        text(notes, f"{at}: notes")
    items = listed(item.get("lines"), f"{at}: lines")
    if not 1 <= len(items) <= MAX_LINES:
        raise PlanError(f"{at}: a draft has 1 to {MAX_LINES} lines, not {len(items)}")
    parts = [check_line(x, f"{at} line {n}") for n, x in enumerate(items, start=1)]
    draft = Draft(client_id, day, currency, tuple(p[0] for p in parts), offset, notes)
    try:
        draft.payload()  # the checks a create makes before sending, made now
    except Exception as exc:  # QueryError: the currency or a line
        raise PlanError(f"{at}: {exc}") from None
    marks = UpdatePlan.from_dict(item.get("marks"), where=f"{at} marks")
    if marks.kind != "mark_billed" or marks.business_id != business_id:
        raise PlanError(f"{at}: marks must be a mark_billed plan of the plan's business")
    if any(c.client_id != client_id for c in marks.changes):
        raise PlanError(f"{at}: marks bill another client's entries")
    billed = [i for p in parts for i in p[1]]
    if len(set(billed)) != len(billed) or set(billed) != set(marks.ids):
        raise PlanError(f"{at}: the lines' entries are not exactly those marks bills, once each")
    return {
        "client_name": name,
        "draft": draft,
        "line_entries": tuple(p[1] for p in parts),
        "line_hours": tuple(p[2] for p in parts),
        "marks": marks,
    }


def check_disjoint(drafts: tuple[InvoiceDraft, ...], where: str) -> None:
    clients = [d.client_id for d in drafts]
    if len(set(clients)) != len(clients):
        raise PlanError(f"{where}: a client has more than one draft")
    entries = [i for d in drafts for i in d.entry_ids]
    if len(set(entries)) != len(entries):
        raise PlanError(f"{where}: an entry is on more than one draft")


def check_skipped(item: Any, number: int, where: str) -> dict[str, Any]:
    at = f"{where}: skipped #{number}"
    if not isinstance(item, dict) or set(item) != SKIPPED_KEYS or not is_id(item["id"]):
        raise PlanError(f"{at} must be {{'id', 'reason', 'client_id', 'hours'}}")
    if item["reason"] not in SKIPPED_REASONS:
        raise PlanError(f"{at}: reason {shown(item['reason'])} is not one fbtime gives")
    if item["client_id"] is not None and not is_id(item["client_id"]):
        raise PlanError(f"{at}: client_id must be a positive integer or null")
    if item["hours"] is not None and hours(item["hours"], f"{at}: hours") > MAX_HOURS:
        raise PlanError(f"{at}: hours {item['hours']} is more than any entry holds")
    return dict(item)
