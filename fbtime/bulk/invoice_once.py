"""Exactly once, for invoices: no POST twice, and a draft made before found again.

FreshBooks' invoices have no idempotency key (facts sheet ``freshbooks-invoices.md`` §5),
so :mod:`fbtime.bulk.invoice_apply` never retries a create; this module holds what it does
instead, apart from the journal:

* :func:`find_made`: the client's invoices of the draft's date, created since the POST was
  sent (less :data:`~fbtime.bulk.once.CLOCK_SKEW`), compared with the draft: one match is
  adopted; several, or one made since that does not match, stop the draft
  (``ambiguous``); none, and it is created;
* :class:`Pacer`: accounting POSTs kept under FreshBooks' 250 a minute.

An invoice plan is applied once per process through the registry of update plans
(:func:`fbtime.bulk.apply.claim`), and a draft is looked for since its intent less
:data:`fbtime.bulk.once.CLOCK_SKEW`, the margin entry creates use. Drafts are not found
with :class:`fbtime.bulk.once.Creates`: that adopts the first unclaimed match, where a
draft with several candidates must stop and ask (facts sheet §7 "Crash recovery").
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fbtime.api.invoice_answers import Invoice
from fbtime.api.invoices import Invoices
from fbtime.bulk.once import CLOCK_SKEW

if TYPE_CHECKING:
    from fbtime.bulk.invoice_change import InvoiceDraft

#: Accounting POSTs FreshBooks allows in :data:`POST_WINDOW` seconds (its published
#: ``X-RateLimit-Limit`` on create-invoice answers; GET and PUT have 600).
POST_LIMIT = 250
POST_WINDOW = 60.0


class Pacer:
    """At most ``limit`` calls of :meth:`wait` in any ``window`` seconds (a rolling window)."""

    def __init__(
        self,
        limit: int = POST_LIMIT,
        window: float = POST_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit, self.window, self.clock, self.sleep = limit, window, clock, sleep
        self.sent: collections.deque[float] = collections.deque()

    def wait(self) -> float:
        """Wait until one more call fits the window; return the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock()
            while self.sent and self.sent[0] <= now - self.window:
                self.sent.popleft()
            if len(self.sent) < self.limit:
                self.sent.append(now)
                return waited
            pause = self.sent[0] + self.window - now
            self.sleep(pause)
            waited += pause


@dataclass
class Found:
    """What a search for a draft already made found."""

    adopt: Invoice | None = None
    others: list[Invoice] = field(default_factory=list)


def find_made(invoices: Invoices, draft: InvoiceDraft, sent_at: str) -> Found:
    """The client's invoices of the draft's date made since ``sent_at`` (less
    :data:`~fbtime.bulk.once.CLOCK_SKEW`), with their lines, compared with the draft (see
    the module docstring for what is adopted)."""
    since = dt.datetime.fromisoformat(sent_at) - CLOCK_SKEW
    day = draft.draft.create_date
    recent = [
        i
        for i in invoices.search(customer_id=draft.client_id, date_min=day, date_max=day)
        if i.created_at is None or i.created_at >= since
    ]
    matching = [i for i in recent if not draft.draft.differences(i)]
    if len(matching) == 1 and matching[0].is_untouched_draft:
        return Found(adopt=matching[0], others=[i for i in recent if i is not matching[0]])
    return Found(others=recent)
