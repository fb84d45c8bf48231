"""Apply a plan: confirmed, journaled, conflict-checked, concurrent; then resume and undo.

For each change: GET the entry as it is now; if it differs from the plan's ``before``
it is a conflict and is left alone; otherwise journal the intent, PUT the merged full
writable set (or DELETE, or POST for a re-created entry), check the answer, and journal
the outcome. One row's failure does not stop the others; an auth error stops them all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.api.fields import writable_payload
from fbtime.bulk.journal import Journal, read_journal
from fbtime.bulk.plan import DEFAULT_MAX_AGE, Change, UpdatePlan, snapshot
from fbtime.errors import (
    APIError,
    AuthError,
    ConfirmationError,
    FBTimeError,
    NotFoundError,
    PartialApplyError,
    PlanError,
    TransportError,
)

DEFAULT_MAX_CHANGES = 200
STATUSES = ("applied", "skipped", "conflict", "failed", "not_attempted")


@dataclass
class ApplyResult:
    """What an apply did, row by row (``rows``: id -> status, reason, http_status)."""

    run_id: str
    journal_path: Path
    rows: pd.DataFrame
    stopped: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        counts = self.rows["status"].value_counts()
        return {s: int(counts.get(s, 0)) for s in STATUSES}

    @property
    def ok(self) -> bool:
        """True when every planned row was applied (or found already applied)."""
        return self.stopped is None and set(self.rows["status"]) <= {"applied", "skipped"}

    def ids(self, status: str) -> list[int]:
        return sorted(self.rows.index[self.rows["status"] == status].tolist())

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        lines = [
            f"ApplyResult {self.run_id}: {counts or 'nothing to do'}",
            f"journal: {self.journal_path}",
        ]
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
        trouble = self.rows[self.rows["status"].isin(["conflict", "failed"])]
        if len(trouble):
            lines.append(trouble.head(20).to_string())
        return "\n".join(lines)


def _differences(expected: dict[str, Any], current: dict[str, Any]) -> list[str]:
    return [k for k, v in expected.items() if current.get(k) != v]


class _Runner:
    """Carries out changes against one client, writing the journal as it goes."""

    def __init__(self, client: Client, journal: Journal, *, resuming: set[int]) -> None:
        self.client = client
        self.journal = journal
        self.resuming = resuming
        self.stop = threading.Event()
        self.stop_reason: str | None = None
        self.rows: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def record(
        self,
        change: Change,
        status: str,
        reason: str = "",
        http_status: Any = None,
        result: dict[str, Any] | None = None,
        new_id: int | None = None,
    ) -> None:
        self.journal.write(
            "outcome",
            entry_id=change.id,
            action=change.action,
            status=status,
            reason=reason,
            http_status=http_status,
            before=change.before,
            after=change.after,
            result=result,
            new_id=new_id,
        )
        with self._lock:
            self.rows[change.id] = {
                "status": status,
                "reason": reason,
                "http_status": http_status,
                "new_id": new_id,
            }

    def run(self, change: Change) -> None:
        if self.stop.is_set():
            with self._lock:
                self.rows[change.id] = {
                    "status": "not_attempted",
                    "reason": self.stop_reason,
                    "http_status": None,
                    "new_id": None,
                }
            return
        try:
            self._run(change)
        except AuthError as exc:
            self.stop_reason = f"stopped by an auth error: {exc.message}"
            self.stop.set()
            self.record(change, "failed", self.stop_reason, exc.status)
        except APIError as exc:
            self.record(change, "failed", exc.message, exc.status)
        except FBTimeError as exc:
            self.record(change, "failed", str(exc))

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
        try:
            current = entries.get(change.id, refresh=True)
        except NotFoundError:
            if change.action == "delete" and change.id in self.resuming:
                self.record(change, "applied", "deleted (verified on resume)", 404)
            else:
                self.record(change, "conflict", "entry no longer exists", 404)
            return
        now = snapshot(current)
        target = {**change.before, **change.after}
        if change.action == "delete" and current.get("active") is False:
            status = "applied" if change.id in self.resuming else "conflict"
            self.record(change, status, "already deleted", 200)
            return
        changed = _differences(change.before, now)
        if changed:
            if change.id in self.resuming and not _differences(target, now):
                self.record(change, "applied", "already applied (verified on resume)", 200, now)
            else:
                self.record(
                    change,
                    "conflict",
                    f"changed on the server since the plan: {', '.join(changed)}",
                    200,
                )
            return
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
    from tqdm.auto import tqdm

    show = progress if progress is not None else total > 1
    with tqdm(total=total, unit="entry", desc="applying", disable=not show, leave=False) as bar:

        def one(change: Change) -> None:
            runner.run(change)
            bar.update(1)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, changes))


def _finish(runner: _Runner, journal: Journal, ids: list[int]) -> ApplyResult:
    runner.client.invalidate_cache()
    rows = pd.DataFrame.from_dict(
        {i: runner.rows[i] for i in ids if i in runner.rows},
        orient="index",
        columns=["status", "reason", "http_status", "new_id"],
    )
    rows.index.name = "id"
    rows = rows.astype(
        {"status": "str", "reason": "str", "http_status": "Int64", "new_id": "Int64"}
    )
    counts = rows["status"].value_counts().to_dict()
    journal.write("end", counts={k: int(v) for k, v in counts.items()})
    result = ApplyResult(journal.run_id, journal.path, rows, runner.stop_reason)
    if runner.stop_reason:
        error = PartialApplyError(
            f"{runner.stop_reason}; {counts.get('applied', 0)} applied before it. "
            f"Fix the credentials, then run fbtime.resume({str(journal.path)!r})",
            journal_path=str(journal.path),
        )
        error.result = result  # type: ignore[attr-defined]
        raise error
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

    Returns:
        ApplyResult with one row per change: applied / conflict / failed.

    Raises:
        ConfirmationError: no (or the wrong) confirmation, or a stale plan; nothing sent.
        PlanError: the plan is for another business; nothing sent.
        PartialApplyError: an auth error stopped the run (``.journal_path``, ``.result``).
    """
    _check_confirmation(plan, confirm, max_changes)
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
    print(f"fbtime: journal {log.path}")
    runner = _Runner(client, log, resuming=set())
    _execute(runner, plan.changes, workers, progress, len(plan.changes))
    return _finish(runner, log, plan.ids)


