"""Incremental sync: keep a local Parquet snapshot of time entries up to date cheaply.

Entries carry no ``updated_at``, but the API filters on a hidden update time with
``updated_since``. So a sync remembers a *watermark*: the server's time (its ``Date``
header) when the previous fetch began, minus a safety lag that covers clock skew between
the API's servers and the whole-second precision of ``updated_since``. The next sync asks
for ``updated_since=<watermark>&include_deleted=true`` with the same filters, upserts the
answer by id and drops entries the server marks deleted (they are kept, as
``active=False``, when the filters themselves say ``include_deleted=True``). An overlap
only re-fetches a few entries; upserting them again changes nothing.

Beside it one more request (a single row) checks the server's count: an entry edited so
that it no longer matches the filters (say ``billed=False`` and it was just billed) is not
in the ``updated_since`` answer, and would otherwise linger; one query over every entry
changed since finds it. A count that still does not match triggers a full reload, and the
report says why. That incremental core is :func:`fbtime.incremental.catch_up`, which a cached
load's revalidation uses too.

Files: the snapshot at ``path`` and its state next to it (``<path>.sync.json``: filters,
business, watermark), both private (0600). Data is written first, then state, each to a
temporary file that replaces the old one (:mod:`fbtime.files`), so a crash leaves either
the old pair or new data with the old watermark, which the next sync simply fetches again.
Incremental queries never use or fill the HTTP cache.

Example:
    >>> report = fbtime.sync("team.parquet", client=client, team=True)  # first: every page
    >>> report.new, report.changed, report.deleted
    (490, 0, 0)
    >>> report = fbtime.sync("team.parquet", client=client, team=True)  # then: what changed
    >>> report.new, report.changed, report.deleted, report.requests
    (0, 0, 0, 2)
    >>> df = pd.read_parquet("team.parquet")
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.query import check_per_page, encode_filters
from fbtime.config import DEFAULT_PER_PAGE, DEFAULT_WATERMARK_LAG, check_seconds
from fbtime.errors import ConfigError, QueryError, SyncError, SyncFiltersError
from fbtime.files import read_limited, write_private, write_private_with
from fbtime.frame import sort_entries
from fbtime.incremental import catch_up
from fbtime.load import load_frame
from fbtime.schema import as_time_entries

#: Subtracted from the server's time to make the next watermark (see the module doc).
DEFAULT_LAG = DEFAULT_WATERMARK_LAG
STATE_VERSION = 1


@dataclass(frozen=True)
class SyncReport:
    """What one :func:`sync` did.

    Attributes:
        path: the snapshot file.
        full: True if every page was loaded (first sync, ``full=True`` or a repair).
        reason: why a full load was done ("" for an incremental sync).
        pages: pages fetched (list requests, the count check excluded).
        requests: every request sent.
        new, changed, deleted: entries added, changed in content, removed (or marked).
        rows: entries in the snapshot afterwards.
        old_watermark: the watermark the sync started from (None on a first sync).
        new_watermark: the watermark saved for the next sync.
    """

    path: Path
    full: bool
    reason: str
    pages: int
    requests: int
    new: int
    changed: int
    deleted: int
    rows: int
    old_watermark: dt.datetime | None
    new_watermark: dt.datetime


def state_path(path: str | Path) -> Path:
    """Where the sync state of a snapshot lives (``<path>.sync.json``)."""
    path = Path(path)
    return path.with_name(path.name + ".sync.json")


def sync(
    path: str | Path,
    *,
    full: bool = False,
    client: Client | None = None,
    lag: dt.timedelta | float = DEFAULT_LAG,
    per_page: int = DEFAULT_PER_PAGE,
    **filters: Any,
) -> SyncReport:
    """Bring the Parquet snapshot at ``path`` up to date with the API; return a report.

    The first sync (or ``full=True``) loads every page; later ones fetch only what
    changed since the saved watermark. ``filters`` are :func:`load_time_entries`'
    filters (``team=True``, ``client_id=...``); they are saved with the snapshot, and a
    later sync must use the same ones.

    Args:
        path: the snapshot file (``.parquet``); its state goes to ``<path>.sync.json``.
        full: reload everything and replace the snapshot (also allows new filters).
        client: a :class:`~fbtime.Client`; default from the environment.
        lag: safety lag subtracted from the server's time for the next watermark.
        per_page: rows per request, 1 to 100.
        **filters: the API's filters.

    Raises:
        QueryError: a bad filter (before any request).
        SyncFiltersError: the snapshot was made with other filters or another business.
        SyncError: the state file is unreadable.
        APIError: the API refused.
    """
    path = Path(path)
    params = encode_filters(filters)
    check_per_page(per_page)
    try:
        lag = check_seconds("lag", lag)
    except ConfigError as exc:
        raise QueryError(str(exc)) from None
    client = client or Client()
    state = _tolerant(_read_state, path) if full else _read_state(path)
    if state is not None and not full:
        _check_state(state, params, client.business_id, path)
    old = None
    if state is not None and path.exists():
        old = _tolerant(_read_snapshot, path) if full else _read_snapshot(path)
    reason = _full_reason(full, state, old)
    watermark_before = _parse_time(state["watermark"]) if state else None
    requests = pages = 0
    if not reason:
        assert old is not None and watermark_before is not None  # no reason: both were read
        caught = catch_up(client, old, filters, watermark_before, per_page=per_page)
        frame, server_time, reason = caught.frame, caught.server_time, caught.reason
        requests, pages = caught.requests, caught.pages
        if reason:
            reason = f"{reason} (an entry stopped matching the filters)"
    if reason:
        frame, info = load_frame(client, filters, per_page=per_page, use_cache=False)
        requests += info["requests"]
        pages += info["requests"]
        server_time = info["server_time"]
    frame = sort_entries(frame)
    new, changed, deleted = _diff(old, frame)
    watermark = (server_time or dt.datetime.now(dt.UTC)) - lag
    _write_snapshot(frame, path)
    _write_json(
        state_path(path),
        {
            "version": STATE_VERSION,
            "business_id": client.business_id,
            "filters": params,
            "watermark": watermark.isoformat(),
            "synced_at": dt.datetime.now(dt.UTC).isoformat(),
            "rows": len(frame),
        },
    )
    return SyncReport(
        path=path,
        full=bool(reason),
        reason=reason,
        pages=pages,
        requests=requests,
        new=new,
        changed=changed,
        deleted=deleted,
        rows=len(frame),
        old_watermark=watermark_before,
        new_watermark=watermark,
    )


def _full_reason(full: bool, state: dict | None, old: pd.DataFrame | None) -> str:
    if full:
        return "full=True"
    if state is None:
        return "first sync"
    if old is None:
        return "the snapshot file is missing"
    return ""


def _check_state(
    state: dict[str, Any], params: dict[str, str], business_id: int, path: Path
) -> None:
    if state.get("business_id") != business_id:
        raise SyncFiltersError(
            f"{path} is a snapshot of business {state.get('business_id')}, not {business_id}; "
            "use another path, or sync with full=True to replace it"
        )
    if state.get("filters") != params:
        raise SyncFiltersError(
            f"{path} was synced with filters {state.get('filters')}, not {params}; "
            "use the same filters, another path, or full=True to replace the snapshot"
        )


#: A state file is a few hundred bytes; anything far larger was not written by fbtime.
MAX_STATE_BYTES = 64 * 1024


def _read_state(path: Path) -> dict[str, Any] | None:
    """The saved state, checked field by field (it is a file anyone could have edited)."""
    where = state_path(path)
    if not where.exists():
        return None
    try:
        state = json.loads(read_limited(where, MAX_STATE_BYTES))
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown state version {_get(state, 'version')!r}")
        filters = state.get("filters")
        if not isinstance(filters, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in filters.items()
        ):
            raise ValueError("filters must map names to query values")
        business = state.get("business_id")
        if isinstance(business, bool) or not isinstance(business, int) or business <= 0:
            raise ValueError(f"business_id {business!r} is not a business id")
        watermark = _parse_time(state["watermark"])
        if watermark > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            raise ValueError(f"the watermark {watermark.isoformat()} is in the future")
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise SyncError(
            f"the sync state {where} is unreadable ({exc}); sync with full=True to rebuild it"
        ) from None
    return state


def _tolerant(read: Any, path: Path) -> Any:
    """``read(path)``, or None when it is damaged: ``full=True`` repairs what it replaces."""
    try:
        return read(path)
    except SyncError:
        return None


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def _read_snapshot(path: Path) -> pd.DataFrame:
    try:
        return as_time_entries(pd.read_parquet(path))
    except (OSError, ValueError) as exc:
        raise SyncError(
            f"the snapshot {path} is unreadable ({exc}); sync with full=True to rebuild it"
        ) from None


def _parse_time(text: str) -> dt.datetime:
    if not isinstance(text, str):
        raise TypeError(f"a time must be text, got {type(text).__name__}")
    stamp = dt.datetime.fromisoformat(text)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _diff(old: pd.DataFrame | None, new: pd.DataFrame) -> tuple[int, int, int]:
    if old is None:
        return len(new), 0, 0
    added = new.index.difference(old.index)
    removed = old.index.difference(new.index)
    both = new.index.intersection(old.index)
    columns = [c for c in new.columns if c in old.columns]
    before = pd.util.hash_pandas_object(old.loc[both, columns], index=True)
    after = pd.util.hash_pandas_object(new.loc[both, columns], index=True)
    changed = int((before.sort_index() != after.sort_index()).sum())
    if "active" in new.columns:  # kept as inactive (include_deleted=True): count as deleted
        was_active = old.loc[both, "active"].fillna(True)
        now_deleted = new.loc[both, "active"].eq(False) & was_active
        changed -= int(now_deleted.sum())
        return len(added), changed, len(removed) + int(now_deleted.sum())
    return len(added), changed, len(removed)


def _write_snapshot(frame: pd.DataFrame, path: Path) -> None:
    frame.attrs = {}
    write_private_with(path, frame.to_parquet)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
