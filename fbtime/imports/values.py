"""Cell values of an export read column-wise: dates, clock times, durations, hours, yes/no.

Each reader takes a column of text and returns the values and a column of problems (a
message where a cell cannot be read, NA elsewhere), so one pass reports every bad row.
What a file's settings decide (day/month order, 12/24-hour clock, decimal comma) is
detected from all its values at once, never guessed row by row: ``import-formats.md``
§4 says how.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from fbtime.errors import ImportFileError
from fbtime.text import for_terminal

DATE_ORDERS = ("MDY", "DMY")
DECIMAL_MARKS = (".", ",")
_ISO_DATE = r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$"
_NUMERIC_DATE = r"^\s*(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})\s*$"
_CLOCK = r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:([AaPp])\.?\s*[Mm]\.?)?\s*$"
_HMS = r"^\s*(\d{1,7}):([0-5]\d):([0-5]\d)\s*$"
_NUMBER = r"^\s*(\d{1,7})(?:([.,])(\d{1,9}))?\s*$"

Problems = pd.Series
"""Per row: a message saying why the cell cannot be read, or NA."""


def no_problems(index: pd.Index) -> Problems:
    return pd.Series(pd.NA, index=index, dtype="str")


def blank(values: pd.Series) -> pd.Series:
    """True where a cell is empty or only spaces."""
    return values.str.strip().eq("")


def check_zone(tz: object) -> ZoneInfo:
    """The IANA zone named ``tz``; ImportFileError for anything else."""
    if not isinstance(tz, str) or not tz.strip():
        raise ImportFileError(
            "give the file's time zone as an IANA name (tz='Europe/Paris'): no export "
            "says which zone its times are in"
        )
    try:
        return ZoneInfo(tz.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFileError(
            f"unknown time zone {for_terminal(repr(tz))}; give an IANA name such as "
            "'Europe/Paris' or 'America/Toronto'"
        ) from None


# -- dates ------------------------------------------------------------------------------
def date_order(columns: Iterable[pd.Series], asked: str | None, default: str | None,
               path: str) -> str | None:  # fmt: skip
    """The day/month order of the file's numeric dates (``MDY``/``DMY``), from the values.

    A part above 12 tells the order; a file that shows both orders, or one that ``asked``
    contradicts, is refused. With nothing to tell, ``asked`` then ``default`` decide;
    without either the user must say (a file whose days are all <= 12 cannot tell).
    """
    if asked is not None and asked not in DATE_ORDERS:
        raise ImportFileError(f"date_order must be 'MDY' or 'DMY', got {for_terminal(asked)!r}")
    seen: dict[str, str] = {}
    numeric = False
    for values in columns:
        parts = values.str.extract(_NUMERIC_DATE)
        first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[2])
        numeric = numeric or bool(first.notna().any())
        for order, evidence in (("DMY", first > 12), ("MDY", second > 12)):
            hits = values[evidence.fillna(False) & ~((first > 12) & (second > 12)).fillna(False)]
            if len(hits) and order not in seen:
                seen[order] = str(hits.iloc[0])
    if len(seen) == 2:
        raise ImportFileError(
            f"{for_terminal(path)} mixes day/month orders ({for_terminal(seen['DMY'])!r} is "
            f"day first, {for_terminal(seen['MDY'])!r} month first); export it again"
        )
    if seen:
        (found, sample), *_ = seen.items()
        if asked is not None and asked != found:
            raise ImportFileError(
                f"date_order={asked!r} but {for_terminal(path)} has {for_terminal(sample)!r}, "
                f"which only reads as {found}"
            )
        return found
    if asked is not None or not numeric:
        return asked or default
    if default is not None:
        return default
    raise ImportFileError(
        f"the dates in {for_terminal(path)} can be read month first or day first (no day is "
        "above 12): say which with date_order='MDY' or 'DMY' (--date-order), as the "
        "exporting account's date format setting shows"
    )


def read_dates(values: pd.Series, order: str | None) -> tuple[pd.Series, Problems]:
    """Dates as naive midnight timestamps: ``YYYY-MM-DD``, or ``M/D/YYYY`` in ``order``."""
    iso = values.str.extract(_ISO_DATE)
    numeric = values.str.extract(_NUMERIC_DATE)
    day_first = order == "DMY"
    year = pd.to_numeric(iso[0]).fillna(pd.to_numeric(numeric[3]))
    month = pd.to_numeric(iso[1]).fillna(pd.to_numeric(numeric[2 if day_first else 0]))
    day = pd.to_numeric(iso[2]).fillna(pd.to_numeric(numeric[0 if day_first else 2]))
    parts = pd.DataFrame({"year": year, "month": month, "day": day})
    dates = pd.to_datetime(parts, errors="coerce")
    problems = no_problems(values.index)
    shape = iso[0].isna() & numeric[0].isna()
    if order is None:  # only ISO dates were expected
        shape = iso[0].isna()
    problems[shape] = "is not a date (YYYY-MM-DD" + (", M/D/YYYY)" if order else ")")
    problems[~shape & dates.isna()] = "is not a day of the calendar"
    return dates.astype("datetime64[s]"), problems


# -- clock times ------------------------------------------------------------------------
def twelve_hour(columns: Iterable[pd.Series]) -> bool:
    """Whether the file's clock is 12-hour (its times carry AM/PM)."""
    return any(bool(c.str.extract(_CLOCK)[3].notna().any()) for c in columns)


