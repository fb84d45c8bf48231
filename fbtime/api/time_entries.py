"""``client.time_entries``: get, list, create, update and delete one business's entries.

Updates are GET -> merge -> PUT of the full writable set (:mod:`fbtime.api.fields`),
because sources disagree on whether FreshBooks' PUT is partial: sending every writable
field is right either way. Field values are checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fbtime.api.fields import check_fields, writable_payload
from fbtime.api.paging import Listing, read_pages
from fbtime.api.query import check_per_page, encode_filters, to_id
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

    def get(self, entry_id: int | str, *, refresh: bool = False) -> dict[str, Any]:
        """Return one entry (a dict in the API's shape).

        Raises:
            QueryError: ``entry_id`` is not a whole number (nothing is sent).
            NotFoundError: no such entry in this business.
        """
        entry_id = to_id(entry_id, "entry id")
        path = f"{self.path}/{entry_id}"
        return _entry(self._client.get(path, refresh=refresh), f"GET {path}")

    def listing(
        self,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        refresh: bool = False,
        use_cache: bool = True,
        workers: int | None = None,
        progress: Callable[[int], None] | None = None,
        on_total: Callable[[int], None] | None = None,
        **filters: Any,
    ) -> Listing:
        """Fetch every page of a filtered list; return rows, meta and request counts."""
        params = encode_filters(filters)
        per_page = check_per_page(per_page)

        def get_page(number: int) -> dict[str, Any]:
            page_params = {**params, "page": str(number), "per_page": str(per_page)}
            return self._client.get(self.path, page_params, refresh=refresh, use_cache=use_cache)

        return read_pages(
            get_page,
            key="time_entries",
            per_page=per_page,
            workers=workers or self._client.workers,
            progress=progress,
            on_total=on_total,
        )

    def list(
        self, *, per_page: int = DEFAULT_PER_PAGE, refresh: bool = False, **filters: Any
    ) -> Iterator[dict]:
        """Iterate every entry matching ``filters``, across all pages.

        Filters are the API's ten: billable, billed, client_id, include_deleted, team,
        include_unlogged, started_from, started_to, updated_since, identity_id.
        """
        yield from self.listing(per_page=per_page, refresh=refresh, **filters).rows

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
        current = self.get(entry_id, refresh=True)
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
