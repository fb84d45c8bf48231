"""Runner: carries out one plan's changes against one client, journaling as it goes.

For each change: GET the entry; ``already_applied`` if it holds the target values, a
conflict if it changed since the plan, otherwise an ``intent`` line, the write, and an
``outcome`` line. A create looks for its entry first (:mod:`fbtime.bulk.once`).
:meth:`Runner.go_on` is checked before every request, so once the run is halted (auth
error, unreachable API, cancel, Ctrl-C) no new request starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fbtime.api.client import Client
from fbtime.api.fields import writable_payload
from fbtime.bulk.change import Change, snapshot
from fbtime.bulk.journal import Journal
from fbtime.bulk.once import Creates
from fbtime.errors import (
    APIError,
    AuthError,
    FBTimeError,
    NotFoundError,
    PlanError,
    TransportError,
)

#: Entries in a row whose request failed in transport (connection refused, timeout,
#: unreadable answer) before an apply stops as "unreachable". Each such failure has
#: already spent the client's whole retry budget (6 tries with backoff by default, each
#: up to the timeout), so one may be a blip such as a server restart, but three in a row
#: mean the API is down; going on would spend that budget again for every entry left.
#: Any answer from the server (an error status too) resets the count.
MAX_TRANSPORT_FAILURES = 3
Progress = Callable[[int, int], None]


class _Stopped(Exception):
    """The run stopped before this change's first (or next) request."""


