"""Keeping a saved login alive: renew its tokens before expiry or on a 401, never twice.

FreshBooks' access tokens last 12 hours and its refresh tokens are single-use, so a second
renewal with the same refresh token fails and the user must sign in again. fbtime
therefore renews a few minutes before expiry, or once after a 401, and only while
holding a thread lock and a file lock (``filelock``) on the profile; after taking the lock
it re-reads the store, so a process that lost the race uses the winner's fresh token
instead of burning the old refresh token. The new refresh token is
written to the store before the new access token is used. ("Refresh" in fbtime means
bypassing the HTTP cache; renewing tokens is OAuth's ``refresh_token`` grant.)

The token is only ever sent to the API the profile was made for: the 401 retry re-sends
a request only when it went to that origin.

The token endpoint is called through requests-oauthlib; its error answers become clear
:class:`~fbtime.errors.AuthError` messages that say to run ``fbtime login`` again.
Tokens and the client secret never appear in logs, reprs or error messages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import requests
from oauthlib.oauth2 import OAuth2Error

from fbtime.auth.tokens import (
    DEFAULT_PROFILE,
    RENEW_MARGIN,
    Profile,
    TokenStore,
    check_url,
    profile_name,
)
from fbtime.config import DEFAULT_TIMEOUT, ENV_PROFILE, check_token, origin
from fbtime.errors import (
    AuthError,
    ConfigError,
    TransportError,
    error_for_status,
    parse_error_body,
)
from fbtime.transport import bounded

log = logging.getLogger("fbtime")


class _DropDebug(logging.Filter):
    """requests-oauthlib logs request bodies and tokens at DEBUG; fbtime must not leak them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_DropDebug())


# -- the token endpoint ------------------------------------------------------------------
_TRANSPORT_LOCK = threading.Lock()


@contextlib.contextmanager
def oauthlib_transport(url: str) -> Iterator[None]:
    """Let oauthlib use a plain-HTTP URL if it is on this machine (a sandbox).

    oauthlib refuses any non-HTTPS token URL unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set;
    fbtime's own check already allows plain HTTP only to this machine (a sandbox).
    """
    if url.lower().startswith("https://"):
        yield
        return
    check_url("OAuth URL", url)
    with _TRANSPORT_LOCK:
        old = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = old


def oauth_session(client_id: str, **kwargs: Any) -> Any:
    """A requests-oauthlib session that follows no redirect and reads answers bounded.

    The token endpoint receives the client secret and the refresh token in the body; a
    307 to another host would re-post both there, so no redirect is ever followed. Its
    answers are read within the size cap and deadline of :mod:`fbtime.transport`.
    """
    from requests_oauthlib import OAuth2Session

    session = OAuth2Session(client_id, **kwargs)
    session.max_redirects = 0
    return bounded(session)


def token_response_hook(stage: str, profile: str) -> Callable[[requests.Response], Any]:
    """A requests-oauthlib compliance hook turning an error answer into a clear fbtime error."""

    def hook(response: requests.Response) -> requests.Response:
        if response.status_code < 400:
            return response
        message, _, _, body = parse_error_body(response.text)
        error = body.get("error") if isinstance(body, dict) else None
        again = f"run `fbtime login{'' if profile == DEFAULT_PROFILE else ' --profile ' + profile}`"
        if error == "invalid_grant" and stage == "renew":
            message = (
                f"the saved login of profile {profile!r} no longer works: its refresh token "
                f"was already used or the app's access was revoked ({message}); {again} to "
                "sign in again"
            )
        elif error == "invalid_grant":
            message = (
                f"the authorization code was refused: it expired (codes last 5 minutes), was "
                f"already used, or the redirect URI differs ({message}); {again} again and "
                "finish within 5 minutes"
            )
        elif error == "invalid_client":
            message = (
                f"FreshBooks rejected the app's client id or secret ({message}); check them in "
                f"FreshBooks' developer page, then {again}"
            )
        elif response.status_code < 500:
            message = f"the token endpoint refused the request ({message}); {again}"
        else:
            raise error_for_status(response.status_code, response.text, method="POST")
        raise AuthError(message, status=response.status_code, body=body, method="POST")

    return hook


def renew_tokens(
    profile: Profile, *, timeout: float = DEFAULT_TIMEOUT, now: float | None = None
) -> Profile:
    """Trade the profile's refresh token for new tokens; return the updated profile.

    Callers must hold the profile's lock and save the result before using it. ``now`` is
    when the request is sent (the new expiry counts from it).
    """
    session = oauth_session(profile.client_id, redirect_uri=profile.redirect_uri)
    session.register_compliance_hook(
        "refresh_token_response", token_response_hook("renew", profile.name)
    )
    started = time.time() if now is None else now
    try:
        with oauthlib_transport(profile.token_url):
            token = session.refresh_token(
                profile.token_url, refresh_token=profile.refresh_token, timeout=timeout,
                client_id=profile.client_id, client_secret=profile.client_secret,
                redirect_uri=profile.redirect_uri,
            )  # fmt: skip
    except OAuth2Error as exc:  # a 2xx answer without usable tokens
        raise AuthError(
            f"the token endpoint's answer could not be used ({exc.error}); run `fbtime login`",
            status=200,
        ) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(
            f"could not reach the token endpoint {profile.token_url}: {type(exc).__name__}"
        ) from None
    finally:
        session.close()
    return replace(profile, **token_fields(token, started))


