"""The token goes only where it belongs: the API it was configured (or saved) for.

Attacks: redirects to another port, host or scheme (with and without a 401 that makes a
saved login renew and re-send), a redirect on a write, URLs that hide another host from a
naive check, a saved login pointed elsewhere by an environment variable, and tokens that
would split a header. Each asserts that nothing reached the other server and that no
message shows the token.
"""

from __future__ import annotations

import json
import time

import pytest

import fbtime
from adversarial.servers import Hostile, Reply, entries_page
from fbtime.cli import main

TOKEN = "tok-saved-access-123"
FRESH = "tok-renewed-access-456"
ROW = {"id": 7, "identity_id": 1, "is_logged": True, "started_at": "2026-03-02T14:00:00Z",
       "created_at": "2026-03-02T14:00:00Z", "duration": 3600, "client_id": None,
       "project_id": None, "service_id": None, "task_id": None, "pending_client": None,
       "pending_project": None, "pending_task": None, "note": "n", "active": True,
       "billable": False, "billed": False, "internal": True, "retainer_id": None,
       "timer": None}  # fmt: skip


def env(monkeypatch, tmp_path) -> None:
    for name in ("FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
                 "FBTIME_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FBTIME_KEYRING", "0")


def save_login(tmp_path, api_url: str, access: str = TOKEN) -> None:
    """A saved login (as `fbtime login` writes it) for the API at ``api_url``."""
    profile = {
        "name": "default", "client_id": "app", "client_secret": "app-secret",
        "redirect_uri": "https://localhost/fbtime", "token_url": api_url + "/auth/oauth/token",
        "api_url": api_url, "access_token": access, "refresh_token": "refresh-1",
        "expires_at": time.time() + 40000, "lifetime": 43200.0, "identity_id": 1,
        "email": "me@example.com", "business_id": 1, "businesses": [{"id": 1, "name": "B"}],
    }  # fmt: skip
    folder = tmp_path / "config" / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "default.json").write_text(json.dumps(profile))


def api(redirect_to: str | None = None, status: int = 302):
    """An API that redirects its list (to ``redirect_to``) and renews tokens on request."""

    def answer(method, path, headers):
        if path.startswith("/auth/oauth/token"):
            return Reply.json({"access_token": FRESH, "refresh_token": "refresh-2",
                               "token_type": "Bearer", "expires_in": 43200})  # fmt: skip
        if redirect_to is not None:
            return Reply(status, {"Location": redirect_to + path})
        if path.split("?")[0].endswith("/time_entries/7"):
            return Reply.json({"time_entry": ROW})
        return entries_page([ROW])

    return answer


def elsewhere():
    return Hostile(lambda m, p, h: Reply.json({"message": "who are you"}, status=401))


