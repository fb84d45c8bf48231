"""Under a limit the server publishes (X-RateLimit-*), a load is never told 429.

The sandbox counts every request against a fixed window and publishes what is left; a
well-behaved client never needs to be told twice. Nothing here asserts a duration: the
sandbox's request counters, the client's own books and its DEBUG log are checked.
"""

import logging
import math
import threading
import time

import pytest
from pandas.testing import assert_frame_equal

import fbtime

LIST = "GET time_entries"
PER_PAGE = 25
LIMIT = 12


def load(client, **kw):
    kw.setdefault("progress", False)
    frame = fbtime.load_time_entries(client, team=True, per_page=PER_PAGE, **kw)
    frame.attrs = {}
    return frame


@pytest.fixture(scope="module")
def sb():
    with fbtime.Sandbox(entries=900, seed=21) as sandbox:
        yield sandbox, load(sandbox.client(cache=False))


def arrivals(sandbox) -> list[float]:
    """Wall-clock times at which the server began answering list pages (its windows are
    wall-clock windows)."""
    seen: list[float] = []
    lock = threading.Lock()

    def record(key, page):
        with lock:
            seen.append(time.time())

    sandbox.on_request = record
    return seen


@pytest.mark.parametrize("workers", [None, 8], ids=["default workers", "eight workers"])
@pytest.mark.slow
def test_a_load_under_a_published_limit_is_never_told_429(sb, caplog, workers):
    sandbox, expected = sb
    caplog.set_level(logging.DEBUG, logger="fbtime")
    seen = arrivals(sandbox)
    sandbox.set_rate_limit(LIMIT, per=1.0)
    client = sandbox.client(cache=False, workers=workers)
    sandbox.reset_stats()
    try:
        frame = load(client)
    finally:
        sandbox.set_rate_limit(None)
        sandbox.on_request = None
    assert_frame_equal(frame, expected)
    pages = math.ceil(len(expected) / PER_PAGE)
    # every page once, then the updated_since check: no request was ever repeated
    assert sandbox.stats()[LIST] == pages + 1 == client.limiter.granted
    assert client.limiter.pauses == 0  # never asked to wait by a Retry-After
    assert " -> 429 " not in caplog.text
    # and the limit really set the pace: the requests spread over that many windows
    windows = {math.floor(t) for t in seen}
    assert len(windows) >= math.ceil((pages + 1) / LIMIT)
    assert client.limiter.held > 0 and client.limiter.window.limit == LIMIT


@pytest.mark.slow
def test_a_published_window_shared_with_another_client_is_probed_first(sb):
    sandbox, expected = sb
    sandbox.set_rate_limit(LIMIT, per=1.0)
    other = sandbox.client(cache=False, workers=1)
    try:
        # someone else used most of the window just before this load starts
        for _ in range(LIMIT - 2):
            other.request("GET", other.time_entries.path, params={"per_page": "1"})
        sandbox.reset_stats()
        client = sandbox.client(cache=False)
        frame = load(client)
    finally:
        sandbox.set_rate_limit(None)
    assert_frame_equal(frame, expected)
    assert sandbox.stats()[LIST] == math.ceil(len(expected) / PER_PAGE) + 1
    assert client.limiter.pauses == 0


def first_page(sandbox):
    client = sandbox.client(cache=False)
    params = {"team": "true", "per_page": str(PER_PAGE)}
    return client.request("GET", client.time_entries.path, params=params)


def test_a_window_that_reopens_too_late_raises_before_sending_more(sb):
    sandbox, _ = sb
    reset = str(int(time.time()) + 3600)
    closed = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    sandbox.inject(200, endpoint=LIST, body=first_page(sandbox), headers=closed)
    client = sandbox.client(cache=False)
    sandbox.reset_stats()
    with pytest.raises(fbtime.RateLimitError, match=r"reopens in .* longer than max_retry_after"):
        load(client)
    assert sandbox.stats()[LIST] == 1  # page 1 said the window is used up: nothing more sent


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Limit": "-5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "NaN", "X-RateLimit-Reset": "1"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "inf"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "-1", "X-RateLimit-Reset": "1"},
        {"X-RateLimit-Limit": "ten", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"},
    ],
    ids=["negative limit", "NaN remaining", "endless reset", "negative remaining", "words"],
)
def test_rate_limit_headers_that_make_no_sense_are_not_believed(sb, headers):
    sandbox, _ = sb
    client = sandbox.client(cache=False)
    sandbox.inject(200, endpoint=LIST, body=first_page(sandbox), headers=headers)
    client.request("GET", client.time_entries.path, params={"team": "true"})
    assert client.limiter.window is None  # nothing to wait for, nothing to trust


def test_the_progress_bar_shows_the_current_rate(sb, capsys):
    sandbox, _ = sb
    load(sandbox.client(cache=False), progress=True)
    shown = capsys.readouterr().err
    assert "time entries" in shown and "in flight" in shown and "req/s" in shown
