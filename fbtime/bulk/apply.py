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
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.bulk.change import DEFAULT_MAX_AGE, Change, PlanData
from fbtime.bulk.journal import Journal, check_undo_source, read_state
from fbtime.bulk.result import STATUSES, ApplyResult
from fbtime.bulk.runner import MAX_TRANSPORT_FAILURES, Progress, Runner
from fbtime.config import origin
from fbtime.errors import (
    ApplyInterrupted,
    ConfirmationError,
    PartialApplyError,
    PlanError,
)
from fbtime.progress import progress_bar
from fbtime.text import for_terminal

__all__ = ["MAX_TRANSPORT_FAILURES", "STATUSES", "ApplyResult", "apply_plan", "resume"]

DEFAULT_MAX_CHANGES = 200


def _check_confirmation(plan: PlanData, confirm: bool | int, max_changes: int) -> None:
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
    runner: Runner, changes: Iterable[Change], workers: int, progress: Any, total: int
) -> None:
    """Run every change on a pool; on Ctrl-C (or a bug) start nothing new, let requests
    in flight finish, then re-raise. (Leaving a ``with ThreadPoolExecutor`` block would
    run every queued entry first: a kernel interrupt once took 17 s to take effect.)"""
    show = progress if progress is not None else total > 1
    bar = progress_bar(total=total, unit="entry", desc="applying", enabled=show)
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
    runner: Runner, journal: Journal, ids: list[int], done: dict[int, dict[str, Any]]
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


def _stopped_message(runner: Runner, result: ApplyResult) -> str:
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
    runner: Runner,
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
    plan: PlanData,
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
    if client is None:  # the frame's own client, else Client(): never another API
        client = connection_for(plan)
        _check_api(plan.api_url, client, "plan")
    _check_business(plan.business_id, client, "plan")
    log = Journal.create(
        journal,
        kind=plan.kind,
        business_id=client.business_id,
        header={"base_url": client.base_url, "plan": plan.to_dict()},
    )
    print(f"fbtime: journal {for_terminal(log.path)}")
    runner = Runner(
        client, log, resuming=set(), cancel=cancel, on_progress=on_progress, total=len(plan)
    )
    return _run_all(runner, log, plan.changes, plan.ids, workers, progress)


def connection_for(plan: PlanData) -> Client:
    """The client ``apply()`` uses when given none: the one the plan's frame was loaded
    with (same API and business), else ``fbtime.Client()`` as configured."""
    if plan.connection is not None:
        live = Client.for_connection(plan.connection)
        if live is not None:
            return live
    return Client()


def _check_api(api_url: str | None, client: Client, what: str) -> None:
    """Refuse to write, with a client the user did not choose, to another API than the one
    the plan's entries came from."""
    if api_url is not None and origin(api_url) != origin(client.base_url):
        raise PlanError(
            f"the {what} was built from entries of {for_terminal(api_url)}, but the client is "
            f"connected to {client.base_url}; nothing was written. Pass client=... to apply "
            "it there on purpose"
        )


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

    Example:
        >>> import threading
        >>> cancel = threading.Event()
        >>> cancel.set()  # as the review panel's Cancel button does
        >>> plan = df.fbtime.for_client(79115).fbtime.unbilled().fbtime.mark_billed()
        >>> try:
        ...     plan.apply(client, confirm=True, cancel=cancel)
        ... except fbtime.PartialApplyError as stopped:
        ...     journal = stopped.journal_path
        fbtime: journal .../fbtime/journals/...-mark_billed-....jsonl
        >>> fbtime.resume(journal, client).counts["applied"]
        10
    """
    state = read_state(journal)
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
    runner = Runner(
        client,
        log,
        resuming=set(state.intents),
        cancel=cancel,
        on_progress=on_progress,
        total=len(todo),
    )
    return _run_all(runner, log, todo, state.plan.ids, workers, progress, done)
