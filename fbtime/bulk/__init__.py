"""Bulk changes: plan (read-only) -> review -> apply (confirmed, journaled) -> resume/undo.

``plan.py`` holds the plan and its file format, ``checks.py`` what a saved plan may hold,
``builders.py`` builds plans from a frame, ``apply.py`` carries them out (``runner.py``
one change at a time, ``result.py`` what it did), ``journal.py`` records every write,
``undo.py`` plans restoring them, ``views.py`` shows plans and results, ``commands.py``
is the CLI.
"""

from fbtime.bulk.apply import apply_plan, resume
from fbtime.bulk.builders import plan_delete, plan_mark_billed, plan_mark_unbilled, plan_update
from fbtime.bulk.journal_frame import read_journal
from fbtime.bulk.plan import Change, UpdatePlan
from fbtime.bulk.result import ApplyResult
from fbtime.bulk.undo import undo

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
