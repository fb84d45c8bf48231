"""Plans built from a frame: which rows change (one definition, the analysis masks), the
reasons for the others, and plans that cannot be edited once built or read back.

No server: plans are built from hand-made frames (``make_frame``) and the shared ones.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import fbtime
from fbtime.bulk import builders, change, journal


def reasons(plan) -> dict[int, str]:
    return {s["id"]: s["reason"] for s in plan.skipped}


def test_mark_billed_changes_exactly_the_unbilled_entries(mixed_frame, synthetic_frame):
    for frame in (mixed_frame, synthetic_frame):
        plan = frame.fbtime.mark_billed(business_id=1)
        assert plan.ids == frame.fbtime.unbilled().index.tolist()
        assert sorted(plan.ids + list(reasons(plan))) == sorted(frame.index)


def test_a_logged_entry_with_no_duration_is_not_markable(make_frame):
    """Its hours are in no total (``unbilled()`` leaves it out), so no plan bills it."""
    df = make_frame([{"duration": None}, {"duration": 3600}, {"duration": None, "billed": True}])
    assert df.fbtime.unbilled().index.tolist() == [2]
    billed = df.fbtime.mark_billed(business_id=1)
    assert billed.ids == [2]
    assert reasons(billed)[1] == reasons(billed)[3] == "no duration: its hours are unknown"
    unbilled = df.fbtime.mark_unbilled(business_id=1)
    assert unbilled.ids == [] and reasons(unbilled)[3] == "no duration: its hours are unknown"
    # a note or a delete needs no hours: those plans take it
    assert df.fbtime.update(note="x", business_id=1).ids == [1, 2, 3]
    assert df.fbtime.delete(business_id=1).ids == [1, 2, 3]


def test_every_row_left_out_says_why(make_frame):
    df = make_frame(
        [
            {"active": False},
            {"is_logged": False, "duration": None, "timer_id": 9, "timer_is_running": True},
            {"is_logged": False, "duration": 600, "timer_id": 9},  # a paused timer's time
            {"billable": False},
            {"billed": True},
            {},
        ]
    )
    plan = df.fbtime.mark_billed(business_id=1)
    assert plan.ids == [6]
    assert reasons(plan) == {
        1: "deleted entry",
        2: "running timer: stop it before changing it",
        3: "running timer: stop it before changing it",
        4: "not billable: only billable time is invoiced",
        5: "already in the target state",
    }


def test_mark_billed_leaves_out_future_dated_entries_unless_asked(make_frame):
    # the clock is fixed at 2026-12-01T12:00Z; the business's zone is Toronto (UTC-5)
    df = make_frame(
        [
            {"started_at": "2026-12-01T23:00:00Z"},  # 18:00 on the 1st in Toronto: today
            {"started_at": "2026-12-02T06:00:00Z"},  # 01:00 on the 2nd in Toronto: future
            {"started_at": "2026-12-02T04:30:00Z"},  # 23:30 on the 1st in Toronto: today
            {"started_at": "2027-01-05T14:00:00Z"},
        ]
    )
    plan = df.fbtime.mark_billed(business_id=1)
    assert plan.ids == [1, 3]
    future = "dated in the future (after today): a wrong date? include_future=True bills it"
    assert reasons(plan) == {2: future, 4: future}
    assert df.fbtime.mark_billed(business_id=1, include_future=True).ids == [1, 2, 3, 4]
    assert {2, 4} <= set(df.fbtime.audit("future")["id"])  # what the audit flags


def test_a_built_plan_holds_what_the_rows_hold(mixed_frame):
    plan = mixed_frame.fbtime.update(note="checked", business_id=1)
    change = plan.changes[0]
    row = mixed_frame.loc[change.id]
    assert change.before["started_at"] == row["started_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert change.before["duration"] == row["duration"] and type(change.before["duration"]) is int
    assert change.before["billable"] is True and change.after == {"note": "checked"}
    assert change.hours == 1.0 and change.client_id == 10
    assert change.context["note"] == "work" and change.context["date"] == "2026-03-09"
    # the same plan read back is the same plan
    assert fbtime.UpdatePlan.from_dict(plan.to_dict()) == plan


def test_a_plan_cannot_be_edited_once_built(mixed_frame):
    plan = mixed_frame.fbtime.mark_billed(business_id=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.business_id = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        plan.changes[0].after["billed"] = False
    with pytest.raises(TypeError):
        plan.changes[0].before.setdefault("note", "x")
    with pytest.raises(AttributeError):
        plan.changes.append(plan.changes[0])  # type: ignore[attr-defined]


def test_a_frame_value_no_plan_can_hold_is_refused_when_built_naming_the_entry(make_frame):
    df = make_frame([{}, {"duration": -600}])
    with pytest.raises(fbtime.PlanError, match=r"entry 2: duration must be whole seconds"):
        df.fbtime.update(note="x", business_id=1)
    df = make_frame([{}])  # a typed frame cannot hold a lone surrogate; an object column can
    df["note"] = pd.Series(["half an emoji \ud83d"], index=df.index, dtype=object)
    with pytest.raises(fbtime.PlanError, match=r"entry 1: note .*not valid Unicode"):
        builders.plan_mark_billed(df, business_id=1)  # (the accessor refuses the dtype)


def test_a_plan_is_checked_once(mixed_frame, monkeypatch):
    """A built plan is checked as it is built, a loaded one as it is read: ``checked()``
    then does not check every change again, and the hash is computed once."""
    plan = mixed_frame.fbtime.mark_billed(business_id=1)
    calls = []
    real = builders.UpdatePlan.from_dict.__func__

    def counted(cls, data, **kw):
        calls.append(1)
        return real(cls, data, **kw)

    monkeypatch.setattr(builders.UpdatePlan, "from_dict", classmethod(counted))
    assert plan.checked() is plan and plan.sha256 == plan.sha256
    assert calls == []
    hand_made = dataclasses.replace(plan, changes=plan.changes[:1])
    assert hand_made.checked() == hand_made and calls == [1]  # checked in full, once


def test_a_journal_is_read_once(tmp_path, monkeypatch, mixed_frame):
    plan = mixed_frame.fbtime.mark_billed(business_id=1)
    log = journal.Journal.create(tmp_path, kind=plan.kind, business_id=1,
                                 header={"base_url": "https://api.example.com",
                                         "plan": plan.to_dict()})  # fmt: skip
    log.write("end", counts={})
    reads = []
    real = change.read_limited
    monkeypatch.setattr(change, "read_limited", lambda *a: reads.append(a) or real(*a))
    frame = fbtime.read_journal(log.path)
    assert len(reads) == 1
    assert frame["type"].tolist() == ["run", "end"]
    assert isinstance(frame, pd.DataFrame)
