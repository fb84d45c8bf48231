"""The sandbox over real HTTP: shapes, paging, filters and writes, checked against its own data.

Expected results are computed independently with pandas from ``Sandbox.entries()``.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, date, datetime

import pandas as pd
import pytest
import requests

from fbtime.sandbox import Sandbox
from fbtime.sandbox.data import ENTRY_FIELDS

END = date(2026, 3, 31)


@pytest.fixture(scope="module")
def sb():
    with Sandbox(entries=600, seed=3, end=END) as sandbox:
        yield sandbox


@pytest.fixture
def fresh():
    with Sandbox(entries=300, seed=5, end=END) as sandbox:
        yield sandbox


def session(sandbox: Sandbox, token: str | None = None) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token or sandbox.token}"
    return s


def entries_url(sandbox: Sandbox, entry_id: int | str | None = None) -> str:
    base = f"{sandbox.url}/timetracking/business/{sandbox.business_id}/time_entries"
    return base if entry_id is None else f"{base}/{entry_id}"


def fetch_all(sandbox: Sandbox, params: dict | str = "", token: str | None = None):
    """Every page of a listing: (ids in order, first meta)."""
    s, ids, page, first = session(sandbox, token), [], 1, None
    while True:
        if isinstance(params, str):
            r = s.get(f"{entries_url(sandbox)}?per_page=100&page={page}&{params}")
        else:
            r = s.get(entries_url(sandbox), params={**params, "per_page": 100, "page": page})
        assert r.status_code == 200, r.text
        body = r.json()
        first = first or body["meta"]
        ids += [e["id"] for e in body["time_entries"]]
        if page >= body["meta"]["pages"]:
            return ids, first
        page += 1


def expected(df: pd.DataFrame, caller: int, **f) -> pd.DataFrame:
    """The API's filter semantics, written independently with pandas."""
    m = pd.Series(True, index=df.index)
    if f.get("identity_id") is not None:
        m &= df.identity_id == f["identity_id"]
    elif not f.get("team"):
        m &= df.identity_id == caller
    if not f.get("include_deleted"):
        m &= df.active
    if not f.get("include_unlogged"):
        m &= df.is_logged
    for flag in ("billable", "billed"):
        if f.get(flag) is not None:
            m &= df[flag] == f[flag]
    if f.get("client_id") is not None:
        m &= df.client_id == f["client_id"]
    start = pd.to_datetime(df.started_at, utc=True)
    if f.get("started_from") is not None:
        m &= start >= pd.Timestamp(f["started_from"])
    if f.get("started_to") is not None:
        m &= start <= pd.Timestamp(f["started_to"])
    if f.get("updated_since") is not None:
        m &= pd.to_datetime(df.updated_at, utc=True) >= pd.Timestamp(f["updated_since"])
    out = df.assign(_start=start)[m]
    # live order: newest created first, the same second by ascending id
    return out.sort_values(["created_at", "id"], ascending=[False, True])


def totals(sub: pd.DataFrame) -> tuple[int, int, int]:
    logged = sub[sub.is_logged]
    unbilled = logged[logged.billable & ~logged.billed]
    return len(sub), int(logged.duration.sum()), int(unbilled.duration.sum())


def _logged(sub: pd.DataFrame) -> int:
    return int(sub.duration.where(sub.is_logged, 0).fillna(0).sum())


def logged_per(sub: pd.DataFrame, key: str, nest=None) -> list[dict]:
    """``[{key, "total_logged", **nest(rows)}]`` over the set, by id, a null id first."""
    out = []
    for value, rows in sub.groupby(sub[key], dropna=False, sort=False):
        value = None if pd.isna(value) else value if isinstance(value, str) else int(value)
        out.append({key: value, "total_logged": _logged(rows), **(nest(rows) if nest else {})})
    return sorted(out, key=lambda r: (r[key] is not None, r[key] if r[key] is not None else 0))


