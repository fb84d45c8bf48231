"""Loading: ``load_time_entries`` and the other ``load_*`` functions, API -> typed frames.

A load from the network ends with one ``updated_since`` query from the time the first
page was served (:func:`load_frame`): an entry created, changed or deleted while the
pages were read is reconciled, so the frame is exactly the server's set at the end.
Pages become frames with :mod:`fbtime.frame`.

**Revalidation.** FreshBooks has no ETag and no ``If-Modified-Since``, but it has
``updated_since``. A cached client keeps each query's frame as a snapshot in its cache
file (:class:`fbtime.api.cache.Snapshots`), with the server's time of the fetch. A
default reload sends one ``updated_since`` query from that time less
:data:`~fbtime.config.DEFAULT_WATERMARK_LAG` (``include_deleted``, never from the cache)
and, beside it, one count check: nothing changed and the count agrees, and the snapshot
serves (2 requests); changes are merged into it (3 at most, when they fit a page), and
anything still off means a full reload. So a change made in the web app shows at the next
load, and the frame always equals what a full reload would give. Serving a snapshot with
no request at all is a choice the caller makes (``accept_stale=``). The incremental core,
:func:`catch_up`, is the one :func:`fbtime.sync` uses too.

:func:`connect` gives scripts and notebooks a client: a fresh local sandbox, or
FreshBooks as :class:`~fbtime.Client` finds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
import pyarrow as pa

from fbtime import schema
from fbtime.api import reference
from fbtime.api.cache import Snapshots, snapshot_key
from fbtime.api.client import Client
from fbtime.api.paging import Changes, Page, read_pages, reconcile
from fbtime.api.query import FILTERS, DateLike, check_per_page, encode_filters, to_utc
from fbtime.config import DEFAULT_PER_PAGE, DEFAULT_WATERMARK_LAG, check_seconds
from fbtime.errors import (
    ConfigError,
    InconsistentPagesError,
    QueryError,
    SchemaError,
    UnexpectedAnswerError,
)
from fbtime.files import read_limited
from fbtime.frame import (
    apply_changes,
    chunks_to_frame,
    compact_chunks,
    page_chunk,
    records_to_frame,
)

log = logging.getLogger("fbtime")

#: Time between the server's clock on page 1 and the ``updated_since`` re-check.
VERIFY_LAG = dt.timedelta(seconds=5)
#: Subtracted from a snapshot's watermark when it is revalidated (as sync does).
REVALIDATE_LAG = DEFAULT_WATERMARK_LAG
SNAPSHOT_VERSION = 1
#: The widest query: every entry a token may see, so one edited out of the filters is found.
WIDEST = {"team": True, "include_unlogged": True}


def _page_reader(
    client: Client, params: dict[str, str], per_page: int, refresh: bool, use_cache: bool
) -> Callable[[int], Page]:
    path = client.time_entries.path

    def get_page(number: int) -> Page:
        page_params = {**params, "page": str(number), "per_page": str(per_page)}
        answer = client.send("GET", path, params=page_params, refresh=refresh, use_cache=use_cache)
        return Page(answer.body, answer.server_time, answer.from_cache, answer.url)

    return get_page


def changes_since(
    client: Client,
    filters: dict[str, Any],
    since: dt.datetime,
    *,
    per_page: int = DEFAULT_PER_PAGE,
) -> tuple[Changes, dict[str, Any]]:
    """Rows of ``filters`` changed since ``since`` (deleted too), never from the cache.

    Returns the changes and ``{"requests", "pages", "server_time", "rows"}``.
    ``updated_since`` goes out at whole seconds, floored: it can only fetch more.
    """
    stamp = to_utc(since, "since")
    if filters.get("updated_since") is not None:
        stamp = max(stamp, to_utc(filters["updated_since"], "updated_since"))
    query = {**filters, "include_deleted": True, "updated_since": stamp.replace(microsecond=0)}
    params = encode_filters(query)
    listing = read_pages(
        _page_reader(client, params, per_page, False, False),
        key="time_entries",
        per_page=per_page,
        workers=client.concurrency,
    )
    changes = reconcile(listing.rows, keep_deleted=bool(filters.get("include_deleted")))
    info = {"requests": listing.requests, "pages": listing.requests,
            "server_time": listing.server_time, "rows": len(listing.ids)}  # fmt: skip
    return changes, info


def count_entries(client: Client, filters: dict[str, Any]) -> dict[str, Any]:
    """The server's current ``meta`` for ``filters`` (one row fetched, never cached)."""
    params = {**encode_filters(filters), "page": "1", "per_page": "1"}
    body = client.request("GET", client.time_entries.path, params=params, use_cache=False)
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        raise UnexpectedAnswerError(f"GET {client.time_entries.path}: the answer has no meta")
    return dict(meta)


