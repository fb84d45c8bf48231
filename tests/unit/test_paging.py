"""Pages come back in order, once each, and a list that changes while paged is re-read."""

import math
import random
import threading
import time

import pytest

from fbtime.api.paging import read_pages
from fbtime.errors import InconsistentPagesError


def server(ids, per_page):
    def get_page(n):
        rows = [{"id": i} for i in ids[(n - 1) * per_page : n * per_page]]
        time.sleep(random.random() / 500)  # pages finish out of order
        pages = math.ceil(len(ids) / per_page)
        return {"time_entries": rows, "meta": {"total": len(ids), "pages": pages}}

    return get_page


def test_rows_are_in_page_order_whatever_the_arrival_order():
    ids = list(range(1000, 0, -1))
    listing = read_pages(server(ids, 7), key="time_entries", per_page=7, workers=8)
    assert [r["id"] for r in listing.rows] == ids
    assert listing.requests == math.ceil(1000 / 7)


def test_empty_list_is_one_request():
    listing = read_pages(server([], 100), key="time_entries", per_page=100)
    assert listing.rows == [] and listing.requests == 1


def test_an_insert_while_paging_is_detected_and_reread():
    ids = list(range(100, 0, -1))
    lock = threading.Lock()
    inserted = []

    def get_page(n):
        with lock:
            if n == 3 and not inserted:
                ids.insert(0, 101)  # newest first: every later row shifts by one
                inserted.append(True)
            return server(ids, 10)(n)

    listing = read_pages(get_page, key="time_entries", per_page=10, workers=1)
    assert sorted(r["id"] for r in listing.rows) == list(range(1, 102))
    assert listing.passes == 2 and listing.notes


def test_a_list_that_never_settles_raises():
    counter = iter(range(10**6))

    def get_page(n):
        total = next(counter) + 5
        return {"time_entries": [{"id": 1}], "meta": {"total": total, "pages": 2}}

    with pytest.raises(InconsistentPagesError, match="kept changing"):
        read_pages(get_page, key="time_entries", per_page=1, max_passes=3)
