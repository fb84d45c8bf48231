"""The sandbox serves rates, team members, staff, projects' billing and the business currency
as the captured API does, and its data holds every case a rate computation meets.

Everything goes over real HTTP; expected answers come from ``sb.dataset`` and
``sb.entries()`` with plain pandas. Key lists are the captures' (facts sheet
``freshbooks-rates.md`` and the live captures it cites).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import requests

from fbtime.sandbox import Sandbox

END = date(2026, 3, 31)
MONEY = re.compile(r"^\d+\.\d{2}$")
NOT_FOUND = {"error": "Requested resource could not be found."}
MEMBER_KEYS = [
    "uuid", "first_name", "middle_name", "last_name", "email", "job_title", "street_1",
    "street_2", "city", "province", "country", "postal_code", "phone_number", "business_id",
    "business_role_name", "active", "identity_id", "invitation_date_accepted", "created_at",
    "updated_at",
]  # fmt: skip
STAFF_KEYS = [
    "id", "group_id", "role", "identity_id", "identity_uuid", "first_name", "last_name",
    "language", "email", "company", "business_id", "unacknowledged_change", "active",
]  # fmt: skip
#: The abilities of an owner in the live single-project answer (all true there).
ABILITIES = [{"name": n, "value": True} for n in (
    "can_edit", "can_archive", "can_generate_invoice", "can_delete", "can_invite_team_member",
    "can_manage_services", "can_view_team_time", "can_edit_hourly_budget", "can_edit_client",
    "can_edit_project_manager", "can_view_invoices_tab", "can_view_fixed_price",
    "can_edit_fixed_price", "can_edit_end_date", "can_edit_flat_rate", "can_edit_project_type",
    "can_edit_service_estimate_type", "can_edit_title", "can_view_review_tab",
    "can_view_discuss_tab", "can_track_time", "can_create_comment",
)]  # fmt: skip
PROJECT_KEYS = [
    "id", "title", "description", "due_date", "client_id", "internal", "budget", "fixed_price",
    "rate", "billing_method", "project_type", "project_manager_id", "active", "complete",
    "sample", "created_at", "updated_at", "logged_duration", "services", "billed_amount",
    "billed_status", "retainer_id", "expense_markup", "service_estimate_type", "group_id",
]  # fmt: skip


@pytest.fixture(scope="module")
def sb():
    with Sandbox(entries=2000, seed=1, end=END) as sandbox:
        yield sandbox


@pytest.fixture
def fresh():
    with Sandbox(entries=400, seed=9, end=END) as sandbox:
        yield sandbox


def get(sb: Sandbox, path: str, token: str | None = "", **params) -> requests.Response:
    """GET with the owner's token ("" ), another one, or none (None)."""
    headers = {} if token is None else {"Authorization": f"Bearer {token or sb.token}"}
    return requests.get(sb.url + path, params=params, headers=headers, timeout=10)


def lists(sb: Sandbox) -> dict[str, tuple[str, str, list]]:
    """Every list endpoint: (path, where its items sit, the dataset's items)."""
    b, a, ds = sb.business_id, sb.account_id, sb.dataset
    return {
        "team_members": (f"/auth/api/v1/businesses/{b}/team_members", "response", ds.team_members),
        "staff": (f"/auth/api/v1/users/business/{b}", "response.business_group.members", ds.staff),
        "team_member_rates": (f"/comments/business/{b}/team_member_rates", "team_member_rates",
                              ds.team_member_rates),
        "service_rates": (f"/comments/business/{b}/service_rates", "service_rates",
                          ds.service_rates),
        "projects": (f"/projects/business/{b}/projects", "projects", newest_first(ds.projects)),
        "services": (f"/comments/business/{b}/services", "services", ds.services),
        "clients": (f"/accounting/account/{a}/users/clients", "response.result.clients",
                    ds.clients),
    }  # fmt: skip


def newest_first(projects: list[dict]) -> list[dict]:
    """Projects as live lists them with no ``sort``: ``id`` descending."""
    return sorted(projects, key=lambda p: p["id"], reverse=True)


def single(sb: Sandbox, project: dict) -> dict:
    """A single-project answer as live: ``group`` (members, invitations), ``abilities``."""
    owner = sb.dataset.owner
    group = {"id": project["group_id"], "members": [{
        "id": project["group_id"] + 1, "identity_id": owner["id"], "role": "owner",
        "first_name": owner["first_name"], "last_name": owner["last_name"],
        "email": owner["email"], "company": sb.dataset.business["name"], "active": True,
    }], "pending_invitations": []}  # fmt: skip
    shown = {k: v for k, v in project.items() if k != "group_id"}
    return {"project": {**shown, "group": group}, "abilities": ABILITIES}