def token_fields(token: dict[str, Any], started: float) -> dict[str, Any]:
    """The profile fields a token answer sets (expiry counted from when we asked)."""
    if not token.get("access_token") or not token.get("refresh_token"):
        raise AuthError("the token endpoint answered without the tokens", status=200)
    lifetime = float(token.get("expires_in") or 43200)
    return {
        "access_token": str(token["access_token"]), "refresh_token": str(token["refresh_token"]),
        "expires_at": started + lifetime, "lifetime": lifetime,
    }  # fmt: skip


# -- using a profile ---------------------------------------------------------------------
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _thread_lock(store: TokenStore, name: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault((str(store.directory), name), threading.Lock())


class ProfileAuth(requests.auth.AuthBase):
    """Bearer auth from a saved profile: renews before expiry, and once on a 401.

    Args:
        profile: the profile as loaded.
        store: where it is saved (renewed tokens are written back there first).
        clock: seconds since the epoch; tests pass their own.
    """

    def __init__(
        self,
        profile: Profile,
        store: TokenStore,
        *,
        margin: float = RENEW_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile, self.store, self.margin, self.clock = profile, store, margin, clock
        self._lock = _thread_lock(store, profile.name)

    def __repr__(self) -> str:
        return f"ProfileAuth(profile={self.profile.name!r}, store={self.store!r})"

    @property
    def api_url(self) -> str:
        return self.profile.api_url

    @property
    def cache_identity(self) -> str:
        """What keys the HTTP cache: app, user and profile, not the rotating token."""
        p = self.profile
        return f"profile:{p.name}:{p.client_id}:{p.identity_id}"

    def token(self) -> str:
        """The current access token, renewed first if it is about to expire."""
        with self._lock:
            current = self.profile
            if not current.expiring(self.clock(), self.margin):
                return current.access_token
        return self.renew(stale=current.access_token)

    def renew(self, stale: str | None) -> str:
        """Replace the access token ``stale`` (expired or answered 401); return the new one.

        Only one thread and one process renews at a time; whoever comes second finds a
        fresh token in the store and uses it.

        Raises:
            AuthError: the refresh token was already used or revoked (sign in again).
            ConfigError: the profile was deleted meanwhile, or the lock is stuck.
        """
        name = self.profile.name
        with self._lock:
            now = self.clock()
            if self.profile.access_token != stale and not self.profile.expiring(now, self.margin):
                return self.profile.access_token  # another thread already renewed
            with self.store.locked(name):
                stored = self.store.load(name)
                if stored is None:
                    raise ConfigError(f"the saved login {name!r} was removed: run `fbtime login`")
                if stored.access_token != stale and not stored.expiring(now, self.margin):
                    log.debug("profile %r: using the token another process renewed", name)
                else:
                    stored = renew_tokens(stored, now=now)
                    self.store.save(stored)  # the new refresh token is safe before any use
                    log.debug("profile %r: access token renewed", name)
                self.profile = stored
                return stored.access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # a token edited into the profile file must not split the header or show in an error
        request.headers["Authorization"] = f"Bearer {check_token(self.token())}"
        request.register_hook("response", self._retry_on_401)
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, "_fbtime_retried", False):
            return response
        if origin(str(request.url)) != origin(self.api_url):
            return response  # never re-send the token anywhere but the profile's API
        sent = str(request.headers.get("Authorization", "")).removeprefix("Bearer ")
        fresh = self.renew(stale=sent)
        if fresh == sent:
            return response
        _ = response.content  # drain, so the connection can be reused
        response.close()
        again = request.copy()
        again.headers["Authorization"] = f"Bearer {check_token(fresh)}"
        again._fbtime_retried = True  # type: ignore[attr-defined]
        retried = response.connection.send(again, **kwargs)
        retried.request = again  # no 401 in .history: the cache would store its token
        return retried


def saved_login(name: str | None = None, *, store: TokenStore | None = None) -> ProfileAuth | None:
    """The saved profile as an auth object, or None when none is saved (and none was named).

    Raises:
        ConfigError: a profile was named (argument or ``FBTIME_PROFILE``) but is not saved.
    """
    named = name or os.environ.get(ENV_PROFILE)
    resolved = profile_name(name)
    store = store or TokenStore()
    profile = store.load(resolved)
    if profile is None:
        if named:
            raise ConfigError(
                f"no saved login named {resolved!r} in {store.directory}: run "
                f"`fbtime login --profile {resolved}` first"
            )
        return None
    return ProfileAuth(profile, store)
