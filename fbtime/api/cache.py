"""The HTTP cache: a private requests-cache session per (API, business, identity).

What is cached: the reference lists around time entries (clients, projects, services,
the team, rates, the business's currency) and ``users/me``, 200 answers only, in a SQLite
file with the JSON serializer, for 15 minutes by default (:mod:`fbtime.api.reference`
asks for it). Never cached: time-entry lists and entries (they are read on a plain
session; a list's cache is its snapshot, :mod:`fbtime.snapshot`, kept beside this file),
writes and errors. ``refresh=True`` fetches a reference list again.

Isolation: each (base URL, business id, token identity) gets its own file, named by a
hash, so a second token never reads the first token's answers. The token itself is not
in the file: cache keys hash only the method, URL and body (:func:`request_key`), and
requests-cache redacts the ``Authorization`` header of the stored request. Files (the
database and its WAL companions) are created with mode 0600 in a 0700 directory.

Invalidation: every write bumps a per-business *generation* stamp stored beside the cache
files; the generation is part of every cache key, so after a write no cache of that
business (whichever token wrote) serves an old answer again.

Damage: a cache file that is not a readable SQLite database (a crash of the disk, a file
edited by hand) never breaks a load. It is found when the session opens (or when a read
fails), moved aside as ``<name>.damaged-<time>`` for inspection, and rebuilt; a
:class:`DamagedCacheWarning` says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import platformdirs
import requests_cache

from fbtime.config import ENV_CACHE_DIR
from fbtime.files import PRIVATE_FILE, private_dir, write_private

log = logging.getLogger("fbtime")

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

    def snapshot_path(self, *query: str) -> Path:
        """The frame file of a list query's snapshot beside this cache (its state beside it:
        :mod:`fbtime.snapshot`); ``query`` is the list's path and filters, in any order."""
        key = _digest("fbtime-snapshot", *sorted(query))
        return self.directory / f"{self.path.stem}-{key}.arrow"

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
        write_private(self.generation_path, f"{time.time_ns()}")


def request_key(request: Any) -> str:
    """A request's cache key: method, URL with its query sorted, and body; never headers.

    requests-cache's ``create_key`` normalizes any URL a caller might write, which costs
    about a tenth of a millisecond a request (a fifth of a cache hit); fbtime builds its
    URLs one way, so sorting the query is all the normalizing needed.
    """
    scheme, netloc, path, query, _ = urlsplit(request.url or "")
    query = urlencode(sorted(parse_qsl(query, keep_blank_values=True)))
    body = request.body or b""
    digest = hashlib.blake2b(digest_size=8)
    for part in (request.method or "", scheme.lower(), netloc.lower(), path, query):
        digest.update(part.encode() + b"\x1f")
    digest.update(
        body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else b"?"
    )
    return digest.hexdigest()


class DamagedCacheWarning(UserWarning):
    """A cache file was damaged; it was moved aside and is rebuilt (answers are fetched again)."""


def damage(path: Path) -> str | None:
    """Why the cache file at ``path`` cannot be read as SQLite (None if it can, or is new).

    Cheap on purpose (the header and schema, not every page): it runs whenever a client
    opens its cache; deeper damage is caught when a read fails.
    """
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None


def quarantine(location: CacheLocation, reason: str) -> Path:
    """Move a damaged cache file (and its WAL files) aside, tell the user; return the new name."""
    path = location.path
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("", "-wal", "-shm", "-journal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            os.replace(source, aside.with_name(aside.name + suffix))
    message = (
        f"the HTTP cache {path} was damaged ({reason}); it was moved aside to {aside} "
        "and is rebuilt, so answers are fetched again"
    )
    log.warning(message)
    warnings.warn(message, DamagedCacheWarning, stacklevel=4)
    return aside


def _private_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite would use the umask)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)


def make_session(location: CacheLocation, expire_after: timedelta) -> requests_cache.CachedSession:
    """Create the private cached session (never ``install_cache``: no global patching)."""
    reason = damage(location.path)
    if reason is not None:
        quarantine(location, reason)
    _private_file(location.path)

    def key_fn(request: Any, **kwargs: Any) -> str:
        return request_key(request) + ":" + location.generation()

    backend = requests_cache.SQLiteCache(
        str(location.path),
        serializer="json",
        decode_content=False,  # bodies stay bytes (base64): no JSON re-parse on every hit
        wal=True,  # commits without an fsync each; lookups need not wait for a writer's fsync
    )
    session = requests_cache.CachedSession(
        backend=backend,
        expire_after=expire_after,
        allowable_methods=("GET",),
        allowable_codes=(200,),
        key_fn=key_fn,
        stale_if_error=False,
    )
    for companion in location.directory.glob(location.path.name + "-*"):
        os.chmod(companion, PRIVATE_FILE)
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
