"""Bulk changes refuse unsafe input before anything is written, and survive a kill."""

import dataclasses
import json
import os
import random
import subprocess
import sys

import pytest
from groundtruth import kill_at_journal_line

import fbtime
from fbtime.bulk import UpdatePlan
from fbtime.bulk.journal import read_state
from fbtime.cli import main


def load(sb):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)


@pytest.fixture
def plan(fresh_sandbox):
    return load(fresh_sandbox).fbtime.unbilled().fbtime.mark_billed()


def test_apply_without_confirmation_is_refused(fresh_sandbox, plan, tmp_path):
    fresh_sandbox.reset_stats()
    with pytest.raises(fbtime.ConfirmationError, match="confirm=True"):
        plan.apply(fresh_sandbox.client(cache=False), journal=tmp_path)
    with pytest.raises(fbtime.ConfirmationError, match=f"confirm={len(plan)}"):
        plan.apply(fresh_sandbox.client(cache=False), confirm=True, journal=tmp_path)
    assert sum(fresh_sandbox.stats().values()) == 0
    assert not list(tmp_path.iterdir())


def test_a_plan_from_another_business_is_refused(fresh_sandbox, plan, tmp_path):
    other = fbtime.Client(
        token=fresh_sandbox.token,
        business_id=fresh_sandbox.business_id + 1,
        base_url=fresh_sandbox.url,
        cache=False,
    )
    fresh_sandbox.reset_stats()
    with pytest.raises(fbtime.PlanError, match="is for business"):
        plan.apply(other, confirm=len(plan), journal=tmp_path)
    assert sum(fresh_sandbox.stats().values()) == 0


def test_a_frame_whose_business_differs_from_the_one_named_is_refused(fresh_sandbox):
    with pytest.raises(fbtime.PlanError, match="loaded from business"):
        load(fresh_sandbox).fbtime.mark_billed(business_id=fresh_sandbox.business_id + 1)


def test_a_frame_without_ids_is_refused(fresh_sandbox):
    frame = load(fresh_sandbox).reset_index(drop=True)
    with pytest.raises(AttributeError, match="id"):
        frame.fbtime.mark_billed()
    from fbtime.bulk import plan_mark_billed

    with pytest.raises(fbtime.PlanError, match="no 'id'"):
        plan_mark_billed(frame)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="something-else"), "not an fbtime plan"),
        (lambda d: d["changes"][0].update(id="12x"), "id must be a positive integer"),
        (lambda d: d["changes"][0]["after"].update(billed="yes"), "billed must be True or False"),
        (lambda d: d["changes"][0]["after"].update(colour="red"), "writable fields are"),
        (lambda d: d["changes"][0].update(action="merge"), "action must be"),
        (lambda d: d["changes"].append(dict(d["changes"][0])), "more than once"),
        (lambda d: d.update(business_id="abc"), "business_id"),
        (lambda d: d.update(created_at="last week"), "created_at"),
    ],
)
def test_a_plan_file_edited_into_an_invalid_state_is_refused(plan, tmp_path, edit, message):
    path = plan.save(tmp_path / "plan.json")
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(fbtime.PlanError, match=message):
        UpdatePlan.load(path)


def test_saved_plans_round_trip_and_are_private(plan, tmp_path):
    path = plan.save(tmp_path / "plan.json")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = UpdatePlan.load(path)
    assert back.ids == plan.ids and back.business_id == plan.business_id
    assert back.changes[0].before == plan.changes[0].before


def test_an_old_plan_needs_explicit_confirmation(fresh_sandbox, plan, tmp_path):
    plan = dataclasses.replace(plan, created_at="2026-01-01T00:00:00+00:00")
    fresh_sandbox.reset_stats()
    with pytest.raises(fbtime.ConfirmationError, match="allow_stale"):
        plan.apply(fresh_sandbox.client(cache=False), confirm=len(plan), journal=tmp_path)
    assert sum(fresh_sandbox.stats().values()) == 0


