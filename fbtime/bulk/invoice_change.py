"""What an invoice plan is: its drafts, the entries they bill, its file format and hash.

:class:`InvoicePlanData` is the part of an invoice plan that apply, resume and undo need
(read back from a plan file or a journal, checked by :mod:`fbtime.bulk.invoice_checks`);
:class:`fbtime.bulk.invoice_plan.InvoicePlan` adds what a person does with it. The split
keeps the imports one way, as :mod:`fbtime.bulk.change` does for update plans.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd

from fbtime.api.invoices import Draft
from fbtime.bulk import invoice_checks
from fbtime.bulk.change import read_untrusted
from fbtime.bulk.checks import check_created_at, check_text, digest, is_id, loads, shown
from fbtime.bulk.invoice_views import plan_html, plan_text
from fbtime.bulk.plan import UpdatePlan
from fbtime.config import check_base_url
from fbtime.drafts import GROUPINGS
from fbtime.errors import ConfigError, PlanError
from fbtime.files import write_private
from fbtime.money import money_array
from fbtime.text import for_terminal

PLAN_FORMAT = "fbtime-invoice-plan"
PLAN_VERSION = 1
#: The largest invoice plan read back (a plan holds each billed entry's fields, about as
#: much as a mark-billed plan of the same entries, plus its lines).
MAX_PLAN_BYTES = 64 * 2**20
#: A plan bills entries of at most this many clients (a draft each).
MAX_DRAFTS = 10_000
PLAN_KEYS = frozenset(
    {"format", "version", "business_id", "created_at", "api_url", "group_by", "drafts"}
    | {"skipped", "sha256"}
)


@dataclass(frozen=True)
class InvoiceDraft:
    """One client's draft: the invoice to create and the entries it bills.

    Attributes:
        client_name: the client as a person reads it.
        draft: what is POSTed (lines with the amounts FreshBooks must answer).
        line_entries: the entry ids each line bills, in line order.
        line_hours: each line's hours, exact.
        marks: the ``mark_billed`` plan of those entries, applied once the draft is verified.
    """

    client_name: str
    draft: Draft
    line_entries: tuple[tuple[int, ...], ...]
    line_hours: tuple[float, ...]
    marks: UpdatePlan

    @property
    def client_id(self) -> int:
        return self.draft.customer_id

    @property
    def amount(self) -> Decimal:
        return sum((line.amount or Decimal(0) for line in self.draft.lines), Decimal(0))

    @property
    def hours(self) -> float:
        return sum(self.line_hours)

    @property
    def entry_ids(self) -> list[int]:
        return [i for ids in self.line_entries for i in ids]


@dataclass(frozen=True)
class InvoicePlanData:
    """Draft invoices to create, one per client, and the entries each will mark billed.

    What apply, resume and undo need; :class:`~fbtime.bulk.invoice_plan.InvoicePlan` adds
    what a person does with a plan (apply it, review it).

    Attributes:
        business_id: the business of the entries; apply refuses another.
        drafts: one :class:`InvoiceDraft` per client.
        skipped: entries left off (``id``, ``reason``, ``client_id``, ``hours``).
        group_by: how lines group the time (:data:`fbtime.drafts.GROUPINGS`).
        created_at: when the plan was built (UTC ISO); old plans need confirmation.
        api_url: the API the entries came from; apply refuses another.
        connection: the client the frame was loaded with, in this process (not saved).
    """

    business_id: int | None
    drafts: tuple[InvoiceDraft, ...]
    skipped: tuple[dict[str, Any], ...] = ()
    group_by: str = "project"
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    api_url: str | None = None
    connection: str | None = field(default=None, compare=False, repr=False)

    # -- what it would do -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.drafts)

    @property
    def entry_count(self) -> int:
        return sum(len(d.entry_ids) for d in self.drafts)

    @cached_property
    def invoices(self) -> pd.DataFrame:
        """One row per draft (index ``client_id``): ``client_name``, ``currency``,
        ``create_date``, ``lines``, ``entries``, ``hours``, ``amount``."""
        rows = [
            (
                d.client_id,
                d.client_name,
                d.draft.currency,
                d.draft.create_date,
                len(d.draft.lines),
                len(d.entry_ids),
                d.hours,
            )
            for d in self.drafts
        ]
        out = pd.DataFrame(
            rows,
            columns=[
                "client_id",
                "client_name",
                "currency",
                "create_date",
                "lines",
                "entries",
                "hours",
            ],
        )
        out = out.astype(
            {
                "client_id": "Int64",
                "client_name": "str",
                "currency": "str",
                "lines": "Int64",
                "entries": "Int64",
                "hours": "Float64",
            }
        )
        out["amount"] = _money([d.amount for d in self.drafts])
        return out.set_index("client_id")

    @cached_property
    def lines(self) -> pd.DataFrame:
        """One row per line: ``client_id``, ``line``, ``name``, ``description``, ``qty``,
        ``unit_cost``, ``amount`` (what FreshBooks must answer), ``hours``, ``entries``."""
        rows, amounts, costs = [], [], []
        for d in self.drafts:
            for n, (line, ids, hours) in enumerate(
                zip(d.draft.lines, d.line_entries, d.line_hours, strict=True), start=1
            ):
                rows.append(
                    (d.client_id, n, line.name, line.description, str(line.qty), hours, len(ids))
                )
                amounts.append(line.amount)
                costs.append(line.unit_cost)
        out = pd.DataFrame(
            rows, columns=["client_id", "line", "name", "description", "qty", "hours", "entries"]
        )
        out = out.astype(
            {
                "client_id": "Int64",
                "line": "Int64",
                "name": "str",
                "description": "str",
                "qty": "str",
                "hours": "Float64",
                "entries": "Int64",
            }
        )
        out.insert(5, "unit_cost", _money(costs))
        out.insert(6, "amount", _money(amounts))
        return out

    @cached_property
    def entries(self) -> pd.DataFrame:
        """What will be marked billed (index ``id``): ``client_id``, ``line``, and what the
        reviewer recognises the entry by (date, teammate, project, hours, amount, note)."""
        rows = []
        for d in self.drafts:
            line_of = {i: n for n, ids in enumerate(d.line_entries, start=1) for i in ids}
            for change in d.marks.changes:
                c = change.context or {}
                rows.append(
                    (
                        change.id,
                        d.client_id,
                        line_of[change.id],
                        c.get("date"),
                        c.get("teammate"),
                        c.get("project"),
                        change.hours,
                        c.get("amount"),
                        c.get("note"),
                    )
                )
        out = pd.DataFrame(
            rows,
            columns=[
                "id",
                "client_id",
                "line",
                "date",
                "teammate",
                "project",
                "hours",
                "amount",
                "note",
            ],
        )
        out = out.astype(
            {
                "id": "Int64",
                "client_id": "Int64",
                "line": "Int64",
                "date": "str",
                "teammate": "str",
                "project": "str",
                "hours": "Float64",
                "amount": "str",
                "note": "str",
            }
        )
        return out.set_index("id")

    @cached_property
    def skipped_frame(self) -> pd.DataFrame:
        """Entries left off every draft (index ``id``) with their ``reason``."""
        out = pd.DataFrame(list(self.skipped), columns=["id", "reason", "client_id", "hours"])
        out = out.astype({"id": "Int64", "reason": "str", "client_id": "Int64", "hours": "Float64"})
        return out.set_index("id")

    def totals(self) -> dict[str, Any]:
        """Drafts, entries, hours and amount (per currency), and entries skipped."""
        amount: dict[str, Decimal] = {}
        for d in self.drafts:
            amount[d.draft.currency] = amount.get(d.draft.currency, Decimal(0)) + d.amount
        return {
            "drafts": len(self.drafts),
            "entries": self.entry_count,
            "hours": round(sum(d.hours for d in self.drafts), 2),
            "amount": amount,
            "skipped": len(self.skipped),
        }

    def select(self, client_ids: Iterable[int]) -> Self:
        """A copy with only these clients' drafts (the others' entries become skipped)."""
        keep = set(client_ids)
        left = [
            {"id": i, "reason": "left out by the reviewer", "client_id": d.client_id, "hours": None}
            for d in self.drafts
            if d.client_id not in keep
            for i in d.entry_ids
        ]
        plan = dataclasses.replace(
            self,
            drafts=tuple(d for d in self.drafts if d.client_id in keep),
            skipped=(*self.skipped, *left),
        )
        return plan.mark_checked() if getattr(self, "_checked", False) else plan

    def age(self) -> dt.timedelta:
        """How long ago the plan was built."""
        return dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(self.created_at)

    # -- how it reads -----------------------------------------------------------------------
    def __repr__(self) -> str:
        return plan_text(self)

    def _repr_html_(self) -> str:
        return plan_html(self)

    # -- saving -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as saved: every part plus its ``sha256`` integrity hash."""
        body = {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "business_id": self.business_id,
            "created_at": self.created_at,
            "api_url": self.api_url,
            "group_by": self.group_by,
            "drafts": [invoice_checks.draft_dict(d) for d in self.drafts],
            "skipped": [dict(s) for s in self.skipped],
        }
        return {**body, "sha256": digest(body)}

    @cached_property
    def sha256(self) -> str:
        """The integrity hash ``fbtime plan show`` prints and apply checks."""
        return str(self.to_dict()["sha256"])

    def mark_checked(self) -> Self:
        """Record that every part of this plan was checked (by whoever made it)."""
        object.__setattr__(self, "_checked", True)
        return self

    def checked(self) -> Self:
        """The plan checked in every part as :meth:`load` checks a saved one: itself if it
        was checked when it was built or read, else a checked copy (PlanError if not)."""
        if getattr(self, "_checked", False):
            return self
        plan = self.from_dict(self.to_dict(), where="the invoice plan")
        return dataclasses.replace(plan, connection=self.connection).mark_checked()

    def save(self, path: str | Path) -> Path:
        """Write the plan as JSON, atomically and private (0600: it holds account data)."""
        return write_private(
            path, json.dumps(self.checked().to_dict(), indent=1, ensure_ascii=False)
        )

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a saved plan, checking every part and its integrity hash (PlanError if not)."""
        raw = read_untrusted(path, MAX_PLAN_BYTES, "invoice plan")
        try:
            data = loads(raw)
        except (ValueError, RecursionError):
            raise PlanError(
                f"{for_terminal(path)} is not an invoice plan file (not JSON)"
            ) from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "invoice plan") -> Self:
        """Check every part of a saved plan (an untrusted file) and build it.

        Raises:
            PlanError: naming the draft, line and field that is wrong, or a hash mismatch.
        """
        where = for_terminal(where)
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanError(f"{where} is not an fbtime invoice plan (format {PLAN_FORMAT!r})")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(
                f"{where} has version {shown(data.get('version'))}; this fbtime "
                f"reads version {PLAN_VERSION}: rebuild the plan"
            )
        invoice_checks.keys(data, PLAN_KEYS, where)
        business_id = data.get("business_id")
        if business_id is not None and not is_id(business_id):
            raise PlanError(f"{where}: business_id must be a positive integer")
        created_at = check_created_at(data.get("created_at"), where)
        api_url = data.get("api_url")
        if api_url is not None:
            try:
                url = invoice_checks.text(api_url, f"{where}: api_url", limit=2000)
                api_url = check_base_url(check_text(url, where), what="api_url")
            except ConfigError as exc:
                raise PlanError(f"{where}: {for_terminal(exc)}") from None
        group_by = data.get("group_by")
        if group_by not in GROUPINGS:
            raise PlanError(f"{where}: group_by {shown(group_by)} is not one of {GROUPINGS}")
        items = data.get("drafts")
        if not isinstance(items, list) or len(items) > MAX_DRAFTS:
            raise PlanError(f"{where}: drafts must be a list of at most {MAX_DRAFTS}")
        drafts = tuple(
            InvoiceDraft(**invoice_checks.check_draft(item, n, where, business_id))
            for n, item in enumerate(items, start=1)
        )
        invoice_checks.check_disjoint(drafts, where)
        skipped = tuple(
            invoice_checks.check_skipped(s, n, where)
            for n, s in enumerate(invoice_checks.listed(data.get("skipped"), where), 1)
        )
        plan = cls(business_id, drafts, skipped, group_by, created_at, api_url)
        stored = data.get("sha256")
        if not isinstance(stored, str) or plan.sha256 != stored:
            raise PlanError(
                f"{where} does not match its integrity hash: it was edited after it was "
                "saved. Rebuild the plan"
            )
        return plan.mark_checked()


def _money(values: Sequence[Decimal | None]) -> Any:
    cents = [0 if v is None else int(v * 100) for v in values]
    return money_array(np.array(cents, dtype="int64"), np.array([v is not None for v in values]))
