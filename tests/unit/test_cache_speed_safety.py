"""The fast cache paths (issue 5) keep the cache's promises: same frames, no token on disk,
private files, read-your-writes, expiry, and pages in order whatever mix of cache and network.
"""

import sqlite3
import stat
import time
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.api.cache import request_key
from fbtime.api.paging import Page, read_pages
from fbtime.frame import chunks_to_frame, compact_chunks, page_chunk
from fbtime.sandbox.data import generate

LIST = "GET time_entries"


def _load(client, **kw):
    frame = fbtime.load_time_entries(client, team=True, progress=False, **kw)
    frame.attrs = {}
    return frame


def test_cached_loads_equal_a_fresh_load_and_leave_no_token_on_disk(sandbox, cache_dir):
    fresh = _load(sandbox.client(cache=False))
    client = sandbox.client()
    cold = _load(client)
    sandbox.reset_stats()
    warm = _load(client, accept_stale=900)
    assert sum(sandbox.stats().values()) == 0
    assert_frame_equal(cold, fresh)
    assert_frame_equal(warm, fresh)
    files = [p for p in cache_dir.rglob("*") if p.is_file()]  # while open: WAL files too
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        assert sandbox.token.encode() not in path.read_bytes(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    client.close()  # saves still pending are finished first
    sandbox.reset_stats()
    assert_frame_equal(_load(sandbox.client(), accept_stale=900), fresh)
    assert sum(sandbox.stats().values()) == 0


def test_an_answer_just_fetched_is_read_back_from_the_cache(sandbox, cache_dir):
    client = sandbox.client()
    path = client.time_entries.path
    pages = [{"team": "true", "page": str(n), "per_page": "20"} for n in range(1, 41)]
    fetched = [client.request("GET", path, params=p, refresh=True) for p in pages]
    sandbox.reset_stats()  # the saves may still be pending: a read waits for them
    assert [client.request("GET", path, params=p) for p in pages] == fetched
    assert sum(sandbox.stats().values()) == 0


def test_a_lost_snapshot_gives_a_full_load_and_the_same_frame(sandbox, cache_dir):
    # list pages are not kept in the HTTP cache (the snapshot is the list's cache), so
    # without its snapshot a cached query is simply loaded again
    fresh = _load(sandbox.client(cache=False))
    client = sandbox.client()
    _load(client)
    pages = -(-len(fresh) // 100)
    with sqlite3.connect(client.cache_path) as db:
        db.execute("DELETE FROM fbtime_snapshots")
    sandbox.reset_stats()
    assert_frame_equal(_load(client), fresh)
    assert sandbox.stats()[LIST] == pages + 1  # every page, then the updated_since check


def test_expired_answers_are_fetched_again(sandbox, cache_dir):
    client = sandbox.client(cache_expire=0.5)
    first = _load(client, per_page=50)
    time.sleep(0.6)
    sandbox.reset_stats()
    assert_frame_equal(_load(client, per_page=50), first)
    assert sandbox.stats()[LIST] >= 40


def test_a_netrc_entry_never_replaces_the_bearer_token(sandbox, cache_dir, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    host = urlsplit(sandbox.url).hostname
    netrc.write_text(f"machine {host} login someone password not-the-token\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert len(_load(sandbox.client(cache=False), per_page=100)) > 0


def test_cache_keys_ignore_headers_and_query_order():
    def key(method, url, params, headers=None):
        return request_key(requests.Request(method, url, params=params, headers=headers).prepare())

    url = "https://api.example.com/timetracking/business/1/time_entries"
    base = key("GET", url, {"page": "1", "team": "true"}, {"Authorization": "Bearer a"})
    assert key("GET", url, {"team": "true", "page": "1"}, {"Authorization": "Bearer b"}) == base
    assert key("GET", url, {"page": "2", "team": "true"}) != base
    assert key("DELETE", url, {"page": "1", "team": "true"}) != base
    assert key("GET", url.replace("/1/", "/2/"), {"page": "1", "team": "true"}) != base


def _pages(total: int, per_page: int, cached: set[int]):
    rows = [{"id": total - i} for i in range(total)]
    pages = -(-total // per_page)
    calls: list[tuple[str, int]] = []

    def getter(kind: str):
        def get(number: int) -> Page:
            calls.append((kind, number))
            body = {"time_entries": rows[(number - 1) * per_page : number * per_page],
                    "meta": {"total": total, "pages": pages, "per_page": per_page}}  # fmt: skip
            return Page(body, from_cache=kind == "get" and number in cached)

        return get

    return rows, calls, getter


@pytest.mark.parametrize(
    ("cached", "network_after"),
    [(set(range(1, 11)), None), (set(), 1), ({1, 2, 3, 5}, 4)],
)
def test_pages_come_in_order_and_the_network_is_used_after_a_miss(cached, network_after):
    rows, calls, getter = _pages(1000, 100, cached)
    listing = read_pages(getter("get"), key="time_entries", per_page=100, reread=getter("refetch"))
    assert listing.rows == rows
    assert listing.from_network == (network_after is not None)
    if network_after is not None:  # every page after the first miss skips the cache lookup
        assert sorted(n for kind, n in calls if kind == "refetch") == list(
            range(network_after + 1, 11)
        )


def test_compacted_chunks_build_the_same_frame():
    rows = [{k: v for k, v in e.items() if k != "updated_at"} for e in generate(950, 5).entries]
    rows[420]["new_field"] = "x"  # this page takes the plain-Python path
    chunks = [page_chunk(rows[i : i + 50]) for i in range(0, len(rows), 50)] + [page_chunk([])]
    compacted = compact_chunks(chunks)
    assert len(compacted) == 3 and isinstance(compacted[1], pd.DataFrame)
    assert_frame_equal(chunks_to_frame(compacted), chunks_to_frame(chunks))