def test_a_damaged_journal_is_refused(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"type": "intent"}\n')
    with pytest.raises(fbtime.PlanError, match="not an fbtime journal"):
        fbtime.undo(path)
    with pytest.raises(fbtime.PlanError, match="no journal file"):
        fbtime.undo(tmp_path / "missing.jsonl")


def _env(sb, tmp_path):
    return {
        **os.environ,
        "FRESHBOOKS_ACCESS_TOKEN": sb.token,
        "FRESHBOOKS_BUSINESS_ID": str(sb.business_id),
        "FRESHBOOKS_API_URL": sb.url,
        "FBTIME_CACHE_DIR": str(tmp_path / "cache"),
    }


@pytest.mark.slow
def test_cli_plans_applies_resumes_and_undoes(fresh_sandbox, tmp_path, monkeypatch, capsys):
    for key, value in _env(fresh_sandbox, tmp_path).items():
        monkeypatch.setenv(key, value)
    journals = tmp_path / "journals"
    fresh_sandbox.reset_stats()
    assert main(["mark-billed", "--team", "--save", str(tmp_path / "plan.json")]) == 0
    assert "dry run" in capsys.readouterr().out and fresh_sandbox.writes() == 0
    assert main(["plan", "show", str(tmp_path / "plan.json")]) == 0
    assert "UpdatePlan mark_billed" in capsys.readouterr().out
    assert main(["apply", str(tmp_path / "plan.json")]) == 1  # no --yes, no terminal
    assert "pass --yes" in capsys.readouterr().err and fresh_sandbox.writes() == 0
    code = main(["apply", str(tmp_path / "plan.json"), "--yes", "--journal-dir", str(journals)])
    assert code == 0
    journal = next(journals.glob("*.jsonl"))
    applied = len(read_state(journal).applied())
    assert applied == fresh_sandbox.writes() > 0
    assert main(["resume", str(journal)]) == 0
    assert fresh_sandbox.writes() == applied  # nothing applied twice
    assert main(["undo", str(journal), "--apply", "--yes", "--journal-dir", str(journals)]) == 0
    # unbilled again: every entry the apply billed (those dated after today were left out)
    assert len(load(fresh_sandbox).fbtime.unbilled().fbtime.mark_billed()) == applied


def _kill_apply_and_resume(seed, tmp_path):
    rng = random.Random(seed)
    with fbtime.Sandbox(entries=300, seed=seed, latency=0.004) as sb:
        plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
        path = plan.save(tmp_path / f"plan-{seed}.json")
        journals = tmp_path / f"journals-{seed}"
        script = (
            "import fbtime, sys; from fbtime.bulk import UpdatePlan; "
            "p = UpdatePlan.load(sys.argv[1]); "
            "p.apply(confirm=len(p), max_changes=len(p), journal=sys.argv[2], workers=2, "
            "progress=False)"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(journals)],
            env=_env(sb, tmp_path),
            stdout=subprocess.DEVNULL,
        )
        kill_after = rng.randint(2, len(plan))  # journal lines written before the kill
        kill_at_journal_line(child, journals, kill_after)
        journal = next(journals.glob("*.jsonl"))
        state = read_state(journal)
        assert not state.finished
        result = fbtime.resume(journal, sb.client(cache=False), progress=False)
        writes = sb.entry_writes()
        billed = sb.entries().set_index("id")["billed"]
        return plan, result, writes, billed, read_state(journal)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.slow
def test_an_apply_killed_at_a_random_point_resumes_exactly_once(seed, tmp_path):
    plan, result, writes, billed, journal = _kill_apply_and_resume(seed, tmp_path)
    assert result.ok
    assert set(writes) == set(plan.ids)
    assert set(writes.values()) == {1}  # every planned entry written exactly once
    assert billed.loc[plan.ids].all()
    assert {o["entry_id"] for o in journal.applied()} == set(plan.ids)
    assert journal.finished
