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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
class Window:
    """A ``started_at`` window of a list: from ``lo`` to ``hi``, both inclusive (None:
    open), the rows its count held that could not be read, and whether it changed while
    it was read (only such a window can have lost a row)."""

    lo: dt.datetime | None
    hi: dt.datetime | None
    unreadable: int = 0
    changed: bool = False


@dataclass
class Listing:
    """Every page of a list, in page order, with the meta of the pass that produced it.

    ``chunks`` holds one converted chunk per page, or per run of pages when compacted (the
    raw row lists when no ``convert`` was given); ``ids`` every row's id in order.
    ``server_time`` is the earliest server time of the pass's pages: every change after it
    is visible to ``updated_since``. ``unreadable``: rows ``meta.total`` counts beyond
    those the stable pages held (rows the token cannot read). ``changed``: a pass read
    with ``repeats`` showed the list changing. ``windows``: the ``started_at`` windows
    it was read in (:func:`read_windows`), each of which can be counted and read again.
    """

    chunks: list[Any]
    ids: list[Any]
    meta: dict[str, Any]
    requests: int = 0
    passes: int = 1
    notes: list[str] = field(default_factory=list)
    server_time: dt.datetime | None = None
    unreadable: int = 0
    changed: bool = False
    windows: list[Window] = field(default_factory=list)

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
    ran_out = len(fetched[-1].ids) < len(first.ids) or not fetched[-1].ids
    if not problems and short > 0 and ran_out:  # stable pages that ended early: a count
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
    first: Page | None = None,
    repeats: bool = False,
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
        first: page 1, already read (it counts as a request of the first pass).
        repeats: read once and return the pass whatever it shows (``changed`` says if
            the list changed meanwhile; ids may repeat, rows may be missing): for a caller
            that drops repeats and counts afterwards, re-reading only what moved.

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
    given = first
    for attempt in range(1, max_passes + 1):
        first, given = given or read(1), None
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
        if problems and repeats:
            notes.append("the list changed while read: " + "; ".join(problems))
        if not problems or repeats:
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
                server_time=min(times) if times else None,
                unreadable=unreadable,
                notes=notes,
                changed=bool(problems),
            )
        notes.append(f"pass {attempt}: " + "; ".join(problems))
    raise InconsistentPagesError(
        f"the list kept changing while it was paged ({max_passes} passes): "
        + " | ".join(notes)
        + ". Retry when fewer writes are happening, or narrow the filters."
    )


#: A list of more rows than this is read in windows (:func:`read_windows`): shorter ones
#: take a round or two of requests (24 pages of 100), in which a change is unlikely and
#: cheap to read again.
WINDOWED_FROM = 2400
#: A window aims at this many pages (more for a very long list), and is cut in shorter
#: ones when it holds more than twice as many. Smaller windows cost a change less to read
#: again, but more partly filled pages (with a busy team, 6 cost fewer requests than 8 or 10).
WINDOW_PAGES = 6
#: Windows found at once at most (their page 1 each, a quarter of the workers; the others
#: read the pages of windows already found), and a long list is read in MAX_WINDOWS
#: windows at most (they grow to fit).
WINDOWS_AT_ONCE = 8
MAX_WINDOWS = 64
#: The first window's span when nothing is known yet: the data are assumed to cover a year.
ASSUMED_SPAN = dt.timedelta(days=365)
#: Windows start no earlier than this: everything older is read as one last window.
OLDEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


def _split(
    lo: dt.datetime | None,
    hi: dt.datetime | None,
    bottom: dt.datetime,
    top: dt.datetime,
    total: int,
    target: int,
) -> list[tuple[dt.datetime | None, dt.datetime | None]]:
    """A window too long, cut in equal spans of time, newest first (open ends stay open)."""
    pieces = min(WINDOWS_AT_ONCE, max(2, math.ceil(total / target)))
    step = max(SECOND, (top - bottom) / pieces)
    cuts = [top - step * n for n in range(1, pieces)]
    cuts = [c.replace(microsecond=0) for c in cuts if bottom < c < top]
    edges: list[dt.datetime | None] = [hi, *cuts]
    return [
        (cut, upper if upper is None or upper == hi else upper - SECOND)
        for upper, cut in zip(edges, [*cuts, lo], strict=True)
    ]


#: ``(lo, hi)`` -> the getter of that window's pages: rows from ``lo`` to ``hi``, both
#: inclusive (None: open), within the list's own bounds.
WindowGetter = Callable[["dt.datetime | None", "dt.datetime | None"], GetPage]


