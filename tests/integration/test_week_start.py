"""Weeks start when the business says, learnt from ``users/me`` at no cost to a load.

Over the sandbox: ``Sandbox(first_day_of_week=6)`` is a Sunday business. A load sends no
request for the week start; the first weekly view asks ``users/me`` once per client.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pandas as pd
import pytest

import fbtime
from fbtime.weeks import WeekStartWarning

END = dt.date(2026, 11, 30)  # a Monday


@pytest.fixture
def sunday():
    with fbtime.Sandbox(entries=400, seed=4, end=END, first_day_of_week=6) as sb:
        yield sb


def load(client, **kw):
    return fbtime.load_time_entries(client, team=True, progress=False, **kw)


def test_a_sunday_business_has_sunday_weeks_for_one_users_me(sunday):
    client = sunday.client(cache=False)
    sunday.reset_stats()
    df = load(client)
    assert sunday.stats()["GET users/me"] == 0  # a load sends nothing for it
    assert df.attrs["fbtime"]["week_start"] is None  # not asked yet
    weeks = df.fbtime.by_period("W")
    assert weeks.attrs["week_start"] == "sunday" and (weeks.index.day_of_week == 6).all()
    df.fbtime.utilization()
    df.fbtime.by_period("W", by="client")
    assert sunday.stats()["GET users/me"] == 1  # once for this client
    again = load(client)
    assert again.attrs["fbtime"]["week_start"] == "sunday"  # now the client knows
    assert sunday.stats()["GET users/me"] == 1


def test_the_weeks_hold_the_same_hours_whichever_day_they_start(sunday):
    df = load(sunday.client(cache=False))
    by_sunday = df.fbtime.by_period("W")
    by_monday = df.fbtime.by_period("W", week_start="monday")
    assert by_monday.attrs["week_start"] == "monday" and (by_monday.index.day_of_week == 0).all()
    assert by_sunday["hours"].sum() == pytest.approx(by_monday["hours"].sum())
    day = df.fbtime.by_period("D")["hours"]
    sunday_weeks = day.groupby(day.index - pd.to_timedelta((day.index.day_of_week + 1) % 7,
                                                           unit="D")).sum()  # fmt: skip
    assert by_sunday["hours"].to_numpy() == pytest.approx(sunday_weeks.to_numpy())


def test_a_monday_business_and_a_frame_without_a_client_have_monday_weeks():
    with fbtime.Sandbox(entries=150, seed=4, end=END) as sb:
        client = sb.client(cache=False)
        df = load(client)
        assert df.fbtime.by_period("W").attrs["week_start"] == "monday"
        client.close()  # no longer open: nothing to ask
    with fbtime.Sandbox(entries=150, seed=4, end=END, first_day_of_week=6) as sb:
        client = sb.client(cache=False)
        df = load(client)
        client.close()
        assert df.fbtime.by_period("W").attrs["week_start"] == "monday"
        assert sb.stats()["GET users/me"] == 0


def test_a_first_day_freshbooks_cannot_set_is_monday_with_a_warning(sunday):
    client = sunday.client(cache=False)
    df = load(client)
    me = client.get("/auth/api/v1/users/me")
    me["response"]["business_memberships"][0]["business"]["first_day_of_week"] = 3
    sunday.inject(200, endpoint="users/me", body=me)
    with pytest.warns(WeekStartWarning, match="first_day_of_week is '3'"):
        weeks = df.fbtime.by_period("W")
    assert weeks.attrs["week_start"] == "monday"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # asked once: no second warning
        df.fbtime.by_period("W")


def test_a_token_users_me_refuses_still_gets_weeks(sunday):
    client = sunday.client(cache=False)
    df = load(client)
    sunday.inject(403, endpoint="users/me")
    assert df.fbtime.by_period("W").attrs["week_start"] == "monday"