def items(body: dict, where: str) -> list:
    for key in where.split("."):
        body = body[key]
    return body  # type: ignore[return-value]


def every(sb: Sandbox, name: str, per_page: int = 100, **params) -> list[dict]:
    """All items of a list endpoint, paged until a short page."""
    path, where, _ = lists(sb)[name]
    out, page = [], 1
    while True:
        r = get(sb, path, page=page, per_page=per_page, **params)
        assert r.status_code == 200, r.text
        chunk = items(r.json(), where)
        out += chunk
        if len(chunk) < per_page:
            return out
        page += 1


def live(sb: Sandbox) -> pd.DataFrame:
    """Active, logged entries with time: what a rate is ever applied to."""
    df = sb.entries()
    return df[df.active & df.is_logged & (df.duration.fillna(0) > 0)]


# -- shapes -------------------------------------------------------------------------------
def test_team_members_list_and_one_member(sb):
    r = get(sb, lists(sb)["team_members"][0], per_page=3)
    body = r.json()
    assert list(body) == ["response", "meta"] and isinstance(body["response"], list)
    total = len(sb.dataset.identities) + 2  # a pending invitation, a member without login
    assert body["meta"] == {"page": 1, "per_page": 3, "total": total}  # no pages, as live
    members = every(sb, "team_members")
    assert members == sb.dataset.team_members and len(members) == total
    assert all(list(m) == MEMBER_KEYS and m["business_id"] == sb.business_id for m in members)
    accepted = [m for m in members if m["identity_id"] is not None]
    assert {m["identity_id"] for m in accepted} == {i["id"] for i in sb.dataset.identities}
    assert all(m["invitation_date_accepted"] for m in accepted)
    pending, no_login = [m for m in members if m["identity_id"] is None]
    assert pending["invitation_date_accepted"] is None and pending["email"]
    assert no_login["business_role_name"] == "no_seat_employee" and no_login["active"]
    assert no_login["invitation_date_accepted"] is None and no_login["email"] is None
    owner = next(m for m in members if m["identity_id"] == sb.identity_id)
    assert owner["business_role_name"] == "business_owner"
    one = get(sb, f"{lists(sb)['team_members'][0]}/{pending['uuid']}").json()
    assert one == {"response": pending}
    assert get(sb, f"{lists(sb)['team_members'][0]}/no-such-uuid").json() == NOT_FOUND


def test_staff_is_the_business_with_its_group_members(sb):
    body = get(sb, lists(sb)["staff"][0]).json()["response"]
    assert (body["id"], body["account_id"]) == (sb.business_id, sb.account_id)
    group = body["business_group"]
    assert set(group) == {"id", "category", "members"} and group["category"] == "business"
    members = group["members"]
    assert all(list(m) == STAFF_KEYS for m in members)
    assert [m["identity_id"] for m in members] == [i["id"] for i in sb.dataset.identities]
    assert all(m["group_id"] == group["id"] and m["identity_uuid"] for m in members)
    assert all(m["language"] in ("en", "fr") for m in members)
    assert members[0]["role"] == "owner"


def test_rate_lists_and_one_service_rate(sb):
    b = sb.business_id
    team = get(sb, f"/comments/business/{b}/team_member_rates").json()
    assert list(team) == ["team_member_rates"]
    assert all(list(r) == ["rate", "identity_id", "business_id"] for r in team["team_member_rates"])
    services = get(sb, f"/comments/business/{b}/service_rates").json()
    assert list(services) == ["service_rates"]
    for rate in services["service_rates"]:
        assert list(rate) == ["rate", "service_id", "business_id"] and MONEY.match(rate["rate"])
        one = get(sb, f"/comments/business/{b}/service/{rate['service_id']}/rate")
        want = {"rate": rate["rate"], "business_id": b, "service_id": rate["service_id"]}
        assert one.json() == {"service_rate": want}
    assert all(MONEY.match(r["rate"]) for r in team["team_member_rates"])
    rated = {r["service_id"] for r in services["service_rates"]}
    (unrated,) = [s["id"] for s in sb.dataset.services if s["id"] not in rated]
    for missing in (unrated, 1, "abc"):
        r = get(sb, f"/comments/business/{b}/service/{missing}/rate")
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_projects_carry_every_billing_field(sb):
    body = get(sb, lists(sb)["projects"][0]).json()
    assert list(body) == ["projects", "meta"]
    assert list(body["meta"]) == ["sort", "total", "per_page", "page", "pages"]  # as live
    assert body["meta"]["sort"] == [] and body["meta"]["total"] == len(sb.dataset.projects)
    projects = body["projects"]
    assert projects == newest_first(sb.dataset.projects)  # id descending, as live
    for p in projects:
        assert list(p) == PROJECT_KEYS
        assert p["project_type"] in ("hourly_rate", "fixed_price")
        assert p["billing_method"] in (
            None, "business_rate", "project_rate", "service_rate", "team_member_rate",
        )  # fmt: skip
        assert all(v is None or MONEY.match(v) for v in (p["rate"], p["fixed_price"]))
        assert MONEY.match(p["billed_amount"])
        assert p["billed_status"] in ("billed", "partially_billed", "unbilled")
        assert p["budget"] is None or isinstance(p["budget"], int)
        assert p["logged_duration"] is None  # only with include_logged_duration=true
        assert p["internal"] is (p["client_id"] is None)
        assert all(
            list(s) == ["business_id", "id", "name", "billable", "vis_state"] for s in p["services"]
        )
    echoed = get(sb, lists(sb)["projects"][0], sort="-updated_at").json()
    assert echoed["meta"]["sort"] == ["-updated_at"]
    # any sort turns the list to id ascending, whatever it names (as captured live)
    assert [p["id"] for p in echoed["projects"]] == sorted(p["id"] for p in projects)


