"""``client.time_entries``: get, list, create, update and delete one business's entries.

Updates are GET -> merge -> PUT of the full writable set, because sources disagree on
whether FreshBooks' PUT is partial: sending every writable field is right either way.
Field values are checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fbtime.errors import QueryError
from fbtime.paging import Listing, fetch_all
from fbtime.query import check_per_page, encode_filters, format_utc, to_id, to_utc

if TYPE_CHECKING:
    from fbtime.client import Client

#: Fields the API accepts on create and update (API names).
WRITABLE = (
    "identity_id",
    "is_logged",
    "started_at",
    "duration",
    "client_id",
    "project_id",
    "service_id",
    "task_id",
    "retainer_id",
    "pending_client",
    "pending_project",
    "pending_task",
    "note",
    "billable",
    "billed",
    "internal",
)
#: Sent back only when the entry already has them.
OPTIONAL_WRITABLE = ("local_started_at", "local_timezone")
ID_FIELDS = ("identity_id", "client_id", "project_id", "service_id", "task_id", "retainer_id")
BOOL_FIELDS = ("is_logged", "billable", "billed", "internal")
TEXT_FIELDS = (
    "note",
    "pending_client",
    "pending_project",
    "pending_task",
    "local_started_at",
    "local_timezone",
)


def check_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and normalise entry fields for a request body.

    Raises:
        QueryError: an unknown field, or a value of the wrong type.
    """
    allowed = (*WRITABLE, *OPTIONAL_WRITABLE, "timer")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise QueryError(
            f"unknown or read-only time-entry field(s) {', '.join(map(repr, unknown))}; "
            f"writable fields are: {', '.join(allowed)}"
        )
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            out[name] = None
        elif name in ID_FIELDS:
            out[name] = to_id(value, name)
        elif name in BOOL_FIELDS:
            if not isinstance(value, bool):
                raise QueryError(f"{name} must be True or False, got {value!r}")
            out[name] = value
        elif name == "duration":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise QueryError(f"duration must be whole seconds >= 0, got {value!r}")
            out[name] = value
        elif name == "started_at":
            out[name] = format_utc(to_utc(value, name))
        elif name in TEXT_FIELDS:
            if not isinstance(value, str):
                raise QueryError(f"{name} must be a string, got {type(value).__name__}")
            out[name] = value
        elif name == "timer":
            if not isinstance(value, dict):
                raise QueryError(f"timer must be a dict like {{'id': 123}}, got {value!r}")
            out[name] = value
    return out


def writable_payload(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The full writable set of an entry as the API returned it (for a PUT)."""
    payload = {name: entry.get(name) for name in WRITABLE}
    payload.update({name: entry[name] for name in OPTIONAL_WRITABLE if name in entry})
    return payload


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
        body = self._client.get(f"{self.path}/{entry_id}", refresh=refresh)
        return body["time_entry"]

    def listing(
        self,
        *,
        per_page: int = 100,
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

        return fetch_all(
            get_page,
            key="time_entries",
            per_page=per_page,
            workers=workers or self._client.settings.workers,
            progress=progress,
            on_total=on_total,
        )

    def list(self, *, per_page: int = 100, refresh: bool = False, **filters: Any) -> Iterator[dict]:
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
        return answer["time_entry"]

    def update(self, entry_id: int | str, **fields: Any) -> dict[str, Any]:
        """Change some fields of an entry: GET it, merge, PUT the full writable set.

        Works whichever PUT semantics the server has (partial or full), and never clears
        a field the caller did not name.

        Example:
            >>> client.time_entries.update(5095, note="Design review", billed=True)
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
        return answer["time_entry"]

    def delete(self, entry_id: int | str) -> None:
        """Delete an entry (FreshBooks keeps it, inactive, for ``include_deleted``)."""
        entry_id = to_id(entry_id, "entry id")
        try:
            self._client.request("DELETE", f"{self.path}/{entry_id}")
        finally:
            self._client.invalidate_cache()
