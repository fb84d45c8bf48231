"""``client.time_entries``: get, list, create, update and delete one business's entries.

Updates are GET -> merge -> PUT of the full writable set (:mod:`fbtime.api.fields`),
because sources disagree on whether FreshBooks' PUT is partial: sending every writable
field is right either way. Field values are checked before anything is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fbtime.api.fields import check_fields, writable_payload
from fbtime.api.paging import (
    WINDOWED_FROM,
    Changes,
    Compact,
    Convert,
    GetPage,
    Listing,
    Window,
    page_getter,
    read_page,
    read_pages,
    read_windows,
    reconcile,
    tell_unreadable,
)
from fbtime.api.query import check_per_page, encode_filters, format_utc, to_id, to_utc
from fbtime.config import DEFAULT_PER_PAGE, is_id
from fbtime.errors import UnexpectedAnswerError

if TYPE_CHECKING:
    from fbtime.api.client import Client


class TimeEntries:
    """The time-entries endpoint of one business (``client.time_entries``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    @property
    def path(self) -> str:
        return f"/timetracking/business/{self._client.business_id}/time_entries"

    def get(self, entry_id: int | str) -> dict[str, Any]:
        """Return one entry (a dict in the API's shape), as the server has it now.

        Raises:
            QueryError: ``entry_id`` is not a whole number (nothing is sent).
            NotFoundError: no such entry in this business.
        """
        entry_id = to_id(entry_id, "entry id")
        path = f"{self.path}/{entry_id}"
        return _entry(self._client.request("GET", path), f"GET {path}")

    def pages(
        self,
        params: Mapping[str, str],
        *,
        per_page: int = DEFAULT_PER_PAGE,
        progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        convert: Convert | None = None,
        compact: Compact | None = None,
        tell: bool = True,
        repeats: bool = False,
    ) -> Listing:
        """Every page of the list encoded ``params`` select (:func:`encode_filters`): the
        endpoint's one page path. The options are :func:`~fbtime.api.paging.read_pages`'.

        With ``repeats`` (a caller that drops repeated ids and counts afterwards), each
        page is read once whatever happens meanwhile, and a list of more than
        :data:`~fbtime.api.paging.WINDOWED_FROM` rows is read in ``started_at`` windows
        (:func:`~fbtime.api.paging.read_windows`), so that an entry logged or deleted
        while it is read costs one window again, not every page.
        """
        client, workers = self._client, self._client.workers
        get = page_getter(client, self.path, params, per_page)
        first = read_page(get, 1, key="time_entries", per_page=per_page, convert=convert)
        if on_total is not None:
            on_total(max(first.pages, 1))
        start, end = (to_utc(params[k]) if k in params else None for k in self.BOUNDS)
        full = len(first.ids) == per_page  # a long list's first page is full
        if not repeats or first.total <= WINDOWED_FROM or not full:
            listing = read_pages(
                get,
                key="time_entries",
                per_page=per_page,
                workers=workers,
                progress=progress,
                convert=convert,
                compact=compact,
                tell=tell,
                first=first,
                repeats=repeats,
            )
            listing.windows = [Window(start, end, listing.unreadable, listing.changed)]
            return listing

        def window(lo: dt.datetime | None, hi: dt.datetime | None) -> GetPage:
            return page_getter(client, self.path, self.within(params, lo, hi), per_page)

        now = first.server_time or dt.datetime.now(dt.UTC)
        listing = read_windows(
            window,
            first,
            now=min(now, end or now),
            start=start,
            key="time_entries",
            per_page=per_page,
            workers=workers,
            progress=progress,
            convert=convert,
            compact=compact,
        )
        if listing.unreadable and tell:
            total = len(set(listing.ids)) + listing.unreadable
            tell_unreadable(f"GET {self.path}", total, total - listing.unreadable)
        return listing

    #: The filters that bound a list's ``started_at`` (both inclusive).
    BOUNDS = ("started_from", "started_to")

    def within(
        self, params: Mapping[str, str], lo: dt.datetime | None, hi: dt.datetime | None
    ) -> dict[str, str]:
        """``params`` narrowed to entries started from ``lo`` to ``hi`` (None: as is)."""
        narrowed = dict(params)
        for name, bound, pick in (("started_from", lo, max), ("started_to", hi, min)):
            if bound is not None:
                own = to_utc(params[name]) if name in params else bound
                narrowed[name] = format_utc(pick(bound, own))
        return narrowed

    def count(self, params: Mapping[str, str]) -> dict[str, Any]:
        """The server's current ``meta`` for ``params`` (one row fetched)."""
        get = page_getter(self._client, self.path, params, 1)
        return read_page(get, 1, key="time_entries", per_page=1).meta

    def changes(
        self, params: Mapping[str, str], since: dt.datetime, *, per_page: int = DEFAULT_PER_PAGE
    ) -> tuple[Changes, Listing]:
        """Rows of ``params`` changed since ``since``, deleted ones too, and their pages.

        ``updated_since`` goes out at whole seconds, floored: it can only fetch more; a
        later ``updated_since`` in ``params`` wins.
        """
        stamp = to_utc(since, "since").replace(microsecond=0)
        if "updated_since" in params:
            stamp = max(stamp, to_utc(params["updated_since"], "updated_since"))
        query = {**params, "include_deleted": "true", "updated_since": format_utc(stamp)}
        listing = self.pages(query, per_page=per_page, tell=False)  # counts: the caller's
        keep_deleted = params.get("include_deleted") == "true"
        return reconcile(listing.rows, keep_deleted=keep_deleted), listing

    def list(self, *, per_page: int = DEFAULT_PER_PAGE, **filters: Any) -> Iterator[dict]:
        """Iterate every entry matching ``filters``, across all pages.

        Filters are the API's ten: billable, billed, client_id, include_deleted, team,
        include_unlogged, started_from, started_to, updated_since, identity_id.
        """
        params = encode_filters(filters)
        yield from self.pages(params, per_page=check_per_page(per_page)).rows

    def create(self, **fields: Any) -> dict[str, Any]:
        """Create an entry and return it as the API stored it (POST is never retried)."""
        body = {"time_entry": check_fields(fields)}
        try:
            answer = self._client.request("POST", self.path, json_body=body)
        finally:
            self._client.invalidate_cache()
        return _entry(answer, f"POST {self.path}")

    def update(self, entry_id: int | str, **fields: Any) -> dict[str, Any]:
        """Change some fields of an entry: GET it, merge, PUT the full writable set.

        Works whichever PUT semantics the server has (partial or full), and never clears
        a field the caller did not name.

        Example:
            >>> entry = client.time_entries.update(5484, note="Copy edits, round 2", billed=True)
            >>> entry["note"], entry["billed"]
            ('Copy edits, round 2', True)
        """
        entry_id = to_id(entry_id, "entry id")
        changes = check_fields(fields)
        current = self.get(entry_id)
        return self.put(entry_id, {**writable_payload(current), **changes})

    def put(self, entry_id: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """PUT a complete writable payload as is (the caller did the GET and merge)."""
        try:
            answer = self._client.request(
                "PUT", f"{self.path}/{entry_id}", json_body={"time_entry": dict(payload)}
            )
        finally:
            self._client.invalidate_cache()
        return _entry(answer, f"PUT {self.path}/{entry_id}")

    def delete(self, entry_id: int | str) -> None:
        """Delete an entry (FreshBooks keeps it, inactive, for ``include_deleted``)."""
        entry_id = to_id(entry_id, "entry id")
        try:
            self._client.request("DELETE", f"{self.path}/{entry_id}")
        finally:
            self._client.invalidate_cache()


def _entry(body: Any, where: str) -> dict[str, Any]:
    """The entry in a ``{"time_entry": {...}}`` answer, or an error naming the request."""
    entry = body.get("time_entry") if isinstance(body, dict) else None
    if not isinstance(entry, dict):
        raise UnexpectedAnswerError(f"{where}: the answer has no time_entry object")
    entry_id = entry.get("id")
    if not is_id(entry_id):
        raise UnexpectedAnswerError(f"{where}: the entry's id is {entry_id!r}, not an id")
    return entry
