"""Weeks start when the business says (``business.first_day_of_week``), or as asked.

Hand-made frames; the week start a load records is set in ``attrs`` as a load does
(the end-to-end path over the sandbox is in tests/integration/test_week_start.py).
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.errors import QueryError
from fbtime.weeks import WeekStartWarning, frame_week_start, week_start
from fbtime.widgets.view import ExplorerState, chart_png, explore_view

TZ = "America/Toronto"
#: Sat 2026-03-07, Sun 03-08, Mon 03-09 and Sun 03-15 (local afternoons).
DAYS = ("2026-03-07T18:00:00Z", "2026-03-08T18:00:00Z", "2026-03-09T18:00:00Z",
        "2026-03-15T18:00:00Z")  # fmt: skip


@pytest.fixture
def frame(make_frame):
    return make_frame([{"started_at": day, "duration": 3600 * (n + 1)}
                       for n, day in enumerate(DAYS)])  # fmt: skip


def recorded(frame: pd.DataFrame, start: str) -> pd.DataFrame:
    out = frame.copy()
    out.attrs["fbtime"] = {"business_id": 1, "filters": {}, "week_start": start}
    return out


@pytest.mark.parametrize(("value", "start"), [(0, "monday"), (6, "sunday"), (None, "monday")])
def test_first_day_of_week_0_is_monday_and_6_is_sunday(value, start):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the values FreshBooks sends
        assert week_start(value) == start


@pytest.mark.parametrize("value", [1, 3, 7, -1, "6", True])
def test_any_other_value_is_monday_with_a_warning_naming_it(value):
    with pytest.warns(WeekStartWarning, match=f"first_day_of_week is {str(value)!r}"):
        assert week_start(value) == "monday"


def test_weeks_start_on_monday_unless_the_frame_or_the_caller_says_otherwise(frame):
    monday = frame.fbtime.by_period("W", tz=TZ)["hours"]
    assert monday.to_dict() == {pd.Timestamp("2026-03-02"): 3.0, pd.Timestamp("2026-03-09"): 7.0}
    assert frame.fbtime.by_period("W", tz=TZ).attrs["week_start"] == "monday"
    sunday = recorded(frame, "sunday").fbtime.by_period("W", tz=TZ)
    assert sunday["hours"].to_dict() == {
        pd.Timestamp("2026-03-01"): 1.0,  # Sat 03-07 ends the week of Sun 03-01
        pd.Timestamp("2026-03-08"): 5.0,  # Sun 03-08 and Mon 03-09
        pd.Timestamp("2026-03-15"): 4.0,
    }
    assert sunday.attrs["week_start"] == "sunday"
    assert (sunday.index.day_of_week == 6).all()
    back = recorded(frame, "sunday").fbtime.by_period("W", tz=TZ, week_start="Monday")
    assert back["hours"].to_dict() == monday.to_dict() and back.attrs["week_start"] == "monday"


def test_sunday_weeks_are_gap_free_and_sum_to_the_same_hours(frame):
    table = frame.fbtime.by_period("W", by="client", tz=TZ, week_start="sunday")
    assert (table.index.to_series().diff().dropna().dt.days == 7).all()
    assert table.to_numpy().sum() == frame["hours"].sum()


def test_utilization_weeks_follow_the_week_start(frame):
    table = recorded(frame, "sunday").fbtime.utilization(target_hours_per_week=10, tz=TZ)
    weeks = table.index.get_level_values("week").tolist()
    assert weeks == [pd.Timestamp(d) for d in ("2026-03-01", "2026-03-08", "2026-03-15")]
    assert table.attrs["week_start"] == "sunday"
    assert table["hours"].tolist() == [1.0, 5.0, 4.0]


def test_a_week_start_that_is_no_day_is_refused_before_anything(frame):
    for bad in ("tuesday", 0, "", "mon"):
        with pytest.raises(QueryError, match="week_start must be 'monday' or 'sunday'"):
            frame.fbtime.by_period("W", week_start=bad)
    with pytest.raises(QueryError):
        frame.fbtime.utilization(week_start="sat")


def test_a_recorded_week_start_fbtime_does_not_know_is_read_as_monday(frame):
    odd = recorded(frame, "wednesday")
    assert frame_week_start(odd) == "monday" == frame_week_start(frame)


def test_the_weekly_chart_names_its_week_start(frame):
    ax = recorded(frame, "sunday").fbtime.plot.weekly_hours(tz=TZ, now="2026-04-01")
    assert ax.get_xlabel() == f"week (Sunday start, {TZ})"
    ax2 = frame.fbtime.plot.weekly_hours(tz=TZ, now="2026-04-01", week_start="sunday")
    assert ax2.get_xlabel() == f"week (Sunday start, {TZ})"
    assert frame.fbtime.plot.weekly_hours(tz=TZ).get_xlabel() == f"week (Monday start, {TZ})"
    plt.close("all")


def test_the_explorer_weeks_follow_the_week_start(frame):
    state = ExplorerState(group_by="week")
    view = explore_view(recorded(frame, "sunday"), state, tz=TZ)
    assert view.week_start == "sunday" and view.table.attrs["week_start"] == "sunday"
    assert view.table.index.tolist() == [pd.Timestamp(d) for d in ("2026-03-01", "2026-03-08",
                                                                  "2026-03-15")]  # fmt: skip
    assert view.table["hours"].tolist() == [1.0, 5.0, 4.0]
    mine = explore_view(recorded(frame, "sunday"), state, tz=TZ, week_start="monday")
    assert mine.table.index.tolist() == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-09")]
    assert chart_png(view, "week").startswith(b"\x89PNG")
    panel = recorded(frame, "sunday").fbtime.explore(debounce=0)
    assert panel.week_start == "sunday"
    panel.group_by.value = "week"
    assert panel.view is not None and panel.view.table.index[0] == pd.Timestamp("2026-03-01")
