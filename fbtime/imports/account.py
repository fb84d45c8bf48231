"""What an import reads from FreshBooks: the names to match, and the entries already there.

Reads only. The team, clients, projects and services come from the ``load_*``
functions; invitations still pending (a team member with no ``identity_id``) from the
team-members list, so a row of theirs is named as such rather than as unknown. Existing
entries are one ``team=True`` load over the rows' span, for the duplicate check.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from fbtime.api import reference
from fbtime.api.client import Client
from fbtime.imports.mapping import Reference
from fbtime.load import load_clients, load_projects, load_services, load_team, load_time_entries
from fbtime.schema import empty_frame


def load_reference(client: Client) -> Reference:
    """The team (and pending invitations), clients, projects and services of the business."""
    pending = []
    for member in reference.list_team_members(client):
        if member.get("identity_id") is None:
            first, last = member.get("first_name"), member.get("last_name")
            name = " ".join(str(p).strip() for p in (first, last) if isinstance(p, str) and p)
            email = member.get("email") if isinstance(member.get("email"), str) else None
            pending.append({"name": name, "email": email})
    return Reference(
        team=load_team(client),
        clients=load_clients(client),
        projects=load_projects(client),
        services=load_services(client),
        pending=pending,
    )


def load_existing(client: Client, rows: pd.DataFrame) -> pd.DataFrame:
    """Everyone's entries started within the rows' span (inclusive), fresh from the server."""
    if rows.empty:
        return empty_frame()
    start, end = rows["started_at"].min(), rows["started_at"].max()
    return load_time_entries(
        client, team=True, started_from=start, started_to=end, refresh=True, progress=False
    )


def usual_zone(existing: pd.DataFrame) -> str | None:
    """The zone most of the account's entries were logged in (``local_timezone``), if any."""
    if "local_timezone" not in existing:
        return None
    zones = Counter(z for z in existing["local_timezone"].dropna() if isinstance(z, str) and z)
    return zones.most_common(1)[0][0] if zones else None
