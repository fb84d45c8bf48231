"""Bad input gets a typed error before any request, and leaves nothing behind.

Attacks: Unicode digits that ``str.isdigit`` accepts, NaN and infinity where seconds or
rates belong, a lone surrogate in a note, ids and durations beyond 64 bits, and a stray
request to the loopback sign-in listener. Each asserts the typed error, 0 requests at the
sandbox and no file written.
"""

from __future__ import annotations

import math
import threading

import pytest
import requests

import fbtime


@pytest.fixture
def quiet(sandbox, tmp_path, monkeypatch):
    """The module's sandbox with its counters reset, and a cwd of the test's own."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    sandbox.reset_stats()
    return sandbox


def nothing_happened(sb, tmp_path):
    assert sum(sb.stats().values()) == 0
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("digits", ["²", "١٢", "５", "1²", "⁵⁰⁰⁰"])
def test_unicode_digits_are_not_ids(quiet, tmp_path, digits):
    client = quiet.client(cache=False)
    with pytest.raises(fbtime.QueryError, match="whole number"):
        client.time_entries.get(digits)
    with pytest.raises(fbtime.QueryError):
        fbtime.load_time_entries(client, client_id=digits)
    with pytest.raises(fbtime.QueryError):
        fbtime.load_time_entries(client, identity_id=digits)
    with pytest.raises(fbtime.ConfigError, match="business_id"):
        fbtime.Client(token="t0k", business_id=digits, base_url=quiet.url)
    nothing_happened(quiet, tmp_path)


def test_a_unicode_digit_business_id_in_the_environment_is_refused(quiet, tmp_path, monkeypatch):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", quiet.token)
    monkeypatch.setenv("FRESHBOOKS_API_URL", quiet.url)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", "²")
    with pytest.raises(fbtime.ConfigError, match="business_id"):
        fbtime.Client()
    nothing_happened(quiet, tmp_path)


BAD_NUMBERS = [math.nan, math.inf, -math.inf, -1.0]
#: (setting, value): NaN, infinity and negatives everywhere; 0 where it means nothing
#: (a cache_expire of 0 is valid: cache nothing).
BAD_SETTINGS = [
    *((name, value) for name in ("timeout", "rate_limit", "cache_expire", "max_retry_after")
      for value in BAD_NUMBERS),
    ("timeout", 0), ("rate_limit", 0), ("max_retry_after", 0),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), BAD_SETTINGS)
def test_nan_and_infinity_are_not_seconds_or_rates(quiet, tmp_path, name, value):
    with pytest.raises(fbtime.ConfigError, match=name):
        quiet.client(cache=False, **{name: value})
    nothing_happened(quiet, tmp_path)


@pytest.mark.parametrize("lag", [math.nan, math.inf, -5, "soon"])
def test_a_sync_lag_must_be_finite_seconds(quiet, tmp_path, lag):
    with pytest.raises(fbtime.QueryError, match="lag"):
        fbtime.sync(tmp_path / "s.parquet", client=quiet.client(cache=False), lag=lag, team=True)
    nothing_happened(quiet, tmp_path)


@pytest.mark.parametrize("note", ["\ud800", "ok \udfff", "\ud83d"])
def test_a_lone_surrogate_in_a_note_is_refused_and_leaves_no_journal(quiet, tmp_path, note):
    client = quiet.client(cache=False)
    with pytest.raises(fbtime.QueryError, match="lone surrogate"):
        client.time_entries.create(
            is_logged=True, started_at="2026-03-02T14:00:00Z", duration=60, note=note
        )
    df = fbtime.load_time_entries(client, team=True, progress=False).head(3)
    quiet.reset_stats()
    with pytest.raises(fbtime.PlanError):
        df.fbtime.update(note=note)
    nothing_happened(quiet, tmp_path)


@pytest.mark.parametrize("value", [2**63, 2**64, 10**30])
def test_ids_and_durations_beyond_64_bits_are_refused(quiet, tmp_path, value):
    client = quiet.client(cache=False)
    with pytest.raises(fbtime.QueryError, match="64"):
        client.time_entries.get(value)
    with pytest.raises(fbtime.QueryError, match="64"):
        fbtime.load_time_entries(client, client_id=value)
    with pytest.raises(fbtime.QueryError):
        client.time_entries.create(is_logged=True, started_at="2026-03-02T14:00:00Z",
                                   duration=value)  # fmt: skip
    with pytest.raises(fbtime.ConfigError):
        fbtime.Client(token="t0k", business_id=value, base_url=quiet.url)
    nothing_happened(quiet, tmp_path)


# -- the loopback sign-in listener ---------------------------------------------------------
def test_a_stray_request_to_the_login_listener_is_ignored_and_sign_in_finishes(
    tmp_path, monkeypatch
):
    from integration.signin import isolated_login

    store = isolated_login(monkeypatch, tmp_path)
    with fbtime.Sandbox(entries=50, seed=5) as sb:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        redirect = f"http://127.0.0.1:{port}/callback"
        answers: list[int] = []

        def browser(url: str) -> None:
            def go() -> None:
                for stray in ("?code=x&state=forged", "?state=", "?error=access_denied"):
                    answers.append(requests.get(redirect + stray, timeout=10).status_code)
                answers.append(requests.get(url, timeout=10).status_code)  # the real one

            threading.Thread(target=go).start()

        me = fbtime.login(
            sb.oauth_client_id, sb.oauth_client_secret, redirect_uri=redirect,
            open_browser=browser, auth_url=sb.authorize_url, base_url=sb.url, timeout=20,
        )  # fmt: skip
    assert answers == [400, 400, 400, 200]
    assert me.identity_id == sb.identity_id
    assert store.load("default") is not None
