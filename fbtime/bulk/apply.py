"""Apply a plan: confirmed, journaled, conflict-checked, concurrent, stoppable; and resume.

For each change: GET the entry as it is now. If it already holds the plan's target values
it is ``already_applied`` and nothing is written; if it differs from the plan's
``before`` it is a conflict and is left alone; otherwise journal the intent, PUT the
merged full writable set (or DELETE, or POST for a re-created entry), check the answer,
and journal the outcome. One row's failure does not stop the others.

A run stops early, journals why (a ``stop`` line) and leaves the rest ``not_attempted``
for :func:`resume` on an auth error, when the API is unreachable
(:data:`MAX_TRANSPORT_FAILURES`), when ``cancel`` is set, and on Ctrl-C. In every case
requests already in flight finish and no new one starts.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.bulk.journal import Journal, read_journal
from fbtime.bulk.plan import DEFAULT_MAX_AGE, Change, UpdatePlan, snapshot
from fbtime.bulk.result import STATUSES, ApplyResult
from fbtime.bulk.undo import check_undo_source, undo
from fbtime.client import Client
from fbtime.entries import writable_payload
from fbtime.errors import (
    APIError,
    ApplyInterrupted,
    AuthError,
    ConfirmationError,
    FBTimeError,
    NotFoundError,
    PartialApplyError,
    PlanError,
    TransportError,
)
from fbtime.text import for_terminal

__all__ = ["STATUSES", "ApplyResult", "apply_plan", "resume", "undo"]

DEFAULT_MAX_CHANGES = 200
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


def _differences(expected: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [k for k, v in expected.items() if current.get(k) != v]


class _Runner:
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
    ) -> None:
        self.client = client
        self.journal = journal
        self.resuming = resuming
        self.cancel = cancel
        self.on_progress = on_progress
        self.total = total
        self.halted = threading.Event()
        self.stop_cause: str | None = None
        self.stop_reason: str | None = None
        self.rows: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._failures = 0
        self._done = 0

    # -- stopping -------------------------------------------------------------------------
    def halt(self, cause: str, reason: str) -> None:
        """Stop starting requests (once); journal why."""
        with self._lock:
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
        with self._lock:
            self._failures += 1
            count = self._failures
        if count >= MAX_TRANSPORT_FAILURES:
            self.halt(
                "unreachable",
                f"the API is unreachable: {count} entries in a row failed ({error})",
            )

    def _reachable(self) -> None:
        with self._lock:
            self._failures = 0

    # -- rows -----------------------------------------------------------------------------
    def _row(self, change: Change, status: str, reason: str, http_status: Any, new_id: Any) -> None:
        with self._lock:
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
        with self._lock:
            self._done += 1
            done = self._done
        if self.on_progress is not None:
            self.on_progress(done, self.total)

    # -- one change -----------------------------------------------------------------------
    def run(self, change: Change) -> None:
        try:
            self.go_on()
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

    def _find_created(self, change: Change) -> dict[str, Any] | None:
        """An entry a lost POST answer may have created: same fields, same start."""
        start = change.after.get("started_at")
        if not start:
            return None
        rows = self.client.time_entries.listing(
            team=True, started_from=start, started_to=start, use_cache=False
        ).rows
        return next((r for r in rows if _same_entry(change.after, r)), None)

    def _create(self, change: Change) -> None:
        # POST is never retried (no idempotency key): when its answer is lost, or on
        # resume after an intent, look for the entry before creating it again.
        if change.id in self.resuming and (found := self._find_created(change)):
            self.record(
                change,
                "applied",
                "re-created (verified on resume)",
                200,
                snapshot(found),
                found["id"],
            )
            return
        self.go_on()
        self.journal.write(
            "intent", entry_id=change.id, action="create", before=change.before, after=change.after
        )
        try:
            created = self.client.time_entries.create(**change.after)
        except TransportError:
            found = self._find_created(change)
            if found is None:
                raise
            created = found
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


def _same_entry(wanted: dict[str, Any], entry: dict[str, Any]) -> bool:
    return entry.get("active") is not False and not _differences(wanted, snapshot(entry))


def _check_confirmation(plan: UpdatePlan, confirm: bool | int, max_changes: int) -> None:
    count = len(plan.changes)
    if confirm is False or confirm is None:
        raise ConfirmationError(
            f"apply changes {count} entries on the server: pass confirm=True to go ahead"
            + (
                f" (or confirm={count}, since it is over max_changes={max_changes})"
                if count > max_changes
                else ""
            )
        )
    if count > max_changes and (confirm is True or confirm != count):
        raise ConfirmationError(
            f"this plan changes {count} entries, more than max_changes={max_changes}: "
            f"confirm the count with confirm={count}"
        )


def _execute(
    runner: _Runner, changes: Iterable[Change], workers: int, progress: Any, total: int
) -> None:
    """Run every change on a pool; on Ctrl-C (or a bug) start nothing new, let requests
    in flight finish, then re-raise. (Leaving a ``with ThreadPoolExecutor`` block would
    run every queued entry first: a kernel interrupt once took 17 s to take effect.)"""
    from tqdm.auto import tqdm

    show = progress if progress is not None else total > 1
    bar = tqdm(total=total, unit="entry", desc="applying", disable=not show, leave=False)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fbtime-apply")

    def one(change: Change) -> None:
        runner.run(change)
        bar.update(1)

    try:
        for future in [pool.submit(one, change) for change in changes]:
            future.result()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            runner.halt(
                "interrupted",
                "interrupted (Ctrl-C): requests in flight finished, no new one was started",
            )
        else:
            runner.halt("error", f"stopped by an unexpected {type(exc).__name__}")
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        bar.close()


def _finish(
    runner: _Runner, journal: Journal, ids: list[int], done: dict[int, dict[str, Any]]
) -> ApplyResult:
    runner.client.invalidate_cache()
    rows = {**done, **runner.rows}
    missing = {
        "status": "not_attempted",
        "reason": runner.stop_reason or "",
        "http_status": None,
        "new_id": None,
    }
    frame = pd.DataFrame.from_dict(
        {i: rows.get(i, missing) for i in ids},
        orient="index",
        columns=["status", "reason", "http_status", "new_id"],
    )
    frame.index.name = "id"
    frame = frame.astype(
        {"status": "str", "reason": "str", "http_status": "Int64", "new_id": "Int64"}
    )
    counts = frame["status"].value_counts().to_dict()
    journal.write("end", counts={k: int(v) for k, v in counts.items()})
    return ApplyResult(journal.run_id, journal.path, frame, runner.stop_reason)


def _stopped_message(runner: _Runner, result: ApplyResult) -> str:
    path = str(result.journal_path)
    counts = result.counts
    then = {
        "auth": "Fix the credentials, then finish it",
        "unreachable": "When the API answers again, finish it",
    }.get(runner.stop_cause or "", "Finish it later")
    return for_terminal(
        f"{runner.stop_reason}; {counts['applied']} applied, {counts['not_attempted']} not "
        f"attempted. {then} with fbtime.resume({path!r}) or: fbtime resume {shlex.quote(path)}"
    )


def _run_all(
    runner: _Runner,
    journal: Journal,
    todo: list[Change],
    ids: list[int],
    workers: int,
    progress: bool | None,
    done: dict[int, dict[str, Any]] | None = None,
) -> ApplyResult:
    try:
        _execute(runner, todo, workers, progress, len(todo))
    except KeyboardInterrupt as exc:
        result = _finish(runner, journal, ids, done or {})
        message = _stopped_message(runner, result)
        raise ApplyInterrupted(message, journal_path=str(journal.path), result=result) from exc
    result = _finish(runner, journal, ids, done or {})
    if runner.stop_reason:
        message = _stopped_message(runner, result)
        raise PartialApplyError(message, journal_path=str(journal.path), result=result)
    return result


def _check_business(business_id: int | None, client: Client, what: str) -> None:
    if business_id is None:
        raise PlanError(f"the {what} does not record its business; it cannot be applied safely")
    if business_id != client.business_id:
        raise PlanError(
            f"the {what} is for business {business_id} but the client is connected to "
            f"business {client.business_id}; nothing was written"
        )


def apply_plan(
    plan: UpdatePlan,
    client: Client | None = None,
    *,
    confirm: bool | int = False,
    max_changes: int = DEFAULT_MAX_CHANGES,
    workers: int = 4,
    journal: str | Path | None = None,
    progress: bool | None = None,
    allow_stale: bool = False,
    max_age: Any = DEFAULT_MAX_AGE,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
) -> ApplyResult:
    """Apply ``plan`` to the server, journaling every write.

    Args:
        client: the connection (default ``fbtime.Client()``); must be the plan's business.
        confirm: ``True`` to go ahead; for plans over ``max_changes`` entries, the count.
        max_changes: plans larger than this need ``confirm=<count>``.
        workers: concurrent entries (requests share the client's pacing and retries).
        journal: directory for the journal file (default: the user data dir).
        progress: show a progress bar (default: when more than one entry).
        allow_stale: apply a plan older than ``max_age`` (default 24 h).
        cancel: set this event (from another thread) to stop: no new request starts,
            those in flight finish, and the run raises like any stop.
        on_progress: called as ``on_progress(done, total)`` after each entry.

    Returns:
        ApplyResult with one row per change: applied / already_applied / conflict / failed.

    Raises:
        ConfirmationError: no (or the wrong) confirmation, or a stale plan; nothing sent.
        PlanError: the plan fails its checks or is for another business; nothing sent.
        PartialApplyError: the run stopped early (auth error, unreachable API, cancel);
            ``.journal_path`` and ``.result`` say where, :func:`resume` finishes it.
        ApplyInterrupted: Ctrl-C, after the requests in flight finished (a
            ``KeyboardInterrupt`` with the same ``.journal_path`` and ``.result``).
    """
    _check_confirmation(plan, confirm, max_changes)
    plan = plan.checked()
    if plan.age() > max_age and not allow_stale:
        raise ConfirmationError(
            f"this plan was built {plan.age()} ago (at {plan.created_at}); entries may have "
            "changed since. Rebuild it, or pass allow_stale=True (--yes) to apply it anyway"
        )
    client = client or Client()
    _check_business(plan.business_id, client, "plan")
    log = Journal.create(
        journal,
        kind=plan.kind,
        business_id=client.business_id,
        header={"base_url": client.base_url, "plan": plan.to_dict()},
    )
    print(f"fbtime: journal {for_terminal(log.path)}")
    runner = _Runner(
        client, log, resuming=set(), cancel=cancel, on_progress=on_progress, total=len(plan)
    )
    return _run_all(runner, log, plan.changes, plan.ids, workers, progress)


def resume(
    journal: str | Path,
    client: Client | None = None,
    *,
    workers: int = 4,
    progress: bool | None = None,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
) -> ApplyResult:
    """Finish an interrupted or stopped apply without applying anything twice.

    Only the entries and fields of the journal's own plan are touched. Entries with a
    recorded outcome other than ``failed`` are left alone; entries whose write was begun
    but not recorded are checked on the server (applied already, still as planned, or
    changed by someone else); the rest are applied as usual. Stops like :func:`apply_plan`.

    Raises:
        PlanError: the journal fails its checks (naming the line) or is for another
            business; nothing sent.
    """
    state = read_journal(journal)
    if state.plan.kind == "undo":
        check_undo_source(state.plan)
    client = client or Client()
    _check_business(state.business_id, client, "journal")
    done = {
        i: {
            "status": o["status"],
            "reason": o.get("reason", ""),
            "http_status": o.get("http_status"),
            "new_id": o.get("new_id"),
        }
        for i, o in state.outcomes.items()
        if o["status"] != "failed"
    }
    todo = [c for c in state.plan.changes if c.id not in done]
    log = Journal.reopen(state)
    log.write("resume", pending=len(todo), in_doubt=state.in_doubt())
    runner = _Runner(
        client,
        log,
        resuming=set(state.intents),
        cancel=cancel,
        on_progress=on_progress,
        total=len(todo),
    )
    return _run_all(runner, log, todo, state.plan.ids, workers, progress, done)
