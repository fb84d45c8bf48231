"""The sandbox's data generator: deterministic, realistic, and anomalies only where planted."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from fbtime.sandbox import generate
from fbtime.sandbox.data import ENTRY_FIELDS, PLANTED_KEYS

END = date(2026, 3, 31)
TZ = ZoneInfo("America/Toronto")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


@pytest.fixture(scope="module")
def ds():
    return generate(2000, seed=1, end=END)


@pytest.fixture(scope="module")
def df(ds):
    return _frame(ds)


REFERENCE = (
    "clients", "projects", "services", "team_members", "staff", "business_group",
    "team_member_rates", "service_rates", "system", "former_teammates", "days_off",
)  # fmt: skip


def test_same_arguments_give_same_data():
    a, b = generate(500, seed=7, end=END), generate(500, seed=7, end=END)
    assert a.entries == b.entries
    assert a.planted == b.planted
    assert a.business == b.business and a.identities == b.identities
    for name in REFERENCE:
        assert getattr(a, name) == getattr(b, name), name
    other = generate(500, seed=8, end=END)
    assert other.entries != a.entries
    assert other.system["id"] != a.system["id"]
    assert {m["uuid"] for m in other.team_members}.isdisjoint(m["uuid"] for m in a.team_members)


@pytest.mark.parametrize("n", [0, 1, 37, 100, 501, 2000])
def test_exactly_the_requested_number_of_entries(n):
    ds = generate(n, seed=2, end=END)
    assert len(ds.entries) == n
    assert len({e["id"] for e in ds.entries}) == n


def test_small_datasets_plant_nothing():
    planted = generate(50, seed=1, end=END).planted
    assert all(not ids for key, ids in planted.items() if key != "missing_note")


def test_entries_have_the_api_fields(ds):
    for e in ds.entries:
        assert list(e) == [*ENTRY_FIELDS, "updated_at"]
        assert ISO.match(e["started_at"]) and ISO.match(e["created_at"])
        assert e["local_timezone"] == "America/Toronto"


def test_reference_data_is_realistic_and_consistent(ds, df):
    assert ds.identities[0]["role"] == "owner" and len(ds.identities) == 6
    orgs = [c["organization"] for c in ds.clients]
    assert "Société Générale Café" in orgs and any(re.search(r"[\u4e00-\u9fff]", o) for o in orgs)
    assert len(ds.clients) == 8 and len(ds.services) == 6 and len(ds.projects) == 14
    projects = {p["id"]: p for p in ds.projects}
    assert sum(p["internal"] and p["client_id"] is None for p in ds.projects) == 2
    clients, services = {c["id"] for c in ds.clients}, {s["id"] for s in ds.services}
    assert set(df.client_id.dropna().astype(int)) <= clients
    assert set(df.service_id.dropna().astype(int)) <= services
    with_project = df[df.project_id.notna()]
    for _, row in with_project.iterrows():
        project = projects[int(row.project_id)]
        assert (row.client_id if pd.notna(row.client_id) else None) == project["client_id"]
        assert row.service_id in {s["id"] for s in project["services"]}
    assert (df.identity_id == ds.owner["id"]).sum() > 100
    assert df.note.isin(["Réunion avec l'équipe 📅", "設計レビュー"]).any()


def test_ordinary_entries_are_weekday_working_hours(ds, df):
    planted = {i for k, ids in ds.planted.items() if k != "missing_note" for i in ids}
    ordinary = df[~df.id.isin(planted)]
    for _, row in ordinary.iterrows():
        local = datetime.fromisoformat(row.local_started_at)
        assert local == row.start.to_pydatetime().astimezone(TZ).replace(tzinfo=None)
        assert local.weekday() < 5
        assert local.time() >= time(8, 30)
        assert local + timedelta(seconds=int(row.duration)) <= datetime.combine(
            local.date(), time(18, 30)
        )
        created = datetime.fromisoformat(row.created_at)
        assert created >= row.start.to_pydatetime() + timedelta(seconds=int(row.duration))
    durations = ordinary.duration.astype(int)
    assert (durations % 900 == 0).mean() > 0.5 and (durations % 60 != 0).any()


def test_days_off_have_no_entries(ds, df):
    assert ds.days_off
    local_day = df.local_started_at.str[:10]
    for ident, day in ds.days_off:
        assert not ((df.identity_id == ident) & (local_day == day.isoformat())).any()


def _overlaps(df: pd.DataFrame) -> set[int]:
    live = df[df.active & df.is_logged]
    found: set[int] = set()
    for _, g in live.groupby("identity_id"):
        s = g.start.to_numpy()
        e = g.end.to_numpy()
        hit = (s[:, None] < e[None, :]) & (s[None, :] < e[:, None])
        np.fill_diagonal(hit, False)
        found |= set(g.id.to_numpy()[hit.any(axis=1)])
    return found


def _frame(ds) -> pd.DataFrame:
    frame = pd.DataFrame(ds.entries)
    frame["start"] = pd.to_datetime(frame["started_at"], utc=True)
    frame["end"] = frame["start"] + pd.to_timedelta(frame["duration"].astype(float), unit="s")
    return frame


def test_planted_lists_match_independent_computation(ds, df):
    _check_planted(ds, df)


@pytest.mark.parametrize(
    ("n", "seed", "teammates", "tz"),
    [(100, 2, 1, "America/Toronto"), (300, 3, 3, "Asia/Tokyo"), (5000, 4, 8, "Europe/Paris")],
)
def test_planted_lists_hold_for_other_seeds_sizes_and_zones(n, seed, teammates, tz):
    ds = generate(n, seed=seed, end=END, teammates=teammates, timezone=tz)
    _check_planted(ds, _frame(ds))


def _check_planted(ds, df):
    p = ds.planted
    assert set(p) == set(PLANTED_KEYS)
    live = df[df.active & df.is_logged]
    unlogged = df[df.active & ~df.is_logged]
    assert p["timer_segments"] == sorted(unlogged.id)
    assert p["running"] == sorted(unlogged[unlogged.duration.isna()].id)
    timer = unlogged.timer.map(lambda t: t["id"])
    paused = unlogged.groupby(timer).filter(lambda g: g.duration.notna().all())
    assert p["paused_timer"] == sorted(paused.groupby(timer).id.min())
    assert p["deleted"] == sorted(df[~df.active].id)
    assert set(p["overlap"]) == _overlaps(df)
    keys = ["identity_id", "started_at", "duration", "client_id", "project_id", "service_id"]
    dup = live[live.duplicated([*keys, "note"], keep=False)]
    assert sorted(dup.id) == p["duplicate"] and set(p["duplicate"]) <= set(p["overlap"])
    no_client = live[live.billable & live.client_id.isna() & ~live.internal]
    assert sorted(no_client.id) == p["billable_no_client"]
    assert sorted(live[live.internal & live.billable].id) == p["internal_billable"]
    assert sorted(live[live.duration > 12 * 3600].id) == p["over_12h"]
    assert set(live.loc[live.id.isin(p["over_12h"]), "duration"]) == {50400}
    assert sorted(live[live.duration == 0].id) == p["zero_duration"]
    assert sorted(live[live.note.isna() | (live.note == "")].id) == p["missing_note"]
    after_end = datetime.combine(END + timedelta(days=1), time(), UTC)
    assert sorted(df[df.start >= after_end].id) == p["future"]
    for key in PLANTED_KEYS:
        if key not in ("running", "timer_segments", "paused_timer", "deleted", "missing_note"):
            assert 2 <= len(p[key]) <= (8 if key == "overlap" else 4), key
            assert not set(p[key]) & set(p["timer_segments"] + p["deleted"]), key
    assert (len(p["running"]), len(p["paused_timer"]), len(p["timer_segments"])) == (2, 2, 7)


def test_running_timers_and_timer_ids(ds, df):
    running = df[df.id.isin(ds.planted["running"])]
    assert running.duration.isna().all()
    assert all(t["is_running"] for t in running.timer)
    assert (running.started_at.str[:10] == END.isoformat()).all()
    logged = [t["id"] for t in df[df.is_logged].timer if t is not None]
    assert len(logged) == len(set(logged)) > 2  # a stopped timer's entry: its own id


def test_a_timer_is_segments_sharing_one_id(ds, df):
    segments = df[df.id.isin(ds.planted["timer_segments"])].copy()
    segments["timer_id"] = segments.timer.map(lambda t: t["id"])
    segments["running"] = segments.timer.map(lambda t: t["is_running"])
    assert not segments.is_logged.any() and segments.active.all()
    per_timer = segments.groupby("timer_id").agg(
        n=("id", "size"), running=("running", "all"), stopped=("running", "any"),
        open=("duration", lambda d: int(d.isna().sum())), who=("identity_id", "nunique"),
    )  # fmt: skip
    assert sorted(per_timer.n) == [1, 1, 2, 3] and (per_timer.who == 1).all()
    assert (per_timer.running == per_timer.stopped).all()  # one is_running per timer
    assert (per_timer.open == per_timer.running.astype(int)).all()  # running: one open one
    three = per_timer[per_timer.n == 3].iloc[0]
    assert three.running and three.open == 1  # two closed segments, then the open one
    paused = per_timer[~per_timer.running]
    assert sorted(paused.n) == [1, 2] and (paused.open == 0).all()
    others = {t["id"] for t in df[~df.id.isin(segments.id)].timer if t is not None}
    assert not others & set(per_timer.index)


def test_billing_mix(df):
    logged = df[df.active & df.is_logged]
    assert logged.billable.mean() > 0.6
    assert not (logged.billed & ~logged.billable).any()
    old = logged[logged.start < pd.Timestamp("2026-02-01", tz="UTC")]
    recent = logged[logged.start >= pd.Timestamp("2026-03-20", tz="UTC")]
    assert old[old.billable].billed.mean() > recent[recent.billable].billed.mean()
    assert logged.internal.any() and not logged[logged.internal & ~logged.billable].client_id.any()


def test_span_grows_with_size():
    small, big = generate(500, seed=1, end=END), generate(20_000, seed=1, end=END)
    first = min(e["started_at"] for e in small.entries)
    assert min(e["started_at"] for e in big.entries) < first
    per_day = pd.DataFrame(big.entries).groupby(["identity_id", "local_started_at"]).size()
    assert per_day.max() <= 6


def test_a_former_teammate_took_the_oldest_days_of_one_seat(ds, df):
    (former,) = ds.former_teammates
    assert former not in {i["id"] for i in ds.identities}
    seat = ds.identities[-1]["id"]
    theirs = df[df.identity_id == former].local_started_at.str[:10]
    successor = df[df.identity_id == seat].local_started_at.str[:10]
    assert len(theirs) and theirs.max() < successor.min()  # one left, the other took over
    for ident, day in ds.days_off:  # days off stay inside each teammate's working span
        if ident == former:
            assert theirs.min() < day.isoformat() < theirs.max()


@pytest.mark.parametrize(
    ("teammates", "has_former", "rates"),
    [(1, False, 1), (3, False, 3), (4, True, 3 + 1)],  # the 4th teammate has no rate
)
def test_small_teams_cover_fewer_cases(teammates, has_former, rates):
    small = generate(600, seed=3, end=END, teammates=teammates)
    assert bool(small.former_teammates) is has_former
    assert len(small.staff) == teammates
    no_identity = [m["business_role_name"] for m in small.team_members if m["identity_id"] is None]
    # an invitation not accepted yet, and a member who never logs in ("Unassigned")
    assert no_identity == (["business_employee", "no_seat_employee"] if teammates > 1 else [])
    assert len(small.team_member_rates) == rates
