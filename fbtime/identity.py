"""Who is signed in, and which business fbtime works on (``fbtime whoami`` / ``fbtime use``).

FreshBooks' ``GET /auth/api/v1/users/me`` tells the identity and its business
memberships; time tracking is keyed by ``business_memberships[].business.id`` (not the
membership id, not the accounting ``account_id``, which may be null). A user with one
business gets it chosen automatically; a user with several must choose once with
``fbtime use BUSINESS_ID`` (saved in the profile), and until then ``fbtime.Client()``
raises a :class:`~fbtime.errors.ConfigError` listing them.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass, replace
from typing import Any

import requests

from fbtime.config import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    ENV_API_URL,
    ENV_BUSINESS_ID,
    ENV_TOKEN,
    check_base_url,
)
from fbtime.errors import ConfigError, TransportError
from fbtime.refresh import ProfileAuth, saved_login
from fbtime.responses import error_for_status
from fbtime.tokens import DEFAULT_PROFILE, Profile, profile_name

ME_PATH = "/auth/api/v1/users/me"


@dataclass(frozen=True)
class Business:
    """One business the user belongs to."""

    id: int
    name: str
    account_id: str | None = None
    role: str | None = None

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
        where = f", profile {self.profile!r}" if self.profile else ""
        email = f" <{self.email}>" if self.email else ""
        lines = [f"{self.name}{email} (identity {self.identity_id}{where})"]
        for b in self.businesses:
            mark = "*" if b.id == self.business_id else " "
            lines.append(f"  {mark} {b.id:<10} {b.name}" + (f" ({b.role})" if b.role else ""))
        if self.business_id is None and len(self.businesses) > 1:
            lines.append("no business chosen: run `fbtime use BUSINESS_ID`")
        return "\n".join(lines)


def parse_identity(body: Any) -> Identity:
    """Read the ``users/me`` answer (tolerating missing optional fields)."""
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
            )
        )
    name = " ".join(str(me.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Identity(
        identity_id=int(me.get("identity_id") or me["id"]), email=me.get("email"),
        name=name or str(me.get("email") or "(no name)"), businesses=tuple(businesses),
    )  # fmt: skip


def fetch_identity(
    base_url: str, auth: str | requests.auth.AuthBase, *, timeout: float = DEFAULT_TIMEOUT
) -> Identity:
    """GET ``users/me`` with an access token (or a refreshing auth object)."""
    url = base_url.rstrip("/") + ME_PATH
    headers = {"Authorization": f"Bearer {auth}"} if isinstance(auth, str) else {}
    try:
        response = requests.get(
            url, headers=headers, auth=None if isinstance(auth, str) else auth, timeout=timeout
        )
    except requests.exceptions.RequestException as exc:
        raise TransportError(f"GET {url} failed: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise error_for_status(response.status_code, response.text, method="GET", url=url)
    try:
        return parse_identity(response.json())
    except ValueError:
        raise TransportError(f"unreadable JSON in the answer to GET {url}") from None


def _login(profile: str | None) -> ProfileAuth:
    auth = saved_login(profile)
    if auth is None:
        raise ConfigError("not signed in: run `fbtime login` (or fbtime.login() in a notebook)")
    return auth


def whoami(profile: str | None = None) -> Identity:
    """Who the saved login is, and their businesses (refreshed from FreshBooks).

    Like :class:`~fbtime.Client`, ``FRESHBOOKS_ACCESS_TOKEN`` (with ``FRESHBOOKS_API_URL``)
    wins unless a profile is named. The membership list is saved in the profile, so
    ``fbtime.Client()`` can pick the only business without asking FreshBooks again.

    Raises:
        ConfigError: no saved login (run ``fbtime login``).
        AuthError: the login no longer works (sign in again).
    """
    token = os.environ.get(ENV_TOKEN)
    if profile is None and token:
        base_url = check_base_url(os.environ.get(ENV_API_URL) or DEFAULT_BASE_URL)
        identity = fetch_identity(base_url, token)
        only = identity.businesses[0].id if len(identity.businesses) == 1 else None
        chosen = os.environ.get(ENV_BUSINESS_ID)
        chosen_id = int(chosen) if chosen and chosen.strip().isdigit() else only
        return replace(identity, business_id=chosen_id)
    auth = _login(profile)
    identity = fetch_identity(auth.api_url, auth)
    name = auth.profile.name
    saved = auth.store.update(
        name, identity_id=identity.identity_id, email=identity.email,
        businesses=[b.as_dict() for b in identity.businesses],
    )  # fmt: skip
    return identity.with_profile(saved)


def use_business(business_id: int | str, profile: str | None = None) -> Business:
    """Save which business the profile works on (for users with several).

    Raises:
        ConfigError: the user is not a member of that business (the message lists theirs).
    """
    try:
        wanted = int(str(business_id).strip())
    except ValueError:
        raise ConfigError(f"business id must be a whole number, got {business_id!r}") from None
    identity = whoami(profile)
    match = [b for b in identity.businesses if b.id == wanted]
    if not match:
        listing = "; ".join(f"{b.name} (id {b.id})" for b in identity.businesses) or "none"
        raise ConfigError(
            f"{identity.email} is not a member of business {wanted}; their businesses: {listing}"
        )
    auth = _login(profile)
    auth.store.update(auth.profile.name, business_id=wanted)
    return match[0]


# -- CLI -------------------------------------------------------------------------------
def _cmd_login(args: argparse.Namespace) -> int:
    from fbtime.oauth import ENV_CLIENT_SECRET, login

    secret = os.environ.get(ENV_CLIENT_SECRET)
    if not secret and sys.stdin.isatty():
        secret = getpass.getpass("FreshBooks app client secret: ")
    kw = {"auth_url": args.auth_url} if args.auth_url else {}
    identity = login(
        args.client_id, secret, redirect_uri=args.redirect_uri, profile=profile_name(args.profile),
        open_browser=not args.no_browser, token_url=args.token_url, base_url=args.api_url,
        scopes=args.scope, **kw,
    )  # fmt: skip
    print(f"Signed in; saved as profile {profile_name(args.profile)!r}.")
    print(identity)
    return 0


def _cmd_whoami(args: argparse.Namespace) -> int:
    print(whoami(args.profile))
    return 0


def _cmd_use(args: argparse.Namespace) -> int:
    business = use_business(args.business_id, args.profile)
    name = profile_name(args.profile)
    print(f"profile {name!r} now uses {business.name} (business id {business.id})")
    return 0


def add_commands(sub: Any) -> None:
    """Add ``fbtime login``, ``fbtime whoami`` and ``fbtime use`` to the CLI."""
    profile_help = f"saved login to use (default: $FBTIME_PROFILE or {DEFAULT_PROFILE!r})"
    p = sub.add_parser("login", help="sign in to FreshBooks in the browser and save the login")
    p.add_argument("--profile", default=None, help=profile_help)
    p.add_argument("--client-id", default=None, help="app client id ($FRESHBOOKS_CLIENT_ID)")
    p.add_argument(
        "--redirect-uri", default=None, help="app redirect URI ($FRESHBOOKS_REDIRECT_URI)"
    )
    p.add_argument("--no-browser", action="store_true", help="only print the address")
    p.add_argument("--scope", action="append", default=None, help="scope to request (repeat)")
    p.add_argument("--auth-url", default=None, help="authorize URL (a sandbox's)")
    p.add_argument("--token-url", default=None, help="token URL (default: API URL + path)")
    p.add_argument("--api-url", default=None, help="API base URL ($FRESHBOOKS_API_URL)")
    p.set_defaults(func=_cmd_login)

    p = sub.add_parser("whoami", help="show the signed-in user and their businesses")
    p.add_argument("--profile", default=None, help=profile_help)
    p.set_defaults(func=_cmd_whoami)

    p = sub.add_parser("use", help="choose the business a saved login works on")
    p.add_argument("business_id", help="business id, as `fbtime whoami` lists it")
    p.add_argument("--profile", default=None, help=profile_help)
    p.set_defaults(func=_cmd_use)
