"""Accounting invoices over HTTP: create a draft once, get, search, update, delete.

FreshBooks' invoices live in the accounting family, keyed by the business's string
``account_id`` (from ``users/me``), not the integer business id (facts sheet
``freshbooks-invoices.md``). Nothing links an invoice to time entries and nothing stops a
duplicate, so :meth:`Invoices.create` POSTs exactly once (never retried: a lost answer is
for the caller's journal and :meth:`Invoices.search` to resolve).

Every answer is untrusted: the envelope, ids, statuses and Money are checked and typed
(:class:`Invoice`, :class:`InvoiceLine`); Money strings (``{"amount": "1500.00",
"code": "USD"}``) become :class:`~decimal.Decimal`, never floats; anything else raises
:class:`~fbtime.UnexpectedAnswerError` naming the request and the field. What is sent is
checked first (:class:`~fbtime.QueryError`, nothing sent). No pandas here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fbtime.api.query import to_id
from fbtime.api.reference import account_id, accounting_list, list_all
from fbtime.errors import QueryError, UnexpectedAnswerError

if TYPE_CHECKING:
    from fbtime.api.client import Client

#: The zone of ``created_at`` and ``updated`` in accounting answers (naive, as captured).
ACCOUNTING_TZ = ZoneInfo("America/New_York")
#: The most lines fbtime puts on one invoice (the web app's limit for time lines).
MAX_LINES = 400
#: Places of ``qty`` fbtime sends at most.
MAX_QTY_PLACES = 4
#: Longest line name and description fbtime sends (limits are undocumented).
MAX_TEXT = 4000
#: ``vis_state``: 0 active, 1 deleted, 2 archived.
VIS_STATES = {0: "active", 1: "deleted", 2: "archived"}
_BIG = Decimal(10) ** 12
CENT = Decimal("0.01")


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice: ``qty`` x ``unit_cost``; ``amount`` is the server's.

    Attributes:
        name, description: the line's text.
        qty: the quantity (hours for time), exact.
        unit_cost: the price of one unit (the hourly rate), exact, in the invoice's currency.
        amount: what the server computed (None in a line that was not sent back).
        lineid: the server's id of the line (None before it is created).
    """

    name: str
    description: str
    qty: Decimal
    unit_cost: Decimal
    amount: Decimal | None = None
    lineid: int | None = None

    def payload(self, currency: str) -> dict[str, Any]:
        """The line as a create body sends it: ``qty`` a decimal string (as the Java SDK
        sends it), ``unit_cost`` a two-place Money string."""
        return {
            "type": 0, "name": self.name, "description": self.description,
            "qty": format(self.qty, "f"),
            "unit_cost": {"amount": str(self.unit_cost.quantize(CENT)), "code": currency},
        }  # fmt: skip


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


@dataclass(frozen=True)
class Invoice:
    """An invoice as the API answered it, checked and typed.

    Attributes:
        id: the invoice id. invoice_number: FreshBooks' number ("0000008").
        customer_id: the client (``customerid``, the same number as an entry's ``client_id``).
        create_date: the invoice date. currency: its currency code.
        amount, paid, outstanding: Money, exact.
        status, v3_status, payment_status: FreshBooks' states (1 / "draft" when new).
        vis_state: 0 active, 1 deleted, 2 archived.
        created_at, updated: when (UTC; the API writes naive US/Eastern times).
        version: the server's change stamp (microseconds): any edit changes it.
        lines: the lines, in order, when they were asked for (else None).
    """

    id: int
    invoice_number: str
    customer_id: int
    create_date: dt.date
    currency: str
    amount: Decimal
    paid: Decimal
    outstanding: Decimal
    status: int
    v3_status: str
    payment_status: str
    vis_state: int
    created_at: dt.datetime | None
    updated: dt.datetime | None
    version: str | None = None
    lines: tuple[InvoiceLine, ...] | None = None
    notes: str = field(default="", repr=False)

    @property
    def is_untouched_draft(self) -> bool:
        """A draft nobody sent, paid or deleted (status 1, nothing paid, active)."""
        return self.status == 1 and self.v3_status == "draft" and self.paid == 0 and (
            self.vis_state != 1
        )  # fmt: skip


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
        answer = self._client.get(path, params, refresh=True)
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
        invoice = _dig(answer, "response", "result", "invoice") or _dig(answer, "invoice")
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
    if not isinstance(qty, Decimal) or not qty.is_finite() or not 0 <= qty < _BIG:
        raise QueryError(f"{where}: qty {qty!r} is not a quantity (a Decimal, 0 or more)")
    if qty != round(qty, MAX_QTY_PLACES):
        raise QueryError(f"{where}: qty {qty} has more than {MAX_QTY_PLACES} decimal places")
    cost = line.unit_cost
    if not isinstance(cost, Decimal) or not cost.is_finite() or not 0 <= cost < _BIG:
        raise QueryError(f"{where}: unit_cost {cost!r} is not an amount (a Decimal, 0 or more)")
    if cost != cost.quantize(CENT):
        raise QueryError(f"{where}: unit_cost {cost} has fractions of a cent")


