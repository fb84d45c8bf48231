"""Drafts built from the sandbox's unbilled time, created on it: the server's line amounts and
totals are exactly the plan's, and within a cent a line of the entries' exact amounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import fbtime
from fbtime.api.invoice_answers import InvoiceLine
from fbtime.api.invoices import Draft, Invoices
from fbtime.drafts import draft_invoices
from fbtime.money import total

END = dt.date(2026, 3, 31)


@pytest.fixture(scope="module")
def world():
    with fbtime.Sandbox(entries=1200, seed=7, end=END) as sb:
        client = sb.client(cache=False)
        df = fbtime.load_time_entries(client, team=True, progress=False)
        rates = fbtime.load_rates(client)
        rated = df.fbtime.with_rates(rates, standard_rate=100)
        yield sb, client, rated, rates


def send(client, drafts, client_id: int):
    lines = drafts.lines[drafts.lines.client_id == client_id]
    sent = tuple(InvoiceLine(r.name, r.description, Decimal(r.qty), Decimal(r.unit_cost))
                 for r in lines.itertuples())  # fmt: skip
    return Invoices(client).create(Draft(client_id, END + dt.timedelta(days=1), "CAD", sent))


@pytest.mark.parametrize("group_by", ["project", "entry", "client"])
def test_the_server_computes_what_the_plan_expects(world, group_by):
    _, client, rated, rates = world
    drafts = draft_invoices(rated, group_by=group_by,
                            names={"project": rates.projects["name"].to_dict()})  # fmt: skip
    assert sorted([*drafts.entries.index, *drafts.skipped.index]) == sorted(rated.index)
    assert set(drafts.entries.index) <= set(rated.fbtime.unbilled().index)
    for client_id, draft in drafts.invoices.iterrows():
        made = send(client, drafts, client_id)
        mine = drafts.lines[drafts.lines.client_id == client_id]
        assert [line.amount for line in made.lines] == list(mine["amount"])
        assert [line.qty for line in made.lines] == [Decimal(q) for q in mine["qty"]]
        assert made.amount == draft["amount"]
        entries = drafts.entries[drafts.entries.client_id == client_id]
        assert abs(made.amount - total(entries["amount"])) <= Decimal("0.01") * len(mine)
        assert made.currency == "CAD" and made.v3_status == "draft"


def test_a_server_that_rounds_qty_to_two_places_disagrees(world):
    sb, client, rated, _ = world
    drafts = draft_invoices(rated, group_by="entry")
    four = drafts.lines[[Decimal(q) != round(Decimal(q), 2) for q in drafts.lines["qty"]]]
    assert len(four), "the sandbox's data has entries of odd minutes"
    client_id = int(four["client_id"].iloc[0])
    sb.invoice_faults.qty = "round2"
    try:
        made = send(client, drafts, client_id)
    finally:
        sb.invoice_faults.qty = "exact"
    expected = list(drafts.lines[drafts.lines.client_id == client_id]["amount"])
    assert [line.amount for line in made.lines] != expected
