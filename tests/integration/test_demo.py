"""`make demo` runs `fbtime demo`: a report on stdout, a CSV and four charts on disk."""

import pandas as pd
import pytest

import fbtime
from fbtime.cli import main


@pytest.mark.slow
def test_demo_writes_the_csv_and_charts(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--entries", "1500"]) == 0
    out = capsys.readouterr().out
    assert "hours by client" in out and "audit findings" in out
    assert "server totals: agree" in out
    frame = fbtime.as_time_entries(pd.read_csv(tmp_path / "time_entries.csv"))
    assert len(frame) > 1000 and frame["client_name"].notna().any()
    for name in ("hours_by_client", "weekly_hours", "weekday_heatmap", "unbilled_aging"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
