"""Summaries, periods, totals and utilization: hand-written answers and plain-pandas truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_series_equal

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.analysis import SUMMARY_COLUMNS
from fbtime.errors import QueryError

TZ = "America/Toronto"


def counted(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain-pandas version of the counted rows: logged, not deleted, with a duration."""
    keep = (frame["is_logged"] == True) & (frame["active"] != False)  # noqa: E712
    return frame[keep.fillna(False) & frame["duration"].notna()]


# -- hand-written answers ---------------------------------------------------------------------
def test_by_client_small_frame(small_frame):
    table = small_frame.fbtime.by_client()
    assert list(table.columns) == list(SUMMARY_COLUMNS)
    assert table.index.name == "client_id" and str(table.index.dtype) == "Int64"
    assert table.index.tolist() == [20, 10]  # most hours first
    assert table.loc[10, "hours"] == 1.5 and table.loc[20, "hours"] == 2.0
    assert table.loc[10, "entries"] == 2
    assert table.loc[10, "billable_hours"] == 1.5 and table.loc[20, "billable_hours"] == 0
    assert table.loc[10, "unbilled_hours"] == 1.0 and table.loc[10, "billed_hours"] == 0.5
    assert table.loc[10, "billable_ratio"] == 1.0 and table.loc[20, "billable_ratio"] == 0.0
    assert table.loc[10, "first_date"] == pd.Timestamp("2026-03-02")
    assert table.loc[10, "last_date"] == pd.Timestamp("2026-03-04")


def test_by_client_excludes_running_and_deleted_and_keeps_no_client(mixed_frame):
    table = mixed_frame.fbtime.by_client()
    assert table.loc[10, "hours"] == 3.0 and table.loc[20, "hours"] == 1.5
    no_client = table[table.index.isna()]
    assert len(no_client) == 1 and no_client["hours"].iloc[0] == 0.5
    assert table["entries"].sum() == 4
    assert table.loc[20, "unbilled_hours"] == 1.5  # billed NA reads as not billed


def test_summaries_show_names(small_frame):
    named = small_frame.fbtime.with_names(clients={10: "Acme", 20: "Globex"})
    table = named.fbtime.by_client()
    assert table.columns[0] == "client_name"
    assert table["client_name"].to_dict() == {20: "Globex", 10: "Acme"}


def test_totals_agree_with_server_meta(mixed_frame):
    totals = mixed_frame.fbtime.totals()
    assert totals.entries == 4 and totals.hours == 5.0
    assert totals.billable_hours == 4.5 and totals.unbilled_hours == 2.5
    assert totals.billed_hours == 2.0
    assert totals.total_logged_seconds == 32400  # deleted entry 5 counts, as on the server
    assert totals.total_unbilled_seconds == 23400
    assert totals.server_total_logged == 32400 and totals.agrees is True
    assert totals.to_frame().shape == (1, 15)
    assert totals.billable_amount is None  # no amounts without with_rates


def test_totals_disagree_or_unknown(mixed_frame):
    wrong = mixed_frame.copy()
    wrong.attrs = {"fbtime": {"meta": {"total": 7, "total_logged": 1, "total_unbilled": 23400}}}
    assert wrong.fbtime.totals().agrees is False
    bare = mixed_frame.copy()
    bare.attrs = {}
    assert bare.fbtime.totals().agrees is None


def test_utilization_per_teammate_week(small_frame):
    table = small_frame.fbtime.utilization(target_hours_per_week=10)
    week = pd.Timestamp("2026-03-02")
    assert table.loc[(1, week), "hours"] == 1.5
    assert table.loc[(1, week), "billable_hours"] == 1.5
    assert table.loc[(1, week), "utilization"] == 0.15
    assert table.loc[(2, week), "utilization"] == 0.0
    with pytest.raises(QueryError):
        small_frame.fbtime.utilization(0)


# -- period bucketing -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "utc,local_day",
    [
        ("2026-03-10T03:30:00Z", "2026-03-09"),  # evening in Toronto (EDT, -4)
        ("2026-03-08T04:30:00Z", "2026-03-07"),  # 23:30 EST, before the spring change
        ("2026-03-08T05:30:00Z", "2026-03-08"),  # 00:30 EST
        ("2026-03-08T07:30:00Z", "2026-03-08"),  # 03:30 EDT, after the change
        ("2026-03-09T03:30:00Z", "2026-03-08"),  # 23:30 EDT
        ("2026-11-01T03:30:00Z", "2026-10-31"),  # 23:30 EDT
        ("2026-11-01T05:30:00Z", "2026-11-01"),  # 01:30 EDT (first time round)
        ("2026-11-01T06:30:00Z", "2026-11-01"),  # 01:30 EST (second time round)
        ("2026-11-02T04:30:00Z", "2026-11-01"),  # 23:30 EST
        ("2026-11-02T05:30:00Z", "2026-11-02"),  # 00:30 EST
    ],
)
def test_daily_bucket_is_the_local_day(make_frame, utc, local_day):
    frame = make_frame([{"started_at": utc, "duration": 5400}])
    table = frame.fbtime.by_period("D", tz=TZ)
    assert table.index.tolist() == [pd.Timestamp(local_day)]
    assert table["hours"].tolist() == [1.5]


