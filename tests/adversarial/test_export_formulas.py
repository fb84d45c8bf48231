"""Notes and names that a spreadsheet would run as formulas are text in every file we write.

Attacks (OWASP CSV injection) are planted in a real sandbox and loaded over HTTP; the
files are real CSV and .xlsx files, read back with the csv module and openpyxl the way a
spreadsheet would see them. By default a cell starting with ``= + - @``, tab or CR gets a
leading ``'``; ``raw=True`` keeps machine round trips exact.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import fbtime
from adversarial.hostile import BREAKOUTS, CLIENTS, FORMULAS, PROJECTS
from fbtime import export
from fbtime.text import FORMULA_TRIGGERS
from fbtime.widgets import Explorer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: A file of only quoted fields: no value, whatever it holds, can start a cell of its own
#: (not with a CR, nor with a ";" where a spreadsheet's locale splits on it).
ALL_QUOTED = re.compile(r'(?:"(?:[^"]|"")*"(?:,|\r?\n))*')


def cells(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:  # a BOM for Excel
        return list(csv.reader(handle))


def xlsx_cells(path: Path) -> list[openpyxl.cell.Cell]:
    book = openpyxl.load_workbook(path)
    return [cell for sheet in book for row in sheet.iter_rows() for cell in row]


def starts_a_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


# -- CSV --------------------------------------------------------------------------------
def test_no_csv_cell_starts_a_formula(hostile_account, hostile_frame, tmp_path):
    path = export.to_csv(hostile_frame, tmp_path / "entries.csv")
    rows = cells(path)
    assert len(rows) == len(hostile_frame) + 1
    assert len({len(row) for row in rows}) == 1  # every row as wide as the heading
    assert not [value for row in rows for value in row if starts_a_formula(value)]
    by_id = {int(row[0]): row for row in rows[1:]}
    note = rows[0].index("note")
    for text in FORMULAS:
        assert by_id[hostile_account.notes[text]][note] == "'" + text
    client = rows[0].index("client")  # human headings: the file is for people
    shown = {row[client] for row in rows[1:]}
    assert {"'" + name for name in CLIENTS[:2]} <= shown


def test_a_note_cannot_break_out_into_a_cell_of_its_own(hostile_account, hostile_frame, tmp_path):
    path = export.to_csv(hostile_frame, tmp_path / "entries.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert ALL_QUOTED.fullmatch(text), "every field is quoted"
    by_id = {int(row[0]): row for row in cells(path)[1:]}
    note = cells(path)[0].index("note")
    for breakout in BREAKOUTS:  # "ok\r=1+1" was a new row starting with "=1+1" in Excel
        assert by_id[hostile_account.notes[breakout]][note] == breakout


def test_column_names_and_index_labels_are_neutralised(hostile_frame, tmp_path):
    weekly = hostile_frame.fbtime.by_period("W", by="client")  # a column per client name
    rows = cells(export.to_csv(weekly, tmp_path / "weekly.csv"))
    assert "'" + CLIENTS[0] in rows[0] and "'" + CLIENTS[1] in rows[0]
    assert not [value for value in rows[0] if starts_a_formula(value)]

    hours = hostile_frame.groupby(["client_name", "project_name"])["hours"].sum().to_frame()
    hours.index = hours.index.set_names(["=client", "@project"])
    rows = cells(export.to_csv(hours, tmp_path / "hours.csv"))
    assert rows[0][:2] == ["'=client", "'@project"]
    assert {row[1] for row in rows[1:]} >= {"'" + PROJECTS[0], "'" + PROJECTS[1]}
    assert not [value for row in rows for value in row if starts_a_formula(value)]


def test_raw_csv_reads_back_as_the_same_frame(hostile_frame, tmp_path):
    path = export.to_csv(hostile_frame, tmp_path / "entries.csv", raw=True)
    back = fbtime.as_time_entries(pd.read_csv(path, keep_default_na=False, na_values=[""]))
    # CSV's one known loss: an empty note reads back as a missing one
    expected = hostile_frame.assign(note=hostile_frame["note"].replace("", pd.NA))
    assert_frame_equal(back, expected)


def test_raw_csv_with_read_csv_defaults_loses_only_missing_markers(hostile_frame, tmp_path):
    path = export.to_csv(hostile_frame, tmp_path / "entries.csv", raw=True)
    back = fbtime.as_time_entries(pd.read_csv(path))
    # read_csv's own defaults also read "#N/A", "NA", "null"... as missing
    notes = hostile_frame["note"].replace({"": pd.NA, "#N/A": pd.NA})
    assert_frame_equal(back, hostile_frame.assign(note=notes))


def test_a_symlink_at_the_target_is_replaced_not_written_through(hostile_frame, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    target = tmp_path / "entries.csv"
    target.symlink_to(victim)
    export.to_csv(hostile_frame, target)
    assert victim.read_text() == "keep me"
    assert not target.is_symlink() and len(cells(target)) == len(hostile_frame) + 1


# -- Excel ------------------------------------------------------------------------------
def test_xlsx_strings_are_never_formulas(hostile_account, hostile_frame, tmp_path):
    path = export.to_excel(hostile_frame, tmp_path / "entries.xlsx")
    found = xlsx_cells(path)
    assert not [c.coordinate for c in found if c.data_type in ("f", "e")]  # formula, error
    assert not [c.value for c in found if starts_a_formula(c.value)]
    back = pd.read_excel(path, index_col="id", keep_default_na=False, na_values=[""])
    for text in FORMULAS:
        assert back.loc[hostile_account.notes[text], "note"] == "'" + text.replace("\r", "\n")
    assert back.loc[hostile_account.notes["#N/A"], "note"] == "#N/A"  # text, not an error
    started = hostile_frame["started_at"].dt.tz_convert(None)  # UTC wall time
    shown = back["started at (UTC)"]  # a date cell, to the minute as the panel shows it
    assert shown.tolist() == started.dt.floor("min").tolist()


def test_raw_xlsx_keeps_text_exact_and_still_never_a_formula(
    hostile_account, hostile_frame, tmp_path
):
    path = export.to_excel(hostile_frame, tmp_path / "entries.xlsx", raw=True)
    found = xlsx_cells(path)
    assert not [c.coordinate for c in found if c.data_type in ("f", "e")]
    risky = [c for c in found if starts_a_formula(c.value)]
    assert risky and all(c.quotePrefix for c in risky)  # Excel keeps an edited cell text
    back = pd.read_excel(path, index_col="id", keep_default_na=False, na_values=[""])
    for text in (*FORMULAS, *BREAKOUTS):
        assert back.loc[hostile_account.notes[text], "note"] == text.replace("\r", "\n")


def test_xlsx_takes_any_note_the_account_holds(hostile_account, hostile_frame, tmp_path):
    path = export.to_excel(hostile_frame, tmp_path / "entries.xlsx")
    back = pd.read_excel(path, index_col="id", keep_default_na=False, na_values=[""])
    notes = hostile_account.notes
    assert back.loc[notes["\x1b[2J\x1b[HAll clear"], "note"] == "\\x1b[2J\\x1b[HAll clear"
    assert back.loc[notes["ding\x07\x08\x08"], "note"] == "ding\\x07\\x08\\x08"
    assert back.loc[notes["x" * 40_000], "note"] == "x" * export.EXCEL_CELL_LIMIT


def test_several_sheets_in_one_workbook(hostile_frame, tmp_path):
    sheets = {"entries": hostile_frame, "by client": hostile_frame.fbtime.by_client()}
    path = export.to_excel(sheets, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["entries", "by client"]
    names = {c.value for c in book["by client"]["B"][1:]}
    assert {"'" + CLIENTS[0], "'" + CLIENTS[1], "\\x1b[2J\\x1b[HAll clear"} <= names
    assert not [c.value for c in xlsx_cells(path) if starts_a_formula(c.value)]


# -- every place that writes a file for people ------------------------------------------
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_explorer_downloads_are_neutralised(hostile_account, hostile_frame, tmp_path, kind):
    explorer = Explorer(hostile_frame, debounce=0)
    explorer.group_by.value = "entries"
    getattr(explorer, f"{'csv' if kind == 'csv' else 'excel'}_button").click()
    path = tmp_path / f"download.{kind}"
    path.write_bytes(explorer.download(kind))  # the bytes the link carries
    if kind == "csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8
        rows = cells(path)
        rows[0][0] = rows[0][0].removeprefix("\ufeff")
        values = [value for row in rows for value in row]
    else:
        assert not [c.coordinate for c in xlsx_cells(path) if c.data_type in ("f", "e")]
        values = [c.value for c in xlsx_cells(path)]
        rows = list(openpyxl.load_workbook(path).active.values)
    assert len(rows) == len(hostile_frame) + 1
    assert not [value for value in values if starts_a_formula(value)]
    assert sorted(int(row[0]) for row in rows[1:]) == sorted(hostile_frame.index)
    note = list(rows[0]).index("note")
    by_id = {int(row[0]): row for row in rows[1:]}
    for text in FORMULAS:  # shown, not run: the note behind a leading quote
        kept = text if kind == "csv" else text.replace("\r", "\n")  # XML reads CR as LF
        assert by_id[hostile_account.notes[text]][note] == "'" + kept


def test_accessor_writes_through_export(hostile_frame, tmp_path):
    before = hostile_frame.copy()
    csv_path = hostile_frame.fbtime.to_csv(tmp_path / "a.csv")
    xlsx_path = hostile_frame.fbtime.to_excel(tmp_path / "a.xlsx")
    assert csv_path.read_bytes() == export.to_csv(hostile_frame, tmp_path / "b.csv").read_bytes()
    assert not [c for c in xlsx_cells(xlsx_path) if c.data_type in ("f", "e")]
    assert not [v for c in xlsx_cells(xlsx_path) if starts_a_formula(v := c.value)]
    assert_frame_equal(hostile_frame, before)  # the caller's frame is not modified


def test_write_table_chooses_by_suffix_and_refuses_unknown_ones(hostile_frame, tmp_path):
    with pytest.raises(fbtime.ConfigError, match=r"\.csv, \.xlsx, \.parquet"):
        export.write_table(hostile_frame, tmp_path / "entries.txt")
    assert list(tmp_path.iterdir()) == []  # nothing written
    parquet = export.write_table(hostile_frame, tmp_path / "entries.parquet")
    assert_frame_equal(fbtime.as_time_entries(pd.read_parquet(parquet)), hostile_frame)
    assert (
        cells(export.write_table(hostile_frame, tmp_path / "e.csv"))[1:]
        == cells(export.to_csv(hostile_frame, tmp_path / "f.csv"))[1:]
    )


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def point_at(monkeypatch, sb: fbtime.Sandbox, tmp_path: Path) -> None:
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


def test_export_timesheet_example_writes_no_formula(
    hostile_account, hostile_frame, tmp_path, monkeypatch
):
    point_at(monkeypatch, hostile_account.sandbox, tmp_path)
    days = hostile_frame["started_at"].dt.date
    span = ("--from", str(days.min()), "--to", str(days.max()))
    assert example("export_timesheet").main(["--no-sandbox", *span, "--out", str(tmp_path)]) == 0
    rows = cells(tmp_path / "timesheet.csv")
    projects = {row[rows[0].index("project")] for row in rows[1:]}
    assert {"'" + PROJECTS[0], "'" + PROJECTS[1]} <= projects
    assert not [value for row in rows for value in row if starts_a_formula(value)]
    found = xlsx_cells(tmp_path / "timesheet.xlsx")
    assert not [c.coordinate for c in found if c.data_type in ("f", "e")]
    assert not [c.value for c in found if starts_a_formula(c.value)]
    assert "'" + PROJECTS[0] in {c.value for c in found}


def test_monthly_report_example_writes_no_formula(
    hostile_account, hostile_frame, tmp_path, monkeypatch
):
    point_at(monkeypatch, hostile_account.sandbox, tmp_path)
    month = hostile_frame["started_at"].dt.strftime("%Y-%m").mode()[0]  # the busiest month
    report = example("monthly_unbilled_report")
    assert report.main(["--no-sandbox", "--month", month, "--out", str(tmp_path)]) == 0
    written = sorted((tmp_path / f"unbilled-{month}").glob("*.csv"))
    assert len(written) > 2  # the summary and one file per client
    for path in written:
        rows = cells(path)
        assert not [value for row in rows for value in row if starts_a_formula(value)], path
    summary = cells(tmp_path / f"unbilled-{month}" / "summary.csv")
    names = {row[summary[0].index("client")] for row in summary[1:]}
    assert names & {"'" + CLIENTS[0], "'" + CLIENTS[1]}


# -- the command line -------------------------------------------------------------------
def _cli_env(monkeypatch, sb, tmp_path):
    monkeypatch.setenv("FRESHBOOKS_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("FRESHBOOKS_BUSINESS_ID", str(sb.business_id))
    monkeypatch.setenv("FRESHBOOKS_API_URL", sb.url)
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_fbtime_export_writes_no_formula(hostile_account, tmp_path, monkeypatch, suffix):
    from fbtime.cli import main

    _cli_env(monkeypatch, hostile_account.sandbox, tmp_path)
    out = tmp_path / f"entries{suffix}"
    assert main(["export", str(out), "--team"]) == 0
    values = (
        [v for row in cells(out) for v in row]
        if suffix == ".csv"
        else [c.value for c in xlsx_cells(out)]
    )
    assert any(isinstance(v, str) and "HYPERLINK" in v for v in values)  # the notes are there
    assert not [v for v in values if starts_a_formula(v)]
    if suffix == ".xlsx":
        assert all(c.data_type != "f" for c in xlsx_cells(out))


def test_fbtime_export_raw_keeps_every_note_exact(hostile_account, tmp_path, monkeypatch):
    from fbtime.cli import main

    _cli_env(monkeypatch, hostile_account.sandbox, tmp_path)
    out = tmp_path / "entries.csv"
    assert main(["export", str(out), "--team", "--raw"]) == 0
    back = fbtime.as_time_entries(pd.read_csv(out, keep_default_na=False, na_values=[""]))
    loaded = fbtime.load_time_entries(hostile_account.sandbox.client(cache=False), team=True)
    planted = loaded["note"].dropna()
    planted = planted[planted.str.startswith(FORMULA_TRIGGERS)]
    assert len(planted) and (back.loc[planted.index, "note"] == planted).all()


def test_fbtime_export_refuses_an_unknown_suffix_before_any_request(
    hostile_account, tmp_path, monkeypatch, capsys
):
    from fbtime.cli import main

    _cli_env(monkeypatch, hostile_account.sandbox, tmp_path)
    hostile_account.sandbox.reset_stats()
    assert main(["export", str(tmp_path / "entries.html"), "--team"]) == 1  # a ConfigError
    assert sum(hostile_account.sandbox.stats().values()) == 0
    assert "entries.html" in capsys.readouterr().err
