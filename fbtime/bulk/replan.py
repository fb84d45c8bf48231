"""Plan again the entries an apply left alone: a conflict or a failure, as they are now.

A conflict means the entry changed on the server after the plan was made; writing the
plan's values over it blind would lose that change. Planning again reads each such entry
now (one GET each), takes what the server holds as the new ``before`` and keeps the plan's
``after``, so the reviewer sees the change against today's values and confirms it again.
Entries gone or deleted since, and entries that already hold the target, are skipped with
the reason. A create is never planned again: a lost answer is found again by
:func:`fbtime.resume`, never re-sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fbtime.bulk.change import Change, Fields, snapshot
from fbtime.errors import NotFoundError, PlanError

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.plan import UpdatePlan
    from fbtime.bulk.result import ApplyResult

#: The statuses planned again.
AGAIN = ("conflict", "failed")
GONE = "no longer on the server"
DELETED = "deleted on the server since"
CREATE = "a create is not planned again: fbtime.resume finds it without sending it twice"
DONE = "the server already holds it"


def replan(plan: UpdatePlan, result: ApplyResult, client: Client) -> UpdatePlan:
    """A plan of ``plan``'s changes whose entries had a conflict or failed in ``result``,
    each against the entry as the server holds it now (read fresh, never from a cache).

    Raises:
        PlanError: ``result`` is not an apply of ``plan`` (an id it does not hold).
    """
    by_id = {c.id: c for c in plan.changes}
    ids = sorted(int(i) for i in result.rows.index[result.rows["status"].isin(AGAIN)])
    strangers = [i for i in ids if i not in by_id]
    if strangers:
        raise PlanError(f"entry {strangers[0]} is not in this plan: replan with the plan applied")
    changes: list[Change] = []
    skipped: list[dict[str, object]] = []
    for entry_id in ids:
        change = by_id[entry_id]
        if change.action == "create":
            skipped.append({"id": entry_id, "reason": CREATE})
            continue
        try:
            current = client.time_entries.get(entry_id)  # always fresh
        except NotFoundError:
            skipped.append({"id": entry_id, "reason": GONE})
            continue
        if current.get("active") is False:
            skipped.append({"id": entry_id, "reason": DELETED})
            continue
        now = snapshot(current)
        before = {k: now.get(k) for k in change.before} if change.before else now
        if change.action == "update" and all(now.get(k) == v for k, v in change.after.items()):
            skipped.append({"id": entry_id, "reason": DONE})
            continue
        context = change.context
        if context and "note" in context:  # the note a reviewer reads: the server's now
            context = Fields({**context, "note": current.get("note")})
        duration = current.get("duration")
        hours = duration / 3600 if isinstance(duration, int | float) else change.hours
        changes.append(
            Change(
                entry_id,
                change.action,
                Fields(before),
                change.after,
                hours,
                change.client_id,
                context,
            )
        )
    again = type(plan)(
        plan.kind,
        plan.business_id,
        changes,
        skipped,
        source_journal=plan.source_journal,
        api_url=plan.api_url,
        connection=plan.connection,
    )
    return again.checked()
