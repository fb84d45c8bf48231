"""A plan applies where it came from: the API and business its frame was loaded from.

``plan.apply(confirm=True)`` with no client uses the client the frame was loaded with;
a plan (or journal) is never applied to another API or business, whatever the
environment says.
"""

from __future__ import annotations

import dataclasses

import pytest

import fbtime


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    """No token, business or saved login anywhere: only the frame knows the connection."""
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
                 "FBTIME_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def first(plan, n):
    """The plan's first ``n`` changes (newest entries; those dated after today are left
    out by mark_billed)."""
    return plan.select(plan.ids[:n])


def test_a_plan_from_a_sandbox_frame_applies_with_no_client(fresh_sandbox, no_account):
    client = fresh_sandbox.client(cache=False)  # open: the frame finds it (held weakly)
    df = fbtime.load_time_entries(client, team=True, progress=False)
    plan = first(df.fbtime.unbilled().fbtime.mark_billed(), 5)
    result = plan.apply(confirm=True, progress=False)
    assert result.ok and result.counts["applied"] == len(plan) == 5
    billed = fresh_sandbox.entries().set_index("id").loc[plan.ids, "billed"]
    assert billed.all()
    assert plan.api_url == fresh_sandbox.url


def test_with_no_client_a_plan_never_goes_to_another_api(fresh_sandbox, no_account,
                                                         monkeypatch, tmp_path):  # fmt: skip
    df = fbtime.load_time_entries(fresh_sandbox.client(cache=False), team=True, progress=False)
    plan = first(df.fbtime.unbilled().fbtime.mark_billed(), 3)
    saved = plan.save(tmp_path / "plan.json")
    with fbtime.Sandbox(entries=50, seed=2, business_id=fresh_sandbox.business_id) as other:
        # the environment now points at another API of the same business id
        monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", other.token)
        monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(other.business_id))
        monkeypatch.setenv("FRESHBOOKS_API_URL", other.url)
        other.reset_stats()
        for loaded in (fbtime.UpdatePlan.load(saved), plan.select(plan.ids[:1])):
            if loaded is not plan:  # as after the frame's client was closed
                loaded = dataclasses.replace(loaded, connection=None)
            with pytest.raises(fbtime.PlanError, match="built from entries of"):
                loaded.apply(confirm=True, progress=False)
        assert sum(other.stats().values()) == 0
        # naming the client is a choice the user makes on purpose
        moved = fbtime.UpdatePlan.load(saved).apply(other.client(cache=False), confirm=True,
                                                    progress=False)  # fmt: skip
        assert set(moved.rows["status"]) <= {"conflict", "applied", "already_applied"}


def test_the_frame_keeps_every_meta_key_the_server_sent(sandbox):
    df = fbtime.load_time_entries(sandbox.client(cache=False), team=True, progress=False)
    meta = df.attrs["fbtime"]["meta"]
    assert {"total", "total_logged", "total_unbilled", "total_logged_per_team_member",
            "total_logged_per_client"} <= set(meta)  # fmt: skip
    per_member = {m["identity_id"]: m["total_logged"] for m in meta["total_logged_per_team_member"]}
    logged = df[df["is_logged"]].groupby("identity_id")["duration"].sum()
    assert per_member == {int(k): int(v) for k, v in logged.items()}


def test_fbtime_apply_never_sends_a_saved_plan_to_another_api(
    fresh_sandbox, no_account, monkeypatch, tmp_path, capsys
):
    from fbtime.cli import main

    df = fbtime.load_time_entries(fresh_sandbox.client(cache=False), team=True, progress=False)
    saved = first(df.fbtime.unbilled().fbtime.mark_billed(), 2).save(tmp_path / "plan.json")
    with fbtime.Sandbox(entries=50, seed=2, business_id=fresh_sandbox.business_id) as other:
        monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", other.token)
        monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(other.business_id))
        monkeypatch.setenv("FRESHBOOKS_API_URL", other.url)
        other.reset_stats()
        assert main(["apply", str(saved), "--yes", "--journal-dir", str(tmp_path / "j")]) == 2
        assert sum(other.stats().values()) == 0
    assert "built from entries of" in capsys.readouterr().err
