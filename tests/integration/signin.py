"""Signing in to a sandbox as a user would, with the token store in a temporary directory.

``isolated_login(monkeypatch, tmp_path)`` points fbtime's config and cache directories at
``tmp_path``, forces the file backend (``FBTIME_KEYRING=0``) so no test touches a real
keyring, and clears the variables that would win over a saved login.
``sign_in(sb)`` runs the paste-the-URL flow: the "browser" is requests, which opens the
authorize page and reads where it redirects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from fbtime.auth.identity import Identity
from fbtime.auth.oauth import LoginFlow
from fbtime.auth.tokens import Profile, TokenStore

REDIRECT = "https://localhost/fbtime"


def isolated_login(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TokenStore:
    monkeypatch.setenv("FBTIME_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FBTIME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    for name in (
        "FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
        "FBTIME_PROFILE", "FRESHBOOKS_CLIENT_ID", "FRESHBOOKS_CLIENT_SECRET",
        "FRESHBOOKS_REDIRECT_URI",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return TokenStore()


def start(sb: Any, profile: str = "default", **kw: Any) -> LoginFlow:
    return LoginFlow(
        sb.oauth_client_id, sb.oauth_client_secret, redirect_uri=REDIRECT, profile=profile,
        auth_url=sb.authorize_url, base_url=sb.url, **kw,
    )  # fmt: skip


def approve(flow: LoginFlow) -> str:
    """What the browser does: open the authorize page; return where it was sent."""
    answer = requests.get(flow.authorization_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302
    return answer.headers["Location"]


def sign_in(sb: Any, profile: str = "default") -> Identity:
    flow = start(sb, profile)
    return flow.finish(approve(flow))


def expire(store: TokenStore, name: str = "default") -> Profile:
    """Make the saved access token look expired to fbtime (the server decides separately)."""
    return store.update(name, expires_at=0.0)
