"""Apply a plan: confirmed, journaled, conflict-checked, concurrent, stoppable; and resume.

For each change: GET the entry as it is now. If it already holds the plan's target values
it is ``already_applied`` and nothing is written; if it differs from the plan's
``before`` it is a conflict and is left alone; otherwise journal the intent, PUT the
merged full writable set (or DELETE, or POST for a re-created entry), check the answer,
and journal the outcome. One row's failure does not stop the others.

A run stops early, journals why (a ``stop`` line) and leaves the rest ``not_attempted``
for :func:`resume` on an auth error, when the API is unreachable
(:data:`MAX_TRANSPORT_FAILURES`), when ``cancel`` is set, and on Ctrl-C. In every case
no new request starts and the journal is closed (its ``end`` line) only once the requests
in flight have finished, even when Ctrl-C is pressed again.

Run twice, a plan still writes once: a journal is locked for its run (a second resume,
or a second undo of the same journal, gets :class:`~fbtime.JournalLockedError`), a plan
is applied once per process (:class:`~fbtime.AlreadyAppliedError`), and a create looks
for its entry before posting (:mod:`fbtime.bulk.once`). Whatever shows a plan (its review
panels) can :func:`follow` it, to hear when it is applied, by code or by another panel.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime.api.client import Client
from fbtime.bulk.change import DEFAULT_MAX_AGE, Change, PlanData
from fbtime.bulk.journal import (
    Journal,
    JournalLock,
    check_undo_source,
    deferred_interrupts,
    lock,
    read_state,
)
from fbtime.bulk.result import STATUSES, ApplyResult
from fbtime.bulk.runner import MAX_TRANSPORT_FAILURES, Progress, Runner
from fbtime.config import origin
from fbtime.errors import (
    AlreadyAppliedError,
    ApplyInterrupted,
    ConfigError,
    ConfirmationError,
    PartialApplyError,
    PlanError,
)
from fbtime.progress import progress_bar
from fbtime.text import for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoicePlanData

__all__ = ["MAX_TRANSPORT_FAILURES", "STATUSES", "ApplyResult", "apply_plan", "resume"]

DEFAULT_MAX_CHANGES = 200
#: Plans whose creates span one stretch of time (an import): one listing of that span
#: answers the look before each POST. An undo's re-creates may span years, so each of
#: them is looked for on its own.
LOOK_AHEAD_KINDS = ("import", "create")
logger = logging.getLogger("fbtime.bulk")


def check_confirmation(
    count: int, confirm: bool | int, max_changes: int, changes: str | None = None
) -> None:
    """Refuse an apply without ``confirm``, or over ``max_changes`` entries without
    ``confirm=<count>``; ``changes`` says what it does ("changes 12 entries").

    Raises:
        ConfirmationError: saying which confirmation is needed.
    """
    changes = changes or f"changes {count} entries"
    if confirm is False or confirm is None:
        raise ConfirmationError(
            f"apply {changes} on the server: pass confirm=True to go ahead"
            + (
                f" (or confirm={count}, since it is over max_changes={max_changes})"
                if count > max_changes
                else ""
            )
        )
    if count > max_changes and (confirm is True or confirm != count):
        raise ConfirmationError(
            f"this plan {changes}, more than max_changes={max_changes}: "
            f"confirm the count with confirm={count}"
        )


def _wait_for(futures: list[Future[None]]) -> bool:
    """Wait for the requests in flight; False if Ctrl-C is pressed again meanwhile."""
    try:
        wait(futures)
    except KeyboardInterrupt:
        return False
    return True


def _run_all(
    runner: Runner,
    journal: Journal,
    todo: Sequence[Change],
    ids: list[int],
    workers: int,
    progress: bool | None,
    done: dict[int, dict[str, Any]] | None = None,
    locks: Sequence[JournalLock] = (),
) -> ApplyResult:
    """Run every change on a pool and close the journal (``end``) once nothing is in flight.

    On Ctrl-C (or a bug) nothing new starts and the requests in flight are waited for
    (leaving a ``with ThreadPoolExecutor`` block would run every queued entry first: a
    kernel interrupt once took 17 s to take effect). Ctrl-C pressed again stops the
    waiting: the requests in flight then finish in the background, and the journal is
    closed (and unlocked) after the last of them, never before.
    """
    done = done or {}
    show = progress if progress is not None else len(todo) > 1
    bar = progress_bar(total=len(todo), unit="entry", desc="applying", enabled=show)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fbtime-apply")
    futures: list[Future[None]] = []

    def one(change: Change) -> None:
        runner.run(change)
        bar.update(1)

    try:
        for change in todo:
            futures.append(pool.submit(one, change))
        for future in futures:
            future.result()
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        with deferred_interrupts(
            deliver=False
        ) as pressed:  # a second Ctrl-C: only once this is done
            if interrupted:
                runner.halt("interrupted", "interrupted (Ctrl-C): no new request was started")
            else:
                runner.halt("error", f"stopped by an unexpected {type(exc).__name__}")
            pool.shutdown(wait=False, cancel_futures=True)
            in_flight = [f for f in futures if not f.done()]
        if pressed or not _wait_for(in_flight):
            with deferred_interrupts(deliver=False):
                bar.close()
                threading.Thread(  # not a daemon: a process exiting waits for it
                    target=lambda: (wait(in_flight), _finish(runner, journal, ids, done, locks)),
                    name="fbtime-apply-close",
                ).start()
                result = _result(runner, journal, ids, done)
                message = _stopped_message(runner, result, journal)
            raise ApplyInterrupted(message, journal_path=str(journal.path), result=result) from exc
        with deferred_interrupts(deliver=False):
            bar.close()
            result = _finish(runner, journal, ids, done, locks)
        if interrupted:
            message = _stopped_message(runner, result, journal, waited=len(in_flight))
            raise ApplyInterrupted(message, journal_path=str(journal.path), result=result) from exc
        raise
    bar.close()
    pool.shutdown(wait=True)
    result = _finish(runner, journal, ids, done, locks)
    if runner.stop_reason:
        message = _stopped_message(runner, result, journal)
        raise PartialApplyError(message, journal_path=str(journal.path), result=result)
    return result


def _result(
    runner: Runner, journal: Journal, ids: list[int], done: dict[int, dict[str, Any]]
) -> ApplyResult:
    """Each planned entry's row as known now (``in_flight`` while its request runs)."""
    with runner.lock:
        rows = {**done, **runner.rows}
        in_flight = runner.started - set(runner.rows)
    gone = {
        "status": "in_flight",
        "reason": "its request was still in flight when the run "
        "stopped waiting; the journal records its outcome",
        "http_status": None,
        "new_id": None,
    }
    missing = {
        "status": "not_attempted",
        "reason": runner.stop_reason or "",
        "http_status": None,
        "new_id": None,
    }
    frame = pd.DataFrame.from_dict(
        {i: rows.get(i, gone if i in in_flight else missing) for i in ids},
        orient="index",
        columns=["status", "reason", "http_status", "new_id"],
    )
    frame.index.name = "id"
    frame = frame.astype(
        {"status": "str", "reason": "str", "http_status": "Int64", "new_id": "Int64"}
    )
    return ApplyResult(journal.run_id, journal.path, frame, runner.stop_reason)


