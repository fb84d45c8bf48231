"""The reference endpoints around time entries, as plain dicts: who am I, clients, projects,
services.

Clients live in the accounting family (keyed by the business's ``account_id``, found
through ``users/me``); projects and services in the business-keyed family. Every list is
read with :func:`fbtime.api.paging.read_pages`, so it is paged, bounded and checked like
time entries, and answers are cached like them. :mod:`fbtime.load` turns these into frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fbtime.api.paging import Locate, Page, read_pages
from fbtime.auth.identity import ME_PATH, Identity, parse_identity
from fbtime.config import DEFAULT_PER_PAGE
from fbtime.errors import ConfigError

if TYPE_CHECKING:
    from fbtime.api.client import Client


def me(client: Client, *, refresh: bool = False) -> Identity:
    """``users/me``: the signed-in identity and its businesses."""
    return parse_identity(client.get(ME_PATH, refresh=refresh))


def account_id(client: Client) -> str:
    """The accounting account id of the client's business (from ``users/me``).

    Raises:
        ConfigError: this user has no accounting account for the business (client-only
            identities), so its clients cannot be listed.
    """
    for business in me(client).businesses:
        if business.id == client.business_id and business.account_id:
            return str(business.account_id)
    raise ConfigError(
        f"business {client.business_id} has no accounting account id for this user, so its "
        "clients cannot be listed; pass client names as a dict to with_names(clients=...)"
    )


def list_all(
    client: Client,
    path: str,
    key: str | Locate,
    *,
    refresh: bool = False,
    id_key: str = "id",
    params: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every row of a reference list at ``path`` (rows under ``key``, or a locator).

    Paged, bounded and checked like time entries (:func:`fbtime.api.paging.read_pages`).
    """

    def get_page(number: int) -> Page:
        query = {**(params or {}), "page": str(number), "per_page": str(DEFAULT_PER_PAGE)}
        answer = client.send("GET", path, params=query, refresh=refresh)
        return Page(answer.body, answer.server_time, answer.from_cache, answer.url)

    listing = read_pages(
        get_page, key=key, per_page=DEFAULT_PER_PAGE, workers=client.concurrency,
        id_key=id_key,
    )  # fmt: skip
    return listing.rows


def _accounting(key: str) -> Locate:
    """Accounting lists keep rows and paging together under ``response.result``."""

    def locate(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        result = (body.get("response") or {}).get("result") or {}
        return result.get(key) or [], result

    return locate


def list_clients(client: Client, *, refresh: bool = False) -> list[dict]:
    """The business's clients, as the accounting API returns them."""
    path = f"/accounting/account/{account_id(client)}/users/clients"
    return list_all(client, path, _accounting("clients"), refresh=refresh)


def list_projects(client: Client, *, refresh: bool = False) -> list[dict]:
    """The business's projects, with every field the API sends."""
    path = f"/projects/business/{client.business_id}/projects"
    return list_all(client, path, "projects", refresh=refresh)


def list_services(client: Client, *, refresh: bool = False) -> list[dict]:
    """The business's services."""
    path = f"/comments/business/{client.business_id}/services"
    return list_all(client, path, "services", refresh=refresh)
