"""Client: one authenticated, retrying, rate-paced, optionally cached HTTP session.

Retries use urllib3's ``Retry``: GET, PUT and DELETE are retried on 429 and 5xx and on
connection errors, honouring ``Retry-After`` (capped), and every worker of the client
waits out a 429 together (:class:`~fbtime.ratelimit.RateLimiter`). POST is never
retried on an answer (FreshBooks has no idempotency key, so a retried create could
double an entry), and 400/422 are never retried.

Which token, business and API a client uses is decided by
:func:`fbtime.auth.connection.resolve` (arguments > environment > saved login).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from fbtime._version import __version__
from fbtime.api import cache
from fbtime.api.ratelimit import RateLimiter
from fbtime.api.time_entries import TimeEntries
from fbtime.auth.connection import resolve
from fbtime.auth.profile_auth import ProfileAuth
from fbtime.config import Settings
from fbtime.errors import APIError, TransportError, error_for_status

log = logging.getLogger("fbtime")

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Answer:
    """A parsed answer plus what incremental loads need to know about it.

    Attributes:
        body: the parsed JSON (None for 204).
        server_time: the answer's ``Date`` header (UTC, whole seconds), or the local UTC
            time the request was sent if the server gave none. Cached answers keep the
            time they were first fetched, so a watermark taken from them stays safe.
        from_cache: True if the answer came from the HTTP cache (no request was sent).
    """

    body: Any
    server_time: dt.datetime
    from_cache: bool = False


class _PacedRetry(Retry):
    """urllib3 Retry that tells the client's shared limiter about ``Retry-After``."""

    limiter: RateLimiter | None = None

    def sleep_for_retry(self, response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after is None:
            return False
        if self.limiter is None:
            time.sleep(retry_after)
        else:
            self.limiter.pause(retry_after)
            self.limiter.acquire()
        return True


class Client:
    """An authenticated connection to one FreshBooks business's time tracking.

    All options are keyword-only; anything left out comes from the environment
    (``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``, ``FRESHBOOKS_API_URL``).

    Args:
        token: OAuth access token (bearer). Never logged, cached or shown in a repr.
        business_id: the business's id (``business_memberships[].business.id``).
        base_url: API root, ``https://api.freshbooks.com`` by default; plain http only
            to 127.0.0.1/localhost.
        cache: True for the default cache directory, a directory path, or False.
        cache_expire: how long a cached GET stays fresh (default 15 minutes).
        timeout: seconds to wait for connect and for each read.
        retries: retry budget per request for 429/5xx/connection errors.
        workers: concurrent page requests in a load.
        rate_limit: requests per second this client will not exceed (None: no pacing).
        profile: a saved login (``fbtime login``) to use. With no token given and no
            ``FRESHBOOKS_ACCESS_TOKEN``, the ``default`` profile (or ``FBTIME_PROFILE``) is
            used if saved: its business, API URL and tokens, renewed as they expire.

    Example:
        >>> client = fbtime.Client(token="...", business_id=123456)
        >>> client.time_entries.get(5095)["note"]
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        business_id: int | str | None = None,
        base_url: str | None = None,
        cache: bool | str | Path | None = None,
        cache_expire: timedelta | float | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        workers: int | None = None,
        rate_limit: float | None = None,
        profile: str | None = None,
    ) -> None:
        if isinstance(cache_expire, int | float) and not isinstance(cache_expire, bool):
            cache_expire = timedelta(seconds=cache_expire)
        connection = resolve(
            token=token, business_id=business_id, base_url=base_url, profile=profile
        )
        self.auth: ProfileAuth | None = connection.auth
        options = {
            "cache": cache, "cache_expire": cache_expire, "timeout": timeout,
            "retries": retries, "workers": workers, "rate_limit": rate_limit,
        }  # fmt: skip
        self.settings = Settings(
            token=connection.bearer(),
            business_id=connection.business_id,  # type: ignore[arg-type]
            base_url=connection.base_url,
            **{k: v for k, v in options.items() if v is not None},  # type: ignore[arg-type]
        )
        self.limiter = RateLimiter(self.settings.rate_limit)
        self._cache_location: cache.CacheLocation | None = None
        self.session = self._make_session()
        self.time_entries = TimeEntries(self)

    # -- set-up ---------------------------------------------------------------------------
    def _make_session(self) -> requests.Session:
        s = self.settings
        session: requests.Session
        if s.cache is False:
            session = requests.Session()
        else:
            directory = cache.cache_dir() if s.cache is True else Path(s.cache)
            self._cache_location = cache.CacheLocation.for_(
                directory, s.base_url, s.business_id, s.token,
                identity=self.auth.cache_identity if self.auth else None,
            )  # fmt: skip
            session = cache.make_session(self._cache_location, s.cache_expire)
        retry_class = type("ClientRetry", (_PacedRetry,), {"limiter": self.limiter})
        retry = retry_class(
            total=s.retries,
            connect=s.retries,
            read=s.retries,
            status=s.retries,
            other=0,
            allowed_methods=IDEMPOTENT,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=0.2,
            backoff_max=10,
            retry_after_max=s.max_retry_after,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        adapter = HTTPAdapter(
            max_retries=retry, pool_connections=4, pool_maxsize=max(10, 2 * s.workers)
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": f"fbtime/{__version__}"})
        # requests reads proxies, CA bundle and ~/.netrc from the environment on every request;
        # every request goes to base_url, so read them once (and let no netrc entry replace
        # the bearer token)
        env = session.merge_environment_settings(s.base_url, {}, None, None, None)
        session.proxies, session.verify, session.cert = env["proxies"], env["verify"], env["cert"]
        session.trust_env = False
        if self.auth is not None:  # a saved login: the current token per request, refreshed
            session.auth = self.auth
        else:
            session.headers["Authorization"] = f"Bearer {s.token}"
        return session

    @property
    def business_id(self) -> int:
        return self.settings.business_id

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    @property
    def cache_path(self) -> Path | None:
        """The SQLite file holding this client's cached answers (None if uncached)."""
        return self._cache_location.path if self._cache_location else None

    def __repr__(self) -> str:
        return (
            f"Client(base_url={self.base_url!r}, business_id={self.business_id}, "
            f"token='***', cache={str(self.cache_path) if self.cache_path else False!r})"
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------
    def invalidate_cache(self) -> None:
        """Make cached answers of this business stale for every token (after a write)."""
        if self._cache_location is not None:
            self._cache_location.bump_generation()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        refresh: bool = False,
        use_cache: bool = True,
    ) -> Any:
        """Send one request and return the parsed JSON body (None for 204).

        Raises:
            APIError: (a subclass of) for an error status after retries.
            TransportError: the connection failed or the answer could not be read.
        """
        answer = self.send(
            method, path, params=params, json_body=json_body, refresh=refresh, use_cache=use_cache
        )
        return answer.body

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        refresh: bool = False,
        use_cache: bool = True,
    ) -> Answer:
        """Like :meth:`request`, but also say when the server answered and if from cache.

        Incremental sync and page-consistency checks use the server's time as a watermark.
        """
        url = self.base_url + path
        method = method.upper()
        attempts = 1 + (self.settings.retries if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            sent_at = dt.datetime.now(dt.UTC)
            response = self._send(method, url, params, json_body, refresh, use_cache)
            if isinstance(response, Exception):
                error: Exception = response
            else:
                if response.status_code >= 400:
                    raise error_for_status(
                        response.status_code,
                        response.text,
                        method=method,
                        url=url,
                        retry_after=response.headers.get("Retry-After"),
                    )
                when = _server_time(response.headers.get("Date")) or sent_at
                from_cache = bool(getattr(response, "from_cache", False))
                if response.status_code == 204 or not response.content:
                    return Answer(None, when, from_cache)
                try:
                    # orjson: about 2.5x faster than json on a page of entries (bench/run.py)
                    return Answer(orjson.loads(response.content), when, from_cache)
                except ValueError as exc:
                    self._forget(response)
                    error = TransportError(
                        f"unreadable JSON in the answer to {method} {url} "
                        f"({len(response.content)} bytes): {exc}"
                    )
            log.debug("%s %s failed (attempt %d/%d): %s", method, url, attempt + 1, attempts, error)
            if attempt + 1 < attempts:
                refresh = True
                time.sleep(min(0.1 * 2**attempt, 2.0))
        raise error

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        refresh: bool,
        use_cache: bool,
    ) -> requests.Response | TransportError:
        kwargs: dict[str, Any] = {"params": params, "timeout": self.settings.timeout}
        if json_body is not None:
            kwargs["json"] = json_body
        cached_session = self._cache_location is not None
        if cached_session and method == "GET":
            if use_cache and not refresh and (hit := self._fresh_hit(url, params)) is not None:
                return hit
            if not use_cache:
                kwargs["expire_after"] = 0  # requests-cache: fetch and do not store
            kwargs["force_refresh"] = refresh or not use_cache
        self.limiter.acquire()
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, **kwargs)
            if response.status_code < 400:
                _ = response.content  # read the whole body now, inside the try
        except requests.exceptions.Timeout:
            return TransportError(f"{method} {url} timed out after {self.settings.timeout} s")
        except requests.exceptions.RequestException as exc:
            return TransportError(f"{method} {url} failed: {type(exc).__name__}: {_short(exc)}")
        from_cache = getattr(response, "from_cache", False)
        log.debug(
            "%s %s -> %s in %.3f s%s",
            method,
            response.url,
            response.status_code,
            time.perf_counter() - started,
            " (cache)" if from_cache else "",
        )
        return response

    def _fresh_hit(self, url: str, params: Mapping[str, str] | None) -> Any:
        """A fresh cached answer, read with requests-cache's own key and store but without its
        per-request policy work (which doubles the cost of a hit: bench/run.py). Anything but a
        plain fresh hit (a miss, expired, ``Vary``, a disabled cache) returns None and takes
        the full path."""
        session: Any = self.session
        if session.settings.disabled:
            return None
        request = requests.Request("GET", url, params=params).prepare()
        try:
            hit = session.cache.get_response(session.cache.create_key(request))
        except Exception as exc:  # an unreadable entry: the full path decides what to do
            log.debug("cache read for %s failed: %s", url, exc)
            return None
        if hit is None or hit.is_expired or "Vary" in hit.headers or hit.status_code != 200:
            return None
        log.debug("GET %s -> 200 (cache)", hit.url)
        return hit

    def _forget(self, response: requests.Response) -> None:
        key = getattr(response, "cache_key", None)
        if key and hasattr(self.session, "cache"):
            self.session.cache.delete(key)

    def get(self, path: str, params: Mapping[str, str] | None = None, **kw: Any) -> Any:
        return self.request("GET", path, params=params, **kw)


def _server_time(header: str | None) -> dt.datetime | None:
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return None


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."


__all__ = ["APIError", "Answer", "Client"]
