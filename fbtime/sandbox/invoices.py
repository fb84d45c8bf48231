"""The sandbox's accounting invoices: create, get, list, update and "delete" (``vis_state``).

Shapes and rules are the facts sheet's (``freshbooks-invoices.md``, §1-§3 and the sandbox
rows of §7):

* ``POST /accounting/account/{aid}/invoices/invoices[?include[]=lines]`` with
  ``{"invoice": {customerid, create_date, currency_code, lines, ...}}`` creates a **draft**
  (``status`` 1, ``v3_status``/``display_status`` "draft"); status fields sent are ignored.
  The answer is ``{"response": {"result": {"invoice": {...}}}}``, with ``lines`` only
  when ``include[]=lines`` is asked.
* ``GET .../invoices/{id}``: one invoice, deleted ones too (``vis_state`` 1).
* ``GET .../invoices``: the paging sits beside the list (``invoices``, ``page``,
  ``pages``, ``per_page``, ``total`` under ``response.result``); ``per_page`` 15 by
  default, at most 100; id descending; deleted invoices hidden unless
  ``search[vis_state]=1``. Filters: ``search[customerid]``, ``search[customerids][]``,
  ``search[date_min]``/``[date_max]`` (``create_date``), ``search[updated_min]``/
  ``[updated_max]`` (day granularity, on the US/Eastern ``updated``),
  ``search[invoice_number]``, ``search[v3_status]``, ``search[vis_state]``; unknown keys
  are ignored.
* ``PUT .../invoices/{id}`` applies the first phase present and drops the rest silently:
  ``vis_state`` (0 active, 1 deleted, 2 archived), else ``action_mark_as_sent`` /
  ``action_email`` (status 2, "sent", ``fulfillment_date``), else a partial data update;
  ``lines`` given replace every line (a sent ``lineid`` is kept).
* Money is ``{"amount": "1500.00", "code": "USD"}`` with string amounts; a line's
  ``amount`` is ``qty x unit_cost`` rounded half-up to the cent, the invoice's the sum of
  its lines (no taxes or discounts here); ``qty`` is echoed as a plain decimal string.
* ``invoice_number`` continues from the last one, 7 digits ("0000008"), never reused;
  ``created_at``/``updated`` are naive America/New_York times, as live.

Documented choices where the sources are silent: an error answers the accounting shape
``{"response": {"errors": [{"errno", "field", "message", "object", "value"}]}}`` (422 for a
bad field, 404 for an unknown invoice); a deleted client, an unknown one, a line whose
``unit_cost`` is in another currency than the invoice, or a line of type 1 (no expenses
here) is refused with 422.

Faults (:class:`InvoiceFaults`, ``Sandbox.invoice_faults``) play what a live account might
do: store ``qty`` truncated to a whole number or rounded to 2 places, lose the answer of a
create that was committed (the client's read times out), or answer 409 to a create
without creating (concurrent numbering, DOC-INV).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any, NoReturn
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fbtime.sandbox.data import Dataset
from fbtime.sandbox.faults import ENVIRON_KEY as FAULT_KEY
from fbtime.sandbox.validate import FieldError, parse_int

#: Routes served here, by name: (path pattern, stats name).
PATTERNS = (
    (r"^/accounting/account/([^/]+)/invoices/invoices/?$", "invoices"),
    (r"^/accounting/account/([^/]+)/invoices/invoices/([^/]+)/?$", "invoice"),
)
METHODS = {"invoices": ("GET", "POST"), "invoice": ("GET", "PUT")}
FIRST_INVOICE_ID = 454_001
EASTERN = ZoneInfo("America/New_York")
NAIVE = "%Y-%m-%d %H:%M:%S"
CENT = Decimal("0.01")
DEFAULT_PER_PAGE, MAX_PER_PAGE = 15, 100
QTY_MODES = ("exact", "truncate", "round2")
#: A line kept in answers is these keys (JAVASDK fixture), in this order.
_LINE_EXTRAS = {
    "taxName1": "", "taxAmount1": "0", "taxName2": "", "taxAmount2": "0", "expenseid": 0,
    "compounded_tax": False, "retainer_id": None, "retainer_period_id": None,
    "modern_project_id": None, "modern_time_entries": [], "basecampid": 0, "date": None,
}  # fmt: skip
_WRITABLE_TEXT = (
    "notes", "terms", "po_number", "language", "address", "street", "street2", "city",
    "province", "code", "country", "fname", "lname", "organization",
)  # fmt: skip
NOT_FOUND_TEXT = {"error": "Requested resource could not be found."}

Response = tuple[int, Any]


@dataclass
class InvoiceFaults:
    """What the sandbox does wrong on purpose with invoices.

    Attributes:
        qty: ``"exact"`` (store what was sent), ``"truncate"`` (to a whole number, toward
            zero) or ``"round2"`` (half-up to 2 places).
        lost_answers: the next this many creates are committed, then their answer is lost
            (the connection closes with no answer, as a read timeout would look).
        conflicts: the next this many creates answer 409 and create nothing.
        hold: when set, each create, once committed, waits (up to a minute) until this event
            is set before answering; ``holding`` is set meanwhile. A test kills or
            interrupts its client there: the draft exists, the client has not heard.
    """

    qty: str = "exact"
    lost_answers: int = 0
    conflicts: int = 0
    hold: threading.Event | None = None
    holding: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.qty not in QTY_MODES:
            raise ValueError(f"qty must be one of {QTY_MODES}, not {self.qty!r}")


def money(amount: Decimal, code: str) -> dict[str, str]:
    """Money as the accounting API writes it: a 2-place string and a currency code."""
    return {"amount": str(amount.quantize(CENT, ROUND_HALF_UP)), "code": code}


def plain(number: Decimal) -> str:
    """A decimal as a plain normalized string: ``12.2500`` -> ``12.25``, ``10`` -> ``10``."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


