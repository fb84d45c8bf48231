"""Settings: where the API is, which business, which token, and how to cache and pace.

All settings live in one typed object with ``DEFAULT_*`` constants, and every environment
variable fbtime reads is named here. Which token, business and URL win when several are
given is decided once, in :mod:`fbtime.auth.connection`; this module only checks values.

URL and token checks use the same URL parser as the HTTP stack (urllib3's ``parse_url``),
so a URL that passes the check is the URL that is called.
"""

from __future__ import annotations

import ipaddress
import math
import numbers
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeGuard

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from fbtime.errors import ConfigError

DEFAULT_BASE_URL = "https://api.freshbooks.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CACHE_EXPIRE = timedelta(minutes=15)
DEFAULT_RETRIES = 5
#: Requests a client keeps in flight (a load's pages). On the benchmark (a 20 ms API on 2
#: CPUs) 16 was the fastest and 32 no faster; each request in flight holds a page in
#: memory, and FreshBooks does not document how many parallel requests it tolerates. A
#: concurrency adapted to latency was slower than a fixed 16 (bench/RESULTS.md), so there
#: is none: a published limit and 429s are paced by :mod:`fbtime.api.ratelimit`.
DEFAULT_WORKERS = 16
#: The hard cap on concurrent requests (``workers=`` is checked against it); the
#: connection pool holds this many connections.
MAX_WORKERS = 32
#: Subtracted from the server's time of a fetch to make the watermark an ``updated_since``
#: query starts from (sync and cache revalidation): it covers clock skew between the API's
#: servers and the whole-second precision of ``updated_since``.
DEFAULT_WATERMARK_LAG = timedelta(seconds=60)
#: Rows per list request: the API's cap, so a load needs the fewest requests.
DEFAULT_PER_PAGE = 100
#: The API silently caps ``per_page`` at this; fbtime refuses more instead.
MAX_PER_PAGE = 100
#: The longest ``Retry-After`` fbtime will sleep for; a longer one raises RateLimitError.
DEFAULT_MAX_RETRY_AFTER = 60.0
#: The largest answer fbtime reads, decompressed (a page of 100 entries is about 50 KB).
DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024
#: Ids (entries, businesses, clients, teammates...) are positive and fit in 64 bits.
MAX_ID = 2**63 - 1

ENV_TOKEN = "FRESHBOOKS_ACCESS_TOKEN"
ENV_BUSINESS_ID = "FRESHBOOKS_BUSINESS_ID"
ENV_API_URL = "FRESHBOOKS_API_URL"
ENV_CLIENT_ID = "FRESHBOOKS_CLIENT_ID"
ENV_CLIENT_SECRET = "FRESHBOOKS_CLIENT_SECRET"
ENV_REDIRECT_URI = "FRESHBOOKS_REDIRECT_URI"
ENV_CACHE_DIR = "FBTIME_CACHE_DIR"
ENV_CONFIG_DIR = "FBTIME_CONFIG_DIR"
ENV_KEYRING = "FBTIME_KEYRING"
ENV_PROFILE = "FBTIME_PROFILE"
#: Fixes the calendar's "now" (:mod:`fbtime.clock`): an ISO date or datetime, naive = UTC.
ENV_NOW = "FBTIME_NOW"

HOW_TO_CONFIGURE = (
    f"pass token=... and business_id=... to fbtime.Client, or set {ENV_TOKEN} and "
    f"{ENV_BUSINESS_ID} (and {ENV_API_URL} for a sandbox), or sign in once with "
    "`fbtime login` (fbtime.login() in a notebook); for a local sandbox use "
    "`with fbtime.Sandbox() as sb: client = sb.client()`"
)


@dataclass(frozen=True)
class Settings:
    """Everything a :class:`~fbtime.Client` needs, checked. The token never appears in the repr.

    Build it with :func:`fbtime.auth.connection.resolve` (which applies the precedence of
    arguments, environment and saved login), or directly with every value given.
    """

    token: str = field(repr=False)
    business_id: int
    base_url: str = DEFAULT_BASE_URL
    cache: bool | str | Path = True
    cache_expire: timedelta = DEFAULT_CACHE_EXPIRE
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    workers: int = DEFAULT_WORKERS
    rate_limit: float | None = None
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    max_answer_bytes: int = DEFAULT_MAX_ANSWER_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", check_token(self.token))
        object.__setattr__(self, "cache_expire", check_seconds("cache_expire", self.cache_expire))
        object.__setattr__(self, "business_id", check_business_id(self.business_id))
        object.__setattr__(self, "base_url", check_base_url(self.base_url))
        _positive("timeout", self.timeout)
        _positive("max_retry_after", self.max_retry_after)
        if self.rate_limit is not None:
            _positive("rate_limit", self.rate_limit, unit="requests/second")
        if not _whole(self.max_answer_bytes) or self.max_answer_bytes <= 0:
            raise ConfigError(
                f"max_answer_bytes must be a positive whole number, got {self.max_answer_bytes!r}"
            )
        if isinstance(self.retries, bool) or not isinstance(self.retries, int) or self.retries < 0:
            raise ConfigError(f"retries must be a whole number >= 0, got {self.retries!r}")
        if not _whole(self.workers) or not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(
                f"workers must be a whole number from 1 to {MAX_WORKERS}, got {self.workers!r}"
            )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_id(value: object) -> TypeGuard[int]:
    """The one id rule: a whole number from 1 to :data:`MAX_ID` (a bool is no id; numpy
    integers from a frame are ids)."""
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return whole and 0 < value <= MAX_ID  # type: ignore[operator]