def _differences(expected: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    return [k for k, v in expected.items() if current.get(k) != v]


class Runner:
    """Carries out changes against one client, writing the journal as it goes."""

    def __init__(
        self,
        client: Client,
        journal: Journal,
        *,
        resuming: set[int],
        cancel: threading.Event | None = None,
        on_progress: Progress | None = None,
        total: int = 0,
        since: dict[int, str] | None = None,
        created: set[int] | None = None,
        look_ahead: Sequence[Change] = (),
    ) -> None:
        self.client = client
        self.journal = journal
        self.resuming = resuming
        self.since = since or {}  # per create: when what it restores went away
        self.creates = Creates(self._candidates, claimed=created)
        # many creates (an import): one listing over their span, read at the first look,
        # answers the look before each POST instead of one request per create
        starts = [c.after.get("started_at") for c in look_ahead if c.action == "create"]
        self._span = sorted({s for s in starts if isinstance(s, str)})
        self._looked: dict[str, list[dict[str, Any]]] | None = None
        self._look_lock = threading.Lock()
        self.started: set[int] = set()  # changes whose requests began (in flight or done)
        self.cancel = cancel
        self.on_progress = on_progress
        self.total = total
        self.halted = threading.Event()
        self.stop_cause: str | None = None
        self.stop_reason: str | None = None
        self.rows: dict[int, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self._failures = 0
        self._done = 0

    # -- stopping -------------------------------------------------------------------------
    def halt(self, cause: str, reason: str) -> None:
        """Stop starting requests (once); journal why."""
        with self.lock:
            if self.stop_cause is not None:
                return
            self.stop_cause, self.stop_reason = cause, reason
            self.halted.set()
        self.journal.write("stop", cause=cause, reason=reason)

    def go_on(self) -> None:
        """Raise _Stopped if the run was halted or cancelled: checked before each request."""
        if self.cancel is not None and self.cancel.is_set():
            self.halt("cancelled", "cancelled: no new request was started")
        if self.halted.is_set():
            raise _Stopped

    def _transport_failed(self, error: TransportError) -> None:
        with self.lock:
            self._failures += 1
            count = self._failures
        if count >= MAX_TRANSPORT_FAILURES:
            self.halt(
                "unreachable",
                f"the API is unreachable: {count} entries in a row failed ({error})",
            )

    def _reachable(self) -> None:
        with self.lock:
            self._failures = 0

    # -- rows -----------------------------------------------------------------------------
    def _row(self, change: Change, status: str, reason: str, http_status: Any, new_id: Any) -> None:
        with self.lock:
            self.rows[change.id] = {
                "status": status,
                "reason": reason,
                "http_status": http_status,
                "new_id": new_id,
            }

    def record(
        self,
        change: Change,
        status: str,
        reason: str = "",
        http_status: Any = None,
        result: dict[str, Any] | None = None,
        new_id: int | None = None,
    ) -> None:
        # a server's message may hold a lone surrogate, which no UTF-8 file or terminal can
        reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
        fields = {
            "entry_id": change.id,
            "action": change.action,
            "status": status,
            "reason": reason,
            "http_status": http_status,
            "before": change.before,
            "after": change.after,
            "result": result,
            "new_id": new_id,
        }
        try:
            self.journal.write("outcome", **fields)
        except PlanError:  # the server's answer holds text no file can (a lone surrogate)
            reason = f"{reason} (the server's answer could not be journaled)".strip()
            self.journal.write("outcome", **{**fields, "reason": reason, "result": None})
        self._row(change, status, reason, http_status, new_id)

    def _progress(self) -> None:
        with self.lock:
            self._done += 1
            done = self._done
        if self.on_progress is not None:
            self.on_progress(done, self.total)

    # -- one change -----------------------------------------------------------------------
    def run(self, change: Change) -> None:
        try:
            self.go_on()
            with self.lock:
                self.started.add(change.id)
            self._run(change)
        except _Stopped:
            self._row(change, "not_attempted", self.stop_reason or "", None, None)
        except AuthError as exc:
            reason = f"stopped by an auth error: {exc.message}"
            self.record(change, "failed", reason, exc.status)
            self.halt("auth", reason)
        except TransportError as exc:
            self.record(change, "failed", str(exc))
            self._transport_failed(exc)
        except APIError as exc:
            self.record(change, "failed", exc.message, exc.status)
            self._reachable()
        except FBTimeError as exc:
            self.record(change, "failed", str(exc))
        else:
            self._reachable()
        finally:
            self._progress()

    def _candidates(self, fields: Any) -> list[dict[str, Any]]:
        """Every entry started at the same second (deleted and unlogged ones too): from
        the run's look ahead when it has one for that second, else asked for."""
        start = fields.get("started_at")
        if not start:
            return []
        looked = self._look_ahead()
        if start in looked:
            return looked[start]
        return self._listing(start, start)

    def _listing(self, first: str, last: str) -> list[dict[str, Any]]:
        rows = self.client.time_entries.listing(
            team=True,
            include_unlogged=True,
            started_from=first,
            started_to=last,
            use_cache=False,
        ).rows
        keep = ("id", "active", "created_at")
        return [{**snapshot(r), **{k: r.get(k) for k in keep}} for r in rows]

    def _look_ahead(self) -> dict[str, list[dict[str, Any]]]:
        """Candidates for every create's start, from one listing of their span (read
        once, at the first look; empty when the run has fewer than two creates)."""
        with self._look_lock:
            if self._looked is None:
                self._looked = {}
                if len(self._span) > 1:
                    found: dict[str, list[dict[str, Any]]] = {s: [] for s in self._span}
                    for entry in self._listing(self._span[0], self._span[-1]):
                        if entry.get("started_at") in found:
                            found[entry["started_at"]].append(entry)
                    self._looked = found
            return self._looked

    def _forget(self, start: Any) -> None:
        """A create's answer was lost: its next look asks the server again."""
        with self._look_lock:
            if self._looked is not None:
                self._looked.pop(start, None)

    def _create(self, change: Change) -> None:
        # exactly once (fbtime.bulk.once): look on the server before any POST; a resumed
        # intent found there was made by this journal's run, anything else by another
        since = self.since.get(change.id)
        if found := self.creates.find(change.after, since):
            ours = change.id in self.resuming
            status = "applied" if ours else "already_applied"
            how = "verified on resume" if ours else "made by an earlier run; not created again"
            reason = f"re-created as entry {found['id']} ({how})"
            self.record(change, status, reason, 200, snapshot(found), found["id"])
            return
        self.go_on()
        self.journal.write(
            "intent", entry_id=change.id, action="create", before=change.before, after=change.after
        )
        try:
            created = self.client.time_entries.create(**change.after)
        except TransportError:  # the POST may have been carried out: look, never re-send
            self._forget(change.after.get("started_at"))
            found = self.creates.find(change.after, since)
            if found is None:
                raise
            reason = f"re-created as entry {found['id']} (its answer was lost; found again)"
            self.record(change, "applied", reason, 200, snapshot(found), found["id"])
            return
        self.creates.claim(created["id"])
        self.record(change, "applied", "re-created", 200, snapshot(created), created["id"])

    def _run(self, change: Change) -> None:
        entries = self.client.time_entries
        if change.action == "create":
            self._create(change)
            return
        resuming = change.id in self.resuming
        try:
            current = entries.get(change.id, refresh=True)
        except NotFoundError:
            if change.action == "delete" and resuming:
                self.record(change, "applied", "deleted (verified on resume)", 404)
            else:
                self.record(change, "conflict", "entry no longer exists", 404)
            return
        now = snapshot(current)
        changed = _differences(change.before, now)
        if change.action == "update" and current.get("active") is False:
            self.record(change, "conflict", "deleted on the server since the plan", 200)
            return
        if change.action == "delete" and current.get("active") is False:
            if resuming:
                self.record(change, "applied", "deleted (verified on resume)", 200)
            elif changed:
                self.record(change, "conflict", f"deleted, and changed: {', '.join(changed)}", 200)
            else:
                self.record(change, "already_applied", "already deleted", 200)
            return
        if change.action == "update" and not _differences({**change.before, **change.after}, now):
            if resuming:
                self.record(change, "applied", "already applied (verified on resume)", 200, now)
            else:
                self.record(change, "already_applied", "the server already holds it", 200, now)
            return
        if changed:
            reason = f"changed on the server since the plan: {', '.join(changed)}"
            self.record(change, "conflict", reason, 200)
            return
        self.go_on()
        self.journal.write(
            "intent",
            entry_id=change.id,
            action=change.action,
            before=change.before,
            after=change.after,
        )
        if change.action == "delete":
            entries.delete(change.id)
            self.record(change, "applied", "deleted", 204)
            return
        answer = entries.put(change.id, {**writable_payload(current), **change.after})
        result = snapshot(answer)
        wrong = _differences(change.after, result)
        if wrong:
            self.record(change, "failed", f"server answered other values for {wrong}", 200, result)
        else:
            self.record(change, "applied", "", 200, result)
