"""Loading: ``load_time_entries`` and the other ``load_*`` functions, API -> typed frames.

A load from the network ends with one ``updated_since`` query from the time the first
page was served (:func:`load_frame`): an entry created, changed or deleted while the
pages were read is reconciled, so the frame is exactly the server's set at the end.
Pages become frames with :mod:`fbtime.frame`.

A cached client keeps each query's frame and revalidates it at the next load: one
``updated_since`` query and one count check instead of every page, so a change made in
FreshBooks' web app shows at once (:mod:`fbtime.incremental`, whose core fbtime.sync
uses too). ``accept_stale`` serves it with no request, by choice.

:func:`connect` gives scripts and notebooks a client: a fresh local sandbox, or
FreshBooks as :class:`~fbtime.Client` finds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pandas as pd

from fbtime.api import reference
from fbtime.api.cache import snapshot_key
from fbtime.api.client import Client
from fbtime.api.paging import read_pages
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
from fbtime.incremental import (  # changes_since and count_entries: kept importable from here
    catch_up,
    changes_since,  # noqa: F401
    count_entries,  # noqa: F401
    merge_meta,
    new_state,
    page_reader,
    revalidate,
    save_snapshot,
)
from fbtime.progress import progress_bar
from fbtime.rates import Rates, projects_frame
from fbtime.weeks import business_week_start

#: Time between the server's clock on page 1 and the ``updated_since`` re-check.
VERIFY_LAG = dt.timedelta(seconds=5)


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
        frame, info = revalidate(client, snapshots, key, filters, per_page, accept_stale)
        if frame is not None:
            return frame, info
        requests, notes = info["requests"], info["notes"]
    generation = client.cache_generation()
    get_page = page_reader(client, params, per_page, True, False)
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
            # fbtime's order, not the list's (live lists newest-created first)
            frame, meta = sort_entries(chunks_to_frame(listing.chunks)), listing.meta
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
                info["meta"] = meta = merge_meta(meta, result.meta, per_page)
            if result.reason:
                notes.append(f"load {attempt + 1}: {result.reason}")
                continue
        if snapshots is not None:
            state = new_state(listing.server_time, frame, meta, generation)
            save_snapshot(client, key, frame, state, frame_too=True)
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
        frame, info = load_frame(
            client,
            filters,
            per_page=per_page,
            refresh=refresh,
            accept_stale=stale,
            progress=bar.update,
            on_total=bar.set_total,
        )
    meta = dict(info["meta"])  # every key the server sent (per-teammate and per-client totals)
    frame.attrs["fbtime"] = {
        "business_id": client.business_id,
        "base_url": client.base_url,
        "connection": client.connection_id,
        "filters": params,
        "fetched_at": info.get("checked_at", fetched_at).isoformat(),
        "meta": meta,
        "requests": info["requests"],
        "source": info["source"],
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

    ``name`` is the organization, or "first last" for a person without one;
    ``currency_code`` is the currency the client is billed in.
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
                "currency_code": c.get("currency_code"),
            }
        )
    columns = {"id": "Int64", "name": "str", "email": "str", "active": "boolean",
               "currency_code": "str"}  # fmt: skip
    return _frame(rows, columns)


def load_projects(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's projects: indexed by project ``id``, with every field the API sends.

    ``name`` (the title) and ``client_id`` label entries; the billing fields
    (``project_type``, ``billing_method``, ``rate``, ``fixed_price``, ``budget`` in seconds,
    ``billed_amount``, ``billed_status``) are typed as :func:`fbtime.rates.projects_frame`
    says: money as exact decimals.
    """
    client = client or Client()
    return projects_frame(reference.list_projects(client, refresh=refresh))


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


#: Columns of :func:`load_team`, and their dtypes (the index is ``identity_id``).
TEAM_COLUMNS: dict[str, str] = {
    "name": "str", "first_name": "str", "last_name": "str", "email": "str", "role": "str",
    "job_title": "str", "active": "boolean", "source": "str",
}  # fmt: skip


def _text(row: dict[str, Any], name: str, where: str) -> str | None:
    value = row.get(name)
    if value is not None and not isinstance(value, str):
        raise UnexpectedAnswerError(f"{where}: {name} is {value!r}, not text")
    return value or None


