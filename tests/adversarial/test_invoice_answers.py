"""Invoice answers are untrusted: every wrong shape or type is a typed error naming the field,
Money is read as Decimal (never float), and a create is sent once whatever the server says."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from fbtime import Client
from fbtime.api.invoice_answers import InvoiceLine, eastern, parse_invoice
from fbtime.api.invoices import Draft, Invoices
from fbtime.errors import ServerError, TransportError, UnexpectedAnswerError
from tests.adversarial.servers import Hostile, Reply

LINE = {"lineid": 1, "name": "Design", "description": "7 entries", "qty": "12.25",
        "unit_cost": {"amount": "150.00", "code": "CAD"},
        "amount": {"amount": "1837.50", "code": "CAD"}}  # fmt: skip
INVOICE = {
    "id": 454001, "invoice_number": "0000001", "customerid": 567521, "create_date": "2026-04-01",
    "currency_code": "CAD", "amount": {"amount": "1837.50", "code": "CAD"},
    "paid": {"amount": "0.00", "code": "CAD"}, "outstanding": {"amount": "1837.50", "code": "CAD"},
    "status": 1, "v3_status": "draft", "payment_status": "unpaid", "vis_state": 0,
    "created_at": "2026-04-01 12:52:44", "updated": "2026-04-01 12:52:44", "lines": [LINE],
}  # fmt: skip


def envelope(invoice: dict[str, Any]) -> dict[str, Any]:
    return {"response": {"result": {"invoice": invoice}}}


def changed(path: str, value: Any) -> dict[str, Any]:
    invoice = copy.deepcopy(INVOICE)
    target: Any = invoice
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key: Any = int(last) if isinstance(target, list) else last
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return envelope(invoice)


def test_a_good_answer_is_typed_exactly():
    invoice = parse_invoice(envelope(INVOICE), "POST x", lines=True)
    assert invoice.amount == Decimal("1837.50") and isinstance(invoice.amount, Decimal)
    assert invoice.lines == (InvoiceLine("Design", "7 entries", Decimal("12.25"),
                                         Decimal("150.00"), Decimal("1837.50"), 1),)  # fmt: skip
    assert invoice.created_at == dt.datetime(2026, 4, 1, 16, 52, 44, tzinfo=dt.UTC)  # EDT
    assert invoice.is_untouched_draft


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        ("id", True, "id"),
        ("id", "454001", "id"),
        ("customerid", None, "customerid"),
        ("currency_code", "dollars", "currency_code"),
        ("invoice_number", 1, "invoice_number"),
        ("create_date", "01/04/2026", "create_date"),
        ("vis_state", 7, "vis_state"),
        ("status", "1", "status"),
        ("amount", 1837.5, "amount"),
        ("amount", {"amount": 1837.5, "code": "CAD"}, "amount.amount"),
        ("amount", {"amount": "1837.50", "code": "USD"}, "amount"),
        ("paid", {"amount": "NaN", "code": "CAD"}, "paid"),
        ("outstanding", {"amount": "1e400", "code": "CAD"}, "outstanding"),
        ("created_at", "yesterday", "created_at"),
        ("lines", None, "lines"),
        ("lines", "Design", "lines"),
        ("lines.0", "Design", "line 1"),
        ("lines.0.qty", True, "qty"),
        ("lines.0.qty", "twelve", "qty"),
        ("lines.0.qty", None, "qty"),
        ("lines.0.unit_cost", "150.00", "unit_cost"),
        ("lines.0.amount", KeyError, "amount"),
        ("lines.0.name", ["Design"], "name"),
        ("lines.0.lineid", "1", "lineid"),
    ],
)
def test_each_wrong_field_is_named(path, value, says):
    with pytest.raises(UnexpectedAnswerError, match=says.replace(".", r"\.")):
        parse_invoice(changed(path, value), "POST x", lines=True)


@pytest.mark.parametrize("body", [None, [], {"invoice": INVOICE}, {"response": {"result": []}}])
def test_a_body_without_the_envelope(body):
    with pytest.raises(UnexpectedAnswerError, match=r"response\.result\.invoice"):
        parse_invoice(body, "POST x", lines=True)


def test_a_json_number_qty_is_read_by_its_repr_not_its_binary_value():
    invoice = parse_invoice(changed("lines.0.qty", 0.1), "x", lines=True)
    assert invoice.lines[0].qty == Decimal("0.1")


def test_the_autumn_hour_that_happens_twice_reads_as_its_later_instant():
    # 01:30 on 2026-11-01 happens at 05:30Z (EDT) and again at 06:30Z (EST)
    assert eastern("2026-11-01 01:30:00", "x") == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)


def _server(reply: Reply) -> Hostile:
    me = {
        "response": {
            "id": 1,
            "identity_id": 1,
            "business_memberships": [
                {
                    "id": 2,
                    "role": "owner",
                    "business": {"id": 77, "account_id": "abc12", "name": "B"},
                }
            ],
        }
    }

    def answer(method: str, path: str, headers: dict[str, str]) -> Reply:
        if path.startswith("/auth/api/v1/users/me"):
            return Reply.json(me)
        return reply

    return Hostile(answer)


def _create(api: Hostile):
    client = Client(token="t0k", business_id=77, base_url=api.url, cache=False, retries=3,
                    timeout=2)  # fmt: skip
    line = InvoiceLine("Design", "", Decimal("1"), Decimal("10.00"))
    return Invoices(client).create(Draft(5, dt.date(2026, 4, 1), "CAD", (line,)))


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply.json({"message": "Internal Server Error"}, status=500), ServerError),
        (Reply.json({"message": "busy"}, status=503, **{"Retry-After": "0"}), ServerError),
        (Reply(200, {"Content-Type": "application/json"}, b'{"response": {"res'), TransportError),
        (Reply.json(changed("amount", 1837.5)), UnexpectedAnswerError),
    ],
)
def test_a_create_is_posted_once_whatever_the_answer(reply, error):
    with _server(reply) as api, pytest.raises(error):
        _create(api)
    posts = [s for s in api.seen if s.method == "POST"]
    assert len(posts) == 1
    assert posts[0].path == "/accounting/account/abc12/invoices/invoices?include%5B%5D=lines"


def test_draft_payload_is_what_the_facts_sheet_composes():
    line = InvoiceLine("Design", "2026-06-01 – 2026-06-30 · 7 entries", Decimal("12.25"),
                       Decimal("150"), amount=Decimal("1837.50"))  # fmt: skip
    body = Draft(567521, dt.date(2026, 7, 1), "usd", (line,), due_offset_days=30).payload()
    assert json.loads(json.dumps(body)) == {
        "customerid": 567521, "create_date": "2026-07-01", "currency_code": "USD",
        "due_offset_days": 30, "lines": [{"type": 0, "name": "Design",
        "description": "2026-06-01 – 2026-06-30 · 7 entries", "qty": "12.25",
        "unit_cost": {"amount": "150.00", "code": "USD"}}],
    }  # fmt: skip
