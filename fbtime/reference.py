"""The reference lists around time entries, loaded as typed frames.

Clients, projects, services and the team name what a time entry holds as ids; rates,
projects' billing fields and the business's currency give it a value. Each list is read
through :mod:`fbtime.api.reference` (paged, bounded, cached) and typed by the one
typed-row reader of :mod:`fbtime.frame` (:func:`~fbtime.frame.typed_frame`): a value of
the wrong type or size is an :class:`~fbtime.UnexpectedAnswerError`, never a raw error.
Loading time entries (:mod:`fbtime.load`) needs none of this.
"""

from __future__ import annotations

import pandas as pd

from fbtime.api import reference
from fbtime.api.client import Client
from fbtime.api.query import check_per_page
from fbtime.config import DEFAULT_PER_PAGE
from fbtime.errors import ConfigError
from fbtime.frame import clients_frame, projects_frame, services_frame, team_frame
from fbtime.rates import Rates


def load_clients(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's clients: a frame indexed by client ``id`` with a ``name``.

    ``name`` is the organization, or "first last" for a person without one;
    ``currency_code`` is the currency the client is billed in.
    """
    client = client or Client()
    return clients_frame(reference.list_clients(client, refresh=refresh))


def load_projects(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's projects: indexed by project ``id``, with every field the API sends.

    ``name`` (the title) and ``client_id`` label entries; the billing fields
    (``project_type``, ``billing_method``, ``rate``, ``fixed_price``, ``budget`` in seconds,
    ``billed_amount``, ``billed_status``) are typed as :func:`fbtime.frame.projects_frame`
    says: money as exact decimals.
    """
    client = client or Client()
    return projects_frame(reference.list_projects(client, refresh=refresh))


def load_services(client: Client | None = None, *, refresh: bool = False) -> pd.DataFrame:
    """Load the business's services: indexed by service ``id`` with ``name`` and ``billable``."""
    client = client or Client()
    return services_frame(reference.list_services(client, refresh=refresh))


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
        A frame indexed by ``identity_id`` (``Int64``) with
        :data:`fbtime.frame.TEAM_COLUMNS`; an empty team has the same columns and dtypes.

    Raises:
        QueryError: ``per_page`` outside 1..100 (before any request).
        UnexpectedAnswerError: an answer without the lists' shape or types.
    """
    check_per_page(per_page)
    client = client or Client()
    members = reference.list_team_members(client, refresh=refresh, per_page=per_page)
    staff = reference.list_staff(client, refresh=refresh, per_page=per_page)
    return team_frame([("team_members", members), ("staff", staff)])


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
    return Rates.from_api(
        projects=projects,
        team_member_rates=team,
        service_rates=services,
        clients=clients,
        currency=currency,
    )
