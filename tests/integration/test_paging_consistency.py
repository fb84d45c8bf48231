"""Concurrent loads equal sequential ones, and writes made while paging are reconciled."""

import random
import threading

import pytest
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.errors import InconsistentPagesError

LIST = "GET time_entries"


def load(client, **kw):
    frame = fbtime.load_time_entries(client, team=True, progress=False, **kw)
    frame.attrs = {}
    return frame


def server_set(sb) -> set[int]:
    rows = sb.entries()
    return set(rows.loc[rows["active"] & rows["is_logged"], "id"].astype(int))


def test_concurrent_and_sequential_loads_are_identical(sandbox):
    sequential = load(sandbox.client(cache=False, workers=1), per_page=37)
    concurrent = load(sandbox.client(cache=False, workers=8), per_page=37)
    assert_frame_equal(concurrent, sequential)
    assert set(concurrent.index) == server_set(sandbox)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_inserts_and_deletes_while_paging_end_with_the_servers_set(seed):
    rng = random.Random(seed)
    with fbtime.Sandbox(entries=1200, seed=seed) as sb:
        stamps = list(sb.entries()["started_at"])
        live = sorted(server_set(sb))
        lock, done = threading.Lock(), []

        def mutate(key, page):
            with lock:
                if key != LIST or len(done) >= 12 or rng.random() < 0.4:
                    return
                if rng.random() < 0.5:
                    victim = live.pop(rng.randrange(len(live)))
                    sb.delete_entry(victim)
                else:  # anywhere in the list: before or after the pages already read
                    sb.create_entry(started_at=rng.choice(stamps), note=f"new {seed}")
                done.append(page)

        sb.on_request = mutate
        frame = load(sb.client(cache=False, workers=4), per_page=50)
        sb.on_request = None
        assert len(done) == 12  # the writes really happened during the load
        assert set(frame.index) == server_set(sb) and frame.index.is_unique
        assert_frame_equal(frame, load(sb.client(cache=False)))


def test_a_change_that_leaves_no_trace_in_the_pages_is_still_caught():
    with fbtime.Sandbox(entries=500, seed=9) as sb:
        first_page = load(sb.client(cache=False), per_page=100).index[:100]
        gone = int(first_page[50])
        made = []

        def insert_above_and_delete_inside(key, page):
            if key == LIST and page == 3 and not made:
                # total unchanged, no duplicate, no short page: only updated_since sees it
                made.append(sb.create_entry(started_at="2099-01-01T00:00:00Z")["id"])
                sb.delete_entry(gone)

        sb.on_request = insert_above_and_delete_inside
        sb.reset_stats()
        frame = fbtime.load_time_entries(
            sb.client(cache=False, workers=1), team=True, progress=False
        )
        pages = frame.attrs["fbtime"]["meta"]["pages"]
        assert made and made[0] in frame.index and gone not in frame.index
        assert set(frame.index) == server_set(sb)
        # pages, then one updated_since query and one count check
        assert sb.stats()[LIST] == frame.attrs["fbtime"]["requests"] == pages + 2


def test_a_list_that_never_settles_raises_a_clear_error():
    with fbtime.Sandbox(entries=300, seed=3) as sb:
        sb.on_request = lambda key, page: sb.create_entry()  # a write before every page
        with pytest.raises(InconsistentPagesError, match="kept changing"):
            load(sb.client(cache=False), per_page=50)


def test_a_cached_load_revalidates_and_a_network_load_sends_one_check(sandbox, cache_dir):
    client = sandbox.client()
    sandbox.reset_stats()
    first = fbtime.load_time_entries(client, team=True, progress=False)
    pages = first.attrs["fbtime"]["meta"]["pages"]
    assert sandbox.stats()[LIST] == pages + 1  # + the updated_since check (nothing changed)
    sandbox.reset_stats()
    second = fbtime.load_time_entries(client, team=True, progress=False)
    assert sum(sandbox.stats().values()) == 2  # updated_since and the count check
    second.attrs, first.attrs = {}, {}
    assert_frame_equal(second, first)


