"""Settings: where the API is, which business, which token, and how to cache and pace.

All settings live in one typed object with ``DEFAULT_*`` constants. :meth:`Settings.from_env`
fills what the caller left out from ``FRESHBOOKS_ACCESS_TOKEN``, ``FRESHBOOKS_BUSINESS_ID``
and ``FRESHBOOKS_API_URL`` (the same variable the official SDK reads).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from fbtime.errors import ConfigError

DEFAULT_BASE_URL = "https://api.freshbooks.com"
DEFAULT_TIMEOUT = 30.0
DEFAULT_CACHE_EXPIRE = timedelta(minutes=15)
DEFAULT_RETRIES = 5
DEFAULT_WORKERS = 4
DEFAULT_PER_PAGE = 100
#: The longest ``Retry-After`` fbtime will sleep for; a longer one raises RateLimitError.
DEFAULT_MAX_RETRY_AFTER = 60.0

ENV_TOKEN = "FRESHBOOKS_ACCESS_TOKEN"
ENV_BUSINESS_ID = "FRESHBOOKS_BUSINESS_ID"
ENV_API_URL = "FRESHBOOKS_API_URL"
ENV_CACHE_DIR = "FBTIME_CACHE_DIR"

HOW_TO_CONFIGURE = (
    f"pass token=... and business_id=... to fbtime.Client, or set {ENV_TOKEN} and "
    f"{ENV_BUSINESS_ID} (and {ENV_API_URL} for a sandbox), or sign in once with "
    "`fbtime login` (fbtime.login() in a notebook); for a local sandbox use "
    "`with fbtime.Sandbox() as sb: client = sb.client()`"
)


@dataclass(frozen=True)
class Settings:
    """Everything a :class:`~fbtime.Client` needs. The token never appears in the repr."""

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

    @classmethod
    def from_env(cls, **given: object) -> Settings:
        """Build settings from keyword arguments, falling back to environment variables.

        Raises:
            ConfigError: the token or business id is missing or malformed, or the base URL
                is plain HTTP to a host that is not this machine.
        """
        values = {k: v for k, v in given.items() if v is not None}
        token = values.pop("token", None) or os.environ.get(ENV_TOKEN)
        business_id = values.pop("business_id", None) or os.environ.get(ENV_BUSINESS_ID)
        base_url = values.pop("base_url", None) or os.environ.get(ENV_API_URL) or DEFAULT_BASE_URL
        if not token:
            raise ConfigError(f"no FreshBooks access token: {HOW_TO_CONFIGURE}")
        if business_id is None or business_id == "":
            raise ConfigError(f"no FreshBooks business id: {HOW_TO_CONFIGURE}")
        settings = cls(
            token=str(token),
            business_id=_business_id(business_id),
            base_url=check_base_url(str(base_url)),
            **values,  # type: ignore[arg-type]
        )
        return settings.validated()

    def validated(self) -> Settings:
        """Check the numeric settings; return self."""
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout}")
        if self.retries < 0:
            raise ConfigError(f"retries must be 0 or more, got {self.retries}")
        if not 1 <= self.workers <= 32:
            raise ConfigError(f"workers must be between 1 and 32, got {self.workers}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ConfigError(f"rate_limit must be positive requests/second, got {self.rate_limit}")
        return self

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some settings changed."""
        return replace(self, **changes).validated()  # type: ignore[arg-type]


def _business_id(value: object) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(
            f"business_id must be a whole number (FreshBooks' business id, not the account id "
            f"or business uuid), got {value!r}"
        ) from None
    if number <= 0:
        raise ConfigError(f"business_id must be positive, got {number}")
    return number


def check_base_url(url: str) -> str:
    """Return ``url`` without a trailing slash; refuse plain HTTP to a non-loopback host.

    A token sent over plain HTTP can be read by anyone on the path, so HTTP is only
    allowed to this machine (a sandbox).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"base_url must be an http(s) URL like {DEFAULT_BASE_URL}, got {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain HTTP to {parts.hostname}: the access token would travel "
            "unencrypted; use https:// (plain http is allowed only for 127.0.0.1/localhost)"
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
