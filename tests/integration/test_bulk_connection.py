"""Which client a plan, an undo or a resume writes with when given none.

The client a frame was loaded with (or that wrote a journal) while it is open in this
process; else ``fbtime.Client()`` as configured, for the same API only. Nothing keeps a
client alive for that: a frame, a plan or a journal holds only its id.
"""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

import fbtime
from fbtime.cli import main


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    """No token, business or saved login anywhere: only this process's clients know one."""
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
                 "FBTIME_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def unbilled_plan(client, n):
    df = fbtime.load_time_entries(client, team=True, progress=False)
    plan = df.fbtime.unbilled().fbtime.mark_billed()
    return plan.select(plan.ids[:n])


def test_an_undo_of_a_journal_written_in_this_process_applies_with_its_client(
    fresh_sandbox, no_account
):
    client = fresh_sandbox.client(cache=False)
    done = unbilled_plan(client, 3).apply(confirm=True, progress=False)
    undone = fbtime.undo(done.journal_path).apply(confirm=True, progress=False)
    assert undone.ok and undone.counts["applied"] == 3
    assert set(fresh_sandbox.entry_writes().values()) == {2}  # billed, then unbilled


def test_a_resume_in_this_process_uses_the_client_that_wrote_the_journal(fresh_sandbox, no_account):
    client = fresh_sandbox.client(cache=False)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(fbtime.PartialApplyError) as info:
        unbilled_plan(client, 3).apply(confirm=True, progress=False, cancel=cancel)
    assert fbtime.resume(info.value.journal_path, progress=False).counts["applied"] == 3


def test_a_frame_and_its_plan_do_not_keep_their_client_alive(fresh_sandbox, no_account):
    client = fresh_sandbox.client(cache=False)
    plan = unbilled_plan(client, 2)
    gone = weakref.ref(client)
    del client
    gc.collect()
    assert gone() is None
    with pytest.raises(fbtime.ConfigError, match="garbage-collected") as info:
        plan.apply(confirm=True, progress=False)
    assert "no FreshBooks access token" in str(info.value)  # and what is missing besides
    assert fresh_sandbox.writes() == 0


def test_a_resume_with_no_client_never_sends_a_journal_to_another_api(
    fresh_sandbox, no_account, monkeypatch, capsys
):
    client = fresh_sandbox.client(cache=False)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(fbtime.PartialApplyError) as info:
        unbilled_plan(client, 3).apply(confirm=True, progress=False, cancel=cancel)
    journal = info.value.journal_path
    client.close()  # the writer is gone: resume falls back to the configured login
    with fbtime.Sandbox(entries=50, seed=2, business_id=fresh_sandbox.business_id) as other:
        monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", other.token)
        monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(other.business_id))
        monkeypatch.setenv("FRESHBOOKS_API_URL", other.url)
        other.reset_stats()
        with pytest.raises(fbtime.PlanError, match="built from entries of"):
            fbtime.resume(journal, progress=False)
        assert main(["resume", journal]) == 2
        assert sum(other.stats().values()) == 0
    assert "built from entries of" in capsys.readouterr().err
    # naming the client is a choice made on purpose
    assert fbtime.resume(journal, fresh_sandbox.client(cache=False), progress=False).ok
