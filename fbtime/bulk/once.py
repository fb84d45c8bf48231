"""Exactly-once creates on an API without idempotency keys: look before posting.

FreshBooks has no idempotency key, so a POST sent twice makes two entries (billed twice).
A create is therefore never sent blind:

1. **the journal**: a run's own journal says which creates it finished (an ``outcome``
   with ``new_id``) and which it began (an ``intent`` with none): resume skips the first
   and looks on the server for the second;
2. **the server**: before any POST, :meth:`Creates.find` searches for an entry that
   already holds the fields to create (its *fingerprint*) and was made since the thing
   being restored went away (``since``): one made by an earlier run of the same plan, by
   an undo built again from the same journal, by another process, or by a POST whose
   answer was lost. Each entry found is *claimed*, so two identical creates in one run
   find two different entries, never the same one twice.

Only when both say no is the intent journaled and the POST sent; after a lost answer the
server is searched again before anything else. The search is a function of the fields,
so other creates (imported entries, invoices) can use :class:`Creates` with their own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from typing import Any

#: What makes two time entries the same piece of work (the API's names).
FINGERPRINT = ("identity_id", "started_at", "duration", "note", "client_id", "project_id",
               "service_id")  # fmt: skip
#: How far the server's clock may lag behind this machine's when ``since`` is compared
#: with an entry's ``created_at`` (as a plan's ``created_at`` may lead it).
CLOCK_SKEW = dt.timedelta(minutes=5)

Search = Callable[[Mapping[str, Any]], list[dict[str, Any]]]


def _when(value: Any) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


class Creates:
    """Finds entries a create already made, for one run (thread-safe).

    Args:
        search: returns the server's candidates for the fields to create (for time
            entries: every entry started at the same second).
        fingerprint: the fields that must be equal.
        claimed: ids already accounted for (a resumed journal's ``new_id``s).
    """

    def __init__(
        self,
        search: Search,
        fingerprint: tuple[str, ...] = FINGERPRINT,
        claimed: set[int] | None = None,
    ) -> None:
        self.search = search
        self.fingerprint = fingerprint
        self._claimed = set(claimed or ())
        self._lock = threading.Lock()

    def find(self, fields: Mapping[str, Any], since: str | None) -> dict[str, Any] | None:
        """An active entry holding ``fields``' fingerprint, made after ``since`` (less
        :data:`CLOCK_SKEW`) and not claimed yet; it is claimed. None if there is none."""
        after = _when(since) if since else None
        floor = after - CLOCK_SKEW if after else None
        wanted = [(name, fields.get(name)) for name in self.fingerprint]
        for entry in self.search(fields):
            if entry.get("active") is False or any(entry.get(k) != v for k, v in wanted):
                continue
            made = _when(entry.get("created_at"))
            if floor is not None and made is not None and made < floor:
                continue  # it was there before: another entry that happens to look the same
            with self._lock:
                if entry["id"] in self._claimed:
                    continue
                self._claimed.add(entry["id"])
            return entry
        return None

    def claim(self, entry_id: int) -> None:
        """Account for an entry this run created."""
        with self._lock:
            self._claimed.add(entry_id)
