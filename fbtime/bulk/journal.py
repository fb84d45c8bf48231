"""The apply journal: an append-only, chained JSONL record of every bulk change.

One file per apply. Line 1 describes the run (run id, business, the whole plan). Before
each write an ``intent`` line is appended and fsynced, after it an ``outcome`` line; a
run that stops early says why in a ``stop`` line. So after a crash the journal says
exactly which entries might have been written (an intent with no outcome), and
:func:`fbtime.resume` checks only those on the server. Lines hold entry fields, ids,
statuses and HTTP codes; never a token. Files are 0600, created with
:func:`fbtime.files.create_private` and appended with :func:`fbtime.files.append_line`.

A journal is read back as untrusted input, because resume and undo act on it. Each line
carries ``prev``, the sha256 of the line before it, so a line added, removed, reordered
or duplicated breaks the chain; and each line is checked against the run's own plan (its
first line): an outcome for an entry the plan does not name, or with fields it does not
hold, is refused. Every such problem is a PlanError naming the line. Only a cut-short
last line (a crash mid-write) is tolerated; it is cut off before the journal is appended
to again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import signal
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from fbtime.bulk.change import Change, PlanData, read_untrusted
from fbtime.bulk.checks import COMPARED, MAX_ID, canonical, is_id, loads, shown
from fbtime.errors import JournalLockedError, PlanError
from fbtime.files import append_line, create_private, private_dir
from fbtime.text import for_terminal

JOURNAL_FORMAT = "fbtime-journal"
#: Version 2 chained the lines (``prev``); version 1 journals are refused.
JOURNAL_VERSION = 2
#: The largest journal read back. A 10,000-change apply journals about 27 MB (measured:
#: its plan on line 1, then about 2 KB of intent and outcome per entry, each holding the
#: entry's fields); 256 MiB is 9.5 times that, room for long notes (a note appears up to
#: eight times per entry) and a few resumes, while a file that could only exhaust memory
#: is refused.
MAX_JOURNAL_BYTES = 256 * 2**20
#: Why a run stopped early (a ``stop`` line).
STOP_CAUSES = ("unreachable", "cancelled", "interrupted", "auth", "error")
#: What an ``outcome`` line may record (``not_attempted`` rows are never journaled).
OUTCOME_STATUSES = ("applied", "already_applied", "conflict", "failed")
_COMMON = frozenset({"type", "run_id", "business_id", "at", "prev"})
KEYS = {
    "run": _COMMON | {"format", "version", "kind", "base_url", "plan"},
    "intent": _COMMON | {"entry_id", "action", "before", "after"},
    "outcome": _COMMON
    | {"entry_id", "action", "status", "reason", "http_status", "before", "after"}
    | {"result", "new_id"},
    "stop": _COMMON | {"cause", "reason"},
    "resume": _COMMON | {"pending", "in_doubt"},
    "end": _COMMON | {"counts"},
}
_RUN_ID = re.compile(r"[0-9a-f]{12}")


def default_directory() -> Path:
    return Path(platformdirs.user_data_dir("fbtime")) / "journals"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@contextlib.contextmanager
def deferred_interrupts(*, deliver: bool = True) -> Iterator[list[int]]:
    """Hold Ctrl-C back until the block ends, then deliver it (in the main thread;
    elsewhere no signal arrives): a journal line is never left half-recorded (written,
    but not yet the ``prev`` of the next). Yields a list that is not empty if Ctrl-C was
    pressed meanwhile; ``deliver=False`` leaves acting on it to the caller."""
    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return
    old = signal.signal(signal.SIGINT, lambda number, frame: pressed.append(number))
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, old)
        if pressed and deliver and callable(old):  # held back, not lost: deliver it now
            old(signal.SIGINT, None)


class Journal:
    """Appends fsynced, chained JSON lines to one journal file (thread-safe)."""

    def __init__(self, path: Path, run_id: str, business_id: int, prev: str | None) -> None:
        self.path = path
        self.run_id = run_id
        self.business_id = business_id
        self._prev = prev
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, directory: str | Path | None, *, kind: str, business_id: int, header: dict[str, Any]
    ) -> Journal:
        """Start a new journal file with its header line.

        The header is serialised before the file exists, so a plan that cannot be
        journaled leaves no file (and no folder) behind.

        Raises:
            PlanError: the header cannot be written as UTF-8 JSON.
        """
        folder = Path(directory) if directory is not None else default_directory()
        run_id = uuid.uuid4().hex[:12]
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        journal = cls(folder / f"{stamp}-{kind}-{run_id}.jsonl", run_id, business_id, None)
        fields = {"format": JOURNAL_FORMAT, "version": JOURNAL_VERSION, "kind": kind, **header}
        line = journal._line("run", fields)
        private_dir(folder)
        create_private(journal.path)
        append_line(journal.path, line.decode("utf-8") + "\n")
        journal._prev = _digest(line)
        return journal

    @classmethod
    def reopen(cls, state: JournalState) -> Journal:
        """Continue a journal read by :func:`read_state` (resume)."""
        if state.cut_at is not None or state.unterminated:
            fd = os.open(state.path, os.O_WRONLY | os.O_NOFOLLOW)
            try:
                if state.cut_at is not None:  # the crash's half line: it recorded nothing
                    os.ftruncate(fd, state.cut_at)
                    os.fsync(fd)
            finally:
                os.close(fd)
            if state.unterminated:
                append_line(state.path, "\n")
        return cls(state.path, state.run_id, state.business_id, state.last_digest)

    def _line(self, type_: str, fields: dict[str, Any]) -> bytes:
        record = {
            "type": type_,
            "run_id": self.run_id,
            "business_id": self.business_id,
            "at": _now(),
            "prev": self._prev,
            **fields,
        }
        try:
            return json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise PlanError(
                f"cannot journal this {type_} line: {for_terminal(exc)}; nothing was sent"
            ) from None

    def write(self, type_: str, **fields: Any) -> None:
        """Append one line (fsynced) chained to the line before it."""
        with self._lock, deferred_interrupts():
            line = self._line(type_, fields)
            append_line(self.path, line.decode("utf-8") + "\n")
            self._prev = _digest(line)


@dataclass
class JournalState:
    """What a journal file says happened, read back (and checked) for resume and undo."""

    path: Path
    run_id: str
    business_id: int
    header: dict[str, Any]
    plan: PlanData
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    stops: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = False
    last_digest: str | None = None
    cut_at: int | None = None  # byte length without a cut-short last line
    unterminated: bool = False  # the last line is whole but its newline was never written
    lines: list[dict[str, Any]] | None = None  # every line as read, if asked for

    def in_doubt(self) -> list[int]:
        """Entries written to (intent) with no recorded outcome: check them on the server."""
        return [i for i in self.intents if i not in self.outcomes]

    def applied(self) -> list[dict[str, Any]]:
        return [o for o in self.outcomes.values() if o.get("status") == "applied"]


def _same(a: Any, b: Mapping[str, Any]) -> bool:
    """``a`` holds exactly the fields of ``b`` (scalars), each of the same type: ``==``
    alone takes True for 1."""
    return (
        isinstance(a, dict)
        and a == b
        and all(type(value) is type(b[key]) for key, value in a.items())
    )


def _scalar(value: Any) -> bool:
    if type(value) is int:
        return abs(value) <= MAX_ID
    return value is None or type(value) in (bool, str)


class _Reader:
    """Checks a journal line by line against its header's plan."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = for_terminal(path)
        self.state: JournalState | None = None
        self.changes: dict[int, Change] = {}

    def header(self, record: Any, digest: str) -> None:
        where = self.where
        if (
            not isinstance(record, dict)
            or record.get("type") != "run"
            or record.get("format") != JOURNAL_FORMAT
        ):
            raise PlanError(f"{where} is not an fbtime journal (no run header on its first line)")
        if record.get("version") != JOURNAL_VERSION:
            raise PlanError(
                f"{where} is journal version {shown(record.get('version'))}; this fbtime "
                f"reads version {JOURNAL_VERSION}"
            )
        extra = sorted(map(str, set(record) - KEYS["run"]))
        if extra:
            raise PlanError(f"{where} line 1 has unknown key(s) {shown(extra)}")
        business_id, run_id = record.get("business_id"), record.get("run_id")
        if not is_id(business_id) or not isinstance(record.get("plan"), dict):
            raise PlanError(f"{where}: the run header lacks business_id or plan")
        if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
            raise PlanError(f"{where} line 1: run_id {shown(run_id)} is not a run id")
        if record.get("prev") is not None or not isinstance(record.get("base_url"), str):
            raise PlanError(f"{where} line 1 is not a run header fbtime wrote")
        plan = PlanData.from_dict(record["plan"], where=f"{self.path} line 1 (its plan)")
        if plan.business_id != business_id or plan.kind != record.get("kind"):
            raise PlanError(f"{where} line 1: the plan's business or kind differs from the run's")
        self.changes = {c.id: c for c in plan.changes}
        self.state = JournalState(self.path, run_id, business_id, record, plan, last_digest=digest)

    def line(self, number: int, record: Any, digest: str) -> None:
        state = self.state
        assert state is not None
        at = f"{self.where} line {number}"
        if not isinstance(record, dict):
            raise PlanError(f"{at} is not an object")
        if record.get("prev") != state.last_digest:
            raise PlanError(
                f"{at} does not follow line {number - 1} (its 'prev' hash differs): a line "
                "was added, removed, reordered or duplicated"
            )
        kind = record.get("type")
        if kind not in KEYS or kind == "run":
            raise PlanError(f"{at}: unknown line type {shown(kind)}")
        extra = sorted(map(str, set(record) - KEYS[kind]))
        if extra:
            raise PlanError(f"{at}: unknown key(s) {shown(extra)} in a {kind} line")
        if record.get("run_id") != state.run_id or record.get("business_id") != state.business_id:
            raise PlanError(f"{at} belongs to another run or business")
        if not isinstance(record.get("at"), str):
            raise PlanError(f"{at}: 'at' must be a time")
        if state.finished and kind != "resume":
            raise PlanError(f"{at}: {kind} line after the run's end line")
        getattr(self, f"_{kind}")(at, record)
        state.last_digest = digest

    def _change(self, at: str, record: dict[str, Any]) -> Change:
        entry_id = record.get("entry_id")
        if not is_id(entry_id):
            raise PlanError(f"{at}: entry_id must be a positive integer, got {shown(entry_id)}")
        change = self.changes.get(entry_id)
        if change is None:
            raise PlanError(f"{at}: entry {entry_id} is not in the journal's plan")
        if record.get("action") != change.action:
            raise PlanError(f"{at}: entry {entry_id} is planned as {change.action}, not this")
        if not _same(record.get("before"), change.before) or not _same(
            record.get("after"), change.after
        ):
            raise PlanError(f"{at}: the fields of entry {entry_id} differ from the journal's plan")
        return change

    def _settled(self, at: str, entry_id: int) -> None:
        previous = self.state.outcomes.get(entry_id) if self.state else None
        if previous is not None and previous.get("status") != "failed":
            raise PlanError(
                f"{at}: entry {entry_id} already has an outcome ({shown(previous['status'])}); "
                "the plan writes each entry once"
            )

    def _intent(self, at: str, record: dict[str, Any]) -> None:
        change = self._change(at, record)
        self._settled(at, change.id)
        self.state.intents[change.id] = record  # type: ignore[union-attr]

    def _outcome(self, at: str, record: dict[str, Any]) -> None:
        change = self._change(at, record)
        status, http_status = record.get("status"), record.get("http_status")
        if status not in OUTCOME_STATUSES:
            raise PlanError(f"{at}: status {shown(status)} is not an outcome")
        if not isinstance(record.get("reason", ""), str):
            raise PlanError(f"{at}: reason must be text")
        if http_status is not None and not (type(http_status) is int and 100 <= http_status < 600):
            raise PlanError(f"{at}: http_status {shown(http_status)} is not an HTTP status")
        result = record.get("result")
        if result is not None and not (
            isinstance(result, dict)
            and set(result) <= set(COMPARED)
            and all(_scalar(v) for v in result.values())
        ):
            raise PlanError(f"{at}: result must hold entry fields only")
        new_id = record.get("new_id")
        if new_id is not None and not (
            is_id(new_id) and change.action == "create" and status in ("applied", "already_applied")
        ):
            raise PlanError(f"{at}: new_id {shown(new_id)} belongs to no re-created entry")
        if status == "applied" and change.id not in self.state.intents:  # type: ignore[union-attr]
            raise PlanError(f"{at}: entry {change.id} is recorded applied without an intent")
        self._settled(at, change.id)
        self.state.outcomes[change.id] = record  # type: ignore[union-attr]

    def _stop(self, at: str, record: dict[str, Any]) -> None:
        if record.get("cause") not in STOP_CAUSES or not isinstance(record.get("reason"), str):
            raise PlanError(f"{at}: a stop line needs a known cause and a reason")
        self.state.stops.append(record)  # type: ignore[union-attr]

    def _resume(self, at: str, record: dict[str, Any]) -> None:
        pending, in_doubt = record.get("pending"), record.get("in_doubt")
        counted = type(pending) is int and 0 <= pending <= len(self.changes)
        if (
            not counted
            or not isinstance(in_doubt, list)
            or not all(is_id(i) and i in self.changes for i in in_doubt)
        ):
            raise PlanError(f"{at}: a resume line counts entries of the plan")
        self.state.finished = False  # type: ignore[union-attr]

    def _end(self, at: str, record: dict[str, Any]) -> None:
        counts = record.get("counts")
        if not isinstance(counts, dict) or not all(
            type(n) is int and 0 <= n <= len(self.changes) for n in counts.values()
        ):
            raise PlanError(f"{at}: an end line counts entries of the plan")
        self.state.finished = True  # type: ignore[union-attr]


