"""The sandbox's auth, counters, limits, injected faults, hooks, lifecycle and SDK compatibility."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests

from fbtime.sandbox import Sandbox

END = date(2026, 3, 31)
# As live calls answer a bad token (facts sheet, section 8).
UNAUTHENTICATED = {
    "error": "unauthenticated",
    "error_description": "This action requires authentication to continue.",
}


@pytest.fixture
def sb():
    with Sandbox(entries=300, seed=11, end=END) as sandbox:
        yield sandbox


def session(sandbox: Sandbox, token: str | None = None) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token or sandbox.token}"
    return s


def url(sandbox: Sandbox, entry_id: int | None = None) -> str:
    base = f"{sandbox.url}/timetracking/business/{sandbox.business_id}/time_entries"
    return base if entry_id is None else f"{base}/{entry_id}"


def wait_for_window_start(per: float, margin: float) -> None:
    """Sleep until at least ``margin`` seconds remain in the current rate window."""
    while per - (time.time() % per) < margin:
        time.sleep(0.005)


def test_auth_errors_and_revocation(sb):
    r = requests.get(url(sb))
    assert r.status_code == 401 and r.json() == UNAUTHENTICATED
    assert session(sb, "nope").get(url(sb)).json() == UNAUTHENTICATED
    token = sb.token_for(sb.dataset.identities[1]["id"])
    assert session(sb, token).get(url(sb)).status_code == 200
    sb.revoke(token)
    r = session(sb, token).get(url(sb))
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    assert "revoked" in r.json()["error_description"]
    assert sb.token_for(sb.dataset.identities[1]["id"]) != token
    assert sb.stats()["GET time_entries"] == 4
    with pytest.raises(ValueError):
        sb.token_for(1)


def test_stats_keys_and_writes(sb):
    s = session(sb)
    entry_id = sb.dataset.entries[0]["id"]
    s.get(url(sb))
    s.get(url(sb, entry_id))
    created = s.post(
        url(sb), json={"time_entry": {"started_at": "2026-03-02T10:00:00Z", "duration": 60}}
    ).json()
    s.put(url(sb, created["time_entry"]["id"]), json={"time_entry": {"note": "n"}})
    s.delete(url(sb, created["time_entry"]["id"]))
    s.post(url(sb), json={"time_entry": {}})  # 422, still counted
    s.get(f"{sb.url}/auth/api/v1/users/me")
    s.get(f"{sb.url}/accounting/account/{sb.account_id}/users/clients")
    s.get(f"{sb.url}/projects/business/{sb.business_id}/projects")
    s.get(f"{sb.url}/comments/business/{sb.business_id}/services")
    r = s.get(f"{sb.url}/no/such/path")
    assert r.status_code == 404 and r.json() == {"error": "Requested resource could not be found."}
    assert sb.stats() == {
        "GET time_entries": 1,
        "GET time_entry": 1,
        "POST time_entries": 2,
        "PUT time_entry": 1,
        "DELETE time_entry": 1,
        "GET users/me": 1,
        "GET clients": 1,
        "GET projects": 1,
        "GET services": 1,
        "GET other": 1,
    }
    assert sb.writes() == 4
    sb.reset_stats()
    assert sb.stats() == {} and sb.writes() == 0


def test_rate_limit_answers_429_with_headers(sb):
    sb.set_rate_limit(3, per=30)
    wait_for_window_start(30, 2)
    s = session(sb)
    answers = [s.get(url(sb)) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    assert all(r.headers["X-RateLimit-Limit"] == "3" for r in answers)
    assert int(answers[0].headers["X-RateLimit-Reset"]) >= time.time()
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 30
    assert answers[3].json() == {"message": "Too many requests"}
    assert sb.stats()["GET time_entries"] == 4
    sb.set_rate_limit(1, per=0.2)
    wait_for_window_start(0.2, 0.12)
    first, second = s.get(url(sb)), s.get(url(sb))
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["Retry-After"] == "1"
    time.sleep(0.25)
    assert s.get(url(sb)).status_code == 200
    sb.set_rate_limit(None)
    assert "X-RateLimit-Limit" not in s.get(url(sb)).headers


def test_injected_faults(sb):
    s = session(sb)
    sb.inject(503, times=2, method="GET", endpoint="time_entries")
    sb.inject(429, endpoint="PUT time_entry", headers={"Retry-After": "1"})
    sb.inject(502, endpoint="users/me", raw=b"<html>502 Bad Gateway</html>")
    assert [s.get(url(sb)).status_code for _ in range(3)] == [503, 503, 200]
    entry_id = sb.dataset.entries[10]["id"]
    assert s.get(url(sb, entry_id)).status_code == 200  # other endpoint: untouched
    r = s.put(url(sb, entry_id), json={"time_entry": {"note": "x"}})
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json() == {"message": "Too many requests"}
    r = s.get(f"{sb.url}/auth/api/v1/users/me")
    assert r.status_code == 502 and r.content == b"<html>502 Bad Gateway</html>"
    assert r.headers["Content-Type"].startswith("text/html")
    sb.inject(422, body={"errno": 2001, "error": {"note": "too long"}})
    assert s.get(url(sb)).json() == {"errno": 2001, "error": {"note": "too long"}}
    sb.inject(401)
    assert s.get(url(sb)).json() == UNAUTHENTICATED
    assert sb.stats()["GET time_entries"] == 5 and sb.stats()["PUT time_entry"] == 1


def test_latency_is_per_request_and_overlaps(sb):
    sb.latency = 0.2
    s = session(sb)
    started = time.perf_counter()
    s.get(url(sb))
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    threads = [threading.Thread(target=session(sb).get, args=(url(sb),)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - started < 0.8
    sb.latency = 0
    assert sb.latency == 0


def test_wait_idle_waits_out_a_write_the_client_gave_up_on(sb):
    entry_id = sb.dataset.entries[10]["id"]
    sb.latency = 0.5  # the write lands 0.5 s after it is sent; the client waits 0.1 s
    with pytest.raises(requests.Timeout):
        session(sb).put(url(sb, entry_id), json={"time_entry": {"note": "late"}}, timeout=0.1)
    assert sb.entries().loc[lambda t: t["id"] == entry_id, "note"].item() != "late"
    sb.wait_idle()
    assert sb.entries().loc[lambda t: t["id"] == entry_id, "note"].item() == "late"
    reader = threading.Thread(target=session(sb).get, args=(url(sb),))
    reader.start()
    time.sleep(0.1)
    with pytest.raises(TimeoutError, match="still answering"):
        sb.wait_idle(timeout=0.2)
    reader.join()


def test_on_request_hook_can_change_data_mid_paging(sb):
    s = session(sb)
    first = s.get(url(sb), params={"team": "true", "per_page": 10}).json()
    seen = []

    def hook(key: str, page: int) -> None:
        seen.append((key, page))
        if page == 2:
            sb.create_entry(started_at="2030-01-01T00:00:00Z", duration=60)

    sb.on_request = hook
    second = s.get(url(sb), params={"team": "true", "per_page": 10, "page": 2}).json()
    assert seen == [("GET time_entries", 2)]
    assert second["meta"]["total"] == first["meta"]["total"] + 1
    # The new entry sorts first, so page 2 now starts with page 1's last entry.
    assert second["time_entries"][0]["id"] == first["time_entries"][-1]["id"]
    sb.on_request = None


def test_store_helpers_bypass_http(sb):
    created = sb.create_entry(note="helper", client_id="31001")
    assert created["client_id"] == 31001 and created["identity_id"] == sb.identity_id
    updated = sb.update_entry(created["id"], note="changed", billed=True)
    assert updated["note"] == "changed" and updated["billed"] is True
    sb.delete_entry(created["id"])
    row = sb.entries().set_index("id").loc[created["id"]]
    assert not row.active and row.note == "changed"
    with pytest.raises(KeyError):
        sb.delete_entry(created["id"])
    with pytest.raises(ValueError):
        sb.create_entry(duration=-1)
    assert sb.stats() == {} and sb.writes() == 0


def test_reference_endpoints_are_consistent(sb):
    s = session(sb)
    clients = s.get(
        f"{sb.url}/accounting/account/{sb.account_id}/users/clients", params={"per_page": 5}
    ).json()["response"]["result"]
    assert (clients["page"], clients["pages"], clients["per_page"], clients["total"]) == (
        1,
        2,
        5,
        8,
    )
    assert set(clients["clients"][0]) == {
        "id",
        "organization",
        "fname",
        "lname",
        "email",
        "vis_state",
        "currency_code",
    }
    projects = s.get(f"{sb.url}/projects/business/{sb.business_id}/projects").json()
    services = s.get(f"{sb.url}/comments/business/{sb.business_id}/services").json()
    assert projects["meta"]["total"] == len(projects["projects"]) == 14
    assert services["meta"]["total"] == len(services["services"]) == 6
    df = sb.entries()
    client_ids = {c["id"] for c in sb.dataset.clients}
    assert set(df.client_id.dropna()) <= client_ids
    assert set(df.project_id.dropna()) <= {p["id"] for p in projects["projects"]}
    assert set(df.service_id.dropna()) <= {x["id"] for x in services["services"]}
    bad = s.get(f"{sb.url}/accounting/account/zzzzz/users/clients")
    assert bad.status_code == 404
    me = s.get(f"{sb.url}/auth/api/v1/users/me").json()["response"]
    membership = me["business_memberships"][0]
    assert me["identity_id"] == sb.identity_id and membership["role"] == "owner"
    assert membership["business"]["id"] == sb.business_id
    assert membership["business"]["account_id"] == sb.account_id


def test_keep_alive_and_concurrency(sb):
    host, port = sb.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {"Authorization": f"Bearer {sb.token}"}
    conn.request("GET", url(sb).removeprefix(sb.url), headers=headers)
    conn.getresponse().read()
    sock = conn.sock
    for _ in range(5):
        conn.request("GET", url(sb).removeprefix(sb.url), headers=headers)
        assert conn.getresponse().read()
    assert conn.sock is sock
    conn.close()
    codes: list[int] = []

    def worker() -> None:
        s = session(sb)
        codes.extend(
            s.get(url(sb), params={"team": "true", "page": p}).status_code for p in range(1, 6)
        )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 40


def test_stop_closes_everything():
    sandbox = Sandbox(entries=50, seed=1, end=END).start()
    s = session(sandbox)
    target = url(sandbox)
    assert s.get(target).status_code == 200
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        s.get(target, timeout=2)
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    sandbox.stop()


def test_official_sdk_works_against_the_sandbox(sb, monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    from freshbooks import Client, FilterBuilder, PaginateBuilder
    from freshbooks.errors import FreshBooksError

    client = Client(client_id="x", access_token=sb.token)
    bid = sb.business_id
    result = client.time_entries.list(
        bid, builders=[PaginateBuilder(1, 100), FilterBuilder().boolean("team", True)]
    )
    df = sb.entries()
    team = df[df.active & df.is_logged]
    assert result.pages.total == len(team) and result.pages.per_page == 100
    assert result.data["meta"]["total_logged"] == team.duration.sum()
    since = FilterBuilder().date_time("started_from", datetime(2026, 3, 16, tzinfo=UTC))
    recent = client.time_entries.list(bid, builders=[since, FilterBuilder().boolean("team", True)])
    assert recent.pages.total == (team.started_at >= "2026-03-16T00:00:00Z").sum()
    first = result[0]
    assert client.time_entries.get(bid, first.id).id == first.id
    new = {"is_logged": True, "duration": 600, "note": "SDK", "started_at": "2026-03-02T10:00:00Z"}
    created = client.time_entries.create(bid, new)
    assert created.note == "SDK" and created.duration == 600
    updated = client.time_entries.update(bid, created.id, {"note": "SDK 2"})
    assert updated.note == "SDK 2" and updated.duration == 600
    client.time_entries.delete(bid, created.id)
    assert client.time_entries.get(bid, created.id).active is False
    with pytest.raises(FreshBooksError) as err:
        client.time_entries.get(bid, 1)
    assert err.value.status_code == 404
    assert sb.writes() == 3


def test_cli_prints_url_and_token_then_serves():
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    args = [sys.executable, "-m", "fbtime", "sandbox", "--port", "0", "--entries", "50"]
    proc = subprocess.Popen(args, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        base = lines[0].split()[-1]
        business_id = int(lines[1].split()[-1])
        token = lines[2].split()[-1]
        r = requests.get(
            f"{base}/auth/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.json()["response"]["business_memberships"][0]["business"]["id"] == business_id
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
