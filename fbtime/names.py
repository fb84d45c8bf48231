"""Client, project and service names, so reports show names instead of ids.

Clients live in the accounting family (keyed by the business's ``account_id``, found
through ``/auth/api/v1/users/me``); projects and services in the business-keyed family.
Answers are cached like time entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from fbtime.client import Client
from fbtime.errors import ConfigError

PER_PAGE = 100


def _pages(fetch: Callable[[int], tuple[list[dict], int]]) -> Iterator[dict[str, Any]]:
    page, pages = 1, 1
    while page <= pages:
        rows, pages = fetch(page)
        yield from rows
        page += 1


def account_id(client: Client) -> str:
    """The accounting account id of the client's business (from ``users/me``)."""
    body = client.get("/auth/api/v1/users/me")
    for membership in (body.get("response") or {}).get("business_memberships") or []:
        business = membership.get("business") or {}
        if business.get("id") == client.business_id:
            if business.get("account_id"):
                return str(business["account_id"])
            break
    raise ConfigError(
        f"business {client.business_id} has no accounting account id for this user, so its "
        "clients cannot be listed; pass client names as a dict to with_names(clients=...)"
    )


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame = frame.astype(columns)
    return frame.set_index("id")


def load_clients(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's clients: a frame indexed by client ``id`` with a ``name``.

    ``name`` is the organization, or "first last" for a person without one.
    """
    client = client or Client()
    path = f"/accounting/account/{account_id(client)}/users/clients"

    def fetch(page: int) -> tuple[list[dict], int]:
        params = {"page": str(page), "per_page": str(PER_PAGE)}
        result = client.get(path, params, refresh=refresh)["response"]["result"]
        return result["clients"], int(result.get("pages") or 1)

    rows = []
    for c in _pages(fetch):
        person = " ".join(p for p in (c.get("fname"), c.get("lname")) if p)
        rows.append(
            {
                "id": c["id"],
                "name": c.get("organization") or person or f"client {c['id']}",
                "email": c.get("email"),
                "active": c.get("vis_state", 0) == 0,
            }
        )
    return _frame(rows, {"id": "Int64", "name": "str", "email": "str", "active": "boolean"})


def _business_list(client: Client, family: str, key: str, refresh: bool) -> list[dict]:
    path = f"/{family}/business/{client.business_id}/{key}"

    def fetch(page: int) -> tuple[list[dict], int]:
        body = client.get(path, {"page": str(page), "per_page": str(PER_PAGE)}, refresh=refresh)
        return body[key], int((body.get("meta") or {}).get("pages") or 1)

    return list(_pages(fetch))


def load_projects(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's projects: indexed by project ``id`` with ``name`` and ``client_id``."""
    client = client or Client()
    rows = [
        {
            "id": p["id"],
            "name": p.get("title") or f"project {p['id']}",
            "client_id": p.get("client_id"),
            "internal": p.get("internal"),
            "active": p.get("active"),
        }
        for p in _business_list(client, "projects", "projects", refresh)
    ]
    return _frame(
        rows,
        {
            "id": "Int64",
            "name": "str",
            "client_id": "Int64",
            "internal": "boolean",
            "active": "boolean",
        },
    )


def load_services(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's services: indexed by service ``id`` with ``name`` and ``billable``."""
    client = client or Client()
    rows = [
        {
            "id": s["id"],
            "name": s.get("name") or f"service {s['id']}",
            "billable": s.get("billable"),
        }
        for s in _business_list(client, "comments", "services", refresh)
    ]
    return _frame(rows, {"id": "Int64", "name": "str", "billable": "boolean"})