def _person(row: dict[str, Any], source: str, where: str) -> dict[str, Any]:
    first, last = _text(row, "first_name", where), _text(row, "last_name", where)
    active = row.get("active")
    if active is not None and not isinstance(active, bool):
        raise UnexpectedAnswerError(f"{where}: active is {active!r}, not true or false")
    role = _text(row, "business_role_name", where) or _text(row, "role", where)
    return {
        "name": " ".join(p.strip() for p in (first, last) if p and p.strip()) or None,
        "first_name": first, "last_name": last, "email": _text(row, "email", where),
        "role": role, "job_title": _text(row, "job_title", where), "active": active,
        "source": source,
    }  # fmt: skip


def _identity(row: dict[str, Any], where: str) -> int | None:
    ident = row.get("identity_id")
    if ident is None:
        return None
    if isinstance(ident, bool) or not isinstance(ident, int) or ident <= 0:
        raise UnexpectedAnswerError(f"{where}: identity_id is {ident!r}, not a positive id")
    return ident


def load_team(
    client: Client | None = None, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> pd.DataFrame:
    """Load the team: one row per ``identity_id`` with the teammate's ``name``.

    The merge rule (facts sheet): the team-members list
    (``/auth/api/v1/businesses/{bid}/team_members``) and the staff list
    (``/auth/api/v1/users/business/{bid}``) are merged by ``identity_id``; the team-members
    row wins and the staff row fills what it lacks (``source`` says which list named the
    teammate). ``name`` is "first last". Pending invitations (no ``identity_id`` yet) log
    no time and are left out. Former teammates are in neither list: pass this frame to
    ``with_names(team=...)``, which names them ``Unknown (<id>)``.

    Both lists are paged, bounded, type-checked and cached like time entries.

    Returns:
        A frame indexed by ``identity_id`` (``Int64``) with :data:`TEAM_COLUMNS`; an
        empty team has the same columns and dtypes.

    Raises:
        QueryError: ``per_page`` outside 1..100 (before any request).
        UnexpectedAnswerError: an answer without the lists' shape or types.
    """
    check_per_page(per_page)
    client = client or Client()
    members = reference.list_team_members(client, refresh=refresh, per_page=per_page)
    staff = reference.list_staff(client, refresh=refresh, per_page=per_page)
    people: dict[int, dict[str, Any]] = {}
    for rows, source in ((members, "team_members"), (staff, "staff")):
        for row in rows:
            where = f"{source} row {row.get('uuid') or row.get('id')!r}"
            ident = _identity(row, where)
            if ident is None:
                continue  # an invitation not accepted yet: no identity logs time
            found = _person(row, source, where)
            known = people.setdefault(ident, found)
            for key, value in found.items():
                if known.get(key) is None:
                    known[key] = value
    frame = pd.DataFrame.from_dict(people, orient="index", columns=list(TEAM_COLUMNS))
    frame = frame.astype(TEAM_COLUMNS)
    frame.index = pd.Index(frame.index, dtype="Int64", name="identity_id")
    return frame


def load_rates(
    client: Client | None = None, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> Rates:
    """Load what amounts need: rates, projects' billing fields and the business currency.

    Reads ``GET /comments/business/{bid}/team_member_rates`` and ``.../service_rates``,
    the projects list with ``include_logged_duration=true`` (for budgets), the clients
    (their ``currency_code``) and the business's system record (its currency, where it can
    be read; see :func:`fbtime.api.reference.business_currency`). Paged, bounded, typed and
    cached like time entries. The business standard rate has no endpoint: give it to
    ``with_rates(standard_rate=...)``.

    Returns:
        A :class:`fbtime.rates.Rates` for ``df.fbtime.with_rates(rates)``.

    Raises:
        QueryError: ``per_page`` outside 1..100 (before any request).
        UnexpectedAnswerError: a rate, amount or currency of the wrong type or range.

    Example:
        >>> rates = fbtime.load_rates(client)
        >>> rates
        Rates(14 projects, 6 team-member rates, 5 service rates, currency='CAD')
        >>> df = df.fbtime.with_rates(rates, standard_rate=100)
    """
    check_per_page(per_page)
    client = client or Client()
    team = reference.list_team_member_rates(client, refresh=refresh, per_page=per_page)
    services = reference.list_service_rates(client, refresh=refresh, per_page=per_page)
    projects = reference.list_projects(
        client, refresh=refresh, logged_duration=True, per_page=per_page
    )
    try:
        clients = reference.list_clients(client, refresh=refresh)
    except ConfigError:  # no accounting account: client currencies cannot be read
        clients = []
    currency = reference.business_currency(client, refresh=refresh)
    return Rates.from_api(projects=projects, team_member_rates=team, service_rates=services,
                          clients=clients, currency=currency)  # fmt: skip


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