def _finish(
    runner: Runner,
    journal: Journal,
    ids: list[int],
    done: dict[int, dict[str, Any]],
    locks: Sequence[JournalLock],
) -> ApplyResult:
    """Close the run once nothing is in flight: the ``end`` line, then release the locks."""
    try:
        runner.client.invalidate_cache()
        result = _result(runner, journal, ids, done)
        counts = result.rows["status"].value_counts().to_dict()
        journal.write("end", counts={k: int(v) for k, v in counts.items()})
        return result
    finally:
        for held in reversed(locks):
            held.release()


def _stopped_message(runner: Runner, result: ApplyResult, journal: Journal, waited: int = 0) -> str:
    path = str(journal.path)
    counts = result.counts
    then = {
        "auth": "Fix the credentials, then finish it",
        "unreachable": "When the API answers again, finish it",
    }.get(runner.stop_cause or "", "Finish it later")
    flight = ""
    if waited:
        flight = f" and the {waited} in flight finished"
    if counts["in_flight"]:
        flight = (
            f"; Ctrl-C again: {counts['in_flight']} requests still in flight finish in the "
            "background, and the journal is closed after them"
        )
    return for_terminal(
        f"{runner.stop_reason}{flight}; {counts['applied']} applied, {counts['not_attempted']} "
        f"not attempted. {then} with fbtime.resume({path!r}, client) or: fbtime resume "
        f"{shlex.quote(path)}"
    )


