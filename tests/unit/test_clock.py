"""fbtime.clock: one calendar "now" that a test, a doctest or a report can fix.

The suite itself runs on a fixed calendar (root conftest.py, ``FIXED_NOW``); these tests
fix it differently inside a block and check everything calendar-shaped follows.
"""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest
from conftest import build_frame

import fbtime
from fbtime import clock
from fbtime.config import ENV_NOW
from fbtime.sandbox import generate


@pytest.fixture
def unfixed(monkeypatch):
    """The clock as a user's process has it: nothing fixed, no FBTIME_NOW."""
    monkeypatch.delenv(ENV_NOW, raising=False)
    previous = clock.fix(None)
    yield
    clock.fix(previous)


def test_the_suite_runs_on_the_fixed_calendar():
    assert clock.now() == dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    assert clock.now() == clock.as_utc(os.environ[ENV_NOW])  # for child processes too


def test_unfixed_it_is_the_real_time_in_utc(unfixed):
    before = dt.datetime.now(dt.UTC)
    now = clock.now()
    assert before <= now <= dt.datetime.now(dt.UTC)
    assert now.tzinfo is dt.UTC


def test_fixed_holds_within_the_block_and_puts_the_previous_setting_back():
    outer = clock.now()
    with clock.fixed("2031-05-06T07:08:09+02:00") as inner:
        assert inner == clock.now() == dt.datetime(2031, 5, 6, 5, 8, 9, tzinfo=dt.UTC)
        with clock.fixed(dt.date(2030, 1, 1)):
            assert clock.now() == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        assert clock.now() == inner
    assert clock.now() == outer


def test_fbtime_now_in_the_environment_fixes_it_for_child_processes(unfixed, monkeypatch):
    monkeypatch.setenv(ENV_NOW, "2027-03-04T05:06:07")  # naive: UTC
    assert clock.now() == dt.datetime(2027, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    monkeypatch.setenv(ENV_NOW, "2027-03-04")
    assert clock.now() == dt.datetime(2027, 3, 4, tzinfo=dt.UTC)
    with clock.fixed("2020-01-01"):  # fixed in the process wins over the environment
        assert clock.today() == dt.date(2020, 1, 1)


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "12/01/2026", "2026-12-01T25:00"])
def test_an_unreadable_fbtime_now_is_a_config_error_naming_the_variable(
    unfixed, monkeypatch, value
):
    monkeypatch.setenv(ENV_NOW, value)
    with pytest.raises(fbtime.ConfigError, match=f"{ENV_NOW} must be an ISO date"):
        clock.now()


def test_a_value_that_is_no_date_is_refused():
    with pytest.raises(fbtime.ConfigError, match="not int"):
        clock.fix(1700000000)  # type: ignore[arg-type]


def test_today_is_the_day_in_the_zone_asked_for():
    with clock.fixed("2026-12-01T02:00:00Z"):
        assert clock.today() == dt.date(2026, 12, 1)
        assert clock.today("America/Toronto") == dt.date(2026, 11, 30)
        assert clock.today(dt.timezone(dt.timedelta(hours=14))) == dt.date(2026, 12, 1)


def test_the_audits_now_is_the_clocks():
    frame = build_frame([{"started_at": "2026-01-10T15:00:00Z"}])  # billable, unbilled
    with clock.fixed("2026-02-01"):
        assert frame.fbtime.audit(["old_unbilled"]).empty
        aging = frame.fbtime.aging()
        assert aging.loc["0–30", "entries"] == 1
    with clock.fixed("2026-03-01"):
        found = frame.fbtime.audit(["old_unbilled"])
        assert found["detail"].tolist() == ["unbilled for 49 days"]
        assert frame.fbtime.aging().loc["31–60", "entries"] == 1
    with clock.fixed("2026-01-01"):
        assert frame.fbtime.audit(["future"])["id"].tolist() == [1]


def test_a_sandbox_without_end_ends_the_day_before_the_clocks_today():
    with clock.fixed("2027-06-15T10:00:00Z"):
        ds = generate(entries=200, seed=4)
    assert ds.end == dt.date(2027, 6, 14)
    explicit = generate(entries=200, seed=4, end=dt.date(2027, 6, 14))
    assert ds.entries == explicit.entries and ds.team_members == explicit.team_members
    ordinary = [e for e in ds.entries if e["id"] not in ds.planted["future"]]
    assert max(e["started_at"] for e in ordinary) < "2027-06-15"


def test_a_sandboxs_entry_made_for_a_test_starts_at_the_clocks_now():
    with (
        clock.fixed("2026-12-01T09:30:00Z"),
        fbtime.Sandbox(entries=10, seed=1, in_process=True) as sb,
    ):
        entry = sb.create_entry()
    assert entry["started_at"] == "2026-12-01T09:30:00Z"


def test_the_aging_clock_ignores_the_calendar_when_now_is_given():
    frame = build_frame([{"started_at": "2026-01-10T15:00:00Z"}])
    with clock.fixed("2026-02-01"):
        assert frame.fbtime.aging(now=pd.Timestamp("2026-06-01")).loc["90+", "entries"] == 1
