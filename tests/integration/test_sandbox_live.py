"""The sandbox answers as the live recordings do (``tests/data/captures``, facts sheet
sections 2, 3, 5, 7, 8 and 9a), and keeps its earlier behaviours as options.

Over real HTTP; expectations come from the sandbox's own data (``sb.entries()``,
``sb.dataset``) and from the recorded answers' own values.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import requests

import fbtime
from fbtime.sandbox import Sandbox
from fbtime.sandbox.app import RateWindow

END = date(2026, 3, 31)
CAPTURES = Path(__file__).parents[1] / "data" / "captures"
VND, JSON_UTF8 = "application/vnd.api+json", "application/json; charset=utf-8"


def capture(name: str):
    return json.loads((CAPTURES / name).read_text())


@pytest.fixture(scope="module")
def sb():
    with Sandbox(entries=300, seed=3, end=END) as sandbox:
        yield sandbox


@pytest.fixture
def fresh():
    with Sandbox(entries=300, seed=5, end=END) as sandbox:
        yield sandbox


def session(sandbox: Sandbox, token: str | None = None) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token or sandbox.token}"
    return s


def entries_url(sandbox: Sandbox, entry_id: int | None = None) -> str:
    base = f"{sandbox.url}/timetracking/business/{sandbox.business_id}/time_entries"
    return base if entry_id is None else f"{base}/{entry_id}"


def newest_created_first(df: pd.DataFrame) -> list[int]:
    return list(df.sort_values(["created_at", "id"], ascending=[False, True]).id)


# -- order --------------------------------------------------------------------------------
def test_lists_come_newest_created_first_and_a_create_while_paging_repeats_a_row(fresh):
    s = session(fresh)
    params = {"team": "true", "per_page": 5}
    first = s.get(entries_url(fresh), params={**params, "page": 1}).json()["time_entries"]
    df = fresh.entries()
    live = df[df.active & df.is_logged]
    assert [e["id"] for e in first] == newest_created_first(live)[:5]
    # an entry started long ago but created now comes first: order is by creation
    made = s.post(entries_url(fresh), json={"time_entry": {
        "started_at": "2025-01-06T15:00:00Z", "duration": 600}}).json()["time_entry"]  # fmt: skip
    second = s.get(entries_url(fresh), params={**params, "page": 2}).json()["time_entries"]
    assert second[0]["id"] == first[-1]["id"]  # everything moved down one place
    again = s.get(entries_url(fresh), params={**params, "page": 1}).json()["time_entries"]
    assert again[0]["id"] == made["id"]


def test_rows_created_in_the_same_second_come_by_ascending_id(sb):
    df = sb.entries()
    live = df[df.active & df.is_logged]
    same = live[live.duplicated("created_at", keep=False)]
    assert len(same) >= 2  # the planted duplicates share their original's creation time
    ids, page = [], 1
    while True:
        body = session(sb).get(entries_url(sb), params={"team": "true", "per_page": 100,
                                                        "page": page}).json()  # fmt: skip
        ids += [e["id"] for e in body["time_entries"]]
        if page >= body["meta"]["pages"]:
            break
        page += 1
    assert ids == newest_created_first(live)
    for _, group in same.groupby("created_at"):
        where = [ids.index(i) for i in group.id]
        assert where == sorted(where) and list(group.sort_values("id").id) == [
            ids[i] for i in sorted(where)
        ]


def test_started_order_is_kept_as_an_option():
    with Sandbox(entries=150, seed=3, end=END, list_order="started") as old:
        body = session(old).get(entries_url(old), params={"team": "true", "per_page": 10}).json()
        df = old.entries()
    live = df[df.active & df.is_logged]
    want = live.sort_values(["started_at", "id"], ascending=False).id[:10]
    assert [e["id"] for e in body["time_entries"]] == list(want)


# -- PUT ----------------------------------------------------------------------------------
def test_a_live_put_clears_the_links_it_leaves_out_and_keeps_the_rest(fresh):
    df = fresh.entries()
    row = df[df.active & df.is_logged & df.client_id.notna() & df.project_id.notna()].iloc[0]
    s = session(fresh)
    before = s.get(entries_url(fresh, int(row.id))).json()["time_entry"]
    body = {"time_entry": {"billed": True}}  # what some clients send to mark billed
    after = s.put(entries_url(fresh, int(row.id)), json=body).json()["time_entry"]
    assert after == {**before, "billed": True, "client_id": None, "project_id": None}
    # the recorded update's own body (no client_id/project_id): the same rule
    recorded = capture("nango_live_update_time_entry.request.json")
    again = s.put(entries_url(fresh, int(row.id)), json=recorded).json()["time_entry"]
    want = capture("nango_live_update_time_entry.response.json")["time_entry"]
    assert (again["client_id"], again["project_id"]) == (want["client_id"], want["project_id"])
    assert again["note"] == want["note"] and again["duration"] == want["duration"]
    for kept in ("identity_id", "billable", "internal", "local_timezone", "service_id"):
        assert again[kept] == before[kept], kept


@pytest.mark.parametrize(
    ("mode", "client_kept", "note_kept"),
    [("live", False, True), ("partial", True, True)],
)
def test_put_modes_differ_only_in_what_they_clear(fresh, mode, client_kept, note_kept):
    fresh.put_mode = mode
    df = fresh.entries()
    row = df[df.active & df.is_logged & df.client_id.notna() & df.note.notna()].iloc[1]
    put = session(fresh).put(entries_url(fresh, int(row.id)), json={"time_entry": {"billed": True}})
    after = put.json()["time_entry"]
    assert bool(after["client_id"] == row.client_id) is client_kept
    assert bool(after["note"] == row.note) is note_kept


def test_a_project_put_changes_only_what_it_sends(fresh):
    project = fresh.dataset.projects[0]
    url = f"{fresh.url}/projects/business/{fresh.business_id}/project/{project['id']}"
    before = dict(project)
    s = session(fresh)
    r = s.put(url, json=capture("nango_live_update_project_partial.request.json"))
    assert r.status_code == 200 and r.headers["Content-Type"] == VND
    body = r.json()
    assert list(body) == ["project", "abilities"] and len(body["abilities"]) == 22
    after = body["project"]
    assert after["title"] == "Updated Title" and after["client_id"] == before["client_id"]
    unchanged = set(before) - {"title", "updated_at", "group_id"}
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert after["updated_at"] >= before["updated_at"]
    listed = s.get(f"{fresh.url}/projects/business/{fresh.business_id}/projects",
                   params={"per_page": 100}).json()["projects"]  # fmt: skip
    assert next(p for p in listed if p["id"] == project["id"])["title"] == "Updated Title"
    assert s.put(url, json={"project": {"budget": "lots"}}).status_code == 422
    assert s.put(url, json={"title": "no envelope"}).status_code == 422
    assert s.put(url.replace(str(project["id"]), "1"), json={"project": {}}).status_code == 404
    employee = fresh.token_for(fresh.dataset.identities[1]["id"])
    assert session(fresh, employee).put(url, json={"project": {"title": "x"}}).status_code == 403


# -- headers ------------------------------------------------------------------------------
def test_every_answer_carries_the_live_headers_and_its_familys_content_type(fresh):
    s, b, a = session(fresh), fresh.business_id, fresh.account_id
    entry = int(fresh.entries().query("active").id.iloc[0])
    answers = {
        "list": (s.get(entries_url(fresh)), VND),
        "one": (s.get(entries_url(fresh, entry)), VND),
        "create": (
            s.post(
                entries_url(fresh),
                json={"time_entry": {"started_at": "2026-03-02T15:00:00Z", "duration": 60}},
            ),
            VND,
        ),
        "update": (s.put(entries_url(fresh, entry), json={"time_entry": {"note": "x"}}), VND),
        "not found": (s.get(entries_url(fresh, 1)), VND),
        "projects": (s.get(f"{fresh.url}/projects/business/{b}/projects"), VND),
        "services": (s.get(f"{fresh.url}/comments/business/{b}/services"), VND),
        "clients": (s.get(f"{fresh.url}/accounting/account/{a}/users/clients"), "application/json"),
        "users/me": (s.get(f"{fresh.url}/auth/api/v1/users/me"), JSON_UTF8),
        "team": (s.get(f"{fresh.url}/auth/api/v1/businesses/{b}/team_members"), JSON_UTF8),
        "delete": (s.delete(entries_url(fresh, entry)), None),
    }
    remaining = []
    for name, (r, content_type) in answers.items():
        assert r.headers.get("Content-Type") == content_type, name
        assert r.headers["X-API-Version"] == "2023-02-20", name
        assert ("X-Version" in r.headers) is (name not in ("services", "clients", "users/me",
                                                           "team")), name  # fmt: skip
        assert r.headers["X-RateLimit-Limit"] == "600", name
        reset, after = int(r.headers["X-RateLimit-Reset"]), int(r.headers["Retry-After"])
        now = time.time()
        assert now - 1 <= reset <= now + 61 and abs(reset - now - after) <= 2, name
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
    # one count for every family: each answer used one more of the same 600
    assert remaining == list(range(599, 599 - len(answers), -1))
    assert answers["delete"][0].status_code == 204 and answers["delete"][0].content == b""


def test_accounting_posts_have_a_count_of_their_own(fresh):
    s = session(fresh)
    first = s.get(entries_url(fresh))
    post = s.post(f"{fresh.url}/accounting/account/{fresh.account_id}/users/clients", json={})
    assert (post.headers["X-RateLimit-Limit"], post.headers["X-RateLimit-Remaining"]) == (
        "250",
        "249",
    )
    later = s.get(entries_url(fresh))
    assert int(first.headers["X-RateLimit-Remaining"]) - 1 == int(
        later.headers["X-RateLimit-Remaining"]
    )


def test_an_injected_answer_carries_only_the_retry_after_it_was_given(fresh):
    fresh.inject(503, times=1)
    r = session(fresh).get(entries_url(fresh))
    assert r.status_code == 503 and "Retry-After" not in r.headers
    assert "X-RateLimit-Remaining" in r.headers
    fresh.inject(429, times=1, headers={"Retry-After": "1"})
    assert session(fresh).get(entries_url(fresh)).headers["Retry-After"] == "1"


def test_without_a_limit_there_are_no_limit_headers():
    with Sandbox(entries=10, seed=1, end=END, rate_limit=None) as open_sb:
        r = session(open_sb).get(entries_url(open_sb))
    assert not {"X-RateLimit-Limit", "Retry-After"} & set(r.headers)
    assert r.headers["X-API-Version"] == "2023-02-20"


def test_a_rolling_window_counts_the_last_per_seconds_and_resets_with_the_oldest():
    window = RateWindow(3, per=60.0)
    assert window.take(100.0) == (2, 160.0, False)
    assert window.take(110.0) == (1, 160.0, False)
    assert window.take(130.0) == (0, 160.0, False)
    assert window.take(140.0) == (0, 160.0, True)  # refused, and not counted
    assert window.take(160.5) == (0, 170.0, False)  # the oldest left: one place again
    assert window.take(175.0) == (0, 190.0, False)
    assert window.take(300.0) == (2, 360.0, False)  # a quiet minute: the whole window
    fixed = RateWindow(3, per=60.0, rolling=False)
    assert [fixed.take(t)[0] for t in (100.0, 110.0, 119.0, 121.0)] == [2, 1, 0, 2]
    assert fixed.take(122.0)[1] == 180.0


def test_the_sandbox_answers_429_past_the_limit_with_a_retry_after(fresh):
    fresh.set_rate_limit(3, per=60.0)
    s = session(fresh)
    answers = [s.get(entries_url(fresh)) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    wait = int(answers[3].headers["Retry-After"])
    assert 1 <= wait <= 60
    assert math.isclose(int(answers[3].headers["X-RateLimit-Reset"]), time.time() + wait,
                        abs_tol=2)  # fmt: skip


# -- what create fills, users/me, team ----------------------------------------------------
def test_create_fills_the_local_start_in_the_creating_identitys_zone(fresh):
    s = session(fresh)
    body = capture("nango_live_create_time_entry.request.json")
    body["time_entry"]["client_id"] = fresh.dataset.clients[0]["id"]
    made = s.post(entries_url(fresh), json=body).json()["time_entry"]
    recorded = capture("nango_live_create_time_entry.response.json")["time_entry"]
    assert list(made) == list(recorded)  # the live key order
    zone = s.get(f"{fresh.url}/auth/api/v1/users/me").json()["response"]["profile"]["timezone"]
    assert made["local_timezone"] == zone == "America/Toronto"
    assert made["local_started_at"] == "2024-06-29T06:00:00"  # 10:00Z in Toronto (EDT)
    assert (made["billable"], made["internal"]) == (recorded["billable"], recorded["internal"])
    sent = s.post(entries_url(fresh), json={"time_entry": {
        "started_at": "2026-03-02T15:00:00Z", "duration": 60,
        "local_started_at": "2026-03-02T16:00:00", "local_timezone": "Europe/Paris",
    }}).json()["time_entry"]  # fmt: skip
    assert (sent["local_started_at"], sent["local_timezone"]) == (
        "2026-03-02T16:00:00",
        "Europe/Paris",
    )


@pytest.mark.parametrize("first_day", [0, 6])
def test_users_me_and_the_staff_list_say_when_the_week_starts(first_day):
    with Sandbox(entries=10, seed=1, end=END, first_day_of_week=first_day) as box:
        s = session(box)
        me = s.get(f"{box.url}/auth/api/v1/users/me").json()["response"]
        staff = s.get(f"{box.url}/auth/api/v1/users/business/{box.business_id}").json()
    assert me["business_memberships"][0]["business"]["first_day_of_week"] == first_day
    assert staff["response"]["first_day_of_week"] == first_day
    assert list(me)[:4] == ["id", "identity_id", "email", "profile"]
    assert me["profile"]["first_name"] == box.dataset.owner["first_name"]


def test_a_week_start_freshbooks_cannot_set_is_refused():
    with pytest.raises(ValueError, match="first_day_of_week must be 0"):
        Sandbox(entries=10, seed=1, first_day_of_week=1)


def test_the_team_pages_without_pages_until_the_total_and_skips_members_without_login(sb):
    members = sb.dataset.team_members
    assert sum(m["identity_id"] is None for m in members) == 2
    sb.reset_stats()
    team = fbtime.load_team(sb.client(cache=False), per_page=3)
    assert sb.stats()["GET team_members"] == math.ceil(len(members) / 3)  # and no more
    assert set(team.index) == {m["identity_id"] for m in members if m["identity_id"]}


def test_flat_totals_are_kept_as_an_option():
    with Sandbox(entries=150, seed=3, end=END, meta_totals="flat") as old:
        meta = session(old).get(entries_url(old), params={"team": "true"}).json()["meta"]
    assert all(list(m) == ["identity_id", "total_logged"]
               for m in meta["total_logged_per_team_member"])  # fmt: skip
    assert all(list(c) == ["client_id", "total_logged"] for c in meta["total_logged_per_client"])