def resume(
    journal: str | Path,
    client: Client | None = None,
    *,
    workers: int = 4,
    progress: bool | None = None,
) -> ApplyResult:
    """Finish an interrupted apply without applying anything twice.

    Entries with a recorded outcome other than ``failed`` are left alone; entries whose
    write was begun but not recorded are checked on the server (applied already, still
    as planned, or changed by someone else); the rest are applied as usual.
    """
    state = read_journal(journal)
    client = client or Client()
    _check_business(state.business_id, client, "journal")
    plan = UpdatePlan.from_dict(state.plan, where=str(state.path))
    done = {i for i, o in state.outcomes.items() if o.get("status") != "failed"}
    todo = [c for c in plan.changes if c.id not in done]
    log = Journal.reopen(state)
    log.write("resume", pending=len(todo), in_doubt=state.in_doubt())
    runner = _Runner(client, log, resuming=set(state.intents))
    _execute(runner, todo, workers, progress, len(todo))
    for entry_id in done:
        outcome = state.outcomes[entry_id]
        runner.rows[entry_id] = {
            "status": outcome["status"],
            "reason": outcome.get("reason"),
            "http_status": outcome.get("http_status"),
            "new_id": outcome.get("new_id"),
        }
    return _finish(runner, log, plan.ids)


def undo(journal: str | Path) -> UpdatePlan:
    """Build a plan that restores what an apply changed (review it, then apply it).

    Updated entries get their ``before`` values back (conflict-checked against the state
    the apply left); deleted entries are re-created (the new id is journaled); entries
    re-created by an earlier undo are deleted again.
    """
    state = read_journal(journal)
    changes: list[Change] = []
    for outcome in state.applied():
        entry_id, action = int(outcome["entry_id"]), outcome["action"]
        before, after = outcome["before"], outcome["after"]
        if action == "update":
            left = outcome.get("result") or {**before, **after}
            changes.append(Change(entry_id, "update", left, {k: before[k] for k in after}))
        elif action == "delete":
            changes.append(Change(entry_id, "create", {}, before))
        elif action == "create" and outcome.get("new_id"):
            changes.append(
                Change(int(outcome["new_id"]), "delete", outcome.get("result") or after, {})
            )
    return UpdatePlan("undo", state.business_id, changes, [], source_journal=str(state.path))
