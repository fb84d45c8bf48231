"""Bulk changes: plan (read-only) -> review -> apply (confirmed, journaled) -> resume/undo.

``plan.py`` holds the plan and its file format, ``builders.py`` builds plans from a
frame, ``apply.py`` carries them out, ``journal.py`` records every write.
"""

from fbtime.bulk.apply import ApplyResult, apply_plan, resume, undo
from fbtime.bulk.builders import plan_delete, plan_mark_billed, plan_mark_unbilled, plan_update
from fbtime.bulk.journal import read_journal
from fbtime.bulk.plan import Change, UpdatePlan

__all__ = [
    "ApplyResult",
    "Change",
    "UpdatePlan",
    "apply_plan",
    "plan_delete",
    "plan_mark_billed",
    "plan_mark_unbilled",
    "plan_update",
    "read_journal",
    "resume",
    "undo",
]