def _total(meta: dict[str, Any], path: str) -> int:
    total = meta.get("total")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise UnexpectedAnswerError(f"GET {path}: meta.total is {total!r}, not a count")
    return total


def _merge_meta(meta: dict[str, Any], counted: dict[str, Any], per_page: int) -> dict[str, Any]:
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
    filters: dict[str, Any],
    since: dt.datetime,
    *,
    per_page: int = DEFAULT_PER_PAGE,
    count: bool = True,
) -> CatchUp:
    """Bring ``frame``, the list of ``filters`` as the server had it at ``since`` or
    later, up to date: the incremental core of sync and of a revalidated load.

    One ``updated_since`` query (deleted entries too) and, sent beside it, one count check
    (``count=False``: only when something changed). Changes are upserted, deletions
    dropped. A frame larger than the count holds entries edited out of the filters
    (``billed=False`` and just billed): they are not in the changes, so one query over
    every entry changed since (:data:`WIDEST`) finds them. The count is not taken again:
    an entry that changes meanwhile can only make the frame disagree with the first
    count, never agree by accident, so a disagreement is reported in ``reason`` and the
    caller reloads everything.
    """
    path = client.time_entries.path
    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(count_entries, client, filters) if count else None
        changes, info = changes_since(client, filters, since, per_page=per_page)
        counted = counting.result() if counting is not None else None
    requests, pages = info["requests"] + (counting is not None), info["requests"]
    merged = apply_changes(frame, changes) if changes else frame
    if counted is None and changes:
        counted = count_entries(client, filters)
        requests += 1
    result = CatchUp(merged, changes, requests, pages, info["server_time"], counted)
    if counted is None:
        return result
    total = _total(counted, path)
    if len(result.frame) > total:
        result.frame, sent = _drop_moved_out(client, result.frame, changes, since, per_page)
        result.requests, result.pages = requests + sent, pages + sent
    if len(result.frame) != total:
        result.reason = f"{len(result.frame)} entries after catching up, the server counts {total}"
    return result


def _drop_moved_out(
    client: Client, frame: pd.DataFrame, changes: Changes, since: dt.datetime, per_page: int
) -> tuple[pd.DataFrame, int]:
    """Drop entries changed since ``since`` that no longer match the frame's filters."""
    seen, info = changes_since(client, WIDEST, since, per_page=per_page)
    kept = {row["id"] for row in changes.upsert}
    touched = {row["id"] for row in seen.upsert} | seen.drop
    gone = [i for i in touched - kept if i in frame.index]
    return frame.drop(index=gone), info["requests"]


# -- snapshots ----------------------------------------------------------------------------
#: The Arrow schema metadata key that ties a snapshot file to its state.
SNAPSHOT_ID = b"fbtime-snapshot"


def _snapshot_writer(frame: pd.DataFrame, snapshot_id: str) -> Callable[[Path], None] | None:
    """A writer of ``frame`` as an Arrow IPC file, or None for a frame fbtime does not keep
    (one with fields the API added since: kept in the frame, not in a snapshot)."""
    if list(frame.columns) != list(schema.FRAME_COLUMNS):
        return None
    try:
        table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), SNAPSHOT_ID: snapshot_id.encode()}
    )

    def write(path: Path) -> None:
        # streamed to the file: no second copy of the frame in memory
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table)

    return write


