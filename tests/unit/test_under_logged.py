"""under_logged: hours logged per teammate and week against the hours expected, with the
shortfall; weeks not over yet expect only their days so far."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import NOW

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.audit import FINDING_COLUMNS
from fbtime.errors import QueryError

# NOW is Friday 2026-03-20 08:00 in Toronto: the days over are Mon 9 to Thu 19 March
FULL_WEEKS = [9, 10, 11, 12, 13, 16, 17, 18, 19]


def day(d: int, identity: int = 1, hours: float = 8.0) -> dict:
    return {"identity_id": identity, "started_at": f"2026-03-{d:02d}T13:00:00Z",
            "duration": int(hours * 3600)}  # fmt: skip


def under(frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    return frame.fbtime.audit(["under_logged"], now=NOW, **kwargs)


def test_eight_hours_every_workday_is_no_finding(make_frame):
    frame = make_frame([day(d) for d in FULL_WEEKS])
    found = under(frame)
    assert found.empty and list(found.columns) == list(FINDING_COLUMNS)


def test_shortfall_per_teammate_and_week_and_the_silent_teammate_of_the_team(make_frame):
    frame = make_frame([*(day(d) for d in FULL_WEEKS), day(9, identity=2, hours=6)])
    found = under(frame, team=[1, 2, 3])
    assert found["teammate"].tolist() == ["2", "2", "3", "3"]
    assert found["detail"].tolist() == [
        "logged 6.00 h of 40.00 h expected in the week of Mon 2026-03-09 (5 workdays): "
        "34.00 h short",
        "logged 0.00 h of 32.00 h expected in the week of Mon 2026-03-16 (4 workdays so far): "
        "32.00 h short",
        "logged 0.00 h of 40.00 h expected in the week of Mon 2026-03-09 (5 workdays): "
        "40.00 h short",
        "logged 0.00 h of 32.00 h expected in the week of Mon 2026-03-16 (4 workdays so far): "
        "32.00 h short",
    ]
    assert set(found["severity"].astype(str)) == {"warning"}
    assert found["id"].isna().all() and found["client"].isna().all()
    # without the team list, only teammates with time in the frame are known
    assert set(under(frame)["teammate"]) == {"2"}


def test_expected_hours_per_teammate_by_id_and_by_name(make_frame):
    rows = [*(day(d) for d in FULL_WEEKS), *(day(d, identity=2, hours=4) for d in FULL_WEEKS)]
    frame = make_frame(rows).fbtime.with_names(teammates={1: "Zoë Roy", 2: "Hiro Tanaka"})
    assert under(frame, expected_hours_per_day={2: 4}).empty
    assert under(frame, expected_hours_per_day={"Hiro Tanaka": 4}).empty
    # everyone else at 7.5: teammate 1 is over it; Hiro at 5 is short by 1 h a day
    found = under(frame, expected_hours_per_day={None: 7.5, "Hiro Tanaka": 5})
    assert found["teammate"].tolist() == ["Hiro Tanaka", "Hiro Tanaka"]
    assert found["detail"].str.endswith(("5.00 h short", "4.00 h short")).all()
    found = under(frame, expected_hours_per_day=9)
    assert found["teammate"].tolist() == ["Zoë Roy", "Zoë Roy", "Hiro Tanaka", "Hiro Tanaka"]
    assert found["detail"].str.contains("of 45.00 h expected").sum() == 2


def test_weeks_start_on_the_business_day(make_frame):
    frame = make_frame([day(9, identity=1, hours=1)])
    found = under(frame, week_start="sunday")
    # the span runs from the first logged day (Mon 9) to Thu 19: two Sunday weeks
    assert found["detail"].tolist() == [
        "logged 1.00 h of 40.00 h expected in the week of Sun 2026-03-08 (5 workdays): "
        "39.00 h short",
        "logged 0.00 h of 32.00 h expected in the week of Sun 2026-03-15 (4 workdays so far): "
        "32.00 h short",
    ]


def test_the_loads_dates_bound_the_days_counted(make_frame):
    frame = make_frame([day(11), day(12), day(13)])
    frame.attrs["fbtime"] = {"filters": {"started_from": "2026-03-11T00:00:00Z",
                                         "started_to": "2026-03-13T23:59:59Z"}}  # fmt: skip
    assert under(frame).empty  # Wednesday to Friday: 3 workdays, 24 h
    frame.attrs["fbtime"]["filters"]["started_from"] = "2026-03-10T00:00:00Z"
    assert under(frame)["detail"].tolist() == [
        "logged 24.00 h of 32.00 h expected in the week of Mon 2026-03-09 (4 workdays): "
        "8.00 h short"
    ]


def test_not_part_of_the_default_audit(make_frame):
    frame = make_frame([day(9, hours=1)])
    assert "under_logged" not in set(frame.fbtime.audit(now=NOW)["rule"])


@pytest.mark.parametrize("bad", [-1, 25, "8", True, {1.5: 8}, {1: "x"}])
def test_bad_expected_hours_are_refused(make_frame, bad):
    with pytest.raises(QueryError, match="expected hours"):
        under(make_frame([day(9)]), expected_hours_per_day=bad)


def test_a_bad_team_is_refused(make_frame):
    with pytest.raises(QueryError, match="team"):
        under(make_frame([day(9)]), team=["Zoë"])
