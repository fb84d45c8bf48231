"""What a saved plan may hold: each part of a plan file checked before it is trusted.

A plan file, and the copy of a plan in a journal's first line, is untrusted input:
whoever can write the file can edit it, and an edit must never turn into a write nobody
reviewed. So every part is checked for type and range; each change against its plan's
kind (a ``mark_billed`` plan changes only ``billed``); every ``before`` for completeness
(the conflict check compares all of it, so a missing field would be written unchecked);
and the whole plan against its integrity hash (:func:`digest`), which ``fbtime plan show``
prints so a reviewer can compare what they approved with what is applied. Every failure
is a :class:`~fbtime.errors.PlanError` naming the change and the field. A plan built from
a frame is checked on the frame's columns instead (:mod:`fbtime.bulk.builders`), with
:func:`check_value` for whatever the columns cannot tell; either way a plan is checked
once.

The hash is not a signature: someone who edits a file can recompute it. It tells a
reviewer that the plan is the one they saw; the checks bound what any plan can do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from fbtime.api.fields import (
    BOOL_FIELDS,
    ID_FIELDS,
    OPTIONAL_WRITABLE,
    TEXT_FIELDS,
    WRITABLE,
    check_fields,
)
from fbtime.errors import PlanError, QueryError
from fbtime.text import for_terminal

#: Every field a change compares or writes (the API's writable set; timers excluded).
COMPARED = (*WRITABLE, *OPTIONAL_WRITABLE)
#: The largest id or count a plan may hold: the API's ids are 64-bit signed integers.
MAX_ID = 2**63 - 1
#: How far in the future a plan's ``created_at`` may be (another machine's clock).
CLOCK_SKEW = dt.timedelta(minutes=5)
#: What a change shows a reviewer besides its fields (display only: never compared):
#: ``amount`` is the exact decimal (``"1234.50"``) in ``currency``; ``rate_source`` says why
#: an entry has none (fixed price, no rate); ``client_currency`` is the client's own
#: currency when it is another one (the amount is not converted); ``source`` is where an
#: imported entry comes from (file and row).
CONTEXT_KEYS = (
    "date", "teammate", "client", "project", "amount", "currency", "rate_source",
    "client_currency", "note", "source",
)  # fmt: skip
#: Hours a single entry can plausibly hold (a year); beyond this the file was edited.
MAX_HOURS = 24 * 366
ACTIONS = ("update", "delete", "create")
PLAN_KEYS = frozenset(
    {"format", "version", "kind", "business_id", "created_at", "source_journal", "api_url"}
    | {"changes", "skipped", "sha256"}
)
CHANGE_KEYS = frozenset({"id", "action", "before", "after", "hours", "client_id", "context"})


@dataclass(frozen=True)
class KindRule:
    """What a plan of one kind may do: its actions, and the fields an update may set."""

    actions: tuple[str, ...]
    fields: tuple[str, ...] = ()
    value: Any = None  # the one value ``fields`` must be set to, when the kind fixes it


#: Each kind of plan and what it may change; any other kind is refused.
KIND_RULES: dict[str, KindRule] = {
    "mark_billed": KindRule(("update",), ("billed",), True),
    "mark_unbilled": KindRule(("update",), ("billed",), False),
    "update": KindRule(("update",), COMPARED),
    "delete": KindRule(("delete",)),
    # bounded further by the journal it undoes (fbtime.bulk.journal.check_undo_source)
    "undo": KindRule(("update", "create", "delete"), COMPARED),
    # new entries, each with its whole writable set (fbtime.bulk.imports)
    "import": KindRule(("create",)),
    "create": KindRule(("create",)),
}


def canonical(data: Any) -> bytes:
    """The one byte form a plan is hashed in: sorted keys, no spaces, ASCII escapes."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def digest(data: Mapping[str, Any]) -> str:
    """sha256 (hex) of a plan's canonical JSON, the ``sha256`` key itself left out."""
    body = {k: v for k, v in data.items() if k != "sha256"}
    try:
        return hashlib.sha256(canonical(body)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise PlanError(f"the plan holds a value that cannot be saved: {exc}") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number fbtime writes")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Another viewer may show the first of two equal keys while json keeps the last:
    # refuse, so what is reviewed is what is applied.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def loads(raw: bytes) -> Any:
    """Parse UTF-8 JSON as fbtime wrote it: no NaN/Infinity, no key twice in an object.

    Raises:
        ValueError: not such JSON (UnicodeDecodeError included).
        RecursionError: nested too deeply to be anything fbtime wrote.
    """
    return json.loads(
        raw.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_unique_keys
    )


def shown(value: Any) -> str:
    """A value from a file, quoted for a message (control characters escaped)."""
    text = repr(value)
    return for_terminal(text if len(text) <= 80 else text[:77] + "...")


def is_id(value: Any) -> TypeGuard[int]:
    """A positive 64-bit integer, and not a bool (``True`` is an int to Python)."""
    return type(value) is int and 0 < value <= MAX_ID


def check_text(value: str, where: str) -> str:
    """Text that can be written to a UTF-8 file (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PlanError(
            f"{where} is not valid Unicode text (it holds a lone surrogate); "
            "such text cannot be saved or journaled"
        ) from None
    return value


def _plainly_valid(name: str, value: Any) -> bool:
    """True for the values fbtime writes every day, told at a glance: None, a bool of a
    flag, a positive id, a duration, ASCII text (anything else gets the full check)."""
    kind = type(value)
    return (
        value is None
        or (kind is bool and name in BOOL_FIELDS)
        or (kind is int and name in ID_FIELDS and 0 < value <= MAX_ID)
        or (kind is int and name == "duration" and 0 <= value <= MAX_ID)
        or (kind is str and name in TEXT_FIELDS and value.isascii())
    )


def check_value(name: str, value: Any, where: str) -> Any:
    """One entry field exactly as fbtime saves it: right type, canonical form, in range."""
    if _plainly_valid(name, value):
        return value
    if isinstance(value, str):
        check_text(value, where)
    if type(value) is int and not -MAX_ID <= value <= MAX_ID:
        raise PlanError(f"{where} is out of range: {shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PlanError(f"{where} must be a number fbtime wrote, got {shown(value)}")
    try:
        normal = check_fields({name: value})[name]
    except QueryError as exc:
        message = str(exc)
        message = message if len(message) <= 300 else message[:297] + "..."
        raise PlanError(f"{where}: {for_terminal(message)}") from None
    if type(normal) is not type(value) or normal != value:
        raise PlanError(f"{where} is not in the form fbtime saves it: {shown(value)}")
    return value


def check_fields_of(fields: Any, where: str, *, complete: bool) -> dict[str, Any]:
    """A ``before``/``after`` object: known fields only, each valid; all of WRITABLE if
    ``complete`` (the optional local fields only when present)."""
    if not isinstance(fields, dict):
        raise PlanError(f"{where} must be an object, got {type(fields).__name__}")
    unknown = sorted(set(map(str, fields)) - set(COMPARED))
    if unknown or not all(isinstance(k, str) for k in fields):
        raise PlanError(
            f"{where}: unknown or read-only time-entry field(s) {shown(unknown)}; "
            f"writable fields are: {', '.join(COMPARED)}"
        )
    for name, value in fields.items():
        check_value(name, value, f"{where}.{name}")
    if complete:
        missing = [k for k in WRITABLE if k not in fields]
        if missing:
            raise PlanError(
                f"{where} is incomplete: it lacks {', '.join(missing)} (every change records "
                "the whole entry, so nothing is written that was not compared first)"
            )
    return fields


def check_context(context: Any, where: str) -> dict[str, str | None]:
    """The display context of a change: known keys, text or null values."""
    if context is None:
        return {}
    if not isinstance(context, dict):
        raise PlanError(f"{where} must be an object, got {type(context).__name__}")
    for key, value in context.items():
        if key not in CONTEXT_KEYS:
            raise PlanError(f"{where}: unknown key {shown(key)}; known: {', '.join(CONTEXT_KEYS)}")
        if value is not None and not isinstance(value, str):
            raise PlanError(f"{where}.{key} must be text or null, got {type(value).__name__}")
        if value is not None:
            check_text(value, f"{where}.{key}")
    return dict(context)


def check_change(item: Any, index: int, where: str, kind: str) -> dict[str, Any]:
    """One change of a plan of ``kind``, checked; returns its validated parts.

    Raises:
        PlanError: naming the change (its position and entry id) and the field.
    """
    row = f"{where}: change #{index + 1}"
    if not isinstance(item, dict):
        raise PlanError(f"{row} is not an object")
    extra = sorted(map(str, set(item) - CHANGE_KEYS))
    if extra:
        raise PlanError(f"{row} has unknown key(s) {shown(extra)}")
    entry_id = item.get("id")
    if not is_id(entry_id):
        raise PlanError(f"{row}: id must be a positive integer, got {shown(entry_id)}")
    row = f"{row} (entry {entry_id})"
    action = item.get("action")
    rule = KIND_RULES[kind]
    if action not in ACTIONS:
        raise PlanError(f"{row}: action must be update, delete or create, got {shown(action)}")
    if action not in rule.actions:
        raise PlanError(f"{row}: a {kind} plan cannot {action} entries")
    if "before" not in item or "after" not in item:
        raise PlanError(f"{row}: before and after must be objects")
    before = check_fields_of(item["before"], f"{row} before", complete=action != "create")
    after = check_fields_of(item["after"], f"{row} after", complete=action == "create")
    if action == "create" and before:
        raise PlanError(f"{row}: a re-created entry has no before (got {', '.join(before)})")
    if action == "delete" and after:
        raise PlanError(f"{row}: a delete changes no field (after must be empty)")
    if action == "update":
        if not after:
            raise PlanError(f"{row}: an update must change at least one field")
        for name, value in after.items():
            if name not in rule.fields:
                raise PlanError(f"{row}: a {kind} plan cannot change {name}")
            if rule.value is not None and value is not rule.value:
                raise PlanError(f"{row}: a {kind} plan sets {name} to {rule.value}, not {value!r}")
            if name not in before:
                raise PlanError(f"{row}: after.{name} was never compared (it is not in before)")
    hours = item.get("hours")
    if hours is not None and (
        type(hours) not in (int, float) or not math.isfinite(hours) or not 0 <= hours <= MAX_HOURS
    ):
        raise PlanError(f"{row}: hours must be a number from 0 to {MAX_HOURS}, got {shown(hours)}")
    client_id = item.get("client_id")
    if client_id is not None and not is_id(client_id):
        raise PlanError(f"{row}: client_id must be a positive integer, got {shown(client_id)}")
    context = check_context(item.get("context"), f"{row} context")
    return {
        "id": entry_id,
        "action": action,
        "before": before,
        "after": after,
        "hours": hours,
        "client_id": client_id,
        "context": context,
    }


def check_created_at(value: Any, where: str) -> str:
    """An aware ISO time, not in the future (a future plan would never count as stale)."""
    if not isinstance(value, str):
        raise PlanError(f"{where}: created_at {shown(value)} is not a time")
    try:
        check_text(value, f"{where}: created_at")
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise PlanError(f"{where}: created_at {shown(value)} is not a time") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise PlanError(f"{where}: created_at {shown(value)} has no time zone")
    if when - dt.datetime.now(dt.UTC) > CLOCK_SKEW:
        raise PlanError(
            f"{where}: created_at {shown(value)} is in the future; the file was edited or "
            "a clock is wrong. Rebuild the plan"
        )
    return value


def check_skipped(skipped: Any, where: str) -> list[dict[str, Any]]:
    """Entries left alone: ``{"id": <id>, "reason": <text>}`` each."""
    if not isinstance(skipped, list):
        raise PlanError(f"{where}: skipped must be a list")
    for n, item in enumerate(skipped, start=1):
        if (
            not isinstance(item, dict)
            or set(item) != {"id", "reason"}
            or not is_id(item["id"])
            or not isinstance(item["reason"], str)
        ):
            raise PlanError(f"{where}: skipped #{n} must be {{'id': <id>, 'reason': <text>}}")
        check_text(item["reason"], f"{where}: skipped #{n} reason")
    return skipped
