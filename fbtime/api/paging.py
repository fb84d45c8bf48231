"""Read every page of a list endpoint: page 1 first, then the rest concurrently.

Paging is split in two: :func:`read_state` reads what a page says about the whole list,
and the caller asks for page numbers. Rows come back in page order whatever order the
pages arrive in. No pandas here.

Each page can be turned into a compact chunk (``convert``) by the worker that read
it, so the parsed JSON of a page is dropped as soon as it is converted: memory holds
chunks and ids, never every row as a dict.

Page-number paging has no snapshot: an entry created or deleted while paging shifts rows
across pages, so a row can be seen twice or not at all. :func:`read_pages` notices
(``meta.total`` changing between pages, duplicate ids, a row count that differs from
``meta.total``) and pages again, bypassing caches, until one pass is consistent, or raises
:class:`InconsistentPagesError` after a few passes. Changes that leave no trace in the
pages (an insert above the read part and a delete inside it) are caught by the caller
with an ``updated_since`` query from :attr:`Listing.server_time` (see
:func:`fbtime.load.load_frame`); :func:`reconcile` says what such a query changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from fbtime.config import is_count, is_id
from fbtime.errors import InconsistentPagesError, UnexpectedAnswerError


@dataclass
class Page:
    """A page body plus when the server produced it, whether it came from a cache, and from
    which URL (for messages)."""

    body: dict[str, Any]
    server_time: dt.datetime | None = None
    from_cache: bool = False
    url: str = ""


GetPage = Callable[[int], "dict[str, Any] | Page"]
#: Where a body keeps its rows and its paging meta: ``body -> (rows, meta)``.
Locate = Callable[[dict[str, Any]], "tuple[Any, Any]"]  # checked by _shape
Convert = Callable[[list[dict[str, Any]]], Any]
Compact = Callable[[list[Any]], list[Any]]
#: Converted pages are compacted in runs of this many (see ``compact`` in :func:`read_pages`).
COMPACT_EVERY = 20


class Width(Protocol):
    """How many requests may be in flight: ``limit`` now, ``cap`` at most (it may change
    while a list is read)."""

    limit: int
    cap: int


class _Fixed:
    def __init__(self, workers: int) -> None:
        self.limit = self.cap = max(1, workers)


@dataclass
class PageState:
    """What one page says about the whole list."""

    total: int
    pages: int
    per_page: int
    meta: dict[str, Any]


def _count(meta: dict[str, Any], name: str, where: str) -> int | None:
    value = meta.get(name)
    if value is None:
        return None
    if not is_count(value):
        raise UnexpectedAnswerError(f"{where}: meta.{name} is {value!r}, not a count")
    return value


def read_state(rows: list[Any], meta: dict[str, Any], per_page: int, where: str) -> PageState:
    """What page 1 says about the list, bounded by what the answer justifies.

    ``meta.pages`` is never trusted alone: a list needs at most ``ceil(total / rows on
    this page)`` pages, so a one-entry list claiming 10**9 pages is read as one page.
    """
    total = _count(meta, "total", where)
    total = len(rows) if total is None else total
    claimed = _count(meta, "pages", where)
    justified = math.ceil(total / len(rows)) if rows else 1
    pages = justified if claimed is None else min(claimed, justified)
    return PageState(total=total, pages=pages, per_page=per_page, meta=meta)


@dataclass
class Listing:
    """Every page of a list, in page order, with the meta of the pass that produced it.

    ``chunks`` holds one converted chunk per page, or per run of pages when compacted (the
    raw row lists when no ``convert`` was given); ``ids`` every row's id in order.
    ``server_time`` is the earliest server time of the pass's pages: every change after it
    is visible to ``updated_since``. ``from_network``: some page was fetched;
    ``from_cache``: some page came from the HTTP cache.
    """

    chunks: list[Any]
    ids: list[Any]
    meta: dict[str, Any]
    requests: int = 0
    passes: int = 1
    notes: list[str] = field(default_factory=list)
    server_time: dt.datetime | None = None
    from_network: bool = True
    from_cache: bool = False

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict (only when the pages were not converted)."""
        return [row for chunk in self.chunks for row in chunk]


