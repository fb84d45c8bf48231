"""Who is signed in, and which business fbtime works on (``fbtime whoami`` / ``fbtime use``).

FreshBooks' ``GET /auth/api/v1/users/me`` tells the identity and its business
memberships; time tracking is keyed by ``business_memberships[].business.id`` (not the
membership id, not the accounting ``account_id``, which may be null). A user with one
business gets it chosen automatically; a user with several must choose once with
``fbtime use BUSINESS_ID`` (saved in the profile), and until then ``fbtime.Client()``
raises a :class:`~fbtime.errors.ConfigError` listing them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import requests

from fbtime.auth.connection import resolve
from fbtime.auth.tokens import Profile, profile_name
from fbtime.config import DEFAULT_TIMEOUT, check_business_id
from fbtime.errors import ConfigError, TransportError, error_for_status
from fbtime.text import for_terminal
from fbtime.transport import bounded, describe

ME_PATH = "/auth/api/v1/users/me"


@dataclass(frozen=True)
class Business:
    """One business the user belongs to.

    ``first_day_of_week`` is the business's "Start Week On" setting as ``users/me``
    gives it (0 Monday, 6 Sunday; None when absent or not a whole number): see
    :func:`fbtime.weeks.week_start`.
    """

    id: int
    name: str
    account_id: str | None = None
    role: str | None = None
    first_day_of_week: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "account_id": self.account_id, "role": self.role}


@dataclass(frozen=True)
class Identity:
    """The signed-in FreshBooks user, as ``users/me`` describes them.

    Attributes:
        business_id: the business fbtime uses: the saved choice, or the only one; None
            while the user has several and none is chosen.
        profile: the saved login this came from (None for a bare token).
    """

    identity_id: int
    email: str | None
    name: str
    businesses: tuple[Business, ...]
    business_id: int | None = None
    profile: str | None = None

    def with_profile(self, profile: Profile) -> Identity:
        """This identity with the profile's business choice (or the only business)."""
        chosen = profile.business_id
        if chosen is None and len(self.businesses) == 1:
            chosen = self.businesses[0].id
        return replace(self, profile=profile.name, business_id=chosen)

    def __str__(self) -> str:
        # names come from the account: each is one line, whatever it holds (escaped)
        where = f", profile {self.profile!r}" if self.profile else ""
        email = f" <{self.email}>" if self.email else ""
        lines = [for_terminal(f"{self.name}{email} (identity {self.identity_id}{where})")]
        for b in self.businesses:
            mark = "*" if b.id == self.business_id else " "
            role = f" ({b.role})" if b.role else ""
            lines.append(f"  {mark} {b.id:<10} {for_terminal(b.name + role)}")
        if self.business_id is None and len(self.businesses) > 1:
            lines.append("no business chosen: run `fbtime use BUSINESS_ID`")
        return "\n".join(lines)


