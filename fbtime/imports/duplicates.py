"""Rows already in FreshBooks, or twice in the file, are not created again.

FreshBooks keeps no external id on an entry, so a row is the same entry as an existing
one when the teammate, the start (to the second), the duration and the note are the same
(``import-formats.md`` §4; a missing note and an empty one are the same note). Importing
a file twice therefore plans nothing the second time. A row identical to an earlier row
of the file is skipped too (Toggl itself merges such rows), so that every planned create
has a fingerprint no other create shares: what finds an entry again after a lost answer.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: What makes two entries the same entry.
KEY = ("identity_id", "started_at", "duration", "note")


def _keys(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "identity_id": frame["identity_id"].astype("Int64"),
        "started_at": frame["started_at"].dt.tz_convert("UTC").dt.floor("s"),
        "duration": frame["duration"].astype("Int64"),
        "note": frame["note"].astype("str").fillna(""),
    })  # fmt: skip


def split_duplicates(
    rows: pd.DataFrame, existing: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows to create, and ``{"row", "reason", "entry_id"}`` for those skipped.

    Args:
        rows: matched rows (``identity_id``, ``started_at``, ``duration``, ``note``, ``row``).
        existing: FreshBooks' entries over the rows' span (a ``team=True`` load; its
            deleted entries and running timers never match).
    """
    keys = _keys(rows)
    live = existing
    if "active" in existing:
        live = existing[existing["active"].fillna(True).astype(bool)]
    known = _keys(live).assign(entry_id=live.index.to_numpy()).dropna(subset=["duration"])
    known = known.drop_duplicates(subset=list(KEY))
    found = keys.merge(known, on=list(KEY), how="left")["entry_id"]
    found.index = rows.index
    earlier = keys.duplicated(keep="first")
    first_row = rows["row"].groupby([keys[k] for k in KEY], dropna=False).transform("first")
    skipped: list[dict[str, Any]] = []
    drop = found.notna() | earlier
    for row, entry_id, first in zip(
        rows.loc[drop, "row"].tolist(), found[drop].tolist(), first_row[drop].tolist(), strict=True
    ):
        if pd.notna(entry_id):
            entry = int(entry_id)
            skipped.append({
                "row": int(row), "entry_id": entry,
                "reason": f"already in FreshBooks as entry {entry} (same teammate, start, "
                          "duration and note)",
            })  # fmt: skip
        else:
            skipped.append({
                "row": int(row), "entry_id": None,
                "reason": f"the same as row {int(first)} of the file (teammate, "
                          "start, duration and note)",
            })  # fmt: skip
    return rows[~drop.to_numpy()], skipped