def read_state(path: str | Path, *, lines: bool = False) -> JournalState:
    """Read and check a journal, tolerating a last line cut short by a crash.

    ``lines=True`` keeps every line as read in ``.lines`` (for :func:`fbtime.read_journal`,
    so the file is read and parsed once).

    Raises:
        PlanError: the file is missing, too large, not a journal, or a line is damaged,
            out of the chain, or not what the journal's plan allows (naming the line).
    """
    path = Path(path)
    where = for_terminal(path)
    data = read_untrusted(path, MAX_JOURNAL_BYTES, "journal")
    pieces = data.split(b"\n")
    tail = pieces.pop()  # after the last newline: empty, or a line cut short by a crash
    records: list[tuple[bytes, Any]] = []
    for number, raw in enumerate(pieces, start=1):
        try:
            records.append((raw, loads(raw)))
        except (ValueError, RecursionError):
            raise PlanError(f"{where} line {number} is damaged (not JSON)") from None
    cut_at, unterminated = None, False
    if tail:
        try:
            records.append((tail, loads(tail)))
            unterminated = True
        except (ValueError, RecursionError):
            cut_at = len(data) - len(tail)  # a crash mid-write: that line recorded nothing
    if not records:
        raise PlanError(f"{where} is not an fbtime journal (no run header on its first line)")
    reader = _Reader(path)
    reader.header(records[0][1], _digest(records[0][0]))
    for number, (raw, record) in enumerate(records[1:], start=2):
        reader.line(number, record, _digest(raw))
    state = reader.state
    assert state is not None
    state.cut_at, state.unterminated = cut_at, unterminated
    if lines:
        state.lines = [record for _, record in records]
    return state


