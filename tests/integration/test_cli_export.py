"""`fbtime export` writes what load_time_entries returns; bad input exits 2 with a message."""

import pandas as pd

import fbtime
from fbtime.cli import main


def use_sandbox(monkeypatch, sb, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


def test_export_parquet_equals_a_load(sandbox, tmp_path, monkeypatch, capsys):
    use_sandbox(monkeypatch, sandbox, tmp_path)
    out = tmp_path / "entries.parquet"
    assert main(["export", str(out), "--team", "--billable"]) == 0
    expected = fbtime.load_time_entries(
        sandbox.client(cache=False), team=True, billable=True, progress=False
    )
    exported = fbtime.as_time_entries(pd.read_parquet(out))
    pd.testing.assert_frame_equal(exported, expected)
    assert f"wrote {len(expected)} entries" in capsys.readouterr().out


def test_export_with_a_bad_date_exits_2_before_any_request(sandbox, tmp_path, monkeypatch, capsys):
    use_sandbox(monkeypatch, sandbox, tmp_path)
    sandbox.reset_stats()
    assert main(["export", str(tmp_path / "x.csv"), "--started-from", "soon"]) == 2
    assert "started_from" in capsys.readouterr().err
    assert sum(sandbox.stats().values()) == 0
    assert not (tmp_path / "x.csv").exists()


def test_sync_command_keeps_a_snapshot(sandbox, tmp_path, monkeypatch, capsys):
    use_sandbox(monkeypatch, sandbox, tmp_path)
    path = tmp_path / "team.parquet"
    assert main(["sync", str(path), "--team"]) == 0
    assert "full load (first sync)" in capsys.readouterr().out
    assert main(["sync", str(path), "--team"]) == 0
    assert "incremental" in capsys.readouterr().out
    expected = fbtime.load_time_entries(sandbox.client(cache=False), team=True, progress=False)
    expected.attrs = {}
    pd.testing.assert_frame_equal(fbtime.as_time_entries(pd.read_parquet(path)), expected)
    assert main(["sync", str(path)]) == 2  # other filters than the snapshot's
    assert "full" in capsys.readouterr().err


def test_export_revalidates_by_default_and_accept_stale_sends_nothing(
    sandbox, tmp_path, monkeypatch
):
    use_sandbox(monkeypatch, sandbox, tmp_path)
    out = tmp_path / "entries.parquet"
    assert main(["export", str(out), "--team"]) == 0
    sandbox.reset_stats()
    assert main(["export", str(out), "--team"]) == 0
    assert sum(sandbox.stats().values()) == 2  # updated_since and the count check
    sandbox.reset_stats()
    assert main(["export", str(out), "--team", "--accept-stale", "600"]) == 0
    assert sum(sandbox.stats().values()) == 0
    assert main(["export", str(out), "--team", "--accept-stale", "nan"]) == 2
