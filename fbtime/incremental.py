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
import functools
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime import schema, snapshot
from fbtime.api.client import Client
from fbtime.api.paging import (
    SECOND,
    Changes,
    Page,
    Window,
    page_getter,
    read_page,
    tell_unreadable,
)
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
    keep = pd.Series(True, index=frame.index)
    pieces, spent, blind = [], len(queries), 0
    for w, query, total in zip(windows, queries, totals, strict=True):
        inside = _inside(frame, w)
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


# -- a long list read in windows, settled part by part -------------------------------------
#: Rounds of counts :func:`settle_windows` sends at most before it gives up on a list.
SETTLE_ROUNDS = 16
#: Filters an entry can be edited out of (the others: who and what kind of entry it is).
_STAY = {"team", "include_unlogged", "include_deleted"}


@dataclass
class Settled:
    """What :func:`settle_windows` did: the frame, the requests, the count of the whole
    list when one was taken (its ``meta``), rows no token can read, and why it did not
    settle ("" when it did)."""

    frame: pd.DataFrame
    requests: int
    server_time: dt.datetime | None
    meta: dict[str, Any] | None
    unreadable: int
    reason: str = ""


def settle_windows(
    client: Client,
    frame: pd.DataFrame,
    params: Mapping[str, str],
    since: dt.datetime,
    windows: list[Window],
    *,
    per_page: int = DEFAULT_PER_PAGE,
    rounds: int = SETTLE_ROUNDS,
) -> Settled:
    """Bring a list read in ``started_at`` windows (``frame``, read from ``since`` on) to
    exactly the server's list, however often a teammate writes meanwhile.

    An ``updated_since`` query (deleted entries too) brings the changes since the read.
    Then, in rounds, each part of the list not yet settled (at first: the windows that
    changed while read, each alone, and the runs between them) is counted, and one more
    ``updated_since`` query is sent after the counts, from before the last one:

    * a part of half a page or less is read whole instead of counted (the same one
      request): one answer is one moment, so its rows are the part, and the queries that
      follow keep it current (the newest entries, where a teammate logs, are such a part);
    * a part the query leaves untouched did not change from the last query to this one,
      so its count and the frame's rows in it describe one moment: equal, it is settled
      for good (every later change reaches the frame through the next queries);
    * a part touched meanwhile is counted again in the next round (cut in two halves if
      it was touched in the round before too: busy for its size); one whose count
      disagrees (a row lost in the read, or one edited out of the filters) is cut in two
      halves, each counted in the next round.

    So a count that disagrees never makes the whole list read again: it narrows, in a few
    one-request counts, to a part read whole in one page.
    """
    entries = client.time_entries
    order = sorted(windows, key=_newest_first)
    changes, listing = entries.changes(params, since, per_page=per_page)
    requests, last = listing.requests, listing.server_time or since
    merged = apply_changes(frame, changes) if changes else frame
    if not changes and not any(w.changed for w in order):  # a still list: the read is exact
        return Settled(merged, requests, last, None, sum(w.unreadable for w in order))
    wide = bool(set(params) - _STAY)  # an edit can take an entry out of these filters
    pending, meta, done = _parts(merged, order, per_page), None, 0
    whole, busy = len(pending) == 1, set()
    with ThreadPoolExecutor(max_workers=max(1, client.workers)) as pool:
        for _ in range(rounds):
            if not pending:
                break
            held = [int(_inside(merged, part).sum()) for part in pending]
            sizes = [per_page if rows <= per_page // 2 else 1 for rows in held]
            queries = [entries.within(params, part.lo, part.hi) for part in pending]
            answers = list(pool.map(functools.partial(_first_page, client), queries, sizes))
            if whole:
                meta, whole = answers[0].meta, False
            after = last - VERIFY_LAG
            more, listing = entries.changes(params, after, per_page=per_page)
            requests += len(queries) + listing.requests
            touched = _touched(merged, more)  # against the frame the counts were sent for
            rest: list[Window | None] = []
            for part, page, size in zip(pending, answers, sizes, strict=True):
                if size > 1 and page.total <= size:  # every row of the part, at one moment
                    merged = _replace(merged, part, records_to_frame(page.rows))
                    done += page.total - len(page.ids)  # counted, not readable
                    rest.append(None)
                else:
                    rest.append(part)
            if more:
                merged = apply_changes(merged, more)
            if wide:  # entries edited out of the filters: in no filtered answer
                seen, spent = entries.changes(WIDEST, after, per_page=per_page)
                requests += spent.requests
                kept = more.drop | {row["id"] for row in more.upsert}
                left = [i for i in {r["id"] for r in seen.upsert} | seen.drop if i not in kept]
                left = [i for i in left if i in merged.index]
                touched += list(merged.loc[left, "started_at"])
                merged = merged.drop(index=left)
            last = listing.server_time or last
            next_parts: list[Window] = []
            next_busy: set[tuple[dt.datetime | None, dt.datetime | None]] = set()
            for left_over, page, rows in zip(rest, answers, held, strict=True):
                if left_over is None:
                    continue
                key = (left_over.lo, left_over.hi)
                if any(_holds(left_over, stamp) for stamp in touched):  # counted again
                    if key not in busy:  # as it is, once; halved if touched again
                        next_parts.append(left_over)
                        next_busy.add(key)
                        continue
                elif rows + left_over.unreadable == page.total:
                    done += left_over.unreadable
                    continue
                next_parts += _halves(merged, left_over)  # a row lost or left, or busy
            log.debug(
                "settling: %d part(s) counted or read, %d change(s) since, %d part(s) left",
                len(queries),
                len(touched),
                len(next_parts),
            )
            pending, busy = next_parts, next_busy
    reason = ""
    if pending:
        reason = f"{len(pending)} part(s) of the list kept changing while counted"
    return Settled(merged, requests, last, meta, done, reason)


def _newest_first(window: Window) -> tuple[bool, float]:
    """Sort key of windows, newest first (an open top is newest)."""
    return (window.hi is not None, -window.hi.timestamp() if window.hi is not None else 0.0)


def _parts(frame: pd.DataFrame, order: list[Window], per_page: int) -> list[Window]:
    """The first parts to settle: the whole list when no window changed while read, else
    each changed window alone and the runs between; the newest rows (half a page, where
    entries logged now land) a part of their own, read whole."""
    parts: list[Window] = []
    for window in order:
        last = parts[-1] if parts else None
        if last is not None and not last.changed and not window.changed:
            parts[-1] = Window(window.lo, last.hi, last.unreadable + window.unreadable)
        else:
            parts.append(Window(window.lo, window.hi, window.unreadable, window.changed))
    if parts and parts[0].hi is None and len(frame) > per_page // 2:
        cut = frame["started_at"].iloc[per_page // 2]  # the frame is newest first
        newest = parts[0]
        if not pd.isna(cut) and (newest.lo is None or cut > newest.lo):
            cut = cut.to_pydatetime()
            rest = Window(newest.lo, cut - SECOND, newest.unreadable, newest.changed)
            parts[:1] = [Window(cut, None), rest]
    return parts


def _halves(frame: pd.DataFrame, part: Window) -> list[Window]:
    """``part`` cut in two at the middle of the frame's start times in it (the rows the
    server counts beyond the readable ones go with the newer half)."""
    stamps = frame.loc[_inside(frame, part).to_numpy(), "started_at"].dropna()
    if stamps.nunique() < 2:
        return [part]
    middle = stamps.sort_values(ascending=False).iloc[len(stamps) // 2].to_pydatetime()
    return [
        Window(middle, part.hi, part.unreadable, True),
        Window(part.lo, middle - SECOND, 0, True),
    ]


def _first_page(client: Client, query: Mapping[str, str], rows: int) -> Page:
    """Page 1 of ``query`` with ``rows`` rows: a count (1 row), or a small part whole."""
    get = page_getter(client, client.time_entries.path, query, rows)
    return read_page(get, 1, key="time_entries", per_page=rows)


def _holds(window: Window, stamp: Any) -> bool:
    """Whether ``window`` holds start time ``stamp`` (an unknown one: every window does)."""
    if stamp is None or pd.isna(stamp):
        return True
    return (window.lo is None or stamp >= window.lo) and (window.hi is None or stamp <= window.hi)


def _touched(frame: pd.DataFrame, changes: Changes) -> list[Any]:
    """The start times where ``changes`` would change ``frame`` (an entry moved: both)."""
    touched = list(frame.loc[[i for i in changes.drop if i in frame.index], "started_at"])
    if not changes.upsert:
        return touched
    new = records_to_frame(changes.upsert)
    same_columns = list(new.columns) == list(frame.columns)
    for i in new.index:
        if i in frame.index and same_columns and frame.loc[[i]].equals(new.loc[[i]]):
            continue
        touched.append(new.at[i, "started_at"])
        if i in frame.index:
            touched.append(frame.at[i, "started_at"])
    return touched


def _inside(frame: pd.DataFrame, window: Window) -> pd.Series:
    """Which rows of ``frame`` start within ``window``."""
    stamps = frame["started_at"]
    inside = pd.Series(True, index=frame.index)
    if window.lo is not None:
        inside &= stamps >= window.lo
    if window.hi is not None:
        inside &= stamps <= window.hi
    return inside.fillna(False).astype(bool)


def _replace(frame: pd.DataFrame, window: Window, read: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the rows inside ``window`` replaced by ``read``."""
    kept = frame[~_inside(frame, window).to_numpy()]
    out = pd.concat([kept[~kept.index.isin(read.index)], read])
    return sort_entries(out[~out.index.duplicated(keep="last")])
