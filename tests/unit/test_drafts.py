"""Drafting invoices from a rated frame: groupings, skipped entries and the rounding rule.

Frames are hand-made (``make_frame``) so every figure is known: an entry's amount is its
rate x time rounded once (``with_rates``), a line's is FreshBooks' ``round_half_up(qty x
unit_cost)``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

import fbtime
from fbtime.drafts import MAX_LINES, SKIP_REASONS, draft_invoices
from fbtime.errors import PlanError
from fbtime.money import total

PROJECTS = [
    {"id": 100, "title": "Site", "project_type": "hourly_rate", "client_id": 10,
     "billing_method": "project_rate", "rate": "150.00"},
    {"id": 101, "title": "App", "project_type": "hourly_rate", "client_id": 10,
     "billing_method": "team_member_rate", "rate": None},
    {"id": 102, "title": "Flat", "project_type": "fixed_price", "client_id": 10,
     "billing_method": None, "fixed_price": "900.00"},
    {"id": 200, "title": "Shop", "project_type": "hourly_rate", "client_id": 20,
     "billing_method": "project_rate", "rate": "95.55"},
    {"id": 300, "title": "Export", "project_type": "hourly_rate", "client_id": 30,
     "billing_method": "project_rate", "rate": "100.00"},
    {"id": 400, "title": "Ghost", "project_type": "hourly_rate", "client_id": 40,
     "billing_method": "project_rate", "rate": "100.00"},
]  # fmt: skip


@pytest.fixture
def rates() -> fbtime.Rates:
    """Client 10 (CAD): Site 150/h, App by teammate (1: 80/h, 2: 120/h, 3: none), Flat fixed;
    client 20 (CAD): Shop 95.55/h; client 30 is billed in USD; client 40 is not listed."""
    return fbtime.Rates.from_api(
        projects=PROJECTS,
        team_member_rates=[{"identity_id": 1, "rate": "80.00"},
                           {"identity_id": 2, "rate": "120.00"}],
        service_rates=[],
        clients=[{"id": 10, "currency_code": "CAD"}, {"id": 20, "currency_code": "CAD"},
                 {"id": 30, "currency_code": "USD"}],
        currency="CAD",
    )  # fmt: skip


def project_names(rates: fbtime.Rates) -> dict:
    return {"project": rates.projects["name"].to_dict()}


def at(day: int, hour: int = 14) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00Z"


def test_one_draft_per_client_lines_by_project_split_by_rate(make_frame, rates):
    frame = make_frame([
        {"project_id": 101, "identity_id": 2, "duration": 3600, "started_at": at(2)},
        {"project_id": 100, "duration": 4800, "started_at": at(3)},  # 1 h 20 min
        {"project_id": 101, "identity_id": 1, "duration": 1800, "started_at": at(4)},
        {"project_id": 100, "duration": 900, "started_at": at(5)},
        {"project_id": 200, "client_id": 20, "duration": 5400, "started_at": at(6)},
    ])  # fmt: skip
    drafts = draft_invoices(frame.fbtime.with_rates(rates), names=project_names(rates))
    lines = drafts.lines
    assert list(drafts.invoices.index) == [10, 20]
    assert drafts.invoices.loc[10, "lines"] == 3 and drafts.invoices.loc[20, "lines"] == 1
    ten = lines[lines.client_id == 10]
    # by first start: App at 120/h (day 2), Site (day 3), App at 80/h (day 4)
    assert list(ten["name"]) == ["App", "Site", "App"]
    assert [str(r) for r in ten["rate"]] == ["120.00", "150.00", "80.00"]
    assert list(ten["entries"]) == [1, 2, 1]
    assert list(ten["line"]) == [1, 2, 3]
    assert list(ten["description"]) == [
        "2026-03-02 · 1 entry", "2026-03-03 – 2026-03-05 · 2 entries", "2026-03-04 · 1 entry"
    ]  # fmt: skip
    assert drafts.entries.loc[[1, 2, 3, 4], "line"].tolist() == [1, 2, 3, 2]
    assert drafts.invoices.loc[10, "amount"] == Decimal("120.00") + Decimal("237.50") + Decimal(
        "40.00")  # fmt: skip
    assert drafts.skipped.empty and drafts.currency == "CAD"


def test_two_places_when_they_hold_more_when_they_do_not(make_frame, rates):
    frame = make_frame([
        {"project_id": 100, "duration": 4800, "started_at": at(2)},  # 1.3333 h: 200.00
        {"project_id": 200, "client_id": 20, "duration": 5400, "started_at": at(2)},  # 1.5 h
    ])  # fmt: skip
    lines = draft_invoices(frame.fbtime.with_rates(rates)).lines.set_index("client_id")
    # 1.33 x 150 = 199.50 and 1.333 x 150 = 199.95 miss 200.00 by more than a cent
    assert lines.loc[10, "qty"] == Decimal("1.3333") and lines.loc[10, "amount"] == Decimal("200")
    # 1.5 x 95.55 = 143.325 -> 143.33 = the entry's 95.55 x 1.5 rounded once
    assert lines.loc[20, "qty"] == Decimal("1.5") and lines.loc[20, "amount"] == Decimal("143.33")
    assert not lines["lump"].any()


def test_entries_rounded_one_by_one_drift_past_any_quantity_a_lump_line_holds(make_frame, rates):
    # 13 s at 95.55/h is 34.504 cents: each entry rounds to 35 (+0.496); 40 of them make
    # 14.00 where 40 x 13 s (0.1444 h) x 95.55 is 13.80: no qty of 4 places reaches 14.00
    frame = make_frame([{"project_id": 200, "client_id": 20, "duration": 13,
                         "started_at": at(2 + i % 20, 9 + i // 20)}
                        for i in range(40)])  # fmt: skip
    rated = frame.fbtime.with_rates(rates)
    assert total(rated["amount"]) == Decimal("14.00")
    drafts = draft_invoices(rated)
    line = drafts.lines.iloc[0]
    assert bool(line["lump"]) and line["qty"] == Decimal(1)
    assert line["unit_cost"] == line["amount"] == Decimal("14.00")
    assert line["description"].endswith("· 40 entries · 0.1444 h at 95.55/h")
    forced = draft_invoices(make_frame([{"project_id": 100, "duration": 3600}]).fbtime.with_rates(
        rates), lump=True).lines.iloc[0]  # fmt: skip
    assert (forced["qty"], forced["unit_cost"], bool(forced["lump"])) == (1, 150, True)


def test_every_skip_reason_with_the_first_that_applies(make_frame, rates):
    frame = make_frame([
        {"project_id": 100, "active": False},  # 1 not logged (deleted)
        {"project_id": 100, "billable": False},  # 2
        {"project_id": 100, "billed": True, "billable": False},  # 3 not billable comes first
        {"project_id": 100, "billed": True},  # 4 already billed
        {"project_id": None, "client_id": None},  # 5 no client
        {"project_id": 102},  # 6 fixed price
        {"project_id": 101, "identity_id": 3},  # 7 no rate
        {"project_id": 100, "duration": 0},  # 8 zero amount
        {"project_id": 400, "client_id": 40},  # 9 unknown client
        {"project_id": 300, "client_id": 30},  # 10 currency mismatch
        {"project_id": 100},  # 11 billed on the draft
        {"project_id": 100, "is_logged": False, "duration": None, "timer_is_running": True},
        {"project_id": 100, "started_at": "2027-01-04T15:00:00Z"},  # 13 after the clock's today
    ])  # fmt: skip
    drafts = draft_invoices(frame.fbtime.with_rates(rates))
    reasons = drafts.skipped["reason"].astype(str).to_dict()
    assert reasons == {
        1: "not logged", 2: "not billable", 3: "not billable", 4: "already billed",
        5: "no client", 6: "fixed price", 7: "no rate", 8: "zero amount",
        9: "unknown client", 10: "currency mismatch", 12: "not logged",
        13: "dated in the future",
    }  # fmt: skip
    assert set(reasons.values()) == set(SKIP_REASONS)
    assert list(drafts.entries.index) == [11]


@pytest.mark.parametrize(
    ("group_by", "names", "lines"),
    [
        ("service", ["service 7", "service 8"], 2),
        ("teammate", ["Unknown (1)", "Unknown (2)"], 2),
        ("entry", ["Site", "Site", "Site"], 3),
        ("client", ["Time"], 1),
    ],
)
def test_groupings(make_frame, rates, group_by, names, lines):
    frame = make_frame([
        {"project_id": 100, "service_id": 7, "identity_id": 1, "started_at": at(2)},
        {"project_id": 100, "service_id": 8, "identity_id": 2, "started_at": at(3)},
        {"project_id": 100, "service_id": 7, "identity_id": 1, "started_at": at(4),
         "note": "Copy edits"},
    ])  # fmt: skip
    drafts = draft_invoices(frame.fbtime.with_rates(rates), group_by=group_by,
                            names=project_names(rates))  # fmt: skip
    assert list(drafts.lines["name"]) == names
    assert drafts.invoices.loc[10, "lines"] == lines
    if group_by == "entry":
        assert (
            drafts.lines["description"].iloc[2]
            == "2026-03-04 · Unknown (1) · service 7 · Copy edits"
        )


def test_names_from_the_frame_and_from_a_mapping(make_frame, rates):
    frame = make_frame([{"project_id": 100, "identity_id": 1}]).fbtime.with_rates(rates)
    named = frame.fbtime.with_names(clients={10: "Acme <b>"}, teammates={1: "Zoë Roy"})
    drafts = draft_invoices(named, group_by="teammate")
    assert drafts.invoices.loc[10, "client_name"] == "Acme <b>"
    assert drafts.lines["name"].tolist() == ["Zoë Roy"]
    other = draft_invoices(frame, names={"client": {10: "Acme"}, "project": {100: "Site"}})
    assert other.invoices.loc[10, "client_name"] == "Acme" and other.lines["name"][0] == "Site"


def test_at_most_400_lines_a_draft(make_frame, rates):
    rows = [{"project_id": 100, "duration": 60, "started_at": f"2026-0{1 + i // 200}-"
             f"{1 + i % 28:02d}T{8 + (i // 28) % 7:02d}:00:00Z"}
            for i in range(MAX_LINES + 1)]  # fmt: skip
    rated = make_frame(rows).fbtime.with_rates(rates)
    with pytest.raises(PlanError, match=r"client 10 \(401 lines\).*group_by='project'"):
        draft_invoices(rated, group_by="entry")
    assert draft_invoices(rated.iloc[:MAX_LINES], group_by="entry").invoices.loc[10, "lines"] == 400
    assert draft_invoices(rated, group_by="project").invoices.loc[10, "lines"] == 1


def test_bad_input(make_frame, rates):
    frame = make_frame([{"project_id": 100}])
    with pytest.raises(PlanError, match="no amounts"):
        draft_invoices(frame)
    rated = frame.fbtime.with_rates(rates)
    with pytest.raises(PlanError, match="group_by"):
        draft_invoices(rated, group_by="day")  # type: ignore[arg-type]
    with pytest.raises(PlanError, match="qty_places"):
        draft_invoices(rated, qty_places=5)
    unknown = fbtime.Rates.from_api(projects=PROJECTS, team_member_rates=[], service_rates=[],
                                    clients=[{"id": 10, "currency_code": "CAD"}])  # fmt: skip
    with pytest.raises(PlanError, match="currency"):
        draft_invoices(frame.fbtime.with_rates(unknown))


def test_totals_hold_the_rule_and_the_frame_is_untouched(make_frame, rates):
    rows = [{"project_id": [100, 101, 200][i % 3], "client_id": 20 if i % 3 == 2 else 10,
             "identity_id": 1 + i % 2, "duration": 37 * i + 61, "started_at": at(1 + i % 28)}
            for i in range(120)]  # fmt: skip
    rated = make_frame(rows).fbtime.with_rates(rates)
    before = rated.copy()
    drafts = draft_invoices(rated, group_by="project")
    pd.testing.assert_frame_equal(rated, before)
    lines = drafts.lines
    for line in lines.itertuples():
        server = (Decimal(line.qty) * Decimal(line.unit_cost)).quantize(Decimal("0.01"),
                                                                        ROUND_HALF_UP)  # fmt: skip
        assert server == line.amount
        assert abs(line.amount - line.entries_amount) <= Decimal("0.01")
    by_line = drafts.entries.groupby(["client_id", "line"])["amount"].sum()
    assert by_line.tolist() == lines.set_index(["client_id", "line"])["entries_amount"].tolist()
    for client, row in drafts.invoices.iterrows():
        mine = drafts.entries.loc[drafts.entries.client_id == client, "amount"]
        assert abs(row["amount"] - total(mine)) <= row["lines"] * Decimal("0.01")
    assert len(drafts.entries) == 120
