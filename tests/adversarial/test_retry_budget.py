"""One retry budget: a request is tried at most ``retries + 1`` times, whatever fails.

The attempts are counted where they land: requests a hostile server received,
connections a dropping server accepted, connections opened to a dead port. These figures
are what client.py's docstring promises as the worst case of one call:
``(retries + 1) x 2 x timeout + backoff``.
"""

from __future__ import annotations

import time

import pytest
import urllib3.connection

import fbtime
from adversarial.servers import Dropper, Hostile, Reply, entries_page, free_port
from adversarial.test_token_travels import ROW, TOKEN, env

RETRIES = 3


def client_for(url: str, **kw) -> fbtime.Client:
    kw = {"retries": RETRIES, "timeout": 0.5, "cache": False, **kw}
    return fbtime.Client(token=TOKEN, business_id=1, base_url=url, **kw)


@pytest.fixture
def connections(monkeypatch):
    """Count every TCP connection urllib3 opens (a spy: the connection is still made)."""
    opened = []
    real = urllib3.connection.HTTPConnection._new_conn

    def counted(self):
        opened.append((self.host, self.port))
        return real(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "_new_conn", counted)
    return opened


def test_a_dead_port_is_tried_retries_plus_one_times(monkeypatch, tmp_path, connections):
    env(monkeypatch, tmp_path)
    port = free_port()
    with pytest.raises(fbtime.TransportError, match="connection refused") as info:
        client_for(f"http://127.0.0.1:{port}").time_entries.get(7)
    assert len(connections) == RETRIES + 1
    assert f"tried {RETRIES + 1} times" in str(info.value)


def test_a_server_that_accepts_and_never_answers_is_tried_retries_plus_one_times(
    monkeypatch, tmp_path
):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply(hang=5)) as server,
        pytest.raises(fbtime.TransportError, match="no answer within"),
    ):
        client_for(server.url, timeout=0.3).time_entries.get(7)
    assert server.requests == RETRIES + 1


def test_a_server_that_drips_its_answer_is_cut_off_each_attempt(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    page = entries_page([ROW])
    with (
        Hostile(lambda m, p, h: Reply(200, page.headers, page.body, drip=0.05)) as server,
        pytest.raises(fbtime.TransportError, match="did not arrive within"),
    ):
        fbtime.load_time_entries(client_for(server.url, timeout=0.4), progress=False)
    assert server.requests == RETRIES + 1


def test_a_server_that_drips_its_headers_is_cut_off_at_the_deadline(monkeypatch, tmp_path):
    """The whole-answer deadline starts with the request, not after the headers: a status
    line and headers dripped a byte every 0.05 s (about 22 s in all) cannot hold a call
    with ``timeout=1, retries=0`` past its deadline."""
    env(monkeypatch, tmp_path)
    answer = Reply.json({"time_entry": ROW})
    slow = Reply(200, {**answer.headers, "X-Pad": "p" * 400}, answer.body, drip_head=0.05)
    with Hostile(lambda m, p, h: slow) as server:
        started = time.monotonic()
        cut_off = r"(no answer|the whole answer did not arrive) within 1 s"
        with pytest.raises(fbtime.TransportError, match=cut_off):
            client_for(server.url, timeout=1, retries=0).time_entries.get(7)
        elapsed = time.monotonic() - started
        assert server.requests == 1
    assert server.head_bytes < 60  # about 1 s of dripping (20 bytes), not the 450 of the head
    assert elapsed < 5


def test_a_connection_dropped_at_once_is_tried_retries_plus_one_times(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with Dropper() as server, pytest.raises(fbtime.TransportError):
        client_for(server.url).time_entries.get(7)
    assert server.accepted == RETRIES + 1


def test_a_redirect_loop_costs_retries_plus_one_requests(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply(302, {"Location": p})) as server,
        pytest.raises(fbtime.TransportError, match="redirected"),
    ):
        client_for(server.url).time_entries.get(7)
    assert server.requests == RETRIES + 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_retryable_status_forever_costs_retries_plus_one_requests(monkeypatch, tmp_path, status):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply.json({"message": "no"}, status=status)) as server,
        pytest.raises(fbtime.APIError) as info,
    ):
        client_for(server.url).time_entries.get(7)
    assert info.value.status == status
    assert server.requests == RETRIES + 1


def test_a_cut_short_body_forever_costs_retries_plus_one_requests(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    page = entries_page([ROW])
    with (
        Hostile(lambda m, p, h: Reply(200, page.headers, page.body, cut=True)) as server,
        pytest.raises(fbtime.TransportError, match="cut short"),
    ):
        fbtime.load_time_entries(client_for(server.url), progress=False)
    assert server.requests == RETRIES + 1


def test_unreadable_json_forever_costs_retries_plus_one_requests(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    reply = Reply(200, {"Content-Type": "application/json"}, b'{"time_entries": [')
    with (
        Hostile(lambda m, p, h: reply) as server,
        pytest.raises(fbtime.TransportError, match="unreadable JSON"),
    ):
        fbtime.load_time_entries(client_for(server.url), progress=False)
    assert server.requests == RETRIES + 1


@pytest.mark.parametrize(("status", "error"), [(429, fbtime.RateLimitError),
                                               (503, fbtime.ServerError)])  # fmt: skip
def test_a_retry_after_beyond_the_cap_raises_at_once(monkeypatch, tmp_path, status, error):
    env(monkeypatch, tmp_path)
    reply = Reply.json({"message": "later"}, status=status, **{"Retry-After": "3600"})
    with Hostile(lambda m, p, h: reply) as server, pytest.raises(error, match="3600 s"):
        client_for(server.url, max_retry_after=5).time_entries.get(7)
    assert server.requests == 1


def test_a_post_is_never_retried(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply.json({"message": "oops"}, status=500)) as server,
        pytest.raises(fbtime.ServerError),
    ):
        client_for(server.url).time_entries.create(
            is_logged=True, started_at="2026-03-02T14:00:00Z", duration=60
        )
    assert server.requests == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_a_status_that_will_not_change_is_not_retried(monkeypatch, tmp_path, status):
    env(monkeypatch, tmp_path)
    with (
        Hostile(lambda m, p, h: Reply.json({"error": "no"}, status=status)) as server,
        pytest.raises(fbtime.APIError),
    ):
        client_for(server.url).time_entries.get(7)
    assert server.requests == 1


def test_the_budget_is_shared_by_mixed_failures(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    page = entries_page([ROW])
    script = [Reply.json({}, status=503), Reply(302, {"Location": "/again"}),
              Reply(200, page.headers, page.body, cut=True), Reply.json({}, status=500),
              Reply.json({}, status=502), entries_page([ROW])]  # fmt: skip
    with Hostile(lambda m, p, h: script.pop(0)) as server, pytest.raises(fbtime.ServerError):
        client_for(server.url).request("GET", "/x")
    assert server.requests == RETRIES + 1 and len(script) == 2
