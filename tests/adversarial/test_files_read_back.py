"""Files fbtime reads back are untrusted: sync state and snapshot, and the HTTP cache.

(Plans and journals have their own attack files: test_plan_files.py, test_journal_files.py.)
Attacks: a state file edited (future watermark, wrong types, another business, huge),
symlinks and predictable temporary names planted where fbtime writes, and a damaged cache
file. Each asserts a typed error before any request, nothing written through a link,
private modes, or, for the cache, a load that works and says what it did.
"""

from __future__ import annotations

import json
import os
import stat
import warnings

import pandas as pd
import pytest

import fbtime


@pytest.fixture
def synced(fresh_sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "team.parquet"
    fbtime.sync(path, client=fresh_sandbox.client(cache=False), team=True)
    return fresh_sandbox, path, path.with_name(path.name + ".sync.json")


def _edit(state_file, **changes):
    state = json.loads(state_file.read_text())
    state.update(changes)
    state_file.write_text(json.dumps(state))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"watermark": "2999-01-01T00:00:00+00:00"}, "in the future"),
        ({"watermark": 12345}, "a time must be text"),
        ({"watermark": "yesterday"}, "yesterday"),
        ({"business_id": "1"}, "not a business id"),
        ({"business_id": True}, "not a business id"),
        ({"filters": ["team"]}, "filters must map"),
        ({"filters": {"team": True}}, "filters must map"),
        ({"version": 99}, "unknown state version"),
    ],
)
def test_an_edited_sync_state_is_a_sync_error_before_any_request(synced, changes, reason):
    sb, path, state_file = synced
    _edit(state_file, **changes)
    sb.reset_stats()
    with pytest.raises(fbtime.SyncError, match=reason):
        fbtime.sync(path, client=sb.client(cache=False), team=True)
    assert sum(sb.stats().values()) == 0


@pytest.mark.parametrize("content", [b"[1, 2, 3]", b"\xff\xfe not json", b"{" * 100_000])
def test_a_state_file_that_is_not_a_state_is_a_sync_error(synced, content):
    sb, path, state_file = synced
    state_file.write_bytes(content)
    with pytest.raises(fbtime.SyncError):
        fbtime.sync(path, client=sb.client(cache=False), team=True)


def test_a_huge_state_file_is_refused_without_reading_it_all(synced):
    sb, path, state_file = synced
    with open(state_file, "wb") as handle:
        handle.write(b'{"pad": "')
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB without using the disk
    with pytest.raises(fbtime.SyncError, match="larger than"):
        fbtime.sync(path, client=sb.client(cache=False), team=True)


def test_sync_files_are_private(synced):
    _, path, state_file = synced
    for written in (path, state_file):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600


@pytest.mark.parametrize("target", ["snapshot", "state"])
def test_a_symlink_planted_at_a_sync_target_is_replaced_not_written_through(synced, tmp_path,
                                                                            target):  # fmt: skip
    sb, path, state_file = synced
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    planted = path if target == "snapshot" else state_file
    planted.unlink()
    planted.symlink_to(victim)
    with pytest.raises(fbtime.SyncError, match="full=True"):  # it reads the victim's text
        fbtime.sync(path, client=sb.client(cache=False), team=True)
    fbtime.sync(path, client=sb.client(cache=False), team=True, full=True)  # as it says
    assert victim.read_text() == "precious"
    assert not planted.is_symlink()


def test_a_predictable_temporary_name_planted_beside_the_snapshot_is_not_used(synced, tmp_path):
    sb, path, _ = synced
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for name in (
        f".{path.name}.{os.getpid()}.tmp",
        f".{path.name}.sync.json.{os.getpid()}.tmp",
        f"{path.name}.tmp",
    ):  # the names older versions wrote to
        (path.parent / name).symlink_to(victim)  # fmt: skip
    fbtime.sync(path, client=sb.client(cache=False), team=True, full=True)
    assert victim.read_text() == "precious"
    assert len(pd.read_parquet(path)) == len(fbtime.load_time_entries(sb.client(cache=False),
                                                                      team=True))  # fmt: skip


# -- the HTTP cache ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"this is not a database at all" * 100),
        lambda p: p.write_bytes(p.read_bytes()[:200]),  # cut short
        lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096),  # a broken header
    ],
    ids=["garbage", "truncated", "bad-header"],
)
def test_a_damaged_cache_is_moved_aside_and_rebuilt_and_the_user_is_told(
    fresh_sandbox, tmp_path, monkeypatch, damage
):
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    client = fresh_sandbox.client()
    expected = fbtime.load_time_entries(client, team=True, progress=False)
    path = client.cache_path
    client.close()
    damage(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = fbtime.load_time_entries(fresh_sandbox.client(), team=True, progress=False)
    pd.testing.assert_frame_equal(again.sort_index(), expected.sort_index())
    told = [w for w in caught if "damaged" in str(w.message)]
    assert told and str(path) in str(told[0].message)
    aside = list(path.parent.glob(path.name + ".damaged-*"))
    assert aside, "the damaged file is kept for inspection"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_snapshot_with_duplicate_ids_is_a_sync_error_before_any_request(synced):
    # the file keeps fbtime's own metadata and its state its size: only the ids repeat
    import pyarrow as pa
    import pyarrow.parquet as pq

    sb, path, state_file = synced
    table = pq.read_table(path)
    doubled = pa.concat_tables([table, table.slice(0, 3)])
    pq.write_table(doubled, path)
    state = json.loads(state_file.read_text())
    if "bytes" in state:
        state.update(bytes=path.stat().st_size, rows=doubled.num_rows)
    state_file.write_text(json.dumps(state))
    sb.reset_stats()
    with pytest.raises(fbtime.SyncError, match="ids are not unique"):
        fbtime.sync(path, client=sb.client(cache=False), team=True)
    assert sum(sb.stats().values()) == 0
    fbtime.sync(path, client=sb.client(cache=False), team=True, full=True)  # as it says
    assert pd.read_parquet(path).index.is_unique