def check_currency(value: Any, what: str = "currency", *, server: bool = False) -> str:
    """An ISO 4217 code, upper-cased (the rule of :func:`fbtime.money.check_currency`, which
    this layer cannot import: it loads pandas)."""
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        cls = UnexpectedAnswerError if server else QueryError
        raise cls(f"{what}: {value!r} is not a three-letter currency code like 'CAD'")
    return value.upper()


def _day(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise QueryError(f"{name} must be a date, got {value!r}")
    return value


# -- answers --------------------------------------------------------------------------------
def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def parse_invoice(body: Any, where: str, *, lines: bool) -> Invoice:
    """The invoice in a ``{"response": {"result": {"invoice": {...}}}}`` answer, checked."""
    invoice = _dig(body, "response", "result", "invoice")
    if not isinstance(invoice, dict):
        raise UnexpectedAnswerError(f"{where}: the answer has no response.result.invoice")
    return parse_one(invoice, where, lines=lines)


def parse_one(row: dict[str, Any], where: str, *, lines: bool) -> Invoice:
    """One invoice object (from an answer or a list), checked and typed.

    Raises:
        UnexpectedAnswerError: a missing or mistyped field, naming it.
    """
    invoice_id = _int(row, "id", where)
    where = f"{where}: invoice {invoice_id}"
    code = check_currency(row.get("currency_code"), f"{where}: currency_code", server=True)
    number = row.get("invoice_number")
    if not isinstance(number, str):
        raise UnexpectedAnswerError(f"{where}: invoice_number is {number!r}, not text")
    day = row.get("create_date")
    try:
        created = dt.date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        created = None
    if created is None:
        raise UnexpectedAnswerError(f"{where}: create_date is {day!r}, not a YYYY-MM-DD date")
    vis = row.get("vis_state")
    if vis not in VIS_STATES or isinstance(vis, bool):
        raise UnexpectedAnswerError(f"{where}: vis_state is {vis!r}, not 0, 1 or 2")
    texts = {}
    for name in ("v3_status", "payment_status"):
        value = row.get(name)
        if not isinstance(value, str):
            raise UnexpectedAnswerError(f"{where}: {name} is {value!r}, not text")
        texts[name] = value
    notes = row.get("notes")
    version = row.get("version")
    if version is not None and not isinstance(version, str):
        raise UnexpectedAnswerError(f"{where}: version is {version!r}, not text")
    parsed_lines = None
    if lines:
        raw = row.get("lines")
        if not isinstance(raw, list):
            raise UnexpectedAnswerError(f"{where}: no lines in the answer (include[]=lines)")
        if len(raw) > 10 * MAX_LINES:
            raise UnexpectedAnswerError(f"{where}: {len(raw)} lines, more than any fbtime sends")
        parsed_lines = tuple(_line(item, f"{where}, line {n}", code)
                             for n, item in enumerate(raw, start=1))  # fmt: skip
    return Invoice(
        id=invoice_id, invoice_number=number, customer_id=_int(row, "customerid", where),
        create_date=created, currency=code,
        amount=money(row.get("amount"), code, f"{where}: amount"),
        paid=money(row.get("paid"), code, f"{where}: paid"),
        outstanding=money(row.get("outstanding"), code, f"{where}: outstanding"),
        status=_int(row, "status", where, positive=False), vis_state=int(vis),
        created_at=eastern(row.get("created_at"), f"{where}: created_at"),
        updated=eastern(row.get("updated"), f"{where}: updated"), version=version,
        lines=parsed_lines, notes=notes if isinstance(notes, str) else "", **texts,
    )  # fmt: skip


def _line(item: Any, where: str, code: str) -> InvoiceLine:
    if not isinstance(item, dict):
        raise UnexpectedAnswerError(f"{where} is {type(item).__name__}, not an object")
    texts = {}
    for name in ("name", "description"):
        value = item.get(name)
        if value is not None and not isinstance(value, str):
            raise UnexpectedAnswerError(f"{where}: {name} is {value!r}, not text")
        texts[name] = value or ""
    lineid = item.get("lineid")
    if lineid is not None and (isinstance(lineid, bool) or not isinstance(lineid, int)):
        raise UnexpectedAnswerError(f"{where}: lineid is {lineid!r}, not a number")
    return InvoiceLine(
        qty=decimal(item.get("qty"), f"{where}: qty", numbers=True),
        unit_cost=money(item.get("unit_cost"), code, f"{where}: unit_cost"),
        amount=money(item.get("amount"), code, f"{where}: amount"), lineid=lineid, **texts,
    )  # fmt: skip


def decimal(value: Any, what: str, *, numbers: bool = False) -> Decimal:
    """A decimal string (or, with ``numbers``, a JSON number) as an exact, finite Decimal.

    A JSON float is read by its shortest repr (``1.5`` -> ``Decimal("1.5")``), never by its
    binary value.

    Raises:
        UnexpectedAnswerError: anything else, naming ``what``.
    """
    allowed = (str, int, float) if numbers else (str, int)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise UnexpectedAnswerError(f"{what} is {value!r}, not a decimal string")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise UnexpectedAnswerError(f"{what} is {value!r}, not a decimal string") from None
    if not number.is_finite() or abs(number) >= _BIG:
        raise UnexpectedAnswerError(f"{what} is {value!r}, not a sensible amount")
    return number


def money(value: Any, code: str, what: str) -> Decimal:
    """A Money object ``{"amount": "12.50", "code": "CAD"}`` in ``code``, as a Decimal.

    Raises:
        UnexpectedAnswerError: not a Money object, an amount that is not a decimal string,
            or another currency than the invoice's.
    """
    if not isinstance(value, dict):
        raise UnexpectedAnswerError(f"{what} is {value!r}, not a Money object")
    other = value.get("code")
    if other is not None and (not isinstance(other, str) or other.upper() != code):
        raise UnexpectedAnswerError(f"{what} is in {other!r}, not the invoice's {code}")
    return decimal(value.get("amount"), f"{what}.amount")


def eastern(value: Any, what: str) -> dt.datetime | None:
    """A naive US/Eastern ``YYYY-MM-DD HH:MM:SS`` (as accounting answers write times) in UTC.

    An hour that happens twice (the autumn change) is read as its later instant, so a
    time compared against "sent after" is never taken for earlier than it may be.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnexpectedAnswerError(f"{what} is {value!r}, not a date and time")
    try:
        naive = dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise UnexpectedAnswerError(f"{what} is {value!r}, not 'YYYY-MM-DD HH:MM:SS'") from None
    return naive.replace(tzinfo=ACCOUNTING_TZ, fold=1).astimezone(dt.UTC)


def _int(row: dict[str, Any], name: str, where: str, *, positive: bool = True) -> int:
    value = row.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
        raise UnexpectedAnswerError(f"{where}: {name} is {value!r}, not a number")
    if positive and value <= 0:
        raise UnexpectedAnswerError(f"{where}: {name} is {value!r}, not an id")
    return value
