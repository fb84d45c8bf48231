"""Accounting invoices over HTTP: create a draft once, get, search, update, delete.

FreshBooks' invoices live in the accounting family, keyed by the business's string
``account_id`` (from ``users/me``), not the integer business id (facts sheet
``freshbooks-invoices.md``). Nothing links an invoice to time entries and nothing stops a
duplicate, so :meth:`Invoices.create` POSTs exactly once (never retried: a lost answer is
for the caller's journal and :meth:`Invoices.search` to resolve).

Every answer is untrusted, read by :mod:`fbtime.api.invoice_answers` (typed, Decimal
Money, never floats); what is sent is checked first (:class:`~fbtime.QueryError`,
nothing sent). No pandas here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fbtime.api.invoice_answers import (
    CENT,
    TOO_LARGE,
    VIS_STATES,
    Invoice,
    InvoiceLine,
    check_currency,
    dig,
    parse_invoice,
    parse_one,
)
from fbtime.api.query import to_id
from fbtime.api.reference import account_id, accounting_list, list_all
from fbtime.errors import QueryError, UnexpectedAnswerError

if TYPE_CHECKING:
    from fbtime.api.client import Client

#: The most lines fbtime puts on one invoice (the web app's limit for time lines).
MAX_LINES = 400
#: Places of ``qty`` fbtime sends at most.
MAX_QTY_PLACES = 4
#: Longest line name and description fbtime sends (limits are undocumented).
MAX_TEXT = 4000


@dataclass(frozen=True)
class Draft:
    """An invoice to create: a client's lines on a date, in a currency.

    Attributes:
        customer_id: the client (an entry's ``client_id``).
        create_date: the invoice date. currency: the client's currency code.
        lines: in order; each line's ``amount``, when set, is what the server must answer.
        due_offset_days: days from the invoice date to its due date.
        notes: text printed on the invoice (none by default).
    """

    customer_id: int
    create_date: dt.date
    currency: str
    lines: tuple[InvoiceLine, ...]
    due_offset_days: int = 0
    notes: str | None = None

    def payload(self) -> dict[str, Any]:
        """The ``invoice`` object of the create, checked before anything is sent.

        Raises:
            QueryError: naming the bad value.
        """
        customer_id = to_id(self.customer_id, "customer id")
        code = check_currency(self.currency)
        day = _day(self.create_date, "create_date")
        offset = self.due_offset_days
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 3650:
            raise QueryError(
                f"due_offset_days must be a whole number from 0 to 3650, not {offset!r}"
            )
        if not self.lines:
            raise QueryError("an invoice needs at least one line")
        if len(self.lines) > MAX_LINES:
            raise QueryError(
                f"{len(self.lines)} lines on one invoice; at most {MAX_LINES} (group the time "
                "more coarsely)"
            )
        for number, line in enumerate(self.lines, start=1):
            _check_line(line, number)
        body: dict[str, Any] = {
            "customerid": customer_id, "create_date": day.isoformat(), "currency_code": code,
            "due_offset_days": offset, "lines": [line.payload(code) for line in self.lines],
        }  # fmt: skip
        if self.notes:
            if not isinstance(self.notes, str) or len(self.notes) > MAX_TEXT:
                raise QueryError(f"notes must be text of at most {MAX_TEXT} characters")
            body["notes"] = self.notes
        return body

    def differences(self, invoice: Invoice) -> list[str]:
        """What ``invoice`` (as answered, with its lines) has that this draft does not.

        Compared: client, date, currency, the number and order of lines, each line's
        ``qty``, ``unit_cost`` and (where this draft states it) ``amount``, and the total.
        Text is not compared: a server may tidy it, and a draft must be found again even so.
        Empty when the invoice is this draft, to the cent.
        """
        out = []
        for name, mine, theirs in (
            ("client", self.customer_id, invoice.customer_id),
            ("create_date", self.create_date, invoice.create_date),
            ("currency", self.currency.upper(), invoice.currency),
        ):
            if mine != theirs:
                out.append(f"{name} {theirs} instead of {mine}")
        lines = invoice.lines or ()
        if len(lines) != len(self.lines):
            return [*out, f"{len(lines)} lines instead of {len(self.lines)}"]
        for number, (mine_line, theirs_line) in enumerate(zip(self.lines, lines, strict=True), 1):
            for name in ("qty", "unit_cost", "amount"):
                want, got = getattr(mine_line, name), getattr(theirs_line, name)
                if want is not None and want != got:
                    out.append(f"line {number}: {name} {got} instead of {want}")
        stated = [line.amount for line in self.lines if line.amount is not None]
        want = sum(stated, Decimal(0))
        if len(stated) == len(self.lines) and want != invoice.amount:
            out.append(f"total {invoice.amount} instead of {want}")
        return out


class Invoices:
    """The invoices of the client's business (accounting account from ``users/me``).

    Example:
        >>> from decimal import Decimal
        >>> invoices = Invoices(client)
        >>> line = InvoiceLine("Design", "12 entries", qty=Decimal("12.25"),
        ...                    unit_cost=Decimal("150.00"))
        >>> customer = sb.dataset.clients[0]["id"]
        >>> made = invoices.create(Draft(customer, dt.date(2026, 12, 1), "CAD", (line,)))
        >>> made.v3_status, made.amount, made.lines[0].qty
        ('draft', Decimal('1837.50'), Decimal('12.25'))
        >>> invoices.delete(made.id)
        >>> invoices.search(customer_id=customer, date_min=dt.date(2026, 12, 1))
        []
    """

    def __init__(self, client: Client, *, account: str | None = None) -> None:
        self._client = client
        self._account = account

    @property
    def account_id(self) -> str:
        """The accounting account id (read from ``users/me`` once)."""
        if self._account is None:
            self._account = account_id(self._client)
        return self._account

    @property
    def path(self) -> str:
        return f"/accounting/account/{self.account_id}/invoices/invoices"

    def create(self, draft: Draft) -> Invoice:
        """POST one draft invoice, once, and return it with its lines as stored.

        Sends no status (a new invoice is a draft), no ``invoice_number`` (FreshBooks
        numbers it) and no ``uuid``. The POST is never retried: after a timeout or an error
        the invoice may exist, and only a search can tell (see :meth:`search`).

        Raises:
            QueryError: a bad id, date, currency, line or too many lines (nothing sent).
            UnexpectedAnswerError: the answer is not an invoice with its lines.
            APIError, TransportError: the request failed (the draft may still exist).
        """
        body = {"invoice": draft.payload()}
        try:
            answer = self._client.request(
                "POST", self.path, params={"include[]": "lines"}, json_body=body
            )
        finally:
            self._client.invalidate_cache()
        return parse_invoice(answer, f"POST {self.path}", lines=True)

    def get(self, invoice_id: int, *, lines: bool = True) -> Invoice:
        """One invoice, fresh from the server (a deleted one too, with ``vis_state`` 1).

        Raises:
            QueryError: ``invoice_id`` is not an id. NotFoundError: no such invoice.
        """
        invoice_id = to_id(invoice_id, "invoice id")
        path = f"{self.path}/{invoice_id}"
        params = {"include[]": "lines"} if lines else None
        answer = self._client.request("GET", path, params=params)
        found = parse_invoice(answer, f"GET {path}", lines=lines)
        if found.id != invoice_id:
            raise UnexpectedAnswerError(f"GET {path}: the answer is invoice {found.id}")
        return found

    def search(
        self,
        *,
        customer_id: int,
        date_min: dt.date | None = None,
        date_max: dt.date | None = None,
        lines: bool = True,
        vis_state: int | None = None,
    ) -> list[Invoice]:
        """A client's invoices, optionally by ``create_date`` range, fresh from the server.

        Every row is checked again here (the server may ignore a filter): only the
        client's invoices in the range come back, deleted ones only if ``vis_state=1``.
        """
        customer_id = to_id(customer_id, "customer id")
        params = {"search[customerid]": str(customer_id)}
        if date_min is not None:
            params["search[date_min]"] = _day(date_min, "date_min").isoformat()
        if date_max is not None:
            params["search[date_max]"] = _day(date_max, "date_max").isoformat()
        if vis_state is not None:
            if vis_state not in VIS_STATES:
                raise QueryError(
                    f"vis_state must be one of {sorted(VIS_STATES)}, not {vis_state!r}"
                )
            params["search[vis_state]"] = str(vis_state)
        if lines:
            params["include[]"] = "lines"
        rows = list_all(self._client, self.path, accounting_list("invoices"), refresh=True,
                        params=params, per_page=100)  # fmt: skip
        where = f"GET {self.path}"
        found = [parse_one(row, where, lines=lines) for row in rows]
        return [
            i for i in found
            if i.customer_id == customer_id
            and (date_min is None or i.create_date >= date_min)
            and (date_max is None or i.create_date <= date_max)
            and (i.vis_state != 1 if vis_state is None else i.vis_state == vis_state)
        ]  # fmt: skip

    def update(self, invoice_id: int, fields: Mapping[str, Any]) -> Invoice:
        """Change data fields (``notes``, ``terms``, ``lines``...) of an invoice; PUT is partial.

        ``lines`` given replace every line (send each ``lineid`` to keep). ``vis_state`` and
        the ``action_*`` keys are refused here: FreshBooks applies only the first phase of a
        PUT and silently drops the rest (use :meth:`delete`).

        Raises:
            QueryError: a phase key among the fields (nothing sent).
        """
        invoice_id = to_id(invoice_id, "invoice id")
        phases = [
            k for k in fields if k in ("vis_state", "ext_vis_state") or k.startswith("action_")
        ]
        if phases:
            raise QueryError(
                f"{', '.join(phases)} cannot be sent with data: FreshBooks would drop the rest"
            )
        path = f"{self.path}/{invoice_id}"
        try:
            answer = self._client.request(
                "PUT", path, params={"include[]": "lines"}, json_body={"invoice": dict(fields)}
            )
        finally:
            self._client.invalidate_cache()
        return parse_invoice(answer, f"PUT {path}", lines=True)

    def delete(self, invoice_id: int) -> None:
        """ "Delete" an invoice as FreshBooks does: PUT ``vis_state`` 1 (it can be restored).

        Raises:
            UnexpectedAnswerError: the answer says the invoice is not deleted.
        """
        invoice_id = to_id(invoice_id, "invoice id")
        path = f"{self.path}/{invoice_id}"
        try:
            answer = self._client.request("PUT", path, json_body={"invoice": {"vis_state": 1}})
        finally:
            self._client.invalidate_cache()
        # a capture answers a bare {"invoice": {"id", "vis_state"}}; others the full envelope
        invoice = dig(answer, "response", "result", "invoice") or dig(answer, "invoice")
        state = invoice.get("vis_state") if isinstance(invoice, dict) else None
        if state is not None and state != 1:
            raise UnexpectedAnswerError(f"PUT {path}: the invoice's vis_state is {state!r}, not 1")


def _check_line(line: InvoiceLine, number: int) -> None:
    where = f"line {number}"
    for name in ("name", "description"):
        value = getattr(line, name)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise QueryError(f"{where}: {name} must be text of at most {MAX_TEXT} characters")
    qty = line.qty
    if not isinstance(qty, Decimal) or not qty.is_finite() or not 0 <= qty < TOO_LARGE:
        raise QueryError(f"{where}: qty {qty!r} is not a quantity (a Decimal, 0 or more)")
    if qty != round(qty, MAX_QTY_PLACES):
        raise QueryError(f"{where}: qty {qty} has more than {MAX_QTY_PLACES} decimal places")
    cost = line.unit_cost
    if not isinstance(cost, Decimal) or not cost.is_finite() or not 0 <= cost < TOO_LARGE:
        raise QueryError(f"{where}: unit_cost {cost!r} is not an amount (a Decimal, 0 or more)")
    if cost != cost.quantize(CENT):
        raise QueryError(f"{where}: unit_cost {cost} has fractions of a cent")


def _day(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise QueryError(f"{name} must be a date, got {value!r}")
    return value
