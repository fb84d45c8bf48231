"""``plan.review()`` for an invoice plan: each draft with its lines and entries, Apply, Cancel.

One row per draft (client, lines, entries, hours, amount) with a tick box and its lines and
the entries it bills below; the totals follow the ticks. Apply asks to confirm, then
creates the ticked drafts and marks their entries billed (in a background thread inside a
Jupyter kernel, with a Cancel button that stops before the next request). Names and notes
come from the account, so everything shown goes through :func:`fbtime.text.for_html`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from fbtime import display
from fbtime.bulk.invoice_views import draft_html, hash_line, summary
from fbtime.errors import FBTimeError, PartialApplyError
from fbtime.text import for_html

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.invoice_plan import InvoicePlan
    from fbtime.bulk.invoice_result import InvoiceResult

_ERROR = "<span style='color:#b00020'>{}</span>"


def _in_kernel() -> bool:
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class InvoiceReview(w.VBox):
    """Review an invoice plan: untick drafts, watch the totals, then apply the ticked ones.

    ``apply_kwargs`` go to :meth:`InvoicePlan.apply` (``journal=``, ``workers=``...); the
    confirmation is the reviewer's click, so ``confirm`` is not accepted.

    Args:
        background: apply in a thread with a Cancel button (default: inside a kernel).
    """

    def __init__(
        self,
        plan: InvoicePlan,
        client: Client | None = None,
        *,
        background: bool | None = None,
        **apply_kwargs: Any,
    ) -> None:
        if "confirm" in apply_kwargs or "cancel" in apply_kwargs:
            raise TypeError("InvoiceReview confirms and cancels itself; pass neither")
        self.plan, self.client, self.apply_kwargs = plan, client, apply_kwargs
        self.background = _in_kernel() if background is None else background
        self.result: InvoiceResult | None = None
        self.error: Exception | None = None
        self.thread: threading.Thread | None = None
        self.cancel_event = threading.Event()
        self.boxes = {
            d.client_id: w.Checkbox(value=True, indent=False, description="") for d in plan.drafts
        }
        for box in self.boxes.values():
            box.observe(lambda _: self._update_totals(), names="value")
        rows = [w.HBox([self.boxes[d.client_id], w.HTML(draft_html(plan, d))]) for d in plan.drafts]
        self.totals = w.HTML()
        self.apply_button = w.Button(description="Apply…", button_style="warning")
        self.confirm_label = w.HTML()
        self.confirm_button = w.Button(description="Confirm", button_style="danger")
        self.cancel_button = w.Button(description="Cancel")
        self.confirm_box = w.HBox(
            [self.confirm_label, self.confirm_button, self.cancel_button],
            layout=w.Layout(display="none"),
        )
        self.stop_button = w.Button(
            description="Cancel", button_style="danger", layout=w.Layout(display="none")
        )
        self.progress = w.Output()
        self.result_html = w.HTML()
        self.apply_button.on_click(lambda _: self.ask())
        self.confirm_button.on_click(lambda _: self._confirmed())
        self.cancel_button.on_click(lambda _: self.cancel())
        self.stop_button.on_click(lambda _: self.cancel_apply())
        super().__init__(
            [
                w.HTML(f"<b>{for_html(summary(plan))}</b>"),
                w.HTML(f"<code>{for_html(hash_line(plan))}</code>"),
                *rows,
                self.totals,
                self.apply_button,
                self.confirm_box,
                self.stop_button,
                self.progress,
                self.result_html,
            ]
        )
        self._update_totals()

    def selected_plan(self) -> InvoicePlan:
        """The plan with only the ticked drafts."""
        return self.plan.select([c for c, box in self.boxes.items() if box.value])

    def _update_totals(self) -> None:
        t = self.selected_plan().totals()
        money = ", ".join(f"{display.money(v)} {k}" for k, v in t["amount"].items()) or "0.00"
        self.totals.value = (
            f"Will create <b>{t['drafts']}</b> draft invoices ({for_html(money)}) and mark "
            f"<b>{t['entries']}</b> entries billed, <b>{t['hours']}</b> h"
        )

    def ask(self) -> None:
        """First step of Apply: "Create N drafts...?" with Confirm and Cancel."""
        plan = self.selected_plan()
        if not len(plan):
            self.result_html.value = "Nothing is ticked: there is nothing to apply."
            return
        self.confirm_label.value = (
            f"<b>Create {len(plan)} draft invoices and mark {plan.entry_count} entries billed?</b>"
        )
        self.confirm_box.layout.display = "flex"
        self.apply_button.disabled = True

    def cancel(self) -> None:
        """Close the confirmation without applying anything."""
        self.confirm_box.layout.display = "none"
        self.apply_button.disabled = False

    def _confirmed(self) -> None:
        self.confirm_button.disabled = True  # one click, one apply
        if self.background:
            self.apply_in_background()
        else:
            self.apply()

    def _run(self, plan: InvoicePlan) -> InvoiceResult | None:
        self.confirm_box.layout.display = "none"
        for box in self.boxes.values():
            box.disabled = True
        self.result_html.value = f"Creating {len(plan)} draft invoices…"
        try:
            self.result = plan.apply(
                self.client, confirm=plan.entry_count, cancel=self.cancel_event,
                **self.apply_kwargs,
            )  # fmt: skip
        except PartialApplyError as exc:
            self.error, self.result = exc, exc.result  # type: ignore[assignment]
            self.result_html.value = _ERROR.format(for_html(f"Stopped: {exc}"))
            return self.result
        except FBTimeError as exc:
            self.error = exc
            self.result_html.value = _ERROR.format(for_html(exc))
            return None
        finally:
            self.stop_button.layout.display = "none"
        self.result_html.value = f"<b>Done:</b><pre>{for_html(self.result)}</pre>"
        return self.result

    def apply(self) -> InvoiceResult | None:
        """Apply the ticked drafts and wait; returns the result (also ``.result``)."""
        with self.progress:
            return self._run(self.selected_plan())

    def apply_in_background(self) -> threading.Thread:
        """Apply the ticked drafts in a thread, with a Cancel button."""
        plan = self.selected_plan()
        self.stop_button.layout.display = "flex"

        def run() -> None:
            try:
                self._run(plan)
            except Exception as exc:  # a thread's error would otherwise vanish
                self.error = exc
                self.result_html.value = _ERROR.format(for_html(f"{type(exc).__name__}: {exc}"))

        self.thread = threading.Thread(target=run, name="fbtime-invoice-apply", daemon=True)
        self.thread.start()
        return self.thread

    def cancel_apply(self) -> None:
        """Stop after the request in flight: no new request starts."""
        self.cancel_event.set()
        self.stop_button.disabled = True
        self.result_html.value = "Cancelling: the request in flight finishes, no new one starts…"

    def wait(self, timeout: float | None = None) -> InvoiceResult | None:
        """Wait for a background apply to end; returns its result."""
        if self.thread is not None:
            self.thread.join(timeout)
        return self.result
