"""Build plans from a time-entry frame: mark billed/unbilled, update fields, delete.

Pure functions of the frame: nothing is sent, nothing in the frame is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

import pandas as pd

from fbtime.analysis import local_day, resolve_tz
from fbtime.api.fields import WRITABLE, check_fields
from fbtime.bulk.plan import Action, Change, UpdatePlan, snapshot
from fbtime.errors import PlanError, QueryError
from fbtime.schema import INDEX

Rule = Callable[[pd.Series], str | None]


def _business_id(frame: pd.DataFrame, business_id: int | None) -> int | None:
    recorded = (frame.attrs.get("fbtime") or {}).get("business_id")
    if business_id is not None and recorded is not None and int(recorded) != int(business_id):
        raise PlanError(
            f"the frame was loaded from business {recorded}, not business {business_id}"
        )
    chosen = business_id if business_id is not None else recorded
    return None if chosen is None else int(chosen)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise PlanError(f"a plan is built from a time-entry DataFrame, got {type(frame).__name__}")
    if frame.index.name != INDEX and INDEX not in frame.columns:
        raise PlanError("the frame has no 'id' index or column: plans change entries by id")
    rows = frame if frame.index.name == INDEX else frame.set_index(INDEX)
    if rows.index.hasnans:
        raise PlanError("some rows have no id; only entries loaded from FreshBooks can change")
    if rows.index.has_duplicates:
        dupes = sorted(set(rows.index[rows.index.duplicated()].tolist()))[:5]
        raise PlanError(f"ids appear more than once in the frame: {dupes}")
    return rows


def _is(row: pd.Series, name: str) -> bool:
    value = row.get(name)
    return bool(value) if value is not None and value is not pd.NA else False


def _common_skip(row: pd.Series) -> str | None:
    if "active" in row and row.get("active") is not pd.NA and row.get("active") is False:
        return "deleted entry"
    if _is(row, "timer_is_running") or row.get("is_logged") is False:
        return "running timer: stop it before changing it"
    return None


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text if text.strip() else None


def _name_or_id(row: pd.Series, name: str, id_column: str) -> str | None:
    return _text(row.get(name)) or _text(row.get(id_column))


def _amount(row: pd.Series) -> str | None:
    value = row.get("amount")
    if _text(value) is None:
        return None
    try:
        cents = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        return _text(value)
    currency = _text(row.get("currency"))
    return f"{cents:,}" + (f" {currency}" if currency else "")


def _local_dates(rows: pd.DataFrame) -> pd.Series | None:
    """Each entry's local date in the business's zone (the data's most common zone)."""
    if "started_at" not in rows or not isinstance(rows["started_at"].dtype, pd.DatetimeTZDtype):
        return None
    try:
        zone = resolve_tz(rows)
    except QueryError:  # a zone name from the account that is no zone: dates in UTC
        zone = "UTC"
    return local_day(rows, zone).dt.strftime("%Y-%m-%d")


def review_context(row: pd.Series, date: Any) -> dict[str, str | None]:
    """What the reviewer needs to recognise an entry (display only, never compared)."""
    return {
        "date": _text(date),
        "teammate": _name_or_id(row, "teammate_name", "identity_id"),
        "client": _name_or_id(row, "client_name", "client_id"),
        "project": _name_or_id(row, "project_name", "project_id"),
        "amount": _amount(row),
        "note": _text(row.get("note")),
    }


def build_plan(
    frame: pd.DataFrame,
    kind: str,
    target: dict[str, Any],
    *,
    action: Action = "update",
    rules: tuple[Rule, ...] = (),
    business_id: int | None = None,
) -> UpdatePlan:
    """One change per row that needs ``target``; rows that must not change are skipped."""
    rows = _rows(frame)
    business = _business_id(frame, business_id)
    missing = [k for k in WRITABLE if k not in rows.columns]
    if missing:
        raise PlanError(
            f"the frame has no column(s) {missing}: a plan records every writable field of "
            "an entry, so apply can tell whether anyone changed it since"
        )
    dates = _local_dates(rows)
    changes: list[Change] = []
    skipped: list[dict[str, Any]] = []
    for label, row in rows.iterrows():
        entry_id = int(cast(int, label))  # the frame's Int64 index
        reason = _common_skip(row)
        for rule in rules:
            reason = reason or rule(row)
        before = snapshot({str(k): v for k, v in row.items()})
        if reason is None and action == "update":
            absent = [k for k in target if k not in before]
            if absent:
                raise PlanError(f"the frame has no column(s) {absent} to compare against")
            if all(before.get(k) == v for k, v in target.items()):
                reason = "already in the target state"
        if reason is not None:
            skipped.append({"id": entry_id, "reason": reason})
            continue
        hours = row.get("hours")
        client_id = row.get("client_id")
        changes.append(
            Change(
                entry_id,
                action,
                before,
                dict(target),
                None if pd.isna(hours) else round(float(hours), 4),
                None if pd.isna(client_id) else int(client_id),
                review_context(row, None if dates is None else dates.loc[entry_id]),
            )
        )
    info = frame.attrs.get("fbtime") or {}
    api_url = info.get("base_url") if isinstance(info.get("base_url"), str) else None
    connection = info.get("connection") if isinstance(info.get("connection"), str) else None
    return UpdatePlan(kind, business, changes, skipped, api_url=api_url, connection=connection)


def _not_billable(row: pd.Series) -> str | None:
    return None if _is(row, "billable") else "not billable: only billable time is invoiced"


def plan_mark_billed(frame: pd.DataFrame, *, business_id: int | None = None) -> UpdatePlan:
    """Plan ``billed=True`` for each billable, logged, active entry not yet billed."""
    return build_plan(
        frame, "mark_billed", {"billed": True}, rules=(_not_billable,), business_id=business_id
    )


def plan_mark_unbilled(frame: pd.DataFrame, *, business_id: int | None = None) -> UpdatePlan:
    """Plan ``billed=False`` for each logged, active entry that is billed."""
    return build_plan(frame, "mark_unbilled", {"billed": False}, business_id=business_id)


def plan_update(
    frame: pd.DataFrame, *, business_id: int | None = None, **fields: Any
) -> UpdatePlan:
    """Plan setting ``fields`` (e.g. ``project_id=``, ``note=``, ``billable=``) on every row."""
    if not fields:
        raise PlanError("update() needs at least one field to set, e.g. note='...'")
    try:
        target = check_fields(fields)
    except QueryError as exc:
        raise PlanError(str(exc)) from None
    if "timer" in target:
        raise PlanError("timers cannot be changed in bulk")
    return build_plan(frame, "update", target, business_id=business_id)


def plan_delete(frame: pd.DataFrame, *, business_id: int | None = None) -> UpdatePlan:
    """Plan deleting every active, logged entry of the frame (undo re-creates them)."""
    return build_plan(frame, "delete", {}, action="delete", business_id=business_id)
