"""``plan.review()``: tick the rows to apply, watch the totals, confirm, apply."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from fbtime.errors import FBTimeError

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.apply import ApplyResult
    from fbtime.bulk.plan import UpdatePlan


def _fmt(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


class PlanReview(w.VBox):
    """Review a plan: untick rows, watch the totals, then apply only the ticked rows.

    Apply asks to confirm the count, shows progress in the panel and then the result
    (``.result``, an :class:`~fbtime.ApplyResult`). ``apply_kwargs`` go to
    :meth:`UpdatePlan.apply` (``journal=``, ``max_changes=``, ``workers=``...); the
    confirmation is the reviewer's click, so ``confirm`` is not accepted here.
    """

    def __init__(
        self, plan: UpdatePlan, client: Client | None = None, *, page_size: int = 25,
        **apply_kwargs: Any,
    ) -> None:  # fmt: skip
        if "confirm" in apply_kwargs:
            raise TypeError("PlanReview asks for confirmation itself; do not pass confirm=")
        self.plan = plan
        self.client = client
        self.apply_kwargs = apply_kwargs
        self.page_size = max(1, page_size)
        self.page = 0
        self.ticked: dict[int, bool] = {c.id: True for c in plan.changes}
        self.result: ApplyResult | None = None
        self.error: Exception | None = None
        self._syncing = False
        shown = min(self.page_size, len(plan.changes))
        self.checkboxes = [w.Checkbox(value=True, indent=False, layout=w.Layout(width="2em"))
                           for _ in range(shown)]  # fmt: skip
        self.labels = [w.HTML() for _ in range(shown)]
        for i, box in enumerate(self.checkboxes):
            box.observe(lambda change, i=i: self._ticked(i, change["new"]), names="value")
        self.all_button = w.Button(description="select all")
        self.none_button = w.Button(description="select none")
        self.prev_button = w.Button(description="◀", layout=w.Layout(width="3em"))
        self.next_button = w.Button(description="▶", layout=w.Layout(width="3em"))
        self.page_label = w.Label()
        self.totals = w.HTML()
        self.apply_button = w.Button(description="Apply…", button_style="warning")
        self.confirm_label = w.HTML()
        self.confirm_button = w.Button(description="Confirm", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self.confirm_box = w.HBox([self.confirm_label, self.confirm_button, self.cancel_button],
                                  layout=w.Layout(display="none"))  # fmt: skip
        self.progress = w.Output()
        self.result_html = w.HTML()
        self.all_button.on_click(lambda _: self.select_all(True))
        self.none_button.on_click(lambda _: self.select_all(False))
        self.prev_button.on_click(lambda _: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page + 1))
        self.apply_button.on_click(lambda _: self.ask())
        self.confirm_button.on_click(lambda _: self.apply())
        self.cancel_button.on_click(lambda _: self.cancel())
        rows = [w.HBox([box, label]) for box, label in zip(self.checkboxes, self.labels)]  # noqa: B905
        super().__init__(
            [
                w.HTML(f"<b>{html.escape(plan._summary_line())}</b>"),
                w.HBox(
                    [
                        self.all_button,
                        self.none_button,
                        self.prev_button,
                        self.page_label,
                        self.next_button,
                    ]
                ),
                w.VBox(rows),
                self.totals,
                self.apply_button,
                self.confirm_box,
                self.progress,
                self.result_html,
            ]
        )
        self.show_page(0)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.plan.changes) // self.page_size))

    def selected_ids(self) -> list[int]:
        """Ids of the ticked changes, in plan order."""
        return [c.id for c in self.plan.changes if self.ticked[c.id]]

    def selected_plan(self) -> UpdatePlan:
        """The plan with only the ticked rows (unticked ones become skipped)."""
        return self.plan.select(self.selected_ids())

    def show_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped) of the changes."""
        self.page = min(max(0, page), self.pages - 1)
        changes = self.plan.changes[self.page * self.page_size :][: self.page_size]
        self._syncing = True
        try:
            for i, (box, label) in enumerate(zip(self.checkboxes, self.labels)):  # noqa: B905
                if i < len(changes):
                    change = changes[i]
                    box.value, box.layout.visibility = self.ticked[change.id], "visible"
                    fields = ", ".join(
                        f"{f}: <del>{_fmt(change.before.get(f))}</del> → "
                        f"<ins>{_fmt(change.after[f])}</ins>"
                        for f in change.changed_fields()
                    )
                    hours = f"{change.hours:.2f} h" if change.hours is not None else "? h"
                    label.value = (
                        f"<code>{change.id}</code> {change.action} {fields or '(entry)'} · "
                        f"{hours} · client {_fmt(change.client_id)}"
                    )
                else:
                    box.layout.visibility, label.value = "hidden", ""
        finally:
            self._syncing = False
        self.page_label.value = f"page {self.page + 1} of {self.pages}"
        self._update_totals()

    def _ticked(self, index: int, value: bool) -> None:
        if self._syncing:
            return
        change = self.plan.changes[self.page * self.page_size + index]
        self.ticked[change.id] = bool(value)
        self._update_totals()

    def select_all(self, value: bool = True) -> None:
        """Tick (or untick) every row, on every page."""
        self.ticked = dict.fromkeys(self.ticked, value)
        self.show_page(self.page)

    def _update_totals(self) -> None:
        t = self.selected_plan().totals()
        left_out = len(self.plan.changes) - t["entries"]
        self.totals.value = (
            f"Will change <b>{t['entries']}</b> entries, <b>{t['hours']}</b> h, "
            f"<b>{t['clients']}</b> clients; {left_out} left out"
        )

    def ask(self) -> None:
        """First step of Apply: show "Apply N changes?" with Confirm and Cancel."""
        count = len(self.selected_ids())
        if not count:
            self.result_html.value = "Nothing is ticked: there is nothing to apply."
            return
        self.confirm_label.value = f"<b>Apply {count} changes?</b>"
        self.confirm_box.layout.display = "flex"
        self.apply_button.disabled = True

    def cancel(self) -> None:
        """Close the confirmation without applying anything."""
        self.confirm_box.layout.display = "none"
        self.apply_button.disabled = False

    def apply(self) -> ApplyResult | None:
        """Apply the ticked rows (the Confirm button); returns the result (also ``.result``)."""
        plan = self.selected_plan()
        self.confirm_box.layout.display = "none"
        for control in (*self.checkboxes, self.all_button, self.none_button):
            control.disabled = True
        self.result_html.value = f"Applying {len(plan)} changes…"
        try:
            with self.progress:  # in a kernel, the tqdm bar and journal line land here
                self.result = plan.apply(
                    self.client, confirm=len(plan), progress=True, **self.apply_kwargs
                )
        except FBTimeError as exc:
            self.error = exc
            self.apply_button.disabled = False
            self.result_html.value = f"<span style='color:#b00020'>{_fmt(exc)}</span>"
            return None
        counts = ", ".join(f"{n} {s}" for s, n in self.result.counts.items() if n)
        self.result_html.value = (
            f"<b>Done:</b> {counts or 'nothing to do'}; journal "
            f"<code>{_fmt(self.result.journal_path)}</code>"
        )
        return self.result
