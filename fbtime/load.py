"""Loading time entries: ``load_time_entries``, API -> one typed frame.

A load from the network reads each page once and ends with one ``updated_since`` query
from the time the first page was served (:func:`load_frame`): an entry created, changed
or deleted while the pages were read is reconciled, and rows a change hid are read again
where they were (a long list is read in ``started_at`` windows), so the frame is exactly
the server's set at the end. Pages become frames with :mod:`fbtime.frame`.

A cached client keeps each query's frame and revalidates it at the next load: one
``updated_since`` query and one count check instead of every page, so a change made in
FreshBooks' web app shows at once (:mod:`fbtime.incremental`, whose core fbtime.sync
uses too). ``accept_stale`` serves it with no request, by choice.

:func:`connect` gives scripts and notebooks a client: a fresh local sandbox, or
FreshBooks as :class:`~fbtime.Client` finds it. The lists around entries (clients,
projects, the team, rates) are loaded by :mod:`fbtime.reference`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import pandas as pd

from fbtime import incremental
from fbtime.api.client import Client
from fbtime.api.query import FILTERS, DateLike, check_per_page, encode_filters
from fbtime.config import DEFAULT_PER_PAGE, check_seconds
from fbtime.errors import (
    ConfigError,
    InconsistentPagesError,
    QueryError,
    SchemaError,
    UnexpectedAnswerError,
)
from fbtime.frame import chunks_to_frame, compact_chunks, page_chunk, sort_entries
from fbtime.incremental import (
    VERIFY_LAG,
    Loaded,
    catch_up,
    merge_meta,
    new_state,
    recount,
    revalidate,
    settle_windows,
)
from fbtime.progress import progress_bar
from fbtime.weeks import business_week_start


def load_frame(
    client: Client,
    params: Mapping[str, str],
    *,
    per_page: int = DEFAULT_PER_PAGE,
    refresh: bool = False,
    keep: bool = True,
    accept_stale: dt.timedelta | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_attempts: int = 3,
) -> Loaded:
    """Load every page of the query ``params`` into a frame, reconciling changes meanwhile.

    With a cached client (and ``keep``), the query's snapshot is revalidated first (see
    the module docstring); ``refresh=True`` skips it. After a load that read the pages,
    entries changed since page 1 was served (less :data:`VERIFY_LAG`) are fetched with
    ``updated_since`` and applied; then the server's count must match (a list read in
    windows is settled part by part, :func:`~fbtime.incremental.settle_windows`, and
    never read again whole for a write), else the pages are read again. With ``keep``,
    the frame becomes the query's snapshot.

    Raises:
        InconsistentPagesError: the list kept changing through ``max_attempts`` loads.
    """
    path = client.snapshot_path(params) if keep else None
    requests, notes = 0, []
    if path is not None and not refresh:
        found = revalidate(client, path, params, per_page, accept_stale)
        if isinstance(found, Loaded):
            found.tell(client)
            return found
        requests, notes = found.requests, found.notes
    passes = 0
    for attempt in range(max_attempts):
        listing = client.time_entries.pages(
            params,
            per_page=per_page,
            progress=progress if attempt == 0 else None,
            on_total=on_total if attempt == 0 else None,
            convert=page_chunk,
            compact=compact_chunks,
            tell=False,  # said once below, after the count is checked again
            repeats=True,  # dropped below; the count check confirms nothing was lost
        )
        requests, passes = requests + listing.requests, passes + listing.passes
        notes += listing.notes
        try:
            frame = chunks_to_frame(listing.chunks)
        except SchemaError as exc:  # a time the server sent that is no time
            raise UnexpectedAnswerError(f"GET {client.time_entries.path}: {exc}") from None
        del listing.chunks[:]
        if not frame.index.is_unique:  # rows pushed down a page, or a start that moved
            frame = frame[~frame.index.duplicated(keep="last")]
        frame = sort_entries(frame)
        loaded = Loaded(
            frame,
            listing.meta,
            requests,
            passes,
            listing.server_time,
            "network",
            notes=notes,
            unreadable=listing.unreadable,
        )
        if listing.server_time is None:
            loaded.tell(client)
            return loaded
        if len(listing.windows) > 1:  # read in windows: settled window by window
            since = listing.server_time - VERIFY_LAG
            settled = settle_windows(
                client, frame, params, since, listing.windows, per_page=per_page
            )
            loaded.requests = requests = requests + settled.requests
            loaded.frame, loaded.unreadable = settled.frame, settled.unreadable
            if settled.meta is not None:
                loaded.meta = merge_meta(loaded.meta, settled.meta, per_page)
            if settled.reason:
                notes.append(f"load {attempt + 1}: {settled.reason}")
                continue
            # what the windows' counts and the last query settled on, with no row unread
            total = len(settled.frame) + settled.unreadable
            loaded.meta = {**loaded.meta, "total": total, "pages": -(-total // per_page)}
        elif listing.requests > 1:  # one answer is one consistent read: nothing to reconcile
            since = listing.server_time - VERIFY_LAG
            result = catch_up(
                client,
                frame,
                params,
                since,
                per_page=per_page,
                count=False,
                unreadable=listing.unreadable,
                settle=listing.changed,
            )
            loaded.requests = requests = requests + result.requests
            for _ in range(2):  # rows a delete shifted out of sight: read where they were
                if not (result.reason and listing.changed and result.server_time):
                    break
                notes.append(f"load {attempt + 1}: {result.reason}; windows counted again")
                fixed = recount(client, result.frame, params, listing.windows, per_page=per_page)
                since = result.server_time - VERIFY_LAG
                result = catch_up(
                    client,
                    fixed.frame,
                    params,
                    since,
                    per_page=per_page,
                    unreadable=fixed.unreadable,
                    settle=True,
                )
                loaded.requests = requests = requests + fixed.requests + result.requests
                loaded.unreadable = fixed.unreadable
            loaded.frame = result.frame
            if result.meta is not None:
                loaded.meta = merge_meta(loaded.meta, result.meta, per_page)
            if result.reason:
                notes.append(f"load {attempt + 1}: {result.reason}")
                continue
        if path is not None:
            incremental.keep(path, loaded, new_state(client, params, loaded))
        loaded.tell(client)
        return loaded
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
        totals, ``requests`` sent, ``source`` (``"network"``, ``"revalidated"`` or
        ``"cache"``) and the business's ``week_start`` (``"monday"``/``"sunday"``; None
        until the client has asked, see :mod:`fbtime.weeks`). An empty result has the same
        columns and dtypes.

    Raises:
        QueryError: an unknown filter, or a bad date, id, page size or ``accept_stale``
            (before any request).
        ConfigError: no token or business id could be found.
        APIError: the API refused (see :mod:`fbtime.errors`).

    Example:
        >>> df = fbtime.load_time_entries(client, team=True, started_from="2026-11-23")
        >>> len(df), df.attrs["fbtime"]["meta"]["total"]
        (133, 133)
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
        loaded = load_frame(
            client,
            params,
            per_page=per_page,
            refresh=refresh,
            accept_stale=stale,
            progress=bar.update,
            on_total=bar.set_total,
        )
    frame = loaded.frame
    frame.attrs["fbtime"] = {
        "business_id": client.business_id,
        "base_url": client.base_url,
        "connection": client.connection_id,
        "filters": params,
        "fetched_at": (loaded.checked_at or fetched_at).isoformat(),
        "meta": dict(loaded.meta),  # every key the server sent (per teammate, per client)
        "requests": loaded.requests,
        "source": loaded.source,
        # if the client knows it already: a load sends no request for it (fbtime.weeks)
        "week_start": business_week_start(client, ask=False),
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
        self.bar = progress_bar(total=pages, unit="page", desc="time entries")

    def update(self, n: int) -> None:
        if self.bar is None:
            return
        self.bar.update(n)
        now = time.monotonic()
        if self.client is not None and now - self._shown >= 0.5:  # tqdm redraws ~10/s
            self._shown = now
            self.bar.set_postfix_str(self.status(self.client))

    def status(self, client: Client) -> str:
        """``"16 in flight, 310 req/s"`` (and the published limit, when there is one)."""
        window, rate = client.limiter.window, self.bar.format_dict.get("rate") or 0.0
        text = f"{client.limiter.in_flight} in flight, {rate:.0f} req/s"
        return text + (f", limit {window.limit}/window" if window is not None else "")

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


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
