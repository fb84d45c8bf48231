"""The time-entry list filters: validation and encoding to query parameters.

Everything here runs before a request is sent, so a typo costs an exception, not an API
call. Encoding follows what the API documents: booleans as ``true``/``false``, datetimes
as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC. Naive dates and datetimes mean UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

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
MAX_PER_PAGE = 100

DateLike = str | dt.date | dt.datetime | pd.Timestamp


def to_utc(value: DateLike, name: str = "date") -> pd.Timestamp:
    """Parse a date-like value to a tz-aware UTC Timestamp (naive means UTC).

    Raises:
        QueryError: the value cannot be read as a date or time.
    """
    if isinstance(value, bool) or not isinstance(value, str | dt.date | pd.Timestamp):
        raise QueryError(
            f"{name} must be a date: a 'YYYY-MM-DD' or ISO 8601 string, date, datetime "
            f"or pandas Timestamp; got {type(value).__name__} {value!r}"
        )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise QueryError(
            f"{name}={value!r} is not a date or time fbtime can read "
            f"(use 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM:SSZ'): {exc}"
        ) from None
    if stamp is pd.NaT:
        raise QueryError(f"{name}={value!r} is not a date or time")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def format_utc(stamp: pd.Timestamp) -> str:
    """Render as the API expects: ``YYYY-MM-DDTHH:MM:SSZ`` (seconds precision)."""
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_id(value: Any, name: str = "id") -> int:
    """Check that ``value`` is a positive whole number (or a string of one); return it."""
    if isinstance(value, bool):
        raise QueryError(f"{name} must be a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif hasattr(value, "__index__") and not isinstance(value, float):
        number = int(value.__index__())
    else:
        raise QueryError(f"{name} must be a whole number, got {type(value).__name__} {value!r}")
    if number <= 0:
        raise QueryError(f"{name} must be positive, got {number}")
    return number


def check_per_page(per_page: Any) -> int:
    """Validate a page size: the API silently caps at 100, fbtime says so instead."""
    if isinstance(per_page, bool) or not isinstance(per_page, int):
        raise QueryError(f"per_page must be a whole number from 1 to 100, got {per_page!r}")
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
    stamps: dict[str, pd.Timestamp] = {}
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


def decode_filters(params: Mapping[str, str]) -> dict[str, Any]:
    """Invert :func:`encode_filters` (for journals, sync state and tests)."""
    out: dict[str, Any] = {}
    for name, raw in params.items():
        if name in BOOL_FILTERS:
            out[name] = raw == "true"
        elif name in ID_FILTERS:
            out[name] = int(raw)
        elif name in DATE_FILTERS:
            out[name] = to_utc(raw, name)
        else:
            raise QueryError(f"unknown filter {name!r}; valid filters are: {', '.join(FILTERS)}")
    return out
