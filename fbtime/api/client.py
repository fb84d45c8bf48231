"""Client: one authenticated, retrying, rate-paced, optionally cached HTTP session.

**One retry layer.** :meth:`Client.send` is the only place a request is tried again, and
it tries one request at most ``retries + 1`` times in all, whatever fails: the
connection, the read, a retryable status (429, 5xx), a cut-short or unreadable body, or
a redirect hop. urllib3's :class:`~urllib3.util.Retry` is the policy (the budget, the
backoff, reading ``Retry-After``); nothing below retries on its own. GET, PUT and DELETE
are retried; POST never is (FreshBooks has no idempotency key, so a retried create could
double an entry), and 400/401/403/404/422 never are. ``Retry-After`` is honoured on 429
and 503 only (FreshBooks sends it on every answer, 200s included): one longer than
``max_retry_after`` raises :class:`~fbtime.RateLimitError` at once, and a shorter one
pauses every worker of the client together (:class:`~fbtime.api.ratelimit.RateLimiter`).

**Pacing sits outside that budget.** Before each attempt the client's
:class:`~fbtime.api.ratelimit.RateLimiter` lets it go when the API's published window
(``X-RateLimit-*``) has room; the attempt's answer then tells it what the window holds.
It never adds or removes an attempt: a 429 is still one attempt of its request.

**Worst case of one call.** Each attempt costs at most ``timeout`` to connect plus
``timeout`` for the whole answer (:mod:`fbtime.transport` reads it as a stream with a
deadline and a size cap), and the waits between attempts follow urllib3's backoff
(0, 0.4, 0.8, 1.6, 3.2 s, at most 10 s each). So a call costs at most
``(retries + 1) x 2 x timeout + backoff``: at the defaults (5 retries, 30 s), 6 attempts
and about 6 minutes against a server that accepts and never answers, 6 attempts and
about 6 s against a port where nothing listens.

**The token goes only where it belongs.** Requests go to ``base_url`` and nowhere else:
no redirect is followed by requests itself; a redirect to the same origin (scheme, host,
port) is followed by this loop and counts as an attempt, and a redirect to any other
origin is refused with a :class:`~fbtime.TransportError` (nothing is sent there). With no
redirect history, requests-cache never stores an ``Authorization`` header.

Which token, business and API a client uses is decided by
:func:`fbtime.auth.connection.resolve` (arguments > environment > saved login).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import orjson
import requests
from requests_cache import CachedSession
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from fbtime._version import __version__
from fbtime.api.cache import CacheLocation, cache_dir, make_session, quarantine
from fbtime.api.ratelimit import RateLimiter
from fbtime.api.time_entries import TimeEntries
from fbtime.auth.connection import resolve
from fbtime.auth.profile_auth import ProfileAuth
from fbtime.config import Settings, origin
from fbtime.errors import APIError, RateLimitError, TransportError, error_for_status
from fbtime.transport import bounded, describe

log = logging.getLogger("fbtime")

_S = TypeVar("_S", bound=requests.Session)
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: The statuses whose ``Retry-After`` is honoured: FreshBooks sends the header on every
#: answer, 200s included (the seconds to its window's reset), so elsewhere it means nothing.
RETRY_AFTER_STATUSES = frozenset({429, 503})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
BACKOFF_FACTOR = 0.2
BACKOFF_MAX = 10.0
#: A server ``Date`` further ahead of this machine's clock than this is worth a warning.
CLOCK_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Answer:
    """A parsed answer plus what incremental loads need to know about it.

    Attributes:
        body: the parsed JSON (None for 204).
        server_time: the answer's ``Date`` header (UTC, whole seconds), never later than
            this machine's time when the request was sent (which it is when the server
            gave none): a watermark taken from it never skips a change, whatever one
            server's clock says. Cached answers keep the time they were first fetched.
        url: the URL that answered (for messages; it never holds a token).
    """

    body: Any
    server_time: dt.datetime
    url: str = ""


class _Retryable(Exception):
    """One attempt failed in a way worth another attempt (inside :meth:`Client.send`);
    ``raw`` is the answer whose ``Retry-After`` says how long to wait (429 and 503 only)."""

    def __init__(self, error: Exception, raw: Any = None) -> None:
        self.error, self.raw = error, raw


#: Clients by connection id, so a frame (which records only the id, in its attrs) can
#: find the client it was loaded with while that is open. Held weakly (as pandera's
#: schema registry holds its objects), so no frame or plan keeps a client alive.
_LIVE: weakref.WeakValueDictionary[str, Client] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


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
        workers: requests a load keeps in flight, 1 to 32 (default 16).
        rate_limit: requests per second this client will not exceed (None: no pacing).
        max_retry_after: the longest ``Retry-After`` to wait out (default 60 s); a longer
            one raises RateLimitError at once.
        max_answer_bytes: the largest answer read, decompressed (default 16 MiB).
        profile: a saved login (``fbtime login``) to use. With no token given and no
            ``FRESHBOOKS_ACCESS_TOKEN``, the ``default`` profile (or ``FBTIME_PROFILE``) is
            used if saved: its business, API URL and tokens, renewed as they expire.

    Example:
        >>> client = fbtime.Client(token=sb.token, business_id=sb.business_id, base_url=sb.url)
        >>> client.time_entries.get(5482)["note"]  # a real account: no base_url
        'Weekly sync'
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
        max_retry_after: float | None = None,
        max_answer_bytes: int | None = None,
    ) -> None:
        connection = resolve(
            token=token, business_id=business_id, base_url=base_url, profile=profile
        )
        self.auth: ProfileAuth | None = connection.auth
        options = {
            "cache": cache, "cache_expire": cache_expire, "timeout": timeout,
            "retries": retries, "workers": workers, "rate_limit": rate_limit,
            "max_retry_after": max_retry_after, "max_answer_bytes": max_answer_bytes,
        }  # fmt: skip
        self.settings = Settings(
            token=connection.bearer(),
            business_id=connection.business_id,  # type: ignore[arg-type]
            base_url=connection.base_url,
            **{k: v for k, v in options.items() if v is not None},  # type: ignore[arg-type]
        )
        self.limiter = RateLimiter(self.settings.rate_limit, max_wait=self.settings.max_retry_after)
        s = self.settings
        self._cache_location: CacheLocation | None = None
        if s.cache is not False:
            directory = cache_dir() if s.cache is True else Path(s.cache)
            self._cache_location = CacheLocation.for_(
                directory,
                s.base_url,
                s.business_id,
                s.token,
                identity=self.auth.cache_identity if self.auth else None,
            )
        self.session = self._prepare(requests.Session())
        self._cached = self._make_cached()
        self.time_entries = TimeEntries(self)
        self._clock_told = False
        self.connection_id = uuid.uuid4().hex
        with _LIVE_LOCK:
            _LIVE[self.connection_id] = self

    @classmethod
    def for_connection(cls, connection_id: str) -> Client | None:
        """The client with this :attr:`connection_id`, if it is still open in this process."""
        with _LIVE_LOCK:
            return _LIVE.get(connection_id)

    # -- set-up ---------------------------------------------------------------------------
    def _make_cached(self) -> CachedSession | None:
        """The cached session for reference GETs (None without a cache)."""
        if self._cache_location is None:
            return None
        return self._prepare(make_session(self._cache_location, self.settings.cache_expire))

    def _prepare(self, session: _S) -> _S:
        s = self.settings
        # max_retries=0: the adapter never retries; Client.send is the one retry layer
        bounded(
            session, s.max_answer_bytes, max_retries=0, pool_connections=4,
            pool_maxsize=max(10, s.workers),  # one connection per request in flight
        )  # fmt: skip
        session.headers["User-Agent"] = f"fbtime/{__version__}"
        # requests reads proxies, CA bundle and ~/.netrc from the environment on every request;
        # every request goes to base_url, so read them once (and let no netrc entry replace
        # the bearer token)
        env = session.merge_environment_settings(s.base_url, {}, None, None, None)
        session.proxies, session.verify, session.cert = env["proxies"], env["verify"], env["cert"]
        session.trust_env = False
        if self.auth is not None:  # a saved login: the current token per request, renewed
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
    def workers(self) -> int:
        """Requests a load keeps in flight."""
        return self.settings.workers

    @property
    def cache_path(self) -> Path | None:
        """The SQLite file holding this client's cached answers (None if uncached)."""
        return self._cache_location.path if self._cache_location else None

    def snapshot_path(self, params: Mapping[str, str]) -> Path | None:
        """Where the snapshot of the time-entry query ``params`` is kept beside the cache
        (one per filters, whatever the page size; None if uncached)."""
        if self._cache_location is None:
            return None
        query = (self.time_entries.path, *(f"{k}={v}" for k, v in params.items()))
        return self._cache_location.snapshot_path(*query)

    def cache_generation(self) -> str | None:
        """The write stamp of this business's cache: it changes with every write through
        fbtime, by any token (None if uncached)."""
        return self._cache_location.generation() if self._cache_location else None

    def __repr__(self) -> str:
        return (
            f"Client(base_url={self.base_url!r}, business_id={self.business_id}, "
            f"token='***', cache={str(self.cache_path) if self.cache_path else False!r})"
        )

    def close(self) -> None:
        with _LIVE_LOCK:
            _LIVE.pop(getattr(self, "connection_id", ""), None)
        self.session.close()
        if self._cached is not None:
            self._cached.close()

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
        cached: bool = False,
        refresh: bool = False,
    ) -> Any:
        """Send one request and return the parsed JSON body (None for 204).

        ``cached``: a GET answered from the client's HTTP cache when it holds the answer
        (reference lists); ``refresh`` then fetches it again and stores it.

        Raises:
            APIError: (a subclass of) for an error status after retries.
            TransportError: the connection failed or the answer could not be read.
        """
        answer = self.send(
            method, path, params=params, json_body=json_body, cached=cached, refresh=refresh
        )
        return answer.body

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        cached: bool = False,
        refresh: bool = False,
    ) -> Answer:
        """Like :meth:`request`, but also say when the server answered.

        Incremental sync and page-consistency checks use the server's time as a watermark.
        This is the one retry layer (see the module docstring for its budget).
        """
        method = method.upper()
        url = self.base_url + path
        home = origin(self.base_url)
        budget = self.settings.retries if method in IDEMPOTENT else 0
        policy = Retry(
            total=budget,
            backoff_factor=BACKOFF_FACTOR,
            backoff_max=BACKOFF_MAX,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=IDEMPOTENT,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        attempt, recovered = 0, False
        while True:
            attempt += 1
            sent_at = dt.datetime.now(dt.UTC)
            try:
                response = self._attempt(method, url, params, json_body, cached, refresh)
                if response.status_code in REDIRECTS:
                    url, params = self._redirect(method, url, response, home)
                    raise _Retryable(TransportError(f"{method} {url}: redirected"))
                if response.status_code >= 400:
                    raise self._status_error(method, url, response)
                return self._answer(method, url, response, sent_at)
            except _Retryable as failed:
                if not recovered and self.cache_damaged(failed.error):
                    recovered = True  # moved aside and rebuilt: try again on a fresh cache
                    attempt -= 1
                    continue
                try:
                    policy = policy.increment(method, url, error=failed.error)
                except MaxRetryError:
                    raise self._exhausted(failed.error, attempt) from None
                log.debug("%s %s failed (attempt %d): %s", method, url, attempt, failed.error)
                self._wait(policy, failed)
                refresh = True  # never answer a retry from the cache

    def _attempt(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        cached: bool,
        refresh: bool,
    ) -> requests.Response:
        kwargs: dict[str, Any] = {
            "params": params, "timeout": self.settings.timeout, "allow_redirects": False,
        }  # fmt: skip
        if json_body is not None:
            kwargs["json"] = json_body
        session: requests.Session = self.session
        if cached and method == "GET" and self._cached is not None:
            session, kwargs["force_refresh"] = self._cached, refresh
            if not refresh:  # a fresh hit sends nothing: it never waits for the rate limit
                hit = self._cached.request(method, url, **kwargs, only_if_cached=True)
                if getattr(hit, "from_cache", False):
                    log.debug("GET %s -> %s (cache)", hit.url, hit.status_code)
                    return hit
        grant = self.limiter.acquire()
        started = time.perf_counter()
        response = None
        try:
            response = session.request(method, url, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise _Retryable(exc) from None
        except requests.exceptions.RequestException as exc:
            message = describe(exc, method, url, self.settings.timeout)
            raise _Retryable(TransportError(message)) from None
        finally:
            self.limiter.release(grant, response.headers if response is not None else None)
        log.debug(
            "%s %s -> %s in %.3f s",
            method,
            response.url,
            response.status_code,
            time.perf_counter() - started,
        )
        return response

    def _redirect(
        self, method: str, url: str, response: requests.Response, home: tuple[str, str, int]
    ) -> tuple[str, None]:
        """The next URL of a same-origin redirect; refuse any other (the token stays home)."""
        location = response.headers.get("Location")
        target = urljoin(url, location) if location else None
        try:
            same = target is not None and origin(target) == home
        except ValueError:
            same = False
        if method != "GET" or not same:
            where = "nowhere" if target is None else target.split("?")[0]
            raise TransportError(
                f"{method} {url} answered {response.status_code}, redirecting to {where}; "
                "fbtime only follows a GET to the same scheme, host and port, so the token "
                "is not sent there. Check the API URL"
            )
        return str(target), None  # the Location carries its own query

    def _status_error(self, method: str, url: str, response: requests.Response) -> Exception:
        """The error for an error status: retryable ones come back wrapped in _Retryable."""
        error = error_for_status(
            response.status_code,
            response.text,
            method=method,
            url=url,
            retry_after=response.headers.get("Retry-After"),
        )
        if response.status_code not in RETRY_STATUSES or method not in IDEMPOTENT:
            return error
        honoured = response.status_code in RETRY_AFTER_STATUSES
        header = response.headers.get("Retry-After") if honoured else None
        try:
            after = Retry().parse_retry_after(header) if header else None
        except Exception:  # a Retry-After that is neither seconds nor a date: ignore it
            after = None
        if after is not None and after > self.settings.max_retry_after:
            asks = (
                f"the server asks to wait {after:g} s, longer than max_retry_after="
                f"{self.settings.max_retry_after:g} s; try again later"
            )
            if response.status_code == 429:
                return RateLimitError(
                    f"rate limited: {asks}",
                    retry_after=after,
                    status=429,
                    method=method,
                    url=url,
                )
            error.args = (f"{error.args[0]} ({asks})",)
            return error
        return _Retryable(error, response.raw if honoured else None)

    def _answer(
        self, method: str, url: str, response: requests.Response, sent_at: dt.datetime
    ) -> Answer:
        when = self._bounded(_server_time(response.headers.get("Date")), sent_at)
        if response.status_code == 204 or not response.content:
            return Answer(None, when, url)
        try:
            # orjson: about 2.5x faster than json on a page of entries (bench/run.py)
            return Answer(orjson.loads(response.content), when, url)
        except ValueError as exc:
            self._forget(response)
            raise _Retryable(
                TransportError(
                    f"unreadable JSON in the answer to {method} {url} "
                    f"({len(response.content)} bytes): {exc}"
                )
            ) from None

    def _bounded(self, server: dt.datetime | None, sent_at: dt.datetime) -> dt.datetime:
        """The server's time, bounded by ours: a ``Date`` ahead of this machine's clock
        would make a watermark skip every change made until the server's time."""
        if server is None or server <= sent_at:
            return server or sent_at
        if server - sent_at > CLOCK_SLACK and not self._clock_told:
            self._clock_told = True
            log.warning(
                "the server's clock (Date: %s) is %s ahead of this machine's; fbtime takes "
                "watermarks from this machine's clock instead",
                server.isoformat(),
                server - sent_at,
            )
        return sent_at

    def _wait(self, policy: Retry, failed: _Retryable) -> None:
        try:
            after = policy.get_retry_after(failed.raw) if failed.raw is not None else None
        except Exception:  # an unreadable Retry-After: back off as for any failure
            after = None
        if after is not None:
            self.limiter.pause(after)  # every worker of this client waits it out together
        else:
            time.sleep(policy.get_backoff_time())

    def _exhausted(self, error: Exception, attempts: int) -> Exception:
        """The last error, saying how many attempts were made."""
        tried = f" (tried {attempts} times)" if attempts > 1 else ""
        if isinstance(error, APIError):
            error.args = (f"{error.args[0]}{tried}",)
            return error
        if isinstance(error, TransportError):
            return type(error)(f"{error}{tried}")
        return TransportError(f"the HTTP cache failed: {type(error).__name__}: {error}{tried}")

    def cache_damaged(self, error: BaseException) -> bool:
        """If ``error`` says the cache file is damaged, move it aside and rebuild; return True."""
        if not isinstance(error, sqlite3.DatabaseError) or self._cache_location is None:
            return False
        if self._cached is not None:
            self._cached.close()
        quarantine(self._cache_location, str(error))
        self._cached = self._make_cached()
        return True

    def _forget(self, response: requests.Response) -> None:
        key = getattr(response, "cache_key", None)
        if key and self._cached is not None:
            self._cached.cache.delete(key)


def _server_time(header: str | None) -> dt.datetime | None:
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return None
