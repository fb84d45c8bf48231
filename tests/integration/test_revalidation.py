"""A default reload of a cached query is revalidated: a change made outside fbtime shows at
once, for 2 or 3 requests, and the frame always equals a full reload.

Writes "outside fbtime" go straight to the sandbox's store (``sb.create_entry``,
``update_entry``, ``delete_entry``), as FreshBooks' web app would make them: no request,
no cache invalidation. Request counts are the sandbox's.
"""

import datetime as dt
import json
import stat

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import fbtime

LIST = "GET time_entries"


def load(client, **kw):
    return fbtime.load_time_entries(client, progress=False, **kw)


def plain(frame):
    frame = frame.copy()
    frame.attrs = {}
    return frame


def full(sb, **filters):
    return plain(load(sb.client(cache=False), **filters))


def sent(sb) -> int:
    return sum(sb.stats().values())


@pytest.fixture(scope="module")
def revalidating(tmp_path_factory):
    """A sandbox written to behind fbtime's back, and one cache directory for its loads."""
    with fbtime.Sandbox(entries=600, seed=17) as sb:
        yield sb, tmp_path_factory.mktemp("cache")


# -- the property -------------------------------------------------------------------------
FILTERS = [
    {"team": True},
    {"team": True, "billed": False},  # entries billed in the web app leave the filter
    {"team": True, "include_deleted": True},  # deleted entries stay, as inactive
    {},  # the owner's own entries only
]
writes = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(60, 9000)),
        st.tuples(st.just("note"), st.integers(0, 10**6)),
        st.tuples(st.just("billed"), st.integers(0, 10**6), st.booleans()),
        st.tuples(st.just("duration"), st.integers(0, 10**6), st.integers(60, 9000)),
        st.tuples(st.just("started_at"), st.integers(0, 10**6), st.integers(0, 10**6)),
        st.tuples(st.just("delete"), st.integers(0, 10**6)),
    ),
    max_size=5,
)


def write_outside_fbtime(sb, changes) -> None:
    rows = sb.entries()
    live = sorted(int(i) for i in rows.loc[rows["active"] & rows["is_logged"], "id"])
    stamps = sorted(rows["started_at"])
    for kind, *args in changes:
        if kind == "create":
            sb.create_entry(started_at=stamps[-1], duration=args[0])
            continue
        entry = live[args[0] % len(live)]
        if kind == "note":
            sb.update_entry(entry, note=f"fixed in the web app {args[0]}")
        elif kind == "billed":
            sb.update_entry(entry, billed=args[1])
        elif kind == "duration":
            sb.update_entry(entry, duration=args[1])
        elif kind == "started_at":
            sb.update_entry(entry, started_at=stamps[args[1] % len(stamps)])
        else:
            sb.delete_entry(entry)
            live.remove(entry)


@settings(max_examples=16, deadline=None, database=None)
@given(filters=st.sampled_from(FILTERS), changes=writes)
def test_random_writes_outside_fbtime_then_a_default_reload_equal_a_full_reload(
    revalidating, filters, changes
):
    sb, cache = revalidating
    client = sb.client(cache=cache)
    load(client, **filters)  # the first load of a query fills its snapshot
    write_outside_fbtime(sb, changes)
    sb.reset_stats()
    again = load(client, **filters)
    info = again.attrs["fbtime"]
    assert info["source"] == "revalidated" and info["requests"] == sent(sb)
    # updated_since and the count check; with changes, maybe one query over every entry
    # changed since (an entry edited out of the filters): never every page
    assert sent(sb) == 2 if not changes else sent(sb) <= 3
    assert_frame_equal(plain(again), full(sb, **filters))


