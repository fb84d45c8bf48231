"""Timers as FreshBooks keeps them: unlogged segments sharing a ``timer_id``.

A running timer reports its whole time (closed segments and the open one up to the
audit's now); a paused timer never logged is a ``paused_timer`` finding, one per timer.
Hand-made frames with known answers; the sandbox's planted timers are checked in
tests/integration/test_reports_on_sandbox.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.analysis import TIMER_COLUMNS

NOW = pd.Timestamp("2026-03-20T12:00:00Z")


def segment(start: str, seconds: int | None, timer: int | None, running: bool, **extra):
    return {"is_logged": False, "started_at": start, "duration": seconds, "timer_id": timer,
            "timer_is_running": running, "billed": False, **extra}  # fmt: skip


@pytest.fixture
def frame(make_frame):
    return make_frame([
        {"started_at": "2026-03-20T09:00:00Z", "duration": 3600},  # 1: logged work
        # 2-4: timer 70 running: two closed segments (0.5 h, 0.25 h), open since 11:00
        segment("2026-03-20T08:00:00Z", 1800, 70, True),
        segment("2026-03-20T10:00:00Z", 900, 70, True),
        segment("2026-03-20T11:00:00Z", None, 70, True),
        # 5-6: timer 71 paused: 1 h and 0.5 h, the last ended 2026-03-17 15:30
        segment("2026-03-17T12:00:00Z", 3600, 71, False, identity_id=2),
        segment("2026-03-17T15:00:00Z", 1800, 71, False, identity_id=2),
        # 7: timer 72 running, one segment since 11:30
        segment("2026-03-20T11:30:00Z", None, 72, True, identity_id=3),
        # 8: an unlogged entry without a timer id, with time: paused, a timer of its own
        segment("2026-03-10T12:00:00Z", 7200, None, False, identity_id=4),
        # 9: timer 73 paused but deleted: not a timer any more
        segment("2026-03-12T12:00:00Z", 600, 73, False, active=False),
        # 10: a logged entry that came from a stopped timer: logged time, no timer left
        {"started_at": "2026-03-19T09:00:00Z", "duration": 1200, "timer_id": 74},
    ])  # fmt: skip


def test_each_timer_is_one_row_with_its_whole_time(frame):
    table = frame.fbtime.timers(now=NOW)
    assert list(table.columns) == list(TIMER_COLUMNS)
    assert table["first_id"].tolist() == [8, 5, 2, 7]  # by start
    by_first = table.set_index("first_id")
    assert by_first.loc[2, "state"] == "running" and by_first.loc[2, "segments"] == 3
    assert by_first.loc[2, "hours"] == pytest.approx(0.5 + 0.25 + 1.0)  # open one: 11:00-12:00
    assert by_first.loc[2, "last_active"] == NOW
    assert by_first.loc[5, "state"] == "paused" and by_first.loc[5, "hours"] == 1.5
    assert by_first.loc[5, "last_active"] == pd.Timestamp("2026-03-17T15:30:00Z")
    assert by_first.loc[7, "hours"] == 0.5 and by_first.loc[7, "segments"] == 1
    assert pd.isna(by_first.loc[8, "timer_id"]) and by_first.loc[8, "state"] == "paused"
    assert table["timer_id"].dtype == "Int64" and table["hours"].dtype == "Float64"


def test_timers_follow_the_clock_when_now_is_not_given(frame):
    from fbtime import clock

    with clock.fixed("2026-03-20T13:00:00Z"):
        table = frame.fbtime.timers()
    assert table.set_index("first_id").loc[2, "hours"] == pytest.approx(2.75)


def test_no_timers_is_an_empty_table_with_the_columns(make_frame):
    table = make_frame([{"duration": 3600}]).fbtime.timers(now=NOW)
    assert table.empty and list(table.columns) == list(TIMER_COLUMNS)


def test_a_paused_timer_is_one_finding_with_its_hours_and_age(frame):
    found = frame.fbtime.audit("paused_timer", now=NOW)
    assert found["id"].tolist() == [8, 5]
    assert found["detail"].tolist() == [
        "timer without id: 2.0 h in 1 segment(s), not logged; paused 9.9 days",
        "timer 71: 1.5 h in 2 segment(s), not logged; paused 2.9 days",
    ]
    assert (
        found["teammate"].tolist() == ["teammate 4", "teammate 2"]
        and (found["severity"] == "warning").all()
    )


def test_a_running_timer_reports_its_whole_time(frame):
    found = frame.fbtime.audit("running", now=NOW)
    assert found["id"].tolist() == [4, 7]
    assert found["detail"].tolist() == [
        "timer running for 1.8 h in 3 segments",
        "timer running for 0.5 h",
    ]


def test_timer_segments_are_no_other_rules_findings(frame):
    found = frame.fbtime.audit(now=NOW)
    segments = {2, 3, 4, 5, 6, 7, 8, 9}
    others = found[~found["rule"].isin(["running", "paused_timer"])]
    assert not set(others["id"].dropna()) & segments
    assert set(found["rule"]) >= {"running", "paused_timer"}
