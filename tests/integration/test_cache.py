"""Cached loads: revalidated (or, by choice, no request), no leak between tokens, no token
on disk, 0600."""

import stat

import fbtime

LIST = "GET time_entries"


def test_a_second_load_accepting_staleness_sends_no_request(sandbox, cache_dir):
    client = sandbox.client()
    first = fbtime.load_time_entries(client, team=True, per_page=50, progress=False)
    sandbox.reset_stats()
    second = fbtime.load_time_entries(
        client, team=True, per_page=50, progress=False, accept_stale=900
    )
    assert sum(sandbox.stats().values()) == 0
    assert second.equals(first)


def test_refresh_fetches_again(sandbox, cache_dir):
    client = sandbox.client()
    fbtime.load_time_entries(client, progress=False)
    sandbox.reset_stats()
    fbtime.load_time_entries(client, refresh=True, progress=False)
    assert sandbox.stats()[LIST] >= 1


def test_a_second_token_never_reads_the_first_tokens_answers(sandbox, cache_dir):
    owner = fbtime.load_time_entries(sandbox.client(), progress=False)
    teammate_id = next(
        i["id"] for i in sandbox.dataset.identities if i["id"] != sandbox.identity_id
    )
    other = fbtime.Client(
        token=sandbox.token_for(teammate_id), business_id=sandbox.business_id, base_url=sandbox.url
    )
    sandbox.reset_stats()
    theirs = fbtime.load_time_entries(other, progress=False)
    assert sandbox.stats()[LIST] >= 1
    assert set(theirs["identity_id"]) == {teammate_id}
    assert set(owner["identity_id"]) == {sandbox.identity_id}


def test_the_token_never_reaches_the_cache_file(sandbox, cache_dir):
    client = sandbox.client()
    fbtime.load_time_entries(client, team=True, progress=False)
    client.time_entries.get(int(sandbox.entries()["id"].iloc[0]))
    files = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert sandbox.token.encode() not in path.read_bytes(), path


def test_cache_file_is_private(sandbox, cache_dir):
    client = sandbox.client()
    fbtime.load_time_entries(client, progress=False)
    assert stat.S_IMODE(client.cache_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700


def test_a_write_invalidates_list_and_get_answers(fresh_sandbox, cache_dir):
    client = fresh_sandbox.client()
    before = fbtime.load_time_entries(client, progress=False)
    entry_id = int(before.index[0])
    client.time_entries.get(entry_id)
    client.time_entries.update(entry_id, note="after the update")
    after = fbtime.load_time_entries(client, progress=False)
    assert after.loc[entry_id, "note"] == "after the update"
    assert client.time_entries.get(entry_id)["note"] == "after the update"


def test_a_write_by_another_token_invalidates_this_tokens_cache(fresh_sandbox, cache_dir):
    reader = fresh_sandbox.client()
    writer = fbtime.Client(
        token=fresh_sandbox.token_for(fresh_sandbox.identity_id),
        business_id=fresh_sandbox.business_id,
        base_url=fresh_sandbox.url,
    )
    entry_id = int(fbtime.load_time_entries(reader, progress=False).index[0])
    writer.time_entries.update(entry_id, note="written elsewhere")
    assert fbtime.load_time_entries(reader, progress=False).loc[entry_id, "note"] == (
        "written elsewhere"
    )


def test_cache_cli_lists_and_clears(sandbox, cache_dir, capsys):
    from fbtime.cli import main

    fbtime.load_time_entries(sandbox.client(), progress=False)
    assert main(["cache", "info"]) == 0
    assert "http-" in capsys.readouterr().out
    assert main(["cache", "clear"]) == 0
    assert "removed 1 cache file" in capsys.readouterr().out
    assert not list(cache_dir.glob("http-*.sqlite"))
