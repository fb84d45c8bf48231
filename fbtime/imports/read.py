"""An export of Toggl Track, Harvest or Clockify, read into one typed frame.

:func:`read_time_export` gives every format the same columns (:data:`ROW_COLUMNS`):
where the time was spent and by whom, as the file names them, with the start as a
wall-clock time in the zone the user names (no export says) and in UTC. Rules
(``import-formats.md``): durations come from ``H:MM:SS`` or Harvest's decimal ``Hours``,
never from a 2-decimal column, and must agree with the start and end times when both
are given; rows without a duration (running timers) are left out with a warning;
Harvest rows without a clock time are placed from a day start, one after another per
person and day in file order, and marked ``synthetic_start``. Every bad row is reported
with its number, in one :class:`~fbtime.ImportFileError`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fbtime.errors import ImportFileError
from fbtime.imports.layouts import Layout, Table, layout_for, problem_message, read_table
from fbtime.imports.values import (
    blank,
    both_folds,
    check_zone,
    clock_text,
    date_order,
    decimal_mark,
    localize,
    read_clock,
    read_dates,
    read_hms,
    read_hours,
    read_yes_no,
    twelve_hour,
)
from fbtime.text import for_terminal

#: Columns of the frame :func:`read_time_export` returns, and their dtypes (``local_start``
#: is in the file's zone, so its dtype is set per file).
ROW_COLUMNS: dict[str, str] = {
    "source_file": "str", "row": "Int64", "person": "str", "person_name": "str",
    "client": "str", "project": "str", "task": "str", "note": "str", "billable": "boolean",
    "invoiced": "boolean", "tags": "str", "local_start": "datetime64[us, <tz>]",
    "started_at": "datetime64[us, UTC]", "duration": "Int64", "synthetic_start": "boolean",
}  # fmt: skip
#: Harvest's rows without a clock time start here (the file's zone), one after another.
DEFAULT_DAY_START = dt.time(9, 0)
_DURATION_HINTS = {
    "toggl": "; set Toggl's duration format to 'Improved' and export again",
    "clockify": "; set Clockify's duration format to 'Full (hh:mm:ss)' and export again",
}


@dataclass
class TimeExport:
    """A time export read and checked, before any name is matched to FreshBooks.

    Attributes:
        rows: one row per entry to bring in (:data:`ROW_COLUMNS`).
        format: ``toggl``, ``harvest`` or ``clockify``.
        path: the file.
        timezone: the IANA zone the file's wall-clock times were read in.
        skipped: ``{"row", "reason"}`` for rows left out (no duration).
        warnings: what the reader noticed and a reviewer should know.
    """

    rows: pd.DataFrame
    format: str
    path: str
    timezone: str
    skipped: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        synthetic = int(self.rows["synthetic_start"].sum())
        more = f", {synthetic} placed from the day start" if synthetic else ""
        return (
            f"TimeExport({self.format} {for_terminal(self.path)!r}: {len(self.rows)} rows in "
            f"{self.timezone}, {len(self.skipped)} skipped{more})"
        )


def read_time_export(
    path: str | Path,
    format: str,
    *,
    tz: str,
    date_order: str | None = None,
    decimal: str | None = None,
    day_start: dt.time | str = DEFAULT_DAY_START,
) -> TimeExport:
    """Read a detailed-report CSV of Toggl Track, Harvest or Clockify.

    Args:
        path: the CSV file (UTF-8 with or without BOM, or UTF-16 with BOM).
        format: ``"toggl"``, ``"harvest"`` or ``"clockify"``.
        tz: the IANA zone the file's times are in (the exporting account's setting).
        date_order: ``"MDY"`` or ``"DMY"`` for numeric dates whose order the file cannot
            show (every day <= 12); refused when the file shows the other.
        decimal: Harvest's decimal mark, ``","`` or ``"."``, when the file mixes both.
        day_start: where Harvest rows without a clock time start (``"09:00"``).

    Returns:
        A :class:`TimeExport`; nothing is sent anywhere.

    Raises:
        ImportFileError: an unreadable file, an unknown layout, a bad zone, or bad rows
            (all listed, with their row numbers, in ``.problems``).
    """
    layout = layout_for(format)
    zone = check_zone(tz)
    start_of_day = _day_start(day_start)
    table = read_table(path, layout)
    cells = pd.DataFrame(
        {name: pd.Series(values, dtype="str") for name, values in table.columns.items()}
    )
    cells.index = pd.Index(table.rows, dtype="int64", name="row")
    problems = list(table.problems)
    reader = _Rows(layout, cells, table, problems)
    running = blank(cells[reader.duration_field])
    skipped = [
        {"row": int(r), "reason": "no duration (a running timer)"} for r in cells.index[running]
    ]
    warnings = []
    if skipped:
        rows = ", ".join(str(s["row"]) for s in skipped[:10]) + " ..." * (len(skipped) > 10)
        warnings.append(f"{len(skipped)} row(s) without a duration left out (rows {rows})")
    cells = cells[~running]
    reader.cells = cells
    out = reader.read(zone, start_of_day, date_order, decimal)
    if problems:
        raise ImportFileError(
            problem_message(table.path, problems, "row(s) cannot be read"),
            path=table.path,
            problems=sorted(problems, key=lambda p: int(str(p["row"]))),
        )
    if bool(out["synthetic_start"].any()):
        warnings.append(
            f"{int(out['synthetic_start'].sum())} row(s) have no clock time: their starts are "
            f"synthetic, from {start_of_day:%H:%M} one after another per person and day"
        )
    return TimeExport(out, layout.name, table.path, zone.key, skipped, warnings)


def _day_start(value: dt.time | str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ImportFileError(f"day_start must be a time such as '09:00', got {value!r}")
    return dt.time(int(match[1]), int(match[2]))


class _Rows:
    """The column readers of one file, collecting every cell's problem."""

    def __init__(self, layout: Layout, cells: pd.DataFrame, table: Table,
                 problems: list[dict[str, Any]]) -> None:  # fmt: skip
        self.layout, self.cells, self.table, self.problems = layout, cells, table, problems
        self.duration_field = "hours" if layout.name == "harvest" else "duration"
        # what reading the start learns, for the end's check: the date order, the days,
        # the clock (12-hour or not, seconds after midnight, whether they had seconds)
        self.order: str | None = None
        self.days = pd.Series(dtype="datetime64[s]")
        self.twelve = False
        self.clock = pd.Series(dtype="Int64")
        self.with_seconds = pd.Series(dtype=bool)

    def header(self, name: str) -> str:
        spellings = self.layout.required.get(name) or self.layout.optional[name]
        return spellings[0]

    def note(self, name: str | None, found: pd.Series) -> None:
        """Record the problems ``found`` (NA where none) of column ``name``."""
        bad = found[found.notna()]
        for row, message in zip(bad.index.tolist(), bad.tolist(), strict=True):
            value = self.cells.at[row, name] if name in self.cells else None
            self.problems.append({
                "row": int(row), "column": self.header(name) if name else None,
                "value": value, "message": str(message),
            })  # fmt: skip

    def text(self, name: str, *, strip: bool = True) -> pd.Series:
        if name not in self.cells:
            return pd.Series(pd.NA, index=self.cells.index, dtype="str")
        values = self.cells[name].str.strip() if strip else self.cells[name]
        return values.mask(values.eq(""))

    def read(self, zone: Any, day_start: dt.time, order: str | None,
             decimal: str | None) -> pd.DataFrame:  # fmt: skip
        c, index = self.cells, self.cells.index
        harvest = self.layout.name == "harvest"
        if harvest:
            first, last = self.text("first_name"), self.text("last_name")
            person = (first.fillna("") + " " + last.fillna("")).str.split().str.join(" ")
            person = person.mask(person.eq(""))
            self.note("first_name", _flag(person.isna(), "no first or last name: nobody to match"))
            name = person
        else:
            person = self.text("email")
            self.note("email", _flag(person.isna(), "no e-mail: nobody to match"))
            name = self.text("user")
        billable, found = read_yes_no(c["billable"], required=True)
        self.note("billable", found)
        invoiced = pd.Series(pd.NA, index=index, dtype="boolean")
        if "invoiced" in c:
            invoiced, found = read_yes_no(c["invoiced"], required=False)
            self.note("invoiced", found)
        if harvest:
            mark = decimal_mark(c["hours"], decimal, self.table.path)
            duration, rounding, found = read_hours(c["hours"], mark)
            self.note("hours", found)
        else:
            duration, found = read_hms(c["duration"], _DURATION_HINTS[self.layout.name])
            rounding = pd.Series(0.0, index=index)
            self.note("duration", found)
        start, synthetic = self.start(zone, day_start, order, duration)
        self.check_end(zone, start, duration, rounding)
        local = pd.DatetimeTZDtype(unit="us", tz=zone.key)
        columns = {
            "source_file": self.table.path, "row": index, "person": person,
            "person_name": name, "client": self.text("client"),
            "project": self.text("project"), "task": self.text("task"),
            "note": self.text("note", strip=False).fillna(""), "billable": billable,
            "invoiced": invoiced, "tags": self.text("tags"),
            "local_start": start.astype(local), "started_at": start.dt.tz_convert("UTC"),
            "duration": duration, "synthetic_start": synthetic,
        }  # fmt: skip
        out = pd.DataFrame(
            {k: v.to_numpy() if isinstance(v, pd.Series) else v for k, v in columns.items()}
        )
        return out.astype({**ROW_COLUMNS, "local_start": local})

    def start(self, zone: Any, day_start: dt.time, order: str | None,
              duration: pd.Series) -> tuple[pd.Series, pd.Series]:  # fmt: skip
        """The aware start of each row (NaT where unreadable), and which are synthetic."""
        c, index = self.cells, self.cells.index
        harvest = self.layout.name == "harvest"
        day_field = "date" if harvest else "start_date"
        if self.layout.name != "toggl":  # Toggl writes ISO dates only
            columns = [c[f][~blank(c[f])] for f in (day_field, "end_date") if f in c]
            order = date_order(columns, order, "MDY" if harvest else None, self.table.path)
        self.order = order
        days, found = read_dates(c[day_field], order)
        self.note(day_field, found)
        self.days = days
        self.twelve = twelve_hour(c[f] for f in ("start_time", "end_time") if f in c)
        has_clock = ~blank(c["start_time"]) if "start_time" in c else pd.Series(False, index=index)
        if not harvest:
            self.note("start_time", _flag(~has_clock, "no start time"))
        clock = pd.Series(pd.NA, index=index, dtype="Int64")
        self.with_seconds = pd.Series(False, index=index)
        if "start_time" in c:
            clock, self.with_seconds, found = read_clock(
                c["start_time"].where(has_clock, "0:00"), self.twelve
            )
            self.note("start_time", found.where(has_clock))
        self.clock = clock
        synthetic = ~has_clock if harvest else pd.Series(False, index=index)
        if synthetic.any():
            clock = clock.where(~synthetic, self.stack(days, duration, synthetic, day_start))
        naive = days + pd.to_timedelta(clock.astype("Float64"), unit="s")
        start, found = localize(naive, zone)
        self.note("start_time" if "start_time" in c else day_field, found.where(naive.notna()))
        if synthetic.any():
            past = synthetic & (naive.dt.normalize() != days).fillna(False)
            self.note(day_field, _flag(past, (
                f"the person's hours this day run past midnight when stacked from "
                f"{day_start:%H:%M}; give an earlier day_start"
            )))  # fmt: skip
        return start, synthetic

    def stack(self, days: pd.Series, duration: pd.Series, synthetic: pd.Series,
              day_start: dt.time) -> pd.Series:  # fmt: skip
        """Seconds after midnight for rows with no clock: one after another per person and
        day, in file order, from ``day_start``."""
        person = self.text("first_name").fillna("") + "\x00" + self.text("last_name").fillna("")
        seconds = duration.fillna(0).where(synthetic, 0).astype("int64")
        before = seconds.groupby([person, days]).cumsum() - seconds
        origin = day_start.hour * 3600 + day_start.minute * 60
        return (before + origin).astype("Int64")

    def check_end(self, zone: Any, start: pd.Series, duration: pd.Series,
                  rounding: pd.Series) -> None:  # fmt: skip
        """Where the file gives an end, the duration must match start to end.

        Allowed gap: 1 s when both clocks have seconds, else 60 s, plus the rounding of
        Harvest's decimal hours. An end in a repeated hour passes if either reading fits;
        an end that does not exist in the zone is a problem.
        """
        c = self.cells
        if "end_time" not in c:
            return
        given = ~blank(c["end_time"]) & start.notna() & duration.notna()
        end_clock, end_seconds, found = read_clock(c["end_time"].where(given, "0:00"), self.twelve)
        self.note("end_time", found.where(given))
        if "end_date" in c:
            dated = ~blank(c["end_date"])
            end_days, found = read_dates(c["end_date"].where(dated, "1970-01-01"), self.order)
            self.note("end_date", found.where(dated))
            end_days = end_days.where(dated, self.days)
        else:  # Harvest: the same day, or the next one when the end is earlier
            wraps = (end_clock < self.clock).fillna(False).astype(bool)
            end_days = self.days + pd.to_timedelta(np.where(wraps, 1, 0), unit="D")
        naive = end_days + pd.to_timedelta(end_clock.astype("Float64"), unit="s")
        naive = naive.where(given & found.isna())
        first, second = both_folds(naive, zone)
        self.note("end_time", _flag(naive.notna() & first.isna(), (
            f"does not exist in {zone.key} (a DST change): is the file's time zone right?"
        )))  # fmt: skip
        seconds = duration.astype("Float64")
        allowed = np.where(self.with_seconds & end_seconds, 1.0, 60.0) + rounding
        gaps = [(e - start).dt.total_seconds() for e in (first, second)]
        fits = [((g - seconds).abs() <= allowed).fillna(False) for g in gaps]
        off = first.notna() & ~fits[0] & ~fits[1]
        self.note(self.duration_field, pd.Series(
            [f"is {clock_text(d)} but the start and end times are {clock_text(g)} apart"
             for d, g in zip(duration[off], gaps[0][off], strict=True)],
            index=c.index[off], dtype="str",
        ))  # fmt: skip


def _flag(mask: pd.Series, message: str) -> pd.Series:
    found = pd.Series(pd.NA, index=mask.index, dtype="str")
    found[mask.fillna(False).astype(bool)] = message
    return found
