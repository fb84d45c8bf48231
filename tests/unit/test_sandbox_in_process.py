"""The unit tests' seam: ``Sandbox(in_process=True)`` answers fbtime's clients with no socket.

The same app, counters and faults as the server (the two answer alike:
tests/integration/test_sandbox_api.py), reached only by sessions fbtime builds, and only
at an origin under ``.invalid`` that no network has.
"""

from __future__ import annotations

import socket

import pytest
import requests

import fbtime
from fbtime.sandbox.faults import Faults
from fbtime.transport import bounded, mount_in_process

LIST = "GET time_entries"


@pytest.fixture
def no_sockets(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_a_load_and_a_write_go_through_without_a_socket(no_sockets):
    with fbtime.Sandbox(entries=300, seed=2, in_process=True) as sb:
        assert sb.url.startswith("https://sandbox-") and sb.url.endswith(".invalid")
        client = sb.client(cache=False)
        df = fbtime.load_time_entries(client, team=True, progress=False)
        truth = sb.entries()
        counted = truth[truth["active"] & truth["is_logged"]]
        assert sorted(df.index) == sorted(counted["id"]) and len(df) == 290
        assert sb.stats()[LIST] == 4  # 3 pages and the look for changes made meanwhile
        entry = client.time_entries.update(int(df.index[0]), note="in process")
        assert entry["note"] == "in process" == sb.entries().set_index("id").at[entry["id"], "note"]


def test_errors_faults_and_retries_come_out_as_over_http(no_sockets):
    with fbtime.Sandbox(entries=50, seed=1, in_process=True) as sb:
        client = sb.client(cache=False, retries=2)
        sb.inject(503, times=1, endpoint="time_entry")
        assert client.time_entries.get(sb.entries()["id"].iloc[0])["id"] > 0
        assert sb.stats()["GET time_entry"] == 2  # the 503, then the retry
        with pytest.raises(fbtime.NotFoundError):
            client.time_entries.get(10**9)
        sb.faults = Faults(seed=1, drop_rate=1.0, methods=frozenset({"GET"}))
        with pytest.raises(fbtime.TransportError, match="closed the connection"):
            client.time_entries.get(sb.entries()["id"].iloc[0])
        assert sb.faults.injected["drop_before"] + sb.faults.injected["drop_after"] == 3


def test_a_stopped_sandbox_refuses_and_a_restarted_one_answers_the_same_clients():
    sb = fbtime.Sandbox(entries=50, seed=1, in_process=True).start()
    client = sb.client(cache=False, retries=0)
    one = int(sb.entries()["id"].iloc[0])
    sb.restart()
    assert client.time_entries.get(one)["id"] == one
    sb.stop()
    with pytest.raises(fbtime.TransportError, match="connection refused"):
        client.time_entries.get(one)
    with pytest.raises(RuntimeError, match="not running"):
        sb.url  # noqa: B018
    # a plain requests session never reaches it: only sessions fbtime builds mount it
    with fbtime.Sandbox(entries=10, seed=1, in_process=True) as other:
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(other.url + "/auth/api/v1/users/me", timeout=5)
        answer = bounded(requests.Session()).get(
            other.url + "/auth/api/v1/users/me",
            headers={"Authorization": f"Bearer {other.token}"},
        )
        assert answer.status_code == 200 and answer.json()["response"]["id"] == other.identity_id


@pytest.mark.parametrize(
    "url",
    ["https://api.freshbooks.com", "http://127.0.0.1:8765", "https://sandbox.invalid.example.com"],
)
def test_only_an_origin_under_invalid_is_answered_in_process(url):
    with pytest.raises(ValueError, match=r"under \.invalid"):
        mount_in_process(url, requests.adapters.BaseAdapter())


def test_an_in_process_sandbox_has_no_port():
    with pytest.raises(ValueError, match="no port"):
        fbtime.Sandbox(entries=10, port=8765, in_process=True)
