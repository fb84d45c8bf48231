"""Build plans from a time-entry frame: mark billed/unbilled, update fields, delete.

Pure functions of the frame: nothing is sent, nothing in the frame is changed. The work
is done on columns, not row by row (as sqlite-utils' ``insert_all`` works on batches):
which rows change, why the others do not, and what each change records are column
operations; only the final records are made per row.

Which rows a plan may change is decided once, by the masks of :mod:`fbtime.analysis`:

* ``mark_billed`` / ``mark_unbilled`` change the rows every total counts
  (:func:`~fbtime.analysis.counted_mask`: logged, active, with a duration), so
  ``df.fbtime.mark_billed()`` bills exactly ``df.fbtime.unbilled()``. A logged entry
  with no duration is in no total (its hours are unknown): it is not marked.
* ``mark_billed`` leaves out entries dated in the future (their local day, in the
  business's zone, is after the clock's today: :func:`fbtime.clock.now`) unless
  ``include_future=True``: billing time not worked yet is usually a wrong date, which
  the audit's ``future`` rule flags.
* ``update`` and ``delete`` change any active, logged entry that is not an open timer.

A frame rounded by :func:`fbtime.rounding.round_time` is planned from its logged time: the
plan's ``before`` holds the server's duration (so apply sees no conflict) and no plan
writes a rounded duration back unless ``update(duration=...)`` asks for it.

The rest are ``skipped`` with a reason. Each change carries what a reviewer reads
(:func:`review_context`): names (``client 78930`` where the frame has no names,
``<no client>`` for none), the exact amount and its currency, and why an entry has none.

The values a plan records are checked on their columns as it is built (the plan is then
checked: :meth:`~fbtime.bulk.change.PlanData.checked` does nothing more); a value no plan
can hold raises :class:`~fbtime.PlanError` naming the entry, before anything is sent.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from fbtime.analysis import (
    active_mask,
    counted_mask,
    flag,
    future_mask,
    local_day,
    resolve_tz,
    running_mask,
)
from fbtime.api.fields import BOOL_FIELDS, ID_FIELDS, TEXT_FIELDS, WRITABLE, check_fields
from fbtime.api.query import UTC_FORMAT
from fbtime.bulk.change import Action, Change, Fields
from fbtime.bulk.checks import COMPARED, MAX_HOURS, MAX_ID, check_value, is_id
from fbtime.bulk.plan import UpdatePlan
from fbtime.config import check_base_url
from fbtime.display import id_label
from fbtime.errors import ConfigError, PlanError, QueryError
from fbtime.rounding import LOGGED_COLUMN, rounding_of
from fbtime.schema import INDEX

DELETED = "deleted entry"
TIMER = "running timer: stop it before changing it"
NO_DURATION = "no duration: its hours are unknown"
NOT_BILLABLE = "not billable: only billable time is invoiced"
FUTURE = "dated in the future (after today): a wrong date? include_future=True bills it"
DONE = "already in the target state"
#: The reviewer's context: key -> (name column, id column it falls back to).
NAMES = {"teammate": ("teammate_name", "identity_id"), "client": ("client_name", "client_id"),
         "project": ("project_name", "project_id")}  # fmt: skip


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
    rows = rows.copy(deep=False)  # (copy-on-write: no data is copied)
    if rounding_of(frame) is not None:  # plans compare and keep the logged time, never rounded
        rows["duration"] = rows[LOGGED_COLUMN]
    rows.attrs = {}  # every column operation below would deep-copy them
    if rows.index.hasnans:
        raise PlanError("some rows have no id; only entries loaded from FreshBooks can change")
    if rows.index.has_duplicates:
        dupes = sorted(set(rows.index[rows.index.duplicated()].tolist()))[:5]
        raise PlanError(f"ids appear more than once in the frame: {dupes}")
    missing = [k for k in WRITABLE if k not in rows.columns]
    if missing:
        raise PlanError(
            f"the frame has no column(s) {missing}: a plan records every writable field of "
            "an entry, so apply can tell whether anyone changed it since"
        )
    return rows


def skip_reasons(rows: pd.DataFrame, kind: str, *, include_future: bool = False) -> np.ndarray:
    """Why each row must not change (None where it may), from the analysis masks; the
    first reason that holds is given."""
    rules = [(~active_mask(rows), DELETED), (~flag(rows, "is_logged") | running_mask(rows), TIMER)]
    if kind in ("mark_billed", "mark_unbilled"):
        markable = counted_mask(rows)
        rules.append((~markable, NO_DURATION))
        if kind == "mark_billed":
            rules.append((~flag(rows, "billable"), NOT_BILLABLE))
            if not include_future:
                rules.append((future_mask(rows), FUTURE))
    reasons = np.full(len(rows), None, dtype=object)
    for mask, reason in reversed(rules):
        reasons[mask] = reason
    return reasons


def _objects(column: pd.Series) -> list[Any]:
    """The column's values as Python objects, None where missing."""
    return column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]


