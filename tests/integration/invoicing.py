"""Shared set-up of the invoice tests: a sandbox, its plan, and the ground truth to check.

Also run as a script (``python invoicing.py URL TOKEN BUSINESS PLAN JOURNALS``) by the
crash tests: it applies a saved invoice plan in a child process they kill.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import fbtime

END = dt.date(2026, 3, 31)
DAY = dt.date(2026, 4, 1)


def plan_for(sb: fbtime.Sandbox, **options) -> fbtime.InvoicePlan:
    """The sandbox's unbilled time as draft invoices (names as a person reads them)."""
    client = sb.client(cache=False)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    df = df.fbtime.with_names(clients=fbtime.load_clients(client), team=fbtime.load_team(client))
    options.setdefault("standard_rate", 100)
    options.setdefault("create_date", DAY)
    return df.fbtime.invoice(fbtime.load_rates(client), **options)


def live_invoices(sb: fbtime.Sandbox) -> list[dict]:
    """The sandbox's invoices that are not deleted."""
    return [i for i in sb.invoices() if i["vis_state"] != 1]


def assert_billed_once(sb: fbtime.Sandbox, plan: fbtime.InvoicePlan) -> None:
    """One live draft per client of the plan, with its amount, and every entry billed (its
    client and project kept)."""
    live = live_invoices(sb)
    per_client = Counter(i["customerid"] for i in live)
    assert per_client == Counter(d.client_id for d in plan.drafts), per_client
    for d in plan.drafts:
        (made,) = [i for i in live if i["customerid"] == d.client_id]
        assert made["amount"]["amount"] == str(d.amount)
        assert [line["amount"]["amount"] for line in made["lines"]] == [
            str(line.amount) for line in d.draft.lines
        ]
    truth = sb.entries().set_index("id")
    ids = [i for d in plan.drafts for i in d.entry_ids]
    assert truth.loc[ids, "billed"].all()
    assert truth.loc[ids, "client_id"].tolist() == plan.entries.loc[ids, "client_id"].tolist()
    assert truth.loc[ids, "project_id"].notna().all()


def main(url: str, token: str, business: str, plan_path: str, journals: str) -> None:
    client = fbtime.Client(token=token, business_id=int(business), base_url=url, cache=False)
    plan = fbtime.InvoicePlan.load(plan_path)
    print("applying", flush=True)
    plan.apply(client, confirm=plan.entry_count, journal=Path(journals), progress=False)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
