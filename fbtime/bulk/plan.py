"""UpdatePlan: a read-only list of the changes a bulk operation would make, and what a
person does with it: review it (text table, HTML diff, widget), save and load it, apply it.

What a plan holds (changes with ``before``/``after``, skipped rows, the file format and
integrity hash) is :mod:`fbtime.bulk.change`; an undo plan is also checked against the
journal it undoes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

from fbtime.bulk.apply import apply_plan, writer
from fbtime.bulk.change import PlanData
from fbtime.bulk.journal import check_undo_source
from fbtime.bulk.replan import replan

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.result import ApplyResult


class UpdatePlan(PlanData):
    """Changes to make to time entries, reviewed before anything is written.

    What a plan holds is :class:`~fbtime.bulk.change.PlanData`'s (kind, business, changes,
    skipped, when it was built, the API it came from); this class adds what a person does
    with it: read it back checked (an undo plan against its journal too), apply it, review
    it in a notebook.
    """

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "plan") -> Self:
        """Check a saved plan's every part, and an undo plan against its journal; build it.

        Raises:
            PlanError: naming the change and field that is wrong.
        """
        plan = super().from_dict(data, where=where)
        if plan.kind == "undo":
            check_undo_source(plan)
        return plan

    def apply(self, client: Client | None = None, **kwargs: Any) -> ApplyResult:
        """Apply the plan; see :func:`fbtime.bulk.apply.apply_plan` for the options."""
        return apply_plan(self, client, **kwargs)

    def replan(self, result: ApplyResult, client: Client | None = None) -> UpdatePlan:
        """A plan for the entries of this plan that had a conflict or failed in ``result``,
        each against what the server holds now (:mod:`fbtime.bulk.replan`): review it and
        apply it as any plan. ``client`` defaults to the one the frame was loaded with.

        Raises:
            PlanError: ``result`` is not an apply of this plan, or the client is for another
                business or API.
            ConfigError: no client given and none known.
        """
        client = writer(client, self.api_url, self.business_id, self.connection, "plan")
        return replan(self, result, client)

    def review(self, client: Client | None = None, **kwargs: Any) -> Any:
        """An ipywidgets panel to untick rows, see totals and apply (in a notebook)."""
        from fbtime.widgets import PlanReview  # lazy: ipywidgets loads only in a notebook

        return PlanReview(self, client=client, **kwargs)
