"""The time-entry table, declared once.

Every column fbtime puts in a frame is listed in :data:`COLUMNS` with its pandas dtype,
the API field it comes from, and whether fbtime may write it back. Loading, re-typing a
frame read from CSV/Parquet (:func:`as_time_entries`), validation in the accessor and
building PUT payloads all read this one table.

Dtype choices (pandas 3): ids and durations are nullable ``Int64``; flags are nullable
``boolean``; times are tz-aware UTC ``datetime64[us, UTC]``; text uses pandas' default
``str`` dtype (missing text is NaN, so ``df.note == ""`` stays a plain boolean mask).

Derived columns, not sent to the API:

* ``hours`` (``Float64``): ``duration / 3600``; NA while a timer is running.
* ``timer_id`` / ``timer_is_running``: the API's nested ``timer`` object, flattened.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from fbtime.errors import SchemaError

DATETIME = "datetime64[us, UTC]"
TEXT = "str"


@dataclass(frozen=True)
class Column:
    """One column of the time-entry frame.

    Attributes:
        name: column name in the frame (the API's snake_case field name).
        dtype: pandas dtype string.
        writable: sent back to the API on update (part of the full writable set).
        required: always present in API answers; optional ones appear only sometimes.
        doc: what the column means.
    """

    name: str
    dtype: str
    writable: bool = False
    required: bool = True
    doc: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("id", "Int64", doc="entry id (the frame's index)"),
    Column("identity_id", "Int64", True, doc="teammate who logged the time"),
    Column("is_logged", "boolean", True, doc="False while the entry is a running timer"),
    Column("started_at", DATETIME, True, doc="start of the work, UTC"),
    Column("created_at", DATETIME, doc="when the entry was created, UTC"),
    Column("duration", "Int64", True, doc="seconds; NA for a running timer"),
    Column("hours", "Float64", doc="derived: duration / 3600"),
    Column("client_id", "Int64", True, doc="client billed for the time"),
    Column("project_id", "Int64", True, doc="project worked on"),
    Column("service_id", "Int64", True, doc="project service worked on"),
    Column("task_id", "Int64", True, doc="legacy task link"),
    Column("retainer_id", "Int64", True, doc="retainer the time counts against"),
    Column("pending_client", TEXT, True, doc="placeholder for a client not yet created"),
    Column("pending_project", TEXT, True, doc="placeholder for a project not yet created"),
    Column("pending_task", TEXT, True, doc="placeholder for a task not yet created"),
    Column("note", TEXT, True, doc="description of the work"),
    Column("active", "boolean", doc="False once the entry is deleted"),
    Column("billable", "boolean", True, doc="can be added to an invoice"),
    Column("billed", "boolean", True, doc="already invoiced or marked billed"),
    Column("internal", "boolean", True, doc="not assigned to a client"),
    Column("timer_id", "Int64", doc="derived: timer.id"),
    Column("timer_is_running", "boolean", doc="derived: timer.is_running"),
    Column("local_started_at", TEXT, True, False, doc="start in local wall-clock time"),
    Column("local_timezone", TEXT, True, False, doc="IANA zone of local_started_at"),
    Column("source", TEXT, False, False, doc="what created the entry (web UI timers)"),
)

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
INDEX = "id"
#: Columns of every frame, in order (the index ``id`` excluded).
FRAME_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.name != INDEX)
#: Columns an analysis needs; optional API fields may be missing from a user's frame.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required and c.name != INDEX)
#: Fields sent on update: GET -> merge -> PUT of this whole set.
WRITABLE_FIELDS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.writable)
DTYPES: dict[str, str] = {c.name: c.dtype for c in COLUMNS}


def empty_frame() -> pd.DataFrame:
    """Return a frame with no rows and every declared column and dtype."""
    frame = pd.DataFrame({name: pd.Series([], dtype=DTYPES[name]) for name in FRAME_COLUMNS})
    frame.index = pd.Index([], dtype="Int64", name=INDEX)
    return frame


def _cast(series: pd.Series, dtype: str, name: str) -> pd.Series:
    if str(series.dtype) == dtype:
        return series
    try:
        if dtype == DATETIME:
            return pd.to_datetime(series, utc=True, format="ISO8601").astype(DATETIME)
        if dtype == "boolean" and series.dtype == object:
            lowered = series.map(lambda v: v.lower() if isinstance(v, str) else v)
            mapped = lowered.replace({"true": True, "false": False, "": pd.NA})
            return mapped.astype("boolean")
        if dtype == "Int64" and series.dtype.kind == "f":
            return series.astype("Float64").astype("Int64")
        return series.astype(dtype)
    except (TypeError, ValueError) as exc:
        sample = series.dropna().head(3).tolist()
        raise SchemaError(
            f"column {name!r} cannot be read as {dtype}: {exc} (first values: {sample!r})"
        ) from exc


def as_time_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """Re-type a frame (e.g. read back from CSV or Parquet) to the fbtime schema.

    Accepts ``id`` as the index or as a column. Missing optional columns are added as
    all-missing; missing required columns raise :class:`~fbtime.SchemaError` naming them.
    Unknown columns are kept as they are. The input frame is not modified.

    Example:
        >>> df = fbtime.as_time_entries(pd.read_csv("time_entries.csv"))
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    out = frame.copy()
    if INDEX in out.columns:
        out = out.set_index(INDEX)
    elif out.index.name != INDEX:
        raise SchemaError("frame has no 'id' column or index; time entries are keyed by id")
    missing = [c for c in REQUIRED_COLUMNS if c not in out.columns and c != "hours"]
    if missing:
        raise SchemaError(f"frame is missing required time-entry columns: {', '.join(missing)}")
    for name in FRAME_COLUMNS:
        if name not in out.columns:
            out[name] = pd.Series(pd.NA, index=out.index, dtype=DTYPES[name])
    for name in FRAME_COLUMNS:
        out[name] = _cast(out[name], DTYPES[name], name)
    out["hours"] = (out["duration"].astype("Float64") / 3600).astype("Float64")
    try:
        out.index = out.index.astype("Int64")
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"the 'id' index cannot be read as Int64: {exc}") from exc
    out.index.name = INDEX
    extra = [c for c in out.columns if c not in DTYPES]
    return out[[*FRAME_COLUMNS, *extra]]


def dtype_problems(frame: pd.DataFrame, columns: Iterable[str] = REQUIRED_COLUMNS) -> list[str]:
    """List the columns of ``frame`` whose dtype differs from the schema (for messages)."""
    return [
        f"{name} is {frame[name].dtype}, expected {DTYPES[name]}"
        for name in columns
        if name in frame.columns and str(frame[name].dtype) != DTYPES[name]
    ]
