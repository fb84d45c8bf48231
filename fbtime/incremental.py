"""The incremental core: what changed since a watermark, and cached lists revalidated.

Entries carry no ``updated_at``, but ``updated_since`` filters on a hidden update time
(``include_deleted`` shows deletions too). :func:`catch_up` brings a frame that was the
server's list at some time up to date with one such query and a count check sent beside
it; entries edited out of the filters, which that query cannot return, are found with one
query over every entry changed since. :func:`fbtime.sync` keeps a snapshot with it, and a
cached load (:func:`fbtime.load.load_frame`) revalidates its kept snapshot with it.

**Revalidation.** FreshBooks has no ETag and no ``If-Modified-Since``. A cached client
keeps each query's frame as a snapshot beside its HTTP cache (:mod:`fbtime.snapshot`),
with a watermark: the server's time of the fetch less
:data:`~fbtime.config.DEFAULT_WATERMARK_LAG`. A default reload sends the
``updated_since`` query from the watermark and the count check: nothing changed and the
count agrees, and the snapshot serves (2 requests); changes are merged and the merged
frame becomes the snapshot (3 requests at most while the changes fit a page); anything
still off, and :func:`revalidate` says so and the caller loads every page. Serving a
snapshot with no request at all is the caller's choice (``accept_stale``). A snapshot
that is not exactly what its state names is not used, and the load goes to the network.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime import schema, snapshot
from fbtime.api.client import Client
from fbtime.api.paging import Changes, Window, tell_unreadable
from fbtime.config import DEFAULT_PER_PAGE, DEFAULT_WATERMARK_LAG, is_count
from fbtime.errors import SyncError, UnexpectedAnswerError
from fbtime.frame import apply_changes, records_to_frame, sort_entries

log = logging.getLogger("fbtime")

#: How far before a read just made an ``updated_since`` query starts (whole-second stamps
#: and clock skew between the API's servers): after a load's pages, and when settling.
VERIFY_LAG = dt.timedelta(seconds=5)
#: The widest query: every entry a token may see, so one edited out of the filters is found.
WIDEST = {"team": "true", "include_unlogged": "true"}


@dataclass
class Loaded:
    """A time-entry frame and how it was obtained (:func:`fbtime.load.load_frame`).

    Attributes:
        frame: the entries, typed and in the API's order.
        meta: the server's ``meta`` for the whole list.
        requests: every request sent.
        passes: how many times every page was read (0 for a kept snapshot).
        server_time: the server's time when the list was read (the next watermark's base).
        source: ``"network"``, ``"revalidated"`` or ``"cache"``.
        checked_at: when the frame was last known current (None: now).
        notes: what had to be done again, and why.
        unreadable: entries the server counts that the token cannot read (not in the frame).
    """

    frame: pd.DataFrame
    meta: dict[str, Any]
    requests: int
    passes: int
    server_time: dt.datetime | None
    source: str
    checked_at: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)
    unreadable: int = 0

    def tell(self, client: Client) -> None:
        """Say so when the server counts entries the frame cannot hold (unreadable ones)."""
        if self.unreadable > 0:
            total = len(self.frame) + self.unreadable
            tell_unreadable(f"GET {client.time_entries.path}", total, len(self.frame))


@dataclass
class Spent:
    """A kept snapshot could not serve: what the check cost, and why (empty: none kept)."""

    requests: int = 0
    notes: list[str] = field(default_factory=list)


def merge_meta(meta: dict[str, Any], counted: dict[str, Any], per_page: int) -> dict[str, Any]:
    """``meta`` of the whole list, with the totals of a 1-row count check."""
    merged = {
        **meta,
        **{k: v for k, v in counted.items() if k not in ("page", "pages", "per_page")},
    }
    merged["pages"] = -(-int(merged.get("total", 0)) // per_page)
    return merged


@dataclass
class CatchUp:
    """What :func:`catch_up` did to a frame.

    Attributes:
        frame: the frame with the changes applied (entries edited out of the filters
            dropped).
        changes: what the ``updated_since`` query returned.
        requests: every request sent; ``pages`` the list requests among them (the count
            check excluded).
        server_time: the server's time of the ``updated_since`` answer: the next watermark.
        meta: the count check's ``meta`` (None when no count was needed).
        reason: why the frame still disagrees with the server's count ("" if it agrees).
    """

    frame: pd.DataFrame
    changes: Changes
    requests: int
    pages: int
    server_time: dt.datetime | None
    meta: dict[str, Any] | None
    reason: str = ""


def catch_up(
    client: Client,
    frame: pd.DataFrame,
    params: Mapping[str, str],
    since: dt.datetime,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    count: bool = True,
    unreadable: int = 0,
    settle: bool = False,
) -> CatchUp:
    """Bring ``frame``, the list ``params`` select as the server had it at ``since`` or
    later, up to date: the incremental core of sync and of a revalidated load.

    One ``updated_since`` query (deleted entries too) and, sent beside it, one count check
    (``count=False``: only when something changed). Changes are upserted, deletions
    dropped. A frame larger than the count holds entries edited out of the filters
    (``billed=False`` and just billed): they are not in the changes, so one query over
    every entry changed since (:data:`WIDEST`) finds them. The count is not taken again:
    an entry that changes meanwhile can only make the frame disagree with the first
    count, never agree by accident, so a disagreement is reported in ``reason`` and the
    caller reloads everything. ``unreadable``: entries the count holds that the token
    cannot read (:attr:`fbtime.api.paging.Listing.unreadable`).

    With ``settle`` (a frame that may have lost rows: a list read while it changed), an
    agreement must not be an accident, as when a row lost in the read and an entry
    deleted between the query and the count cancel out: the count is taken again, then
    the ``updated_since`` query from just before the last one, until that query brings
    nothing new (three times at most), so the count and the frame describe one moment.
    """
    entries = client.time_entries
    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(entries.count, params) if count else None
        changes, listing = entries.changes(params, since, per_page=per_page)
        counted = counting.result() if counting is not None else None
    requests, pages = listing.requests + (counting is not None), listing.requests
    merged = apply_changes(frame, changes) if changes else frame
    if counted is None and changes and not settle:
        counted = entries.count(params)
        requests += 1
    unsettled = settle  # a read that may have lost rows is counted, changes or not
    for _ in range(3 if unsettled else 0):
        # the count first, then a query from just before the last one: if it brings nothing
        # new, nothing changed from before that query until after the count, which holds
        after = (listing.server_time or since) - VERIFY_LAG
        counted = entries.count(params)
        more, listing = entries.changes(params, after, per_page=per_page)
        requests, pages = requests + listing.requests + 1, pages + listing.requests
        if not _changes_apply(merged, more):
            unsettled = False
            break
        merged, changes = apply_changes(merged, more), _combined(changes, more)
    result = CatchUp(merged, changes, requests, pages, listing.server_time, counted)
    if counted is None:
        return result
    total = counted.get("total")
    if not is_count(total):
        raise UnexpectedAnswerError(f"GET {entries.path}: meta.total is {total!r}, not a count")
    total -= unreadable
    if len(result.frame) > total:
        seen, wide = entries.changes(WIDEST, since, per_page=per_page)
        kept = {row["id"] for row in changes.upsert}
        touched = {row["id"] for row in seen.upsert} | seen.drop
        gone = [i for i in touched - kept if i in result.frame.index]
        result.frame = result.frame.drop(index=gone)
        result.requests, result.pages = requests + wide.requests, pages + wide.requests
    if len(result.frame) != total:
        result.reason = f"{len(result.frame)} entries after catching up, the server counts {total}"
    elif unsettled:  # the count is older than the last changes: an agreement proves nothing
        result.reason = "the list kept changing while it was counted"
    return result


def _combined(first: Changes, then: Changes) -> Changes:
    """Two ``updated_since`` answers as one: the later wins for an id in both."""
    later = then.drop | {row["id"] for row in then.upsert}
    kept = [row for row in first.upsert if row["id"] not in later]
    return Changes((first.drop - later) | then.drop, kept + then.upsert)


# -- a list read while it changed -----------------------------------------------------------
@dataclass
class Recount:
    """What :func:`recount` did: the frame, the requests, and rows no token can read."""

    frame: pd.DataFrame
    requests: int
    unreadable: int


def recount(
    client: Client,
    frame: pd.DataFrame,
    params: Mapping[str, str],
    windows: list[Window],
    *,
    per_page: int = DEFAULT_PER_PAGE,
) -> Recount:
    """Count each window of a list read while it changed, and read again those that differ.

    An entry deleted while a list is paged shifts the rows after it up, so a page read
    after the delete starts a row later and a row goes unseen; nothing in the pages says
    which. ``frame``, that read brought up to date by :func:`catch_up`, is compared with
    the server window by window (one count request for each window that changed while it
    was read, :attr:`Listing.windows`), and only those whose counts differ are read again
    (entries added meanwhile only repeat rows, which dropping repeats undoes, so most
    windows agree). The caller checks the result with another :func:`catch_up`: the list
    may have changed meanwhile.
    """
    entries = client.time_entries
    windows = [w for w in windows if w.changed]  # a window read without a change lost nothing
    queries = [entries.within(params, w.lo, w.hi) for w in windows]
    with ThreadPoolExecutor(max_workers=max(1, min(len(queries), client.workers))) as pool:
        totals = list(pool.map(lambda query: entries.count(query).get("total", 0), queries))
    stamps = frame["started_at"]
    keep = pd.Series(True, index=frame.index)
    pieces, spent, blind = [], len(queries), 0
    for w, query, total in zip(windows, queries, totals, strict=True):
        inside = pd.Series(True, index=frame.index)
        if w.lo is not None:
            inside &= stamps >= w.lo
        if w.hi is not None:
            inside &= stamps <= w.hi
        inside = inside.fillna(False).astype(bool)
        if int(inside.sum()) + w.unreadable == total:
            blind += w.unreadable
            continue
        listing = entries.pages(query, per_page=per_page, tell=False)
        spent, blind = spent + listing.requests, blind + listing.unreadable
        keep &= ~inside
        pieces.append(records_to_frame(listing.rows))
    if pieces:
        frame = pd.concat([frame[keep.to_numpy()], *pieces])
        frame = sort_entries(frame[~frame.index.duplicated(keep="last")])
    return Recount(frame, spent, blind)


# -- cached loads -------------------------------------------------------------------------
def new_state(
    client: Client,
    params: Mapping[str, str],
    loaded: Loaded,
    *,
    lag: dt.timedelta = DEFAULT_WATERMARK_LAG,
    previous: snapshot.State | None = None,
) -> snapshot.State:
    """The state of a frame just loaded or revalidated (``previous``'s when it has no time)."""
    now = dt.datetime.now(dt.UTC)
    if loaded.server_time is not None:
        watermark = loaded.server_time - lag
    else:
        watermark = previous.watermark if previous is not None else now - lag
    return snapshot.State(
        business_id=client.business_id,
        filters=dict(params),
        watermark=watermark,
        checked_at=now,
        rows=len(loaded.frame),
        meta=loaded.meta,
        generation=client.cache_generation() or "",
        unreadable=loaded.unreadable,
    )


def keep(path: Path, loaded: Loaded, state: snapshot.State) -> None:
    """Keep a loaded frame as the snapshot at ``path``. Frames with fields fbtime does not
    know are loaded but not kept (an older snapshot of the query would only mislead)."""
    try:
        if list(loaded.frame.columns) == list(schema.FRAME_COLUMNS):
            snapshot.write(path, loaded.frame, state)
        else:
            snapshot.forget(path)
    except (SyncError, OSError) as exc:  # a disk that refuses: the load goes on without it
        log.warning("the snapshot %s could not be kept: %s", path, exc)


def _changes_apply(frame: pd.DataFrame, changes: Changes) -> bool:
    """True if ``changes`` would change ``frame`` (an overlap re-fetches rows it has)."""
    if any(i in frame.index for i in changes.drop):
        return True
    if not changes.upsert:
        return False
    new = records_to_frame(changes.upsert)
    if list(new.columns) != list(frame.columns) or not new.index.isin(frame.index).all():
        return True
    return not frame.loc[new.index].equals(new)


def revalidate(
    client: Client,
    path: Path,
    params: Mapping[str, str],
    per_page: int,
    accept_stale: dt.timedelta | None,
) -> Loaded | Spent:
    """The kept frame of ``params``, revalidated (or served as it is when ``accept_stale``
    allows), or what finding it unusable cost: then every page is loaded."""
    try:
        state = snapshot.read_state(path)
        if state is None or (state.business_id, state.filters) != (client.business_id, params):
            return Spent()
        now = dt.datetime.now(dt.UTC)
        if now - state.checked_at > client.settings.cache_expire:
            return Spent()  # not checked within the cache's lifetime: load it afresh
        frame = snapshot.read_frame(path, state)
    except SyncError as exc:
        log.debug("the kept frame was not used: %s", exc)
        return Spent()
    generation, blind = client.cache_generation() or "", state.unreadable
    fresh_enough = accept_stale is not None and now - state.checked_at <= accept_stale
    if fresh_enough and state.generation == generation:  # nothing written through fbtime
        return Loaded(frame, state.meta, 0, 0, None, "cache", state.checked_at, unreadable=blind)
    result = catch_up(client, frame, params, state.watermark, per_page=per_page, unreadable=blind)
    if result.reason or result.meta is None:
        log.debug("the kept frame disagrees with the server (%s): loading it", result.reason)
        return Spent(result.requests, [f"revalidation: {result.reason}"])
    meta = merge_meta(state.meta, result.meta, per_page)
    loaded = Loaded(
        result.frame, meta, result.requests, 0, result.server_time, "revalidated", unreadable=blind
    )
    fresh = new_state(client, params, loaded, previous=state)
    if len(result.frame) == len(frame) and not _changes_apply(frame, result.changes):
        loaded.frame = frame
        try:
            snapshot.write_state(path, fresh.replace(id=state.id, bytes=state.bytes))
        except OSError as exc:
            log.warning("the snapshot %s could not be kept: %s", path, exc)
    else:
        keep(path, loaded, fresh)
    return loaded