@dataclass
class _ReadPage:
    chunk: Any
    ids: list[Any]
    state: PageState
    server_time: dt.datetime | None
    from_cache: bool


def under(key: str) -> Locate:
    """The usual shape: rows under ``key``, paging in ``meta`` (time tracking, projects)."""

    def locate(body: dict[str, Any]) -> tuple[Any, Any]:  # shapes checked by the caller
        meta = body.get("meta")
        return body.get(key), {} if meta is None else meta

    return locate


def _shape(page: Page, key: str | Locate, per_page: int, id_key: str, where: str) -> tuple:
    """Rows, meta and ids of a page, or an UnexpectedAnswerError naming what is wrong."""
    if not isinstance(page.body, dict):
        raise UnexpectedAnswerError(
            f"{where}: the answer is {type(page.body).__name__}, not an object"
        )
    try:
        rows, meta = (under(key) if isinstance(key, str) else key)(page.body)
    except (AttributeError, TypeError):
        raise UnexpectedAnswerError(f"{where}: the answer does not have the list's shape") from None
    name = key if isinstance(key, str) else "the list"
    rows = [] if rows is None else rows
    if not isinstance(rows, list):
        raise UnexpectedAnswerError(f"{where}: {name} is {type(rows).__name__}, not a list")
    if not isinstance(meta, dict):
        raise UnexpectedAnswerError(f"{where}: meta is {type(meta).__name__}, not an object")
    if len(rows) > per_page:
        raise UnexpectedAnswerError(f"{where}: {len(rows)} rows on a page of {per_page}")
    ids = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise UnexpectedAnswerError(
                f"{where}: row {index + 1} is {type(row).__name__}, not an object"
            )
        value = row.get(id_key)
        if not (is_id(value) or (id_key != "id" and isinstance(value, str) and value)):
            raise UnexpectedAnswerError(
                f"{where}: row {index + 1} has {id_key} {value!r}; every row needs a positive "
                f"whole-number {id_key}"
            )
        ids.append(value)
    return rows, meta, ids


def _read_page(
    get: GetPage,
    number: int,
    key: str | Locate,
    per_page: int,
    convert: Convert | None,
    id_key: str = "id",
) -> _ReadPage:
    answer = get(number)
    page = answer if isinstance(answer, Page) else Page(answer)
    where = f"page {number} of GET {page.url.split('?')[0]}" if page.url else f"page {number}"
    rows, meta, ids = _shape(page, key, per_page, id_key, where)
    state = read_state(rows, meta, per_page, where)
    try:
        chunk = convert(rows) if convert is not None else rows
    except (ValueError, TypeError, OverflowError) as exc:  # SchemaError is a ValueError
        raise UnexpectedAnswerError(f"{where}: {exc}") from None
    return _ReadPage(chunk, ids, state, page.server_time, page.from_cache)


class _Chunks:
    """Converted pages in page order, compacted every :data:`COMPACT_EVERY` pages if asked.

    Thousands of one-page chunks fragment memory (their small buffers are scattered
    among the freed parses of later pages); joining them as they arrive lets the next
    pages reuse that memory (bench/run.py: peak load RSS 4.3x the frame before, 2.6x after).
    """

    def __init__(self, compact: Compact | None) -> None:
        self.compact = compact
        self.done: list[Any] = []
        self.window: list[Any] = []

    def add(self, item: _ReadPage) -> None:
        self.window.append(item.chunk)
        item.chunk = None
        if self.compact is not None and len(self.window) >= COMPACT_EVERY:
            self.done += self.compact(self.window)
            self.window = []

    def result(self) -> list[Any]:
        if self.compact is not None and self.window:
            self.window = self.compact(self.window)
        return self.done + self.window