def read_clock(values: pd.Series, twelve: bool) -> tuple[pd.Series, pd.Series, Problems]:
    """Seconds after midnight (``Int64``), whether each value has seconds, and problems.

    ``14:30``, ``14:30:05``, ``2:30 PM``, ``2:30:05 pm``, ``2:30pm`` (12-hour when
    ``twelve``: then every value must carry AM/PM).
    """
    parts = values.str.extract(_CLOCK)
    hour, minute = pd.to_numeric(parts[0]), pd.to_numeric(parts[1])
    second = pd.to_numeric(parts[2]).fillna(0)
    meridiem = parts[3].str.lower()
    problems = no_problems(values.index)
    shape = parts[0].isna()
    problems[shape] = "is not a clock time (14:30:00, or 2:30:00 PM)"
    if twelve:
        problems[~shape & meridiem.isna()] = "has no AM/PM, but the file's clock is 12-hour"
        bad = ~shape & ((hour < 1) | (hour > 12))
        hour = hour % 12 + np.where(meridiem.eq("p").fillna(False), 12, 0)
    else:
        bad = ~shape & (hour > 23)
    bad = bad | (~shape & ((minute > 59) | (second > 59)))
    problems[bad & problems.isna()] = "is not a time of day"
    seconds = (hour * 3600 + minute * 60 + second).astype("Float64").astype("Int64")
    return seconds.mask(problems.notna()), parts[2].notna(), problems


# -- durations --------------------------------------------------------------------------
def read_hms(values: pd.Series, hint: str) -> tuple[pd.Series, Problems]:
    """``H:MM:SS`` (hours may pass 24) as whole seconds (``Int64``)."""
    parts = values.str.extract(_HMS)
    seconds = pd.to_numeric(parts[0]) * 3600 + pd.to_numeric(parts[1]) * 60
    seconds = (seconds + pd.to_numeric(parts[2])).astype("Float64").astype("Int64")
    problems = no_problems(values.index)
    problems[parts[0].isna()] = f"is not a duration (hours:minutes:seconds){hint}"
    return seconds, problems


def decimal_mark(values: pd.Series, asked: str | None, path: str) -> str:
    """The file's decimal mark for hours, detected from every value (never mixed)."""
    if asked is not None:
        if asked not in DECIMAL_MARKS:
            raise ImportFileError(f"decimal must be '.' or ',', got {for_terminal(asked)!r}")
        return asked
    marks = values.str.extract(_NUMBER)[1].dropna()
    found = sorted(set(marks))
    if len(found) > 1:
        comma = values[values.str.contains(",", regex=False)].iloc[0]
        point = values[values.str.contains(".", regex=False)].iloc[0]
        raise ImportFileError(
            f"{for_terminal(path)} mixes decimal marks in Hours ({for_terminal(comma)!r} and "
            f"{for_terminal(point)!r}); say which is the decimal mark with decimal=',' or '.'"
        )
    return found[0] if found else "."


