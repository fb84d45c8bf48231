"""Fetch every page of a list endpoint: page 1 first, then the rest concurrently.

Paging is split in two: :func:`read_state` reads what a page says about the whole list,
and the caller asks for page numbers. Rows come back in page order whatever order the
pages arrive in. No pandas here.

Page-number paging has no snapshot: an entry created or deleted while paging shifts rows
across pages, so a row can be seen twice or not at all. :func:`fetch_all` notices
(``meta.total`` changing between pages, duplicate ids, a row count that differs from
``meta.total``) and pages again until one pass is consistent, or raises
:class:`InconsistentPagesError` after a few passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fbtime.errors import TransportError

GetPage = Callable[[int], dict[str, Any]]


class InconsistentPagesError(TransportError):
    """The list kept changing while it was paged; no consistent snapshot was seen."""


@dataclass
class PageState:
    """What one page says about the whole list."""

    total: int
    pages: int
    per_page: int
    meta: dict[str, Any]


def read_state(body: dict[str, Any], per_page: int) -> PageState:
    meta = dict(body.get("meta") or {})
    total = int(meta.get("total", len(body.get("time_entries") or [])))
    pages = int(meta.get("pages") or math.ceil(total / per_page))
    return PageState(
        total=total, pages=pages, per_page=int(meta.get("per_page", per_page)), meta=meta
    )


@dataclass
class Listing:
    """Every row of a list, in page order, with the meta of the pass that produced it."""

    rows: list[dict[str, Any]]
    meta: dict[str, Any]
    requests: int = 0
    passes: int = 1
    notes: list[str] = field(default_factory=list)


def _problems(bodies: list[dict[str, Any]], key: str, state: PageState) -> list[str]:
    problems = []
    totals = {int((b.get("meta") or {}).get("total", state.total)) for b in bodies}
    if len(totals) > 1:
        problems.append(f"meta.total changed while paging: {sorted(totals)}")
    rows = [r for b in bodies for r in b.get(key) or []]
    ids = [r.get("id") for r in rows]
    if len(set(ids)) != len(ids):
        problems.append(f"{len(ids) - len(set(ids))} duplicate ids across pages")
    if len(rows) != state.total:
        problems.append(f"{len(rows)} rows for meta.total {state.total}")
    return problems


def fetch_all(
    get_page: GetPage,
    *,
    key: str,
    per_page: int,
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    max_passes: int = 4,
) -> Listing:
    """Fetch pages 1..N of a list and check they form one consistent snapshot.

    Args:
        get_page: returns the parsed body of page ``n``.
        key: the list's key in the body (``"time_entries"``).
        per_page: page size asked for (used when meta lacks ``pages``).
        workers: concurrent requests after page 1.
        progress: called with the number of pages just finished (for a progress bar).
        on_total: called once with the number of pages of the first pass.
        max_passes: passes allowed before giving up on a list that keeps changing.

    Raises:
        InconsistentPagesError: the list changed during every pass.
    """
    requests = 0
    notes: list[str] = []
    for attempt in range(1, max_passes + 1):
        first = get_page(1)
        requests += 1
        state = read_state(first, per_page)
        if on_total is not None and attempt == 1:
            on_total(max(state.pages, 1))
        if progress is not None:
            progress(1)
        rest = list(range(2, state.pages + 1))
        bodies = [first]
        if rest:
            with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
                for body in pool.map(get_page, rest):
                    bodies.append(body)
                    if progress is not None:
                        progress(1)
            requests += len(rest)
        problems = _problems(bodies, key, state)
        if not problems:
            rows = [r for b in bodies for r in b.get(key) or []]
            return Listing(rows, state.meta, requests, attempt, notes)
        notes.append(f"pass {attempt}: " + "; ".join(problems))
    raise InconsistentPagesError(
        f"the list kept changing while it was paged ({max_passes} passes): "
        + " | ".join(notes)
        + ". Retry when fewer writes are happening, or narrow the filters."
    )
