"""Time-entry fields fbtime writes: which ones, and how a value is checked before sending.

The writable set is declared here once; :mod:`fbtime.schema` reads each column's
``writable`` flag from it, and updates send the full set (GET -> merge -> PUT) because
sources disagree on whether FreshBooks' PUT is partial.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fbtime.api.query import MAX_INT, format_utc, to_id, to_utc
from fbtime.errors import QueryError

#: Fields the API accepts on create and update (API names).
WRITABLE = (
    "identity_id",
    "is_logged",
    "started_at",
    "duration",
    "client_id",
    "project_id",
    "service_id",
    "task_id",
    "retainer_id",
    "pending_client",
    "pending_project",
    "pending_task",
    "note",
    "billable",
    "billed",
    "internal",
)
#: Sent back only when the entry already has them.
OPTIONAL_WRITABLE = ("local_started_at", "local_timezone")
ID_FIELDS = ("identity_id", "client_id", "project_id", "service_id", "task_id", "retainer_id")
BOOL_FIELDS = ("is_logged", "billable", "billed", "internal")
TEXT_FIELDS = (
    "note",
    "pending_client",
    "pending_project",
    "pending_task",
    "local_started_at",
    "local_timezone",
)


def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise entry fields for a request body.

    Raises:
        QueryError: an unknown field, or a value of the wrong type.
    """
    allowed = (*WRITABLE, *OPTIONAL_WRITABLE, "timer")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise QueryError(
            f"unknown or read-only time-entry field(s) {', '.join(map(repr, unknown))}; "
            f"writable fields are: {', '.join(allowed)}"
        )
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            out[name] = None
        elif name in ID_FIELDS:
            out[name] = to_id(value, name)
        elif name in BOOL_FIELDS:
            if not isinstance(value, bool):
                raise QueryError(f"{name} must be True or False, got {value!r}")
            out[name] = value
        elif name == "duration":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
                raise QueryError(f"duration must be whole seconds from 0 to 2**63-1, got {value!r}")
            out[name] = value
        elif name == "started_at":
            out[name] = format_utc(to_utc(value, name))
        elif name in TEXT_FIELDS:
            if not isinstance(value, str):
                raise QueryError(f"{name} must be a string, got {type(value).__name__}")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no JSON body or journal can hold it
                raise QueryError(
                    f"{name} holds a character that is not valid Unicode (a lone surrogate); "
                    "fix the text before sending it"
                ) from None
            out[name] = value
        elif name == "timer":
            if not isinstance(value, dict):
                raise QueryError(f"timer must be a dict like {{'id': 123}}, got {value!r}")
            out[name] = value
    return out


def writable_payload(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The full writable set of an entry as the API returned it (for a PUT)."""
    payload = {name: entry.get(name) for name in WRITABLE}
    payload.update({name: entry[name] for name in OPTIONAL_WRITABLE if name in entry})
    return payload
