"""``plan.review()``: tick the rows to apply, watch the totals, confirm, apply, cancel.

The panel says what the ticked rows change in a person's terms: entries, hours, clients
and the money at stake (exact, per currency; how many entries have no amount and why),
with subtotals by client and by teammate. After an apply it gives the counts once, lists
each entry that needs a look (a conflict, a failure) with the reason, and offers to plan
them again as they are now (:meth:`UpdatePlan.replan`); after a stop it offers to resume
(:func:`fbtime.resume`), never an Apply that could only be refused. A plan applies once per
process, so the panel follows its plan (:func:`fbtime.bulk.apply.follow`): applied in code
or in another panel, it shows that apply's result the same way and offers no Apply.

Every value and field name shown comes from the account (notes, names) or the plan file,
so each goes through :func:`fbtime.text.for_html`. In a notebook the apply runs in a
background thread, so the kernel stays free to hear the Cancel button; Cancel stops the
run within one request (those in flight finish, none starts) and the journal says where
it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from fbtime import display
from fbtime.bulk.apply import Applying, follow, resume, unfollow
from fbtime.bulk.views import (
    EMPTY,
    counts_line,
    hash_line,
    money_line,
    money_text,
    resume_advice,
    subtotals_html,
    trouble,
)
from fbtime.errors import FBTimeError, PartialApplyError
from fbtime.text import for_html

if TYPE_CHECKING:
    from pathlib import Path

    from fbtime.api.client import Client
    from fbtime.bulk.change import Change
    from fbtime.bulk.plan import UpdatePlan
    from fbtime.bulk.result import ApplyResult

_ERROR = "<span style='color:#b00020'>{}</span>"
#: Rows of the list of entries that need a look, before "... more".
TROUBLE_ROWS = 50


def _fmt(value: Any) -> str:
    return for_html(EMPTY if value is None else value)


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
    hours = f"{display.hours(change.hours)} h" if change.hours is not None else "? h"
    context = change.context or {}
    where = " / ".join(
        for_html(context.get(k) or display.no_group(k)) for k in ("client", "project")
    )
    if not context:
        where = for_html(display.id_label("client", change.client_id))
    money = money_text(context)
    parts = [
        f"<code>{change.id}</code> {for_html(change.action)} {fields or '(entry)'}",
        hours,
        *(_fmt(context[k]) for k in ("date", "teammate") if context.get(k)),
        where,
        *([for_html(money)] if money else []),
    ]
    if context.get("note"):
        parts.append(f"<i>{_fmt(context['note'])}</i>")
    return " · ".join(parts)


def trouble_html(result: ApplyResult, plan: UpdatePlan) -> str:
    """The entries of an apply that need a look: id, date, client, status and why."""
    context = {c.id: dict(c.context or {}) for c in plan.changes}
    table = trouble(result, context)
    if not len(table):
        return ""
    shown = table.head(TROUBLE_ROWS)
    pad = "style='padding:2px 8px;text-align:left'"
    head = "".join(f"<th {pad}>{for_html(c)}</th>" for c in ("id", *shown.columns))
    body = "".join(
        f"<tr><td {pad}><code>{int(i)}</code></td>"
        + "".join(f"<td {pad}>{for_html('' if pd.isna(v) else v)}</td>" for v in row)
        + "</tr>"
        for i, row in zip(shown.index, shown.itertuples(index=False), strict=True)
    )
    more = ""
    if len(table) > len(shown):
        more = f"<p>... {len(table) - len(shown):,} more in result.rows</p>"
    return (
        f"<p><b>{len(table):,} {'entry needs' if len(table) == 1 else 'entries need'} a look:"
        "</b></p>"
        f"<table class='fbtime-trouble'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{more}"
    )


class PlanReview(w.VBox):
    """Review a plan: untick rows, watch the totals, then apply only the ticked rows.

    Apply asks to confirm the count, then applies (``.result``, an
    :class:`~fbtime.ApplyResult`). ``apply_kwargs`` go to :meth:`UpdatePlan.apply`
    (``journal=``, ``max_changes=``, ``workers=``...); the confirmation is the reviewer's
    click, so ``confirm`` is not accepted here. After the apply, **Plan these again**
    builds a plan for the entries that had a conflict or failed (as they are on the
    server now) and shows its own review below (``.next_review``); after a stop,
    **Resume** finishes the run from its journal.

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
        self.error: BaseException | None = None  # ApplyInterrupted: Ctrl-C in code
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self.applied_plan: UpdatePlan | None = None
        self.next_review: PlanReview | None = None
        #: The journal of an apply of this plan made elsewhere (code, another panel) that
        #: the panel shows, or None.
        self.followed: Path | None = None
        self._following: set[str] = set()
        self._busy = False  # its own apply or resume is running: it shows that
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
        self.subtotals = w.HTML()
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
        self.trouble_html = w.HTML()
        hidden = w.Layout(display="none")
        self.resume_button = w.Button(
            description="Resume", button_style="warning", tooltip="finish the run from its journal",
            layout=hidden,
        )  # fmt: skip
        self.replan_button = w.Button(
            description="Plan these again", tooltip="a plan for these entries as they are now",
            layout=w.Layout(display="none"),
        )  # fmt: skip
        self.next_box = w.VBox()
        self.all_button.on_click(lambda _: self.select_all(True))
        self.none_button.on_click(lambda _: self.select_all(False))
        self.prev_button.on_click(lambda _: self.show_page(self.page - 1))
        self.next_button.on_click(lambda _: self.show_page(self.page + 1))
        self.apply_button.on_click(lambda _: self.ask())
        self.confirm_button.on_click(lambda _: self._confirmed())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.stop_button.on_click(lambda _: self.cancel_apply())
        self.resume_button.on_click(lambda _: self._resume_clicked())
        self.replan_button.on_click(lambda _: self._replan_clicked())
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
                self.subtotals,
                self.apply_button,
                self.confirm_box,
                w.HBox([self.bar, self.stop_button]),
                self.progress,
                self.result_html,
                self.trouble_html,
                w.HBox([self.resume_button, self.replan_button]),
                self.next_box,
            ]
        )
        self.add_class("fbtime-review")  # a handle for styles and browser tests
        self.show_page(0)  # follows the plan and the ticked selection (_update_totals)

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
        plan = self.selected_plan()
        self._follow(plan.sha256)
        t = plan.totals()
        left_out = len(self.plan.changes) - t["entries"]
        money = money_line(t)
        self.totals.value = (
            f"Will change <b>{t['entries']}</b> entries, <b>{display.hours(t['hours'])}</b> h, "
            f"<b>{t['clients']}</b> clients"
            + (f", <b>{for_html(money)}</b>" if money else "")
            + f"; {left_out} left out"
        )
        if not len(plan.changes):
            self.subtotals.value = ""
            return
        self.subtotals.value = (
            "<details open class='fbtime-subtotals'><summary>subtotals of the ticked rows"
            "</summary><div style='display:flex;gap:2em;flex-wrap:wrap'>"
            f"<div><b>by client</b>{subtotals_html(plan, 'client')}</div>"
            f"<div><b>by teammate</b>{subtotals_html(plan, 'teammate')}</div></div></details>"
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
    # -- following the plan's applies made elsewhere -------------------------------------
    def _follow(self, selection: str) -> None:
        """Follow the plan and the ticked selection (what Apply would send), no other."""
        keys = {self.plan.sha256, selection}
        for key in self._following - keys:
            unfollow(key, self._heard)
        news = [follow(key, self._heard) for key in sorted(keys - self._following)]
        self._following = keys
        for heard in news:
            if heard is not None:
                self._heard(heard)

    def _heard(self, news: Applying) -> None:
        """This plan (or the ticked selection) is being applied, or was, by code or another
        panel: show it as after an own apply, and offer no Apply, which could only fail."""
        if self._busy or (self.result is not None and self.followed is None):
            return  # its own apply: the panel shows that one
        if self.followed is not None and news.journal != self.followed:
            return  # it shows another apply of the plan already
        if news.result is None and news.error is None and self.followed is not None:
            return
        self.followed = news.journal
        self.applied_plan = news.plan  # type: ignore[assignment]
        self.confirm_box.layout.display = "none"
        self.apply_button.layout.display = "none"
        for control in (*self.checkboxes, self.all_button, self.none_button, self.apply_button):
            control.disabled = True
        where = (
            "This plan was applied in code or in another panel, so it offers no Apply "
            "(a plan applies once per process)."
        )
        self.result, self.error = news.result, news.error
        if news.result is None and news.error is None:
            self.result_html.value = (
                f"{where}<br>Applying there… journal <code>{_fmt(news.journal)}</code>"
            )
        elif news.result is None:
            self.result_html.value = f"{where}<br>" + _ERROR.format(_fmt(news.error))
        elif isinstance(news.error, PartialApplyError) or news.result.stopped:
            self._stopped(news.result)
            self.result_html.value = f"{where}<br>{self.result_html.value}"
        else:
            self.result_html.value = f"{where}<br><b>Done:</b> {self._counts()}"
            self._itemise()

    # -- applying -------------------------------------------------------------------------
    def _start(self, plan: UpdatePlan, what: str = "Applying") -> None:
        self._busy = True
        self.confirm_box.layout.display = "none"
        for control in (*self.checkboxes, self.all_button, self.none_button, self.apply_button):
            control.disabled = True
        self.resume_button.layout.display = self.replan_button.layout.display = "none"
        self.cancel_event.clear()
        self.result, self.error = None, None
        self.trouble_html.value = ""
        self.result_html.value = f"{what} {len(plan)} changes…"

    def _run(self, run: Callable[..., ApplyResult], **options: Any) -> ApplyResult | None:
        """Run an apply (or resume), then say what it did once: never an error for a Cancel
        the reviewer asked for, and never an Apply again (a stopped run is resumed)."""
        try:
            self.result = run(cancel=self.cancel_event, **options)
        except PartialApplyError as exc:
            self.error, self.result = exc, exc.result
            if self.result is not None:
                self._stopped(self.result)
            else:
                self.result_html.value = _ERROR.format(_fmt(exc))
            return self.result
        except FBTimeError as exc:
            self.error = exc
            self.apply_button.disabled = False  # nothing was sent: the plan can be applied
            self.result_html.value = _ERROR.format(_fmt(exc))
            return None
        finally:
            self._busy = False
            self.stop_button.layout.display = self.bar.layout.display = "none"
        self.result_html.value = f"<b>Done:</b> {self._counts()}"
        self._itemise()
        return self.result

    def _stopped(self, result: ApplyResult) -> None:
        asked = self.cancel_event.is_set()
        head = (
            "Cancelled, as you asked"
            if asked
            else _ERROR.format(f"Stopped: {_fmt(result.stopped)}")
        )
        self.result_html.value = (
            f"<b>{head}:</b> {self._counts()}<br>Resume below, or later: "
            f"<code>{for_html(resume_advice(result.journal_path))}</code>"
        )
        self.resume_button.layout.display = "flex"
        self.resume_button.disabled = False
        self._itemise()

    def _counts(self) -> str:
        if self.result is None:
            return ""
        return (
            f"{for_html(counts_line(self.result))}; journal "
            f"<code>{_fmt(self.result.journal_path)}</code>"
        )

    def _itemise(self) -> None:
        if self.result is None:
            return
        self.trouble_html.value = trouble_html(self.result, self.plan)
        if self.trouble_html.value:
            self.replan_button.layout.display = "flex"
            self.replan_button.disabled = False

    def apply(self) -> ApplyResult | None:
        """Apply the ticked rows and wait; returns the result (also ``.result``)."""
        plan = self.applied_plan = self.selected_plan()
        self._start(plan)
        with self.progress:  # in a kernel, the tqdm bar and journal line land here
            return self._run(self._applier(plan), progress=True)

    def _applier(self, plan: UpdatePlan) -> Callable[..., ApplyResult]:
        def run(**options: Any) -> ApplyResult:
            return plan.apply(self.client, confirm=len(plan), **options, **self.apply_kwargs)

        return run

    def _in_background(self, run: Callable[..., ApplyResult], total: int) -> threading.Thread:
        self.bar.max, self.bar.value = max(1, total), 0
        self.stop_button.disabled = False
        self.stop_button.layout.display = self.bar.layout.display = "flex"

        def progress(done: int, total: int) -> None:
            self.bar.value = done

        def work() -> None:
            try:
                self._run(run, progress=False, on_progress=progress)
            except Exception as exc:  # a thread's error would otherwise vanish
                self.error = exc
                self.result_html.value = _ERROR.format(_fmt(f"{type(exc).__name__}: {exc}"))

        self.thread = threading.Thread(target=work, name="fbtime-review-apply", daemon=True)
        self.thread.start()
        return self.thread

    def apply_in_background(self) -> threading.Thread:
        """Apply the ticked rows in a thread, showing progress and a Cancel button."""
        plan = self.applied_plan = self.selected_plan()
        self._start(plan)
        return self._in_background(self._applier(plan), len(plan))

    def cancel_apply(self) -> None:
        """The Cancel button while applying: no new request starts; those in flight finish."""
        self.cancel_event.set()
        self.stop_button.disabled = True
        self.result_html.value = "Cancelling: the requests in flight finish, no new one starts…"

    def resume(self) -> ApplyResult | None:
        """Finish a stopped apply from its journal (what **Resume** does) and wait."""
        if self.result is None:
            return None
        journal = self.result.journal_path
        self._start(self.applied_plan or self.plan, "Resuming")
        with self.progress:
            return self._run(lambda **o: resume(journal, self.client, **o), progress=True)

    def _resume_clicked(self) -> None:
        self.resume_button.disabled = True
        if self.result is None:
            return
        if not self.background:
            self.resume()
            return
        journal = self.result.journal_path
        todo = self.result.counts["not_attempted"] + self.result.counts["in_flight"]
        self._start(self.applied_plan or self.plan, "Resuming")
        self._in_background(lambda **o: resume(journal, self.client, **o), todo)

    def replan(self) -> UpdatePlan | None:
        """A plan for the entries that had a conflict or failed, as they are on the server
        now (:meth:`UpdatePlan.replan`), shown with its own review below (``.next_review``)."""
        if self.result is None:
            return None
        try:
            plan = (self.applied_plan or self.plan).replan(self.result, self.client)
        except FBTimeError as exc:
            self.trouble_html.value += _ERROR.format(_fmt(exc))
            return None
        self.next_review = PlanReview(
            plan, self.client, page_size=self.page_size, background=self.background,
            **self.apply_kwargs,
        )  # fmt: skip
        self.next_box.children = (w.HTML("<hr><b>Planned again:</b>"), self.next_review)
        return plan

    def _replan_clicked(self) -> None:
        self.replan_button.disabled = True
        self.replan()

    def wait(self, timeout: float | None = None) -> ApplyResult | None:
        """Wait for a background apply to end; returns its result."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.result
