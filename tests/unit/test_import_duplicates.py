"""A row already in FreshBooks (same teammate, start, duration, note), or twice in the file,
is skipped and reported; nothing else is."""

from __future__ import annotations

import pandas as pd

from fbtime.imports.duplicates import split_duplicates


def rows(*items):
    frame = pd.DataFrame(
        [{"row": r, "identity_id": i, "started_at": s, "duration": d, "note": n}
         for r, i, s, d, n in items]
    )  # fmt: skip
    frame["started_at"] = pd.to_datetime(frame["started_at"], utc=True).astype(
        "datetime64[us, UTC]"
    )
    return frame.astype({"row": "Int64", "identity_id": "Int64", "duration": "Int64",
                         "note": "str"})  # fmt: skip


def test_rows_matching_an_entry_or_an_earlier_row_are_skipped(make_frame):
    existing = make_frame([
        {"identity_id": 1, "started_at": "2026-03-09T14:00:00Z", "duration": 3600, "note": None},
        {"identity_id": 1, "started_at": "2026-03-09T16:00:00Z", "duration": 600, "note": "x",
         "active": False},  # deleted: never a match
        {"identity_id": 2, "started_at": "2026-03-09T14:00:00Z", "duration": None, "note": "run",
         "is_logged": False},  # a running timer: never a match
    ])  # fmt: skip
    file_rows = rows(
        (2, 1, "2026-03-09T14:00:00Z", 3600, ""),  # entry 1 (no note is an empty note)
        (3, 1, "2026-03-09T14:00:01Z", 3600, ""),  # a second later: new
        (4, 1, "2026-03-09T16:00:00Z", 600, "x"),  # only a deleted entry: new
        (5, 2, "2026-03-09T14:00:00Z", 3600, "run"),  # the timer has no duration: new
        (6, 1, "2026-03-09T14:00:01Z", 3600, ""),  # the same as row 3
        (7, 1, "2026-03-09T14:00:01Z", 3600, "other"),  # another note: new
    )
    kept, skipped = split_duplicates(file_rows, existing)
    assert list(kept["row"]) == [3, 4, 5, 7]
    assert skipped == [
        {"row": 2, "entry_id": 1,
         "reason": "already in FreshBooks as entry 1 (same teammate, start, duration and note)"},
        {"row": 6, "entry_id": None,
         "reason": "the same as row 3 of the file (teammate, start, duration and note)"},
    ]  # fmt: skip


def test_nothing_is_skipped_against_an_empty_account(make_frame):
    file_rows = rows((2, 1, "2026-03-09T14:00:00Z", 3600, "a"))
    kept, skipped = split_duplicates(file_rows, make_frame([]))
    assert list(kept["row"]) == [2] and skipped == []
