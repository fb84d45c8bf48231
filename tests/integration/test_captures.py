"""Answers recorded from the live API (``tests/data/captures``, provenance in its
``SOURCES.md``) go through fbtime as a real account's would; and the sandbox answers in
the same shapes.

The recorded bodies are served over real HTTP by a sandbox told to answer with them
(``Sandbox.inject``), so they pass through the client, paging, frame building and the
parsers exactly as a live answer does. Expected values are the recordings' own.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import fbtime
from fbtime import schema
from fbtime.api.ratelimit import published_window
from fbtime.auth.identity import parse_identity
from fbtime.errors import AuthError, NotFoundError, ValidationError, error_for_status
from fbtime.frame import records_to_frame
from fbtime.sandbox import Sandbox
from fbtime.weeks import week_start

CAPTURES = Path(__file__).parents[1] / "data" / "captures"
LIST = "GET time_entries"


def capture(name: str):
    return json.loads((CAPTURES / name).read_text())


@pytest.fixture(scope="module")
def sb():
    with Sandbox(entries=120, seed=2) as sandbox:
        yield sandbox


def replay(sb: Sandbox, endpoint: str, body) -> None:
    sb.clear_injections()
    sb.inject(200, endpoint=endpoint, body=copy.deepcopy(body))


# -- time-entry lists ---------------------------------------------------------------------
def test_the_recorded_list_loads_into_a_typed_frame_keeping_its_nested_meta(sb):
    recorded = capture("nango_live_list_time_entries_3rows.json")
    replay(sb, LIST, recorded)
    df = fbtime.load_time_entries(sb.client(cache=False), progress=False)
    assert list(df.index) == [343714461, 343714591, 343714546]  # started_at, then id, desc
    assert dict(df.dtypes.astype(str)) == {c: schema.DTYPES[c] for c in df.columns}
    first = df.loc[343714461]
    assert first["local_started_at"] == "2026-06-29T13:00:00"  # the local wall time, as sent
    assert first["local_timezone"] == "Africa/Nairobi"
    assert first["started_at"] == pd.Timestamp("2026-06-29T10:00:00Z")
    assert first["project_id"] == 13312426 and first["hours"] == 1.0
    assert df["project_id"].isna().sum() == 2 and df["timer_id"].isna().all()
    meta = df.attrs["fbtime"]["meta"]
    assert meta == recorded["meta"]  # nested totals kept as sent
    days = meta["total_logged_per_team_member"][0]["total_logged_per_day"]
    assert [d["date"] for d in days] == ["2024-06-29", "2026-06-29"]
    totals = df.fbtime.totals()
    assert (totals.server_total_logged, totals.total_logged_seconds, totals.agrees) == (
        10800,
        10800,
        True,
    )
    assert sb.stats()[LIST] >= 1


def test_a_list_whose_per_page_is_the_rows_returned_is_read_by_its_pages(sb):
    recorded = capture("nango_live_list_time_entries_1row_no_per_page.json")
    replay(sb, LIST, recorded)
    sb.reset_stats()
    df = fbtime.load_time_entries(sb.client(cache=False), progress=False)
    assert list(df.index) == [343714461] and sb.stats()[LIST] == 1
    assert df.attrs["fbtime"]["meta"]["per_page"] == 1  # what was sent back, not a page size


def test_a_recorded_entry_frames_as_typed_columns():
    recorded = capture("nango_live_create_time_entry.response.json")["time_entry"]
    frame = records_to_frame([recorded])
    assert dict(frame.dtypes.astype(str)) == {c: schema.DTYPES[c] for c in frame.columns}
    row = frame.loc[343714591]
    assert bool(row["billable"]) and not bool(row["billed"]) and pd.isna(row["project_id"])
    assert row["created_at"] == pd.Timestamp("2026-06-29T16:50:18Z")
    assert row["local_started_at"] == "2024-06-29T13:00:00"


# -- create and update answers ------------------------------------------------------------
def test_a_recorded_create_answer_is_what_create_returns(sb):
    answer = capture("nango_live_create_time_entry.response.json")
    replay(sb, "POST time_entries", answer)
    sent = capture("nango_live_create_time_entry.request.json")["time_entry"]
    made = sb.client(cache=False).time_entries.create(**sent)
    assert made == answer["time_entry"]


def test_a_recorded_update_answer_is_what_update_returns(sb):
    listed = capture("nango_live_list_time_entries_3rows.json")["time_entries"][2]
    answer = capture("nango_live_update_time_entry.response.json")
    sb.clear_injections()
    sb.inject(200, endpoint="GET time_entry", body={"time_entry": listed})
    sb.inject(200, endpoint="PUT time_entry", body=answer)
    updated = sb.client(cache=False).time_entries.update(
        343714461, note=answer["time_entry"]["note"]
    )
    assert updated == answer["time_entry"]


# -- projects -----------------------------------------------------------------------------
def test_recorded_project_lists_load_as_typed_projects(sb):
    recorded = capture("nango_live_list_projects_default_order.json")
    replay(sb, "GET projects", recorded)
    projects = fbtime.load_projects(sb.client(cache=False))
    assert list(projects.index) == [p["id"] for p in recorded["projects"]]  # id descending
    assert projects.loc[13312426, "name"] == recorded["projects"][-1]["title"]
    assert projects["billed_amount"].map(type).eq(Decimal).all()
    assert "service_estimate_type" in projects.columns  # a field fbtime does not know: kept


@pytest.mark.parametrize(
    "name", ["chrischall_live_projects_empty.json", "irl_live_list_projects_sort_suffix.json"]
)
def test_an_empty_recorded_project_list_with_zero_pages_is_an_empty_frame(sb, name):
    recorded = capture(name)
    assert recorded["meta"]["pages"] == 0 and recorded["projects"] == []
    replay(sb, "GET projects", recorded)
    sb.reset_stats()
    projects = fbtime.load_projects(sb.client(cache=False))
    assert projects.empty and sb.stats()["GET projects"] == 1


def test_a_recorded_single_project_answer_reads_its_project(sb):
    recorded = capture("nango_live_get_project.json")
    replay(sb, "GET project", recorded)
    path = f"/projects/business/{sb.business_id}/projects/13312426"
    body = sb.client(cache=False).get(path)
    assert body["project"]["id"] == 13312426 and len(body["abilities"]) == 22


# -- identity -----------------------------------------------------------------------------
def test_the_recorded_users_me_gives_the_identity_and_the_business_week_start():
    identity = parse_identity(capture("nango_live_users_me_excerpt.json"))
    assert (identity.identity_id, identity.name) == (14468508, "Nango Developer")
    (business,) = identity.businesses
    assert (business.id, business.name, business.account_id, business.role) == (
        14719708,
        "Nango's Company",
        "ZyQ04o",
        "owner",
    )
    assert business.first_day_of_week == 0 and week_start(business.first_day_of_week) == "monday"
    staff = capture("irl_live_staff_business.json")["response"]
    assert staff["first_day_of_week"] == 6 and week_start(staff["first_day_of_week"]) == "sunday"


def test_whoami_reads_the_recorded_users_me_over_http(sb, monkeypatch):
    replay(sb, "GET users/me", capture("nango_live_users_me_excerpt.json"))
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.delenv("FRESHBOOKS_BUSINESS_ID", raising=False)
    monkeypatch.setenv("FBTIME_PROFILE", "none-such")
    shown = str(fbtime.whoami())
    assert shown.startswith("Nango Developer (identity 14468508")
    assert "14719708" in shown and "Nango's Company (owner)" in shown


# -- errors and headers (the bodies the facts sheet section 8 quotes as live) --------------
@pytest.mark.parametrize(
    ("status", "body", "kind", "text"),
    [
        (404, {"error": "Requested resource could not be found."}, NotFoundError, "not be found"),
        (
            401,
            {
                "error": "unauthenticated",
                "error_description": "This action requires authentication to continue.",
            },
            AuthError,
            "requires authentication",
        ),
        (
            422,
            {
                "errno": 2001,
                "error": {
                    "updated_since": "Input should be a valid datetime or date, input is too short"
                },
            },
            ValidationError,
            "updated_since",
        ),
    ],
)
def test_live_error_bodies_become_typed_errors(status, body, kind, text):
    error = error_for_status(status, json.dumps(body))
    assert isinstance(error, kind) and text in str(error)


def test_the_recorded_rate_limit_headers_are_read_as_a_window():
    for answer in capture("nango_live_response_headers.json"):
        headers = {k.title().replace("Ratelimit", "RateLimit"): v
                   for k, v in answer["headers"].items()}  # fmt: skip
        if "X-RateLimit-Reset" not in headers or "Date" not in headers:
            continue
        date = pd.Timestamp(headers["Date"]).timestamp()
        seen = published_window(headers, now=0.0, wall=date)
        assert seen is not None, answer["path"]
        limit, remaining, reset, ends = seen
        assert limit == int(headers["X-RateLimit-Limit"]) and 0 <= reset - date <= 60
        assert remaining == int(headers["X-RateLimit-Remaining"]) and ends == reset - date


# -- the sandbox answers in the recorded shapes -------------------------------------------
def _shape(value):
    """Keys (in order) of every object, and the shape of a list's first item."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_the_sandboxs_list_answer_has_the_recorded_shape():
    recorded = capture("nango_live_list_time_entries_3rows.json")
    with Sandbox(entries=120, seed=2) as box:
        client = box.client(cache=False)
        answer = client.session.get(client.base_url + client.time_entries.path,
                                    params={"team": "true", "per_page": 30})  # fmt: skip
    body = answer.json()
    assert list(body) == list(recorded)
    assert _shape(body["time_entries"][0]) == _shape(recorded["time_entries"][0])
    assert list(body["meta"]) == list(recorded["meta"])
    member = body["meta"]["total_logged_per_team_member"][0]
    assert _shape(member) == _shape(recorded["meta"]["total_logged_per_team_member"][0])
    assert _shape(body["meta"]["total_logged_per_client"][0]) == _shape(
        recorded["meta"]["total_logged_per_client"][0]
    )
    live = next(a for a in capture("nango_live_response_headers.json")
                if a["method"] == "GET" and a["path"].endswith("/time_entries"))  # fmt: skip
    sent = {k.lower() for k in answer.headers}
    assert set(live["headers"]) <= sent
    assert answer.headers["Content-Type"] == live["headers"]["content-type"]