def _read_snapshot(path: Path, state: dict[str, Any]) -> pd.DataFrame | None:
    """The frame a state's file holds, or None unless it is exactly that write's frame and
    exactly a time-entry frame (the file is read back, so it is checked like an answer)."""
    size = state.get("bytes")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        return None
    try:
        data = read_limited(path, size)
        reader = pa.ipc.open_file(pa.py_buffer(data))
        if (reader.schema.metadata or {}).get(SNAPSHOT_ID) != str(state.get("id")).encode():
            return None  # another write's file, or none of fbtime's
        table = reader.read_all()
        table.validate(full=True)
        frame = table.to_pandas().set_index(schema.INDEX)
    except (OSError, pa.ArrowException, KeyError, TypeError, ValueError) as exc:
        log.debug("an unreadable snapshot was dropped: %s", exc)
        return None
    expected = schema.empty_frame()
    if list(frame.columns) != list(expected.columns) or not frame.dtypes.equals(expected.dtypes):
        return None
    if frame.index.dtype != expected.index.dtype or not frame.index.is_unique:
        return None
    return frame


def _cache_trouble(client: Client, exc: Exception) -> None:
    """A snapshot read or write failed: a damaged cache file is moved aside and rebuilt."""
    if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "malformed"
        client.cache_damaged(exc)
    else:  # busy, locked, disk full: the load goes on without its snapshot
        log.warning("the cache's snapshot could not be used: %s", exc)


