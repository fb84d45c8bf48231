"""fbtime.sync keeps a Parquet snapshot equal to a fresh full load, with few requests."""

import json
import random
import sqlite3

import pandas as pd
import pytest
from groundtruth import mutate
from pandas.testing import assert_frame_equal

import fbtime
from fbtime.sync import SyncFiltersError, state_path, sync

LIST = "GET time_entries"


def snapshot(path) -> pd.DataFrame:
    return fbtime.as_time_entries(pd.read_parquet(path))


def fresh(sb, **filters) -> pd.DataFrame:
    frame = fbtime.load_time_entries(sb.client(cache=False), progress=False, **filters)
    frame.attrs = {}
    return frame


@pytest.mark.parametrize(
    ("seed", "filters"),
    [(1, {"team": True}), (2, {"team": True}), (3, {}), (4, {"team": True, "billed": False})],
)
def test_sync_after_random_writes_equals_a_full_reload(tmp_path, seed, filters):
    rng = random.Random(seed)
    path = tmp_path / "entries.parquet"
    with fbtime.Sandbox(entries=800, seed=seed) as sb:
        first = sync(path, client=sb.client(cache=False), **filters)
        assert first.full and first.reason == "first sync" and first.new == first.rows
        assert_frame_equal(snapshot(path), fresh(sb, **filters))
        for _ in range(3):
            mutate(sb, rng, 25)
            sb.reset_stats()
            report = sync(path, client=sb.client(cache=False), **filters)
            assert sb.stats()[LIST] == report.requests
            assert_frame_equal(snapshot(path), fresh(sb, **filters))
            assert report.rows == len(snapshot(path))
            assert report.old_watermark <= report.new_watermark
            # billed=False: entries billed meanwhile leave the filter; a wider changes query
            # finds them (2 more requests) instead of a full reload
            assert not report.full and report.requests <= report.pages + 2 and report.pages <= 4
            assert report.new + report.changed + report.deleted > 0


def test_an_unchanged_sync_fetches_one_page_and_changes_nothing(tmp_path, fresh_sandbox):
    path = tmp_path / "s.parquet"
    client = fresh_sandbox.client(cache=False)
    sync(path, client=client, team=True)
    before = snapshot(path)
    fresh_sandbox.reset_stats()
    report = sync(path, client=client, team=True)
    assert (report.full, report.new, report.changed, report.deleted) == (False, 0, 0, 0)
    assert fresh_sandbox.stats()[LIST] == report.requests == 2  # changes + count check
    assert_frame_equal(snapshot(path), before)


def test_a_write_right_after_a_sync_is_seen_even_with_no_lag(tmp_path, fresh_sandbox):
    # updated_since goes out at whole seconds (floored): it can only fetch more, not less.
    path = tmp_path / "s.parquet"
    client = fresh_sandbox.client(cache=False)
    sync(path, client=client, team=True, lag=0)
    entry = int(snapshot(path).index[3])
    fresh_sandbox.update_entry(entry, note="right after")
    report = sync(path, client=client, team=True, lag=0)
    assert (report.full, report.changed) == (False, 1)
    assert snapshot(path).loc[entry, "note"] == "right after"


def test_deleted_entries_are_marked_when_the_filters_include_them(tmp_path, fresh_sandbox):
    path = tmp_path / "s.parquet"
    client = fresh_sandbox.client(cache=False)
    sync(path, client=client, team=True, include_deleted=True)
    entry = int(snapshot(path).query("active").index[0])
    fresh_sandbox.delete_entry(entry)
    report = sync(path, client=client, team=True, include_deleted=True)
    assert (report.full, report.deleted, report.changed) == (False, 1, 0)
    assert snapshot(path).loc[entry, "active"] == False  # noqa: E712  (nullable boolean)
    assert_frame_equal(snapshot(path), fresh(fresh_sandbox, team=True, include_deleted=True))


def test_other_filters_are_refused_before_any_request_unless_full(tmp_path, fresh_sandbox):
    path = tmp_path / "s.parquet"
    client = fresh_sandbox.client(cache=False)
    sync(path, client=client, team=True)
    fresh_sandbox.reset_stats()
    with pytest.raises(SyncFiltersError, match=r"team.*full=True"):
        sync(path, client=client, team=True, billable=True)
    with pytest.raises(fbtime.QueryError):
        sync(path, client=client, team="yes")
    assert sum(fresh_sandbox.stats().values()) == 0
    report = sync(path, client=client, team=True, billable=True, full=True)
    assert report.full and report.reason == "full=True"
    assert_frame_equal(snapshot(path), fresh(fresh_sandbox, team=True, billable=True))


def test_state_is_written_after_the_data_and_no_temporary_file_stays(tmp_path, fresh_sandbox):
    path = tmp_path / "s.parquet"
    report = sync(path, client=fresh_sandbox.client(cache=False), team=True)
    state = json.loads(state_path(path).read_text())
    assert state["filters"] == {"team": "true"}
    assert state["business_id"] == fresh_sandbox.business_id
    assert state["watermark"] == report.new_watermark.isoformat()
    assert state_path(path).stat().st_mtime_ns >= path.stat().st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.parquet", "s.parquet.sync.json"]


def test_incremental_sync_bypasses_the_http_cache(tmp_path, fresh_sandbox, cache_dir):
    path = tmp_path / "s.parquet"
    client = fresh_sandbox.client()  # cached client: sync must not read or fill the cache
    sync(path, client=client, team=True)
    for _ in range(2):
        fresh_sandbox.reset_stats()
        sync(path, client=client, team=True)
        assert fresh_sandbox.stats()[LIST] == 2
    with sqlite3.connect(client.cache_path) as db:  # requests-cache's table of answers
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (0,)
    assert not list(cache_dir.glob("*.arrow"))  # nor a cached load's snapshot
