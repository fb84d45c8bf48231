"""Every page of a list endpoint: one page record, one getter, one reader. No pandas here.

As in dlt's REST client (``PageData`` and ``paginate()``), a :class:`Page` carries its
request (which page, which URL), its answer (rows, the server's time) and what it says
about the whole list (``meta.total`` and the pages that justifies). :func:`page_getter`
is the one way a list page is asked for, whichever endpoint; :func:`read_pages` reads
page 1, then the rest concurrently, rows in page order whatever order the pages arrive
in. Each page can be turned into a compact chunk (``convert``) by the worker that read
it, so memory holds chunks and ids, never every row as a dict.

Page-number paging gives no consistent view: an entry created or deleted while paging
shifts rows across pages, so a row can be seen twice or not at all. :func:`read_pages`
notices (``meta.total`` changing between pages, duplicate ids, a row count that differs
from ``meta.total``) and pages again until one pass is consistent, or raises
:class:`InconsistentPagesError` after a few passes. One disagreement is not a change: a
``meta.total`` that counts rows the token cannot read (seen live on accounting lists).
When every page agrees on the total, no id repeats and the pages simply run out early,
the rows read are every readable row: :attr:`Listing.unreadable` says how many the
server counted beyond them, and an :class:`IncompleteListWarning` names both numbers.
Changes that leave no trace in the pages are the caller's to catch, with an
``updated_since`` query from :attr:`Listing.server_time` (see
:func:`fbtime.load.load_frame`); :func:`reconcile` says what such a query changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import math
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fbtime.config import is_count, is_id
from fbtime.errors import InconsistentPagesError, UnexpectedAnswerError

if TYPE_CHECKING:
    from fbtime.api.client import Client

log = logging.getLogger("fbtime")


class Answered(Protocol):
    """What a page getter returns (:class:`fbtime.api.client.Answer`): a parsed body, the
    server's time and the URL that answered."""

    @property
    def body(self) -> Any: ...
    @property
    def server_time(self) -> dt.datetime | None: ...
    @property
    def url(self) -> str: ...


GetPage = Callable[[int], "Answered | dict[str, Any]"]
#: Where a body keeps its rows and its paging meta: ``body -> (rows, meta)``.
Locate = Callable[[dict[str, Any]], "tuple[Any, Any]"]  # checked by _page
Convert = Callable[[list[dict[str, Any]]], Any]
Compact = Callable[[list[Any]], list[Any]]
#: Converted pages are compacted in runs of this many (see ``compact`` in :func:`read_pages`).
COMPACT_EVERY = 20


def page_getter(
    client: Client,
    path: str,
    params: Mapping[str, str],
    per_page: int,
    *,
    cached: bool = False,
    refresh: bool = False,
) -> Callable[[int], Answered]:
    """The getter of page ``n`` of the list at ``path`` with ``params`` (every list's).

    ``cached``: through the client's HTTP cache (reference lists); time-entry lists never
    are (their cache is a snapshot, :mod:`fbtime.snapshot`).
    """

    def get(number: int) -> Answered:
        query = {**params, "page": str(number), "per_page": str(per_page)}
        return client.send("GET", path, params=query, cached=cached, refresh=refresh)

    return get


@dataclass
class Page:
    """One page of a list: which page, what came back, and what it says about the list.

    Attributes:
        number: the page asked for (1 is the first).
        rows: the rows, or the chunk ``convert`` made of them.
        ids: every row's id, in order.
        total: ``meta.total`` (the rows' count when the list sends none).
        pages: the pages the list needs, bounded by what the answer justifies.
        meta: the answer's paging ``meta`` as sent.
        server_time: when the server answered (None for a bare body).
        url: the URL that answered (for messages; it never holds a token).
    """

    number: int
    rows: Any
    ids: list[Any]
    total: int
    pages: int
    meta: dict[str, Any]
    server_time: dt.datetime | None = None
    url: str = ""


class IncompleteListWarning(UserWarning):
    """The server counts more rows than the token can read (``meta.total`` above the rows
    of stable pages): every readable row was loaded, the rest cannot be."""


