"""HTTP to FreshBooks: the client, its cache and pacing, paging, filters, endpoints.

* :mod:`.client`: :class:`Client`, one session with the auth header, the one retry layer
  and the cache.
* :mod:`.cache`: the private requests-cache session: keys, isolation, invalidation.
* :mod:`.ratelimit`: the pacing every request of a client shares.
* :mod:`.paging`: every page of a list endpoint, with consistency checks.
* :mod:`.query`: the ten filters -> query parameters.
* :mod:`.fields`: writable time-entry fields and request payloads.
* :mod:`.time_entries`: the time-entries endpoint.
* :mod:`.reference`: users/me, clients, projects, services, as plain dicts.
* :mod:`.invoices`: accounting invoices (create a draft once, get, search, update, delete);
  :mod:`.invoice_answers` reads their answers, typed (Decimal Money).

Answers are plain dicts and lists: nothing here imports pandas, or anything above it.
"""
