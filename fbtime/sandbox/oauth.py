"""OAuth 2 in the sandbox: an auto-approving authorize page and a token endpoint.

It follows FreshBooks' semantics (facts sheet, section 9) so the whole login and refresh
flow of :mod:`fbtime.auth.oauth` and :mod:`fbtime.auth.profile_auth` is tested end to end:

* ``GET /oauth/authorize/?client_id&response_type=code&redirect_uri&state`` answers 302 to
  ``redirect_uri?code=...&state=...`` at once (no login page: the "user" approves).
* ``POST /auth/oauth/token`` takes a form-encoded or JSON body. ``authorization_code``
  needs ``client_id, client_secret, code, redirect_uri`` (the one used to authorize);
  codes are single-use and expire after 5 minutes. ``refresh_token`` needs ``client_id,
  client_secret, refresh_token, redirect_uri``; refresh tokens are single-use: each refresh
  returns a new one and kills the old. Errors are Doorkeeper's: 400 ``invalid_grant``,
  401 ``invalid_client``, 400 ``invalid_request`` / ``unsupported_grant_type``.
* ``POST /auth/oauth/revoke`` (``token``, client credentials) revokes the whole grant:
  its access token answers 401 and its refresh token ``invalid_grant``.
* Access tokens expire after :attr:`OAuthServer.access_token_ttl` seconds (43200, as
  FreshBooks). Time is :meth:`OAuthServer.now`, which tests move with
  :meth:`OAuthServer.advance` instead of sleeping.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from fbtime.sandbox.app import SandboxApp

ACCESS_TOKEN_TTL = 43200
CODE_TTL = 300
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication "
    "included, or unsupported authentication method."
)

Response = tuple[int, dict[str, str], bytes]


def _json(status: int, body: Any) -> Response:
    headers = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}
    return status, headers, json.dumps(body).encode()


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    identity: int
    issued: float
    scope: str


@dataclass
class _Grant:
    client_id: str
    identity: int
    scope: str
    access_token: str
    refresh_token: str


class OAuthServer:
    """The sandbox's OAuth state: one registered app, codes, grants and expiries.

    Attributes:
        client_id, client_secret: the registered app's credentials.
        access_token_ttl: seconds an issued access token lives (``expires_in``).
        login_identity: the identity the authorize page approves as (the owner).
        approve: False makes the authorize page redirect with ``error=access_denied``.
    """

    def __init__(self, app: SandboxApp, *, access_token_ttl: int = ACCESS_TOKEN_TTL) -> None:
        self.app = app
        self.client_id = f"sandbox-app-{secrets.token_hex(6)}"
        self.client_secret = secrets.token_urlsafe(24)
        self.access_token_ttl = access_token_ttl
        self.code_ttl = CODE_TTL
        self.login_identity: int = app.owner_id
        self.approve = True
        self.offset = 0.0
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, _Grant] = {}  # live refresh token -> grant
        self._expires: dict[str, float] = {}  # access token -> expiry (sandbox clock)
        self._lock = threading.Lock()

    # -- clock -------------------------------------------------------------------------
    def now(self) -> float:
        """The sandbox clock: wall time plus whatever :meth:`advance` added."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (expires codes and tokens without sleeping)."""
        self.offset += seconds

    def expired(self, access_token: str | None) -> bool:
        """True if ``access_token`` was issued by the token endpoint and has expired."""
        expiry = self._expires.get(access_token or "")
        return expiry is not None and self.now() >= expiry

    def issued(self, access_token: str) -> bool:
        """True if the token endpoint issued ``access_token`` (it can expire)."""
        return access_token in self._expires

    # -- endpoints ---------------------------------------------------------------------
    def handle(self, method: str, route: str, environ: dict[str, Any]) -> Response:
        """Answer ``oauth/authorize``, ``oauth/token`` or ``oauth/revoke``."""
        if route == "oauth/authorize":
            if method != "GET":
                return _json(405, {"error": "Method Not Allowed"})
            query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            return self._authorize(query)
        if method != "POST":
            return _json(405, {"error": "Method Not Allowed"})
        form = self._form(environ)
        if route == "oauth/token":
            return self._token(form)
        return self._revoke_endpoint(form)

    @staticmethod
    def _form(environ: dict[str, Any]) -> dict[str, str]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        if "json" in environ.get("CONTENT_TYPE", ""):
            try:
                body = json.loads(raw or b"{}")
            except (ValueError, UnicodeDecodeError):
                return {}
            return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}

    def _authorize(self, query: dict[str, str]) -> Response:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id:
            return _oauth_error(400, "invalid_client", INVALID_CLIENT)
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _oauth_error(400, "invalid_redirect_uri", "The redirect uri is not valid.")
        answer: dict[str, str]
        if query.get("response_type") != "code":
            answer = {"error": "unsupported_response_type"}
        elif not self.approve:
            answer = {"error": "access_denied", "error_description": "The user denied access."}
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = _Code(
                    self.client_id, redirect_uri, self.login_identity, self.now(),
                    query.get("scope", "user:profile:read user:time_entries:read"),
                )  # fmt: skip
            answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        glue = "&" if parts.query else "?"
        return 302, {"Location": redirect_uri + glue + urlencode(answer)}, b""

    def _token(self, form: dict[str, str]) -> Response:
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            return _oauth_error(
                400, "unsupported_grant_type", "The authorization grant type is not supported."
            )
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return _oauth_error(401, "invalid_client", INVALID_CLIENT)
        if not form.get("redirect_uri"):
            return _oauth_error(
                400, "invalid_request", "The request is missing a required parameter: redirect_uri."
            )
        with self._lock:
            if grant_type == "authorization_code":
                code = self._codes.pop(form.get("code", ""), None)  # single use, even on error
                if (
                    code is None
                    or self.now() - code.issued > self.code_ttl
                    or code.redirect_uri != form["redirect_uri"]
                ):
                    return _oauth_error(400, "invalid_grant", INVALID_GRANT)
                identity, scope = code.identity, code.scope
            else:
                old = self._grants.pop(form.get("refresh_token", ""), None)  # single use
                if old is None:
                    return _oauth_error(400, "invalid_grant", INVALID_GRANT)
                identity, scope = old.identity, old.scope
            return _json(200, self._issue(identity, scope))

    def _issue(self, identity: int, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now()
        self.app.tokens[access] = identity
        self._expires[access] = now + self.access_token_ttl
        self._grants[refresh] = _Grant(self.client_id, identity, scope, access, refresh)
        return {
            "access_token": access, "token_type": "Bearer", "expires_in": self.access_token_ttl,
            "refresh_token": refresh, "scope": scope, "created_at": int(now),
        }  # fmt: skip

    def _revoke_endpoint(self, form: dict[str, str]) -> Response:
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return _oauth_error(401, "invalid_client", INVALID_CLIENT)
        self.revoke(form.get("token", ""))
        return _json(200, {})

    def revoke(self, token: str) -> None:
        """Revoke the grant that ``token`` (an access or refresh token) belongs to."""
        with self._lock:
            for refresh, grant in list(self._grants.items()):
                if token in (refresh, grant.access_token):
                    del self._grants[refresh]
                    self.app.revoked.add(grant.access_token)
                    self.app.tokens.pop(grant.access_token, None)


class OAuthKnobs:
    """The OAuth side of :class:`~fbtime.sandbox.Sandbox` (mixed in; needs ``self._app``)."""

    _app: SandboxApp

    @property
    def oauth_client_id(self) -> str:
        """The client id of the OAuth app registered in this sandbox."""
        return self._app.oauth.client_id

    @property
    def oauth_client_secret(self) -> str:
        """The client secret of the OAuth app registered in this sandbox."""
        return self._app.oauth.client_secret

    @property
    def authorize_url(self) -> str:
        """The auto-approving authorize page (FreshBooks': auth.freshbooks.com/oauth/authorize/)."""
        return f"{self.url}/oauth/authorize/"  # type: ignore[attr-defined]

    @property
    def token_url(self) -> str:
        """The token endpoint, ``<url>/auth/oauth/token`` as on FreshBooks."""
        return f"{self.url}/auth/oauth/token"  # type: ignore[attr-defined]

    @property
    def access_token_ttl(self) -> int:
        """Seconds an access token from the token endpoint lives (43200 by default)."""
        return self._app.oauth.access_token_ttl

    @access_token_ttl.setter
    def access_token_ttl(self, seconds: int) -> None:
        self._app.oauth.access_token_ttl = int(seconds)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's OAuth clock forward: codes and access tokens age at once."""
        self._app.oauth.advance(seconds)

    def add_business(self, name: str, *, business_id: int | None = None) -> int:
        """Give every user a membership in another (empty) business; return its id.

        Its time-tracking endpoints answer 404, as for any business the sandbox does not
        serve; it exists so ``users/me`` lists several businesses.
        """
        business = dict(self._app.dataset.business)
        taken = {b["id"] for b in [business, *self._app.extra_businesses]}
        new_id = business_id or max(taken) + 1
        business.update(id=new_id, name=name, account_id=None, business_uuid=f"sandbox-{new_id}")
        self._app.extra_businesses.append(business)
        return new_id
