"""Signing in to FreshBooks (the sandbox's OAuth server) and choosing a business.

Both ways to finish a login (loopback listener, pasted URL), the CLI, and every way a
login can go wrong: wrong state, expired or reused code, denied access, several
businesses and none chosen, insecure URLs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest
import requests
from signin import REDIRECT, approve, isolated_login, sign_in, start

import fbtime
from fbtime.auth.oauth import LoginError, LoginFlow
from fbtime.auth.tokens import TokenStore
from fbtime.cli import main


@pytest.fixture
def store(monkeypatch, tmp_path) -> TokenStore:
    return isolated_login(monkeypatch, tmp_path)


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=120, seed=11) as sandbox:
        yield sandbox


def _own_ids(sb) -> list[int]:
    e = sb.entries()
    mine = e[(e["identity_id"] == sb.identity_id) & e["active"] & e["is_logged"]]
    return sorted(mine["id"].tolist())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_login_with_loopback_listener_then_client_with_no_arguments(sb, store):
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    landed: list[requests.Response] = []

    def browser(url: str) -> None:  # follows the 302 to fbtime's one-shot listener
        threading.Thread(target=lambda: landed.append(requests.get(url, timeout=10))).start()

    me = fbtime.login(
        sb.oauth_client_id, sb.oauth_client_secret, redirect_uri=redirect,
        open_browser=browser, auth_url=sb.authorize_url, base_url=sb.url, timeout=10,
    )  # fmt: skip
    assert (me.identity_id, me.business_id, me.profile) == (
        sb.identity_id,
        sb.business_id,
        "default",
    )
    assert landed and landed[0].status_code == 200 and "Signed in" in landed[0].text
    saved = store.load("default")
    assert (saved.identity_id, saved.api_url, saved.redirect_uri) == (
        sb.identity_id,
        sb.url,
        redirect,
    )

    df = fbtime.load_time_entries()  # fbtime.Client() from the saved profile
    assert sorted(df.index.tolist()) == _own_ids(sb)
    assert fbtime.whoami().email == sb.dataset.owner["email"]


def test_login_by_pasting_the_redirected_url(sb, store, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: approve_url(shown[0]))
    me = fbtime.login(
        sb.oauth_client_id, sb.oauth_client_secret, redirect_uri=REDIRECT,
        open_browser=shown.append, auth_url=sb.authorize_url, base_url=sb.url, profile="work",
    )  # fmt: skip
    assert me.profile == "work" and me.business_id == sb.business_id
    assert store.load("default") is None
    with pytest.raises(fbtime.ConfigError, match="no FreshBooks access token"):
        fbtime.Client()  # the default profile was not saved
    client = fbtime.Client(profile="work")
    assert client.business_id == sb.business_id
    assert sorted(fbtime.load_time_entries(client).index.tolist()) == _own_ids(sb)


def approve_url(url: str) -> str:
    return requests.get(url, allow_redirects=False, timeout=10).headers["Location"]


def test_environment_variables_win_over_the_saved_profile(sb, store, monkeypatch):
    sign_in(sb)
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", "from-the-environment")
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    client = fbtime.Client(cache=False)
    assert client.auth is None
    with pytest.raises(fbtime.AuthError):
        client.time_entries.get(1)
    with pytest.raises(fbtime.AuthError):
        fbtime.whoami()  # the environment's (bad) token, not the saved login
    assert fbtime.whoami("default").identity_id == sb.identity_id  # a named profile wins
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    assert (fbtime.whoami().identity_id, fbtime.whoami().business_id) == (
        sb.identity_id,
        sb.business_id,
    )


def test_a_wrong_state_is_refused_and_nothing_is_saved(sb, store):
    flow = start(sb)
    landed = approve(flow)
    forged = landed.replace("state=", "state=forged")
    with pytest.raises(LoginError, match=r"state.*does not match.*fbtime login"):
        flow.finish(forged)
    assert store.load("default") is None
    other = start(sb)  # a second sign-in's answer is not this one's
    with pytest.raises(LoginError, match="state"):
        flow.finish(approve(other))
    assert store.load("default") is None


def test_an_expired_code_says_to_sign_in_again_within_five_minutes(sb, store):
    flow = start(sb)
    landed = approve(flow)
    sb.advance_clock(301)
    with pytest.raises(LoginError, match=r"expired.*5 minutes.*fbtime login"):
        flow.finish(landed)
    assert store.load("default") is None


def test_a_code_is_single_use(sb, store):
    flow = start(sb)
    landed = approve(flow)
    flow.finish(landed)
    with pytest.raises(LoginError, match="already used"):
        flow.finish(landed)


def test_denied_access_and_wrong_secret_are_login_errors(sb, store):
    sb._app.oauth.approve = False
    flow = start(sb)
    with pytest.raises(LoginError, match="did not grant access"):
        flow.finish(approve(flow))
    sb._app.oauth.approve = True
    wrong = LoginFlow(
        sb.oauth_client_id, "not-the-secret", redirect_uri=REDIRECT,
        auth_url=sb.authorize_url, base_url=sb.url,
    )  # fmt: skip
    with pytest.raises(LoginError, match="client id or secret"):
        wrong.finish(approve(wrong))
    assert store.load("default") is None


def test_two_businesses_and_none_chosen_lists_them_then_use_saves_the_choice(sb, store, capsys):
    second = sb.add_business("Northwind Consulting")
    me = sign_in(sb)
    assert me.business_id is None and {b.id for b in me.businesses} == {sb.business_id, second}
    with pytest.raises(fbtime.ConfigError) as err:
        fbtime.Client()
    text = str(err.value)
    for expected in ("Maple & Pine Studio", str(sb.business_id), "Northwind Consulting",
                     str(second), "fbtime use BUSINESS_ID"):  # fmt: skip
        assert expected in text
    assert fbtime.Client(business_id=sb.business_id).business_id == sb.business_id

    assert main(["whoami"]) == 0
    assert "no business chosen" in capsys.readouterr().out
    assert main(["use", "999"]) == 1
    assert "not a member of business 999" in capsys.readouterr().err
    assert main(["use", str(sb.business_id)]) == 0
    assert "now uses Maple & Pine Studio" in capsys.readouterr().out
    assert fbtime.Client().business_id == sb.business_id
    assert main(["whoami"]) == 0
    assert f"* {sb.business_id}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("field", "url"),
    [
        ("auth_url", "http://auth.example.com/oauth/authorize/"),
        ("token_url", "http://api.example.com/auth/oauth/token"),
        ("base_url", "http://10.1.2.3:8080"),
        ("redirect_uri", "http://example.com/callback"),
    ],
)
def test_plain_http_to_another_machine_is_refused(store, field, url):
    kw = {"redirect_uri": REDIRECT, field: url}
    with pytest.raises(fbtime.ConfigError, match="refusing plain HTTP"):
        LoginFlow("id", "secret", **kw)


def test_missing_app_credentials_say_where_to_find_them(store):
    with pytest.raises(fbtime.ConfigError, match="FRESHBOOKS_CLIENT_SECRET"):
        fbtime.login("id", None, redirect_uri=REDIRECT, open_browser=False)
    with pytest.raises(fbtime.ConfigError, match="FRESHBOOKS_REDIRECT_URI"):
        fbtime.login("id", "secret", open_browser=False)


def test_cli_login_by_pasting_the_url(sb, store, tmp_path):
    env = {**os.environ, "FRESHBOOKS_CLIENT_SECRET": sb.oauth_client_secret}
    cmd = [
        sys.executable, "-m", "fbtime", "login", "--profile", "cli", "--no-browser",
        "--client-id", sb.oauth_client_id, "--redirect-uri", REDIRECT,
        "--auth-url", sb.authorize_url, "--api-url", sb.url,
    ]  # fmt: skip
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    ) as proc:  # fmt: skip
        for line in proc.stdout:
            if line.strip().startswith(sb.authorize_url):
                break
        proc.stdin.write(approve_url(line.strip()) + "\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "saved as profile 'cli'" in out and sb.dataset.owner["email"] in out
    assert sb.oauth_client_secret not in out + err
    assert store.load("cli").identity_id == sb.identity_id


def test_sandbox_token_endpoint_follows_freshbooks(sb):
    creds = {"client_id": sb.oauth_client_id, "client_secret": sb.oauth_client_secret}
    flow = start(sb)
    code = dict(p.split("=", 1) for p in approve(flow).split("?", 1)[1].split("&"))["code"]
    issued = requests.post(
        sb.token_url,
        data={**creds, "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        timeout=10,
    ).json()
    assert issued["token_type"] == "Bearer" and issued["expires_in"] == 43200
    refresh = {**creds, "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}

    missing = requests.post(sb.token_url, json=refresh, timeout=10)  # no redirect_uri
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    wrong = requests.post(
        sb.token_url, json={**refresh, "redirect_uri": REDIRECT, "client_secret": "x"}, timeout=10
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    renewed = requests.post(sb.token_url, json={**refresh, "redirect_uri": REDIRECT}, timeout=10)
    assert renewed.status_code == 200  # a JSON body works too
    reused = requests.post(sb.token_url, json={**refresh, "redirect_uri": REDIRECT}, timeout=10)
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")

    new = renewed.json()
    headers = {"Authorization": f"Bearer {new['access_token']}"}
    entries = f"{sb.url}/timetracking/business/{sb.business_id}/time_entries"
    assert requests.get(entries, headers=headers, timeout=10).status_code == 200
    revoked = requests.post(
        f"{sb.url}/auth/oauth/revoke", data={**creds, "token": new["refresh_token"]}, timeout=10
    )
    assert revoked.status_code == 200
    assert requests.get(entries, headers=headers, timeout=10).status_code == 401
    again = {**refresh, "refresh_token": new["refresh_token"], "redirect_uri": REDIRECT}
    assert requests.post(sb.token_url, data=again, timeout=10).json()["error"] == "invalid_grant"
