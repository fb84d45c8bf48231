"""The HTTP response cache: a private requests-cache session per (API, business, identity).

What is cached: successful (200) GET answers, in a SQLite file with the JSON serializer,
for 15 minutes by default. Never cached: writes, errors, and anything fetched with
``refresh=True`` or by incremental sync.

Isolation: each (base URL, business id, token identity) gets its own file, named by a
hash, so a second token never reads the first token's answers. The token itself is not
in the file: requests-cache strips the ``Authorization`` header from cache keys and from
the stored request. Files are created with mode 0600 in a 0700 directory.

Invalidation: every write bumps a per-business *generation* stamp stored beside the cache
files; the generation is part of every cache key, so after a write no cache of that
business (whichever token wrote) serves the old list or entry answers again.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import platformdirs
import requests_cache

from fbtime.config import ENV_CACHE_DIR

APP_NAME = "fbtime"
SUFFIX = ".sqlite"


def cache_dir() -> Path:
    """The directory holding fbtime's caches (``FBTIME_CACHE_DIR`` overrides it)."""
    override = os.environ.get(ENV_CACHE_DIR)
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def identity_key(token: str) -> str:
    """A stand-in for the token's identity that cannot be turned back into the token."""
    return _digest("fbtime-identity", token)


@dataclass(frozen=True)
class CacheLocation:
    """Where one (API, business, identity) cache lives."""

    directory: Path
    business_key: str
    identity: str

    @classmethod
    def for_(
        cls,
        directory: Path,
        base_url: str,
        business_id: int,
        token: str,
        identity: str | None = None,
    ) -> CacheLocation:
        """Locate the cache; ``identity`` (e.g. a login profile and user) keys it instead of
        the token, so a token that rotates every 12 hours keeps the same cache."""
        key = _digest("fbtime-identity", identity) if identity else identity_key(token)
        return cls(directory, _digest(base_url, business_id), key)

    @property
    def path(self) -> Path:
        return self.directory / f"http-{self.business_key}-{self.identity}{SUFFIX}"

    @property
    def generation_path(self) -> Path:
        return self.directory / f"generation-{self.business_key}"

    def generation(self) -> str:
        try:
            return self.generation_path.read_text()
        except FileNotFoundError:
            return "0"

    def bump_generation(self) -> None:
        """Make every cached answer of this business unreachable (atomic rename)."""
        tmp = self.generation_path.with_suffix(f".{os.getpid()}.{time.monotonic_ns()}")
        tmp.write_text(f"{time.time_ns()}")
        os.replace(tmp, self.generation_path)


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def make_session(location: CacheLocation, expire_after: timedelta) -> requests_cache.CachedSession:
    """Create the private cached session (never ``install_cache``: no global patching)."""
    _private_file(location.path)

    def key_fn(request: Any, **kwargs: Any) -> str:
        return requests_cache.create_key(request, **kwargs) + ":" + location.generation()

    session = requests_cache.CachedSession(
        str(location.path),
        backend="sqlite",
        serializer="json",
        expire_after=expire_after,
        allowable_methods=("GET",),
        allowable_codes=(200,),
        key_fn=key_fn,
        stale_if_error=False,
    )
    for companion in location.directory.glob(location.path.name + "-*"):
        os.chmod(companion, 0o600)
    return session


@dataclass(frozen=True)
class CacheFile:
    """One cache file on disk, as ``fbtime cache info`` shows it."""

    path: Path
    size: int
    modified: float


def iter_cache_files(directory: Path | None = None) -> Iterator[CacheFile]:
    """List fbtime's cache files."""
    directory = directory or cache_dir()
    if not directory.exists():
        return
    for path in sorted(directory.glob(f"http-*{SUFFIX}")):
        stat = path.stat()
        yield CacheFile(path, stat.st_size, stat.st_mtime)


def clear(directory: Path | None = None) -> int:
    """Delete every fbtime cache file (and generation stamp); return how many files."""
    directory = directory or cache_dir()
    removed = 0
    if not directory.exists():
        return 0
    for path in list(directory.glob("http-*")) + list(directory.glob("generation-*")):
        path.unlink(missing_ok=True)
        removed += path.suffix == SUFFIX
    return removed
