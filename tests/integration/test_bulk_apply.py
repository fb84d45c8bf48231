"""Bulk changes against the sandbox: plan, apply, conflicts, undo, in every PUT mode.

Apply GETs an entry and PUTs its whole writable set, and undo re-creates an entry with
every field it had, so a PUT that keeps left-out fields and one that clears them (as
FreshBooks' does with ``client_id``/``project_id``) give the same result."""

import json
import logging

import pandas as pd
import pytest

import fbtime
from fbtime.bulk import UpdatePlan
from fbtime.sandbox import PUT_MODES


@pytest.fixture(params=PUT_MODES)  # every PUT the sandbox can play, the live one included
def sb(request):
    # no rate limit: the undo test sends about 1,000 requests, past the live 600 a minute
    with fbtime.Sandbox(entries=300, seed=11, put_mode=request.param, rate_limit=None) as sandbox:
        yield sandbox


def server_rows(sandbox):
    """Every stored entry as JSON-ready dicts, without the hidden update time."""
    records = json.loads(sandbox.entries().drop(columns="updated_at").to_json(orient="records"))
    return {r["id"]: r for r in records}


def load(sandbox):
    return fbtime.load_time_entries(
        sandbox.client(cache=False),
        team=True,
        progress=False,
        include_unlogged=True,
        include_deleted=True,
    )


def test_building_plans_sends_nothing(sb):
    df = load(sb)
    sb.reset_stats()
    plans = [
        df.fbtime.mark_billed(),
        df.fbtime.mark_unbilled(),
        df.fbtime.update(note="reviewed", billable=True),
        df.fbtime.delete(),
    ]
    assert all(isinstance(p, UpdatePlan) and len(p) > 0 for p in plans)
    assert sum(sb.stats().values()) == 0


def test_plan_skips_with_reasons(sb):
    df = load(sb)
    plan = df.fbtime.mark_billed()
    reasons = {s["id"]: s["reason"] for s in plan.skipped}
    running = df.index[df["timer_is_running"].fillna(False)].tolist()
    deleted = df.index[~df["active"]].tolist()
    billed = df.index[df["billed"] & df["active"] & df["is_logged"]].tolist()
    assert running and deleted and billed
    assert all("running timer" in reasons[i] for i in running)
    assert all(reasons[i] == "deleted entry" for i in deleted)
    assert all(reasons[i] == "already in the target state" for i in billed)
    future = [i for i, why in reasons.items() if why.startswith("dated in the future")]
    today = pd.Timestamp(fbtime.clock.now()).tz_convert(df["local_timezone"].mode().iloc[0])
    assert (
        future
        and (df.loc[future, "started_at"].dt.tz_convert(today.tz).dt.date > today.date()).all()
    )
    assert set(plan.ids) == set(df.fbtime.unbilled().index) - set(future)
    totals = plan.totals()
    assert totals["entries"] == len(plan.ids)
    assert totals["hours"] == pytest.approx(df.loc[plan.ids, "hours"].sum(), abs=0.01)
    assert "UpdatePlan mark_billed" in repr(plan) and "<table>" in plan._repr_html_()


