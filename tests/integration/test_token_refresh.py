"""Refreshing a saved login: before expiry, on a 401, across threads and across processes.

FreshBooks' refresh tokens are single-use, so each test checks how many refreshes the
sandbox's token endpoint saw, and that the store ends with the live refresh token.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from signin import expire, isolated_login, sign_in

import fbtime
from fbtime.auth.profile_auth import saved_login

TOKEN_KEY = "POST oauth/token"


@pytest.fixture
def store(monkeypatch, tmp_path):
    return isolated_login(monkeypatch, tmp_path)


@pytest.fixture
def sb():
    with fbtime.Sandbox(entries=150, seed=12) as sandbox:
        yield sandbox


def _own_ids(sb) -> list[int]:
    e = sb.entries()
    return sorted(e[(e["identity_id"] == sb.identity_id) & e["active"] & e["is_logged"]]["id"])


def test_expired_token_is_refreshed_on_401_and_the_new_refresh_token_saved(sb, store):
    sign_in(sb)
    first = store.load("default")
    client = fbtime.Client()
    assert sorted(fbtime.load_time_entries(client).index) == _own_ids(sb)

    sb.advance_clock(43200 + 1)  # the server says the access token expired; fbtime can't know
    sb.reset_stats()
    df = fbtime.load_time_entries(client, refresh=True)
    assert sorted(df.index) == _own_ids(sb)
    assert sb.stats()[TOKEN_KEY] == 1
    second = store.load("default")
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert client.auth.profile.access_token == second.access_token

    # the rotated refresh token is the live one: another expiry refreshes again
    sb.advance_clock(43200 + 1)
    assert sorted(fbtime.load_time_entries(client, refresh=True).index) == _own_ids(sb)
    assert sb.stats()[TOKEN_KEY] == 2
    assert store.load("default").refresh_token not in (first.refresh_token, second.refresh_token)


def test_token_near_expiry_is_refreshed_before_the_request(sb, store):
    sign_in(sb)
    old = expire(store)
    sb.reset_stats()
    client = fbtime.Client(cache=False)
    client.time_entries.get(_own_ids(sb)[0])
    stats = sb.stats()
    assert stats[TOKEN_KEY] == 1 and stats["GET time_entry"] == 1  # no 401 round trip
    assert store.load("default").refresh_token != old.refresh_token


def test_short_lived_tokens_from_the_sandbox_are_refreshed_in_time(monkeypatch, tmp_path):
    store = isolated_login(monkeypatch, tmp_path)
    with fbtime.Sandbox(entries=40, seed=3, access_token_ttl=2) as sb:
        sign_in(sb)
        assert store.load("default").lifetime == 2
        client = fbtime.Client(cache=False)
        later = store.load("default").expires_at + 1
        client.auth.clock = lambda: later  # fbtime's clock, 1 s past the expiry
        sb.advance_clock(3)  # the server's clock agrees
        sb.reset_stats()
        assert sorted(fbtime.load_time_entries(client).index) == _own_ids(sb)
        first = sb.stats()
        assert store.load("default").expires_at == later + 2
        fbtime.load_time_entries(client)  # no refresh due: the same requests, less the token
        second = sb.stats() - first
        assert (first[TOKEN_KEY], second[TOKEN_KEY]) == (1, 0)
        assert first["GET time_entries"] == second["GET time_entries"]  # no 401 round trip


def test_threads_hitting_401_together_refresh_once(sb, store):
    sign_in(sb)
    client = fbtime.Client(cache=False, workers=8)
    ids = _own_ids(sb)[:8]
    sb.advance_clock(43201)
    sb.latency = 0.05  # let the requests overlap
    sb.reset_stats()
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: client.time_entries.get(i)["id"], ids))
    assert got == ids
    assert sb.stats()[TOKEN_KEY] == 1


def test_a_reused_refresh_token_says_to_sign_in_again(sb, store):
    sign_in(sb)
    stale_copy = store.load("default")
    fbtime.Client(cache=False)  # fine
    expire(store)
    fbtime.Client(cache=False)  # refreshes: stale_copy's refresh token is now spent
    store.save(stale_copy)  # e.g. a backup restored, or a copy from another machine
    expire(store)
    with pytest.raises(fbtime.AuthError, match=r"already used.*fbtime login") as err:
        fbtime.Client(cache=False)
    assert stale_copy.refresh_token not in str(err.value)
    assert err.value.status == 400


def test_a_revoked_login_says_to_sign_in_again(sb, store):
    sign_in(sb)
    client = fbtime.Client(cache=False)
    sb.revoke(store.load("default").access_token)
    with pytest.raises(fbtime.AuthError, match=r"revoked.*fbtime login") as err:
        fbtime.load_time_entries(client)
    saved = store.load("default")
    for secret in (saved.access_token, saved.refresh_token, saved.client_secret):
        assert secret not in str(err.value) and secret not in repr(err.value)


def test_the_cache_survives_a_token_refresh(sb, store):
    sign_in(sb)
    client = fbtime.Client()
    path = client.cache_path
    fbtime.load_time_entries(client)
    expire(store)
    again = fbtime.Client()
    assert again.cache_path == path
    sb.reset_stats()
    frame = fbtime.load_time_entries(again)
    assert sorted(frame.index) == _own_ids(sb)
    # the same cache's snapshot, revalidated: updated_since and a count, not every page
    assert frame.attrs["fbtime"]["source"] == "revalidated"
    assert sb.stats()["GET time_entries"] == 2


def test_no_token_or_secret_in_logs_reprs_or_files_other_than_the_store(
    sb, store, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    identity = sign_in(sb)
    first = store.load("default")
    client = fbtime.Client()
    fbtime.load_time_entries(client)
    sb.advance_clock(43201)
    fbtime.load_time_entries(client, refresh=True)
    latest = store.load("default")
    secrets = {first.access_token, first.refresh_token, latest.access_token,
               latest.refresh_token, latest.client_secret}  # fmt: skip
    shown = caplog.text + repr(client) + repr(client.auth) + repr(latest) + repr(store)
    shown += str(identity) + repr(identity) + repr(client.settings)
    assert "renewed" in caplog.text  # the renewal was logged, without the token
    for secret in secrets:
        assert secret not in shown
    profile_file = store.path("default")
    assert oct(profile_file.stat().st_mode & 0o777) == "0o600"
    assert oct(profile_file.parent.stat().st_mode & 0o777) == "0o700"
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != profile_file:
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path


CHILD = textwrap.dedent(
    """
    import sys
    import fbtime
    print("ready", flush=True)
    sys.stdin.readline()  # wait for "go", so both refresh at the same moment
    df = fbtime.load_time_entries(fbtime.Client(cache=False))
    print(len(df), flush=True)
    """
)


@pytest.mark.slow
def test_two_processes_refreshing_at_once_burn_no_refresh_token(sb, store):
    sign_in(sb)
    before = store.load("default")
    sb.advance_clock(43201)
    expire(store)
    sb.latency = 0.3  # a slow token endpoint: the second process arrives mid-refresh
    sb.reset_stats()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout.readline().strip() == "ready"
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    results = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, err
        assert int(out.strip()) == len(_own_ids(sb))
    assert sb.stats()[TOKEN_KEY] == 1  # one refresh; the other process used its result
    after = store.load("default")
    assert after.refresh_token != before.refresh_token
    sb.latency = 0
    expire(store)  # the stored refresh token is the live one
    auth = saved_login()
    assert auth.token() != after.access_token
