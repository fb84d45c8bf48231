"""Create and update semantics of time entries, shared by the HTTP API and test helpers.

Choices where the real API is unknown (see ``docs/freshbooks-api.md``):

* POST: ``started_at`` is required; ``is_logged`` defaults to true and a logged entry
  needs a ``duration``. ``is_logged: false`` starts a running timer
  (``{"id": <new>, "is_running": true}``, duration null). ``identity_id`` defaults to the
  caller and must be a member of the business. ``billable`` defaults to "the project
  has a client" (else: the entry has one); ``internal`` to "no client".
* An update may keep an entry's ``identity_id`` even when that teammate has left the
  business (a full PUT resends it); changing it to a non-member is refused.
* PUT ``live`` (the default, as recorded live, facts sheet section 7): the given writable
  fields change, and ``client_id`` / ``project_id`` left out are cleared (null); the
  rest (``identity_id``, ``billable``, ``internal``, ``local_*``...) is kept. PUT
  ``partial``: only the given writable fields change. PUT ``full``: ``identity_id``,
  ``started_at`` and ``is_logged`` are required, and writable fields left out are
  cleared (ids, note, pending and local fields to null, flags to false). ``timer`` is
  server-managed: left out, it is kept in every mode.
* POST fills ``local_started_at`` / ``local_timezone`` when they are not sent: the start
  in the creating identity's zone, as live.
* Logging a running timer (``is_logged: true`` plus ``duration``) stops it: the entry
  keeps its timer id with ``is_running: false``, as the seed document shows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fbtime.sandbox.data import iso
from fbtime.sandbox.validate import BOOL_FIELDS, WRITABLE, FieldError, clean_fields

REQUIRED_ON_FULL_PUT = ("identity_id", "started_at", "is_logged")
#: What a live PUT clears when the body leaves it out (facts sheet section 7).
CLEARED_ON_LIVE_PUT = ("client_id", "project_id")
ROOT_DURATION = "Logged entries must have a duration"


def build_new(
    body: Mapping[str, Any],
    *,
    caller: int,
    members: Collection[int],
    projects: Mapping[int, dict[str, Any]],
    next_timer_id: Callable[[], int],
    zone: str = "UTC",
) -> dict[str, Any]:
    """Validate a POST body and return the fields of the entry to insert.

    ``zone`` is the creating identity's IANA zone (``local_*`` when the body has none).

    Raises:
        FieldError: 422 naming every problem.
    """
    fields = clean_fields(dict(body))
    errors: dict[str, str] = {}
    if "started_at" not in fields:
        errors["started_at"] = "field required"
    is_logged = fields.get("is_logged", True)
    duration = fields.get("duration")
    if is_logged and duration is None:
        errors["__root__"] = ROOT_DURATION
    identity = fields.get("identity_id", caller)
    if identity not in members and "identity_id" not in errors:
        errors["identity_id"] = "identity is not a member of this business"
    if errors:
        raise FieldError(errors)
    client_id = fields.get("client_id")
    project = projects.get(fields.get("project_id") or -1)
    timer = None
    if not is_logged:
        timer = {"id": next_timer_id(), "is_running": True}
        duration = None
    elif fields.get("timer") and "id" in fields["timer"]:
        timer = {"id": fields["timer"]["id"], "is_running": False}
    default_billable = not project["internal"] if project else client_id is not None
    return {
        "identity_id": identity, "is_logged": is_logged, "started_at": iso(fields["started_at"]),
        "duration": duration, "client_id": client_id, "project_id": fields.get("project_id"),
        "service_id": fields.get("service_id"), "task_id": fields.get("task_id"),
        "pending_client": fields.get("pending_client"),
        "pending_project": fields.get("pending_project"),
        "pending_task": fields.get("pending_task"), "note": fields.get("note"),
        "billable": fields.get("billable", default_billable),
        "billed": fields.get("billed", False),
        "internal": fields.get("internal", client_id is None),
        "retainer_id": fields.get("retainer_id"), "timer": timer,
        **_local(fields, zone),
    }  # fmt: skip


def _local(fields: Mapping[str, Any], zone: str) -> dict[str, Any]:
    """``local_started_at`` / ``local_timezone`` as sent, else the start in ``zone``."""
    if fields.get("local_started_at") is not None or fields.get("local_timezone") is not None:
        return {"local_started_at": fields.get("local_started_at"),
                "local_timezone": fields.get("local_timezone")}  # fmt: skip
    start = fields["started_at"].astimezone(ZoneInfo(zone))
    return {"local_started_at": start.strftime("%Y-%m-%dT%H:%M:%S"), "local_timezone": zone}


def build_update(
    current: Mapping[str, Any],
    body: Mapping[str, Any],
    *,
    mode: str,
    members: Collection[int],
    next_timer_id: Callable[[], int],
) -> dict[str, Any]:
    """Validate a PUT body against the stored entry; return the fields to overwrite.

    Raises:
        FieldError: 422 naming every problem.
    """
    fields = clean_fields(dict(body))
    errors: dict[str, str] = {}
    if mode == "live":
        for name in CLEARED_ON_LIVE_PUT:
            fields.setdefault(name, None)
    if mode == "full":
        for name in REQUIRED_ON_FULL_PUT:
            if name not in fields:
                errors[name] = "field required"
        for name in WRITABLE:
            if name not in fields and name not in REQUIRED_ON_FULL_PUT and name != "timer":
                fields[name] = False if name in BOOL_FIELDS else None
    keeps = fields.get("identity_id") == current.get("identity_id")
    if "identity_id" in fields and fields["identity_id"] not in members and not keeps:
        errors["identity_id"] = "identity is not a member of this business"
    changes = {k: v for k, v in fields.items() if k != "timer"}
    if isinstance(changes.get("started_at"), datetime):
        changes["started_at"] = iso(changes["started_at"].astimezone(UTC))
    merged = {**current, **changes}
    timer = current.get("timer")
    given = fields.get("timer", ...)
    if merged["is_logged"]:
        if merged["duration"] is None:
            errors["__root__"] = ROOT_DURATION
        if timer and timer.get("is_running"):
            timer = {"id": timer["id"], "is_running": False}
        elif isinstance(given, dict) and "id" in given:
            timer = {"id": given["id"], "is_running": False}
        elif given is None:
            timer = None
    else:
        changes["duration"] = None
        if given == {} and timer is None:
            timer = {"id": next_timer_id(), "is_running": True}
        elif given is None:
            timer = None
    if errors:
        raise FieldError(errors)
    changes["timer"] = timer
    return changes
