"""round_time: exact rounding in every direction, the logged time kept, money after rounding,
and plans that never write a rounded duration back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.bulk.builders import plan_mark_billed, plan_update
from fbtime.errors import QueryError
from fbtime.rounding import LOGGED_COLUMN, rounded_seconds, rounding_of

#: Logged seconds and what each becomes at 15 minutes (900 s), per direction.
SECONDS = [0, 1, 449, 450, 451, 899, 900, 901, 1349, 1350, 3046]
AT_15 = {
    "up": [0, 900, 900, 900, 900, 900, 900, 1800, 1800, 1800, 3600],
    "down": [0, 0, 0, 0, 0, 0, 900, 900, 900, 900, 2700],
    # a half step (450 s, 1,350 s) goes up
    "nearest": [0, 0, 0, 900, 900, 900, 900, 900, 900, 1800, 2700],
}


def frame_of(make_frame, seconds, **extra):
    return make_frame([{"duration": s, **extra} for s in seconds])


@pytest.mark.parametrize("how", ["up", "down", "nearest"])
def test_every_direction_at_15_minutes_exactly(make_frame, how):
    frame = frame_of(make_frame, SECONDS)
    rounded = frame.fbtime.round_time("15min", how=how)
    assert rounded["duration"].tolist() == AT_15[how]
    assert rounded["hours"].tolist() == [s / 3600 for s in AT_15[how]]
    assert rounded[LOGGED_COLUMN].tolist() == SECONDS
    assert str(rounded["duration"].dtype) == "Int64" and str(rounded["hours"].dtype) == "Float64"
    assert str(rounded[LOGGED_COLUMN].dtype) == "Int64"


@pytest.mark.parametrize(
    ("step", "how", "expected"),
    [
        ("6min", "up", [0, 360, 360, 360, 360, 1080, 3240]),
        ("6min", "nearest", [0, 0, 0, 360, 360, 1080, 2880]),
        ("30min", "up", [0, 1800, 1800, 1800, 1800, 1800, 3600]),
        ("30min", "down", [0, 0, 0, 0, 0, 0, 1800]),
        (pd.Timedelta(minutes=10), "nearest", [0, 0, 0, 0, 0, 1200, 3000]),
        (dt.timedelta(seconds=7), "nearest", [0, 0, 182, 182, 182, 1078, 3045]),
    ],
)
def test_other_steps(make_frame, step, how, expected):
    frame = frame_of(make_frame, [0, 1, 179, 180, 181, 1079, 3046])
    assert frame.fbtime.round_time(step, how=how)["duration"].tolist() == expected


def test_rounded_seconds_halves_go_up_and_an_odd_step_has_no_half():
    assert rounded_seconds(pd.Series([449, 450]).to_numpy(), 900, "nearest").tolist() == [0, 900]
    assert rounded_seconds(pd.Series([3, 4]).to_numpy(), 7, "nearest").tolist() == [0, 7]


def test_the_frame_given_is_not_modified_and_remembers_nothing(make_frame):
    frame = frame_of(make_frame, SECONDS)
    frame.attrs["fbtime"] = {"business_id": 1, "meta": {"total_logged": sum(SECONDS)}}
    before = frame.copy()
    rounded = frame.fbtime.round_time("15min", how="up")
    pd.testing.assert_frame_equal(frame, before)
    assert frame.attrs == {"fbtime": {"business_id": 1, "meta": {"total_logged": sum(SECONDS)}}}
    assert rounded.attrs["fbtime"]["rounded"] == {"step": 900, "how": "up"}
    assert rounded.attrs["fbtime"]["business_id"] == 1
    assert rounding_of(rounded) == {"step": 900, "how": "up"} and rounding_of(frame) is None
    # the server's totals are of the logged time: a rounded frame still agrees with them
    assert rounded.fbtime.totals().agrees is True
    assert rounded.fbtime.totals().hours == sum(AT_15["up"]) / 3600


def test_timers_unlogged_segments_and_negative_durations_keep_their_value(make_frame):
    frame = make_frame([
        {"duration": 100},
        {"duration": None, "is_logged": False, "timer_is_running": True},  # running timer
        {"duration": 100, "is_logged": False, "timer_id": 5},  # a paused timer's segment
        {"duration": -100},  # corrupt: the audit reports it as it is
    ])  # fmt: skip
    rounded = frame.fbtime.round_time("15min", how="up")
    assert rounded["duration"].tolist() == [900, pd.NA, 100, -100]
    assert rounded["hours"].isna().tolist() == [False, True, False, False]


def test_rounding_a_rounded_frame_rounds_the_logged_time_again(make_frame):
    frame = frame_of(make_frame, SECONDS)
    up = frame.fbtime.round_time("15min", how="up")
    pd.testing.assert_frame_equal(up.fbtime.round_time("15min", how="up"), up)  # idempotent
    # another step is what that step alone would give, never a rounding of the rounding
    again = up.fbtime.round_time("6min", how="down")
    pd.testing.assert_frame_equal(again, frame.fbtime.round_time("6min", how="down"))
    assert again.attrs["fbtime"]["rounded"] == {"step": 360, "how": "down"}


@pytest.mark.parametrize(
    "step", [15, 15.0, "15", "0min", "-15min", "15 parsecs", "1500ms", "2D", None, [15]]
)
def test_bad_steps_are_refused(make_frame, step):
    with pytest.raises(QueryError, match="step"):
        frame_of(make_frame, [60]).fbtime.round_time(step)


def test_a_bad_direction_is_refused(make_frame):
    with pytest.raises(QueryError, match="how must be one of up, nearest, down"):
        frame_of(make_frame, [60]).fbtime.round_time("15min", how="ceiling")


def test_money_after_rounding_uses_the_rounded_time(make_frame, one_project_rates):
    # 3,046 s at 95.55 an hour is 80.85; rounded up to an hour it is 95.55; 1 s up to
    # 15 min is 23.89 (23.8875 rounded half away from zero, once per entry)
    frame = frame_of(make_frame, [3046, 1])
    logged = frame.fbtime.with_rates(one_project_rates)
    assert logged["amount"].tolist() == [Decimal("80.85"), Decimal("0.03")]
    rounded = frame.fbtime.round_time("15min", how="up").fbtime.with_rates(one_project_rates)
    assert rounded["amount"].tolist() == [Decimal("95.55"), Decimal("23.89")]
    assert rounded.fbtime.totals().unbilled_amount == Decimal("119.44")
    assert rounded.fbtime.by_client().loc[10, "unbilled_amount"] == Decimal("119.44")
    assert rounded.fbtime.by_client().loc[10, "hours"] == 1.25
    down = frame.fbtime.round_time("15min", how="down").fbtime.with_rates(one_project_rates)
    assert down["amount"].tolist() == [Decimal("71.66"), Decimal("0.00")]


def test_the_audit_judges_the_logged_time(make_frame):
    # 10:00-10:05 and 10:10-10:20: rounded up to 15 min the first would overlap the second
    frame = make_frame([
        {"started_at": "2026-03-09T14:00:00Z", "duration": 300},
        {"started_at": "2026-03-09T14:10:00Z", "duration": 600},
        {"started_at": "2026-03-10T14:00:00Z", "duration": 1},  # not zero once rounded up
    ])  # fmt: skip
    rounded = frame.fbtime.round_time("15min", how="up")
    for rules in (["overlap"], ["zero_duration"], ["over_12h"]):
        pd.testing.assert_frame_equal(
            rounded.fbtime.audit(rules, now="2026-03-20"),
            frame.fbtime.audit(rules, now="2026-03-20"),
        )
    assert "time rounded up to 15 min per entry" in str(rounded.fbtime.summary(now="2026-03-20"))


def test_plans_from_a_rounded_frame_keep_the_logged_duration(make_frame):
    frame = frame_of(make_frame, [3046, 1])
    rounded = frame.fbtime.round_time("15min", how="up")
    plan = plan_mark_billed(rounded)
    assert [change.before["duration"] for change in plan.changes] == [3046, 1]
    assert [dict(change.after) for change in plan.changes] == [{"billed": True}] * 2
    # writing a duration back is only ever asked for by name
    asked = plan_update(rounded, duration=900)
    assert [change.before["duration"] for change in asked.changes] == [3046, 1]
    assert [change.after["duration"] for change in asked.changes] == [900, 900]
