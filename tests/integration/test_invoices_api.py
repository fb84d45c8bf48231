"""Accounting invoices: the sandbox's endpoints over real HTTP, and fbtime.api.invoices on them.

Expected values come from the sandbox's ground truth (``Sandbox.invoices()``, its clients)
and from the facts sheet (``freshbooks-invoices.md``): envelopes, statuses, Money strings,
paging beside the list, PUT phases, and the fault modes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests

from fbtime.api.invoice_answers import InvoiceLine
from fbtime.api.invoices import Draft, Invoices
from fbtime.errors import NotFoundError, QueryError, TransportError, ValidationError
from fbtime.sandbox import Sandbox

END = dt.date(2026, 3, 31)
DAY = dt.date(2026, 4, 1)


@pytest.fixture
def sb():
    with Sandbox(entries=150, seed=4, end=END) as sandbox:
        yield sandbox


def url(sandbox: Sandbox, invoice_id: int | None = None, account: str | None = None) -> str:
    base = f"{sandbox.url}/accounting/account/{account or sandbox.account_id}/invoices/invoices"
    return base if invoice_id is None else f"{base}/{invoice_id}"


def session(sandbox: Sandbox) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {sandbox.token}"
    return s


def cad_client(sandbox: Sandbox) -> int:
    return next(c["id"] for c in sandbox.dataset.clients if c["currency_code"] == "CAD")


def line(qty: str = "12.25", cost: str = "150.00", name: str = "Design") -> InvoiceLine:
    return InvoiceLine(name, "2026-03-02 – 2026-03-27 · 7 entries", Decimal(qty), Decimal(cost))


def create(sandbox: Sandbox, *lines: InvoiceLine, customer: int | None = None, day=DAY):
    draft = Draft(customer or cad_client(sandbox), day, "CAD", lines or (line(),))
    return Invoices(sandbox.client(cache=False)).create(draft)


# -- the sandbox's endpoints, raw ----------------------------------------------------------
def test_create_answers_a_draft_with_lines_only_when_asked(sb):
    s, customer = session(sb), cad_client(sb)
    body = {"invoice": Draft(customer, DAY, "CAD", (line(),)).payload()}
    plain = s.post(url(sb), json=body).json()["response"]["result"]["invoice"]
    assert "lines" not in plain
    assert (plain["status"], plain["v3_status"], plain["display_status"]) == (1, "draft", "draft")
    assert plain["amount"] == {"amount": "1837.50", "code": "CAD"}
    assert plain["invoice_number"] == "0000001" and plain["customerid"] == customer
    with_lines = s.post(url(sb), params={"include[]": "lines"}, json=body).json()
    invoice = with_lines["response"]["result"]["invoice"]
    assert invoice["invoice_number"] == "0000002" and invoice["id"] == plain["id"] + 1
    assert [(x["qty"], x["unit_cost"], x["amount"]) for x in invoice["lines"]] == [
        ("12.25", {"amount": "150.00", "code": "CAD"}, {"amount": "1837.50", "code": "CAD"})
    ]
    assert invoice["lines"][0]["modern_time_entries"] == []
    client = next(c for c in sb.dataset.clients if c["id"] == customer)
    assert invoice["organization"] == client["organization"]
    assert [i["id"] for i in sb.invoices()] == [plain["id"], invoice["id"]]


def test_created_at_is_naive_us_eastern(sb):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = create(sb)
    after = dt.datetime.now(dt.UTC)
    raw = sb.invoices()[0]["created_at"]
    assert len(raw) == 19 and "T" not in raw and "Z" not in raw
    assert made.created_at is not None and before <= made.created_at <= after
    assert made.created_at.hour != int(raw[11:13])  # Eastern is 4 or 5 hours behind UTC


def test_line_amounts_round_half_up_to_the_cent(sb):
    made = create(sb, line("0.3333", "150.00"), line("0.01", "125.00"), line("2", "0.00"))
    # 49.995 -> 50.00 (half up), 1.25 -> 1.25, 0
    assert [x.amount for x in made.lines] == [Decimal("50.00"), Decimal("1.25"), Decimal("0.00")]
    assert made.amount == Decimal("51.25")
    assert [x.qty for x in made.lines] == [Decimal("0.3333"), Decimal("0.01"), Decimal("2")]
    assert sb.invoices()[0]["lines"][2]["qty"] == "2"


def test_list_pages_beside_the_list_id_descending_15_by_default(sb):
    customer = cad_client(sb)
    made = [create(sb, customer=customer).id for _ in range(17)]
    s = session(sb)
    first = s.get(url(sb)).json()["response"]["result"]
    assert set(first) == {"invoices", "page", "pages", "per_page", "total"}
    assert (first["page"], first["pages"], first["per_page"], first["total"]) == (1, 2, 15, 17)
    assert [i["id"] for i in first["invoices"]] == sorted(made, reverse=True)[:15]
    assert "lines" not in first["invoices"][0]
    second = s.get(url(sb), params={"page": 2, "per_page": 15}).json()["response"]["result"]
    assert [i["id"] for i in second["invoices"]] == sorted(made, reverse=True)[15:]
    capped = s.get(url(sb), params={"per_page": 500}).json()["response"]["result"]
    assert capped["per_page"] == 100 and len(capped["invoices"]) == 17
    assert s.get(url(sb), params={"page": "x"}).status_code == 400


def test_search_filters_and_unknown_keys(sb):
    clients = [c["id"] for c in sb.dataset.clients if c["currency_code"] == "CAD"][:3]
    a = create(sb, customer=clients[0], day=dt.date(2026, 4, 1))
    b = create(sb, customer=clients[1], day=dt.date(2026, 4, 3))
    c = create(sb, customer=clients[2], day=dt.date(2026, 4, 5))
    s = session(sb)

    def ids(params) -> list[int]:
        body = s.get(url(sb), params=params).json()
        return [i["id"] for i in body["response"]["result"]["invoices"]]

    assert ids({"search[customerid]": clients[1]}) == [b.id]
    assert ids([("search[customerids][]", clients[0]), ("search[customerids][]", clients[2])]) == [
        c.id, a.id]  # fmt: skip
    assert ids({"search[date_min]": "2026-04-02", "search[date_max]": "2026-04-05"}) == [c.id, b.id]
    assert ids({"search[invoice_number]": b.invoice_number}) == [b.id]
    assert ids({"search[v3_status]": "sent"}) == []
    today = dt.datetime.now(dt.UTC).date()
    assert ids({"search[updated_max]": (today - dt.timedelta(days=2)).isoformat()}) == []
    assert ids({"search[updated_min]": (today - dt.timedelta(days=2)).isoformat()}) == [
        c.id, b.id, a.id]  # fmt: skip
    assert ids({"search[notes_like]": "zzz", "search[date_from]": "x"}) == [c.id, b.id, a.id]
    bad = s.get(url(sb), params={"search[date_min]": "April"})
    assert bad.status_code == 422
    assert bad.json()["response"]["errors"][0]["field"] == "search[date_min]"


def test_put_phases_vis_state_wins_and_drops_the_rest(sb):
    made = create(sb)
    s = session(sb)
    answer = s.put(url(sb, made.id), json={"invoice": {"vis_state": 1, "notes": "lost"}})
    invoice = answer.json()["response"]["result"]["invoice"]
    assert (invoice["vis_state"], invoice["notes"]) == (1, "")
    assert s.get(url(sb)).json()["response"]["result"]["total"] == 0  # deleted: hidden
    deleted = s.get(url(sb), params={"search[vis_state]": 1}).json()["response"]["result"]
    assert [i["id"] for i in deleted["invoices"]] == [made.id]
    one = s.get(url(sb, made.id)).json()["response"]["result"]["invoice"]
    assert one["vis_state"] == 1  # a deleted invoice still answers
    sent = s.put(url(sb, made.id), json={"invoice": {"action_mark_as_sent": True, "notes": "x"}})
    invoice = sent.json()["response"]["result"]["invoice"]
    assert (invoice["status"], invoice["v3_status"], invoice["notes"]) == (2, "sent", "")
    assert invoice["fulfillment_date"] is not None
    data = s.put(url(sb, made.id), json={"invoice": {"notes": "kept"}}).json()
    assert data["response"]["result"]["invoice"]["notes"] == "kept"
    assert data["response"]["result"]["invoice"]["amount"]["amount"] == "1837.50"


def test_put_lines_replace_all_and_keep_a_sent_lineid(sb):
    made = create(sb, line("1", name="A"), line("2", name="B"))
    lines = [{"lineid": made.lines[1].lineid, "name": "B", "qty": "3",
              "unit_cost": {"amount": "10.00", "code": "CAD"}},
             {"name": "C", "qty": "1", "unit_cost": {"amount": "5.00", "code": "CAD"}}]  # fmt: skip
    updated = Invoices(sb.client(cache=False)).update(made.id, {"lines": lines})
    assert [(x.name, x.lineid, x.amount) for x in updated.lines] == [
        ("B", 2, Decimal("30.00")), ("C", 3, Decimal("5.00"))]  # fmt: skip
    assert updated.amount == Decimal("35.00")


def test_errors_in_the_accounting_shape(sb):
    s = session(sb)
    other = s.get(url(sb, account="nope")).json()
    assert other == {"error": "Requested resource could not be found."}
    missing = s.get(url(sb, 999)).json()
    assert missing["response"]["errors"][0]["errno"] == 1012
    refused = s.post(url(sb), json={"invoice": {"customerid": 1, "create_date": "2026-04-01"}})
    assert refused.status_code == 422
    assert refused.json()["response"]["errors"][0]["field"] == "customerid"
    body = {"invoice": {**Draft(cad_client(sb), DAY, "CAD", (line(),)).payload()}}
    body["invoice"]["lines"][0]["unit_cost"]["code"] = "USD"
    assert s.post(url(sb), json=body).status_code == 422
    assert sb.invoices() == []


def test_users_me_carries_the_account_id(sb):
    me = session(sb).get(f"{sb.url}/auth/api/v1/users/me").json()["response"]
    assert me["business_memberships"][0]["business"]["account_id"] == sb.account_id
    assert Invoices(sb.client(cache=False)).account_id == sb.account_id


# -- the fault modes -----------------------------------------------------------------------
@pytest.mark.parametrize(("mode", "stored"), [("truncate", "12"), ("round2", "0.33")])
def test_qty_faults_store_another_quantity(sb, mode, stored):
    sb.invoice_faults.qty = mode
    sent = line("12.75" if mode == "truncate" else "0.3333")
    made = create(sb, sent)
    assert str(made.lines[0].qty) == stored
    assert sb.invoices()[0]["lines"][0]["qty"] == stored
    expected = InvoiceLine(sent.name, sent.description, sent.qty, sent.unit_cost,
                           (sent.qty * sent.unit_cost).quantize(Decimal("0.01")))  # fmt: skip
    differences = Draft(cad_client(sb), DAY, "CAD", (expected,)).differences(made)
    assert differences[0] == f"line 1: qty {stored} instead of {sent.qty}"
    assert differences[-1].startswith("total ")


def test_lost_answer_after_commit(sb):
    sb.invoice_faults.lost_answers = 1
    with pytest.raises(TransportError):
        create(sb)
    sb.wait_idle()
    assert len(sb.invoices()) == 1  # it exists: only a search can tell
    assert sb.stats()["POST invoices"] == 1  # and the POST was not sent again
    invoices = Invoices(sb.client(cache=False))
    found = invoices.search(customer_id=cad_client(sb), date_min=DAY, date_max=DAY)
    assert [i.id for i in found] == [sb.invoices()[0]["id"]]
    draft = Draft(cad_client(sb), DAY, "CAD", (line(),))
    assert draft.differences(found[0]) == []
    assert draft.differences(invoices.get(found[0].id, lines=False)) == ["0 lines instead of 1"]


def test_conflict_once_creates_nothing(sb):
    sb.invoice_faults.conflicts = 1
    with pytest.raises(Exception) as caught:
        create(sb)
    assert getattr(caught.value, "status", None) == 409
    assert sb.invoices() == [] and sb.stats()["POST invoices"] == 1
    assert create(sb).invoice_number == "0000001"


# -- fbtime.api.invoices -------------------------------------------------------------------
def test_search_get_and_delete(sb):
    made = create(sb)
    invoices = Invoices(sb.client(cache=False))
    assert invoices.get(made.id) == made
    assert invoices.get(made.id, lines=False).lines is None
    invoices.delete(made.id)
    assert invoices.get(made.id).vis_state == 1
    assert invoices.search(customer_id=made.customer_id) == []
    assert [i.id for i in invoices.search(customer_id=made.customer_id, vis_state=1)] == [made.id]
    with pytest.raises(NotFoundError):
        invoices.get(made.id + 100)


def test_web_app_changes_show(sb):
    made = create(sb)
    invoices = Invoices(sb.client(cache=False))
    assert invoices.get(made.id).is_untouched_draft
    sb.mark_invoice_sent(made.id)
    assert not invoices.get(made.id).is_untouched_draft
    other = create(sb)
    sb.pay_invoice(other.id, "100.00")
    paid = invoices.get(other.id)
    assert (paid.paid, paid.outstanding, paid.v3_status) == (
        Decimal("100.00"), Decimal("1737.50"), "partial")  # fmt: skip
    sb.pay_invoice(other.id)
    assert invoices.get(other.id).status == 4


def test_bad_drafts_are_refused_before_sending(sb):
    invoices = Invoices(sb.client(cache=False))
    customer = cad_client(sb)
    cases = [
        Draft(0, DAY, "CAD", (line(),)),
        Draft(customer, "2026-04-01", "CAD", (line(),)),  # type: ignore[arg-type]
        Draft(customer, DAY, "C$", (line(),)),
        Draft(customer, DAY, "CAD", ()),
        Draft(customer, DAY, "CAD", (line("0.33333"),)),
        Draft(customer, DAY, "CAD", (line("-1"),)),
        Draft(customer, DAY, "CAD", (line(cost="1.005"),)),
        Draft(customer, DAY, "CAD", (line(),) * 401),
        Draft(customer, DAY, "CAD", (line(),), due_offset_days=-1),
    ]
    sb.reset_stats()
    for case in cases:
        with pytest.raises(QueryError):
            invoices.create(case)
    assert sb.stats()["POST invoices"] == 0


def test_update_refuses_a_phase_mixed_with_data(sb):
    made = create(sb)
    with pytest.raises(QueryError, match="vis_state"):
        Invoices(sb.client(cache=False)).update(made.id, {"vis_state": 2, "notes": "x"})
    with pytest.raises(ValidationError):
        Invoices(sb.client(cache=False)).update(made.id, {"create_date": "soon"})