def _check_state(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The fields of a snapshot's state, checked (it is read from a file), or None."""
    try:
        if state.get("version") != SNAPSHOT_VERSION:
            return None
        watermark = dt.datetime.fromisoformat(state["watermark"])
        checked = float(state["checked_at"])
        rows, meta, generation = state["rows"], state["meta"], state["generation"]
    except (KeyError, TypeError, ValueError):
        return None
    if watermark.tzinfo is None or not math.isfinite(checked) or checked > now + 300:
        return None
    if isinstance(rows, bool) or not isinstance(rows, int) or not isinstance(meta, dict):
        return None
    if not isinstance(generation, str):
        return None
    return {**state, "watermark": watermark, "checked_at": checked}


def _state(
    watermark: dt.datetime,
    frame: pd.DataFrame,
    meta: dict[str, Any],
    generation: str | None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new state; with ``previous``, one for the same file (its id and size kept)."""
    kept = {k: previous[k] for k in ("id", "bytes") if k in previous} if previous else {}
    return {
        "version": SNAPSHOT_VERSION,
        "id": secrets.token_hex(8),
        **kept,
        "watermark": watermark.isoformat(),
        "checked_at": time.time(),
        "rows": len(frame),
        "meta": meta,
        "generation": generation or "",
    }


def _save(
    client: Client, key: str, frame: pd.DataFrame, state: dict[str, Any], *, frame_too: bool
) -> None:
    """Save a snapshot's state, and with ``frame_too`` the frame itself."""
    snapshots = client.snapshots
    if snapshots is None:
        return
    try:
        if not frame_too:
            snapshots.write(key, state)
        elif (writer := _snapshot_writer(frame, state["id"])) is not None:
            snapshots.write(key, state, writer)
        else:
            snapshots.forget(key)  # an older snapshot of the query would only mislead
    except (sqlite3.Error, OSError) as exc:
        _cache_trouble(client, exc)


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


def _revalidate(
    client: Client,
    snapshots: Snapshots,
    key: str,
    filters: dict[str, Any],
    per_page: int,
    accept_stale: dt.timedelta | None,
) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    """The cached frame of ``filters``, revalidated (or served as it is when
    ``accept_stale`` allows), and what it took; the frame is None when there is none to
    use or the server disagrees with it (then everything is loaded)."""
    spent: dict[str, Any] = {"requests": 0, "notes": []}
    try:
        found = snapshots.state(key)
    except sqlite3.Error as exc:
        _cache_trouble(client, exc)
        return None, spent
    now = time.time()
    state = _check_state(found, now) if found is not None else None
    if state is None:
        return None, spent
    if now - state["checked_at"] > client.settings.cache_expire.total_seconds():
        return None, spent  # not checked within the cache's lifetime: load it afresh
    frame = _read_snapshot(snapshots.path(key), state)
    if frame is None or len(frame) != state["rows"]:
        return None, spent
    generation = client.cache_generation()
    checked = dt.datetime.fromtimestamp(state["checked_at"], dt.UTC)
    fresh_enough = accept_stale is not None and now - state["checked_at"] <= (
        accept_stale.total_seconds()
    )
    if fresh_enough and state["generation"] == (generation or ""):
        info = {"requests": 0, "passes": 0, "meta": state["meta"], "notes": [], "source": "cache",
                "server_time": state["watermark"], "checked_at": checked}  # fmt: skip
        return frame, info
    since = state["watermark"] - REVALIDATE_LAG
    result = catch_up(client, frame, filters, since, per_page=per_page)
    if result.reason or result.meta is None:
        log.debug("the cached frame disagrees with the server (%s): loading it", result.reason)
        return None, {"requests": result.requests, "notes": [f"revalidation: {result.reason}"]}
    meta = _merge_meta(state["meta"], result.meta, per_page)
    watermark = result.server_time or state["watermark"]
    info = {"requests": result.requests, "passes": 0, "meta": meta, "notes": [],
            "server_time": watermark, "source": "revalidated"}  # fmt: skip
    if len(result.frame) == len(frame) and not _changes_apply(frame, result.changes):
        same = _state(watermark, frame, meta, generation, previous=state)
        _save(client, key, frame, same, frame_too=False)
        return frame, info
    changed = _state(watermark, result.frame, meta, generation)
    _save(client, key, result.frame, changed, frame_too=True)
    return result.frame, info


def load_frame(
    client: Client,
    filters: dict[str, Any],
    *,
    per_page: int = DEFAULT_PER_PAGE,
    refresh: bool = False,
    use_cache: bool = True,
    verify: bool = True,
    accept_stale: dt.timedelta | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_attempts: int = 3,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load every page of ``filters`` into a frame, reconciling changes made meanwhile.

    With a cached client (and ``use_cache``), a snapshot of the query is revalidated
    first (see the module docstring); ``refresh=True`` skips it. After a load that read
    the pages, entries changed since page 1 was served (less :data:`VERIFY_LAG`) are
    fetched with ``updated_since`` and applied; then the server's count must match, else
    the pages are read again. Pages never come from, nor go to, the HTTP cache: the
    snapshot is the list's cache.

    Returns:
        The frame and ``{"requests", "passes", "meta", "server_time", "notes",
        "source"}``; ``source`` is ``"network"``, ``"revalidated"`` or ``"cache"``.

    Raises:
        InconsistentPagesError: the list kept changing through ``max_attempts`` loads.
    """
    params = encode_filters(filters)
    snapshots = client.snapshots if use_cache and verify else None
    key = snapshot_key(client.time_entries.path, params)
    requests, passes, notes = 0, 0, []
    if snapshots is not None and not refresh:
        frame, info = _revalidate(client, snapshots, key, filters, per_page, accept_stale)
        if frame is not None:
            return frame, info
        requests, notes = info["requests"], info["notes"]
    generation = client.cache_generation()
    get_page = _page_reader(client, params, per_page, True, False)
    for attempt in range(max_attempts):
        listing = read_pages(
            get_page,
            key="time_entries",
            per_page=per_page,
            workers=client.concurrency,
            progress=progress if attempt == 0 else None,
            on_total=on_total if attempt == 0 else None,
            convert=page_chunk,
            compact=compact_chunks,
        )
        requests, passes = requests + listing.requests, passes + listing.passes
        notes += listing.notes
        try:
            frame, meta = chunks_to_frame(listing.chunks), listing.meta
        except SchemaError as exc:  # a time the server sent that is no time
            raise UnexpectedAnswerError(f"GET {client.time_entries.path}: {exc}") from None
        del listing.chunks[:]
        info = {"requests": requests, "passes": passes, "meta": meta, "notes": notes,
                "server_time": listing.server_time, "source": "network"}  # fmt: skip
        single = listing.requests == 1  # one answer is one snapshot: nothing to reconcile
        if not verify or listing.server_time is None:
            return frame, info
        if not single:
            since = listing.server_time - VERIFY_LAG
            result = catch_up(client, frame, filters, since, per_page=per_page, count=False)
            info["requests"] = requests = requests + result.requests
            frame = result.frame
            if result.meta is not None:
                info["meta"] = meta = _merge_meta(meta, result.meta, per_page)
            if result.reason:
                notes.append(f"load {attempt + 1}: {result.reason}")
                continue
        if snapshots is not None:
            state = _state(listing.server_time, frame, meta, generation)
            _save(client, key, frame, state, frame_too=True)
        return frame, info
    raise InconsistentPagesError(
        f"the list kept changing while it was loaded ({max_attempts} loads): "
        + " | ".join(notes)
        + ". Retry when fewer writes are happening, or narrow the filters."
    )


def load_time_entries(
    client: Client | None = None,
    *,
    billable: bool | None = None,
    billed: bool | None = None,
    client_id: int | None = None,
    include_deleted: bool = False,
    team: bool = False,
    include_unlogged: bool = False,
    started_from: DateLike | None = None,
    started_to: DateLike | None = None,
    updated_since: DateLike | None = None,
    identity_id: int | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    refresh: bool = False,
    accept_stale: dt.timedelta | float | None = None,
    progress: bool | None = None,
    **unknown: Any,
) -> pd.DataFrame:
    """Load time entries into a typed DataFrame indexed by ``id``.

    Every page is fetched (page 1 first, the rest concurrently). A cached client keeps
    the frame for 15 minutes (``Client(cache_expire=...)``) and revalidates it on the
    next load of the same query: one ``updated_since`` request and one count check, so a
    change made in FreshBooks' web app shows at once, for 2 requests instead of every
    page. Dates accept ``str``, ``date``, ``datetime`` or a pandas ``Timestamp``; naive
    values mean UTC. ``started_from``/``started_to`` are inclusive.

    Args:
        client: a :class:`~fbtime.Client`; default ``fbtime.Client()`` from the
            environment (``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``).
        billable, billed, client_id, include_deleted, team, include_unlogged,
            started_from, started_to, updated_since, identity_id: the API's filters.
            By default only the token owner's logged, active entries are returned;
            ``team=True`` returns everyone's.
        per_page: rows per request, 1 to 100.
        refresh: ignore the cached frame and fetch every page again.
        accept_stale: the staleness you accept (seconds or a timedelta): a cached frame
            checked against the server no longer ago than this is returned with no
            request at all, even if the account changed since. Default None: always
            revalidate.
        progress: show a progress bar (default: when there is more than one page).

    Returns:
        The frame, with ``df.attrs["fbtime"]`` holding ``business_id``, ``filters``,
        ``fetched_at`` (when the data was last known current), the server's ``meta``
        totals, ``requests`` sent and ``source`` (``"network"``, ``"revalidated"`` or
        ``"cache"``). An empty result has the same columns and dtypes.

    Raises:
        QueryError: an unknown filter, or a bad date, id, page size or ``accept_stale``
            (before any request).
        ConfigError: no token or business id could be found.
        APIError: the API refused (see :mod:`fbtime.errors`).

    Example:
        >>> df = fbtime.load_time_entries(team=True, started_from="2026-10-01")
        >>> df.fbtime.by_client()
    """
    if unknown:
        names = ", ".join(map(repr, sorted(unknown)))
        raise QueryError(
            f"unknown argument(s) {names}; valid filters are: {', '.join(FILTERS)}; "
            "other options: per_page, refresh, accept_stale, progress"
        )
    filters = {
        "billable": billable,
        "billed": billed,
        "client_id": client_id,
        "include_deleted": include_deleted or None,
        "team": team or None,
        "include_unlogged": include_unlogged or None,
        "started_from": started_from,
        "started_to": started_to,
        "updated_since": updated_since,
        "identity_id": identity_id,
    }
    filters = {k: v for k, v in filters.items() if v is not None}
    params = encode_filters(filters)  # validate before any client or request exists
    check_per_page(per_page)
    try:
        stale = None if accept_stale is None else check_seconds("accept_stale", accept_stale)
    except ConfigError as exc:
        raise QueryError(str(exc)) from None
    client = client or Client()
    fetched_at = dt.datetime.now(dt.UTC)
    with _Bar(progress, client) as bar:
        frame, info = load_frame(
            client,
            filters,
            per_page=per_page,
            refresh=refresh,
            accept_stale=stale,
            progress=bar.update,
            on_total=bar.set_total,
        )
    meta = {k: info["meta"].get(k) for k in ("total", "total_logged", "total_unbilled", "pages")}
    frame.attrs["fbtime"] = {
        "business_id": client.business_id,
        "filters": params,
        "fetched_at": info.get("checked_at", fetched_at).isoformat(),
        "meta": meta,
        "requests": info["requests"],
        "source": info["source"],
    }
    return frame


class _Bar:
    """A tqdm.auto bar created only once the page count shows more than one page; it shows
    the pages per second and how many requests the client keeps in flight."""

    def __init__(self, enabled: bool | None, client: Client | None = None) -> None:
        self.enabled = enabled
        self.client = client
        self.bar: Any = None
        self._shown = 0.0

    def set_total(self, pages: int) -> None:
        if self.enabled is False or (pages <= 1 and not self.enabled):
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=pages, unit="page", desc="time entries", leave=False)

    def update(self, n: int) -> None:
        if self.bar is None:
            return
        self.bar.update(n)
        now = time.monotonic()
        if self.client is not None and now - self._shown >= 0.5:  # tqdm redraws ~10/s
            self._shown = now
            self.bar.set_postfix_str(self.status(self.client), refresh=False)

    @staticmethod
    def status(client: Client) -> str:
        """``"8 in flight, 310 req/s"`` (and the published limit, when there is one)."""
        concurrency, window = client.concurrency, client.limiter.window
        text = f"{concurrency.limit} in flight, {concurrency.rate:.0f} req/s"
        return text + (f", limit {window.limit}/window" if window is not None else "")

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


# -- reference data -----------------------------------------------------------------------
def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame = frame.astype(columns)
    return frame.set_index("id")


def load_clients(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's clients: a frame indexed by client ``id`` with a ``name``.

    ``name`` is the organization, or "first last" for a person without one.
    """
    client = client or Client()
    rows = []
    for c in reference.list_clients(client, refresh=refresh):
        person = " ".join(p for p in (c.get("fname"), c.get("lname")) if p)
        rows.append(
            {
                "id": c["id"],
                "name": c.get("organization") or person or f"client {c['id']}",
                "email": c.get("email"),
                "active": c.get("vis_state", 0) == 0,
            }
        )
    return _frame(rows, {"id": "Int64", "name": "str", "email": "str", "active": "boolean"})


def load_projects(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's projects: indexed by project ``id`` with ``name`` and ``client_id``."""
    client = client or Client()
    rows = [
        {
            "id": p["id"],
            "name": p.get("title") or f"project {p['id']}",
            "client_id": p.get("client_id"),
            "internal": p.get("internal"),
            "active": p.get("active"),
        }
        for p in reference.list_projects(client, refresh=refresh)
    ]
    columns = {"id": "Int64", "name": "str", "client_id": "Int64", "internal": "boolean",
               "active": "boolean"}  # fmt: skip
    return _frame(rows, columns)


def load_services(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's services: indexed by service ``id`` with ``name`` and ``billable``."""
    client = client or Client()
    rows = [
        {
            "id": s["id"],
            "name": s.get("name") or f"service {s['id']}",
            "billable": s.get("billable"),
        }
        for s in reference.list_services(client, refresh=refresh)
    ]
    return _frame(rows, {"id": "Int64", "name": "str", "billable": "boolean"})


# -- a connection for scripts and notebooks -----------------------------------------------
class Connection(NamedTuple):
    """What a script talks to: a client, and the sandbox behind it (None for FreshBooks)."""

    client: Client
    sandbox: Any


@contextlib.contextmanager
def connect(
    *,
    sandbox: bool = False,
    entries: int = 6000,
    seed: int = 1,
    end: dt.date | None = None,
    cache: bool = False,
) -> Iterator[Connection]:
    """A client for a script: a fresh local sandbox (``sandbox=True``), or FreshBooks.

    FreshBooks is reached as :class:`~fbtime.Client` finds it (arguments > environment >
    saved login). The sandbox is stopped when the ``with`` block ends.

    Example:
        >>> with fbtime.connect(sandbox=True, entries=500) as (client, sb):
        ...     df = fbtime.load_time_entries(client, team=True)
    """
    if sandbox:
        from fbtime.sandbox import Sandbox  # lazy: the sandbox is a world of its own

        with Sandbox(entries=entries, seed=seed, end=end) as sb:
            yield Connection(sb.client(cache=cache), sb)
    else:
        yield Connection(Client(), None)