def test_a_redirect_to_another_port_answered_401_never_gets_the_saved_token(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with elsewhere() as evil, Hostile(api(redirect_to=None)) as home:
        home.answer = api(redirect_to=evil.url)
        save_login(tmp_path, home.url)
        client = fbtime.Client(cache=False, retries=0)
        with pytest.raises(fbtime.FBTimeError) as info:
            client.time_entries.get(7)
    assert evil.requests == 0 and evil.authorizations() == []
    assert TOKEN not in str(info.value) and FRESH not in str(info.value)


@pytest.mark.parametrize("target", ["http://localhost:{port}", "https://127.0.0.1:{port}"])
def test_a_redirect_to_another_host_or_scheme_is_not_followed(monkeypatch, tmp_path, target):
    env(monkeypatch, tmp_path)
    with elsewhere() as evil, Hostile(api()) as home:
        home.answer = api(redirect_to=target.format(port=evil.port))
        client = fbtime.Client(token=TOKEN, business_id=1, base_url=home.url, cache=False)
        with pytest.raises(fbtime.TransportError, match="redirect"):
            client.time_entries.get(7)
    assert evil.requests == 0
    assert home.requests == 1  # refused at once: a redirect elsewhere is not retried


def test_a_redirect_on_a_write_is_not_followed_even_to_the_same_host(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with Hostile(api()) as home:
        home.answer = api(redirect_to=home.url + "/elsewhere", status=307)
        client = fbtime.Client(token=TOKEN, business_id=1, base_url=home.url, cache=False)
        with pytest.raises(fbtime.TransportError):
            client.request("PUT", "/x", json_body={"time_entry": {"note": "n"}})
    assert [s.method for s in home.seen] == ["PUT"]


def test_a_same_origin_redirect_is_followed_and_the_cache_holds_no_token(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)

    def answer(method, path, headers):
        if path.startswith("/moved"):
            return entries_page([ROW])
        return Reply(302, {"Location": "/moved" + path})

    with Hostile(answer) as home:
        client = fbtime.Client(token=TOKEN, business_id=1, base_url=home.url)
        df = fbtime.load_time_entries(client, progress=False)
        client.close()
    assert df.index.tolist() == [7]
    assert home.authorizations() == [f"Bearer {TOKEN}"] * 2  # only ever to its own API
    written = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert written and TOKEN.encode() not in written


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example:{port}\\@127.0.0.1",  # a backslash: urllib3 sees evil.example
        "http://evil.example:{port}\\\\@127.0.0.1:{port}",
        "http://user:pass@127.0.0.1:{port}",  # userinfo
        "http://127.0.0.1:{port}@evil.example",
        "http://127.0.0.1 .evil.example:{port}",  # whitespace
        "http://127.0.0.1\t:{port}",
        "http://127.0.0.1:{port}\r\nX-Evil: 1",  # a header injected through the URL
        "http://localhost.evil.example:{port}",
        "http://127.0.0.1.nip.io:{port}",
        "HTTP://evil.example:{port}",
        "http://ｅvil.example:{port}",  # non-ASCII look-alike
        "http://127.0.0.1:{port}/?next=http://evil.example",  # a query on the root
    ],
)
def test_plain_http_urls_that_hide_another_host_are_refused_before_any_request(
    monkeypatch, tmp_path, url
):
    env(monkeypatch, tmp_path)
    with Hostile(api()) as home, pytest.raises(fbtime.ConfigError) as info:
        fbtime.Client(token=TOKEN, business_id=1, base_url=url.format(port=home.port))
    assert home.requests == 0
    assert TOKEN not in str(info.value)


def test_a_saved_login_is_not_sent_where_an_environment_variable_points(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with elsewhere() as evil, Hostile(api()) as home:
        save_login(tmp_path, home.url)
        monkeypatch.setenv("FRESHBOOKS_API_URL", evil.url)
        with pytest.raises(fbtime.ConfigError, match="FRESHBOOKS_API_URL") as info:
            fbtime.Client(cache=False)
        assert main(["export", str(tmp_path / "out.csv")]) == 1  # the CLI refuses too
        # naming the other API explicitly is the user's own decision
        client = fbtime.Client(cache=False, base_url=home.url)
        assert client.time_entries.get(7)["id"] == 7
    assert evil.requests == 0
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "bad", ["abc\r\nX-Evil: 1", "abc\ndef", "abc\tdef", "abc def", "tökén-123", "abc\x00", ""]
)
def test_a_token_that_would_split_a_header_is_refused_and_never_shown(
    monkeypatch, tmp_path, capsys, bad
):
    env(monkeypatch, tmp_path)
    with (
        Hostile(api()) as home,
        pytest.raises(fbtime.ConfigError) as info,
    ):
        fbtime.Client(token=bad, business_id=1, base_url=home.url)
        if "\x00" not in bad:  # no environment variable can hold a NUL
            monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", bad)
            monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", "1")
            monkeypatch.setenv("FRESHBOOKS_API_URL", home.url)
            assert main(["export", str(tmp_path / "out.csv")]) != 0
    err = capsys.readouterr().err
    assert home.requests == 0
    secret = bad.strip()
    for shown in (str(info.value), repr(info.value), err):
        assert not secret or secret not in shown


def test_surrounding_whitespace_of_a_pasted_token_is_cleaned(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with Hostile(api()) as home:
        client = fbtime.Client(token=f"  {TOKEN}\n", business_id=1, base_url=home.url, cache=False)
        client.time_entries.get(7)
    assert home.authorizations() == [f"Bearer {TOKEN}"]


def test_a_token_edited_into_a_saved_login_is_refused_and_never_shown(
    monkeypatch, tmp_path, capsys
):
    env(monkeypatch, tmp_path)
    with Hostile(api()) as home:
        save_login(tmp_path, home.url, access="abc\r\nX-Evil: 1")
        assert main(["export", str(tmp_path / "out.csv")]) != 0
    assert home.requests == 0
    assert "abc\r\nX-Evil" not in capsys.readouterr().err