def test_logged_duration_is_the_projects_logged_time(sb):
    want = live(sb).groupby("project_id").duration.sum()
    projects = every(sb, "projects", include_logged_duration="true")
    assert {p["id"]: p["logged_duration"] for p in projects} == {
        p["id"]: int(want.get(p["id"], 0)) for p in sb.dataset.projects
    }
    project = sb.dataset.projects[4]
    for path in ("project", "projects"):  # SDKs use the singular, Postman the plural
        url = f"/projects/business/{sb.business_id}/{path}/{project['id']}"
        assert get(sb, url).json() == single(sb, project)
        one = get(sb, url, include_logged_duration="1").json()["project"]
        assert one["logged_duration"] == int(want[project["id"]])
    for missing in (1, "abc"):
        r = get(sb, f"/projects/business/{sb.business_id}/project/{missing}")
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_logged_duration_follows_writes(fresh):
    project = fresh.dataset.projects[0]
    url = f"/projects/business/{fresh.business_id}/project/{project['id']}"
    before = get(fresh, url, include_logged_duration="true").json()["project"]["logged_duration"]
    created = fresh.create_entry(project_id=project["id"], client_id=project["client_id"],
                                 duration=1800)  # fmt: skip
    after = get(fresh, url, include_logged_duration="true").json()["project"]["logged_duration"]
    assert after == before + 1800
    fresh.delete_entry(created["id"])
    again = get(fresh, url, include_logged_duration="true").json()["project"]["logged_duration"]
    assert again == before


def test_project_filters(sb):
    path = lists(sb)["projects"][0]
    assert len(every(sb, "projects", active="true", complete="false")) == len(sb.dataset.projects)
    assert every(sb, "projects", active="false") == []
    newest = max(p["updated_at"] for p in sb.dataset.projects)
    recent = every(sb, "projects", updated_since=newest + "Z")
    assert recent == [p for p in sb.dataset.projects if p["updated_at"] == newest]
    r = get(sb, path, active="maybe", updated_since="soon")
    assert r.status_code == 422
    assert r.json() == {
        "errno": 2001,
        "error": {
            "active": "Input should be a valid boolean, unable to interpret input",
            "updated_since": "Input should be a valid datetime or date, input is too short",
        },
    }


def test_system_gives_the_business_currency_by_business_or_system_id(sb):
    system = sb.dataset.system
    assert system["id"] != sb.business_id
    base = f"/accounting/account/{sb.account_id}/systems/systems"
    by_business = get(sb, f"{base}/{sb.business_id}").json()
    assert by_business == {"response": {"result": {"system": system}}}
    assert get(sb, f"{base}/{system['id']}").json() == by_business
    assert system["currency_code"] == "CAD"
    for wrong in (f"{base}/{sb.business_id + 1}", f"/accounting/account/zzzzz/systems/systems/"
                  f"{sb.business_id}"):  # fmt: skip
        r = get(sb, wrong)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


