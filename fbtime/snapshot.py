"""A snapshot: a time-entry frame in a file, and its JSON state beside it.

One store serves :func:`fbtime.sync` (the Parquet file you name, its state in
``<path>.sync.json``) and cached loads (an Arrow file per query beside the HTTP cache,
:meth:`fbtime.api.client.Client.snapshot_path`, its state likewise). The state says whose
list it is (business and filters), how current (the watermark an ``updated_since`` query
starts from, when it was last checked) and which write of the frame file it describes:
the file repeats the state's ``id`` in its schema metadata and has exactly the state's
size, so a state never pairs with another write's file.

Both files are written privately and atomically, the frame first (:mod:`fbtime.files`),
so a crash leaves the old pair, or a new frame whose old state no longer names it. Both
are read back as untrusted, here and only here: a state is read with a size limit and
checked field by field, a frame must be exactly the write its state names and exactly a
time-entry frame (columns, dtypes, unique ids). Anything else is a :class:`SyncError`
naming what is wrong; sync passes it on, a cached load falls back to the network.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fbtime import schema
from fbtime.config import is_count, is_id
from fbtime.errors import SyncError
from fbtime.files import read_limited, write_private, write_private_with

STATE_VERSION = 2
#: States of older fbtime versions: read as no state (their snapshot is loaded afresh).
OLDER_VERSIONS = (1,)
#: A state is a few hundred bytes (a few KB with a large team's meta); anything far
#: larger was not written by fbtime.
MAX_STATE_BYTES = 64 * 1024
#: The schema metadata key that ties a frame file to its state.
SNAPSHOT_ID = b"fbtime-snapshot"
#: A watermark or check time further ahead of this machine's clock is not believed.
FUTURE_SLACK = dt.timedelta(minutes=5)
#: Frame files with these suffixes are Arrow IPC (fast to read back); others Parquet.
ARROW_SUFFIXES = (".arrow", ".feather")


@dataclasses.dataclass(frozen=True)
class State:
    """What a snapshot's frame is, and how current.

    Attributes:
        business_id: the business the entries belong to.
        filters: the query parameters that selected them.
        watermark: the next ``updated_since`` query starts here (the server's time of the
            last fetch, less a safety lag, never ahead of this machine's clock).
        checked_at: when the frame was last known to equal the server's list.
        rows: entries in the frame.
        meta: the server's ``meta`` of the list at that check.
        generation: the HTTP cache's write stamp at that check ("" for sync).
        id: names the write of the frame file (repeated inside it).
        bytes: the frame file's size.
        unreadable: entries the server counted that the token could not read (not in
            the frame; :class:`fbtime.api.paging.IncompleteListWarning`).
    """

    business_id: int
    filters: dict[str, str]
    watermark: dt.datetime
    checked_at: dt.datetime
    rows: int
    meta: dict[str, Any]
    generation: str = ""
    id: str = ""
    bytes: int = 0
    unreadable: int = 0

    def replace(self, **changes: Any) -> State:
        return dataclasses.replace(self, **changes)


def state_path(path: str | Path) -> Path:
    """Where the state of the frame file ``path`` lives (``<path>.sync.json``)."""
    path = Path(path)
    return path.with_name(path.name + ".sync.json")


# -- reading, as untrusted ----------------------------------------------------------------
def _time(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name}: a time must be text, got {type(value).__name__}")
    stamp = dt.datetime.fromisoformat(value)
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    if stamp > dt.datetime.now(dt.UTC) + FUTURE_SLACK:
        raise ValueError(f"the {name} {stamp.isoformat()} is in the future")
    return stamp


def _check(data: Any) -> State:
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        raise ValueError(f"unknown state version {version!r}")
    filters = data.get("filters")
    if not isinstance(filters, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in filters.items()
    ):
        raise ValueError("filters must map names to query values")
    if not is_id(data.get("business_id")):
        raise ValueError(f"business_id {data.get('business_id')!r} is not a business id")
    if not all(is_count(data.get(name)) for name in ("rows", "bytes", "unreadable")):
        raise ValueError("rows, bytes and unreadable must be counts")
    if not isinstance(data.get("meta"), dict):
        raise ValueError("meta must be an object")
    if not isinstance(data.get("generation"), str) or not isinstance(data.get("id"), str):
        raise ValueError("generation and id must be text")
    return State(
        business_id=data["business_id"],
        filters=filters,
        watermark=_time(data.get("watermark"), "watermark"),
        checked_at=_time(data.get("checked_at"), "check time"),
        rows=data["rows"],
        meta=data["meta"],
        generation=data["generation"],
        id=data["id"],
        bytes=data["bytes"],
        unreadable=data["unreadable"],
    )


def read_state(path: str | Path) -> State | None:
    """The state of the snapshot at ``path``, checked; None when there is none.

    Raises:
        SyncError: the state file is unreadable, too large, or not a state fbtime wrote.
    """
    where = state_path(path)
    if not where.exists():
        return None
    try:
        data = json.loads(read_limited(where, MAX_STATE_BYTES))
        if isinstance(data, dict) and data.get("version") in OLDER_VERSIONS:
            return None
        return _check(data)
    except (ValueError, OSError) as exc:
        raise SyncError(
            f"the snapshot state {where} is unreadable ({exc}); sync with full=True to rebuild it"
        ) from None


def read_frame(path: str | Path, state: State) -> pd.DataFrame:
    """The frame ``state`` names, exactly as written.

    Raises:
        SyncError: the file is missing, unreadable, another write's, or not exactly a
            time-entry frame of ``state.rows`` unique entries.
    """
    path = Path(path)
    try:
        frame = _read_table(path, state).to_pandas()
        if frame.index.dtype.kind == "i":  # Arrow gives an index back as numpy int64
            frame.index = frame.index.astype(schema.DTYPES[schema.INDEX])
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as exc:
        raise SyncError(
            f"the snapshot {path} is unreadable ({exc}); sync with full=True to rebuild it"
        ) from None
    expected = schema.empty_frame()
    known = list(frame.columns[: len(expected.columns)])
    problem = ""
    if known != list(expected.columns) or not frame[known].dtypes.equals(expected.dtypes):
        problem = "its columns are not a time-entry frame's"
    elif frame.index.name != schema.INDEX or frame.index.dtype != expected.index.dtype:
        problem = "its index is not the entries' ids"
    elif not frame.index.is_unique:
        problem = f"its ids are not unique ({frame.index.duplicated().sum()} repeated)"
    elif len(frame) != state.rows:
        problem = f"{len(frame)} entries where its state says {state.rows}"
    if problem:
        raise SyncError(f"the snapshot {path} is damaged: {problem}; sync with full=True")
    return frame


def _read_table(path: Path, state: State) -> pa.Table:
    if state.bytes <= 0:
        raise ValueError("the state names no file")
    data = pa.py_buffer(read_limited(path, state.bytes))
    if data.size != state.bytes:
        raise ValueError(f"{data.size} bytes where its state says {state.bytes}")
    if path.suffix in ARROW_SUFFIXES:
        table = pa.ipc.open_file(data).read_all()
    else:
        table = pq.read_table(pa.BufferReader(data))
    if (table.schema.metadata or {}).get(SNAPSHOT_ID) != state.id.encode():
        raise ValueError("it is not the file its state names (another write's, or not fbtime's)")
    table.validate(full=True)
    return table


# -- writing ------------------------------------------------------------------------------
def write(path: str | Path, frame: pd.DataFrame, state: State) -> State:
    """Write ``frame``, then its state (with a new ``id`` and the file's size); return it.

    Raises:
        SyncError: the frame holds values no file can keep (an unknown field of mixed
            types); nothing is written.
        OSError: the disk refused.
    """
    path = Path(path)
    state = state.replace(id=secrets.token_hex(8), rows=len(frame))
    plain = frame.copy(deep=False)
    plain.attrs = {}
    try:  # the index kept as pandas metadata: pd.read_parquet(path) gives it back
        table = pa.Table.from_pandas(plain, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise SyncError(f"the entries cannot be kept in {path}: {exc}") from None
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), SNAPSHOT_ID: state.id.encode()}
    )

    def write_table(target: Path) -> None:
        if path.suffix in ARROW_SUFFIXES:  # streamed: no second copy of the frame in memory
            with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)
        else:
            pq.write_table(table, target)

    state = state.replace(bytes=write_private_with(path, write_table).stat().st_size)
    write_state(path, state)
    return state


def write_state(path: str | Path, state: State) -> None:
    """Replace the state of the snapshot at ``path`` (its frame file unchanged)."""
    data = {"version": STATE_VERSION, **dataclasses.asdict(state)}
    # counts and totals only: live meta breaks the totals down per teammate, client and
    # day over the whole list, which outgrows MAX_STATE_BYTES on a real account (a
    # revalidation's count check brings the breakdowns back)
    data["meta"] = {k: v for k, v in state.meta.items() if not isinstance(v, list | dict)}
    data["watermark"] = state.watermark.isoformat()
    data["checked_at"] = state.checked_at.isoformat()
    write_private(state_path(path), json.dumps(data, indent=2, sort_keys=True) + "\n")


def forget(path: str | Path) -> None:
    """Remove a snapshot (a frame that cannot be kept must not leave an older one behind)."""
    state_path(path).unlink(missing_ok=True)
    Path(path).unlink(missing_ok=True)