def api_values(column: pd.Series) -> list[Any]:
    """A column as the API writes it: None for missing, Python scalars, UTC ``Z`` times."""
    if column.dtype.kind == "M":
        utc = column.dt.tz_convert("UTC") if column.dt.tz else column.dt.tz_localize("UTC")
        column = utc.dt.strftime(UTC_FORMAT)
    values = _objects(column)
    if column.dtype.kind in "biuM" or pd.api.types.is_string_dtype(column.dtype):
        return values
    return [_scalar(v) for v in values]


def _scalar(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def _unwritable(name: str, column: pd.Series) -> np.ndarray | None:
    """Rows whose value no plan can hold, where the dtype allows telling so on the column
    (None: check each value)."""
    kind, present = column.dtype.kind, column.notna().to_numpy()
    if kind in "iu" and (name in ID_FIELDS or name == "duration"):
        low = 1 if name in ID_FIELDS else 0
        values = column.to_numpy(dtype="float64", na_value=low)
        return present & ((values < low) | (values > MAX_ID))
    if (kind == "b" and name in BOOL_FIELDS) or (kind == "M" and name == "started_at"):
        return np.zeros(len(column), dtype=bool)
    if name in TEXT_FIELDS and pd.api.types.is_string_dtype(column.dtype):
        return ~_encodes(column)
    return None


def _encodes(column: pd.Series) -> np.ndarray:
    """Text that UTF-8 can hold (no lone surrogate), NA included; one encode if all can."""
    if getattr(column.dtype, "storage", None) == "pyarrow":  # Arrow strings are UTF-8
        return np.ones(len(column), dtype=bool)
    try:
        "\n".join(str(v) for v in _objects(column) if v is not None).encode("utf-8")
        return np.ones(len(column), dtype=bool)
    except UnicodeEncodeError:  # then find which (rare)
        return (
            column.map(lambda t: t != t or _utf8(str(t)), na_action="ignore")
            .fillna(True)
            .to_numpy(dtype=bool)
        )


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(name: str, column: pd.Series, values: list[Any], ids: list[int]) -> None:
    """Refuse, naming the first entry, a value of ``column`` no plan can hold."""
    bad = _unwritable(name, column)
    for i in np.flatnonzero(bad) if bad is not None else range(len(values)):
        where = f"entry {ids[i]}"
        try:
            check_fields({name: values[i]})
        except QueryError as exc:
            raise PlanError(f"{where}: {exc}; fix or filter out that row") from None
        check_value(name, values[i], f"{where}: {name}")
        if bad is not None:  # the column said no, the value check said yes: still no
            raise PlanError(f"{where}: {name} {values[i]!r} cannot be written back")


def _shown(values: list[Any]) -> list[str | None]:
    """Non-blank text as a reviewer sees it (None otherwise); text no file can hold (a
    lone surrogate) is shown escaped."""
    text = [None if v is None else str(v) for v in values]
    text = [t if t and not t.isspace() else None for t in text]
    try:
        "\n".join(t for t in text if t).encode("utf-8")
    except UnicodeEncodeError:
        return [t and t.encode("utf-8", "backslashreplace").decode() for t in text]
    return text


def _amounts(rows: pd.DataFrame) -> dict[str, list[str | None]]:
    """Each amount to the cent (``"1234.50"``, half up as money is shown) and its
    currency; why there is none (the rate's source: fixed price, missing); the client's
    own currency where it is another one."""
    none: list[str | None] = [None] * len(rows)
    if "amount" not in rows:
        return {"amount": none, "currency": none, "rate_source": none, "client_currency": none}
    cent = Decimal("0.01")
    amounts = [
        None if a is None else str(Decimal(str(a)).quantize(cent, rounding=ROUND_HALF_UP))
        for a in _objects(rows["amount"])
    ]
    codes = _shown(_objects(rows["currency"])) if "currency" in rows else none
    sources = _shown(_objects(rows["rate_source"].astype("str"))) if "rate_source" in rows else none
    theirs = _shown(_objects(rows["client_currency"])) if "client_currency" in rows else none
    return {
        "amount": amounts,
        "currency": codes,
        "rate_source": [s if a is None else None for a, s in zip(amounts, sources, strict=True)],
        "client_currency": [
            t if t and c and t != c else None for t, c in zip(theirs, codes, strict=True)
        ],
    }


def review_context(rows: pd.DataFrame) -> dict[str, list[str | None]]:
    """What the reviewer needs to recognise each entry (display only, never compared):
    its local date, names (else labelled ids: ``client 78930``; ``<no client>`` for none),
    its amount and note."""
    none: list[Any] = [None] * len(rows)
    out: dict[str, list[str | None]] = {"date": none}
    if "started_at" in rows and isinstance(rows["started_at"].dtype, pd.DatetimeTZDtype):
        try:
            zone = resolve_tz(rows)
        except QueryError:  # a zone name from the account that is no zone: dates in UTC
            zone = "UTC"
        out["date"] = _objects(local_day(rows, zone).dt.strftime("%Y-%m-%d"))
    for key, (name, fallback) in NAMES.items():
        names = _shown(_objects(rows[name])) if name in rows else none
        ids = _objects(rows[fallback]) if fallback in rows else none
        out[key] = [n or id_label(key, i) for n, i in zip(names, ids, strict=True)]
    out |= _amounts(rows)
    out["note"] = _shown(_objects(rows["note"]))
    return out


def build_plan(
    frame: pd.DataFrame,
    kind: str,
    target: dict[str, Any],
    *,
    action: Action = "update",
    business_id: int | None = None,
    include_future: bool = False,
) -> UpdatePlan:
    """One change per row that needs ``target``; rows that must not change are skipped."""
    rows = _rows(frame)
    business = _business_id(frame, business_id)
    if business is not None and not is_id(business):
        raise PlanError(f"business_id must be a positive integer, got {business}")
    absent = [k for k in target if k not in rows.columns]
    if absent:
        raise PlanError(f"the frame has no column(s) {absent} to compare against")
    ids = rows.index.to_numpy(dtype="int64").tolist()
    reasons = skip_reasons(rows, kind, include_future=include_future)
    if action == "update":  # rows that already hold every value to write
        same = np.ones(len(rows), dtype=bool)
        for name, value in target.items():
            same &= np.array([v == value for v in api_values(rows[name])], dtype=bool)
        reasons[(reasons == None) & same] = DONE  # noqa: E711
    keep = reasons == None  # noqa: E711
    chosen = rows.iloc[np.flatnonzero(keep)]
    kept_ids = chosen.index.to_numpy(dtype="int64").tolist()
    names = [k for k in COMPARED if k in rows.columns]
    values = [api_values(chosen[name]) for name in names]
    for name, column in zip(names, values, strict=True):
        _check(name, chosen[name], column, kept_ids)
    hours = (
        chosen["hours"].astype("Float64").round(4)
        if "hours" in chosen
        else pd.Series(pd.NA, chosen.index, dtype="Float64")
    )
    wrong = ((hours < 0) | (hours > MAX_HOURS)).fillna(False).to_numpy(dtype=bool)
    if wrong.any():
        first = kept_ids[int(np.flatnonzero(wrong)[0])]
        raise PlanError(f"entry {first}: hours must be from 0 to {MAX_HOURS}; fix or filter it out")
    context = review_context(chosen)
    after = Fields(target)
    changes = [
        Change.made(
            entry,
            action,
            Fields(zip(names, fields, strict=True)),
            after,
            h,
            c,
            Fields(zip(context, shown, strict=True)),
        )
        for entry, fields, h, c, shown in zip(
            kept_ids,
            zip(*values, strict=True),
            _objects(hours),
            values[names.index("client_id")],
            zip(*context.values(), strict=True),
            strict=True,
        )
    ]
    skipped = [{"id": ids[i], "reason": reasons[i]} for i in np.flatnonzero(~keep)]
    info = frame.attrs.get("fbtime") or {}
    api_url = info.get("base_url") if isinstance(info.get("base_url"), str) else None
    if api_url is not None:
        try:
            api_url = check_base_url(api_url, what="the frame's base_url")
        except ConfigError as exc:
            raise PlanError(str(exc)) from None
    connection = info.get("connection") if isinstance(info.get("connection"), str) else None
    plan = UpdatePlan(kind, business, changes, skipped, api_url=api_url, connection=connection)
    return plan._mark_checked()


def plan_mark_billed(
    frame: pd.DataFrame, *, business_id: int | None = None, include_future: bool = False
) -> UpdatePlan:
    """Plan ``billed=True`` for each billable entry the totals count that is not billed;
    entries dated after today are skipped unless ``include_future``."""
    return build_plan(
        frame, "mark_billed", {"billed": True}, business_id=business_id,
        include_future=include_future,
    )  # fmt: skip


def plan_mark_unbilled(frame: pd.DataFrame, *, business_id: int | None = None) -> UpdatePlan:
    """Plan ``billed=False`` for each billed entry the totals count."""
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
    for name, value in target.items():
        check_value(name, value, f"update({name}=...)")
    return build_plan(frame, "update", target, business_id=business_id)


def plan_delete(frame: pd.DataFrame, *, business_id: int | None = None) -> UpdatePlan:
    """Plan deleting every active, logged entry of the frame (undo re-creates them)."""
    return build_plan(frame, "delete", {}, action="delete", business_id=business_id)