# -- the promises, one by one -------------------------------------------------------------
def test_nothing_changed_means_two_requests_and_the_same_frame(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    first = load(client, team=True, per_page=20)
    pages = first.attrs["fbtime"]["meta"]["pages"]
    seen = []
    fresh_sandbox.on_request = lambda key, page: seen.append(page)
    fresh_sandbox.reset_stats()
    second = load(client, team=True, per_page=20)
    fresh_sandbox.on_request = None
    assert sent(fresh_sandbox) == fresh_sandbox.stats()[LIST] == 2 < pages
    assert seen == [1, 1]  # page 1 of the updated_since query, and the one-row count
    assert second.attrs["fbtime"]["source"] == "revalidated"
    assert_frame_equal(plain(second), plain(first))


def test_a_fix_made_in_the_web_app_shows_at_the_next_default_reload(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    before = load(client, team=True)
    entry = int(before.index[7])
    fresh_sandbox.update_entry(entry, note="fixed in the web app")
    fresh_sandbox.delete_entry(int(before.index[8]))
    made = fresh_sandbox.create_entry(note="logged in the web app")["id"]
    fresh_sandbox.reset_stats()
    after = load(client, team=True)
    assert after.loc[entry, "note"] == "fixed in the web app"
    assert int(before.index[8]) not in after.index and made in after.index
    assert sent(fresh_sandbox) == 2
    assert_frame_equal(plain(after), full(fresh_sandbox, team=True))
    # the merged frame is the new snapshot: the next reload needs nothing more
    fresh_sandbox.reset_stats()
    assert_frame_equal(plain(load(client, team=True)), plain(after))
    assert sent(fresh_sandbox) == 2


def test_an_entry_edited_out_of_the_filters_is_dropped_with_one_more_request(
    fresh_sandbox, cache_dir
):
    client = fresh_sandbox.client()
    before = load(client, team=True, billed=False)
    billed = int(before.index[3])
    fresh_sandbox.update_entry(billed, billed=True)  # no longer billed=False
    fresh_sandbox.reset_stats()
    after = load(client, team=True, billed=False)
    assert billed not in after.index
    assert sent(fresh_sandbox) == 3  # updated_since, the count, every entry changed since
    assert_frame_equal(plain(after), full(fresh_sandbox, team=True, billed=False))


def test_accept_stale_serves_the_cache_with_no_request_by_choice(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    before = load(client, team=True)
    fresh_sandbox.update_entry(int(before.index[0]), note="changed meanwhile")
    fresh_sandbox.reset_stats()
    stale = load(client, team=True, accept_stale=dt.timedelta(minutes=10))
    assert sent(fresh_sandbox) == 0 and stale.attrs["fbtime"]["source"] == "cache"
    assert_frame_equal(plain(stale), plain(before))  # the staleness asked for, no more
    assert stale.attrs["fbtime"]["fetched_at"] <= dt.datetime.now(dt.UTC).isoformat()
    current = load(client, team=True, accept_stale=0)  # none accepted: revalidated
    assert current.loc[int(before.index[0]), "note"] == "changed meanwhile"


def test_accept_stale_never_hides_a_write_made_through_fbtime(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    before = load(client, team=True)
    entry = int(before.index[0])
    client.time_entries.update(entry, note="written by this notebook")
    fresh_sandbox.reset_stats()
    after = load(client, team=True, accept_stale=600)
    assert after.loc[entry, "note"] == "written by this notebook"
    assert after.attrs["fbtime"]["source"] == "revalidated" and sent(fresh_sandbox) == 2


def test_refresh_still_reads_every_page(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    first = load(client, team=True, per_page=50)
    fresh_sandbox.reset_stats()
    again = load(client, team=True, per_page=50, refresh=True)
    assert fresh_sandbox.stats()[LIST] == first.attrs["fbtime"]["meta"]["pages"] + 1
    assert again.attrs["fbtime"]["source"] == "network"


def test_a_snapshot_the_server_disagrees_with_is_replaced_by_a_full_load(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    truth = plain(load(client, team=True))
    # lose an entry from the snapshot file, as a broken disk or an old bug might (the file
    # keeps the id its state names, and the state its size and row count)
    path = next(cache_dir.glob("*.arrow"))
    table = pa.ipc.open_file(pa.py_buffer(path.read_bytes())).read_all()
    shorter = table.slice(1)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, shorter.schema) as out:
        out.write_table(shorter)
    state_file = path.with_name(path.name + ".sync.json")
    state = {**json.loads(state_file.read_text()), "rows": len(truth) - 1,
             "bytes": path.stat().st_size}  # fmt: skip
    state_file.write_text(json.dumps(state))
    fresh_sandbox.reset_stats()
    again = load(client, team=True)
    assert_frame_equal(plain(again), truth)
    assert again.attrs["fbtime"]["source"] == "network"
    pages = -(-len(truth) // 100)
    assert sent(fresh_sandbox) == 2 + pages + 1  # the check that disagreed, then a full load


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(b"not arrow at all"),
        lambda path: path.write_bytes(path.read_bytes()[:1000]),
        lambda path: path.unlink(),
    ],
    ids=["garbage", "cut short", "missing"],
)
def test_a_damaged_snapshot_file_means_a_full_load_not_an_error(fresh_sandbox, cache_dir, damage):
    client = fresh_sandbox.client()
    truth = plain(load(client, team=True))
    damage(next(cache_dir.glob("*.arrow")))
    again = load(client, team=True)
    assert_frame_equal(plain(again), truth)
    assert again.attrs["fbtime"]["source"] == "network"


@pytest.mark.parametrize(
    "state",
    [
        "not json",
        json.dumps([1, 2]),
        json.dumps({"version": 2, "watermark": "yesterday"}),
        "future",
        "another business",
        "other filters",
    ],
    ids=["not json", "a list", "no time", "from the future", "another business", "filters"],
)  # fmt: skip
def test_a_tampered_state_is_not_believed(fresh_sandbox, cache_dir, state):
    client = fresh_sandbox.client()
    truth = plain(load(client, team=True))
    state_file = next(cache_dir.glob("*.arrow.sync.json"))
    kept = json.loads(state_file.read_text())
    if state == "future":
        state = json.dumps({**kept, "checked_at": "2999-01-01T00:00:00+00:00"})
    elif state == "another business":
        state = json.dumps({**kept, "business_id": kept["business_id"] + 1})
    elif state == "other filters":
        state = json.dumps({**kept, "filters": {"team": "false"}})
    state_file.write_text(state)
    again = load(client, team=True)
    assert_frame_equal(plain(again), truth)
    assert again.attrs["fbtime"]["source"] == "network"


def test_the_snapshot_is_kept_per_identity_privately_and_without_the_token(sandbox, cache_dir):
    owner = sandbox.client()
    load(owner, team=True)
    teammate = next(i["id"] for i in sandbox.dataset.identities if i["id"] != sandbox.identity_id)
    theirs = fbtime.Client(
        token=sandbox.token_for(teammate), business_id=sandbox.business_id, base_url=sandbox.url
    )
    frame = load(theirs, team=True)
    assert frame.attrs["fbtime"]["source"] == "network"  # the owner's snapshot is not theirs
    assert set(frame["identity_id"]) == {teammate}
    snapshots = sorted(cache_dir.glob("*.arrow"))
    assert len(snapshots) == 2
    assert {p.name.rsplit("-", 1)[0] for p in snapshots} == {
        owner.cache_path.stem,
        theirs.cache_path.stem,
    }
    states = [p.with_name(p.name + ".sync.json") for p in snapshots]
    for path in [*snapshots, *states, owner.cache_path, theirs.cache_path]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sandbox.token.encode() not in path.read_bytes()
        assert sandbox.token_for(teammate).encode() not in path.read_bytes()


def test_a_query_with_fields_fbtime_does_not_know_is_loaded_but_not_kept(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    page = client.request("GET", client.time_entries.path, params={"per_page": "5"})
    rows = page["time_entries"]
    rows[0]["brand_new_field"] = "kept"  # a field the API added after this fbtime
    body = {"time_entries": rows, "meta": {**page["meta"], "total": len(rows), "pages": 1}}
    fresh_sandbox.inject(200, endpoint=LIST, body=body)
    frame = load(client)
    assert frame.loc[rows[0]["id"], "brand_new_field"] == "kept"
    assert not list(cache_dir.glob("*.arrow"))
    assert load(client).attrs["fbtime"]["source"] == "network"


def test_bad_accept_stale_is_refused_before_any_request(fresh_sandbox, cache_dir):
    fresh_sandbox.reset_stats()
    for bad in (-1, float("nan"), "10 minutes", True):
        with pytest.raises(fbtime.QueryError, match="accept_stale"):
            load(fresh_sandbox.client(), team=True, accept_stale=bad)
    assert sent(fresh_sandbox) == 0


def test_a_sync_and_a_revalidated_load_see_the_same_change(tmp_path, fresh_sandbox, cache_dir):
    path = tmp_path / "team.parquet"
    fbtime.sync(path, client=fresh_sandbox.client(cache=False), team=True)
    client = fresh_sandbox.client()
    load(client, team=True)
    fresh_sandbox.update_entry(int(fresh_sandbox.entries()["id"].iloc[5]), note="both see it")
    report = fbtime.sync(path, client=fresh_sandbox.client(cache=False), team=True)
    synced = fbtime.as_time_entries(pd.read_parquet(path))
    assert report.changed == 1 and report.requests == 2
    assert_frame_equal(synced, plain(load(client, team=True)))