@pytest.mark.parametrize(
    ("seed", "limit"),
    [(1, None), (2, (100, 10.0))],
    ids=["live defaults", "a rolling 100 in 10 s that binds"],
)
def test_a_busy_team_at_the_rate_limit_costs_about_one_read_of_the_list(seed, limit, caplog):
    """A teammate logs and deletes entries in the web app all through a cold load of a
    long list, on the sandbox's live defaults (newest created first, 600 requests in any
    60 s, limit headers and Retry-After on every answer), and under a rolling limit this
    load overruns: the load ends with exactly the server's entries for about the requests
    of one read (issue 19, item 3: at most 1.3 x pages + 10). Time: bench/run.py."""
    import logging

    rng = random.Random(seed)
    caplog.set_level(logging.DEBUG, logger="fbtime")
    with fbtime.Sandbox(entries=11_600, seed=seed) as sb:
        live = sorted(server_set(sb))
        lock, writes = threading.Lock(), []

        def teammate(key, page):
            with lock:
                if key != LIST or rng.random() > 0.1:  # about one write in 10 requests
                    return
                if rng.random() < 0.5:
                    sb.delete_entry(live.pop(rng.randrange(len(live))))
                else:  # logged now, at the top of the list
                    sb.create_entry(note=f"logged during the load {len(writes)}")
                writes.append(page)

        if limit is not None:
            sb.set_rate_limit(*limit)
        sb.on_request = teammate
        sb.reset_stats()
        try:
            frame = load(sb.client(cache=False))
        finally:
            sb.on_request = None
        requests = sb.stats()[LIST]
        truth = server_set(sb)
    pages = -(-len(frame) // 100)
    assert len(writes) >= 8  # the teammate was busy all along
    assert set(frame.index) == truth and frame.index.is_unique
    assert requests <= 1.3 * pages + 10, (requests, pages, len(writes))
    if limit is not None:
        assert requests > limit[0]  # the limit bound this load
    assert " -> 429 " not in caplog.text  # and the limit was never overrun


@pytest.mark.parametrize("seed", [3, 4])
def test_a_teammate_writing_every_other_request_never_reads_the_list_again(seed, caplog):
    """A write lands between nearly any two requests (one in two: entries logged now, at
    the top of the list, and deletes anywhere), under a rolling limit the load overruns:
    the count of the whole list then never describes the moment of a catch-up query, so
    the load settles part by part instead of reading the list again. It ends with
    exactly the server's entries, for well under three reads' worth of requests (the
    sandbox's counters: this writer is five times busier than the issue's, so the 1.3 x
    bound is the other test's and the bench's), and without a 429. (Before:
    InconsistentPagesError after three loads, or 3.4 x the pages in requests.)"""
    import logging

    rng = random.Random(seed)
    caplog.set_level(logging.DEBUG, logger="fbtime")
    with fbtime.Sandbox(entries=6_000, seed=seed) as sb:
        live = sorted(server_set(sb))
        lock, writes = threading.Lock(), []

        def teammate(key, page):
            with lock:
                if key != LIST or rng.random() > 0.5:
                    return
                if len(writes) % 2:
                    sb.delete_entry(live.pop(rng.randrange(len(live))))
                else:
                    sb.create_entry(note=f"logged during the load {len(writes)}")
                writes.append(page)

        sb.set_rate_limit(40, 4.0)
        sb.on_request = teammate
        sb.reset_stats()
        try:
            frame = fbtime.load_time_entries(sb.client(cache=False), team=True, progress=False)
        finally:
            sb.on_request = None
        requests = sb.stats()[LIST]
        truth = server_set(sb)
    pages = -(-len(frame) // 100)
    assert len(writes) >= 30  # a write every other request, all through the load
    assert set(frame.index) == truth and frame.index.is_unique
    assert frame.attrs["fbtime"]["meta"]["total"] == len(truth)
    assert frame.attrs["fbtime"]["requests"] == requests
    assert 40 < requests < 2.5 * pages, (requests, pages, len(writes))  # the limit bound it
    assert " -> 429 " not in caplog.text