#: Every plan applied in this process (its hash -> its journal; None while it starts), so
#: the same plan is never applied twice: a double-click, a cell run again.
_APPLIED: dict[str, Path | None] = {}
#: Which client wrote each journal of this process (journal -> connection id), so resume
#: and undo of that journal use it when given none.
_WRITERS: dict[str, str] = {}
_APPLIED_LOCK = threading.Lock()


def claim(plan: PlanData | InvoicePlanData) -> str:
    """Record that ``plan`` (an update or an invoice plan) is being applied; refuse a plan
    applied before in this process. Then :func:`release` it or :func:`record` its journal."""
    key = plan.sha256
    with _APPLIED_LOCK:
        if key not in _APPLIED:
            _APPLIED[key] = None
            return key
        journal = _APPLIED[key]
    where = f"its journal: {journal}" if journal else "it is being applied right now"
    raise AlreadyAppliedError(
        for_terminal(
            f"this plan (sha256 {key[:12]}…) was already applied in this process ({where}); "
            "nothing was sent. To finish a stopped apply, resume its journal "
            f"(fbtime.resume({str(journal)!r}, client)); to apply again, build a new plan"
        ),
        journal_path=str(journal or ""),
    )


def release(key: str) -> None:
    """Forget a claim whose apply sent nothing (its journal could not be made)."""
    with _APPLIED_LOCK:
        _APPLIED.pop(key, None)


def record(key: str, journal: Path, connection_id: str) -> None:
    """Note the journal of a claimed plan, and which client writes it (for resume)."""
    with _APPLIED_LOCK:
        _APPLIED[key] = journal
        _WRITERS[_key(journal)] = connection_id


@dataclass(frozen=True)
class Applying:
    """What a plan's followers hear: its apply began (no ``result`` and no ``error`` yet),
    or it ended with ``result`` (and ``error`` when it stopped early or broke)."""

    plan: PlanData
    journal: Path
    result: ApplyResult | None = None
    error: BaseException | None = None


Follower = Callable[[Applying], None]
#: Who follows each plan (its hash -> weak references to callbacks), e.g. its review
#: panels, so a panel shows an apply made in code and never offers one that must fail.
_FOLLOWERS: dict[str, list[weakref.ref[Any]]] = {}
#: The latest news of each plan applied in this process, for followers that come later.
_NEWS: dict[str, Applying] = {}


def _weak(callback: Follower) -> weakref.ref[Any]:
    """A bound method is held through its object (a reference to it alone dies at once)."""
    if hasattr(callback, "__self__"):
        return weakref.WeakMethod(callback)
    return weakref.ref(callback)


def follow(key: str, callback: Follower) -> Applying | None:
    """Call ``callback(news)`` when the plan of hash ``key`` is applied in this process (as
    the apply begins, then as it ends), holding it weakly: a follower that is dropped is
    forgotten. Returns the latest news of that plan if it was applied already."""
    with _APPLIED_LOCK:
        refs = _FOLLOWERS.setdefault(key, [])
        if not any(ref() == callback for ref in refs):
            refs.append(_weak(callback))
        return _NEWS.get(key)