def tell_unreadable(where: str, total: int, read: int) -> None:
    """Say that ``where`` counted ``total`` rows of which ``read`` could be read."""
    message = (
        f"{where}: the server counts {total:,} rows but {read:,} could be read, on pages "
        "that did not change; the token may not see every row (the others were loaded)"
    )
    log.warning(message)
    warnings.warn(message, IncompleteListWarning, stacklevel=3)


@dataclass
class Listing:
    """Every page of a list, in page order, with the meta of the pass that produced it.

    ``chunks`` holds one converted chunk per page, or per run of pages when compacted (the
    raw row lists when no ``convert`` was given); ``ids`` every row's id in order.
    ``server_time`` is the earliest server time of the pass's pages: every change after it
    is visible to ``updated_since``. ``unreadable``: rows ``meta.total`` counts beyond
    those the stable pages held (rows the token cannot read).
    """

    chunks: list[Any]
    ids: list[Any]
    meta: dict[str, Any]
    requests: int = 0
    passes: int = 1
    notes: list[str] = field(default_factory=list)
    server_time: dt.datetime | None = None
    unreadable: int = 0

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict (only when the pages were not converted)."""
        return [row for chunk in self.chunks for row in chunk]


def under(key: str) -> Locate:
    """The usual shape: rows under ``key``, paging in ``meta`` (time tracking, projects)."""

    def locate(body: dict[str, Any]) -> tuple[Any, Any]:  # shapes checked by the caller
        meta = body.get("meta")
        return body.get(key), {} if meta is None else meta

    return locate


def _count(meta: dict[str, Any], name: str, where: str) -> int | None:
    value = meta.get(name)
    if value is not None and not is_count(value):
        raise UnexpectedAnswerError(f"{where}: meta.{name} is {value!r}, not a count")
    return value


def read_page(
    get: GetPage,
    number: int,
    *,
    key: str | Locate,
    per_page: int,
    convert: Convert | None = None,
    id_key: str = "id",
) -> Page:
    """Page ``number``, its shape and types checked, or an UnexpectedAnswerError naming it.

    ``meta.pages`` is never trusted alone: a list needs at most ``ceil(total / rows on
    this page)`` pages, so a one-entry list claiming 10**9 pages is read as one page.
    """
    answer = get(number)
    body = answer if isinstance(answer, dict) else answer.body
    url = "" if isinstance(answer, dict) else answer.url
    where = f"page {number} of GET {url.split('?')[0]}" if url else f"page {number}"
    if not isinstance(body, dict):
        raise UnexpectedAnswerError(f"{where}: the answer is {type(body).__name__}, not an object")
    try:
        rows, meta = (under(key) if isinstance(key, str) else key)(body)
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
        if not (is_id(value) or (id_key == "uuid" and isinstance(value, str) and value)):
            raise UnexpectedAnswerError(
                f"{where}: row {index + 1} has {id_key} {value!r}; every row needs a positive "
                f"whole-number {id_key}"
            )
        ids.append(value)
    total = _count(meta, "total", where)
    total = len(rows) if total is None else total
    claimed = _count(meta, "pages", where)
    justified = math.ceil(total / len(rows)) if rows else 1
    pages = justified if claimed is None else min(claimed, justified)
    try:
        chunk = convert(rows) if convert is not None else rows
    except (ValueError, TypeError, OverflowError) as exc:  # SchemaError is a ValueError
        raise UnexpectedAnswerError(f"{where}: {exc}") from None
    time = None if isinstance(answer, dict) else answer.server_time
    return Page(number, chunk, ids, total, pages, meta, time, url)


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

    def add(self, page: Page) -> None:
        self.window.append(page.rows)
        page.rows = None
        if self.compact is not None and len(self.window) >= COMPACT_EVERY:
            self.done += self.compact(self.window)
            self.window = []

    def result(self) -> list[Any]:
        if self.compact is not None and self.window:
            self.window = self.compact(self.window)
        return self.done + self.window


def _in_order(read: Callable[[int], Page], numbers: Iterator[int], workers: int) -> Iterator[Page]:
    """Read pages concurrently, yielding them in page order; stop at an empty page.

    At most ``2 x workers`` pages are asked for ahead of the one yielded, so a list that
    claims more pages than it has costs a few requests, not millions of queued ones.
    """
    ahead = 2 * max(1, workers)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending: deque[Future[Page]] = deque(
            pool.submit(read, n) for n in itertools.islice(numbers, ahead)
        )
        try:
            while pending:
                page = pending.popleft().result()
                yield page
                if not page.ids:  # past the end: the rest would be empty too
                    break
                for number in itertools.islice(numbers, ahead - len(pending)):
                    pending.append(pool.submit(read, number))
        finally:
            for future in pending:
                future.cancel()


def _problems(fetched: list[Page], first: Page) -> tuple[list[str], int]:
    """What shows the list changed while paged, and the rows counted but not readable."""
    problems = []
    totals = {page.total for page in fetched}
    if len(totals) > 1:
        problems.append(f"meta.total changed while paging: {sorted(totals)}")
    ids = [i for page in fetched for i in page.ids]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} duplicate ids across pages")
    short = first.total - len(ids)
    if not problems and short > 0:  # stable pages that ran out early: a count, not a change
        return [], short
    if len(ids) != first.total:
        problems.append(f"{len(ids)} rows for meta.total {first.total}")
    return problems, 0


def read_pages(
    get_page: GetPage,
    *,
    key: str | Locate,
    per_page: int,
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_passes: int = 4,
    convert: Convert | None = None,
    compact: Compact | None = None,
    id_key: str = "id",
    tell: bool = True,
) -> Listing:
    """Read pages 1..N of a list and check they form one consistent read of it.

    Args:
        get_page: returns page ``n`` (:func:`page_getter`), or its parsed body.
        key: the list's key in the body (``"time_entries"``), or a :data:`Locate`.
        per_page: page size asked for (used when meta lacks ``pages``).
        workers: concurrent requests after page 1 (1: one page at a time).
        progress: called with the number of pages just finished (for a progress bar).
        on_total: called once with the number of pages of the first pass.
        max_passes: passes allowed before giving up on a list that keeps changing.
        convert: turns a page's rows into a chunk, in the worker, so the rows can go.
        compact: joins a run of consecutive converted chunks into fewer (in page order),
            so memory holds a few large chunks instead of one per page.
        id_key: the field every row must carry as its identity, an id (``uuid``, for team
            members, is text).
        tell: warn when the server counts rows the pages do not hold (the caller may
            rather say so once, after checking the count again).

    The number of pages read is bounded by what the answers justify (``meta.total`` and
    the rows per page, see :func:`read_page`), and an empty page ends the pass early.

    Raises:
        InconsistentPagesError: the list changed during every pass.
        UnexpectedAnswerError: an answer without the list's shape or types (a broken or
            hostile server), naming the page and the field.
    """
    requests = 0
    notes: list[str] = []
    read = functools.partial(
        read_page, get_page, key=key, per_page=per_page, convert=convert, id_key=id_key
    )
    for attempt in range(1, max_passes + 1):
        first = read(1)
        if on_total is not None and attempt == 1:
            on_total(max(first.pages, 1))
        fetched, chunks = [first], _Chunks(compact)
        chunks.add(first)
        if progress is not None:
            progress(1)
        for page in _in_order(read, iter(range(2, first.pages + 1)), workers):
            fetched.append(page)
            chunks.add(page)
            if progress is not None:
                progress(1)
        requests += len(fetched)
        problems, unreadable = _problems(fetched, first)
        if not problems:
            times = [page.server_time for page in fetched if page.server_time is not None]
            if unreadable and tell:
                tell_unreadable(
                    f"GET {first.url.split('?')[0]}", first.total, first.total - unreadable
                )
            return Listing(
                chunks=chunks.result(),
                ids=[i for page in fetched for i in page.ids],
                meta=first.meta,
                requests=requests,
                passes=attempt,
                notes=notes,
                server_time=min(times) if times else None,
                unreadable=unreadable,
            )
        notes.append(f"pass {attempt}: " + "; ".join(problems))
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
        page = read_page(get_page, number, key=key, per_page=per_page, id_key=id_key)
        repeated = seen.intersection(page.ids)
        if repeated:
            raise UnexpectedAnswerError(
                f"{where}: page {number} repeats {len(repeated)} {id_key}(s) of earlier pages; "
                "the server does not seem to page this list"
            )
        seen.update(page.ids)
        rows += page.rows
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