def read_hours(values: pd.Series, mark: str) -> tuple[pd.Series, pd.Series, Problems]:
    """Decimal hours as whole seconds (``Int64``, rounded), and each value's rounding (s).

    The second series is half a unit of the value's last decimal, in seconds (``0.50`` h
    is known to 18 s), for the check against start and end times.
    """
    parts = values.str.extract(_NUMBER)
    problems = no_problems(values.index)
    wrong_mark = parts[1].notna() & parts[1].ne(mark)
    problems[parts[0].isna() | wrong_mark] = (
        f"is not a number of hours (decimal mark {mark!r}, no thousands separator)"
    )
    whole = pd.to_numeric(parts[0])
    fraction = parts[2].fillna("")
    digits = fraction.str.len()
    hours = whole + pd.to_numeric(fraction.where(digits > 0, "0")) / 10.0**digits
    seconds = np.rint(hours.astype("float64") * 3600)
    out = pd.Series(seconds, index=values.index).astype("Float64").astype("Int64")
    return out.mask(problems.notna()), 1800.0 / 10.0**digits, problems


# -- yes / no ---------------------------------------------------------------------------
def read_yes_no(values: pd.Series, *, required: bool) -> tuple[pd.Series, Problems]:
    """``Yes``/``No`` (any case) as ``boolean``; an empty cell is NA unless ``required``."""
    lowered = values.str.strip().str.lower()
    out = lowered.map({"yes": True, "no": False}).astype("boolean")
    problems = no_problems(values.index)
    unknown = out.isna() & (lowered.ne("") | required)
    problems[unknown] = "is not Yes or No"
    return out, problems


# -- wall-clock times in a zone ---------------------------------------------------------
def localize(naive: pd.Series, zone: ZoneInfo) -> tuple[pd.Series, Problems]:
    """Wall-clock times in ``zone`` as aware times; a time that does not exist there, or
    occurs twice (a DST change), is a problem, never a guess."""
    name = zone.key
    aware = naive.dt.tz_localize(name, ambiguous="NaT", nonexistent="NaT")
    problems = no_problems(naive.index)
    failed = aware.isna() & naive.notna()
    if failed.any():
        later = naive[failed].dt.tz_localize(
            name, ambiguous=np.zeros(int(failed.sum()), dtype=bool), nonexistent="NaT"
        )
        gap = later.isna()
        shown = naive[failed].dt.strftime("%Y-%m-%d %H:%M:%S")
        problems[gap[gap].index] = shown[gap] + (
            f" does not exist in {name}: the clocks jumped forward over it (a DST change); "
            "is the file's time zone right?"
        )
        problems[gap[~gap].index] = shown[~gap] + (
            f" occurs twice in {name} (the clocks went back at a DST change); fbtime does "
            "not guess which: bring this row in with plan_create and a UTC start"
        )
    return aware, problems


def both_folds(naive: pd.Series, zone: ZoneInfo) -> tuple[pd.Series, pd.Series]:
    """``naive`` in ``zone`` read as the first and as the second of a repeated hour (NaT
    where it does not exist)."""
    count = len(naive)
    first = naive.dt.tz_localize(zone.key, ambiguous=np.ones(count, dtype=bool), nonexistent="NaT")
    second = naive.dt.tz_localize(
        zone.key, ambiguous=np.zeros(count, dtype=bool), nonexistent="NaT"
    )
    return first, second


def clock_text(seconds: int) -> str:
    """``3725`` -> ``"1:02:05"``, for messages."""
    return str(dt.timedelta(seconds=int(seconds)))