def unfollow(key: str, callback: Follower) -> None:
    """Stop calling ``callback`` for the plan of hash ``key``."""
    with _APPLIED_LOCK:
        refs = [r for r in _FOLLOWERS.get(key, []) if r() is not None and r() != callback]
        if refs:
            _FOLLOWERS[key] = refs
        else:
            _FOLLOWERS.pop(key, None)


def _tell(key: str, news: Applying) -> None:
    """Give ``news`` to the followers of ``key``; a follower's error never stops an apply."""
    with _APPLIED_LOCK:
        _NEWS[key] = news
        refs = [r for r in _FOLLOWERS.get(key, []) if r() is not None]
        if refs:
            _FOLLOWERS[key] = refs
        else:
            _FOLLOWERS.pop(key, None)
    for ref in refs:
        callback = ref()
        if callback is None:
            continue
        try:
            callback(news)
        except Exception:
            logger.exception("a follower of plan %s failed", key[:12])


def _key(path: str | Path) -> str:
    return os.path.abspath(path)


def written_by(journal: str | Path) -> str | None:
    """The connection id of the client that wrote ``journal`` in this process, if any."""
    return _WRITERS.get(_key(journal))


def _hold_source(plan: PlanData) -> tuple[list[JournalLock], dict[int, str]]:
    """For an undo plan: lock the journal it undoes (one undo of it at a time), check the
    plan against it again, and say when each entry to re-create was deleted."""
    if plan.kind != "undo" or plan.source_journal is None:
        return [], {}
    held = lock(plan.source_journal)
    try:
        source = check_undo_source(plan)
    except BaseException:
        held.release()
        raise
    since = {i: str(r["at"]) for i, r in source.intents.items()}
    return [held], since


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
        client: the connection (default: the client the plan's entries were loaded with,
            if it is still open, else ``fbtime.Client()``); must be the plan's business.
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
        The journal's path is logged (logger ``fbtime.bulk``, INFO) when it is created.

    Raises:
        ConfirmationError: no (or the wrong) confirmation, or a stale plan; nothing sent.
        PlanError: the plan fails its checks or is for another business; nothing sent.
        AlreadyAppliedError: this plan was applied before in this process; nothing sent.
        JournalLockedError: (undo) another run is undoing the same journal; nothing sent.
        PartialApplyError: the run stopped early (auth error, unreachable API, cancel);
            ``.journal_path`` and ``.result`` say where, :func:`resume` finishes it.
        ApplyInterrupted: Ctrl-C, once the requests in flight finished (pressed again: at
            once; they finish in the background). A ``KeyboardInterrupt`` with the same
            ``.journal_path`` and ``.result``.
    """
    check_confirmation(len(plan.changes), confirm, max_changes)
    plan = plan.checked()
    if plan.age() > max_age and not allow_stale:
        raise ConfirmationError(
            f"this plan was built {plan.age()} ago (at {plan.created_at}); entries may have "
            "changed since. Rebuild it, or pass allow_stale=True (--yes) to apply it anyway"
        )
    client = writer(client, plan.api_url, plan.business_id, plan.connection, "plan")
    key = claim(plan)
    locks: list[JournalLock] = []
    try:
        locks, since = _hold_source(plan)
        log = Journal.create(
            journal,
            kind=plan.kind,
            business_id=client.business_id,
            header={"base_url": client.base_url, "plan": plan.to_dict()},
        )
        locks.append(lock(log.path))
    except BaseException:
        for held in locks:
            held.release()
        release(key)
        raise
    record(key, log.path, client.connection_id)
    logger.info("journal %s", for_terminal(log.path))
    runner = Runner(
        client,
        log,
        resuming=set(),
        cancel=cancel,
        on_progress=on_progress,
        total=len(plan),
        since=since,
        look_ahead=plan.changes if plan.kind in LOOK_AHEAD_KINDS else (),
    )
    _tell(key, Applying(plan, log.path))
    try:
        result = _run_all(runner, log, plan.changes, plan.ids, workers, progress, locks=locks)
    except (PartialApplyError, ApplyInterrupted) as exc:
        _tell(key, Applying(plan, log.path, exc.result, exc))
        raise
    except BaseException as exc:
        _tell(key, Applying(plan, log.path, None, exc))
        raise
    _tell(key, Applying(plan, log.path, result))
    return result


def writer(
    client: Client | None,
    api_url: str | None,
    business_id: int | None,
    connection: str | None,
    what: str,
) -> Client:
    """The client that writes a plan or journal: ``client``, else the one its entries were
    loaded with (or the journal written with) while it is open in this process, else
    ``fbtime.Client()`` as configured, for the same API only; always its own business.

    Raises:
        ConfigError: no client, and no login configured (saying which is missing).
        PlanError: another business, or (a client not chosen) another API; nothing sent.
    """
    if client is None and connection is not None:
        client = Client.for_connection(connection)
    if client is None:
        try:
            client = Client()
        except ConfigError as exc:
            why = (
                "the client its entries were loaded with is closed (or was garbage-collected)"
                if connection is not None
                else "it was not made with a client of this process"
            )
            raise ConfigError(
                f"the {what} has no client to write with: {why}, and fbtime.Client() found no "
                f"login to use instead ({exc}). Pass the client, e.g. .apply(client, ...)"
            ) from None
        if api_url is not None and origin(api_url) != origin(client.base_url):
            raise PlanError(
                f"the {what} was built from entries of {for_terminal(api_url)}, but the client "
                f"is connected to {client.base_url}; nothing was written. Pass client=... to "
                "apply it there on purpose"
            )
    if business_id is None:
        raise PlanError(f"the {what} does not record its business; it cannot be applied safely")
    if business_id != client.business_id:
        raise PlanError(
            f"the {what} is for business {business_id} but the client is connected to "
            f"business {client.business_id}; nothing was written"
        )
    return client


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
    With no ``client``: the one that wrote the journal, if open in this process, else
    ``fbtime.Client()``, which must be for the journal's API and business.

    Raises:
        PlanError: the journal fails its checks (naming the line) or is for another
            business or API; nothing sent.
        JournalLockedError: another apply, resume or undo is using the journal.

    Example:
        >>> import threading
        >>> cancel = threading.Event()
        >>> cancel.set()  # as the review panel's Cancel button does
        >>> plan = df.fbtime.for_client(79115).fbtime.unbilled().fbtime.mark_billed()
        >>> try:
        ...     plan.apply(client, confirm=True, cancel=cancel)
        ... except fbtime.PartialApplyError as stopped:
        ...     journal = stopped.journal_path
        >>> fbtime.resume(journal, client).counts["applied"]  # one is dated after today
        9
    """
    locks = [lock(journal)]  # before reading: another run may be appending to it
    try:
        state = read_state(journal)
        more, since = _hold_source(state.plan)
        locks += more
        api_url, connection = state.header.get("base_url"), written_by(journal)
        client = writer(client, api_url, state.business_id, connection, "journal")
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
    except BaseException:
        for held in reversed(locks):
            held.release()
        raise
    created = {o["new_id"] for o in state.outcomes.values() if o.get("new_id")}
    runner = Runner(
        client,
        log,
        resuming=set(state.intents),
        cancel=cancel,
        on_progress=on_progress,
        total=len(todo),
        since=since,
        created=created,
        look_ahead=todo if state.plan.kind in LOOK_AHEAD_KINDS else (),
    )
    return _run_all(runner, log, todo, state.plan.ids, workers, progress, done, locks)