def _in_order(
    read: Callable[[int], _ReadPage], numbers: Iterator[int], workers: int | Width
) -> Iterator[_ReadPage]:
    """Read pages concurrently, yielding them in page order; stop at an empty page.

    At most ``2 x workers`` pages are asked for ahead of the one yielded (``workers`` as
    it is at each step, when it adapts), so a list that claims more pages than it has
    costs a few requests, not millions of queued ones.
    """
    width = _Fixed(workers) if isinstance(workers, int) else workers
    with ThreadPoolExecutor(max_workers=max(1, width.cap)) as pool:
        pending: deque[Future[_ReadPage]] = deque()
        try:
            for number in itertools.islice(numbers, 2 * max(1, width.limit)):
                pending.append(pool.submit(read, number))
            while pending:
                item = pending.popleft().result()
                yield item
                if not item.ids:  # past the end: the rest would be empty too
                    break
                while len(pending) < 2 * max(1, width.limit):
                    upcoming = next(numbers, None)
                    if upcoming is None:
                        break
                    number = upcoming
                    pending.append(pool.submit(read, number))
        finally:
            for future in pending:
                future.cancel()


def _problems(fetched: list[_ReadPage], state: PageState) -> list[str]:
    problems = []
    totals = {f.state.total for f in fetched}
    if len(totals) > 1:
        problems.append(f"meta.total changed while paging: {sorted(totals)}")
    ids = [i for f in fetched for i in f.ids]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} duplicate ids across pages")
    if len(ids) != state.total:
        problems.append(f"{len(ids)} rows for meta.total {state.total}")
    return problems


def read_pages(
    get_page: GetPage,
    *,
    key: str | Locate,
    per_page: int,
    workers: int | Width = 4,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_passes: int = 4,
    convert: Convert | None = None,
    reread: GetPage | None = None,
    compact: Compact | None = None,
    id_key: str = "id",
) -> Listing:
    """Read pages 1..N of a list and check they form one consistent snapshot.

    Args:
        get_page: returns page ``n`` as a parsed body or a :class:`Page`.
        key: the list's key in the body (``"time_entries"``), or a :data:`Locate`.
        per_page: page size asked for (used when meta lacks ``pages``).
        workers: concurrent requests after page 1 (1: one page at a time), or a
            :class:`Width` whose limit may change while the pages are read.
        progress: called with the number of pages just finished (for a progress bar).
        on_total: called once with the number of pages of the first pass.
        max_passes: passes allowed before giving up on a list that keeps changing.
        convert: turns a page's rows into a chunk, in the worker, so the rows can go.
        reread: used instead of ``get_page`` after a failed pass (to bypass caches), and
            for pages 2..N when page 1 came from the network.
        compact: joins a run of consecutive converted chunks into fewer (in page order),
            so memory holds a few large chunks instead of one per page.
        id_key: the field every row must carry as its identity (``uuid`` for team members).

    The number of pages read is bounded by what the answers justify (``meta.total`` and
    the rows per page, see :func:`read_state`), and an empty page ends the pass early.

    Raises:
        InconsistentPagesError: the list changed during every pass.
        UnexpectedAnswerError: an answer without the list's shape or types (a broken or
            hostile server), naming the page and the field.
    """
    requests = 0
    notes: list[str] = []
    get = get_page
    for attempt in range(1, max_passes + 1):
        first = _read_page(get, 1, key=key, per_page=per_page, convert=convert, id_key=id_key)
        requests += 1
        state = first.state
        if on_total is not None and attempt == 1:
            on_total(max(state.pages, 1))
        if progress is not None:
            progress(1)
        fetched = [first]
        chunks = _Chunks(compact)
        chunks.add(first)
        numbers = iter(range(2, state.pages + 1))
        read = functools.partial(
            _read_page, key=key, per_page=per_page, convert=convert, id_key=id_key
        )
        # cached pages cost CPU, not waiting: read them here, as threads would only contend
        # for the GIL (bench/run.py: 1.8 s instead of 2.5 s for 2,000 pages)
        while fetched[-1].from_cache and (number := next(numbers, None)) is not None:
            fetched.append(read(get, number))
            chunks.add(fetched[-1])
            if progress is not None:
                progress(1)
        # a page from the network: the rest is not cached either (a cache fills in one
        # load), so skip the lookups, and never mix fresh pages with older cached ones
        get_rest = reread if reread is not None and not fetched[-1].from_cache else get
        for item in _in_order(functools.partial(read, get_rest), numbers, workers):
            fetched.append(item)
            chunks.add(item)
            if progress is not None:
                progress(1)
        requests += len(fetched) - 1
        problems = _problems(fetched, state)
        if not problems:
            times = [f.server_time for f in fetched if f.server_time is not None]
            return Listing(
                chunks=chunks.result(),
                ids=[i for f in fetched for i in f.ids],
                meta=state.meta,
                requests=requests,
                passes=attempt,
                notes=notes,
                server_time=min(times) if times else None,
                from_network=not all(f.from_cache for f in fetched),
                from_cache=any(f.from_cache for f in fetched),
            )
        notes.append(f"pass {attempt}: " + "; ".join(problems))
        get = reread or get_page
    raise InconsistentPagesError(
        f"the list kept changing while it was paged ({max_passes} passes): "
        + " | ".join(notes)
        + ". Retry when fewer writes are happening, or narrow the filters."
    )


