"""A plan, an undo or a journal run twice: a double-click, the CLI run again, a teammate.

Every planned write happens exactly once whatever is run twice: the review panel's
Confirm clicked twice, the same plan applied again in one process, two resumes of one
journal at once, and an undo applied again (the same plan, or an undo built again from
the same journal, in this process or another). Counts come from the sandbox: requests
it received, writes it made, entries it holds.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter

import pandas as pd
import pytest

import fbtime
from adversarial.hostile_api import Hostile, dead_url
from adversarial.tamper import child_env
from fbtime.bulk.journal import read_state
from fbtime.widgets import PlanReview

FINGERPRINT = ["identity_id", "started_at", "duration", "note", "client_id", "project_id",
               "service_id"]  # fmt: skip


@pytest.fixture
def sb(fresh_sandbox):
    return fresh_sandbox


def load(sb):
    return fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)


def plan_of(sb, n):
    plan = load(sb).fbtime.unbilled().fbtime.mark_billed()
    return plan.select(plan.ids[:n])


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


# -- the same plan twice in one process -------------------------------------------------------
def test_a_double_click_on_confirm_applies_once(sb, tmp_path):
    plan = plan_of(sb, 8)
    sb.latency = 0.1
    review = PlanReview(plan, sb.client(cache=False), journal=tmp_path, background=True)
    review.apply_button.click()
    review.confirm_button.click()
    assert review.confirm_button.disabled  # disabled at the first click
    review.confirm_button.click()  # a double-click: ipywidgets delivers both
    review._confirmed()  # and a click that raced the disabling
    assert review.wait(30) is not None and review.result.ok
    sb.latency = 0
    assert len(list(tmp_path.glob("*.jsonl"))) == 1  # one apply, one journal
    assert set(sb.entry_writes()) == set(plan.ids) and set(sb.entry_writes().values()) == {1}


def test_the_same_plan_applied_again_in_one_process_is_refused(sb, tmp_path):
    plan = plan_of(sb, 4)
    saved = plan.save(tmp_path / "plan.json")
    first = plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
    assert first.ok
    sb.reset_stats()
    for again in (plan, fbtime.UpdatePlan.load(saved), plan.select(plan.ids)):
        with pytest.raises(fbtime.AlreadyAppliedError, match="already applied") as info:
            again.apply(sb.client(cache=False), confirm=True, journal=tmp_path, progress=False)
        assert isinstance(info.value, fbtime.BulkError)
        assert str(first.journal_path) in str(info.value) and "resume" in str(info.value)
    assert sum(sb.stats().values()) == 0
    assert len(list(tmp_path.glob("*.jsonl"))) == 1
    # a plan that was refused before anything was sent is not taken for applied
    other = plan_of(sb, 6).select(plan_of(sb, 6).ids[:2])
    with pytest.raises(fbtime.ConfirmationError):
        other.apply(sb.client(cache=False), journal=tmp_path)
    assert other.apply(sb.client(cache=False), confirm=True, journal=tmp_path,
                       progress=False).ok  # fmt: skip


# -- one journal, two resumes -----------------------------------------------------------------
def stopped_journal(sb, tmp_path, n=12):
    plan = plan_of(sb, n)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(fbtime.PartialApplyError) as info:
        plan.apply(sb.client(cache=False), confirm=True, journal=tmp_path, cancel=cancel)
    return plan, info.value.journal_path


@pytest.mark.slow
def test_two_resumes_of_one_journal_at_once_the_second_is_refused(sb, tmp_path):
    plan, journal = stopped_journal(sb, tmp_path)
    gate, results = threading.Event(), []  # the first resume waits after its first entry
    first = threading.Thread(
        target=lambda: results.append(
            fbtime.resume(journal, sb.client(cache=False), progress=False, workers=1,
                          on_progress=lambda done, total: gate.wait(60))
        )
    )  # fmt: skip
    first.start()
    wait_for(lambda: sb.stats()["PUT time_entry"] >= 1)
    # a second resume is refused before any request: its client points where nothing listens
    nowhere = fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=dead_url(),
                            cache=False, retries=0)  # fmt: skip
    with pytest.raises(fbtime.JournalLockedError, match="another apply, resume or undo"):
        fbtime.resume(journal, nowhere, progress=False)
    # the CLI too: a second terminal
    child = subprocess.run(
        [sys.executable, "-m", "fbtime", "resume", str(journal)],
        env=child_env(sb, tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert child.returncode == 1 and "another apply, resume or undo" in child.stderr
    assert first.is_alive()  # the refusals came while the first one ran
    gate.set()
    first.join(60)
    assert results and results[0].ok
    state = read_state(journal)  # the chain holds: one writer at a time
    assert state.finished and set(state.outcomes) == set(plan.ids)
    assert set(sb.entry_writes()) == set(plan.ids) and set(sb.entry_writes().values()) == {1}
    assert sb.stats()["PUT time_entry"] == len(plan)


# -- undo twice -------------------------------------------------------------------------------
def deleted_journal(sb, tmp_path, n=3):
    df = load(sb)
    doomed = df[df["active"] & df["is_logged"] & df["billed"]].head(n)
    result = doomed.fbtime.delete().apply(sb.client(cache=False), confirm=True,
                                          journal=tmp_path / "delete", progress=False)  # fmt: skip
    assert result.counts["applied"] == n
    return doomed, result.journal_path


def key(values) -> tuple:
    return tuple(None if pd.isna(v) else str(v) for v in values)


def copies(sb, doomed):
    """How many active entries hold each deleted entry's fingerprint."""
    stored = sb.entries()
    held = Counter(key(row) for row in stored.loc[stored["active"], FINGERPRINT].itertuples(
        index=False))  # fmt: skip
    wanted = doomed.reset_index()[FINGERPRINT].astype(object)
    wanted["started_at"] = doomed["started_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    return [held[key(row)] for row in wanted.itertuples(index=False)]


def test_an_undo_built_again_and_applied_again_creates_nothing(sb, tmp_path):
    doomed, journal = deleted_journal(sb, tmp_path)
    client = sb.client(cache=False)
    first = fbtime.undo(journal).apply(client, confirm=True, journal=tmp_path, progress=False)
    assert first.ok and first.counts["applied"] == 3
    sb.reset_stats()
    again = fbtime.undo(journal).apply(client, confirm=True, journal=tmp_path, progress=False)
    assert sb.stats()["POST time_entries"] == 0
    assert again.ok and again.counts["already_applied"] == 3
    assert again.rows["new_id"].tolist() == first.rows["new_id"].tolist()
    assert copies(sb, doomed) == [1, 1, 1]
    # undoing the second run deletes nothing: the first run's journal owns the entries
    assert len(fbtime.undo(again.journal_path)) == 0


@pytest.mark.slow
def test_the_cli_run_again_and_a_second_process_create_nothing(sb, tmp_path):
    doomed, journal = deleted_journal(sb, tmp_path)
    saved = fbtime.undo(journal).save(tmp_path / "undo.json")
    env = child_env(sb, tmp_path)
    runs = [
        ["undo", str(journal), "--apply", "--yes", "--journal-dir", str(tmp_path / "u1")],
        ["undo", str(journal), "--apply", "--yes", "--journal-dir", str(tmp_path / "u2")],
        ["apply", str(saved), "--yes", "--journal-dir", str(tmp_path / "u3")],
    ]
    for argv in runs:
        child = subprocess.run([sys.executable, "-m", "fbtime", *argv], env=env,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
        assert child.returncode == 0, child.stderr
    assert sb.stats()["POST time_entries"] == 3
    assert copies(sb, doomed) == [1, 1, 1]


def test_two_undos_of_one_journal_at_once_the_second_is_refused(sb, tmp_path):
    doomed, journal = deleted_journal(sb, tmp_path)
    sb.reset_stats()
    gate, results = threading.Event(), []
    first = threading.Thread(
        target=lambda: results.append(
            fbtime.undo(journal).apply(sb.client(cache=False), confirm=True,
                                       journal=tmp_path / "u1", progress=False, workers=1,
                                       on_progress=lambda done, total: gate.wait(60))
        )
    )  # fmt: skip
    first.start()
    wait_for(lambda: sb.stats()["POST time_entries"] >= 1)
    with pytest.raises(fbtime.JournalLockedError):
        fbtime.undo(journal).apply(sb.client(cache=False), confirm=True,
                                   journal=tmp_path / "u2", progress=False)  # fmt: skip
    assert not (tmp_path / "u2").exists()  # refused before its journal was made
    gate.set()
    first.join(60)
    assert results and results[0].ok
    assert copies(sb, doomed) == [1, 1, 1]


def test_a_lost_answer_to_a_create_is_found_again_not_posted_twice(sb, tmp_path):
    doomed, journal = deleted_journal(sb, tmp_path, n=2)
    sb.reset_stats()
    with Hostile("forward", upstream=sb.url, lose_posts=1) as api:  # made, but no answer
        client = fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=api.url,
                               cache=False, retries=0)  # fmt: skip
        result = fbtime.undo(journal).apply(client, confirm=True, journal=tmp_path,
                                            progress=False, workers=1)  # fmt: skip
    assert result.ok and result.counts["applied"] == 2
    assert sb.stats()["POST time_entries"] == 2
    assert copies(sb, doomed) == [1, 1]
    reasons = [o["reason"] for o in read_state(result.journal_path).outcomes.values()]
    assert sum("found again" in reason for reason in reasons) == 1
