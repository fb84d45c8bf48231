"""On FreshBooks' live PUT (the sandbox's default ``put_mode="live"``), a body that leaves
out ``client_id`` and ``project_id`` unlinks the entry. Every write fbtime makes sends the
whole writable set (GET, merge, PUT), so marking billed or unbilled, updating, undoing and
``client.time_entries.update`` keep an entry's links, and change nothing but what they say.

A bare ``{"billed": true}`` PUT, what some tools send, is shown to unlink the entry.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import requests

import fbtime

LINKS = ("client_id", "project_id")


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=300, seed=13) as sandbox:
        assert sandbox.put_mode == "live"
        yield sandbox


def server_rows(sandbox) -> dict[int, dict]:
    records = json.loads(sandbox.entries().drop(columns="updated_at").to_json(orient="records"))
    return {r["id"]: r for r in records}


def load(sandbox):
    return fbtime.load_time_entries(sandbox.client(cache=False), team=True, progress=False)


def linked(df, *, billed: bool):
    """Logged, billable entries with a client and a project, billed or not, worked before
    today (mark_billed leaves out future-dated ones)."""
    worked = df["started_at"] < pd.Timestamp(fbtime.clock.today(), tz="UTC")
    rows = df[df["is_logged"] & df["active"] & df["billable"] & df["client_id"].notna()
              & df["project_id"].notna() & (df["billed"] == billed) & worked]  # fmt: skip
    return rows.head(6)


def changed(before: dict, after: dict) -> set[tuple[int, str]]:
    return {(i, k) for i in before for k in before[i] if before[i][k] != after[i][k]}


def apply(plan, sandbox, tmp_path):
    result = plan.apply(sandbox.client(cache=False), confirm=True, journal=tmp_path,
                        progress=False)  # fmt: skip
    assert result.ok, result.rows
    return result


@pytest.mark.parametrize(
    ("billed", "build", "field", "value"),
    [
        (False, lambda rows: rows.fbtime.mark_billed(), "billed", True),
        (True, lambda rows: rows.fbtime.mark_unbilled(), "billed", False),
        (False, lambda rows: rows.fbtime.update(note="reviewed"), "note", "reviewed"),
    ],
    ids=["mark_billed", "mark_unbilled", "update"],
)
def test_a_planned_change_keeps_the_links_and_changes_only_its_field(
    sb, tmp_path, billed, build, field, value
):
    rows = linked(load(sb), billed=billed)
    before = server_rows(sb)
    result = apply(build(rows), sb, tmp_path)
    after = server_rows(sb)
    ids = [int(i) for i in rows.index]
    assert result.counts["applied"] == len(ids) == 6
    assert changed(before, after) == {(i, field) for i in ids}
    assert all(after[i][field] == value for i in ids)
    assert all(after[i][k] is not None for i in ids for k in LINKS)


def test_undo_puts_back_the_field_and_keeps_the_links(sb, tmp_path):
    rows = linked(load(sb), billed=False)
    before = server_rows(sb)
    done = apply(rows.fbtime.mark_billed(), sb, tmp_path)
    apply(fbtime.undo(done.journal_path), sb, tmp_path)
    assert server_rows(sb) == before


def test_client_update_sends_the_whole_entry(sb):
    entry = int(linked(load(sb), billed=False).index[0])
    before = server_rows(sb)
    updated = sb.client(cache=False).time_entries.update(entry, billed=True)
    assert updated["billed"] is True and all(updated[k] is not None for k in LINKS)
    assert changed(before, server_rows(sb)) == {(entry, "billed")}


def test_a_bare_billed_put_would_unlink_the_entry(sb):
    entry = int(linked(load(sb), billed=False).index[0])
    before = server_rows(sb)[entry]
    url = f"{sb.url}/timetracking/business/{sb.business_id}/time_entries/{entry}"
    r = requests.put(url, json={"time_entry": {"billed": True}},
                     headers={"Authorization": f"Bearer {sb.token}"}, timeout=10)  # fmt: skip
    after = r.json()["time_entry"]
    assert after["billed"] is True and (after["client_id"], after["project_id"]) == (None, None)
    assert before["client_id"] is not None and before["project_id"] is not None
