"""InvoicePlan: draft invoices to create and the entries they bill, reviewed before anything
is sent.

``df.fbtime.invoice(rates)`` builds one (:func:`plan_invoices`): the drafts of
:mod:`fbtime.drafts` (one per client, lines grouped and rounded by its rule), and for each
the ``mark_billed`` plan of the entries it bills
(:func:`fbtime.bulk.builders.plan_mark_billed`: each entry's writable fields as the frame
saw them, so apply can tell whether anyone changed it since). Nothing is sent. A plan is
shown as text and HTML (each draft with its client's name, lines, hours and amount, and
the entries it bills), saved as JSON with an integrity hash and read back checked part by
part (:class:`~fbtime.bulk.invoice_change.InvoicePlanData`), reviewed in a panel and
applied (:mod:`fbtime.bulk.invoice_apply`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from fbtime import clock
from fbtime.analysis import resolve_tz
from fbtime.api.invoice_answers import InvoiceLine
from fbtime.api.invoices import Draft
from fbtime.bulk.builders import plan_mark_billed
from fbtime.bulk.invoice_apply import apply_invoices
from fbtime.bulk.invoice_change import InvoiceDraft, InvoicePlanData
from fbtime.bulk.invoice_result import InvoiceResult
from fbtime.drafts import GroupBy, draft_invoices
from fbtime.errors import PlanError
from fbtime.rates import Overrides, Rates, with_rates

if TYPE_CHECKING:
    from fbtime.api.client import Client


class InvoicePlan(InvoicePlanData):
    """Draft invoices to create, one per client, and the entries each will mark billed.

    What it holds (``invoices``, ``lines``, ``entries``, ``skipped``, the file format) is
    :class:`~fbtime.bulk.invoice_change.InvoicePlanData`'s; this class adds what a person
    does with it.
    """

    def apply(self, client: Client | None = None, **kwargs: Any) -> InvoiceResult:
        """Create the drafts and mark their entries billed; see
        :func:`fbtime.bulk.invoice_apply.apply_invoices` for the options."""
        return apply_invoices(self, client, **kwargs)

    def review(self, client: Client | None = None, **kwargs: Any) -> Any:
        """An ipywidgets panel showing each draft and its entries, with Apply and Cancel."""
        from fbtime.widgets.invoice_review import InvoiceReview  # lazy: ipywidgets, notebooks only

        return InvoiceReview(self, client=client, **kwargs)


# -- building ---------------------------------------------------------------------------------
def plan_invoices(
    frame: pd.DataFrame,
    rates: Rates,
    *,
    group_by: str = "project",
    standard_rate: Any = None,
    overrides: Overrides | None = None,
    currency: str | None = None,
    qty_places: int = 2,
    lump: bool = False,
    create_date: dt.date | None = None,
    due_offset_days: int = 0,
    notes: str | None = None,
    business_id: int | None = None,
) -> InvoicePlan:
    """Plan one draft invoice per client from ``frame``'s billable, unbilled entries.

    Amounts are :func:`fbtime.rates.with_rates`' (``standard_rate``, ``overrides``,
    ``currency`` as there); lines and the rounding rule are :mod:`fbtime.drafts`'.
    ``create_date`` defaults to today in the entries' time zone (``fbtime.clock``).

    Raises:
        QueryError: a bad rate, override or currency. PlanError: a bad option, or a draft
            of more than 400 lines.
    """
    if not isinstance(rates, Rates):
        raise PlanError(f"rates must be fbtime.load_rates(client), got {type(rates).__name__}")
    # the business, API and connection are the frame's, read as every plan reads them
    probe = plan_mark_billed(frame.iloc[:0], business_id=business_id)
    work = frame.copy(deep=False)
    work.attrs = {}  # read above; kept, pandas would copy them at every step
    rated = with_rates(
        work, rates, standard_rate=standard_rate, overrides=overrides, currency=currency
    )
    names = {"project": rates.projects["name"].dropna().to_dict()}
    if "project_name" not in rated:  # the reviewer reads projects by name, as the lines do
        rated["project_name"] = rated["project_id"].map(names["project"]).astype("str")
    drafts = draft_invoices(
        rated, group_by=cast(GroupBy, group_by), qty_places=qty_places, lump=lump, names=names
    )
    day = create_date or clock.today(resolve_tz(work))
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise PlanError(f"create_date must be a date, got {day!r}")
    entries = drafts.entries
    every = plan_mark_billed(entries, business_id=probe.business_id)
    if len(every.changes) != len(entries):  # drafts and mark_billed disagree: a bug
        raise PlanError("some entries of the drafts cannot be marked billed")
    by_client: dict[int, list[Any]] = {}
    for change in every.changes:
        by_client.setdefault(int(change.client_id or 0), []).append(change)
    built = []
    for client_id, name, code in zip(
        drafts.invoices.index.tolist(),
        drafts.invoices["client_name"].tolist(),
        drafts.invoices["currency"].tolist(),
        strict=True,
    ):
        mine = drafts.lines[drafts.lines["client_id"] == client_id].to_dict("records")
        billed = entries[entries["client_id"] == client_id]
        marks = dataclasses.replace(every, changes=by_client[int(client_id)], skipped=())
        per_line = billed.groupby("line").groups
        lines = tuple(
            InvoiceLine(
                str(r["name"]), str(r["description"]), Decimal(r["qty"]),
                Decimal(r["unit_cost"]), Decimal(r["amount"]),
            )
            for r in mine
        )  # fmt: skip
        built.append(
            InvoiceDraft(
                client_name=str(name),
                draft=Draft(int(client_id), day, str(code), lines, due_offset_days, notes),
                line_entries=tuple(tuple(int(i) for i in per_line[r["line"]]) for r in mine),
                line_hours=tuple(float(r["hours"]) for r in mine),
                marks=marks,
            )
        )
    skipped = tuple(
        {
            "id": int(i),
            "reason": str(reason),
            "client_id": None if pd.isna(client) else int(client),
            "hours": None if pd.isna(hours) else round(float(hours), 4),
        }
        for i, reason, client, hours in zip(
            drafts.skipped.index.tolist(),
            drafts.skipped["reason"].astype(str).tolist(),
            drafts.skipped["client_id"].tolist(),
            drafts.skipped["hours"].tolist(),
            strict=True,
        )
    )
    plan = InvoicePlan(
        probe.business_id,
        tuple(built),
        skipped,
        group_by,
        api_url=probe.api_url,
        connection=probe.connection,
    )
    for d in plan.drafts:
        d.draft.payload()  # what a create checks before sending: each line and the currency
    return plan.mark_checked()
