"""The HTTP cache keeps its promises: reference answers read back with no request, list
pages never stored (a list's cache is its snapshot), no token on disk, private files,
expiry, and compacted page chunks that build the same frame.
"""

import sqlite3
import stat
from urllib.parse import urlsplit

import pandas as pd
import requests
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.api.cache import request_key
from fbtime.frame import chunks_to_frame, compact_chunks, page_chunk
from fbtime.sandbox.data import generate

LIST = "GET time_entries"


def _load(client, **kw):
    frame = fbtime.load_time_entries(client, team=True, progress=False, **kw)
    frame.attrs = {}
    return frame


def _stored(client) -> int:
    with sqlite3.connect(client.cache_path) as db:
        return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]


def test_cached_loads_equal_a_fresh_load_and_leave_no_token_on_disk(sandbox, cache_dir):
    fresh = _load(sandbox.client(cache=False))
    client = sandbox.client()
    cold = _load(client)
    projects = fbtime.load_projects(client)
    sandbox.reset_stats()
    warm = _load(client, accept_stale=900)
    assert fbtime.load_projects(client).equals(projects)
    assert sum(sandbox.stats().values()) == 0
    assert_frame_equal(cold, fresh)
    assert_frame_equal(warm, fresh)
    files = [p for p in cache_dir.rglob("*") if p.is_file()]  # while open: WAL files too
    assert any(p.name.endswith("-wal") for p in files)
    for path in files:
        assert sandbox.token.encode() not in path.read_bytes(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    client.close()
    sandbox.reset_stats()
    assert_frame_equal(_load(sandbox.client(), accept_stale=900), fresh)
    assert sum(sandbox.stats().values()) == 0


def test_reference_answers_are_read_back_and_list_pages_never_stored(sandbox, cache_dir):
    client = sandbox.client()
    path = client.time_entries.path
    pages = [{"team": "true", "page": str(n), "per_page": "20"} for n in range(1, 11)]
    fetched = [client.request("GET", path, params=p, cached=True) for p in pages]
    projects = fbtime.load_projects(client)
    stored = _stored(client)
    sandbox.reset_stats()
    assert [client.request("GET", path, params=p, cached=True) for p in pages] == fetched
    assert fbtime.load_projects(client).equals(projects)
    assert sum(sandbox.stats().values()) == 0  # asked for the cache: read back
    _load(client, refresh=True)  # a load reads its pages on the plain session
    assert sandbox.stats()[LIST] > 0 and _stored(client) == stored


def test_a_lost_snapshot_gives_a_full_load_and_the_same_frame(sandbox, cache_dir):
    fresh = _load(sandbox.client(cache=False))
    client = sandbox.client()
    _load(client)
    pages = -(-len(fresh) // 100)
    (state,) = cache_dir.glob("*.arrow.sync.json")
    state.unlink()
    sandbox.reset_stats()
    assert_frame_equal(_load(client), fresh)
    assert sandbox.stats()[LIST] == pages + 1  # every page, then the updated_since check


def test_expired_answers_are_fetched_again(sandbox, cache_dir):
    client = sandbox.client(cache_expire=0)
    first = fbtime.load_projects(client)
    sandbox.reset_stats()
    assert fbtime.load_projects(client).equals(first)
    assert sandbox.stats()["GET projects"] >= 1


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


def test_compacted_chunks_build_the_same_frame():
    rows = [{k: v for k, v in e.items() if k != "updated_at"} for e in generate(950, 5).entries]
    rows[420]["new_field"] = "x"  # this page takes the plain-Python path
    chunks = [page_chunk(rows[i : i + 50]) for i in range(0, len(rows), 50)] + [page_chunk([])]
    compacted = compact_chunks(chunks)
    assert len(compacted) == 3 and isinstance(compacted[1], pd.DataFrame)
    assert_frame_equal(chunks_to_frame(compacted), chunks_to_frame(chunks))
