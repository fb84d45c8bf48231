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

Files: the snapshot at ``path`` (Parquet) and its state next to it (``<path>.sync.json``:
filters, business, watermark), written and read back by :mod:`fbtime.snapshot`, the store
cached loads use too: both private (0600), the data first, then the state, each replacing
the old file atomically, so a crash leaves the old pair or new data its old state does not
name, which the next sync reports (``full=True`` rebuilds it). Incremental queries never
use or fill the HTTP cache.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime import snapshot
from fbtime.api.client import Client
from fbtime.api.query import check_per_page, encode_filters
from fbtime.config import DEFAULT_PER_PAGE, DEFAULT_WATERMARK_LAG, check_seconds
from fbtime.errors import ConfigError, QueryError, SyncError, SyncFiltersError
from fbtime.frame import sort_entries
from fbtime.incremental import catch_up, merge_meta
from fbtime.load import load_frame
from fbtime.snapshot import state_path

#: Subtracted from the server's time to make the next watermark (see the module doc).
DEFAULT_LAG = DEFAULT_WATERMARK_LAG


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
    state = _tolerant(snapshot.read_state, path) if full else snapshot.read_state(path)
    if state is not None and not full:
        _check_state(state, params, client.business_id, path)
    old = None
    if state is not None and path.exists():
        read = lambda p: snapshot.read_frame(p, state)  # noqa: E731
        old = _tolerant(read, path) if full else read(path)
    reason = _full_reason(full, state, old, path)
    requests = pages = 0
    frame, meta, server_time = old, state.meta if state else {}, None
    blind = state.unreadable if state else 0  # entries counted that the token cannot read
    if not reason:
        assert old is not None and state is not None  # no reason: both were read
        caught = catch_up(client, old, params, state.watermark, per_page=per_page, unreadable=blind)
        frame, server_time, reason = caught.frame, caught.server_time, caught.reason
        requests, pages = caught.requests, caught.pages
        if caught.meta is not None:
            meta = merge_meta(meta, caught.meta, per_page)
        if reason:
            reason = f"{reason} (an entry stopped matching the filters)"
    if reason:
        loaded = load_frame(client, params, per_page=per_page, keep=False)
        frame, meta, server_time = loaded.frame, loaded.meta, loaded.server_time
        blind = loaded.unreadable
        requests += loaded.requests
        pages += loaded.requests
    assert frame is not None
    frame = sort_entries(frame)
    new, changed, deleted = _diff(old, frame)
    now = dt.datetime.now(dt.UTC)
    watermark = (server_time or now) - lag
    kept = snapshot.State(
        client.business_id, params, watermark, now, len(frame), meta, unreadable=blind
    )
    snapshot.write(path, frame, kept)
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
        old_watermark=state.watermark if state else None,
        new_watermark=watermark,
    )


def _full_reason(
    full: bool, state: snapshot.State | None, old: pd.DataFrame | None, path: Path
) -> str:
    if full:
        return "full=True"
    if state is None and state_path(path).exists():
        return "the snapshot was written by an older fbtime"
    if state is None:
        return "first sync"
    if old is None:
        return "the snapshot file is missing"
    return ""


def _check_state(
    state: snapshot.State, params: dict[str, str], business_id: int, path: Path
) -> None:
    if state.business_id != business_id:
        raise SyncFiltersError(
            f"{path} is a snapshot of business {state.business_id}, not {business_id}; "
            "use another path, or sync with full=True to replace it"
        )
    if state.filters != params:
        raise SyncFiltersError(
            f"{path} was synced with filters {state.filters}, not {params}; "
            "use the same filters, another path, or full=True to replace the snapshot"
        )


def _tolerant(read: Any, path: Path) -> Any:
    """``read(path)``, or None when it is damaged: ``full=True`` repairs what it replaces."""
    try:
        return read(path)
    except SyncError:
        return None


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