def _weekday(value: Any) -> int | None:
    """A ``first_day_of_week`` the server sent, if it is a whole number at all (any range:
    what a value other than 0 or 6 means is decided, and warned about, where weeks are made)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 12:
        return int(value)
    return value if isinstance(value, int) else None


def parse_identity(body: Any) -> Identity:
    """Read the ``users/me`` answer (tolerating missing optional fields).

    Names are read from ``profile`` (where live answers keep them), else from the top
    level (older shapes).
    """
    me = body.get("response") if isinstance(body, dict) else None
    if not isinstance(me, dict) or ("identity_id" not in me and "id" not in me):
        raise TransportError("the users/me answer has no identity in it")
    businesses = []
    for membership in me.get("business_memberships") or []:
        business = (membership or {}).get("business") or {}
        if business.get("id") is None:
            continue
        businesses.append(
            Business(
                id=int(business["id"]),
                name=str(business.get("name") or "(unnamed)"),
                account_id=business.get("account_id"),
                role=membership.get("role"),
                first_day_of_week=_weekday(business.get("first_day_of_week")),
            )
        )
    found = me.get("profile")
    profile: dict[str, Any] = found if isinstance(found, dict) else {}
    name = " ".join(
        str(profile.get(k) or me.get(k) or "") for k in ("first_name", "last_name")
    ).strip()
    return Identity(
        identity_id=int(me.get("identity_id") or me["id"]), email=me.get("email"),
        name=name or str(me.get("email") or "(no name)"), businesses=tuple(businesses),
    )  # fmt: skip


def get_identity(
    base_url: str, auth: str | requests.auth.AuthBase, *, timeout: float = DEFAULT_TIMEOUT
) -> Identity:
    """GET ``users/me`` with an access token (or a renewing auth object).

    No redirect is followed: the token goes to ``base_url`` and nowhere else. The answer
    is read within the size cap and deadline of every answer (:mod:`fbtime.transport`).
    """
    url = base_url.rstrip("/") + ME_PATH
    headers = {"Authorization": f"Bearer {auth}"} if isinstance(auth, str) else {}
    try:
        with bounded(requests.Session()) as session:
            response = session.get(
                url,
                headers=headers,
                auth=None if isinstance(auth, str) else auth,
                timeout=timeout,
                allow_redirects=False,
            )
    except requests.exceptions.RequestException as exc:
        raise TransportError(describe(exc, "GET", url, timeout)) from None
    if response.is_redirect:
        raise TransportError(
            f"GET {url} answered {response.status_code}, a redirect; fbtime does not follow "
            "redirects with a token (check the API URL)"
        )
    if response.status_code >= 400:
        raise error_for_status(response.status_code, response.text, method="GET", url=url)
    try:
        return parse_identity(response.json())
    except ValueError:
        raise TransportError(f"unreadable JSON in the answer to GET {url}") from None


def whoami(profile: str | None = None) -> Identity:
    """Who the saved login (or token) is, and their businesses, as FreshBooks says now.

    The token, business and API are chosen as for :class:`~fbtime.Client`
    (:mod:`fbtime.auth.connection`). The membership list is saved in the profile, so
    ``fbtime.Client()`` can pick the only business without asking FreshBooks again.

    Raises:
        ConfigError: no token and no saved login (run ``fbtime login``).
        AuthError: the login no longer works (sign in again).

    Example:
        >>> import os
        >>> os.environ.update(FRESHBOOKS_ACCESS_TOKEN=sb.token, FRESHBOOKS_API_URL=sb.url)
        >>> print(fbtime.whoami())  # * marks the business fbtime uses
        Olivia Tremblay <olivia.tremblay@example.com> (identity 6677846)
          * 240891     Maple & Pine Studio (owner)
    """
    connection = resolve(profile=profile, need_business=False)
    auth = connection.auth
    if auth is None:
        assert connection.token is not None
        identity = get_identity(connection.base_url, connection.token)
        only = identity.businesses[0].id if len(identity.businesses) == 1 else None
        return replace(identity, business_id=connection.business_id or only)
    identity = get_identity(connection.base_url, auth)
    name = auth.profile.name
    saved = auth.store.update(
        name,
        identity_id=identity.identity_id,
        email=identity.email,
        businesses=[b.as_dict() for b in identity.businesses],
    )
    return identity.with_profile(saved)


def use_business(business_id: int | str, profile: str | None = None) -> Business:
    """Save which business the profile works on (for users with several).

    Raises:
        ConfigError: the user is not a member of that business (the message lists theirs).
    """
    wanted = check_business_id(business_id)
    name = profile_name(profile)  # `use` always saves into a profile, even if a token is set
    identity = whoami(name)
    match = [b for b in identity.businesses if b.id == wanted]
    if not match:
        listing = "; ".join(f"{b.name} (id {b.id})" for b in identity.businesses) or "none"
        raise ConfigError(
            f"{identity.email} is not a member of business {wanted}; their businesses: {listing}"
        )
    auth = resolve(profile=name, need_business=False).auth
    assert auth is not None  # a named profile always resolves to a saved login
    auth.store.update(auth.profile.name, business_id=wanted)
    return match[0]