# -- paging, scope and auth ----------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    ["team_members", "staff", "team_member_rates", "service_rates", "projects", "services",
     "clients"],
)  # fmt: skip
def test_lists_page_the_same_union_at_any_page_size(sb, name):
    path, where, want = lists(sb)[name]
    stat = f"GET {name}"
    for per_page in (1, 7, 100):
        before = sb.stats()[stat]
        got = every(sb, name, per_page=per_page)
        assert got == want
        assert sb.stats()[stat] - before == len(want) // per_page + 1  # pages until a short one
    first = items(get(sb, path).json(), where)
    assert first == items(get(sb, path, page=0).json(), where) == want[:30]
    assert items(get(sb, path, page=99).json(), where) == []
    body = get(sb, path, per_page=500).json()
    assert items(body, where) == want[:100]
    meta = body.get("meta") or body.get("response", {}).get("result")
    if name in ("team_members", "projects", "services", "clients"):
        assert meta["per_page"] == 100
    r = get(sb, path, page="x")
    assert r.status_code == 400 and r.json() == {
        "errno": 2001,
        "error": {"page": "page must be a number"},
    }


def reference_paths(sb: Sandbox, business: int, account: str) -> list[str]:
    sid = sb.dataset.service_rates[0]["service_id"]
    return [
        f"/auth/api/v1/businesses/{business}/team_members",
        f"/auth/api/v1/businesses/{business}/team_members/{sb.dataset.team_members[0]['uuid']}",
        f"/auth/api/v1/users/business/{business}",
        f"/comments/business/{business}/team_member_rates",
        f"/comments/business/{business}/service_rates",
        f"/comments/business/{business}/service/{sid}/rate",
        f"/projects/business/{business}/projects",
        f"/projects/business/{business}/project/{sb.dataset.projects[0]['id']}",
        f"/accounting/account/{account}/systems/systems/{sb.dataset.system['id']}",
    ]


def test_a_wrong_business_or_account_id_is_404(sb):
    for right, wrong in zip(
        reference_paths(sb, sb.business_id, sb.account_id),
        reference_paths(sb, sb.business_id + 1, sb.account_id + "x"),
        strict=True,
    ):
        assert get(sb, right).status_code == 200, right
        r = get(sb, wrong)
        assert (r.status_code, r.json()) == (404, NOT_FOUND), wrong


