"""The example scripts run as a user runs them, and their files agree with df.fbtime.

Each script runs in a subprocess with this interpreter. Read-only scripts start their own
sandbox; the test starts one from the same ``(entries, seed, end)`` (the data is the same)
and recomputes the numbers with the accessor. Scripts that write run with
``--no-sandbox`` against the test's sandbox, so the writes are checked on its ground truth.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import fbtime

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = (
    "monthly_unbilled_report",
    "mark_last_month_billed",
    "fix_missing_notes",
    "export_timesheet",
)
DATA = ("--entries", "1500", "--seed", "2", "--end", "2026-10-15")
END = dt.date(2026, 10, 15)
PNG = b"\x89PNG\r\n\x1a\n"


def run(script: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FRESHBOOKS_")}
    environ["FBTIME_CACHE_DIR"] = str(cwd / "cache")
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{script}.py"), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def env_for(sb: fbtime.Sandbox) -> dict[str, str]:
    """The environment that points ``--no-sandbox`` at this sandbox."""
    return {
        "FRESHBOOKS_ACCESS_TOKEN": sb.token,
        "FRESHBOOKS_BUSINESS_ID": str(sb.business_id),
        "FRESHBOOKS_API_URL": sb.url,
    }


@pytest.fixture(scope="module")
def same_data():
    """A frame (with names) of the data the read-only scripts see in their own sandbox."""
    with fbtime.Sandbox(1500, 2, end=END) as sb:
        client = sb.client(cache=False)
        df = fbtime.load_time_entries(client, team=True)
        return df.fbtime.with_names(clients=fbtime.load_clients(client))


@pytest.fixture
def writable():
    with fbtime.Sandbox(600, 4, end=END) as sb:
        yield sb


def load_module(script: str):
    spec = importlib.util.spec_from_file_location(script, EXAMPLES / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_lists_the_options(script, capsys):
    with pytest.raises(SystemExit) as info:
        load_module(script).main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--out", "--sandbox", "--no-sandbox", "--seed", "--end"):
        assert option in text, f"{script} --help lacks {option}"


@pytest.mark.slow
def test_monthly_unbilled_report(tmp_path, same_data):
    out = run("monthly_unbilled_report", *DATA, "--month", "2026-09", "--out", "r", cwd=tmp_path)
    folder = tmp_path / "r" / "unbilled-2026-09"
    month = same_data.fbtime.between("2026-09-01", "2026-10-01").fbtime.unbilled()
    expected = month.fbtime.by_client()
    # a file for people (BOM, human headings, hours as shown): read as Excel would
    summary = pd.read_csv(
        folder / "summary.csv", encoding="utf-8-sig", dtype={"client id": "Int64"}
    ).set_index("client id")
    assert summary.index.tolist() == expected.index.tolist()
    assert summary["entries"].tolist() == expected["entries"].tolist()
    shown = summary["unbilled hours"].to_numpy()
    assert shown == pytest.approx(expected["unbilled_hours"].astype(float).to_numpy(), abs=0.0101)
    assert round(shown.sum(), 2) == round(float(expected["unbilled_hours"].sum()), 2)
    for client_id, row in summary.iterrows():
        rows = pd.read_csv(folder / f"{row['file']}.csv", encoding="utf-8-sig")
        mine = month[
            month["client_id"].isna() if pd.isna(client_id) else month["client_id"] == client_id
        ]
        assert sorted(rows["id"]) == sorted(mine.index.tolist())
        assert (folder / f"{row['file']}.png").read_bytes().startswith(PNG)
    assert f"{expected['unbilled_hours'].sum():,.2f} h unbilled" in out


@pytest.mark.slow
def test_export_timesheet(tmp_path, same_data):
    args = ("--from", "2026-09-07", "--to", "2026-10-04", "--out", "t")
    run("export_timesheet", *DATA, *args, cwd=tmp_path)
    csv = pd.read_csv(tmp_path / "t" / "timesheet.csv", encoding="utf-8-sig", parse_dates=["week"])
    span = same_data.fbtime.between("2026-09-07", "2026-10-05")
    expected = span.fbtime.utilization()["hours"].astype(float)
    got = csv.groupby(["teammate id", "week"])["hours"].sum()
    assert got.index.tolist() == expected.index.tolist()
    assert got.to_numpy() == pytest.approx(expected.to_numpy(), abs=0.05)  # shown: 2 decimals
    # the column adds up to its own exact total, rounded (largest remainder): within a
    # cent of an hour of the span's totals (the week buckets' sum: 632.845 against 632.840)
    exact = float(expected.sum())
    assert round(csv["hours"].sum(), 2) == round(exact, 2)
    assert csv["hours"].sum() == pytest.approx(span.fbtime.totals().hours, abs=0.011)
    excel = pd.read_excel(tmp_path / "t" / "timesheet.xlsx", sheet_name=None)
    assert set(excel) == {"timesheet", "by week"}
    assert len(excel["timesheet"]) == len(csv)
    by_week = excel["by week"].iloc[:, 2:].to_numpy()  # each week's column rounded to its total
    assert by_week.sum() == pytest.approx(csv["hours"].sum(), abs=0.01 * by_week.shape[1])


@pytest.mark.slow
def test_mark_last_month_billed_dry_run_then_apply(tmp_path, writable):
    sb = writable
    frame = fbtime.load_time_entries(sb.client(cache=False), team=True)
    expected = frame.fbtime.between("2026-09-01", "2026-10-01").fbtime.unbilled().index.tolist()
    assert len(expected) > 10
    args = ("--no-sandbox", "--month", "2026-09", "--out", "m")
    sb.reset_stats()
    out = run("mark_last_month_billed", *args, cwd=tmp_path, env=env_for(sb))
    assert sb.writes() == 0 and "dry run: nothing was written" in out
    plan = json.loads((tmp_path / "m" / "plan.json").read_text())
    assert sorted(c["id"] for c in plan["changes"]) == sorted(expected)
    names = {c["organization"] for c in sb.dataset.clients}
    context = plan["changes"][0]["context"]  # the plan read before --apply names them
    assert context["client"] in names and context["client"] in out
    assert not context["teammate"].startswith("teammate ") and context["teammate"] in out

    run("mark_last_month_billed", *args, "--apply", cwd=tmp_path, env=env_for(sb))
    assert sb.stats()["PUT time_entry"] == len(expected)
    truth = sb.entries().set_index("id")
    assert truth.loc[expected, "billed"].astype(bool).all()
    result = pd.read_csv(tmp_path / "m" / "result.csv")
    assert set(result["status"]) == {"applied"} and len(result) == len(expected)
    assert len(list((tmp_path / "m" / "journals").glob("*.jsonl"))) == 1


@pytest.mark.slow
def test_fix_missing_notes_dry_run_then_apply(tmp_path, writable):
    sb = writable
    frame = fbtime.load_time_entries(sb.client(cache=False), team=True)
    expected = sorted(frame.fbtime.audit("missing_note")["id"].tolist())
    assert expected
    args = ("--no-sandbox", "--note", "Work (note added later)", "--out", "n")
    sb.reset_stats()
    out = run("fix_missing_notes", *args, cwd=tmp_path, env=env_for(sb))
    assert sb.writes() == 0 and f"{len(expected)} entries would get the note" in out
    listed = pd.read_csv(tmp_path / "n" / "missing_notes.csv")
    assert sorted(listed["id"]) == expected

    run("fix_missing_notes", *args, "--apply", cwd=tmp_path, env=env_for(sb))
    assert sb.stats()["PUT time_entry"] == len(expected)
    truth = sb.entries().set_index("id")
    assert (truth.loc[expected, "note"] == "Work (note added later)").all()
    others = truth.drop(index=expected)
    assert not (others["note"] == "Work (note added later)").any()
