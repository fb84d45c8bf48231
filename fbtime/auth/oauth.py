"""Signing in to FreshBooks: the OAuth 2 authorization-code flow (requests-oauthlib).

You register an app in FreshBooks (client id, client secret, redirect URI), sign in once
in the browser, and fbtime saves the tokens in a profile (:mod:`fbtime.auth.tokens`), so
``fbtime.Client()`` works from then on and renews tokens by itself.

Two ways to finish the sign-in, chosen by the redirect URI:

* **Paste the URL** (the usual one for real accounts: FreshBooks only accepts HTTPS
  redirect URIs, e.g. ``https://localhost/fbtime``). After you approve, the browser goes to
  that address, which shows nothing or an error page; copy the whole address from the
  address bar and paste it at the prompt (or pass it to :meth:`LoginFlow.finish`).
* **Loopback listener**: when the redirect URI is ``http://127.0.0.1:PORT/...`` or
  ``http://localhost:PORT/...`` (the sandbox, or a provider that allows it), fbtime listens
  there for the one redirect and finishes by itself.

Either way the ``state`` in the answer must be the one fbtime sent (a forged redirect is
refused) and the code must be exchanged within 5 minutes.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import os
import time
import webbrowser
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error

from fbtime.auth.identity import Identity, get_identity
from fbtime.auth.profile_auth import (
    oauth_session,
    oauthlib_transport,
    token_fields,
    token_response_hook,
)
from fbtime.auth.tokens import DEFAULT_PROFILE, Profile, TokenStore, check_url, profile_name
from fbtime.config import (
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT,
    ENV_API_URL,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_REDIRECT_URI,
    check_base_url,
)
from fbtime.errors import AuthError, ConfigError, LoginError, TransportError
from fbtime.transport import describe

AUTHORIZE_URL = "https://auth.freshbooks.com/oauth/authorize/"
TOKEN_PATH = "/auth/oauth/token"
#: How long the loopback listener waits for the browser (codes die after 5 minutes anyway).
LISTEN_TIMEOUT = 300.0


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


class LoginFlow:
    """One sign-in in progress: open :attr:`authorization_url`, then :meth:`finish`.

    Args:
        client_id, client_secret: the FreshBooks app's credentials.
        redirect_uri: exactly the redirect URI registered for the app.
        profile: the name to save the login under.
        auth_url, token_url, base_url: FreshBooks' by default (a sandbox's in tests).
        scopes: scopes to ask for; None asks for the app's registered scopes.
        store: where to save the profile (default: keyring or the config dir).

    Example:
        Signing in to a sandbox (for FreshBooks, leave out ``auth_url`` and ``base_url``;
        requests plays the browser, and the sandbox approves at once):

        >>> import requests
        >>> flow = LoginFlow(
        ...     sb.oauth_client_id, sb.oauth_client_secret, redirect_uri="https://localhost/fbtime",
        ...     auth_url=sb.authorize_url, base_url=sb.url,
        ... )
        >>> flow.authorization_url  # open it in a browser and approve
        'http://127.0.0.1:.../oauth/authorize/?response_type=code&client_id=...&state=...'
        >>> landed = requests.get(flow.authorization_url, allow_redirects=False).headers["Location"]
        >>> landed  # where the browser went: copy it from the address bar
        'https://localhost/fbtime?code=...&state=...'
        >>> flow.finish(landed).business_id == sb.business_id
        True
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str,
        profile: str = DEFAULT_PROFILE,
        auth_url: str = AUTHORIZE_URL,
        token_url: str | None = None,
        base_url: str | None = None,
        scopes: list[str] | None = None,
        store: TokenStore | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not client_id or not client_secret:
            raise ConfigError(
                "signing in needs your FreshBooks app's client id and secret: pass "
                f"client_id=/client_secret= or set {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} "
                "(FreshBooks > Developer Portal > your app)"
            )
        self.profile = profile_name(profile)
        self.base_url = check_base_url(base_url or os.environ.get(ENV_API_URL) or DEFAULT_BASE_URL)
        self.auth_url = check_url("authorize URL", auth_url)
        self.token_url = check_url("token URL", token_url or self.base_url + TOKEN_PATH)
        self.redirect_uri = check_url("redirect URI", redirect_uri)
        if urlsplit(redirect_uri).query:
            raise ConfigError("redirect URI: FreshBooks does not allow a query string in it")
        self.client_id, self._secret = client_id, client_secret
        self.store, self.timeout = store or TokenStore(), timeout
        self._session = oauth_session(client_id, redirect_uri=redirect_uri, scope=scopes)
        with oauthlib_transport(self.auth_url):
            self.authorization_url, self._state = self._session.authorization_url(self.auth_url)

    def __repr__(self) -> str:
        return f"LoginFlow(profile={self.profile!r}, redirect_uri={self.redirect_uri!r})"

    @property
    def listens(self) -> bool:
        """True when the redirect comes back to this machine over HTTP (a loopback listener)."""
        return _is_loopback_http(self.redirect_uri)

    def state_matches(self, redirected_url: str) -> bool:
        """True when the redirect carries this sign-in's ``state`` (so it is the answer)."""
        query = parse_qs(urlsplit(redirected_url.strip()).query)
        return bool(query.get("state")) and query["state"][-1] == self._state

    def code_from(self, redirected_url: str) -> str:
        """Check the redirect (``state``, errors) and return the authorization code."""
        parts = urlsplit(redirected_url.strip())
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        expected = urlsplit(self.redirect_uri)
        if (parts.scheme, parts.netloc, parts.path.rstrip("/")) != (
            expected.scheme, expected.netloc, expected.path.rstrip("/"),
        ):  # fmt: skip
            raise LoginError(
                "that is not the redirect URI of this app: paste the whole address the browser "
                f"went to after you approved (it starts with {self.redirect_uri})"
            )
        if query.get("state") != self._state:
            raise LoginError(
                "the answer's `state` does not match this sign-in (a stale tab, another "
                "sign-in, or a forged link); nothing was saved: run `fbtime login` again and "
                "use the address it gives"
            )
        if "error" in query:
            detail = query.get("error_description") or query["error"]
            raise LoginError(
                f"FreshBooks did not grant access ({detail}); run `fbtime login` again"
            )
        if not query.get("code"):
            raise LoginError("the address has no `code`: copy the whole address, then try again")
        return query["code"]

    def finish(self, redirected_url: str) -> Identity:
        """Exchange the code, learn who signed in, save the profile; return the identity.

        Raises:
            LoginError: wrong ``state``, access denied, or the code expired/was used.
            TransportError: FreshBooks could not be reached.
        """
        code = self.code_from(redirected_url)
        self._session.register_compliance_hook(
            "access_token_response", token_response_hook("login", self.profile)
        )
        started = time.time()
        try:
            with oauthlib_transport(self.token_url):
                token = self._session.fetch_token(
                    self.token_url, code=code, client_secret=self._secret,
                    include_client_id=True, timeout=self.timeout,
                )  # fmt: skip
        except AuthError as exc:
            raise LoginError(exc.message) from None
        except OAuth2Error as exc:  # a 2xx answer without usable tokens
            raise LoginError(
                f"the token endpoint's answer could not be used ({exc.error})"
            ) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(describe(exc, "POST", self.token_url, self.timeout)) from None
        fields = token_fields(token, started)
        identity = get_identity(self.base_url, fields["access_token"], timeout=self.timeout)
        old = self.store.load(self.profile)
        keep = (
            old.business_id
            if old and old.identity_id == identity.identity_id and old.client_id == self.client_id
            else None
        )
        profile = Profile(
            name=self.profile, client_id=self.client_id, client_secret=self._secret,
            redirect_uri=self.redirect_uri, token_url=self.token_url, api_url=self.base_url,
            identity_id=identity.identity_id, email=identity.email, business_id=keep,
            businesses=[b.as_dict() for b in identity.businesses], **fields,
        )  # fmt: skip
        with self.store.locked(self.profile):
            self.store.save(profile)
        return identity.with_profile(profile)

    @contextlib.contextmanager
    def listener(self, timeout: float = LISTEN_TIMEOUT) -> Iterator[Callable[[], str]]:
        """Listen on the loopback redirect URI; yield a function that waits for the redirect."""
        if not self.listens:
            raise ConfigError(f"the redirect URI {self.redirect_uri} is not on this machine")
        target = urlsplit(self.redirect_uri)
        arrived: list[str] = []
        flow = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path.rstrip("/") != target.path.rstrip("/"):
                    self.send_error(404)
                    return
                url = f"{target.scheme}://{target.netloc}{self.path}"
                status = 200
                try:
                    flow.code_from(url)
                    text = "Signed in to FreshBooks. You can close this tab and go back to fbtime."
                except LoginError as exc:
                    text = f"fbtime could not finish signing in: {exc}"
                    if not flow.state_matches(url):  # a stray or forged request: keep waiting
                        status = 400
                body = f"<!doctype html><title>fbtime</title><p>{html.escape(text)}</p>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if status == 200:
                    arrived.append(url)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the request line holds the authorization code."""

        try:
            server = http.server.HTTPServer(
                (target.hostname or "127.0.0.1", target.port or 80), Handler
            )
        except OSError as exc:
            raise LoginError(
                f"cannot listen on {target.netloc} for the redirect ({exc.strerror}); free that "
                "port, or use a redirect URI that is not on this machine and paste the URL"
            ) from None
        server.timeout = 0.2

        def wait() -> str:
            deadline = time.monotonic() + timeout
            while not arrived:
                if time.monotonic() > deadline:
                    raise LoginError(
                        f"no answer from the browser within {timeout:g} s; run `fbtime login` again"
                    )
                server.handle_request()
            return arrived[0]

        try:
            yield wait
        finally:
            server.server_close()


def _open(url: str, open_browser: bool | Callable[[str], object]) -> None:
    print(f"Open this address to sign in to FreshBooks:\n\n  {url}\n", flush=True)
    if callable(open_browser):
        open_browser(url)
    elif open_browser:
        with contextlib.suppress(Exception):  # no browser here: the printed address will do
            webbrowser.open(url)


def login(
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    redirect_uri: str | None = None,
    profile: str = DEFAULT_PROFILE,
    open_browser: bool | Callable[[str], object] = True,
    auth_url: str = AUTHORIZE_URL,
    token_url: str | None = None,
    base_url: str | None = None,
    scopes: list[str] | None = None,
    timeout: float = LISTEN_TIMEOUT,
    store: TokenStore | None = None,
) -> Identity:
    """Sign in to FreshBooks in the browser once and save the login as a profile.

    Afterwards ``fbtime.Client()`` works with no arguments, renewing tokens by itself.
    Arguments left out come from ``FRESHBOOKS_CLIENT_ID``, ``FRESHBOOKS_CLIENT_SECRET``,
    ``FRESHBOOKS_REDIRECT_URI`` and ``FRESHBOOKS_API_URL``.

    Args:
        client_id, client_secret: your FreshBooks app's credentials.
        redirect_uri: the app's registered redirect URI. A loopback ``http://127.0.0.1:PORT``
            one is answered by a one-shot listener; any other (FreshBooks requires HTTPS)
            asks you to paste the address the browser lands on.
        profile: name of the saved login (several accounts: several profiles).
        open_browser: open the address in a browser; or a function called with it.
        auth_url, token_url, base_url: FreshBooks' endpoints (a sandbox's for tests).
        scopes: scopes to request (None: the app's registered ones).
        timeout: seconds the loopback listener waits for the browser.
        store: where to save (default: OS keyring if real, else a 0600 file).

    Returns:
        Who signed in, with their businesses.

    Raises:
        LoginError: wrong ``state``, access denied, expired code; nothing is saved.

    Example:
        With your app, ``fbtime.login(client_id, client_secret,
        redirect_uri="https://localhost/fbtime")`` prints the address to open and asks for
        the one the browser lands on. Against a sandbox, a loopback redirect URI is caught
        by fbtime's one-shot listener (requests plays the browser; the sandbox approves at
        once):

        >>> import socket, threading, requests
        >>> with socket.socket() as s:  # a free port for the redirect
        ...     s.bind(("127.0.0.1", 0))
        ...     port = s.getsockname()[1]
        >>> def browser(url):
        ...     threading.Thread(target=requests.get, args=(url,)).start()
        >>> me = fbtime.login(
        ...     sb.oauth_client_id, sb.oauth_client_secret,
        ...     redirect_uri=f"http://127.0.0.1:{port}/fbtime", open_browser=browser,
        ...     auth_url=sb.authorize_url, base_url=sb.url,
        ... )
        Open this address to sign in to FreshBooks:
        <BLANKLINE>
          http://127.0.0.1:.../oauth/authorize/?response_type=code&client_id=...
        <BLANKLINE>
        >>> me.profile, fbtime.Client().business_id == sb.business_id  # no arguments needed now
        ('default', True)
    """
    redirect_uri = redirect_uri or os.environ.get(ENV_REDIRECT_URI)
    if not redirect_uri:
        raise ConfigError(
            "signing in needs your app's redirect URI exactly as registered in FreshBooks "
            f"(e.g. https://localhost/fbtime): pass redirect_uri= or set {ENV_REDIRECT_URI}"
        )
    flow = LoginFlow(
        client_id or os.environ.get(ENV_CLIENT_ID, ""),
        client_secret or os.environ.get(ENV_CLIENT_SECRET, ""),
        redirect_uri=redirect_uri, profile=profile, auth_url=auth_url, token_url=token_url,
        base_url=base_url, scopes=scopes, store=store,
    )  # fmt: skip
    if flow.listens:
        with flow.listener(timeout) as wait:
            _open(flow.authorization_url, open_browser)
            redirected = wait()
    else:
        _open(flow.authorization_url, open_browser)
        redirected = input("After approving, paste the full address the browser went to: ")
    return flow.finish(redirected)