def test_mark_billed_changes_only_billed_on_exactly_the_planned_entries(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    before = server_rows(sb)
    sb.reset_stats()
    result = plan.apply(sb.client(cache=False), confirm=len(plan), journal=tmp_path, progress=False)
    after = server_rows(sb)
    assert result.ok and result.counts["applied"] == len(plan)
    changed = {(i, k) for i in before for k in before[i] if before[i][k] != after[i][k]}
    assert changed == {(i, "billed") for i in plan.ids}
    assert sb.stats()["PUT time_entry"] == len(plan)
    assert set(sb.entry_writes()) == set(plan.ids)


def test_an_entry_changed_since_the_plan_is_a_conflict_and_not_written(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    victim = plan.ids[0]
    sb.update_entry(victim, note="edited by a colleague meanwhile")
    result = plan.apply(sb.client(cache=False), confirm=len(plan), journal=tmp_path, progress=False)
    assert result.ids("conflict") == [victim]
    assert "note" in result.rows.loc[victim, "reason"]
    assert server_rows(sb)[victim]["billed"] is False
    assert victim not in sb.entry_writes()
    assert result.counts["applied"] == len(plan) - 1


def test_undo_restores_every_field_including_deleted_entries(sb, tmp_path):
    client = sb.client(cache=False)
    df = load(sb)
    snapshot = server_rows(sb)
    billed = (
        df.fbtime.unbilled()
        .fbtime.mark_billed()
        .apply(client, confirm=True, max_changes=1000, journal=tmp_path, progress=False)
    )
    doomed = df[df["active"] & df["is_logged"] & df["billed"]].head(3)  # not in the first plan
    deleted = doomed.fbtime.delete().apply(client, confirm=True, journal=tmp_path, progress=False)
    assert deleted.counts["applied"] == 3
    restore = fbtime.undo(deleted.journal_path)
    assert [c.action for c in restore.changes] == ["create"] * 3
    recreated = restore.apply(client, confirm=True, journal=tmp_path, progress=False)
    assert recreated.ok and recreated.rows["new_id"].notna().all()
    undone = fbtime.undo(billed.journal_path).apply(
        client, confirm=True, max_changes=1000, journal=tmp_path, progress=False
    )
    assert undone.ok
    now = server_rows(sb)
    for entry_id, row in snapshot.items():
        if entry_id in doomed.index:
            continue
        assert now[entry_id] == row, entry_id
    writable = [*fbtime.api.fields.WRITABLE, "local_started_at", "local_timezone"]
    new_ids = recreated.rows["new_id"].astype(int).tolist()
    remade = sorted(tuple(str(now[i][k]) for k in writable) for i in new_ids)
    original = sorted(tuple(str(snapshot[i][k]) for k in writable) for i in doomed.index)
    assert remade == original


def test_retries_then_a_row_that_keeps_failing_is_reported(sb, tmp_path):
    plan = (
        load(sb)
        .fbtime.unbilled()
        .fbtime.mark_billed()
        .select(load(sb).fbtime.unbilled().fbtime.mark_billed().ids[:6])  # not future-dated
    )
    client = fbtime.Client(
        token=sb.token, business_id=sb.business_id, base_url=sb.url, cache=False, retries=2
    )
    sb.inject(429, times=1, method="PUT", headers={"Retry-After": "1"})
    sb.inject(503, times=1, method="PUT")
    result = plan.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
    assert result.ok and result.counts["applied"] == 6
    sb.inject(500, times=3, method="PUT", body={"message": "disk full"})
    again = load(sb).fbtime.unbilled().fbtime.mark_billed()
    first_six = again.select(again.ids[:6])
    result = first_six.apply(client, confirm=True, journal=tmp_path, progress=False, workers=1)
    assert result.counts["failed"] == 1 and result.counts["applied"] == 5
    failed = result.ids("failed")[0]
    assert "disk full" in result.rows.loc[failed, "reason"]
    assert server_rows(sb)[failed]["billed"] is False


def test_an_auth_error_stops_everything(sb, tmp_path):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    client = sb.client(cache=False)
    sb.inject(
        401,
        times=1,
        method="GET",
        endpoint="time_entry",
        body={"message": "invalid_token: revoked"},
    )
    with pytest.raises(fbtime.PartialApplyError) as info:
        plan.apply(client, confirm=len(plan), journal=tmp_path, progress=False, workers=1)
    result = info.value.result
    assert result.counts["failed"] == 1
    assert result.counts["not_attempted"] == len(plan) - 1
    assert sb.writes() == 0
    assert info.value.journal_path == str(result.journal_path)


def test_the_journal_records_every_write_and_never_the_token(sb, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    result = plan.apply(sb.client(cache=False), confirm=len(plan), journal=tmp_path, progress=False)
    text = result.journal_path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["type"] == "run" and lines[0]["business_id"] == sb.business_id
    intents = [r["entry_id"] for r in lines if r["type"] == "intent"]
    outcomes = {r["entry_id"]: r for r in lines if r["type"] == "outcome"}
    assert sorted(intents) == sorted(plan.ids) == sorted(outcomes)
    first = outcomes[plan.ids[0]]
    assert first["before"]["billed"] is False and first["after"] == {"billed": True}
    assert first["status"] == "applied" and first["http_status"] == 200
    assert sb.token not in text
    assert sb.token not in caplog.text
    assert oct(result.journal_path.stat().st_mode & 0o777) == "0o600"
