"""ipywidgets panels for notebooks: explore a time-entry frame, review a plan before applying.

:class:`Explorer` (``df.fbtime.explore()``) filters and groups a frame with a few controls
and shows the result as one table and one chart in a single ``Output``. The filtering is
the pure function :func:`explore_view` of ``(frame, ExplorerState)`` (in :mod:`.view`), so
it is tested without a browser. :class:`PlanReview` (``plan.review()``) lists a plan's
changes with a checkbox each, keeps live totals of what will change, and applies only the
ticked rows after asking to confirm the count.

Both panels replace ``Output.outputs`` in one update rather than clearing and printing,
so a refresh never flashes an empty panel, and they work outside a kernel (in tests).
"""

from fbtime.widgets.explorer import Explorer
from fbtime.widgets.review import PlanReview
from fbtime.widgets.view import GROUP_BYS, ExplorerState, ExplorerView, explore_view

__all__ = ["GROUP_BYS", "Explorer", "ExplorerState", "ExplorerView", "PlanReview", "explore_view"]
