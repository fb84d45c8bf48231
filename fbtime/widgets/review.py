"""``plan.review()``: tick the rows to apply, watch the totals, confirm, apply, cancel.

Every value and field name shown comes from the account (notes, names) or the plan file,
so each goes through :func:`fbtime.text.for_html`. In a notebook the apply runs in a
background thread, so the kernel stays free to hear the Cancel button; Cancel stops the
run within one request (those in flight finish, none starts) and the journal says where
it stopped, for :func:`fbtime.resume`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from fbtime.bulk.views import hash_line
from fbtime.errors import FBTimeError, PartialApplyError
from fbtime.text import for_html

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.change import Change
    from fbtime.bulk.plan import UpdatePlan
    from fbtime.bulk.result import ApplyResult

_ERROR = "<span style='color:#b00020'>{}</span>"


def _fmt(value: Any) -> str:
    return for_html("—" if value is None else value)


def _in_kernel() -> bool:
    """True inside a Jupyter kernel, where a button's callback blocks the kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets depends on IPython
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def change_label(change: Change) -> str:
    """One row of the panel: the fields changed, then what the entry is, all escaped."""
    fields = ", ".join(
        f"{for_html(f)}: <del>{_fmt(change.before.get(f))}</del> → "
        f"<ins>{_fmt(change.after[f])}</ins>"
        for f in change.changed_fields()
    )
    if change.action == "create":  # a new entry: when it starts; the context names the rest
        start = change.after.get("local_started_at") or change.after.get("started_at")
        fields = f"starting {_fmt(start)}"
    hours = f"{change.hours:.2f} h" if change.hours is not None else "? h"
    context = change.context or {}
    where = " / ".join(_fmt(context.get(k)) for k in ("client", "project"))
    if not context:
        where = f"client {_fmt(change.client_id)}"
    parts = [
        f"<code>{change.id}</code> {for_html(change.action)} {fields or '(entry)'}",
        hours,
        *(_fmt(context[k]) for k in ("date", "teammate") if context.get(k)),
        where,
        *(_fmt(context[k]) for k in ("amount",) if context.get(k)),
    ]
    if context.get("note"):
        parts.append(f"<i>{_fmt(context['note'])}</i>")
    return " · ".join(parts)


