"""A 429 storm is survived, the workers back off together, the client keeps its rate.

Nothing here asserts a duration: the limiter's own accounting (grant times and pause
windows, kept under its lock) and the order and count of requests the server saw are
checked instead, with bounds that hold however slow the machine is.
"""

import threading
import time

import pytest
from pandas.testing import assert_frame_equal

import fbtime

LIST = "GET time_entries"
RATE = 25.0


def load(client):
    frame = fbtime.load_time_entries(client, team=True, per_page=50, progress=False)
    frame.attrs = {}
    return frame


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=1200, seed=11) as sandbox:
        expected = load(sandbox.client(cache=False))
        yield sandbox, expected


def arrivals(sandbox, storm: int = 0) -> list[float]:
    """Clock times at which the server began answering list pages.

    With ``storm``, the ``storm`` requests after page 1 answer 429 ``Retry-After: 1``, so
    the storm hits the concurrent workers, not page 1 alone.
    """
    seen: list[float] = []
    lock = threading.Lock()

    def record(key, page):
        with lock:
            if storm and not seen:
                sandbox.inject(429, times=storm, endpoint=LIST, headers={"Retry-After": "1"})
            seen.append(time.monotonic())

    sandbox.on_request = record
    return seen


def most_in_window(times: list[float], seconds: float) -> int:
    times, best, start = sorted(times), 0, 0
    for end, stamp in enumerate(times):
        while stamp - times[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_a_storm_of_429s_is_survived_and_every_worker_waits_it_out(sb):
    sandbox, expected = sb
    seen = arrivals(sandbox, storm=8)
    client = sandbox.client(cache=False, workers=4, rate_limit=RATE)
    sandbox.reset_stats()
    try:
        frame = load(client)
    finally:
        sandbox.on_request = None
        sandbox.clear_injections()
    assert_frame_equal(frame, expected)
    limiter = client.limiter
    pages = len(seen)
    assert sandbox.stats()[LIST] == pages + 8  # every 429 was retried, nothing else
    assert limiter.granted == pages + 8 and limiter.pauses >= 1
    grants = limiter.grants()
    # collective back-off: no worker was let through while a Retry-After pause was on
    for start, end in limiter.pause_log:
        assert not [g for g in grants if start < g < end - 1e-6]
    # the token bucket's promise, from its own books: burst + rate x window at most
    assert limiter.max_in_window(1.0) <= limiter.capacity + RATE + 1
    # what the server saw: at most one request in flight per worker beyond that
    assert most_in_window(seen, 1.0) <= limiter.capacity + RATE + 4


def test_a_published_server_limit_below_the_client_rate_is_kept(sb):
    sandbox, expected = sb
    sandbox.set_rate_limit(12, per=1.0)  # the client's own rate is higher: the server's wins
    sandbox.reset_stats()
    client = sandbox.client(cache=False, workers=4, rate_limit=RATE)
    try:
        frame = load(client)
    finally:
        sandbox.set_rate_limit(None)
    assert_frame_equal(frame, expected)
    assert client.limiter.pauses == 0  # X-RateLimit-* was obeyed: never told Retry-After
    assert sandbox.stats()[LIST] == client.limiter.granted
