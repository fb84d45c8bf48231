"""The HTTP response cache: a private requests-cache session per (API, business, identity).

What is cached: successful (200) GET answers, in a SQLite file with the JSON serializer,
for 15 minutes by default. Never cached: writes, errors, and anything fetched with
``refresh=True`` or by incremental sync.

Time-entry lists are kept differently (:class:`Snapshots`): page-number paging has no
snapshot upstream, so a list is only as good as its last check. Per query, the frame a
load produced is kept in a file beside the cache (written by :mod:`fbtime.load`), and the
state that revalidates it in the cache's SQLite file: the server's time of the fetch (the
watermark an ``updated_since`` query starts from), when it was last checked, its count
and the write generation.

Isolation: each (base URL, business id, token identity) gets its own file, named by a
hash, so a second token never reads the first token's answers. The token itself is not
in the file: cache keys hash only the method, URL and body (:func:`request_key`), and
requests-cache redacts the ``Authorization`` header of the stored request. Files (the
database and its WAL companions) are created with mode 0600 in a 0700 directory.

Speed: answer bodies are stored as bytes (``decode_content=False``: no JSON re-parse on a
hit), SQLite runs in WAL mode, answers are saved from a background thread
(:class:`BackgroundSQLiteCache`), and fresh hits skip requests' per-request work
(:meth:`fbtime.api.client.Client.send`). A cached 200,000-entry load reads 2,000 pages in
about 1.3 s (bench/RESULTS.md).

Invalidation: every write bumps a per-business *generation* stamp stored beside the cache
files; the generation is part of every cache key, so after a write no cache of that
business (whichever token wrote) serves the old list or entry answers again.

Damage: a cache file that is not a readable SQLite database (a crash of the disk, a file
edited by hand) never breaks a load. It is found when the session opens (or when a read
fails), moved aside as ``<name>.damaged-<time>`` for inspection, and rebuilt; a
:class:`DamagedCacheWarning` says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import platformdirs
import requests_cache

from fbtime.config import ENV_CACHE_DIR
from fbtime.files import PRIVATE_FILE, private_dir, write_private, write_private_with

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


class BackgroundSQLiteCache(requests_cache.SQLiteCache):
    """requests-cache's SQLite backend, saving answers from one background thread.

    Saving an answer (serializing it and a SQLite commit) costs about a millisecond of CPU;
    done by the worker that fetched it, it delays that worker's next request (a cold
    2,000-page load took a second longer: bench/run.py). Here the worker hands the answer
    over and goes back to the network. Every read, delete and close first waits for the
    pending saves, so a lookup never misses an answer already fetched; at most
    :attr:`MAX_PENDING` answers wait in memory, and the writer thread is not a daemon, so
    the interpreter finishes the saves before it exits.
    """

    MAX_PENDING = 32

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: deque[tuple[Any, str | None, Any]] = deque()
        self._changed = threading.Condition()
        self._writing = False

    def save_response(
        self, response: Any, cache_key: str | None = None, expires: Any = None
    ) -> None:
        with self._changed:
            while len(self._pending) >= self.MAX_PENDING:
                self._changed.wait()
            self._pending.append((response, cache_key, expires))
            if not self._writing:
                self._writing = True
                threading.Thread(target=self._drain, name="fbtime-cache-writer").start()

    def _drain(self) -> None:
        while True:
            with self._changed:
                if not self._pending:
                    self._writing = False
                    self._changed.notify_all()
                    return
                item = self._pending.popleft()
                self._changed.notify_all()
            try:
                super().save_response(*item)
            except Exception as exc:  # a cache that cannot be written is only slower
                log.warning("could not save an answer to the cache: %s", exc)

    def flush(self) -> None:
        """Wait until every answer handed over so far is saved."""
        with self._changed:
            while self._writing:
                self._changed.wait()

    def get_response(self, key: str, default: Any = None) -> Any:
        self.flush()
        return super().get_response(key, default)

    def delete(self, *args: Any, **kwargs: Any) -> None:
        self.flush()
        super().delete(*args, **kwargs)

    def clear(self) -> None:
        self.flush()
        super().clear()

    def close(self) -> None:
        self.flush()
        super().close()


def make_session(location: CacheLocation, expire_after: timedelta) -> requests_cache.CachedSession:
    """Create the private cached session (never ``install_cache``: no global patching)."""
    reason = damage(location.path)
    if reason is not None:
        quarantine(location, reason)
    _private_file(location.path)

    def key_fn(request: Any, **kwargs: Any) -> str:
        return request_key(request) + ":" + location.generation()

    backend = BackgroundSQLiteCache(
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


def snapshot_key(path: str, params: Mapping[str, str]) -> str:
    """The key of a list query's snapshot: its path and filters, not the page size."""
    return _digest("fbtime-snapshot", path, *sorted(f"{k}={v}" for k, v in params.items()))


