"""Invoice answers, untrusted: the envelope, ids, statuses and Money checked and typed.

:class:`Invoice` and :class:`InvoiceLine` are what :mod:`fbtime.api.invoices` returns.
Money strings (``{"amount": "1500.00", "code": "USD"}``) become
:class:`~decimal.Decimal`, never floats; naive US/Eastern times become UTC; anything else
raises :class:`~fbtime.UnexpectedAnswerError` naming the request and the field. No pandas.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fbtime.errors import QueryError, UnexpectedAnswerError

#: The zone of ``created_at`` and ``updated`` in accounting answers (naive, as captured).
ACCOUNTING_TZ = ZoneInfo("America/New_York")
#: ``vis_state``: 0 active, 1 deleted, 2 archived.
VIS_STATES = {0: "active", 1: "deleted", 2: "archived"}
#: Amounts and quantities at or above this are not sensible (a typo or a hostile answer).
TOO_LARGE = Decimal(10) ** 12
CENT = Decimal("0.01")
#: The most lines an answer may hold (10 times what fbtime sends: someone may add some).
MAX_ANSWER_LINES = 4000


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


def check_currency(value: Any, what: str = "currency", *, server: bool = False) -> str:
    """An ISO 4217 code, upper-cased (the rule of :func:`fbtime.money.check_currency`, which
    this layer cannot import: it loads pandas)."""
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        cls = UnexpectedAnswerError if server else QueryError
        raise cls(f"{what}: {value!r} is not a three-letter currency code like 'CAD'")
    return value.upper()


def dig(body: Any, *keys: str) -> Any:
    for key in keys:
        body = body.get(key) if isinstance(body, dict) else None
    return body


def parse_invoice(body: Any, where: str, *, lines: bool) -> Invoice:
    """The invoice in a ``{"response": {"result": {"invoice": {...}}}}`` answer, checked."""
    invoice = dig(body, "response", "result", "invoice")
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
        if len(raw) > MAX_ANSWER_LINES:
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
    if not number.is_finite() or abs(number) >= TOO_LARGE:
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