#: Pages :func:`read_until_short` reads at most: 1,000 pages of 100 rows is far more than
#: a business has teammates or services, and a server that never sends a short page stops.
MAX_UNSIZED_PAGES = 1000


def read_until_short(
    get_page: GetPage,
    *,
    key: str | Locate,
    per_page: int,
    id_key: str = "id",
    max_pages: int = MAX_UNSIZED_PAGES,
    where: str = "the list",
) -> list[dict[str, Any]]:
    """Every row of a list that sends no ``meta`` (FreshBooks' rate lists): pages until short.

    Pages are read one at a time (the length is unknown) and checked like any page. A page
    that repeats ids of earlier pages (a server ignoring ``page``) or more than
    ``max_pages`` full pages end the read with an error instead of looping.

    Raises:
        UnexpectedAnswerError: a page without the list's shape or types, repeated ids, or
            no short page within ``max_pages``.
    """
    rows: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for number in range(1, max_pages + 1):
        page = _read_page(get_page, number, key, per_page, None, id_key)
        repeated = seen.intersection(page.ids)
        if repeated:
            raise UnexpectedAnswerError(
                f"{where}: page {number} repeats {len(repeated)} {id_key}(s) of earlier pages; "
                "the server does not seem to page this list"
            )
        seen.update(page.ids)
        rows += page.chunk
        if len(page.ids) < per_page:
            return rows
    raise UnexpectedAnswerError(
        f"{where}: no short page after {max_pages} full pages of {per_page}"
    )


@dataclass
class Changes:
    """What an ``updated_since`` answer does to a list: ids to drop, rows to upsert."""

    drop: set[Any]
    upsert: list[dict[str, Any]]

    def __bool__(self) -> bool:
        return bool(self.drop or self.upsert)


def reconcile(rows: Sequence[dict[str, Any]], *, keep_deleted: bool) -> Changes:
    """Split changed rows (``include_deleted=true``) into deletions and upserts.

    A row the server marks ``active: false`` was deleted: it is dropped unless the list
    itself includes deleted entries (``keep_deleted``), where it is upserted as inactive.
    When an id appears more than once (it changed again while paging), the last wins.
    """
    latest: dict[Any, dict[str, Any]] = {}
    for row in rows:
        latest.pop(row.get("id"), None)
        latest[row.get("id")] = row
    drop = {i for i, r in latest.items() if r.get("active") is False and not keep_deleted}
    return Changes(drop, [r for i, r in latest.items() if i not in drop])
