"""The time-entry list filters: validation and encoding to query parameters.

Everything here runs before a request is sent, so a typo costs an exception, not an API
call. Encoding follows what the API documents: booleans as ``true``/``false``, datetimes
as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC (:data:`UTC_FORMAT`). Naive dates and datetimes mean
UTC. Plain ``datetime`` only: this layer does not import pandas (a ``pd.Timestamp`` is a
``datetime`` and is accepted as one).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from fbtime.config import MAX_PER_PAGE, id_problem, is_id
from fbtime.errors import QueryError

BOOL_FILTERS = ("billable", "billed", "include_deleted", "team", "include_unlogged")
ID_FILTERS = ("client_id", "identity_id")
DATE_FILTERS = ("started_from", "started_to", "updated_since")
#: The ten filters the API documents, in its order.
FILTERS: tuple[str, ...] = (
    "billable",
    "billed",
    "client_id",
    "include_deleted",
    "team",
    "include_unlogged",
    "started_from",
    "started_to",
    "updated_since",
    "identity_id",
)
#: How the API writes and reads times: UTC, whole seconds, a ``Z``.
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Durations are 64-bit on the way in and out.
MAX_INT = 2**63 - 1

DateLike = str | dt.date | dt.datetime


def to_utc(value: DateLike, name: str = "date") -> dt.datetime:
    """Read a date-like value as an aware UTC datetime (naive means UTC).

    Accepts ISO 8601 strings (``2026-10-01``, ``2026-10-01T09:00:00Z``), dates, datetimes
    and pandas Timestamps.

    Raises:
        QueryError: the value cannot be read as a date or time.
    """
    if isinstance(value, bool) or not isinstance(value, str | dt.date):
        raise QueryError(
            f"{name} must be a date: a 'YYYY-MM-DD' or ISO 8601 string, date, datetime "
            f"or pandas Timestamp; got {type(value).__name__} {value!r}"
        )
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise QueryError(
                f"{name}={value!r} is not a date or time fbtime can read "
                "(use 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SSZ')"
            ) from None
    elif not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value != value:  # pandas' NaT is a datetime that equals nothing
        raise QueryError(f"{name}={value!r} is not a date or time")
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def format_utc(stamp: dt.datetime) -> str:
    """Render as the API expects: ``YYYY-MM-DDTHH:MM:SSZ`` (whole seconds, floored)."""
    return to_utc(stamp).strftime(UTC_FORMAT)


def to_id(value: Any, name: str = "id") -> int:
    """Check that ``value`` is a positive 64-bit whole number (or ASCII digits); return it.

    ``"²"`` is a digit to ``str.isdigit`` but not a number; floats, bools and NaN are refused.
    """
    if isinstance(value, bool):
        raise QueryError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    elif hasattr(value, "__index__") and not isinstance(value, float):
        number = int(value.__index__())
    else:
        shown = value if not (isinstance(value, float) and math.isnan(value)) else "NaN"
        raise QueryError(f"{name} must be a whole number, got {type(value).__name__} {shown!r}")
    if not is_id(number):
        raise QueryError(id_problem(name, number))
    return number


def check_per_page(per_page: Any) -> int:
    """Validate a page size: the API silently caps at 100, fbtime says so instead."""
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise QueryError(
            f"per_page must be a whole number from 1 to {MAX_PER_PAGE}, got {per_page!r}"
        )
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise QueryError(
            f"per_page must be from 1 to {MAX_PER_PAGE} (the API's cap), got {per_page}"
        )
    return per_page


def encode_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """Validate filters and encode them as query parameters. ``None`` values are dropped.

    Raises:
        QueryError: an unknown filter name (the message lists the valid ones), a value of
            the wrong type, an unreadable date, or ``started_from`` after ``started_to``.
    """
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise QueryError(
            f"unknown filter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"valid filters are: {', '.join(FILTERS)}"
        )
    params: dict[str, str] = {}
    stamps: dict[str, dt.datetime] = {}
    for name in FILTERS:
        value = filters.get(name)
        if value is None:
            continue
        if name in BOOL_FILTERS:
            if not isinstance(value, bool):
                raise QueryError(f"{name} must be True or False, got {value!r}")
            params[name] = "true" if value else "false"
        elif name in ID_FILTERS:
            params[name] = str(to_id(value, name))
        else:
            stamps[name] = to_utc(value, name)
            params[name] = format_utc(stamps[name])
    start, end = stamps.get("started_from"), stamps.get("started_to")
    if start is not None and end is not None and start > end:
        raise QueryError(
            f"started_from ({format_utc(start)}) is after started_to ({format_utc(end)}); "
            "nothing can match"
        )
    if filters.get("identity_id") is not None and filters.get("include_unlogged"):
        raise QueryError(
            "identity_id cannot be combined with include_unlogged=True: the API answers 422; "
            "load running timers with team=True and select the teammate in the frame"
        )
    return params
