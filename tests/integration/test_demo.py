"""`make demo` runs `fbtime demo`: a report on stdout, a CSV and four charts on disk."""

import pandas as pd
import pytest

from fbtime.cli import main


@pytest.mark.slow
def test_demo_writes_the_csv_and_charts(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--entries", "1500"]) == 0
    out = capsys.readouterr().out
    assert "hours by client" in out and "audit findings" in out
    assert "server totals: agree" in out
    path = tmp_path / "time_entries.csv"
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"  # for people: a BOM so Excel reads UTF-8
    sheet = pd.read_csv(path, encoding="utf-8-sig")  # human headings, display units
    assert len(sheet) > 1000 and sheet["client"].notna().any() and "hours" in sheet
    for name in ("hours_by_client", "weekly_hours", "weekday_heatmap", "unbilled_aging"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
