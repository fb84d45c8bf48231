"""Reading Toggl, Harvest and Clockify exports: layouts by name, encodings, formats, bad rows.

Files are shaped like the facts sheet's samples (``tests/time_exports.py``) and written in
``tmp_path``; every value read is checked exactly, and every refusal by its type, rows and
message.
"""

from __future__ import annotations

import pandas as pd
import pytest
from time_exports import (
    CLOCKIFY_2019,
    CLOCKIFY_LATER,
    HARVEST,
    TOGGL_2011,
    TOGGL_QUOTED,
    clockify,
    harvest,
    toggl,
    write_export,
)

import fbtime
from fbtime.imports import read_time_export
from fbtime.imports.layouts import LAYOUTS

PARIS, TORONTO = "Europe/Paris", "America/Toronto"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def toggl_row(**kw):
    row = {
        "User": "Olivia Tremblay", "Email": "olivia.tremblay@example.com",
        "Client": "Acme Robotics", "Project": "Support Retainer", "Task": "Development",
        "Description": "Fixed checkout bug", "Billable": "Yes", "Start date": "2026-03-09",
        "Start time": "09:15:00", "End date": "2026-03-09", "End time": "10:45:30",
        "Duration": "01:30:30", "Tags": "Development, Backend", "Amount (EUR)": "150.00",
    }  # fmt: skip
    return {**row, **kw}


def clockify_row(**kw):
    row = {
        "Project": "Support Retainer", "Client": "Acme Robotics", "Description": "Call",
        "Task": "Consulting", "User": "Liam Gagnon", "Group": "Dev, Ops",
        "Email": "liam.gagnon@example.com", "Tags": "", "Billable": "Yes",
        "Start Date": "03/14/2026", "Start Time": "10:23:52 AM", "End Date": "03/14/2026",
        "End Time": "11:23:53 AM", "Duration (h)": "01:00:01", "Duration (decimal)": "1.00",
        "Billable Rate (USD)": "150.00", "Billable Amount (USD)": "150.04",
    }  # fmt: skip
    return {**row, **kw}


def harvest_row(**kw):
    row = {
        "Date": "2026-03-09", "Client": "Acme Robotics", "Project": "Support Retainer",
        "Task": "Development", "Notes": "Sprint work", "Hours": "2,5", "Billable?": "Yes",
        "First Name": "Olivia", "Last Name": "Tremblay",
    }  # fmt: skip
    return {**row, **kw}


def problems(info: pytest.ExceptionInfo) -> list[tuple[int, str | None]]:
    return [(p["row"], p["column"]) for p in info.value.problems]


# -- Toggl -------------------------------------------------------------------------------
def test_a_toggl_export_with_bom_reads_every_field_exactly(tmp_path):
    note = 'Fixed "checkout", again'
    path = toggl(tmp_path / "toggl.csv", [
        toggl_row(Description=note),
        toggl_row(User="Liam Gagnon", Email="liam.gagnon@example.com", Client="", Task="",
                  Project="Internal — Operations", Description="", Billable="No",
                  **{"Start date": "2026-03-09", "Start time": "23:30:00",
                     "End date": "2026-03-10", "End time": "00:15:00", "Duration": "00:45:00"}),
    ])  # fmt: skip
    export = read_time_export(path, "toggl", tz=PARIS)
    rows = export.rows
    assert list(rows["row"]) == [2, 3]
    assert list(rows["person"]) == ["olivia.tremblay@example.com", "liam.gagnon@example.com"]
    assert list(rows["person_name"]) == ["Olivia Tremblay", "Liam Gagnon"]
    assert rows["client"].tolist()[0] == "Acme Robotics" and pd.isna(rows["client"][1])
    assert rows["task"].tolist()[0] == "Development" and pd.isna(rows["task"][1])
    assert list(rows["note"]) == [note, ""]
    assert list(rows["billable"]) == [True, False]
    assert list(rows["started_at"]) == [utc("2026-03-09T08:15:00"), utc("2026-03-09T22:30:00")]
    assert str(rows["local_start"][0]) == "2026-03-09 09:15:00+01:00"
    assert list(rows["duration"]) == [5430, 2700]
    assert rows["tags"][0] == "Development, Backend"
    assert not rows["synthetic_start"].any()
    assert rows.dtypes.astype(str).to_dict() == {
        "source_file": "str", "row": "Int64", "person": "str", "person_name": "str",
        "client": "str", "project": "str", "task": "str", "note": "str",
        "billable": "boolean", "invoiced": "boolean", "tags": "str",
        "local_start": "datetime64[us, Europe/Paris]", "started_at": "datetime64[us, UTC]",
        "duration": "Int64", "synthetic_start": "boolean",
    }  # fmt: skip
    assert export.skipped == [] and export.warnings == []
    assert set(rows["source_file"]) == {str(path)}


