"""How plans and apply results are shown: a text table for terminals, HTML for notebooks.

Notes, names and server messages are typed by whoever has access to the account, so
every cell goes through :func:`fbtime.text.for_terminal` (an ESC sequence must not move
the cursor or erase the lines above a confirmation prompt) or
:func:`fbtime.text.for_html` (values and field names alike).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime.errors import PlanError
from fbtime.text import for_html, for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.change import Change, PlanData
    from fbtime.bulk.result import ApplyResult

#: Columns of :meth:`UpdatePlan.to_frame`.
FRAME_COLUMNS = (
    "id", "action", "field", "before", "after", "date", "teammate", "client", "project",
    "hours", "amount", "note", "client_id",
)  # fmt: skip
FRAME_DTYPES = {
    "id": "Int64", "action": "str", "field": "str", "before": "object", "after": "object",
    "date": "str", "teammate": "str", "client": "str", "project": "str", "hours": "Float64",
    "amount": "str", "note": "str", "client_id": "Int64",
}  # fmt: skip
#: What each view shows (``client_id`` is in the frame only; ``client`` names it).
SHOWN = FRAME_COLUMNS[:-1]
CONTEXT = ("date", "teammate", "client", "project", "hours", "amount", "note")
TEXT_ROWS = 20
HTML_ROWS = 200
NOTE_WIDTH = 40
MISSING = "—"


def change_rows(change: Change) -> list[dict[str, Any]]:
    """The rows of one change in :meth:`UpdatePlan.to_frame`: one per changed field, one
    per new entry (its start, local where known)."""
    fields = change.changed_fields()
    after = change.after
    if change.action != "update":
        fields = fields or ["(entry)"]
    if change.action == "create":  # one row per new entry; the start says which
        fields = ["started_at"]
        start = after.get("local_started_at") or after.get("started_at")
        after = {"started_at": start}
    context = change.context or {}
    return [
        {
            "id": change.id,
            "action": change.action,
            "field": name,
            "before": change.before.get(name),
            "after": after.get(name),
            "date": context.get("date"),
            "teammate": context.get("teammate"),
            "client": context.get("client"),
            "project": context.get("project"),
            "hours": change.hours,
            "amount": context.get("amount"),
            "note": context.get("note"),
            "client_id": change.client_id,
        }
        for name in fields
    ]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def cell(value: Any, *, width: int | None = None) -> str:
    """One value for a terminal table: escaped, missing as a dash, long text cut short."""
    if _missing(value):
        return MISSING
    text = for_terminal(f"{value:.2f}" if isinstance(value, float) else value)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def _view(plan: PlanData, limit: int) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rows to show, only the context columns that hold something."""
    rows: list[dict[str, Any]] = []
    total = 0
    for change in plan.changes:
        these = change_rows(change)
        total += len(these)
        if len(rows) < limit:
            rows.extend(these[: limit - len(rows)])
    frame = pd.DataFrame(rows, columns=list(SHOWN)).astype("object")
    empty = [c for c in CONTEXT if frame[c].map(_missing).all()]
    return frame.drop(columns=empty), total


def hash_line(plan: PlanData) -> str:
    """``sha256 <hex>``: the line a reviewer compares with what is applied."""
    try:
        return f"sha256 {plan.sha256}"
    except PlanError as exc:
        return f"sha256 (none: {exc})"


def plan_text(plan: PlanData) -> str:
    """The plan as a terminal shows it: summary, hash, changes, skipped reasons."""
    lines = [for_terminal(plan._summary_line()), for_terminal(hash_line(plan))]
    frame, total = _view(plan, TEXT_ROWS)
    if len(frame):
        shown = frame.map(cell)
        if "note" in shown:
            shown["note"] = frame["note"].map(lambda v: cell(v, width=NOTE_WIDTH))
        lines.append(shown.to_string(index=False))
        if total > len(frame):
            lines.append(f"... {total - len(frame)} more rows")
    reasons = pd.Series([s["reason"] for s in plan.skipped], dtype="str")
    for reason, count in reasons.value_counts().items():
        lines.append(f"skipped {count}: {for_terminal(reason)}")
    return "\n".join(lines)


def plan_html(plan: PlanData) -> str:
    """The plan as a notebook shows it: every key and value escaped."""
    frame, total = _view(plan, HTML_ROWS)
    style = {"before": " style='background:#fdecea'", "after": " style='background:#e6f4ea'"}
    wrap = {"before": ("<del>", "</del>"), "after": ("<ins>", "</ins>")}
    head = "".join(f"<th>{for_html(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{style.get(c, '')}>{wrap.get(c, ('', ''))[0]}"
            f"{for_html(MISSING if _missing(v) else v)}{wrap.get(c, ('', ''))[1]}</td>"
            for c, v in zip(frame.columns, values, strict=True)
        )
        + "</tr>"
        for values in frame.itertuples(index=False)
    )
    more = f"<p>... {total - len(frame)} more rows</p>" if total > len(frame) else ""
    reasons = pd.Series([s["reason"] for s in plan.skipped], dtype="str").value_counts()
    skipped = "".join(f"<li>{n} {for_html(k)}</li>" for k, n in reasons.items())
    return (
        f"<div><p><b>{for_html(plan._summary_line())}</b></p>"
        f"<p><code>{for_html(hash_line(plan))}</code></p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
        f"{'<p>Skipped:</p><ul>' + skipped + '</ul>' if skipped else ''}</div>"
    )


def result_text(result: ApplyResult) -> str:
    """An apply result as a terminal shows it: counts, journal, the rows that need a look."""
    counts = ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
    lines = [
        f"ApplyResult {result.run_id}: {counts or 'nothing to do'}",
        f"journal: {for_terminal(result.journal_path)}",
    ]
    if result.stopped:
        lines.append(f"stopped: {for_terminal(result.stopped)}")
    trouble = result.rows[result.rows["status"].isin(["conflict", "failed"])]
    if len(trouble):
        lines.append(trouble.head(TEXT_ROWS).astype("object").map(cell).to_string())
    return "\n".join(lines)