#: A state is a few hundred bytes; anything far larger was not written by fbtime.
MAX_STATE_CHARS = 64 * 1024


class Snapshots:
    """Snapshots of list queries and their revalidation state, kept with a client's cache.

    The state of each query is a row in the cache's own SQLite file (beside
    requests-cache's answers), and its frame a file beside it,
    ``http-<business>-<identity>-<query>.snapshot``, written atomically: both private
    (0600 in the 0700 cache folder), per (API, business, identity), never holding a token,
    and removed by ``fbtime cache clear``. The state names the file's ``id``, which the
    file repeats inside, so a state never pairs with another write's file.

    Reads treat both as untrusted: a state that is not a JSON object reads as none.
    ``sqlite3`` errors reach the caller, who decides whether the file is damaged
    (:meth:`~fbtime.api.client.Client.cache_damaged`).
    """

    TABLE = "fbtime_snapshots"

    def __init__(self, location: CacheLocation) -> None:
        self.location = location

    def path(self, key: str) -> Path:
        """The file holding the snapshot of ``key``."""
        stem = self.location.path.name.removesuffix(SUFFIX)
        return self.location.directory / f"{stem}-{key}.snapshot"

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        # mode=rw: never create the file here (make_session creates it 0600 first)
        db = sqlite3.connect(f"file:{self.location.path}?mode=rw", uri=True, timeout=10)
        try:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.TABLE} (key TEXT PRIMARY KEY, state TEXT)"
            )
            with db:  # one transaction
                yield db
        finally:
            db.close()

    def state(self, key: str) -> dict[str, Any] | None:
        """The state saved under ``key``, or None."""
        with self._db() as db:
            row = db.execute(
                f"SELECT state FROM {self.TABLE} WHERE key = ? AND length(state) <= ?",
                (key, MAX_STATE_CHARS),
            ).fetchone()
        if row is None or not isinstance(row[0], str):
            return None
        try:
            state = json.loads(row[0])
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def write(
        self, key: str, state: Mapping[str, Any], write: Callable[[Path], None] | None = None
    ) -> None:
        """Save the state of ``key``; with ``write``, first replace its file atomically
        with what ``write(temporary_path)`` writes (:func:`fbtime.files.write_private_with`),
        and record the file's size in the state as ``bytes``."""
        state = dict(state)
        if write is not None:
            state["bytes"] = write_private_with(self.path(key), write).stat().st_size
        with self._db() as db:
            db.execute(
                f"INSERT OR REPLACE INTO {self.TABLE} (key, state) VALUES (?, ?)",
                (key, json.dumps(state)),
            )

    def forget(self, key: str) -> None:
        """Drop the state and file of ``key`` (an unreadable snapshot, or one found wrong)."""
        with self._db() as db:
            db.execute(f"DELETE FROM {self.TABLE} WHERE key = ?", (key,))
        self.path(key).unlink(missing_ok=True)


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