class JournalLock:
    """An exclusive ``flock`` on a journal file, held for one run; :meth:`release` it."""

    def __init__(self, path: Path) -> None:
        where = for_terminal(path)
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise PlanError(f"no journal file at {where}") from None
        except OSError as exc:
            raise PlanError(f"cannot open journal {where}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.release()
            raise JournalLockedError(
                f"another apply, resume or undo is using {where} right now; nothing was "
                "sent. Try again once it has finished"
            ) from None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases its lock


def lock(path: str | Path) -> JournalLock:
    """Hold the journal at ``path`` for one apply, resume or undo; ``.release()`` it after.

    A second run on the same journal at the same time (a double-click, a teammate, a
    second terminal) would break its chain and write entries twice, so it is refused.
    The lock is the journal file's own (``flock``, released when the process ends): no
    lock file is left behind.

    Raises:
        JournalLockedError: another run holds it, in this process or another.
        PlanError: there is no journal at ``path``.
    """
    return JournalLock(Path(path))


def check_undo_source(plan: PlanData) -> JournalState:
    """Refuse an undo plan that writes anything its source journal did not change; return
    the source journal's state.

    Raises:
        PlanError: naming the change, and what the source journal does not allow.
    """
    if plan.source_journal is None:
        raise PlanError("an undo plan must name the journal it undoes")
    state = read_state(plan.source_journal)
    where = for_terminal(state.path)
    if state.business_id != plan.business_id:
        raise PlanError(f"the undo plan's business differs from that of {where}")
    planned = {c.id: c for c in state.plan.changes}
    applied = {i for i, o in state.outcomes.items() if o["status"] == "applied"}
    created = {
        o["new_id"] for o in state.outcomes.values() if o["status"] == "applied" and o.get("new_id")
    }
    for number, change in enumerate(plan.changes, start=1):
        row = f"undo plan change #{number} (entry {change.id})"
        source = planned.get(change.id)
        if change.action == "delete":
            if change.id not in created:
                raise PlanError(f"{row}: {where} did not create this entry; undo cannot delete it")
            continue
        wanted = "update" if change.action == "update" else "delete"
        if source is None or source.action != wanted or change.id not in applied:
            raise PlanError(f"{row}: {where} did not {wanted} this entry, so undo cannot touch it")
        if change.action == "create":
            if canonical(change.after) != canonical(source.before):
                raise PlanError(f"{row}: a re-created entry must be the entry that was deleted")
            continue
        for name, value in change.after.items():
            if name not in source.after:
                raise PlanError(f"{row}: {where} did not change {name}, so undo cannot")
            if canonical(value) != canonical(source.before[name]):
                raise PlanError(f"{row}: undo restores {name} to its value before the apply only")
    return state