def read_windows(
    window: WindowGetter,
    first: Page,
    *,
    now: dt.datetime,
    start: dt.datetime | None = None,
    key: str | Locate,
    per_page: int,
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
    convert: Convert | None = None,
    compact: Compact | None = None,
) -> Listing:
    """Read a long list as consecutive time windows, newest first, each its own query.

    An entry created or deleted while a long list is paged shifts every row after it, so
    one change meant reading every page again, and a busy team at the rate limit could
    keep a load from ever finishing. Here each window (``started_at`` from ``lo`` to
    ``hi``) is its own query with its own ``meta.total``, read once (``repeats``: ids may
    repeat). The caller brings the whole up to date with an ``updated_since`` query from
    :attr:`Listing.server_time`, then settles it part by part from the windows
    (:attr:`Listing.windows`, :func:`fbtime.incremental.settle_windows`): a change costs
    a count or two, and a lost row a few counts and one page, never every page.

    Windows are found newest first, up to :data:`WINDOWS_AT_ONCE` at a time, one request
    each (their page 1, which is kept), while one pool reads the other pages of the
    windows already found (``workers`` requests in flight in all): the next spans follow
    what the windows so far held
    (aiming at :data:`WINDOW_PAGES` pages, more for a list so long that it would need over
    :data:`MAX_WINDOWS`), a window of more than twice that is cut in shorter ones, and
    once ``first.total`` is nearly accounted for (or before :data:`OLDEST`) the rest is
    one last window.

    Args:
        window: the getter of a window's pages.
        first: page 1 of the whole list (its ``total`` sizes the windows).
        now: the newest a window's span starts from (the server's time).
        start: the list's own earliest ``started_at`` (None: none).
        The others are :func:`read_pages`'.
    """
    pages_each = max(WINDOW_PAGES, math.ceil(first.pages / MAX_WINDOWS))
    target = pages_each * per_page
    read = functools.partial(read_page, key=key, per_page=per_page, convert=convert)
    span = ASSUMED_SPAN * target / max(first.total, 1)
    hi: dt.datetime | None = None
    left, requests, counted, going = first.total, 1, 0, True
    seen_rows, seen_seconds = 0, 0.0  # what the bounded windows held, for the next spans
    ranges: deque[tuple[dt.datetime | None, dt.datetime | None]] = deque()  # cut, to probe
    found: list[tuple[Window, Page, list[Future[Page]]]] = []
    probes_at_once = max(1, min(WINDOWS_AT_ONCE, workers // 4))
    with (
        ThreadPoolExecutor(max_workers=probes_at_once) as probing,
        ThreadPoolExecutor(max_workers=max(1, workers - probes_at_once)) as pool,
    ):
        for wave_number in itertools.count():
            if not (ranges or going):
                break
            wave: list[tuple[dt.datetime | None, dt.datetime | None]] = []
            planned = 0  # rows the new spans of this wave are expected to hold
            while len(wave) < min(WINDOWS_AT_ONCE, 2**wave_number) and (ranges or going):
                if ranges:
                    wave.append(ranges.popleft())
                    continue
                lo: dt.datetime | None = (hi or now) - span
                planned += target
                rest = left - planned <= 0 or requests + len(wave) > 4 * MAX_WINDOWS
                if rest or lo <= OLDEST or (start is not None and lo <= start):  # type: ignore[operator]
                    lo, going = start, False  # the rest, down to the list's own start
                wave.append((lo, hi))
                hi = lo - SECOND if lo is not None else hi
            # probe only as far ahead as keeps the pool busy: a window is open (page 1 read,
            # the rest not) briefly, so a teammate's write seldom lands in one; at a rate
            # limit, probing far ahead would keep every window open through the whole load
            while len(pending := [f for *_, fs in found for f in fs if not f.done()]) > workers:
                wait(pending, return_when=FIRST_COMPLETED)
            probes = list(probing.map(lambda w: read(window(*w), 1), wave))  # page 1 of each
            requests += len(probes)
            for (lo, top_), page in zip(wave, probes, strict=True):
                top, bottom = top_ or now, lo or min(OLDEST, (top_ or now) - span)
                lying = counted > 2 * (first.total + target) or requests > 4 * MAX_WINDOWS
                pieces = _split(lo, top_, bottom, top, page.total, target)
                if page.total > 2 * target and len(pieces) > 1 and not lying:
                    ranges.extendleft(reversed(pieces))  # too long: cut, and probed again
                    continue
                left, counted = left - page.total, counted + page.total
                get = window(lo, top_)
                numbers = range(2, min(page.pages, 4 * pages_each) + 1)  # a lie costs 4x at most
                rest_of = [pool.submit(read, get, n) for n in numbers]
                if progress is not None:
                    progress(1)
                    for future in rest_of:
                        future.add_done_callback(lambda _: progress(1))
                found.append((Window(lo, top_), page, rest_of))
                if lo is not None:
                    seen_rows += page.total
                    seen_seconds += max(top - bottom, SECOND).total_seconds()
            if seen_rows:  # the next spans follow what the windows so far held
                wanted = target * seen_seconds / seen_rows
                span = dt.timedelta(seconds=min(4 * span.total_seconds(), max(wanted, 1.0)))
            elif not going and not ranges:
                break
        listing = Listing(chunks=[], ids=[], meta=first.meta, server_time=first.server_time)
        for n, (frame_window, page, rest_of) in enumerate(found, start=1):
            fetched = [page, *(future.result() for future in rest_of)]
            requests += len(rest_of)
            problems, frame_window.unreadable = _problems(fetched, page)
            frame_window.changed = bool(problems)
            if problems:
                listing.notes.append(f"window {n} changed while read: " + "; ".join(problems))
            chunks = _Chunks(compact)
            for item in fetched:
                chunks.add(item)
            listing.chunks += chunks.result()
            listing.ids += [i for item in fetched for i in item.ids]
            times = [t for t in (listing.server_time, *(f.server_time for f in fetched)) if t]
            listing.server_time = min(times) if times else None
            listing.windows.append(frame_window)
    listing.requests = requests
    listing.unreadable = sum(w.unreadable for w in listing.windows)
    listing.changed = any(w.changed for w in listing.windows)
    return listing


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