def test_the_sandboxs_create_update_users_me_and_project_answers_have_the_recorded_shapes():
    with Sandbox(entries=120, seed=2) as box:
        client = box.client(cache=False)
        sent = capture("nango_live_create_time_entry.request.json")["time_entry"]
        made = client.time_entries.create(**{**sent, "client_id": box.dataset.clients[0]["id"]})
        changed = client.time_entries.put(made["id"], capture(
            "nango_live_update_time_entry.request.json")["time_entry"])  # fmt: skip
        me = client.get("/auth/api/v1/users/me")["response"]
        project = client.get(f"/projects/business/{box.business_id}/projects/"
                             f"{box.dataset.projects[0]['id']}")  # fmt: skip
        listed = client.get(f"/projects/business/{box.business_id}/projects")
    for mine, name in ((made, "create"), (changed, "update")):
        recorded = capture(f"nango_live_{name}_time_entry.response.json")["time_entry"]
        assert _shape(mine) == _shape(recorded), name
    assert (changed["client_id"], changed["project_id"]) == (None, None)  # as recorded
    recorded_me = capture("nango_live_users_me_excerpt.json")["response"]
    assert set(recorded_me) - {"permissions"} <= set(me)
    assert list(me["business_memberships"][0]["business"]) == list(
        recorded_me["business_memberships"][0]["business"]
    )
    assert set(recorded_me["profile"]) <= set(me["profile"])
    recorded_project = capture("nango_live_get_project.json")
    assert list(project) == list(recorded_project)
    assert list(project["project"]) == list(recorded_project["project"])
    assert list(project["project"]["group"]) == list(recorded_project["project"]["group"])
    recorded_list = capture("nango_live_list_projects_default_order.json")
    assert list(listed["projects"][0]) == list(recorded_list["projects"][0])
    assert list(listed["meta"]) == list(recorded_list["meta"])