def nested_totals(sub: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """meta's ``total_logged_per_team_member`` and ``total_logged_per_client``, as live."""
    sub = sub.assign(date=sub.local_started_at.fillna(sub.started_at).str[:10])
    members = logged_per(sub, "identity_id", lambda rows: {
        "total_logged_per_client": logged_per(rows, "client_id", lambda c: {
            "total_logged_per_project": logged_per(c, "project_id")}),
        "total_logged_per_day": logged_per(rows, "date", lambda d: {
            "total_logged_per_client": logged_per(d, "client_id")}),
    })  # fmt: skip
    clients = logged_per(sub, "client_id", lambda rows: {
        "total_logged_per_team_member": logged_per(rows, "identity_id")})  # fmt: skip
    return members, clients


# -- list shape, scope and paging -------------------------------------------------------
def test_list_default_scope_is_the_callers_own_time(sb):
    r = session(sb).get(entries_url(sb))
    body = r.json()
    assert r.status_code == 200 and set(body) == {"time_entries", "meta"}
    want = expected(sb.entries(), sb.identity_id)
    assert list(body["meta"]) == [
        "total",
        "per_page",
        "page",
        "pages",
        "total_logged",
        "total_unbilled",
        "total_logged_per_team_member",
        "total_logged_per_client",
    ]
    (mine,) = body["meta"]["total_logged_per_team_member"]
    assert mine["identity_id"] == sb.identity_id
    assert mine["total_logged"] == body["meta"]["total_logged"]
    assert body["meta"]["per_page"] == 30 and body["meta"]["page"] == 1  # 30 rows came
    assert [e["id"] for e in body["time_entries"]] == list(want.id[:30])
    assert all(list(e) == list(ENTRY_FIELDS) for e in body["time_entries"])
    assert (
        body["meta"]["total"],
        body["meta"]["total_logged"],
        body["meta"]["total_unbilled"],
    ) == (totals(want))


def test_team_and_identity_scopes(sb):
    df = sb.entries()
    team_ids, meta = fetch_all(sb, {"team": "true"})
    want = expected(df, sb.identity_id, team=True)
    assert team_ids == list(want.id)
    assert (meta["total"], meta["total_logged"], meta["total_unbilled"]) == totals(want)
    other = sb.dataset.identities[2]["id"]
    ids, _ = fetch_all(sb, {"identity_id": other})
    assert ids == list(expected(df, sb.identity_id, identity_id=other).id) and ids


def test_paging_rules(sb):
    s = session(sb)
    total = len(expected(sb.entries(), sb.identity_id, team=True))
    p0 = s.get(entries_url(sb), params={"team": "true", "page": 0}).json()
    p1 = s.get(entries_url(sb), params={"team": "true", "page": 1}).json()
    assert p0 == p1
    capped = s.get(entries_url(sb), params={"team": "true", "per_page": 500}).json()
    assert capped["meta"]["per_page"] == 100 and len(capped["time_entries"]) == 100
    assert capped["meta"]["pages"] == math.ceil(total / 100)
    past = s.get(entries_url(sb), params={"team": "true", "page": 99}).json()
    assert past["time_entries"] == [] and past["meta"]["total"] == total
    assert past["meta"]["page"] == 99
    for bad in ({"per_page": 0}, {"page": "abc"}, {"page": -1}):
        r = s.get(entries_url(sb), params=bad)
        assert r.status_code == 400 and r.json()["errno"] == 2001
        assert list(r.json()["error"]) == list(bad)
    assert s.get(entries_url(sb), params={"page": "x"}).json()["error"]["page"] == (
        "page must be a number"
    )
    empty = s.get(entries_url(sb), params={"client_id": 1}).json()
    assert empty["meta"] == {
        "page": 1,
        "pages": 0,
        "per_page": 0,  # nothing sent: the rows returned, as live
        "total": 0,
        "total_logged": 0,
        "total_unbilled": 0,
        "total_logged_per_team_member": [],
        "total_logged_per_client": [],
    }
    sent = s.get(entries_url(sb), params={"client_id": 1, "per_page": 7}).json()
    assert sent["meta"]["per_page"] == 7  # an echo of the request, whatever came back


FILTERS = [
    ({"billable": "true"}, {"billable": True}),
    ({"billable": "false"}, {"billable": False}),
    ({"billed": "True"}, {"billed": True}),
    ({"billed": "0"}, {"billed": False}),
    ({"include_deleted": "1"}, {"include_deleted": True}),
    ({"include_unlogged": "TRUE"}, {"include_unlogged": True}),
    (
        {"started_from": "2026-03-02T00:00:00Z", "started_to": "2026-03-13T23:59:59.000Z"},
        {"started_from": "2026-03-02T00:00:00Z", "started_to": "2026-03-13T23:59:59Z"},
    ),
    ({"started_from": "2026-03-20"}, {"started_from": "2026-03-20T00:00:00Z"}),
    ({"started_to": "2026-03-04T12:00:00"}, {"started_to": "2026-03-04T12:00:00Z"}),
    ({"updated_since": "2026-03-01T00:00:00+00:00"}, {"updated_since": "2026-03-01T00:00:00Z"}),
]


@pytest.mark.parametrize(("params", "semantics"), FILTERS)
def test_each_filter_matches_pandas(sb, params, semantics):
    ids, meta = fetch_all(sb, {"team": "true", **params})
    want = expected(sb.entries(), sb.identity_id, team=True, **semantics)
    assert ids == list(want.id)
    assert (meta["total"], meta["total_logged"], meta["total_unbilled"]) == totals(want)
    members, clients = nested_totals(want)
    assert meta["total_logged_per_team_member"] == members
    assert meta["total_logged_per_client"] == clients


PER_TOTALS = [
    {"team": "true"},
    {"team": "true", "include_unlogged": "true", "include_deleted": "true"},
    {"team": "true", "billable": "true", "billed": "false"},
    {"team": "true", "started_from": "2026-03-09T00:00:00Z", "started_to": "2026-03-20T23:59:59Z"},
    {"billable": "false"},
]


@pytest.mark.parametrize("params", PER_TOTALS)
def test_totals_per_teammate_and_client_are_over_the_whole_filtered_set(sb, params):
    df = sb.entries()
    semantics = {k: v for k, v in params.items() if k != "team"}
    for name in ("include_unlogged", "include_deleted", "billable", "billed"):
        if name in semantics:
            semantics[name] = semantics[name] == "true"
    want = expected(df, sb.identity_id, team="team" in params, **semantics)
    s = session(sb)
    whole = nested_totals(want)
    for page, per_page in ((1, 7), (3, 100), (99, 100)):  # any page: the same whole-set totals
        meta = s.get(entries_url(sb), params={**params, "page": page, "per_page": per_page}).json()[
            "meta"
        ]
        assert (meta["total_logged_per_team_member"], meta["total_logged_per_client"]) == whole
    members = meta["total_logged_per_team_member"]
    assert sum(m["total_logged"] for m in members) == meta["total_logged"]
    if params == {"team": "true"}:  # a teammate who has left still has a total
        assert set(sb.dataset.former_teammates) <= {m["identity_id"] for m in members}
    clients = meta["total_logged_per_client"]
    assert sum(c["total_logged"] for c in clients) == meta["total_logged"]


def test_totals_per_teammate_and_client_follow_writes(fresh):
    s = session(fresh)
    params = {"team": "true", "per_page": 1}
    before = s.get(entries_url(fresh), params=params).json()["meta"]
    client = fresh.dataset.clients[0]["id"]
    s.post(
        entries_url(fresh),
        json={"time_entry": {"started_at": "2026-03-02T15:00:00Z", "duration": 1234,
                             "client_id": client}},
    )  # fmt: skip
    after = s.get(entries_url(fresh), params=params).json()["meta"]
    mine = {m["identity_id"]: m["total_logged"] for m in after["total_logged_per_team_member"]}
    was = {m["identity_id"]: m["total_logged"] for m in before["total_logged_per_team_member"]}
    assert mine[fresh.identity_id] == was[fresh.identity_id] + 1234
    per_client = {c["client_id"]: c["total_logged"] for c in after["total_logged_per_client"]}
    old = {c["client_id"]: c["total_logged"] for c in before["total_logged_per_client"]}
    assert per_client[client] == old[client] + 1234


def test_client_filter_and_unencoded_plus_offset(sb):
    df = sb.entries()
    client = sb.dataset.clients[0]["id"]
    ids, _ = fetch_all(sb, {"team": "true", "client_id": client})
    assert ids == list(expected(df, 0, team=True, client_id=client).id) and ids
    # The official SDK does not URL-encode: "+00:00" reaches the server as " 00:00".
    ids, _ = fetch_all(sb, "team=True&started_from=2026-03-16T00:00:00+00:00")
    assert ids == list(expected(df, 0, team=True, started_from="2026-03-16T00:00:00Z").id)


def test_identity_with_include_unlogged_is_422(sb):
    r = session(sb).get(
        entries_url(sb), params={"identity_id": sb.identity_id, "include_unlogged": "true"}
    )
    assert r.status_code == 422 and r.json()["errno"] == 2001 and "identity_id" in r.json()["error"]


def test_bad_filter_values_are_422_with_the_live_messages(sb):
    for params in ({"billable": "yes"}, {"started_from": "last week"}, {"client_id": "abc"}):
        r = session(sb).get(entries_url(sb), params=params)
        assert r.status_code == 422 and list(r.json()["error"]) == list(params)
    r = session(sb).get(entries_url(sb), params={"updated_since": "abc", "billable": "maybe"})
    assert r.status_code == 422
    assert r.json() == {
        "errno": 2001,
        "error": {
            "billable": "Input should be a valid boolean, unable to interpret input",
            "updated_since": "Input should be a valid datetime or date, input is too short",
        },
    }
    r = session(sb).get(entries_url(sb), params={"identity_id": "x"})
    assert r.json()["error"] == {
        "identity_id": "Input should be a valid integer, unable to parse string as an integer"
    }


def test_employee_sees_only_their_own_time(sb):
    employee = sb.dataset.identities[1]["id"]
    token = sb.token_for(employee)
    assert sb.token_for(employee) == token
    df = sb.entries()
    own = list(expected(df, employee).id)
    assert fetch_all(sb, {}, token)[0] == own
    assert fetch_all(sb, {"team": "true"}, token)[0] == own
    s = session(sb, token)
    r = s.get(entries_url(sb), params={"identity_id": sb.identity_id})
    assert r.status_code == 403 and "message" in r.json()
    owners = df[df.identity_id == sb.identity_id].id.iloc[0]
    assert s.get(entries_url(sb, owners)).status_code == 403
    me = s.get(f"{sb.url}/auth/api/v1/users/me").json()["response"]
    assert me["identity_id"] == employee
    assert me["business_memberships"][0]["role"] == "employee"


# -- one entry, create, update, delete ----------------------------------------------------
def test_get_one_and_not_found_shapes(sb):
    df = sb.entries()
    row = df[df.active].iloc[5]
    body = session(sb).get(entries_url(sb, int(row.id))).json()
    assert list(body) == ["time_entry"] and body["time_entry"]["id"] == row.id
    assert body["time_entry"]["started_at"] == row.started_at
    for missing in (999_999, "abc"):
        r = session(sb).get(entries_url(sb, missing))
        assert r.status_code == 404
        assert r.json() == {"error": "Requested resource could not be found."}
    wrong = f"{sb.url}/timetracking/business/{sb.business_id + 1}/time_entries"
    assert session(sb).get(wrong).status_code == 404
    deleted = session(sb).get(entries_url(sb, sb.planted["deleted"][0])).json()["time_entry"]
    assert deleted["active"] is False


def test_create_accepts_string_ids_and_ms_datetimes(fresh):
    s = session(fresh)
    project = fresh.dataset.projects[0]
    payload = {
        "is_logged": True,
        "duration": 7200,
        "note": "Stuff",
        "started_at": "2016-08-16T20:00:00.000Z",
        "client_id": str(project["client_id"]),
        "identity_id": str(fresh.identity_id),
        "project_id": str(project["id"]),
        "unknown_field": 1,
    }
    r = s.post(entries_url(fresh), json={"time_entry": payload})
    assert r.status_code == 200
    entry = r.json()["time_entry"]
    assert list(entry) == list(ENTRY_FIELDS)
    assert entry["client_id"] == project["client_id"] and entry["project_id"] == project["id"]
    assert entry["started_at"] == "2016-08-16T20:00:00Z" and entry["timer"] is None
    assert entry["active"] is True and entry["billable"] is True
    assert entry["id"] > max(e["id"] for e in fresh.dataset.entries)
    assert entry["id"] in set(fresh.entries().id)


def test_create_running_timer(fresh):
    r = session(fresh).post(
        entries_url(fresh),
        json={"time_entry": {"is_logged": False, "started_at": datetime.now(UTC).isoformat()}},
    )
    entry = r.json()["time_entry"]
    assert entry["duration"] is None and entry["timer"]["is_running"] is True
    assert entry["id"] not in fetch_all(fresh, {})[0]
    assert entry["id"] in fetch_all(fresh, {"include_unlogged": "true"})[0]


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"duration": 60}, {"started_at": "field required"}),
        (
            {"started_at": "2026-01-01T00:00:00Z"},
            {"__root__": "Logged entries must have a duration"},
        ),
        ({"started_at": "2026-01-01T00:00:00Z", "duration": -5}, {"duration": None}),
        (
            {"started_at": "2026-01-01T00:00:00Z", "duration": 60, "client_id": "abc"},
            {"client_id": None},
        ),
        ({"started_at": "not a date", "duration": 60}, {"started_at": None}),
    ],
)
def test_create_validation_errors(fresh, payload, errors):
    r = session(fresh).post(entries_url(fresh), json={"time_entry": payload})
    assert r.status_code == 422
    body = r.json()
    assert body["errno"] == 2001 and set(body["error"]) == set(errors)
    for field, message in errors.items():
        assert message is None or body["error"][field] == message


