"""The time-entry table, declared once.

Every column fbtime puts in a frame is listed in :data:`COLUMNS` with its pandas dtype,
the API field it comes from, and whether fbtime may write it back (read from
:data:`fbtime.api.fields.WRITABLE`, where the writable set is declared). Loading, re-typing
a frame read from CSV/Parquet (:func:`as_time_entries`) and checking a frame
(:func:`check_frame`, used by the accessor and the widgets) all read this one table.

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
from typing import Any

import pandas as pd
from pandas.api.types import pandas_dtype

from fbtime.api.fields import OPTIONAL_WRITABLE, WRITABLE
from fbtime.errors import SchemaError

DATETIME = "datetime64[us, UTC]"
TEXT = "str"


@dataclass(frozen=True)
class Column:
    """One column of the time-entry frame.

    Attributes:
        name: column name in the frame (the API's snake_case field name).
        dtype: pandas dtype string.
        required: always present in API answers; optional ones appear only sometimes.
        doc: what the column means.
    """

    name: str
    dtype: str
    required: bool = True
    doc: str = ""

    @property
    def writable(self) -> bool:
        """Sent back to the API on update (part of the full writable set)."""
        return self.name in WRITABLE or self.name in OPTIONAL_WRITABLE


COLUMNS: tuple[Column, ...] = (
    Column("id", "Int64", doc="entry id (the frame's index)"),
    Column("identity_id", "Int64", doc="teammate who logged the time"),
    Column("is_logged", "boolean", doc="False while the entry is a running timer"),
    Column("started_at", DATETIME, doc="start of the work, UTC"),
    Column("created_at", DATETIME, doc="when the entry was created, UTC"),
    Column("duration", "Int64", doc="seconds; NA for a running timer"),
    Column("hours", "Float64", doc="derived: duration / 3600"),
    Column("client_id", "Int64", doc="client billed for the time"),
    Column("project_id", "Int64", doc="project worked on"),
    Column("service_id", "Int64", doc="project service worked on"),
    Column("task_id", "Int64", doc="legacy task link"),
    Column("retainer_id", "Int64", doc="retainer the time counts against"),
    Column("pending_client", TEXT, doc="placeholder for a client not yet created"),
    Column("pending_project", TEXT, doc="placeholder for a project not yet created"),
    Column("pending_task", TEXT, doc="placeholder for a task not yet created"),
    Column("note", TEXT, doc="description of the work"),
    Column("active", "boolean", doc="False once the entry is deleted"),
    Column("billable", "boolean", doc="can be added to an invoice"),
    Column("billed", "boolean", doc="already invoiced or marked billed"),
    Column("internal", "boolean", doc="not assigned to a client"),
    Column("timer_id", "Int64", doc="derived: timer.id"),
    Column("timer_is_running", "boolean", doc="derived: timer.is_running"),
    Column("local_started_at", TEXT, False, doc="start in local wall-clock time"),
    Column("local_timezone", TEXT, False, doc="IANA zone of local_started_at"),
    Column("source", TEXT, False, doc="what created the entry (web UI timers)"),
)

INDEX = "id"
#: Columns of every frame, in order (the index ``id`` excluded).
FRAME_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.name != INDEX)
#: Columns an analysis needs; optional API fields may be missing from a user's frame.
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c.name for c in COLUMNS if c.required and c.name != INDEX)
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
            return pd.to_datetime(series, utc=True, format="ISO8601").astype(pandas_dtype(DATETIME))
        if dtype == "boolean" and series.dtype == object:
            lowered = series.map(lambda v: v.lower() if isinstance(v, str) else v)
            mapped = lowered.replace({"true": True, "false": False, "": pd.NA})
            return mapped.astype("boolean")
        if dtype == "Int64" and series.dtype.kind == "f":
            return series.astype("Float64").astype("Int64")
        return series.astype(pandas_dtype(dtype))
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
        >>> path = df.fbtime.to_csv("time_entries.csv", raw=True)  # exact, for machines
        >>> back = fbtime.as_time_entries(pd.read_csv(path))  # CSV forgets dtypes; re-type
        >>> back.dtypes.equals(df.dtypes)
        True
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


_FIX = "re-type it with fbtime.as_time_entries(df)"


def check_frame(frame: Any) -> None:
    """Raise AttributeError saying why ``frame`` is not a time-entry frame (or return)."""
    if not isinstance(frame, pd.DataFrame):
        raise AttributeError(f"df.fbtime needs a pandas DataFrame, got {type(frame).__name__}")
    known = [c for c in FRAME_COLUMNS if c in frame.columns]
    if not known:
        raise AttributeError(
            "this DataFrame is not an fbtime time-entry frame (it has none of the "
            "time-entry columns such as started_at, duration, client_id); load one with "
            "fbtime.load_time_entries() or convert one with fbtime.as_time_entries(df)"
        )
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise AttributeError(
            f"time-entry frame is missing required column(s): {', '.join(missing)}; "
            f"load it with fbtime.load_time_entries() or {_FIX}"
        )
    problems = dtype_problems(frame, known)
    if str(frame.index.dtype) != DTYPES[INDEX]:
        where = "column" if INDEX in frame.columns else "index"
        problems.insert(0, f"{INDEX} {where} is {frame.index.dtype}, expected an Int64 index")
    if problems:
        raise AttributeError(f"time-entry frame has wrong dtypes: {'; '.join(problems)}; {_FIX}")
