"""API rows -> one typed time-entry DataFrame indexed by ``id``. No Client here.

Pages are turned into Arrow arrays by the worker that fetched them (:func:`page_chunk`),
so the parsed JSON of a page is dropped at once: a load never holds every row as a dict,
and peak memory stays near the size of the final frame. The Arrow columns are then typed
with the schema declared in :mod:`fbtime.schema`. Fields the schema does not know are
kept as extra columns (object dtype), so a new API field is never silently dropped; a
page with such fields, or values Arrow cannot type, goes through the plain-Python path.

Loading (paging, the ``updated_since`` re-check, incremental changes) lives in
:mod:`fbtime.load`; this module only builds frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fbtime import schema
from fbtime.api.paging import Changes
from fbtime.api.query import UTC_FORMAT
from fbtime.errors import SchemaError

_NESTED = ("timer",)
_DERIVED = ("hours", "timer_id", "timer_is_running")
_ARROW_TYPES = {"Int64": pa.int64(), "boolean": pa.bool_(), schema.TEXT: pa.string(),
                schema.DATETIME: pa.string()}  # fmt: skip
_TIMER = pa.struct([("id", pa.int64()), ("is_running", pa.bool_())])
#: The API fields as one Arrow struct: rows are typed by Arrow's C++ dict conversion.
ROW_TYPE = pa.struct(
    [(c.name, _ARROW_TYPES[c.dtype]) for c in schema.COLUMNS if c.name not in _DERIVED]
    + [("timer", _TIMER)]
)
_KNOWN = frozenset(ROW_TYPE.names)
_PANDAS_TYPES = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
                 pa.string(): pd.StringDtype("pyarrow", na_value=np.nan)}  # fmt: skip


def _column(rows: Sequence[dict[str, Any]], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


#: What each dtype accepts: the JSON type the API sends (bool is no int, as in JSON), and
#: the numpy/pandas scalars of rows taken from a frame.
_ACCEPTS: dict[str, tuple[type, ...]] = {
    "Int64": (int, np.integer), "boolean": (bool, np.bool_), schema.TEXT: (str,),
    schema.DATETIME: (str, dt.datetime, np.datetime64),
}  # fmt: skip


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def _typed(values: list[Any], dtype: str, name: str = "value") -> pd.Series:
    """A typed column, or a SchemaError naming the field and the first wrong value."""
    kinds = _ACCEPTS[dtype]
    for value in values:
        if _missing(value):
            continue
        wrong = not isinstance(value, kinds) or (
            dtype == "Int64" and isinstance(value, bool | np.bool_)
        )
        if wrong:
            raise SchemaError(
                f"field {name!r} is {value!r} ({type(value).__name__}); the API sends "
                f"{kinds[0].__name__} or null there"
            )
        if dtype == "Int64" and not -(2**63) <= int(value) < 2**63:
            raise SchemaError(f"field {name!r} is {value}, beyond 64 bits")
    try:
        return _convert(values, dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise SchemaError(f"field {name!r} cannot be read as {dtype}: {exc}") from None


def _convert(values: list[Any], dtype: str) -> pd.Series:
    if dtype == schema.DATETIME:
        return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601"), dtype=schema.DATETIME)
    if dtype == schema.TEXT:
        return pd.Series(values, dtype=schema.TEXT)
    return pd.Series(values, dtype=dtype)


def _python_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The plain-Python path: for pages with unknown fields or values Arrow refuses."""
    columns: dict[str, pd.Series] = {}
    timers = _column(rows, "timer")
    odd = next((t for t in timers if t is not None and not isinstance(t, dict)), None)
    if odd is not None:
        raise SchemaError(f"field 'timer' is {odd!r}; the API sends an object or null there")
    derived = {
        "timer_id": [t.get("id") if isinstance(t, dict) else None for t in timers],
        "timer_is_running": [t.get("is_running") if isinstance(t, dict) else None for t in timers],
    }
    for name in (schema.INDEX, *schema.FRAME_COLUMNS):
        if name == "hours":
            continue
        values = derived[name] if name in derived else _column(rows, name)
        columns[name] = _typed(values, schema.DTYPES[name], name)
    known = {*schema.DTYPES, *_NESTED}
    extras = sorted({key for row in rows for key in row} - known)
    for name in extras:
        columns[name] = pd.Series(_column(rows, name), dtype=object)
    return _finish(pd.DataFrame(columns), extras)


def _finish(frame: pd.DataFrame, extras: list[str]) -> pd.DataFrame:
    frame["hours"] = (frame["duration"].astype("Float64") / 3600).astype("Float64")
    frame = frame.set_index(schema.INDEX)
    return frame[[*schema.FRAME_COLUMNS, *extras]]


def page_chunk(rows: list[dict[str, Any]]) -> pa.StructArray | pd.DataFrame | None:
    """Convert one page's rows to an Arrow struct array (a frame if Arrow cannot)."""
    if not rows:
        return None
    if not set().union(*rows) - _KNOWN:
        try:
            return pa.array(rows, type=ROW_TYPE)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    return _python_frame(rows)


