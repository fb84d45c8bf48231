"""Undo: a plan that restores what a journaled apply changed, and nothing else.

An undo plan may write only what the journal it undoes recorded as applied: the entries
its plan changed, the fields its plan changed, back to the values they had before (and
deleted entries re-created as they were, re-created ones deleted again).
:func:`fbtime.bulk.journal.check_undo_source` holds every undo plan to that whenever one
is loaded, saved, applied or resumed, so an edited undo plan cannot become an arbitrary
write.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fbtime.bulk.apply import written_by
from fbtime.bulk.change import Change
from fbtime.bulk.journal import read_state
from fbtime.bulk.plan import UpdatePlan


def undo(journal: str | Path) -> UpdatePlan:
    """Build a plan that restores what an apply changed (review it, then apply it).

    Updated entries get their ``before`` values back (conflict-checked against the state
    the apply left); deleted entries are re-created (the new id is journaled); entries
    re-created by an earlier undo are deleted again. Each change keeps the hours, client
    and review context of the change it undoes, so the totals say what is restored.

    Raises:
        PlanError: the journal is missing or fails its checks (naming the line).

    Example:
        >>> plan = df.fbtime.for_client(79050).fbtime.unbilled().fbtime.mark_billed()
        >>> done = plan.apply(client, confirm=True)
        >>> restore = fbtime.undo(done.journal_path)  # a plan like any other: nothing sent
        >>> restore.kind, len(restore)
        ('undo', 24)
        >>> restore.apply(client, confirm=True).counts["applied"]
        24
    """
    state = read_state(journal)
    changes: list[Change] = []
    skipped: list[dict[str, Any]] = []
    for planned in state.plan.changes:
        outcome = state.outcomes.get(planned.id)
        status = outcome["status"] if outcome else "no outcome"
        if status != "applied":
            skipped.append({"id": planned.id, "reason": f"not changed by the apply ({status})"})
            continue
        assert outcome is not None
        keep: dict[str, Any] = {
            "hours": planned.hours,
            "client_id": planned.client_id,
            "context": dict(planned.context),
        }
        left = outcome.get("result") or {}
        if planned.action == "update":
            restore = {k: planned.before[k] for k in planned.after}
            now = {**planned.before, **planned.after, **left}
            changes.append(Change(planned.id, "update", now, restore, **keep))
        elif planned.action == "delete":
            changes.append(Change(planned.id, "create", {}, dict(planned.before), **keep))
        elif planned.action == "create" and outcome.get("new_id"):
            made = {**planned.after, **left}
            changes.append(Change(int(outcome["new_id"]), "delete", made, {}, **keep))
    return UpdatePlan(
        "undo",
        state.business_id,
        changes,
        skipped,
        source_journal=os.path.abspath(state.path),
        api_url=state.header.get("base_url"),
        connection=written_by(state.path),
    )
