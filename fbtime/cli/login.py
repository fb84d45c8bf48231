"""``fbtime login``, ``fbtime whoami`` and ``fbtime use``: signing in from a terminal."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from fbtime.auth.identity import use_business, whoami
from fbtime.auth.oauth import login
from fbtime.auth.tokens import DEFAULT_PROFILE, profile_name
from fbtime.config import ENV_CLIENT_SECRET
from fbtime.text import for_terminal


def _cmd_login(args: argparse.Namespace) -> int:
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
    print(for_terminal(identity, keep_newlines=True))
    return 0


def _cmd_whoami(args: argparse.Namespace) -> int:
    print(for_terminal(whoami(args.profile), keep_newlines=True))
    return 0


def _cmd_use(args: argparse.Namespace) -> int:
    business = use_business(args.business_id, args.profile)
    name = profile_name(args.profile)
    print(f"profile {name!r} now uses {for_terminal(business.name)} (business id {business.id})")
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