def oauth_token(sb: Sandbox) -> str:
    """An access token from the sandbox's OAuth flow (it can expire)."""
    redirect = "http://127.0.0.1:9/callback"
    r = requests.get(
        sb.authorize_url,
        params={"client_id": sb.oauth_client_id, "response_type": "code",
                "redirect_uri": redirect},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    token = requests.post(
        sb.token_url,
        data={"grant_type": "authorization_code", "client_id": sb.oauth_client_id,
              "client_secret": sb.oauth_client_secret, "code": code, "redirect_uri": redirect},
        timeout=10,
    )  # fmt: skip
    return token.json()["access_token"]


def test_every_reference_endpoint_needs_a_live_bearer_token(fresh):
    paths = reference_paths(fresh, fresh.business_id, fresh.account_id)
    anonymous = "This action requires authentication to continue."
    expiring, revoked = oauth_token(fresh), oauth_token(fresh)
    for path in paths:
        assert get(fresh, path, token=expiring).status_code == 200
    fresh.revoke(revoked)
    fresh.advance_clock(fresh.access_token_ttl + 1)
    for path in paths:
        for token, description in ((None, anonymous), ("not-a-token", anonymous),
                                   (expiring, "The access token expired."),
                                   (revoked, "The access token was revoked.")):  # fmt: skip
            r = get(fresh, path, token=token)
            assert r.status_code == 401, (path, token)
            assert r.json() == {"error": "unauthenticated", "error_description": description}


# -- the cases a rate computation meets ----------------------------------------------------
def test_projects_hold_every_billing_case(sb):
    projects = pd.DataFrame(every(sb, "projects", include_logged_duration="true"))
    hourly = projects[projects.project_type == "hourly_rate"]
    methods = set(hourly.billing_method.fillna("none"))
    assert methods == {"business_rate", "project_rate", "service_rate", "team_member_rate", "none"}
    by_rate = hourly[hourly.billing_method == "project_rate"].rate
    assert "0.00" in set(by_rate) and (by_rate.astype(float) > 0).any()
    fixed = projects[projects.project_type == "fixed_price"]
    plain = fixed[fixed.billing_method.isna() & fixed.fixed_price.notna()]
    assert (plain.billed_amount.astype(float) > 0).any()
    assert (plain.billed_amount.astype(float) < plain.fixed_price.astype(float)).any()
    odd = fixed[(fixed.billing_method == "project_rate") & fixed.rate.isna()]
    assert len(odd) == 1 and odd.fixed_price.isna().all()  # inconsistent, as captured
    budgeted = projects[projects.budget.notna()]
    assert (budgeted.logged_duration > budgeted.budget).any()
    assert (budgeted.logged_duration < budgeted.budget).any()
    assert set(projects.billed_status) == {"billed", "partially_billed", "unbilled"}
    df = live(sb)
    on_fixed = df[df.project_id.isin(fixed.id) & df.billable]
    assert set(on_fixed.project_id) == set(fixed.id)  # billable time on each flat-rate project


def test_rates_hold_zero_and_missing_ones(sb):
    team = {r["identity_id"]: r["rate"] for r in every(sb, "team_member_rates")}
    current = [i["id"] for i in sb.dataset.identities]
    assert "0.00" in {team.get(i) for i in current}
    assert len([i for i in current if i not in team]) == 1
    services = {r["service_id"]: r["rate"] for r in every(sb, "service_rates")}
    assert "0.00" in services.values()
    assert len([s for s in sb.dataset.services if s["id"] not in services]) == 1


def test_a_former_teammate_logs_old_time_but_is_in_no_list(sb):
    named = {m["identity_id"] for m in every(sb, "team_members")}
    named |= {m["identity_id"] for m in every(sb, "staff")}
    in_entries = set(sb.entries().identity_id)
    former = in_entries - named
    assert former == set(sb.dataset.former_teammates) and len(former) == 1
    (who,) = former
    with pytest.raises(ValueError):
        sb.token_for(who)  # cannot sign in
    df = sb.entries()
    theirs = df[df.identity_id == who]
    assert theirs.started_at.max() < df[df.identity_id != who].started_at.max()


def test_every_rate_path_meets_real_billable_entries(sb):
    df = live(sb)
    df = df[df.billable]
    projects = {p["id"]: p for p in every(sb, "projects")}
    team = {r["identity_id"]: r["rate"] for r in every(sb, "team_member_rates")}
    services = {r["service_id"]: r["rate"] for r in every(sb, "service_rates")}
    hourly = {k: p for k, p in projects.items() if p["project_type"] == "hourly_rate"}
    method = df.project_id.map(lambda p: hourly[p]["billing_method"] if p in hourly else "other")
    assert df.project_id.isna().any()  # no project at all
    assert (df.project_id.isin(hourly) & method.isna()).any()  # hourly, no billing method
    zero = [k for k, p in hourly.items() if p["billing_method"] == "project_rate"
            and p["rate"] == "0.00"]  # fmt: skip
    assert df.project_id.isin(zero).any()
    assert (method == "business_rate").any()
    by_member = df[method == "team_member_rate"].identity_id.map(lambda i: team.get(i, "none"))
    former = set(sb.dataset.former_teammates)
    kinds = {"zero" if r == "0.00" else "none" if r == "none" else "rated" for r in by_member}
    assert kinds == {"rated", "zero", "none"}
    assert former & set(df[method == "team_member_rate"].identity_id)
    by_service = df[method == "service_rate"].service_id.map(lambda s: services.get(s, "none"))
    kinds = {"zero" if r == "0.00" else "none" if r == "none" else "rated" for r in by_service}
    assert kinds == {"rated", "zero", "none"}


def test_a_client_bills_in_another_currency_than_the_business(sb):
    currency = get(
        sb, f"/accounting/account/{sb.account_id}/systems/systems/{sb.business_id}"
    ).json()["response"]["result"]["system"]["currency_code"]
    clients = every(sb, "clients")
    foreign = [c["id"] for c in clients if c["currency_code"] != currency]
    assert len(foreign) == 1 and len(clients) > 1
    df = live(sb)
    assert (df.client_id.isin(foreign) & df.billable).any()


def test_a_former_teammates_entry_can_still_be_updated_but_not_given_to_them(fresh):
    (former,) = fresh.dataset.former_teammates
    df = fresh.entries()
    theirs = int(df[(df.identity_id == former) & df.active].id.iloc[0])
    mine = int(df[(df.identity_id == fresh.identity_id) & df.active].id.iloc[0])
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {fresh.token}"
    url = f"{fresh.url}/timetracking/business/{fresh.business_id}/time_entries"
    current = s.get(f"{url}/{theirs}").json()["time_entry"]
    body = {k: current[k] for k in ("identity_id", "started_at", "is_logged", "duration", "note")}
    r = s.put(f"{url}/{theirs}", json={"time_entry": {**body, "billed": True}})
    assert r.status_code == 200 and r.json()["time_entry"]["billed"] is True
    r = s.put(f"{url}/{mine}", json={"time_entry": {"identity_id": former}})
    assert r.status_code == 422 and "identity_id" in r.json()["error"]
    assert fresh.entry_writes() == {theirs: 1}