class PlanReview(w.VBox):
    """Review a plan: untick rows, watch the totals, then apply only the ticked rows.

    Apply asks to confirm the count, then applies (``.result``, an
    :class:`~fbtime.ApplyResult`). ``apply_kwargs`` go to :meth:`UpdatePlan.apply`
    (``journal=``, ``max_changes=``, ``workers=``...); the confirmation is the reviewer's
    click, so ``confirm`` is not accepted here.

    Args:
        background: run the apply in a thread with a Cancel button (default: inside a
            Jupyter kernel). Without it, Confirm applies before returning (scripts, tests);
            :meth:`apply` is always synchronous.
    """

    def __init__(
        self,
        plan: UpdatePlan,
        client: Client | None = None,
        *,
        page_size: int = 25,
        background: bool | None = None,
        **apply_kwargs: Any,
    ) -> None:
        if "confirm" in apply_kwargs:
            raise TypeError("PlanReview asks for confirmation itself; do not pass confirm=")
        if "cancel" in apply_kwargs:
            raise TypeError("PlanReview has its own Cancel button; do not pass cancel=")
        self.plan = plan
        self.client = client
        self.apply_kwargs = apply_kwargs
        self.background = _in_kernel() if background is None else background
        self.page_size = max(1, page_size)
        self.page = 0
        self.ticked: dict[int, bool] = {c.id: True for c in plan.changes}
        self.result: ApplyResult | None = None
        self.error: Exception | None = None
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self._syncing = False
        self._clicks = threading.Lock()
        shown = min(self.page_size, len(plan.changes))
        self.checkboxes = [
            w.Checkbox(value=True, indent=False, layout=w.Layout(width="2em")) for _ in range(shown)
        ]
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
        self.confirm_box = w.HBox(
            [self.confirm_label, self.confirm_button, self.cancel_button],
            layout=w.Layout(display="none"),
        )
        self.bar = w.IntProgress(min=0, max=1, layout=w.Layout(display="none"))
        self.stop_button = w.Button(
            description="Cancel",
            button_style="danger",
            tooltip="stop after the requests in flight",
            layout=w.Layout(display="none"),
        )
        self.progress = w.Output()
        self.result_html = w.HTML()
        self.all_button.on_click(lambda _: self.select_all(True))
        self.none_button.on_click(lambda _: self.select_all(False))
        self.prev_button.on_click(lambda _: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page + 1))
        self.apply_button.on_click(lambda _: self.ask())
        self.confirm_button.on_click(lambda _: self._confirmed())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.stop_button.on_click(lambda _: self.cancel_apply())
        rows = [w.HBox([box, label]) for box, label in zip(self.checkboxes, self.labels)]  # noqa: B905
        super().__init__(
            [
                w.HTML(f"<b>{for_html(plan._summary_line())}</b>"),
                w.HTML(f"<code>{for_html(hash_line(plan))}</code>"),
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
                w.HBox([self.bar, self.stop_button]),
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
                    box.value, box.layout.visibility = self.ticked[changes[i].id], "visible"
                    label.value = change_label(changes[i])
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
        self.confirm_button.disabled = False
        self.apply_button.disabled = True

    def cancel(self) -> None:
        """Close the confirmation without applying anything."""
        self.confirm_box.layout.display = "none"
        self.apply_button.disabled = False

    def _confirmed(self) -> None:
        # a double-click delivers two clicks: the second finds Confirm disabled
        with self._clicks:
            if self.confirm_button.disabled:
                return
            self.confirm_button.disabled = True
        if self.background:
            self.apply_in_background()
        else:
            self.apply()

    # -- applying -------------------------------------------------------------------------
    def _start(self, plan: UpdatePlan) -> None:
        self.confirm_box.layout.display = "none"
        for control in (*self.checkboxes, self.all_button, self.none_button, self.apply_button):
            control.disabled = True
        self.cancel_event.clear()
        self.result, self.error = None, None
        self.result_html.value = f"Applying {len(plan)} changes…"

    def _run(self, plan: UpdatePlan, **options: Any) -> ApplyResult | None:
        try:
            self.result = plan.apply(
                self.client,
                confirm=len(plan),
                cancel=self.cancel_event,
                **options,
                **self.apply_kwargs,
            )
        except PartialApplyError as exc:
            self.error, self.result = exc, exc.result
            self.apply_button.disabled = False
            self.result_html.value = _ERROR.format(f"Stopped: {_fmt(exc)}") + self._counts()
            return self.result
        except FBTimeError as exc:
            self.error = exc
            self.apply_button.disabled = False
            self.result_html.value = _ERROR.format(_fmt(exc))
            return None
        finally:
            self.stop_button.layout.display = self.bar.layout.display = "none"
        self.result_html.value = f"<b>Done:</b>{self._counts()}"
        return self.result

    def _counts(self) -> str:
        if self.result is None:
            return ""
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in self.result.counts.items() if n)
        return (
            f" {counts or 'nothing to do'}; journal <code>{_fmt(self.result.journal_path)}</code>"
        )

    def apply(self) -> ApplyResult | None:
        """Apply the ticked rows and wait; returns the result (also ``.result``)."""
        plan = self.selected_plan()
        self._start(plan)
        with self.progress:  # in a kernel, the tqdm bar and journal line land here
            return self._run(plan, progress=True)

    def apply_in_background(self) -> threading.Thread:
        """Apply the ticked rows in a thread, showing progress and a Cancel button."""
        plan = self.selected_plan()
        self._start(plan)
        self.bar.max, self.bar.value = max(1, len(plan)), 0
        self.stop_button.disabled = False
        self.stop_button.layout.display = self.bar.layout.display = "flex"

        def progress(done: int, total: int) -> None:
            self.bar.value = done

        def run() -> None:
            try:
                self._run(plan, progress=False, on_progress=progress)
            except Exception as exc:  # a thread's error would otherwise vanish
                self.error = exc
                self.result_html.value = _ERROR.format(_fmt(f"{type(exc).__name__}: {exc}"))

        self.thread = threading.Thread(target=run, name="fbtime-review-apply", daemon=True)
        self.thread.start()
        return self.thread

    def cancel_apply(self) -> None:
        """The Cancel button while applying: no new request starts; those in flight finish."""
        self.cancel_event.set()
        self.stop_button.disabled = True
        self.result_html.value = "Cancelling: the requests in flight finish, no new one starts…"

    def wait(self, timeout: float | None = None) -> ApplyResult | None:
        """Wait for a background apply to end; returns its result."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.result
