"""API errors arrive as typed fbtime errors with what the server said."""

import pytest

import fbtime


def client(sb, **kw):
    return fbtime.Client(
        token=sb.token, business_id=sb.business_id, base_url=sb.url, cache=False, **kw
    )


def test_401_is_an_auth_error_that_says_what_to_do(sandbox):
    bad = fbtime.Client(
        token="not-a-token", business_id=sandbox.business_id, base_url=sandbox.url, cache=False
    )
    with pytest.raises(fbtime.AuthError) as info:
        bad.time_entries.get(1)
    assert info.value.status == 401
    assert "fbtime login" in str(info.value)
    assert "not-a-token" not in str(info.value)


def test_404_is_not_found(sandbox):
    with pytest.raises(fbtime.NotFoundError, match="could not be found"):
        client(sandbox).time_entries.get(999_999_999)


def test_422_field_errors_reach_the_exception(fresh_sandbox):
    with pytest.raises(fbtime.ValidationError) as info:
        client(fresh_sandbox).time_entries.create(is_logged=True, duration=60)
    assert "started_at" in info.value.field_errors
    assert info.value.status == 422


def test_429_then_success_after_retry_after(sandbox):
    sandbox.inject(429, times=1, headers={"Retry-After": "1"}, body={"message": "slow down"})
    sandbox.reset_stats()
    entry_id = int(sandbox.entries()["id"].iloc[0])
    assert client(sandbox).time_entries.get(entry_id)["id"] == entry_id
    assert sandbox.stats()["GET time_entry"] == 2


def test_429_past_the_retry_budget(sandbox):
    sandbox.inject(429, times=3, headers={"Retry-After": "0"}, body={"message": "slow down"})
    with pytest.raises(fbtime.RateLimitError) as info:
        client(sandbox, retries=2).time_entries.get(1)
    assert info.value.retry_after == 0


def test_5xx_is_retried_then_a_server_error(sandbox):
    sandbox.inject(503, times=10, body={"message": "maintenance"})
    sandbox.reset_stats()
    with pytest.raises(fbtime.ServerError, match="maintenance"):
        client(sandbox, retries=2).time_entries.get(1)
    assert sandbox.stats()["GET time_entry"] == 3
    sandbox.clear_injections()


def test_non_json_body_is_a_clear_error(sandbox):
    sandbox.inject(502, times=2, raw=b"<html><h1>502 Bad Gateway</h1></html>")
    with pytest.raises(fbtime.ServerError, match="non-JSON answer: 502 Bad Gateway"):
        client(sandbox, retries=1).time_entries.get(1)


def test_post_is_never_retried(fresh_sandbox):
    fresh_sandbox.inject(500, times=1, method="POST", body={"message": "boom"})
    fresh_sandbox.reset_stats()
    with pytest.raises(fbtime.ServerError):
        client(fresh_sandbox).time_entries.create(
            is_logged=True, duration=60, started_at="2026-11-02T10:00:00Z"
        )
    assert fresh_sandbox.stats()["POST time_entries"] == 1


def test_connection_refused_is_a_transport_error():
    dead = fbtime.Client(
        token="t", business_id=1, base_url="http://127.0.0.1:9", cache=False, retries=0
    )
    with pytest.raises(fbtime.TransportError) as info:
        dead.time_entries.get(1)
    # one line a person can act on, with no chained urllib3 traceback under it
    assert str(info.value) == (
        "cannot reach http://127.0.0.1:9: connection refused; is the server running there?"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__
