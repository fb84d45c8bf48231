"""``fbtime.read_journal(path)``: an apply journal as a typed frame, one row per line.

``pd.read_json(path, lines=True)`` reads a journal too, but guesses types: entry ids and
HTTP statuses come back as floats (a column with gaps), times as text, and nothing is
checked. Here the file is read and parsed once, by :func:`fbtime.bulk.journal.read_state`
(the hash chain, each line against the run's own plan), and the frame is made from the
very lines those checks accepted. Ids and statuses are ``Int64``, times UTC, line types a
categorical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fbtime.bulk import journal

#: Line types, in the order a run writes them.
LINE_TYPES = ("run", "intent", "outcome", "stop", "resume", "end")
#: The frame's columns and dtypes (the index is ``line``, 1-based). Fields a line type
#: does not have are missing (NA) in its row; ``before``/``after``/``result`` hold the
#: entry fields as dicts, ``in_doubt`` a list of ids, ``counts`` a status -> count dict.
COLUMNS: dict[str, Any] = {
    "type": pd.CategoricalDtype(list(LINE_TYPES)),
    "at": "datetime64[us, UTC]",
    "run_id": "str",
    "business_id": "Int64",
    "entry_id": "Int64",
    "action": "str",
    "status": "str",
    "http_status": "Int64",
    "reason": "str",
    "new_id": "Int64",
    "cause": "str",
    "pending": "Int64",
    "before": "object",
    "after": "object",
    "result": "object",
    "in_doubt": "object",
    "counts": "object",
}


def read_journal(path: str | Path) -> pd.DataFrame:
    """Read an apply journal as a typed frame: one row per line, indexed by line number.

    ``attrs["fbtime_journal"]`` holds the run's ``path``, ``run_id``, ``business_id``,
    ``kind``, ``base_url``, whether it ``finished``, and the entries ``in_doubt`` (an
    intent with no outcome: check them with :func:`fbtime.resume`). For resume and undo,
    :func:`fbtime.resume` and :func:`fbtime.undo` take the path itself.

    Raises:
        PlanError: the file is missing, too large, not a journal, or a line is damaged,
            out of the chain, or not what the journal's plan allows (naming the line).

    Example:
        >>> plan = df.fbtime.unbilled().tail(2).fbtime.mark_billed()
        >>> result = plan.apply(client, confirm=True)
        >>> j = fbtime.read_journal(result.journal_path)
        >>> outcomes = j.loc[j["type"] == "outcome", ["entry_id", "status", "http_status"]]
        >>> len(outcomes), outcomes["entry_id"].dtype, outcomes["http_status"].dtype
        (2, Int64Dtype(), Int64Dtype())
    """
    state = journal.read_state(path, lines=True)
    records = state.lines or []
    columns = {name: pd.Series([r.get(name) for r in records], dtype=object) for name in COLUMNS}
    columns["at"] = pd.to_datetime(columns["at"], utc=True, format="ISO8601", errors="coerce")
    frame = pd.DataFrame(columns)
    for name, dtype in COLUMNS.items():
        if dtype != "object":
            frame[name] = frame[name].astype(dtype)
    frame.index = pd.Index(range(1, len(records) + 1), dtype="Int64", name="line")
    header = state.header
    frame.attrs["fbtime_journal"] = {
        "path": str(state.path),
        "run_id": state.run_id,
        "business_id": state.business_id,
        "kind": header.get("kind"),
        "base_url": header.get("base_url"),
        "finished": state.finished,
        "in_doubt": state.in_doubt(),
    }
    return frame
