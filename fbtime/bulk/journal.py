"""The apply journal: an append-only JSONL record of every bulk change.

One file per apply. The first line describes the run (run id, business, the whole plan).
Before each write an ``intent`` line is appended and fsynced; after it, an ``outcome``
line. So after a crash the journal says exactly which entries might have been written
(an intent with no outcome), and :func:`fbtime.resume` checks only those on the server.
Lines hold entry fields, ids, statuses and HTTP codes; never a token. Files are 0600.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from fbtime.errors import PlanError

JOURNAL_FORMAT = "fbtime-journal"


def default_directory() -> Path:
    return Path(platformdirs.user_data_dir("fbtime")) / "journals"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Journal:
    """Appends fsynced JSON lines to one journal file (thread-safe)."""

    def __init__(self, path: Path, run_id: str, business_id: int) -> None:
        self.path = path
        self.run_id = run_id
        self.business_id = business_id
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, directory: str | Path | None, *, kind: str, business_id: int, header: dict[str, Any]
    ) -> Journal:
        """Start a new journal file and write its header line."""
        directory = Path(directory) if directory is not None else default_directory()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        run_id = uuid.uuid4().hex[:12]
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        path = directory / f"{stamp}-{kind}-{run_id}.jsonl"
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        journal = cls(path, run_id, business_id)
        journal.write("run", format=JOURNAL_FORMAT, kind=kind, **header)
        return journal

    @classmethod
    def reopen(cls, state: JournalState) -> Journal:
        return cls(state.path, state.run_id, state.business_id)

    def write(self, type_: str, **fields: Any) -> None:
        record = {
            "type": type_,
            "run_id": self.run_id,
            "business_id": self.business_id,
            "at": _now(),
            **fields,
        }
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)


@dataclass
class JournalState:
    """What a journal file says happened, read back for resume and undo."""

    path: Path
    run_id: str
    business_id: int
    header: dict[str, Any]
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    finished: bool = False

    @property
    def plan(self) -> dict[str, Any]:
        return self.header["plan"]

    def in_doubt(self) -> list[int]:
        """Entries written to (intent) with no recorded outcome: check them on the server."""
        return [i for i in self.intents if i not in self.outcomes]

    def applied(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes.values() if o.get("status") == "applied"]


def read_journal(path: str | Path) -> JournalState:
    """Read a journal, tolerating a last line cut short by a crash.

    Raises:
        PlanError: the file is missing, not a journal, or damaged before its last line.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise PlanError(f"no journal file at {path}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{path} is not an fbtime journal (not text)") from None
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            if number == len(lines):
                break  # a crash mid-write leaves at most the last line incomplete
            raise PlanError(f"{path} line {number} is damaged (not JSON)") from None
    if not records or records[0].get("type") != "run" or records[0].get("format") != JOURNAL_FORMAT:
        raise PlanError(f"{path} is not an fbtime journal (no run header on its first line)")
    header = records[0]
    if not isinstance(header.get("business_id"), int) or not isinstance(header.get("plan"), dict):
        raise PlanError(f"{path}: the run header lacks business_id or plan")
    state = JournalState(path, str(header["run_id"]), header["business_id"], header)
    for record in records[1:]:
        kind = record.get("type")
        entry_id = record.get("entry_id")
        if kind == "intent":
            state.intents[int(entry_id)] = record
        elif kind == "outcome":
            state.outcomes[int(entry_id)] = record
        elif kind == "end":
            state.finished = True
        elif kind == "resume":
            state.finished = False
    return state