def is_count(value: object) -> TypeGuard[int]:
    """A count from a server or a file: a whole number, 0 or more (a bool is no count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def id_problem(name: str, value: object) -> str:
    """What is wrong with an id that fails :func:`is_id` (one message for every id)."""
    return f"{name} must be positive and fit in 64 bits (below 2**63), got {value!r}"


def _positive(name: str, value: object, unit: str = "seconds") -> None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name} must be a positive, finite number of {unit}, got {value!r}")


def check_seconds(name: str, value: object, *, allow_zero: bool = True) -> timedelta:
    """A duration given as seconds or a timedelta, finite and not negative (NaN is refused)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(f"{name} must be seconds or a timedelta, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        raise ConfigError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    return timedelta(seconds=seconds)


def check_business_id(value: object) -> int:
    """A business id as an int: ASCII digits only (``"²"`` is not 2), positive, 64-bit."""
    text = (
        str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    )
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()):
        raise ConfigError(
            "business_id must be a whole number (FreshBooks' business id, not the account id "
            f"or business uuid), got {value!r}"
        )
    number = int(text)
    if not is_id(number):
        raise ConfigError(id_problem("business_id", number))
    return number


#: RFC 6750 ``b64token``: the characters a bearer token can hold.
_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


def check_token(token: object) -> str:
    """A bearer token without surrounding whitespace; refuse one a header could not carry.

    A token with a newline, tab, control or non-ASCII character inside it would split or
    corrupt the ``Authorization`` header; the message never shows the token.
    """
    if not isinstance(token, str) or not token.strip():
        raise ConfigError(f"no FreshBooks access token: {HOW_TO_CONFIGURE}")
    token = token.strip()
    if not _TOKEN.match(token):
        raise ConfigError(
            f"the access token ({len(token)} characters) holds characters a bearer token "
            "cannot (whitespace, control or non-ASCII characters inside it); copy it again"
        )
    return token


_URL_REFUSED = re.compile(r"[\x00-\x20\x7f-\uffff\\]")


def check_base_url(url: str, *, what: str = "base_url") -> str:
    """Return ``url`` normalised (no trailing slash), or refuse it with a ConfigError.

    The URL is read with urllib3's parser, the one that sends the request, so the host
    checked is the host called. Refused: a scheme other than http(s), userinfo
    (``user@host``), backslashes, whitespace, control or non-ASCII characters, a query or
    fragment, and plain HTTP to anything but this machine (a token over plain HTTP can be
    read by anyone on the path).
    """
    if not isinstance(url, str):
        raise ConfigError(f"{what} must be a string URL, got {type(url).__name__}")
    if _URL_REFUSED.search(url):
        raise ConfigError(
            f"{what} {url.encode('unicode_escape').decode()!r} holds a backslash, whitespace, "
            "control or non-ASCII character; use a plain URL like " + DEFAULT_BASE_URL
        )
    try:
        parts = parse_url(url)
        port = parts.port
    except (LocationParseError, ValueError):
        raise ConfigError(f"{what} {url!r} is not a URL like {DEFAULT_BASE_URL}") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise ConfigError(f"{what} must be an http(s) URL like {DEFAULT_BASE_URL}, got {url!r}")
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise ConfigError(f"{what} must not hold a user name or password (user@host): {url!r}")
    if parts.query is not None or parts.fragment is not None:
        raise ConfigError(f"{what} must not have a query or fragment: {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.host):
        raise ConfigError(
            f"{what}: refusing plain HTTP to {parts.host}: the access token would travel "
            "unencrypted; use https:// (plain http is allowed only for 127.0.0.1/localhost)"
        )
    netloc = parts.host if port is None else f"{parts.host}:{port}"
    return f"{parts.scheme}://{netloc}{(parts.path or '').rstrip('/')}"


def origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a URL, default ports filled in (urllib3's parser)."""
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, (parts.host or "").lower(), port


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
