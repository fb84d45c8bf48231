"""The rounding rule of drafted invoices holds for any durations, rates and grouping.

For every line: FreshBooks' amount ``round_half_up(qty x unit_cost, 2)`` is the plan's
``amount``, within a cent of the exact sum of its entries' amounts (``with_rates``), with
``qty`` of at most 4 places; every billable entry is on exactly one line.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fbtime
from fbtime.drafts import GROUPINGS, draft_invoices
from fbtime.money import total
from tests.conftest import build_frame

CENT = Decimal("0.01")
rates_in_cents = st.integers(min_value=1, max_value=100_000_00)
entries = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=14 * 3600),  # duration, s
        st.integers(min_value=0, max_value=2),  # project
        st.integers(min_value=0, max_value=2),  # teammate (project 2 bills by teammate)
        st.integers(min_value=0, max_value=40),  # day
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries, st.lists(rates_in_cents, min_size=4, max_size=4), st.sampled_from(GROUPINGS),
       st.integers(min_value=0, max_value=4))  # fmt: skip
def test_every_line_is_within_a_cent_of_its_entries(rows, cents, group_by, places):
    money = [str(Decimal(c).scaleb(-2)) for c in cents]
    rates = fbtime.Rates.from_api(
        projects=[
            {"id": 100, "project_type": "hourly_rate", "billing_method": "project_rate",
             "rate": money[0], "client_id": 10},
            {"id": 101, "project_type": "hourly_rate", "billing_method": "project_rate",
             "rate": money[1], "client_id": 20},
            {"id": 102, "project_type": "hourly_rate", "billing_method": "team_member_rate",
             "client_id": 10},
        ],
        team_member_rates=[{"identity_id": 1, "rate": money[2]},
                           {"identity_id": 2, "rate": money[3]},
                           {"identity_id": 3, "rate": money[0]}],
        service_rates=[], clients=[{"id": 10, "currency_code": "CAD"},
                                   {"id": 20, "currency_code": "CAD"}], currency="CAD",
    )  # fmt: skip
    frame = build_frame([
        {"duration": seconds, "project_id": 100 + project, "client_id": 20 if project == 1 else 10,
         "identity_id": 1 + mate,
         "started_at": f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{9 + mate}:00:00Z"}
        for seconds, project, mate, day in rows
    ])  # fmt: skip
    rated = frame.fbtime.with_rates(rates)
    drafts = draft_invoices(rated, group_by=group_by, qty_places=places)
    assert len(drafts.entries) + len(drafts.skipped) == len(frame)
    assert set(drafts.skipped["reason"].astype(str)) <= {"zero amount"}  # 1 s at 1 cent an hour
    seconds = drafts.entries.groupby(["client_id", "line"])["duration"].sum()
    for line in drafts.lines.itertuples():
        qty, cost = Decimal(line.qty), Decimal(line.unit_cost)
        assert qty == round(qty, 4) and qty > 0
        assert (qty * cost).quantize(CENT, ROUND_HALF_UP) == line.amount
        assert abs(line.amount - line.entries_amount) <= CENT
        if not line.lump:  # the line's hours, rounded half-up to some places from `places` to 4
            hours = Decimal(int(seconds[(line.client_id, line.line)])) / 3600
            assert cost == line.rate
            assert any(qty == hours.quantize(Decimal(1).scaleb(-p), ROUND_HALF_UP)
                       for p in range(places, 5))  # fmt: skip
    for client, draft in drafts.invoices.iterrows():
        mine = drafts.entries[drafts.entries["client_id"] == client]
        assert abs(draft["amount"] - total(mine["amount"])) <= draft["lines"] * CENT
        assert draft["amount"] == total(drafts.lines[drafts.lines.client_id == client]["amount"])