def test_malformed_json_is_400(fresh):
    r = session(fresh).post(
        entries_url(fresh), data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["errno"] == 2001


def test_partial_put_changes_only_given_fields(fresh):
    fresh.put_mode = "partial"
    entry_id = int(expected(fresh.entries(), fresh.identity_id).id.iloc[3])
    s = session(fresh)
    before = s.get(entries_url(fresh, entry_id)).json()["time_entry"]
    body = {"time_entry": {"note": "Updated Note", "billed": "true", "client_id": "2227125"}}
    after = s.put(entries_url(fresh, entry_id), json=body).json()["time_entry"]
    assert after == {**before, "note": "Updated Note", "billed": True, "client_id": 2227125}


def test_full_put_clears_fields_left_out(fresh):
    fresh.put_mode = "full"
    entry_id = int(expected(fresh.entries(), fresh.identity_id, billable=True).id.iloc[0])
    s = session(fresh)
    r = s.put(entries_url(fresh, entry_id), json={"time_entry": {"note": "only a note"}})
    assert r.status_code == 422
    # duration was left out too, so it is cleared and the logged entry lacks one
    assert set(r.json()["error"]) == {"identity_id", "started_at", "is_logged", "__root__"}
    body = {
        "identity_id": fresh.identity_id,
        "started_at": "2026-03-02T15:00:00Z",
        "is_logged": True,
        "duration": 1800,
    }
    after = s.put(entries_url(fresh, entry_id), json={"time_entry": body}).json()["time_entry"]
    assert after["duration"] == 1800 and after["started_at"] == "2026-03-02T15:00:00Z"
    assert after["note"] is None and after["client_id"] is None and after["project_id"] is None
    assert after["billable"] is False and after["billed"] is False and after["active"] is True


def test_put_logs_a_running_timer(fresh):
    timer_entry = fresh.planted["running"][0]
    current = session(fresh).get(entries_url(fresh, timer_entry)).json()["time_entry"]
    body = {
        "is_logged": True,
        "duration": 600,
        "timer": {"id": str(current["timer"]["id"])},
        "started_at": current["started_at"],
    }
    owner = fresh.token_for(current["identity_id"])
    done = session(fresh, owner).put(entries_url(fresh, timer_entry), json={"time_entry": body})
    entry = done.json()["time_entry"]
    assert entry["is_logged"] is True and entry["duration"] == 600
    assert entry["timer"] == {"id": current["timer"]["id"], "is_running": False}


def test_delete_is_soft_and_204(fresh):
    s = session(fresh)
    entry_id = int(expected(fresh.entries(), fresh.identity_id).id.iloc[0])
    r = s.delete(entries_url(fresh, entry_id))
    assert r.status_code == 204 and r.content == b""
    assert s.get(entries_url(fresh, entry_id)).json()["time_entry"]["active"] is False
    assert entry_id not in fetch_all(fresh, {})[0]
    assert entry_id in fetch_all(fresh, {"include_deleted": "true"})[0]
    assert s.delete(entries_url(fresh, entry_id)).status_code == 404
    assert (
        s.put(entries_url(fresh, entry_id), json={"time_entry": {"note": "x"}}).status_code == 404
    )
    assert s.delete(entries_url(fresh, 123)).status_code == 404


def test_updated_since_sees_puts_and_deletes(fresh):
    s = session(fresh)
    ids = list(expected(fresh.entries(), fresh.identity_id, team=True).id[:2])
    time.sleep(0.01)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    s.put(entries_url(fresh, ids[0]), json={"time_entry": {"note": "changed"}})
    s.delete(entries_url(fresh, ids[1]))
    changed, _ = fetch_all(fresh, {"team": "true", "include_deleted": "1", "updated_since": stamp})
    assert sorted(changed) == sorted(ids)
    df = fresh.entries()
    assert sorted(df[pd.to_datetime(df.updated_at, utc=True) >= pd.Timestamp(stamp)].id) == (
        sorted(ids)
    )
    # Without include_deleted the deleted one is gone, but the edit is still there.
    assert fetch_all(fresh, {"team": "true", "updated_since": stamp})[0] == [ids[0]]
