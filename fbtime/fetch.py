"""Fetching time entries: every page of a query into a frame, or what changed since a time.

A load from the network ends with one ``updated_since`` query from the time the first
page was served (:func:`fetch_frame`): an entry created, changed or deleted while the
pages were read is reconciled, so the frame is exactly the server's set at the end.
Pages become frames with :mod:`fbtime.frame`; incremental sync (:mod:`fbtime.sync`) uses
:func:`fetch_changes` and :func:`count_entries`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from fbtime.client import Client
from fbtime.frame import apply_changes, chunks_to_frame, compact_chunks, page_chunk
from fbtime.paging import Changes, InconsistentPagesError, Page, fetch_all, reconcile
from fbtime.query import encode_filters, to_utc

#: Time between the server's clock on page 1 and the ``updated_since`` re-check.
VERIFY_LAG = dt.timedelta(seconds=5)


def _getter(
    client: Client, params: dict[str, str], per_page: int, refresh: bool, use_cache: bool
) -> Callable[[int], Page]:
    path = client.time_entries.path

    def get_page(number: int) -> Page:
        page_params = {**params, "page": str(number), "per_page": str(per_page)}
        answer = client.fetch("GET", path, params=page_params, refresh=refresh, use_cache=use_cache)
        return Page(answer.body, answer.server_time, answer.from_cache)

    return get_page


def fetch_changes(
    client: Client, filters: dict[str, Any], since: dt.datetime, *, per_page: int = 100
) -> tuple[Changes, dict[str, Any]]:
    """Rows of ``filters`` changed since ``since`` (deleted too), never from the cache.

    Returns the changes and ``{"requests", "pages", "server_time", "rows"}``.
    ``updated_since`` goes out at whole seconds, floored: it can only fetch more.
    """
    stamp = to_utc(since, "since")
    if filters.get("updated_since") is not None:
        stamp = max(stamp, to_utc(filters["updated_since"], "updated_since"))
    query = {**filters, "include_deleted": True, "updated_since": stamp.floor("s")}
    params = encode_filters(query)
    listing = fetch_all(
        _getter(client, params, per_page, False, False),
        key="time_entries",
        per_page=per_page,
        workers=client.settings.workers,
    )
    changes = reconcile(listing.rows, keep_deleted=bool(filters.get("include_deleted")))
    info = {"requests": listing.requests, "pages": listing.requests,
            "server_time": listing.server_time, "rows": len(listing.ids)}  # fmt: skip
    return changes, info


def count_entries(client: Client, filters: dict[str, Any]) -> dict[str, Any]:
    """The server's current ``meta`` for ``filters`` (one row fetched, never cached)."""
    params = {**encode_filters(filters), "page": "1", "per_page": "1"}
    body = client.request("GET", client.time_entries.path, params=params, use_cache=False)
    return dict(body.get("meta") or {})


def fetch_frame(
    client: Client,
    filters: dict[str, Any],
    *,
    per_page: int = 100,
    refresh: bool = False,
    use_cache: bool = True,
    verify: bool = True,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_attempts: int = 3,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load every page of ``filters`` into a frame, reconciling changes made meanwhile.

    After a load that touched the network, entries changed since page 1 was served
    (less :data:`VERIFY_LAG`) are fetched with ``updated_since`` and applied; then the
    server's count must match, else the pages are read again, bypassing the cache.

    Returns:
        The frame and ``{"requests", "passes", "meta", "server_time", "notes"}``.

    Raises:
        InconsistentPagesError: the list kept changing through ``max_attempts`` loads.
    """
    params = encode_filters(filters)
    requests, passes, notes = 0, 0, []
    for attempt in range(max_attempts):
        fresh = refresh or attempt > 0
        listing = fetch_all(
            _getter(client, params, per_page, fresh, use_cache),
            key="time_entries",
            per_page=per_page,
            workers=client.settings.workers,
            progress=progress if attempt == 0 else None,
            on_total=on_total if attempt == 0 else None,
            convert=page_chunk,
            refetch=_getter(client, params, per_page, True, use_cache),
            compact=compact_chunks,
        )
        requests, passes = requests + listing.requests, passes + listing.passes
        notes += listing.notes
        frame, meta = chunks_to_frame(listing.chunks), listing.meta
        del listing.chunks[:]
        info = {"requests": requests, "passes": passes, "meta": meta, "notes": notes,
                "server_time": listing.server_time}  # fmt: skip
        single = listing.requests == 1  # one answer is one snapshot: nothing to reconcile
        if not verify or single or not listing.from_network or listing.server_time is None:
            return frame, info
        changes, seen = fetch_changes(
            client, filters, listing.server_time - VERIFY_LAG, per_page=per_page
        )
        info["requests"] = requests = requests + seen["requests"]
        if not changes:
            return frame, info
        frame = apply_changes(frame, changes)
        counted = count_entries(client, filters)  # its pages/per_page are of a 1-row page
        meta = {
            **meta,
            **{k: v for k, v in counted.items() if k not in ("page", "pages", "per_page")},
        }
        meta["pages"] = -(-int(meta.get("total", 0)) // per_page)
        info["requests"] = requests = requests + 1
        info["meta"] = meta
        if len(frame) == int(meta.get("total", -1)):
            return frame, info
        notes.append(
            f"load {attempt + 1}: {len(frame)} entries after reconciling, "
            f"server has {meta.get('total')}"
        )
    raise InconsistentPagesError(
        f"the list kept changing while it was loaded ({max_attempts} loads): "
        + " | ".join(notes)
        + ". Retry when fewer writes are happening, or narrow the filters."
    )
