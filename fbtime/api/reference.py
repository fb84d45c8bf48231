"""The reference endpoints around time entries, as plain dicts: who am I, clients, projects,
services, the team, rates and the business currency.

Clients and the business's system (its currency) live in the accounting family (keyed by
the business's ``account_id``, found through ``users/me``); projects, services and rates in
the business-keyed family; team members and staff in the identity family
(``/auth/api/v1``). Paths are the captured ones (facts sheet ``freshbooks-rates.md``).

Every list is read through the one page getter (:func:`fbtime.api.paging.page_getter`),
with :func:`~fbtime.api.paging.read_pages` (lists with ``meta``) or
:func:`~fbtime.api.paging.read_until_short` (the rate and staff lists, which send none), so
it is paged, bounded and type-checked like time entries; these answers, and ``users/me``,
are what the client's HTTP cache keeps. :mod:`fbtime.load` turns them into frames.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fbtime.api.paging import Locate, page_getter, read_pages, read_until_short
from fbtime.auth.identity import ME_PATH, Identity, parse_identity
from fbtime.config import DEFAULT_PER_PAGE
from fbtime.errors import AuthError, ConfigError, NotFoundError, UnexpectedAnswerError

if TYPE_CHECKING:
    from fbtime.api.client import Client


def me(client: Client, *, refresh: bool = False) -> Identity:
    """``users/me``: the signed-in identity and its businesses."""
    return parse_identity(client.request("GET", ME_PATH, cached=True, refresh=refresh))


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
    per_page: int = DEFAULT_PER_PAGE,
    sized: bool = True,
) -> list[dict[str, Any]]:
    """Every row of a reference list at ``path`` (rows under ``key``, or a locator).

    Paged, bounded and checked like time entries (:func:`fbtime.api.paging.read_pages`);
    ``sized=False`` for a list that sends no ``meta`` and ends at a short page
    (:func:`fbtime.api.paging.read_until_short`).
    """
    get_page = page_getter(client, path, params or {}, per_page, cached=True, refresh=refresh)
    if not sized:
        return read_until_short(
            get_page, key=key, per_page=per_page, id_key=id_key, where=f"GET {path}"
        )
    listing = read_pages(
        get_page, key=key, per_page=per_page, workers=client.workers, id_key=id_key
    )
    return listing.rows


def accounting_list(key: str) -> Locate:
    """Accounting lists keep rows and paging together under ``response.result``."""

    def locate(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        result = (body.get("response") or {}).get("result") or {}
        return result.get(key) or [], result

    return locate


def list_clients(client: Client, *, refresh: bool = False) -> list[dict]:
    """The business's clients, as the accounting API returns them."""
    path = f"/accounting/account/{account_id(client)}/users/clients"
    return list_all(client, path, accounting_list("clients"), refresh=refresh)


def list_projects(
    client: Client,
    *,
    refresh: bool = False,
    logged_duration: bool = False,
    per_page: int = DEFAULT_PER_PAGE,
) -> list[dict]:
    """The business's projects, with every field the API sends.

    ``logged_duration=True`` asks the API to fill each project's ``logged_duration``
    (seconds logged on it), which budget reports compare with ``budget``.
    """
    path = f"/projects/business/{client.business_id}/projects"
    params = {"include_logged_duration": "true"} if logged_duration else None
    return list_all(client, path, "projects", refresh=refresh, params=params, per_page=per_page)


def list_services(client: Client, *, refresh: bool = False) -> list[dict]:
    """The business's services."""
    path = f"/comments/business/{client.business_id}/services"
    return list_all(client, path, "services", refresh=refresh)


def _staff(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The staff list's members sit inside the business record, with no paging meta."""
    group = ((body.get("response") or {}).get("business_group")) or {}
    return group.get("members") or [], {}


def _team(body: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Team members sit directly under ``response``; ``meta`` is its sibling (no ``pages``)."""
    return body.get("response") or [], body.get("meta") or {}


def list_team_members(
    client: Client, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> list[dict]:
    """``GET /auth/api/v1/businesses/{bid}/team_members``: members and pending invitations.

    Rows are keyed by ``uuid``: a pending invitation has no ``identity_id`` yet.
    """
    path = f"/auth/api/v1/businesses/{client.business_id}/team_members"
    return list_all(client, path, _team, refresh=refresh, id_key="uuid", per_page=per_page)


def list_staff(
    client: Client, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> list[dict]:
    """``GET /auth/api/v1/users/business/{bid}``: the business group's members (staff)."""
    path = f"/auth/api/v1/users/business/{client.business_id}"
    return list_all(client, path, _staff, refresh=refresh, per_page=per_page, sized=False)


def list_team_member_rates(
    client: Client, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> list[dict]:
    """``GET /comments/business/{bid}/team_member_rates``: business-wide rates by identity."""
    path = f"/comments/business/{client.business_id}/team_member_rates"
    return list_all(
        client,
        path,
        "team_member_rates",
        refresh=refresh,
        id_key="identity_id",
        per_page=per_page,
        sized=False,
    )


def list_service_rates(
    client: Client, *, refresh: bool = False, per_page: int = DEFAULT_PER_PAGE
) -> list[dict]:
    """``GET /comments/business/{bid}/service_rates``: business-wide rates by service."""
    path = f"/comments/business/{client.business_id}/service_rates"
    return list_all(
        client,
        path,
        "service_rates",
        refresh=refresh,
        id_key="service_id",
        per_page=per_page,
        sized=False,
    )


def business_currency(client: Client, *, refresh: bool = False) -> str | None:
    """The business's currency code from its system record, or None where it cannot be read.

    ``GET /accounting/account/{aid}/systems/systems/{business_id}``: the capture's reply
    carries a system id, not the business id, but which one the path takes is unverified
    (facts sheet); a 404 or 403, or a user without an accounting account, means "cannot be
    read" here, not a failed load. A 401 or any other error is raised as usual.

    Raises:
        UnexpectedAnswerError: the answer has no system, or its currency is not a string.
    """
    try:
        path = f"/accounting/account/{account_id(client)}/systems/systems/{client.business_id}"
        body = client.request("GET", path, cached=True, refresh=refresh)
    except (NotFoundError, ConfigError):
        return None
    except AuthError as exc:
        if exc.status == 403:
            return None
        raise
    system: Any = body
    for key in ("response", "result", "system"):
        system = system.get(key) if isinstance(system, dict) else None
    if not isinstance(system, dict):
        raise UnexpectedAnswerError(f"GET {path}: the answer has no response.result.system")
    code = system.get("currency_code")
    if code is not None and not isinstance(code, str):
        raise UnexpectedAnswerError(f"GET {path}: currency_code is {code!r}, not a string")
    return code or None