def test_weekly_and_monthly_buckets_across_dst(make_frame):
    frame = make_frame(
        [
            {"started_at": "2026-03-09T03:30:00Z", "duration": 3600},  # Sun 03-08 local
            {"started_at": "2026-03-09T04:30:00Z", "duration": 7200},  # Mon 03-09 local
            {"started_at": "2026-11-01T03:30:00Z", "duration": 1800},  # Sat 10-31 local
            {"started_at": "2026-11-02T04:30:00Z", "duration": 900},  # Sun 11-01 local
        ]
    )
    weeks = frame.fbtime.by_period("W", tz=TZ)["hours"]
    assert weeks[pd.Timestamp("2026-03-02")] == 1.0
    assert weeks[pd.Timestamp("2026-03-09")] == 2.0
    assert weeks[pd.Timestamp("2026-10-26")] == 0.75  # Sat 10-31 + Sun 11-01
    assert weeks.index.day_of_week.unique().tolist() == [0]  # weeks start Monday
    assert weeks.sum() == 3.75 and (weeks.index.to_series().diff().dropna().dt.days == 7).all()
    months = frame.fbtime.by_period("M", tz=TZ)["hours"]
    assert months[pd.Timestamp("2026-03-01")] == 3.0
    assert months[pd.Timestamp("2026-10-01")] == 0.5
    assert months[pd.Timestamp("2026-11-01")] == 0.25
    utc_days = frame.fbtime.by_period("D", tz="UTC")["hours"]
    assert utc_days[pd.Timestamp("2026-03-09")] == 3.0


def test_default_zone_is_the_most_common_local_timezone(make_frame):
    frame = make_frame(
        [
            {"started_at": "2026-03-10T03:30:00Z", "local_timezone": TZ},
            {"started_at": "2026-03-10T13:00:00Z", "local_timezone": TZ},
            {"started_at": "2026-03-10T13:00:00Z", "local_timezone": "Europe/Paris"},
        ]
    )
    assert frame.fbtime.by_period("D").index.min() == pd.Timestamp("2026-03-09")


def test_by_period_rejects_bad_arguments(small_frame):
    with pytest.raises(QueryError, match="freq"):
        small_frame.fbtime.by_period("Q")
    with pytest.raises(QueryError, match="by must be"):
        small_frame.fbtime.by_period("W", by="colour")
    with pytest.raises(QueryError, match="time zone"):
        small_frame.fbtime.by_period("W", tz="Mars/Olympus")


# -- ground truth on 5,000 random entries -----------------------------------------------------
@pytest.mark.parametrize(
    "method,column",
    [
        ("by_client", "client_id"),
        ("by_project", "project_id"),
        ("by_teammate", "identity_id"),
        ("by_service", "service_id"),
    ],
)
def test_summaries_match_plain_pandas(synthetic_frame, method, column):
    frame = synthetic_frame
    table = getattr(frame.fbtime, method)()
    rows = counted(frame)
    hours = rows["duration"].astype("float64") / 3600
    billable = rows["billable"].fillna(False).astype(bool)
    billed = rows["billed"].fillna(False).astype(bool)
    expect = pd.DataFrame(
        {
            "key": rows[column],
            "entries": 1,
            "hours": hours,
            "billable_hours": hours.where(billable, 0.0),
            "unbilled_hours": hours.where(billable & ~billed, 0.0),
            "billed_hours": hours.where(billed, 0.0),
        }
    )
    truth = expect.groupby("key", dropna=False).sum()
    assert len(table) == len(truth)
    assert table["entries"].sum() == len(rows)
    for name in ("hours", "billable_hours", "unbilled_hours", "billed_hours"):
        assert np.isclose(table[name].sum(), truth[name].sum())
        got = table[name].astype("float64").sort_index()
        want = truth[name].astype("float64").sort_index()
        assert np.allclose(got.to_numpy(), want.to_numpy()), name


def test_period_totals_match_plain_pandas(synthetic_frame):
    frame = synthetic_frame
    rows = counted(frame)
    total = rows["duration"].sum() / 3600
    for freq in ("D", "W", "M"):
        assert np.isclose(frame.fbtime.by_period(freq)["hours"].sum(), total)
    by_client = frame.fbtime.by_period("W", by="client", tz=TZ)
    client_hours = rows.groupby("client_id", dropna=False)["duration"].sum() / 3600
    got = by_client.sum().astype("float64")
    assert np.allclose(got.sort_index().to_numpy(), client_hours.sort_index().to_numpy())
    # independent weekly bucketing with to_period
    local = rows["started_at"].dt.tz_convert(TZ).dt.tz_localize(None)
    weeks = (rows["duration"] / 3600).groupby(local.dt.to_period("W-SUN").dt.start_time).sum()
    mine = frame.fbtime.by_period("W", tz=TZ)["hours"]
    assert_series_equal(
        mine[mine > 0].astype("float64"), weeks.astype("float64"), check_names=False,
        check_index_type=False, check_freq=False,
    )  # fmt: skip


def test_totals_match_plain_pandas(synthetic_frame):
    frame = synthetic_frame
    totals = frame.fbtime.totals()
    logged = frame[frame["is_logged"].fillna(False)]
    unbilled = logged[logged["billable"].fillna(False) & ~logged["billed"].fillna(False)]
    assert totals.total_logged_seconds == logged["duration"].sum()
    assert totals.total_unbilled_seconds == unbilled["duration"].sum()
    assert totals.entries == len(counted(frame))
    assert np.isclose(totals.hours, counted(frame)["duration"].sum() / 3600)
    assert np.isclose(totals.hours, frame.fbtime.by_client()["hours"].sum())
