"""``load_time_entries()``: API rows -> one typed DataFrame indexed by ``id``.

Columns are built one at a time straight from the parsed JSON rows (no per-row pandas
objects), then typed with the schema declared in :mod:`fbtime.schema`. Fields the schema
does not know are kept as extra columns, so a new API field is never silently dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd

from fbtime import schema
from fbtime.client import Client
from fbtime.errors import QueryError
from fbtime.query import FILTERS, DateLike, check_per_page, encode_filters

_NESTED = ("timer",)


def _column(rows: Sequence[dict[str, Any]], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


def _typed(values: list[Any], dtype: str) -> pd.Series:
    if dtype == schema.DATETIME:
        return pd.Series(pd.to_datetime(values, utc=True, format="ISO8601"), dtype=schema.DATETIME)
    if dtype == schema.TEXT:
        return pd.Series(values, dtype=schema.TEXT)
    return pd.Series(pd.array(values, dtype=dtype))


def records_to_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Build the typed time-entry frame from rows in the API's JSON shape.

    The nested ``timer`` becomes ``timer_id`` and ``timer_is_running``; ``hours`` is
    derived from ``duration``. Unknown fields become extra columns (object dtype).
    """
    if not rows:
        return schema.empty_frame()
    columns: dict[str, pd.Series] = {}
    timers = _column(rows, "timer")
    derived = {
        "timer_id": [t.get("id") if isinstance(t, dict) else None for t in timers],
        "timer_is_running": [t.get("is_running") if isinstance(t, dict) else None for t in timers],
    }
    for name in (schema.INDEX, *schema.FRAME_COLUMNS):
        if name == "hours":
            continue
        values = derived[name] if name in derived else _column(rows, name)
        columns[name] = _typed(values, schema.DTYPES[name])
    known = {*schema.DTYPES, *_NESTED}
    extras = sorted({key for row in rows for key in row} - known)
    for name in extras:
        columns[name] = pd.Series(_column(rows, name), dtype=object)
    frame = pd.DataFrame(columns)
    frame["hours"] = (frame["duration"].astype("Float64") / 3600).astype("Float64")
    frame = frame.set_index(schema.INDEX)
    return frame[[*schema.FRAME_COLUMNS, *extras]]


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
    per_page: int = 100,
    refresh: bool = False,
    progress: bool | None = None,
    **unknown: Any,
) -> pd.DataFrame:
    """Load time entries into a typed DataFrame indexed by ``id``.

    Every page is fetched (page 1 first, the rest concurrently) and cached for 15 minutes
    unless ``refresh=True``. Dates accept ``str``, ``date``, ``datetime`` or a pandas
    ``Timestamp``; naive values mean UTC. ``started_from``/``started_to`` are inclusive.

    Args:
        client: a :class:`~fbtime.Client`; default ``fbtime.Client()`` from the
            environment (``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``).
        billable, billed, client_id, include_deleted, team, include_unlogged,
            started_from, started_to, updated_since, identity_id: the API's filters.
            By default only the token owner's logged, active entries are returned;
            ``team=True`` returns everyone's.
        per_page: rows per request, 1 to 100.
        refresh: ignore cached answers and fetch again.
        progress: show a progress bar (default: when there is more than one page).

    Returns:
        The frame, with ``df.attrs["fbtime"]`` holding ``business_id``, ``filters``,
        ``fetched_at`` and the server's ``meta`` totals. An empty result has the same
        columns and dtypes.

    Raises:
        QueryError: an unknown filter, or a bad date, id or page size (before any request).
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
            "other options: per_page, refresh, progress"
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
    client = client or Client()
    fetched_at = dt.datetime.now(dt.UTC)
    with _Bar(progress) as bar:
        listing = client.time_entries.listing(
            per_page=per_page,
            refresh=refresh,
            progress=bar.update,
            on_total=bar.set_total,
            **filters,
        )
    frame = records_to_frame(listing.rows)
    meta = {k: listing.meta.get(k) for k in ("total", "total_logged", "total_unbilled", "pages")}
    frame.attrs["fbtime"] = {
        "business_id": client.business_id,
        "filters": params,
        "fetched_at": fetched_at.isoformat(),
        "meta": meta,
        "requests": listing.requests,
    }
    return frame


class _Bar:
    """A tqdm.auto bar created only once the page count shows more than one page."""

    def __init__(self, enabled: bool | None) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def set_total(self, pages: int) -> None:
        if self.enabled is False or (pages <= 1 and not self.enabled):
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=pages, unit="page", desc="time entries", leave=False)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