class Refused(FieldError):
    """A request the accounting API refuses; ``item`` is its error in the answer's shape."""

    def __init__(
        self, status: int, field: str, message: str, value: Any = None, errno: int = 1004
    ) -> None:
        super().__init__({field: message}, status=status)
        self.item = {"errno": errno, "field": field, "message": message, "object": "invoice",
                     "value": None if value is None else str(value)}  # fmt: skip


def _refuse(
    status: int, field: str, message: str, value: Any = None, errno: int = 1004
) -> NoReturn:
    raise Refused(status, field, message, value, errno)


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        _refuse(422, field, f"Invalid value for field '{field}'.", value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        _refuse(422, field, f"Invalid value '{value}' for field '{field}'.", value)
    if not number.is_finite() or abs(number) >= Decimal(10) ** 12:
        _refuse(422, field, f"Invalid value '{value}' for field '{field}'.", value)
    return number


class Invoices:
    """The invoices of one business's accounting account, kept in memory (thread-safe)."""

    def __init__(self, dataset: Dataset, now: Callable[[], datetime] | None = None) -> None:
        self.account_id: str = dataset.business["account_id"]
        self.clients = {c["id"]: c for c in dataset.clients}
        self.now = now or (lambda: datetime.now(UTC))
        self.faults = InvoiceFaults()
        self.lock = threading.RLock()  # a create holds it across faults and store
        self._rows: dict[int, dict[str, Any]] = {}
        self._next_id = FIRST_INVOICE_ID
        self._last_number = 0

    # -- the HTTP side ---------------------------------------------------------------------
    def answer(self, method: str, route: str, groups: tuple[str, ...], environ: dict) -> Response:
        """``(status, body)`` for a request to an invoice route (auth already checked)."""
        if groups[0] != self.account_id:
            return 404, NOT_FOUND_TEXT
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        lines = "lines" in query.get("include[]", [])
        try:
            if route == "invoices" and method == "GET":
                return 200, self._list(query, lines)
            if route == "invoices":
                return self._create(_body(environ), lines, environ)
            invoice_id = int(groups[1]) if groups[1].isdigit() else -1
            if invoice_id not in self._rows:
                _refuse(404, "invoiceid", "Invoice not found.", groups[1], errno=1012)
            if method == "GET":
                return 200, _envelope(self.get(invoice_id, lines=lines))
            return 200, _envelope(self.update(invoice_id, _body(environ), lines=lines))
        except Refused as exc:
            return exc.status, {"response": {"errors": [exc.item]}}

    def _create(self, body: dict[str, Any], lines: bool, environ: dict) -> Response:
        with self.lock:
            if self.faults.conflicts > 0:
                self.faults.conflicts -= 1
                return 409, {"response": {"errors": [{
                    "errno": 1002, "field": "invoice_number", "object": "invoice",
                    "message": "Another invoice was created at the same time; try again.",
                    "value": None}]}}  # fmt: skip
            created = self.create(body)
            if self.faults.lost_answers > 0:
                self.faults.lost_answers -= 1
                environ[FAULT_KEY] = "drop"  # committed; the client never hears of it
        hold = self.faults.hold
        if hold is not None:  # outside the lock: other requests go on meanwhile
            self.faults.holding.set()
            hold.wait(60)
        if not lines:
            created.pop("lines")
        return 200, _envelope(created)

    def _list(self, query: dict[str, list[str]], lines: bool) -> dict[str, Any]:
        page = _paging(query, "page", 1)
        per_page = min(MAX_PER_PAGE, _paging(query, "per_page", DEFAULT_PER_PAGE))
        keep = _filters(query)
        with self.lock:
            rows = [r for r in sorted(self._rows.values(), key=lambda r: -r["id"]) if keep(r)]
            chunk = [self._shown(r, lines) for r in rows[(page - 1) * per_page : page * per_page]]
        total = len(rows)
        pages = -(-total // per_page)
        result = {"invoices": chunk, "page": page, "pages": pages, "per_page": per_page,
                  "total": total}  # fmt: skip
        return {"response": {"result": result}}

    # -- the store (tests call these directly, like the web app) ----------------------------
    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new draft; returns it with its lines (raises Refused)."""
        with self.lock:
            return self._store(body)

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        customer = body.get("customerid")
        try:
            client_id = parse_int(customer)
        except ValueError:
            _refuse(422, "customerid", "Required field 'customerid' is missing or invalid.",
                    customer)  # fmt: skip
        client = self.clients.get(client_id)
        if client is None or client.get("vis_state") == 1:
            _refuse(422, "customerid", f"Invalid value '{customer}' for field 'customerid'.",
                    customer)  # fmt: skip
        created = _date(body.get("create_date"), "create_date")
        code = body.get("currency_code", client.get("currency_code"))
        if not isinstance(code, str) or len(code) != 3 or not code.isalpha():
            _refuse(422, "currency_code", f"Invalid value '{code}' for field 'currency_code'.",
                    code)  # fmt: skip
        offset = body.get("due_offset_days", 0)
        try:
            offset = parse_int(offset)
        except ValueError:
            _refuse(422, "due_offset_days", "Invalid value for field 'due_offset_days'.", offset)
        stamp = self._stamp()
        with_lines = self._lines(body.get("lines") or [], code.upper(), stamp)
        number = body.get("invoice_number")
        self._last_number += 1
        if not isinstance(number, str) or not number.strip():
            number = f"{self._last_number:07d}"
        invoice_id = self._next_id
        self._next_id += 1
        for line in with_lines:
            line["invoiceid"] = invoice_id
        row: dict[str, Any] = {
            "id": invoice_id, "invoiceid": invoice_id, "accountid": self.account_id,
            "accounting_systemid": self.account_id, "invoice_number": number,
            "customerid": client_id, "create_date": created.isoformat(),
            "due_offset_days": offset, "currency_code": code.upper(),
            "status": 1, "v3_status": "draft", "display_status": "draft",
            "payment_status": "unpaid", "date_paid": None, "fulfillment_date": None,
            "notes": "", "terms": None, "po_number": None, "language": "en",
            "fname": client.get("fname"), "lname": client.get("lname"),
            "organization": client.get("organization"), "current_organization":
            client.get("organization"), "lock_status": "unlocked", "deposit_status": "none",
            "template": "clean-grouped", "parent": 0, "estimateid": 0, "sentid": 1,
            "ownerid": 1, "uuid": str(uuid.uuid4()), "vis_state": 0,
            "_paid": Decimal(0), "lines": with_lines,
        }  # fmt: skip
        for name in _WRITABLE_TEXT:
            if isinstance(body.get(name), str):
                row[name] = body[name]
        self._touch(row, stamp, created=True)
        self._rows[invoice_id] = row
        return self._shown(row, True)

    def get(self, invoice_id: int, *, lines: bool = True) -> dict[str, Any]:
        """One stored invoice as the API shows it (KeyError if unknown)."""
        with self.lock:
            return self._shown(self._rows[invoice_id], lines)

    def update(self, invoice_id: int, body: dict[str, Any], *, lines: bool = True) -> dict:
        """Apply a PUT body's first phase (see the module docstring); returns the invoice."""
        with self.lock:
            row = self._rows[invoice_id]
            stamp = self._stamp()
            if "vis_state" in body:
                state = body["vis_state"]
                if isinstance(state, bool) or state not in (0, 1, 2, "0", "1", "2"):
                    _refuse(422, "vis_state", f"Invalid value '{state}' for field 'vis_state'.",
                            state)  # fmt: skip
                row["vis_state"] = int(state)
            elif body.get("action_mark_as_sent") or body.get("action_email"):
                self._sent(row, stamp)
            else:
                for name in (*_WRITABLE_TEXT, "create_date", "due_offset_days"):
                    if name in body:
                        value = body[name]
                        if name == "create_date":
                            value = _date(value, name).isoformat()
                        elif name == "due_offset_days":
                            value = parse_int(value)
                        row[name] = value
                if "lines" in body:
                    row["lines"] = self._lines(body["lines"] or [], row["currency_code"], stamp,
                                               old=row["lines"])  # fmt: skip
                    for line in row["lines"]:
                        line["invoiceid"] = invoice_id
            self._touch(row, stamp)
            return self._shown(row, lines)

    def mark_sent(self, invoice_id: int) -> dict[str, Any]:
        """Mark an invoice sent, as a person would in the web app."""
        with self.lock:
            row = self._rows[invoice_id]
            stamp = self._stamp()
            self._sent(row, stamp)
            self._touch(row, stamp)
            return self._shown(row, True)

    def pay(self, invoice_id: int, amount: Decimal | str | None = None) -> dict[str, Any]:
        """Record a payment (the whole outstanding amount by default), as in the web app."""
        with self.lock:
            row = self._rows[invoice_id]
            total = _total(row)
            paid = row["_paid"] + (total - row["_paid"] if amount is None else Decimal(amount))
            row["_paid"] = paid
            stamp = self._stamp()
            row["status"] = 4 if paid >= total else 2
            state = "paid" if paid >= total else "partial"
            row["v3_status"] = row["payment_status"] = state
            row["display_status"] = "sent"
            row["date_paid"] = stamp.astimezone(EASTERN).date().isoformat()
            self._touch(row, stamp)
            return self._shown(row, True)

    def all(self) -> list[dict[str, Any]]:
        """Every stored invoice (deleted ones too) with its lines, by id."""
        with self.lock:
            return [self._shown(self._rows[i], True) for i in sorted(self._rows)]

    # -- helpers ---------------------------------------------------------------------------
    def _stamp(self) -> datetime:
        stamp = self.now()
        return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)

    def _sent(self, row: dict[str, Any], stamp: datetime) -> None:
        if row["status"] == 1:
            row["status"], row["v3_status"], row["display_status"] = 2, "sent", "sent"
        row["fulfillment_date"] = row["fulfillment_date"] or stamp.astimezone(EASTERN).date(
        ).isoformat()  # fmt: skip

    @staticmethod
    def _touch(row: dict[str, Any], stamp: datetime, *, created: bool = False) -> None:
        local = stamp.astimezone(EASTERN).replace(tzinfo=None)
        row["updated"] = local.strftime(NAIVE)
        row["version"] = local.strftime(NAIVE + ".%f")
        if created:
            row["created_at"] = row["updated"]

    def _lines(
        self, raw: Any, code: str, stamp: datetime, old: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            _refuse(422, "lines", "Invalid value for field 'lines'.", raw)
        used = {line["lineid"] for line in old or []}
        kept: set[int] = set()
        out = []
        updated = stamp.astimezone(EASTERN).replace(tzinfo=None).strftime(NAIVE)
        for index, line in enumerate(raw):
            if not isinstance(line, dict):
                _refuse(422, "lines", f"Invalid line {index + 1}.", line)
            kind = line.get("type", 0)
            if kind not in (0, "0"):
                _refuse(422, "expenseid", "Invalid value '0' for field 'expenseid'.", 0)
            qty = self._qty(_decimal(line.get("qty", 1), "qty"))
            cost = line.get("unit_cost") or {}
            if not isinstance(cost, dict):
                _refuse(422, "unit_cost", "Invalid value for field 'unit_cost'.", cost)
            unit = _decimal(cost.get("amount", "0"), "unit_cost")
            if cost.get("code", code) != code:
                _refuse(422, "unit_cost", f"unit_cost code {cost.get('code')!r} is not the "
                        f"invoice's currency {code}.", cost.get("code"))  # fmt: skip
            lineid = line.get("lineid")
            if not (isinstance(lineid, int) and lineid in used and lineid not in kept):
                lineid = max(used | kept | {0}) + 1
            kept.add(lineid)
            amount = (qty * unit).quantize(CENT, ROUND_HALF_UP)
            out.append({
                "lineid": lineid, "invoiceid": None, "type": 0,
                "name": str(line.get("name") or ""), "description": str(
                    line.get("description") or ""), "qty": plain(qty),
                "unit_cost": money(unit, code), "amount": money(amount, code),
                "taskno": index + 1, "updated": updated, **_LINE_EXTRAS,
                "modern_time_entries": [],
            })  # fmt: skip
        return out

    def _qty(self, qty: Decimal) -> Decimal:
        mode = self.faults.qty
        if mode == "truncate":
            return qty.to_integral_value(ROUND_DOWN)
        if mode == "round2":
            return qty.quantize(CENT, ROUND_HALF_UP)
        return qty

    @staticmethod
    def _shown(row: dict[str, Any], lines: bool) -> dict[str, Any]:
        code = row["currency_code"]
        total = _total(row)
        out = {k: v for k, v in row.items() if not k.startswith("_") and k != "lines"}
        due = date.fromisoformat(row["create_date"]).toordinal() + int(row["due_offset_days"])
        out.update(
            amount=money(total, code), outstanding=money(max(total - row["_paid"], Decimal(0)),
                                                         code),
            paid=money(row["_paid"], code), net_paid_amount=money(row["_paid"], code),
            discount_total=money(Decimal(0), code), due_date=date.fromordinal(due).isoformat(),
            description=row["lines"][0]["description"] if row["lines"] else "",
        )  # fmt: skip
        if lines:
            out["lines"] = [{**line, "modern_time_entries": []} for line in row["lines"]]
        return out


def _total(row: dict[str, Any]) -> Decimal:
    return sum((Decimal(line["amount"]["amount"]) for line in row["lines"]), Decimal(0))


def _envelope(invoice: dict[str, Any]) -> dict[str, Any]:
    return {"response": {"result": {"invoice": invoice}}}


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    import json

    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        _refuse(400, "invoice", "The request body is not JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("invoice"), dict):
        _refuse(422, "invoice", "Required field 'invoice' is missing.")
    return body["invoice"]


def _date(value: Any, field: str) -> date:
    """A ``YYYY-MM-DD`` date, or a 422 naming ``field``."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    _refuse(422, field, f"Invalid value '{value}' for field '{field}'.", value)


def _paging(query: dict[str, list[str]], name: str, default: int) -> int:
    if name not in query:
        return default
    try:
        number = parse_int(query[name][-1])
    except ValueError:
        number = -1
    if number < (0 if name == "page" else 1):
        _refuse(400, name, f"{name} must be a number", query[name][-1])
    return max(1, number)


def _on_or_after(column: str, day: str, row: dict[str, Any]) -> bool:
    return bool(row[column][:10] >= day)


def _on_or_before(column: str, day: str, row: dict[str, Any]) -> bool:
    return bool(row[column][:10] <= day)


def _filters(query: dict[str, list[str]]) -> Callable[[dict[str, Any]], bool]:
    """The ``search[...]`` filters as one predicate; unknown keys are ignored."""

    def one(key: str) -> str | None:
        values = query.get(f"search[{key}]")
        return values[-1] if values else None

    tests: list[Callable[[dict[str, Any]], bool]] = []
    ids = [*query.get("search[customerids][]", []), *filter(None, [one("customerid")])]
    if ids:
        try:
            wanted = {parse_int(i) for i in ids}
        except ValueError:
            _refuse(422, "customerid", "Invalid value for field 'customerid'.", ids[0])
        tests.append(lambda r: r["customerid"] in wanted)
    for key, column in (("date", "create_date"), ("updated", "updated")):
        low, high = one(f"{key}_min"), one(f"{key}_max")
        if low is not None:  # day granularity: only the date part counts
            first = _date(low[:10], f"search[{key}_min]").isoformat()
            tests.append(partial(_on_or_after, column, first))
        if high is not None:
            last = _date(high[:10], f"search[{key}_max]").isoformat()
            tests.append(partial(_on_or_before, column, last))
    number = one("invoice_number")
    if number is not None:
        tests.append(lambda r: r["invoice_number"] == number)
    status = one("v3_status")
    if status is not None:
        tests.append(lambda r: r["v3_status"] == status)
    state = one("vis_state")
    if state is not None and state.strip() in ("0", "1", "2"):
        tests.append(lambda r: r["vis_state"] == int(state))
    else:
        tests.append(lambda r: r["vis_state"] != 1)
    return lambda row: all(test(row) for test in tests)
