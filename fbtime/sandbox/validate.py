"""Parsing of query parameters and entry bodies, with the API's lenient encodings.

The real API accepts booleans as ``true``/``false``/``1``/``0`` (any case), datetimes with
``Z``, ``+00:00`` or millisecond fractions, and ids as integers or integer strings. The
official Python SDK does not URL-encode, so a ``+00:00`` offset arrives as `` 00:00``;
that is accepted too. Errors are collected per field so one answer names them all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

INT_FIELDS = ("identity_id", "client_id", "project_id", "service_id", "task_id", "retainer_id")
BOOL_FIELDS = ("is_logged", "billable", "billed", "internal")
STR_FIELDS = ("note", "pending_client", "pending_project", "pending_task", "local_started_at",
              "local_timezone")  # fmt: skip
WRITABLE = (*INT_FIELDS, "duration", *BOOL_FIELDS, "started_at", *STR_FIELDS, "timer")
_SPACE_OFFSET = re.compile(r"^(.+[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class FieldError(ValueError):
    """Invalid input; ``errors`` maps a field (or ``__root__``) to a message."""

    def __init__(self, errors: dict[str, str], status: int = 422) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


def parse_bool(value: Any) -> bool:
    """Read a boolean the way the API does (``true``/``false``/``1``/``0``, any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise ValueError("value could not be parsed to a boolean")


def parse_int(value: Any) -> int:
    """Read an integer given as a JSON number or an integer string (``"2149780"``)."""
    if isinstance(value, bool):
        raise ValueError("value is not a valid integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise ValueError("value is not a valid integer")


def parse_datetime(value: Any) -> datetime:
    """Read a UTC datetime; naive values and bare dates mean UTC."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("invalid datetime format")
    text = _SPACE_OFFSET.sub(r"\1+\2", value.strip())
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("invalid datetime format") from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def clean_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the writable fields present in ``body``; others are ignored.

    Raises:
        FieldError: 422 with one message per bad field.
    """
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in WRITABLE:
        if name not in body:
            continue
        value = body[name]
        try:
            out[name] = _clean_one(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if errors:
        raise FieldError(errors)
    return out


def _clean_one(name: str, value: Any) -> Any:
    if name in INT_FIELDS:
        if value is None:
            if name == "identity_id":
                raise ValueError("none is not an allowed value")
            return None
        return parse_int(value)
    if name == "duration":
        if value is None:
            return None
        seconds = parse_int(value)
        if seconds < 0:
            raise ValueError("ensure this value is greater than or equal to 0")
        return seconds
    if name in BOOL_FIELDS:
        if value is None:
            if name == "is_logged":
                raise ValueError("none is not an allowed value")
            return False
        return parse_bool(value)
    if name == "started_at":
        if value is None:
            raise ValueError("field required")
        return parse_datetime(value).replace(microsecond=0)
    if name in STR_FIELDS:
        if value is not None and not isinstance(value, str):
            raise ValueError("str type expected")
        return value
    # timer: an object whose id may be a string, or null
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("value is not a valid dict")
    if value.get("id") is None:
        return {}
    return {"id": parse_int(value["id"])}


BOOL_MESSAGE = "Input should be a valid boolean, unable to interpret input"
INT_MESSAGE = "Input should be a valid integer, unable to parse string as an integer"


def datetime_message(value: str) -> str:
    """The live API's (pydantic) message for an unreadable datetime filter."""
    reason = "input is too short" if len(value.strip()) < 10 else "invalid datetime format"
    return f"Input should be a valid datetime or date, {reason}"


def parse_paging(query: dict[str, str]) -> dict[str, Any]:
    """Read ``page`` (0 means 1) and ``per_page`` (default 30, capped at 100).

    Raises:
        FieldError: 400 naming the bad parameter ("page must be a number", as documented).
    """
    out: dict[str, Any] = {"page": 1, "per_page": 30}
    errors: dict[str, str] = {}
    for name in ("page", "per_page"):
        if name in query:
            try:
                number = parse_int(query[name])
            except ValueError:
                number = -1
            if number < 0 or (name == "per_page" and number < 1):
                errors[name] = f"{name} must be a number" + (" >= 1" if name == "per_page" else "")
            else:
                out[name] = max(1, number) if name == "page" else min(100, number)
    if errors:
        raise FieldError(errors, status=400)
    return out


def parse_filters(
    query: dict[str, str],
    *,
    bools: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    datetimes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Read the given filters that are present; unknown parameters are ignored.

    Raises:
        FieldError: 422 ``{"<field>": "<message>"}`` with the live API's messages.
    """
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in bools:
        if name in query:
            try:
                out[name] = parse_bool(query[name])
            except ValueError:
                errors[name] = BOOL_MESSAGE
    for name in ints:
        if name in query:
            try:
                out[name] = parse_int(query[name])
            except ValueError:
                errors[name] = INT_MESSAGE
    for name in datetimes:
        if name in query:
            try:
                out[name] = parse_datetime(query[name])
            except ValueError:
                errors[name] = datetime_message(query[name])
    if errors:
        raise FieldError(errors)
    return out


def parse_list_query(query: dict[str, str]) -> dict[str, Any]:
    """Parse the time-entry list's parameters (paging and the documented filters).

    Raises:
        FieldError: 400 for bad paging, else 422 naming each bad filter.
    """
    return {
        **parse_paging(query),
        **parse_filters(
            query, bools=("billable", "billed", "include_deleted", "team", "include_unlogged"),
            ints=("client_id", "identity_id"),
            datetimes=("started_from", "started_to", "updated_since"),
        ),
    }  # fmt: skip
