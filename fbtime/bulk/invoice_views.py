"""How an invoice plan and its result are shown: text for terminals, HTML for notebooks.

Each draft reads as a person expects it: the client's name, its lines (name, description,
quantity x unit cost = amount), hours and total, then the entries it bills (date,
teammate, project, hours, amount, note). Client, project and teammate names and notes come
from the account, so every cell is escaped (:func:`fbtime.text.for_terminal`,
:func:`fbtime.text.for_html`), as in every other view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime import display
from fbtime.bulk.views import cell
from fbtime.errors import PlanError
from fbtime.text import for_html, for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoiceDraft, InvoicePlanData
    from fbtime.bulk.invoice_result import InvoiceResult

#: Entries of each draft the views list (the plan's frames hold them all).
SHOWN_ENTRIES = 10
ENTRY_COLUMNS = ("date", "teammate", "project", "hours", "amount", "note")
NOTE_WIDTH = 40


def summary(plan: InvoicePlanData) -> str:
    t = plan.totals()
    money = ", ".join(f"{display.money(v)} {k}" for k, v in t["amount"].items()) or "nothing"
    return (
        f"InvoicePlan: {t['drafts']} draft invoices, {t['entries']} entries, "
        f"{display.hours(t['hours'])} h, {money}; {t['skipped']} entries skipped "
        f"(business {plan.business_id}, lines by {plan.group_by}, built "
        f"{plan.created_at[:19]}Z)"
    )


def hash_line(plan: InvoicePlanData) -> str:
    try:
        return f"sha256 {plan.sha256}"
    except PlanError as exc:
        return f"sha256 (none: {exc})"


def draft_title(d: InvoiceDraft) -> str:
    return (
        f"{d.client_name}: {len(d.draft.lines)} lines, {len(d.entry_ids)} entries, "
        f"{display.hours(d.hours)} h, {display.money(d.amount)} {d.draft.currency}, "
        f"dated {d.draft.create_date.isoformat()}"
    )


def line_rows(d: InvoiceDraft) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                n,
                line.name,
                line.description,
                f"{line.qty.normalize():f}",
                display.money(line.unit_cost),
                display.money(line.amount),
            )
            for n, line in enumerate(d.draft.lines, start=1)
        ],
        columns=["line", "name", "description", "qty", "unit_cost", "amount"],
    )


def entry_rows(plan: InvoicePlanData, d: InvoiceDraft, limit: int) -> tuple[pd.DataFrame, int]:
    entries = plan.entries
    mine = entries[entries["client_id"] == d.client_id]
    shown = mine.head(limit).reset_index()[["id", "line", *ENTRY_COLUMNS]].astype("object")
    return shown, len(mine)


def skipped_counts(plan: InvoicePlanData) -> pd.Series:
    return pd.Series([s["reason"] for s in plan.skipped], dtype="str").value_counts()


def plan_text(plan: InvoicePlanData) -> str:
    """The plan as a terminal shows it: summary, hash, each draft, skipped reasons."""
    out = [for_terminal(summary(plan)), for_terminal(hash_line(plan))]
    for d in plan.drafts:
        out += ["", for_terminal(draft_title(d))]
        lines = line_rows(d).astype("object").map(cell)
        lines["description"] = line_rows(d)["description"].map(lambda v: cell(v, width=60))
        out.append(lines.to_string(index=False))
        rows, total = entry_rows(plan, d, SHOWN_ENTRIES)
        shown = rows.map(cell)
        shown["note"] = rows["note"].map(lambda v: cell(v, width=NOTE_WIDTH))
        out.append(f"  bills {total} entries:")
        out.append(shown.to_string(index=False))
        if total > len(rows):
            out.append(f"  ... {total - len(rows)} more entries (plan.entries has them all)")
    for reason, count in skipped_counts(plan).items():
        out.append(f"skipped {count}: {for_terminal(reason)}")
    return "\n".join(out)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{for_html(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{for_html(_plain(v))}</td>" for v in values) + "</tr>"
        for values in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _plain(value: Any) -> str:
    return "—" if value is None or value is pd.NA or value != value else str(value)


def draft_html(plan: InvoicePlanData, d: InvoiceDraft, limit: int = 50) -> str:
    rows, total = entry_rows(plan, d, limit)
    more = f"<p>... {total - len(rows)} more entries</p>" if total > len(rows) else ""
    return (
        f"<details open><summary><b>{for_html(draft_title(d))}</b></summary>"
        f"{_table(line_rows(d))}<p>Bills {total} entries:</p>{_table(rows)}{more}</details>"
    )


def plan_html(plan: InvoicePlanData) -> str:
    """The plan as a notebook shows it: every name and note escaped."""
    drafts = "".join(draft_html(plan, d) for d in plan.drafts)
    skipped = "".join(f"<li>{n} {for_html(k)}</li>" for k, n in skipped_counts(plan).items())
    return (
        f"<div><p><b>{for_html(summary(plan))}</b></p>"
        f"<p><code>{for_html(hash_line(plan))}</code></p>{drafts}"
        f"{'<p>Skipped:</p><ul>' + skipped + '</ul>' if skipped else ''}</div>"
    )


def result_text(result: InvoiceResult) -> str:
    """An invoice apply as a terminal shows it: counts, journal, each draft's outcome."""
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
    out = [
        f"{type(result).__name__} {result.run_id}: {counts or 'nothing to do'}",
        f"journal: {for_terminal(result.journal_path)}",
    ]
    if result.stopped:
        out.append(f"stopped: {for_terminal(result.stopped)}")
    if len(result.invoices):
        shown_columns = ["client_name", "status", "invoice_number", result.WRITTEN, "entries"]
        table = result.invoices.reset_index()[[*shown_columns, "reason"]]
        shown = table.astype("object").map(cell)
        shown["reason"] = table["reason"].map(lambda v: cell(v, width=60))
        out.append(shown.to_string(index=False))
    return "\n".join(out)


def result_html(result: InvoiceResult) -> str:
    return f"<pre>{for_html(result_text(result))}</pre>"