def _times(column: pa.ChunkedArray) -> pd.Series:
    try:
        parsed = pc.strptime(column, format=UTC_FORMAT, unit="s")
        return pd.Series(
            parsed.cast(pa.timestamp("us", tz="UTC")).to_pandas(), dtype=schema.DATETIME
        )
    except pa.ArrowException:  # fractions of a second or an offset: let pandas read ISO 8601
        values = column.to_pandas(types_mapper=_PANDAS_TYPES.get).astype(object)
        try:
            parsed = pd.to_datetime(values, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise SchemaError(f"a time field is not an ISO 8601 time: {exc}") from None
        return pd.Series(parsed, dtype=schema.DATETIME)


def _arrow_frame(arrays: list[pa.StructArray]) -> pd.DataFrame:
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(a) for a in arrays])
    del arrays
    timer = table.column("timer")
    columns: dict[str, Any] = {}
    for name in (schema.INDEX, *schema.FRAME_COLUMNS):
        if name == "hours":
            continue
        if name in ("timer_id", "timer_is_running"):
            column = pc.struct_field(timer, [0 if name == "timer_id" else 1])
        else:
            column = table.column(name)
        if schema.DTYPES[name] == schema.DATETIME:
            columns[name] = _times(column)
        else:
            columns[name] = column.to_pandas(types_mapper=_PANDAS_TYPES.get)
    del table, timer
    # copy=False: the columns are new and ours; pandas 3 would otherwise copy each (+40% peak)
    return _finish(pd.DataFrame(columns, copy=False), [])


def compact_chunks(chunks: Sequence[Any]) -> list[Any]:
    """Join each run of consecutive Arrow page chunks into one array, keeping the order.

    Used while a load is paging (:func:`fbtime.api.paging.read_pages`): a few large arrays take
    far less memory than thousands of one-page ones.
    """
    out: list[Any] = []
    run: list[pa.StructArray] = []
    for chunk in [*chunks, None]:
        if isinstance(chunk, pa.Array):
            run.append(chunk)
            continue
        if run:
            out.append(pa.concat_arrays(run) if len(run) > 1 else run[0])
            run = []
        if chunk is not None:
            out.append(chunk)
    return out


def chunks_to_frame(chunks: Sequence[Any]) -> pd.DataFrame:
    """Join page chunks from :func:`page_chunk`, in order, into the typed frame."""
    pieces: list[pd.DataFrame] = []
    run: list[pa.StructArray] = []
    for chunk in chunks:
        if isinstance(chunk, pa.Array):
            run.append(chunk)
        elif isinstance(chunk, pd.DataFrame):
            if run:
                pieces.append(_arrow_frame(run))
                run = []
            pieces.append(chunk)
    if run:
        pieces.append(_arrow_frame(run))
    if not pieces:
        return schema.empty_frame()
    if len(pieces) == 1:
        return pieces[0]
    frame = pd.concat(pieces)
    extras = sorted(set(frame.columns) - set(schema.FRAME_COLUMNS))
    for name in extras:  # missing on some pages: None, as a row without the field gives
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame[[*schema.FRAME_COLUMNS, *extras]]


def records_to_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Build the typed time-entry frame from rows in the API's JSON shape.

    The nested ``timer`` becomes ``timer_id`` and ``timer_is_running``; ``hours`` is
    derived from ``duration``. Unknown fields become extra columns (object dtype).
    """
    return chunks_to_frame([page_chunk(list(rows))])


def apply_changes(frame: pd.DataFrame, changes: Changes) -> pd.DataFrame:
    """Drop deleted ids and upsert changed rows; return the frame in fbtime's order.

    The order of every loaded frame: ``started_at`` newest first, then ``id`` descending
    (live lists come newest-created first; fbtime sorts them, :func:`sort_entries`).
    """
    if changes.upsert and not changes.drop:
        edited = _edited_in_place(frame, records_to_frame(changes.upsert))
        if edited is not None:
            return edited
    out = frame.drop(index=[i for i in changes.drop if i in frame.index])
    if changes.upsert:
        new = records_to_frame(changes.upsert)
        out = pd.concat([out[~out.index.isin(new.index)], new])
        extras = [c for c in out.columns if c not in schema.DTYPES]
        out = out[[*schema.FRAME_COLUMNS, *extras]]
    return sort_entries(out)


def _edited_in_place(frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame | None:
    """The frame with rows of ``new`` written over the rows of the same ids, when that keeps
    the API's order (every id already there, no start time moved, the same columns); None
    otherwise. Overwriting columns at 1% of the positions costs a copy, where a drop, a
    concat and a sort of the whole frame cost a gather of every column three times (a
    revalidated 200,000-entry reload: bench/run.py, row (r1))."""
    if list(new.columns) != list(frame.columns) or new.index.has_duplicates:
        return None
    if any(new[c].dtype != frame[c].dtype for c in frame.columns):
        return None
    at = frame.index.get_indexer(new.index)
    if len(at) == 0 or (at < 0).any():
        return None
    moved = frame["started_at"].array[at] != new["started_at"].array
    if np.asarray(moved, dtype=bool).any():
        return None
    columns = {}
    for name in frame.columns:
        values = frame[name].array.copy()
        values[at] = new[name].array
        columns[name] = values
    out = pd.DataFrame(columns, index=frame.index, copy=False)
    out.attrs = dict(frame.attrs)
    return out


def sort_entries(frame: pd.DataFrame) -> pd.DataFrame:
    """fbtime's order of entries: ``started_at`` descending, then ``id`` descending."""
    keys = pd.DataFrame({"s": frame["started_at"].array, "i": frame.index.array})
    order = keys.sort_values(["s", "i"], ascending=False, kind="stable").index
    return frame.iloc[np.asarray(order)]
