"""Bulk changes: plan (read-only) -> review -> apply (confirmed, journaled) -> resume/undo.

``change.py`` holds what a plan is (its changes, file format and hash; frozen once made),
``checks.py`` what a saved plan may hold, ``plan.py`` what a person does with a plan,
``builders.py`` builds plans from a frame on its columns, ``apply.py`` carries them out
and resumes them (``runner.py`` one change at a time, ``once.py`` creates exactly once,
``result.py`` what it did), ``journal.py`` records every write (``journal_frame.py``
reads it back as a frame), ``undo.py`` plans restoring them and ``views.py`` shows plans
and results. The CLI commands are in :mod:`fbtime.cli.bulk`, the review panel in
:mod:`fbtime.widgets.review`.
"""

from fbtime.bulk.apply import apply_plan, resume
from fbtime.bulk.builders import plan_delete, plan_mark_billed, plan_mark_unbilled, plan_update
from fbtime.bulk.change import Change
from fbtime.bulk.journal_frame import read_journal
from fbtime.bulk.plan import UpdatePlan
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
