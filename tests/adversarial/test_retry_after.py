"""``Retry-After`` is honoured on 429 and 503 only: the live API sends it on every answer.

FreshBooks puts ``Retry-After`` (the seconds to its window's reset, 0-58) on every answer,
200s included (facts sheet, section 8). A client that obeyed it everywhere would sleep
after every page. What is counted is the client's own books (its limiter's pauses and
waits) and the requests the server received; no duration is asserted.
"""

from __future__ import annotations

import threading

import pytest

import fbtime
from adversarial.servers import Hostile, Reply, entries_page
from adversarial.test_token_travels import ROW, TOKEN, env

PER_PAGE = 2
ROWS = [{**ROW, "id": n} for n in range(10, 0, -1)]


def server_with(first: dict[int, Reply] | None = None, **headers: str):
    """Pages of ROWS, each with ``headers``; the first request of page n gets ``first[n]``."""
    first = dict(first or {})
    lock = threading.Lock()

    def answer(method, path, _):
        query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if part)
        number, size = int(query.get("page", 1)), int(query.get("per_page", PER_PAGE))
        with lock:
            special = first.pop(number, None) if size == PER_PAGE else None
        if special is not None:
            return special
        rows = [] if "updated_since" in query else ROWS  # nothing changed meanwhile
        pages = -(-len(rows) // size)
        page = entries_page(rows[(number - 1) * size : number * size], total=len(rows),
                            pages=pages, page=number, per_page=size)  # fmt: skip
        page.headers.update(headers)
        return page

    return answer


def load(server: Hostile) -> tuple[fbtime.Client, list[int]]:
    client = fbtime.Client(token=TOKEN, business_id=1, base_url=server.url, cache=False,
                           retries=2, workers=2)  # fmt: skip
    frame = fbtime.load_time_entries(client, per_page=PER_PAGE, progress=False)
    return client, frame.index.tolist()


def test_retry_after_on_every_200_never_makes_a_load_wait(monkeypatch, tmp_path):
    env(monkeypatch, tmp_path)
    with Hostile(server_with(**{"Retry-After": "58"})) as server:
        client, ids = load(server)
    assert ids == list(range(10, 0, -1))
    assert client.limiter.pauses == 0 and client.limiter.waited == 0
    assert server.requests == 5 + 1  # every page once, and the updated_since check


@pytest.mark.parametrize("status", [500, 502, 504])
def test_retry_after_on_a_server_error_other_than_503_is_not_a_pause(monkeypatch, tmp_path,
                                                                     status):  # fmt: skip
    env(monkeypatch, tmp_path)
    failing = Reply.json({"message": "oops"}, status, **{"Retry-After": "3"})
    with Hostile(server_with({2: failing})) as server:
        client, ids = load(server)
    assert ids == list(range(10, 0, -1))
    assert client.limiter.pauses == 0  # the client's own backoff, not the header's 3 s
    assert server.requests == 5 + 1 + 1


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_pauses_every_worker(monkeypatch, tmp_path, status):
    env(monkeypatch, tmp_path)
    limited = Reply.json({"message": "slow down"}, status, **{"Retry-After": "1"})
    with Hostile(server_with({2: limited})) as server:
        client, ids = load(server)
    assert ids == list(range(10, 0, -1))
    assert client.limiter.pauses == 1
    assert client.limiter.pause_log[0][1] - client.limiter.pause_log[0][0] == pytest.approx(1)
