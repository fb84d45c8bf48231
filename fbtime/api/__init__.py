"""HTTP to FreshBooks: the client, its cache and pacing, paging, filters, endpoints.

* :mod:`.client`: :class:`Client`, one plain session and one cached session with the auth
  header, and the one retry layer.
* :mod:`.cache`: the private requests-cache session for reference lists: keys, isolation,
  invalidation.
* :mod:`.ratelimit`: the pacing every request of a client shares.
* :mod:`.paging`: one page record, one page getter and the readers every list goes
  through (consistency checks, ``started_at`` windows for long lists).
* :mod:`.query`: the ten filters -> query parameters.
* :mod:`.fields`: writable time-entry fields and request payloads.
* :mod:`.time_entries`: the time-entries endpoint.
* :mod:`.reference`: users/me, clients, projects, services, as plain dicts.
* :mod:`.invoices`: accounting invoices (create a draft once, get, search, update, delete);
  :mod:`.invoice_answers` reads their answers, typed (Decimal Money).

Answers are plain dicts and lists: nothing here imports pandas, or anything above it.
"""