def test_the_quoted_toggl_layout_without_amount_reads_the_same(tmp_path):
    rows = [toggl_row()]
    first = read_time_export(toggl(tmp_path / "a.csv", rows), "toggl", tz=PARIS).rows
    plain = [{k: v for k, v in r.items() if k in TOGGL_QUOTED} for r in rows]
    path = write_export(tmp_path / "b.csv", list(reversed(TOGGL_QUOTED)), plain, quote_all=True)
    second = read_time_export(path, "toggl", tz=PARIS).rows
    columns = ["person", "client", "project", "task", "note", "started_at", "duration"]
    pd.testing.assert_frame_equal(first[columns], second[columns])


def test_a_running_timer_is_left_out_with_a_warning(tmp_path):
    path = toggl(tmp_path / "t.csv", [
        toggl_row(),
        toggl_row(**{"End date": "", "End time": "", "Duration": ""}),
        toggl_row(Description="after"),
    ])  # fmt: skip
    export = read_time_export(path, "toggl", tz=PARIS)
    assert list(export.rows["row"]) == [2, 4]
    assert export.skipped == [{"row": 3, "reason": "no duration (a running timer)"}]
    assert export.warnings == ["1 row(s) without a duration left out (rows 3)"]


def test_a_duration_that_disagrees_with_start_and_end_is_a_row_error(tmp_path):
    path = toggl(tmp_path / "t.csv", [
        toggl_row(Duration="01:30:31"),  # 1 s off: the clocks have seconds, allowed
        toggl_row(Duration="01:30:32"),  # 2 s off
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    assert problems(info) == [(3, "Duration")]
    expected = "row 3 Duration '01:30:32': is 1:30:32 but the start and end times are 1:30:30"
    assert expected + " apart" in str(info.value)


def test_a_decimal_toggl_duration_asks_for_the_improved_format(tmp_path):
    path = toggl(tmp_path / "t.csv", [toggl_row(Duration="1.51", **{"End time": ""})])
    with pytest.raises(fbtime.ImportFileError, match="set Toggl's duration format to 'Improved'"):
        read_time_export(path, "toggl", tz=PARIS)


def test_the_2011_toggl_layout_is_refused_with_the_expected_headers(tmp_path):
    path = write_export(tmp_path / "old.csv", TOGGL_2011, [
        {"User": "Olivia", "Client": "Acme", "Project": "Site", "Description": "x",
         "Billable": "Yes", "Start time": "06/21/2011 14:43", "End time": "06/21/2011 15:43",
         "Duration": "01:00:00"},
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    message = str(info.value)
    assert "missing column(s) Email, Start date" in message
    assert "Expected headers (by name, in any order): " + ", ".join(LAYOUTS["toggl"].headers) in (
        message
    )
    assert "2011 layout" in message
    assert info.value.problems == []


def test_a_harvest_file_read_as_toggl_names_its_format(tmp_path):
    path = harvest(tmp_path / "h.csv", [harvest_row()])
    with pytest.raises(fbtime.ImportFileError, match=r"looks like a Harvest .*format='harvest'"):
        read_time_export(path, "toggl", tz=PARIS)


def test_toggl_dates_must_be_iso(tmp_path):
    path = toggl(tmp_path / "t.csv", [toggl_row(**{"Start date": "03/09/2026"})])
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    assert problems(info) == [(2, "Start date")]
    assert "is not a date (YYYY-MM-DD)" in str(info.value)


# -- Harvest -----------------------------------------------------------------------------
def test_harvest_decimal_comma_and_synthetic_starts_per_person_and_day(tmp_path):
    path = harvest(tmp_path / "h.csv", [
        harvest_row(Hours="2,5"),
        harvest_row(Hours="0,01", Notes="tiny", **{"First Name": "Liam", "Last Name": "Gagnon"}),
        harvest_row(Hours="1,25", Task="Design", Notes="Mockups"),
        harvest_row(Hours="20,0", Date="2026-03-10", **{"Billable?": "No"}),
        harvest_row(Hours="3", Notes="Liam again", **{"First Name": "Liam", "Last Name": "Gagnon"}),
    ])  # fmt: skip
    export = read_time_export(path, "harvest", tz=TORONTO)
    rows = export.rows
    assert list(rows["person"]) == ["Olivia Tremblay", "Liam Gagnon", "Olivia Tremblay",
                                    "Olivia Tremblay", "Liam Gagnon"]  # fmt: skip
    assert list(rows["duration"]) == [9000, 36, 4500, 72000, 10800]
    local = [str(t) for t in rows["local_start"]]
    assert local == [
        "2026-03-09 09:00:00-04:00", "2026-03-09 09:00:00-04:00",  # each person's day
        "2026-03-09 11:30:00-04:00",  # after Olivia's 2.5 h
        "2026-03-10 09:00:00-04:00",  # a new day
        "2026-03-09 09:00:36-04:00",  # after Liam's 36 s
    ]  # fmt: skip
    assert rows["synthetic_start"].all()
    assert list(rows["invoiced"]) == [False] * 5
    assert export.warnings == [
        "5 row(s) have no clock time: their starts are synthetic, from 09:00 one after "
        "another per person and day"
    ]


def test_harvest_day_start_is_configurable_and_dates_may_be_month_first(tmp_path):
    path = harvest(tmp_path / "h.csv", [harvest_row(Date="3/9/2026", Hours="1.5")])
    rows = read_time_export(path, "harvest", tz=TORONTO, day_start="07:45").rows
    assert str(rows["local_start"][0]) == "2026-03-09 07:45:00-04:00"
    assert list(rows["duration"]) == [5400]


def test_harvest_hours_mixing_decimal_marks_are_refused_unless_told(tmp_path):
    path = harvest(tmp_path / "h.csv", [harvest_row(Hours="1,5"), harvest_row(Hours="1.5")])
    with pytest.raises(fbtime.ImportFileError, match=r"mixes decimal marks in Hours \('1,5' and"):
        read_time_export(path, "harvest", tz=TORONTO)
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "harvest", tz=TORONTO, decimal=",")
    assert problems(info) == [(3, "Hours")]


def test_harvest_hours_stacked_past_midnight_are_a_row_error(tmp_path):
    path = harvest(tmp_path / "h.csv", [harvest_row(Hours="15,5"), harvest_row(Hours="2")])
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "harvest", tz=TORONTO)
    assert problems(info) == [(3, "Date")]
    assert "run past midnight when stacked from 09:00" in str(info.value)
    rows = read_time_export(path, "harvest", tz=TORONTO, day_start="06:00").rows
    assert [str(t) for t in rows["local_start"]][1] == "2026-03-09 21:30:00-04:00"


def test_harvest_start_and_end_columns_give_real_clock_times(tmp_path):
    header = [*HARVEST, "Start Time", "End Time"]
    path = write_export(tmp_path / "h.csv", header, [
        {**harvest_row(Hours="1,33"), "Start Time": "9:10am", "End Time": "10:30am"},
        {**harvest_row(Hours="1,00"), "Start Time": "11:00pm", "End Time": "12:00am"},
        {**harvest_row(Hours="0,5")},  # no clock: placed from the day start
        {**harvest_row(Hours="2,00"), "Start Time": "1:00pm", "End Time": "2:00pm"},
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "harvest", tz=TORONTO)
    assert problems(info) == [(5, "Hours")]  # 2 h against one hour of clock
    rows = read_time_export(
        write_export(tmp_path / "ok.csv", header, [
            {**harvest_row(Hours="1,33"), "Start Time": "9:10am", "End Time": "10:30am"},
            {**harvest_row(Hours="1,00"), "Start Time": "11:00pm", "End Time": "12:00am"},
            {**harvest_row(Hours="0,5")},
        ]), "harvest", tz=TORONTO,
    ).rows  # fmt: skip
    assert [str(t) for t in rows["local_start"]] == [
        "2026-03-09 09:10:00-04:00", "2026-03-09 23:00:00-04:00", "2026-03-09 09:00:00-04:00",
    ]  # fmt: skip
    assert list(rows["synthetic_start"]) == [False, False, True]
    assert list(rows["duration"]) == [4788, 3600, 1800]  # 1.33 h is 4788 s, not 80 min


# -- Clockify ----------------------------------------------------------------------------
def test_clockify_12_hour_clock_with_and_without_seconds_and_month_first_dates(tmp_path):
    path = clockify(tmp_path / "c.csv", [
        clockify_row(),
        clockify_row(**{"Start Date": "03/04/2026", "Start Time": "11:59 PM",
                        "End Date": "03/05/2026", "End Time": "12:30 AM",
                        "Duration (h)": "00:31:00"}),
        clockify_row(**{"Start Date": "03/05/2026", "Start Time": "12:00 PM",
                        "End Date": "03/05/2026", "End Time": "12:30:20 PM",
                        "Duration (h)": "00:30:20"}),
    ])  # fmt: skip
    rows = read_time_export(path, "clockify", tz=TORONTO).rows
    assert [str(t) for t in rows["local_start"]] == [
        "2026-03-14 10:23:52-04:00", "2026-03-04 23:59:00-05:00", "2026-03-05 12:00:00-05:00",
    ]  # fmt: skip
    assert list(rows["duration"]) == [3601, 1860, 1820]
    assert list(rows["task"]) == ["Consulting"] * 3
    assert list(rows["person"]) == ["liam.gagnon@example.com"] * 3


def test_clockify_24_hour_clock_and_day_first_dates(tmp_path):
    path = clockify(tmp_path / "c.csv", [
        clockify_row(**{"Start Date": "25/03/2026", "Start Time": "14:30", "End Date": "25/03/2026",
                        "End Time": "15:30", "Duration (h)": "01:00:00"}),
        clockify_row(**{"Start Date": "04/03/2026", "Start Time": "08:05", "End Date": "04/03/2026",
                        "End Time": "08:35", "Duration (h)": "00:30:40"}),  # no seconds: 60 s
    ])  # fmt: skip
    rows = read_time_export(path, "clockify", tz=TORONTO).rows
    assert [str(t) for t in rows["local_start"]] == [
        "2026-03-25 14:30:00-04:00", "2026-03-04 08:05:00-05:00",
    ]  # fmt: skip


def test_clockify_dates_that_cannot_tell_their_order_must_be_told(tmp_path):
    path = clockify(tmp_path / "c.csv", [clockify_row(**{"Start Date": "03/04/2026",
                                                        "End Date": "03/04/2026"})])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError, match="date_order='MDY' or 'DMY'"):
        read_time_export(path, "clockify", tz=TORONTO)
    march = read_time_export(path, "clockify", tz=TORONTO, date_order="MDY").rows
    april = read_time_export(path, "clockify", tz=TORONTO, date_order="DMY").rows
    assert str(march["local_start"][0])[:10] == "2026-03-04"
    assert str(april["local_start"][0])[:10] == "2026-04-03"
    with pytest.raises(fbtime.ImportFileError, match="only reads as MDY"):
        read_time_export(
            clockify(tmp_path / "d.csv", [clockify_row()]), "clockify", tz=TORONTO,
            date_order="DMY",
        )  # fmt: skip


def test_clockify_dates_in_both_orders_are_refused(tmp_path):
    path = clockify(tmp_path / "c.csv", [
        clockify_row(),
        clockify_row(**{"Start Date": "25/03/2026", "End Date": "25/03/2026"}),
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError, match="mixes day/month orders"):
        read_time_export(path, "clockify", tz=TORONTO)


def test_clockify_later_layout_with_activity_and_invoiced(tmp_path):
    row = {k: v for k, v in clockify_row().items() if k in CLOCKIFY_LATER}
    path = write_export(tmp_path / "c.csv", CLOCKIFY_LATER, [
        {**row, "Activity": "Design", "Invoiced": "Yes", "Type": "REGULAR",
         "Date of creation": "03/14/2026"},
    ], quote_all=True)  # fmt: skip
    rows = read_time_export(path, "clockify", tz=TORONTO).rows
    assert list(rows["task"]) == ["Design"] and list(rows["invoiced"]) == [True]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_utf16_clockify_2019_export_with_lower_case_headers(tmp_path, encoding):
    row = {k: v for k, v in clockify_row().items() if k in CLOCKIFY_2019 or k.title() in
           [h.title() for h in CLOCKIFY_2019]}  # fmt: skip
    row = {"Start date": "03/14/2026", "Start time": "10:23:52 AM", "End time": "11:23:53 AM",
           **{k: v for k, v in row.items() if k not in ("Start Date", "Start Time", "End Time",
                                                        "End Date")}}  # fmt: skip
    path = tmp_path / "c.csv"
    write_export(path, CLOCKIFY_2019, [row])
    text = path.read_text(encoding="utf-8")
    path.write_bytes((b"\xfe\xff" if encoding.endswith("be") else b"") + text.encode(encoding))
    rows = read_time_export(path, "clockify", tz=TORONTO).rows
    assert [str(t) for t in rows["local_start"]] == ["2026-03-14 10:23:52-04:00"]
    assert list(rows["duration"]) == [3601]


def test_a_12_hour_file_with_a_24_hour_time_is_a_row_error(tmp_path):
    path = clockify(tmp_path / "c.csv", [
        clockify_row(),
        clockify_row(**{"Start Time": "14:23:52", "End Time": "3:23:53 PM"}),
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "clockify", tz=TORONTO)
    assert problems(info) == [(3, "Start Time")]
    assert "has no AM/PM, but the file's clock is 12-hour" in str(info.value)


# -- time zones and DST --------------------------------------------------------------------
def test_local_times_in_a_dst_gap_or_overlap_are_row_errors(tmp_path):
    path = toggl(tmp_path / "t.csv", [
        toggl_row(**{"Start date": "2026-03-29", "Start time": "02:30:00", "End date": "2026-03-29",
                     "End time": "03:30:00", "Duration": "00:00:00"}),
        toggl_row(**{"Start date": "2026-10-25", "Start time": "02:30:00", "End date": "2026-10-25",
                     "End time": "02:45:00", "Duration": "00:15:00"}),
        toggl_row(**{"Start date": "2026-10-25", "Start time": "01:30:00", "End date": "2026-10-25",
                     "End time": "02:30:00", "Duration": "02:00:00"}),  # ends in the 2nd 02:30
    ])  # fmt: skip
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    assert problems(info) == [(2, "Start time"), (3, "Start time")]
    message = str(info.value)
    assert "2026-03-29 02:30:00 does not exist in Europe/Paris" in message
    assert "2026-10-25 02:30:00 occurs twice in Europe/Paris" in message


def test_the_same_file_in_another_zone_moves_every_start(tmp_path):
    path = toggl(tmp_path / "t.csv", [toggl_row()])
    paris = read_time_export(path, "toggl", tz=PARIS).rows["started_at"][0]
    toronto = read_time_export(path, "toggl", tz=TORONTO).rows["started_at"][0]
    assert (paris, toronto) == (utc("2026-03-09T08:15:00"), utc("2026-03-09T13:15:00"))


@pytest.mark.parametrize("tz", [None, "", "Mars/Olympus", "../../etc/passwd", 5])
def test_the_zone_must_be_an_iana_name(tmp_path, tz):
    path = toggl(tmp_path / "t.csv", [toggl_row()])
    with pytest.raises(fbtime.ImportFileError, match="IANA"):
        read_time_export(path, "toggl", tz=tz)


# -- bad rows, bad files -----------------------------------------------------------------
def test_every_bad_row_is_reported_once_with_its_row_number(tmp_path):
    path = toggl(tmp_path / "t.csv", [
        toggl_row(),
        toggl_row(**{"Start date": "2026-02-30"}),
        toggl_row(Billable="Maybe"),
        toggl_row(Email=""),
        toggl_row(**{"Start time": "25:00:00"}),
        toggl_row(),
    ])  # fmt: skip
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write("too,few,fields\r\n\r\n")
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    assert problems(info) == [
        (3, "Start date"), (4, "Billable"), (5, "Email"), (6, "Start time"), (8, None),
    ]  # fmt: skip
    message = str(info.value)
    assert message.startswith(f"{path}: 5 row(s) cannot be read")
    assert "row 3 Start date '2026-02-30': is not a day of the calendar" in message
    assert "row 4 Billable 'Maybe': is not Yes or No" in message
    assert "row 5 Email: no e-mail: nobody to match" in message
    assert "row 8: has 3 fields, the header has 14" in message


def test_hostile_cells_are_escaped_in_messages(tmp_path):
    path = toggl(tmp_path / "t.csv", [toggl_row(Billable="\x1b[2J\x1b[Hyes?")])
    with pytest.raises(fbtime.ImportFileError) as info:
        read_time_export(path, "toggl", tz=PARIS)
    assert "\x1b" not in str(info.value) and "\\x1b[2J" in str(info.value)


def test_text_that_is_not_utf8_or_announced_utf16_is_refused(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Société".encode("latin-1"))
    with pytest.raises(fbtime.ImportFileError, match="is not UTF-8 text"):
        read_time_export(latin, "toggl", tz=PARIS)
    bare = tmp_path / "bare16.csv"
    bare.write_bytes("User,Email\n".encode("utf-16-le"))
    with pytest.raises(fbtime.ImportFileError, match="UTF-16 without a byte-order mark"):
        read_time_export(bare, "toggl", tz=PARIS)


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(fbtime.ImportFileError, match="is empty"):
        read_time_export(empty, "toggl", tz=PARIS)
    only = toggl(tmp_path / "header.csv", [])
    export = read_time_export(only, "toggl", tz=PARIS)
    assert len(export.rows) == 0
    assert str(export.rows.dtypes["started_at"]) == "datetime64[us, UTC]"


def test_unknown_format_duplicate_headers_and_missing_files(tmp_path):
    path = toggl(tmp_path / "t.csv", [toggl_row()])
    with pytest.raises(fbtime.ImportFileError, match="fbtime reads toggl, harvest, clockify"):
        read_time_export(path, "tsheets", tz=PARIS)
    twice = write_export(tmp_path / "twice.csv", [*TOGGL_QUOTED, "email"], [])
    with pytest.raises(fbtime.ImportFileError, match="2 columns for 'Email'"):
        read_time_export(twice, "toggl", tz=PARIS)
    with pytest.raises(fbtime.ImportFileError, match="no file at"):
        read_time_export(tmp_path / "nope.csv", "toggl", tz=PARIS)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    import fbtime.imports.layouts as layouts

    monkeypatch.setattr(layouts, "MAX_IMPORT_BYTES", 100)
    path = toggl(tmp_path / "t.csv", [toggl_row()])
    with pytest.raises(fbtime.ImportFileError, match="larger than 100 bytes"):
        read_time_export(path, "toggl", tz=PARIS)


def test_hostile_text_reaches_the_frame_exactly(tmp_path):
    note = '=HYPERLINK("http://x")\u202e\x1b[31m'
    path = toggl(tmp_path / "t.csv", [toggl_row(Description=note)])
    rows = read_time_export(path, "toggl", tz=PARIS).rows
    assert rows["note"][0] == note  # data is kept exactly; each display escapes it
