"""Private files, written atomically and read back with a size limit.

Everything fbtime writes for itself (saved logins, plans, journals, sync snapshots and
their state, cache stamps) holds account data, so it is private (0600 in a 0700 folder)
and never half-written:

* :func:`write_private` writes a temporary file made by ``mkstemp`` in the target folder
  (``O_EXCL``, a random name, mode 0600), fsyncs it, renames it over the target and
  fsyncs the folder. A symlink planted at the target is replaced, never written through,
  and no predictable temporary name exists for anyone to plant.
* :func:`append_line` appends one fsynced line to a file it refuses to open through a
  symlink (journals).
* :func:`read_limited` reads a file fbtime wrote earlier, refusing one larger than a limit:
  a file edited on disk is untrusted input like any other.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and parents) as a 0700 folder if it does not exist; return it."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    return path


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # makes the rename itself durable where supported
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_private_with(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Atomically replace ``path`` with what ``write(temporary_path)`` writes (mode 0600).

    For writers that want a file name (``DataFrame.to_parquet``); see :func:`write_private`.
    """
    path = Path(path)
    private_dir(path.parent)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, PRIVATE_FILE)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_private(path: str | Path, data: str | bytes) -> Path:
    """Atomically replace ``path`` with ``data`` (text is UTF-8), mode 0600, fsynced."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return write_private_with(path, lambda temporary: temporary.write_bytes(payload))


def create_private(path: str | Path) -> Path:
    """Create a new, empty 0600 file; fail if anything (a symlink too) is already there."""
    path = Path(path)
    private_dir(path.parent)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, PRIVATE_FILE))
    return path


def append_line(path: str | Path, line: str) -> None:
    """Append ``line`` (UTF-8) to an existing regular file and fsync it; never via a symlink."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


class FileTooLarge(OSError):
    """A file is larger than the limit it is read with."""


def read_limited(path: str | Path, limit: int) -> bytes:
    """Read a whole file, refusing one over ``limit`` bytes.

    Raises:
        FileNotFoundError: there is no such file.
        FileTooLarge: the file holds more than ``limit`` bytes (only ``limit + 1`` are read).
    """
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"{path} is larger than {limit:,} bytes")
    return data
