"""How plans and apply results are shown: a text table for terminals, HTML for notebooks.

A plan is read before anything is written, so it says what it changes in a person's
terms: names (``client 78930`` where the frame had none, ``<no client>`` for none), hours
to 2 decimals, the money at stake (exact, per currency, and why an entry has none), and
subtotals by client. The notebook view is short (the first rows and the subtotals): the
review panel pages through every change. An apply result lists the entries that need a
look (conflicts, failures) with the reason, and says how to finish a stopped run.

Notes, names and server messages are typed by whoever has access to the account, so
every cell goes through :func:`fbtime.text.for_terminal` (an ESC sequence must not move
the cursor or erase the lines above a confirmation prompt) or
:func:`fbtime.text.for_html` (values and field names alike).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime import display
from fbtime.errors import PlanError
from fbtime.money import MONEY
from fbtime.text import for_html, for_terminal

if TYPE_CHECKING:
    from fbtime.bulk.change import Change, PlanData
    from fbtime.bulk.result import ApplyResult

#: Columns of :meth:`UpdatePlan.to_frame`.
FRAME_COLUMNS = (
    "id", "action", "field", "before", "after", "date", "teammate", "client", "project",
    "hours", "amount", "currency", "amount_note", "note", "client_id",
)  # fmt: skip
FRAME_DTYPES: dict[str, Any] = {
    "id": "Int64", "action": "str", "field": "str", "before": "object", "after": "object",
    "date": "str", "teammate": "str", "client": "str", "project": "str", "hours": "Float64",
    "amount": MONEY, "currency": "str", "amount_note": "str", "note": "str",
    "client_id": "Int64",
}  # fmt: skip
#: What each view shows (``client_id`` is in the frame only; ``client`` names it).
SHOWN = ("id", "action", "field", "before", "after", "date", "teammate", "client", "project",
         "hours", "amount", "note")  # fmt: skip
CONTEXT = ("date", "teammate", "client", "project", "hours", "amount", "note")
#: Rows a terminal shows; a notebook shows fewer (the review panel pages through all).
TEXT_ROWS = 20
HTML_ROWS = 10
NOTE_WIDTH = 40
#: How a field's missing value (``note: None``) reads in a plan.
EMPTY = "(empty)"
#: Why an entry has no amount, by the source of its rate.
NO_AMOUNT = {
    "fixed_price": "no amount: fixed price (valued per project)",
    "missing": "no amount: no rate found",
}
#: How plan totals count the entries without an amount, by the source of their rate.
NO_AMOUNT_REASON = {"fixed_price": "fixed price", "missing": "no rate"}
#: The statuses an apply result lists entry by entry: they need a look.
TROUBLE = ("conflict", "failed")


def amount_of(context: Mapping[str, Any]) -> Decimal | None:
    """A change's exact amount (its context's ``amount``), None when it has none.

    Plans saved before amounts were exact hold ``"1,234.50 CAD"``: read as well.
    """
    text = context.get("amount")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        value = Decimal(text.split()[0].replace(",", ""))
    except (InvalidOperation, IndexError):
        return None
    return value if value.is_finite() else None


def currency_of(context: Mapping[str, Any]) -> str | None:
    """The currency of a change's amount (older plans: the code after the amount)."""
    code = context.get("currency")
    if code is None and isinstance(context.get("amount"), str):
        parts = str(context["amount"]).split()
        code = parts[1] if len(parts) == 2 else None
    return code if isinstance(code, str) and code else None


def amount_note(context: Mapping[str, Any]) -> str | None:
    """Why a change has no amount, or that its client is billed in another currency."""
    if amount_of(context) is None:
        return NO_AMOUNT.get(str(context.get("rate_source")))
    theirs = context.get("client_currency")
    return f"client billed in {theirs}, not converted" if theirs else None


def money_text(context: Mapping[str, Any]) -> str | None:
    """A change's money as a reviewer reads it: ``1,234.50 CAD``, or why there is none."""
    value = amount_of(context)
    note = amount_note(context)
    if value is None:
        return note
    text = display.money(value, currency_of(context))
    return f"{text} ({note})" if note else text


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
            "amount": amount_of(context),
            "currency": currency_of(context),
            "amount_note": amount_note(context),
            "note": context.get("note"),
            "client_id": change.client_id,
        }
        for name in fields
    ]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def cell(value: Any, *, width: int | None = None) -> str:
    """One value for a terminal table: escaped, long text cut short (hours 2 decimals)."""
    if _missing(value):
        return ""
    text = for_terminal(display.hours(value) if isinstance(value, float) else value)
    return text if width is None or len(text) <= width else text[: width - 1] + "…"


def _view(plan: PlanData, limit: int) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rows to show, as text; only the context columns that hold
    something. A field's missing value reads ``(empty)``, a group's ``<no client>``."""
    rows: list[dict[str, Any]] = []
    total = 0
    for change in plan.changes:
        these = change_rows(change)
        total += len(these)
        if len(rows) < limit:
            for row in these[: limit - len(rows)]:
                money = money_text(change.context or {})
                rows.append({**row, "amount": money})
    frame = pd.DataFrame(rows, columns=list(SHOWN)).astype("object")
    empty = [c for c in CONTEXT if frame[c].map(_missing).all()]
    frame = frame.drop(columns=empty)
    for name in ("before", "after"):
        frame[name] = frame[name].map(lambda v: EMPTY if _missing(v) else v)
    for group in ("teammate", "client", "project"):
        if group in frame:
            frame[group] = frame[group].map(lambda v, g=group: v if v else display.no_group(g))
    return frame, total


def hash_line(plan: PlanData) -> str:
    """``sha256 <hex>``: the line a reviewer compares with what is applied."""
    try:
        return f"sha256 {plan.sha256}"
    except PlanError as exc:
        return f"sha256 (none: {exc})"


def money_line(totals: Mapping[str, Any]) -> str:
    """The money of plan totals: ``25,431.20 CAD``, and how many entries have none and why."""
    amounts = totals.get("amount") or {}
    parts = [display.money(value, code) for code, value in amounts.items()]
    missing = totals.get("no_amount") or {}
    if missing:
        why = ", ".join(f"{n} {reason}" for reason, n in missing.items())
        parts.append(f"{sum(missing.values())} without an amount ({why})")
    for code, n in (totals.get("foreign") or {}).items():
        parts.append(f"{n} of clients billed in {code}: not converted")
    return "; ".join(parts)


def summary_line(plan: PlanData) -> str:
    """The plan in one line: what it does, to how many entries, hours, clients, money."""
    t = plan.totals()
    money = money_line(t)
    return (
        f"UpdatePlan {plan.kind}: {t['entries']:,} entries, {display.hours(t['hours'])} h, "
        f"{t['clients']} clients affected{f', {money}' if money else ''}; "
        f"{t['skipped']:,} skipped (business {plan.business_id}, built "
        f"{str(plan.created_at)[:19]}Z)"
    )


def _skipped(plan: PlanData) -> pd.Series:
    return pd.Series([s["reason"] for s in plan.skipped], dtype="str").value_counts()


def plan_text(plan: PlanData) -> str:
    """The plan as a terminal shows it: summary, hash, changes, subtotals, skipped reasons."""
    lines = [for_terminal(summary_line(plan)), for_terminal(hash_line(plan))]
    frame, total = _view(plan, TEXT_ROWS)
    if len(frame):
        shown = frame.map(cell)
        if "note" in shown:
            shown["note"] = frame["note"].map(lambda v: cell(v, width=NOTE_WIDTH))
        lines.append(shown.to_string(index=False))
        if total > len(frame):
            lines.append(f"... {total - len(frame):,} more rows")
    by_client = plan.subtotals("client")
    if len(by_client) > 1:
        lines += ["by client:", str(by_client)]
    for reason, count in _skipped(plan).items():
        lines.append(f"skipped {count}: {for_terminal(reason)}")
    return "\n".join(lines)


def _html_table(frame: pd.DataFrame, style: Mapping[str, str] | None = None) -> str:
    style = style or {}
    wrap = {"before": ("<del>", "</del>"), "after": ("<ins>", "</ins>")}
    pad = "padding:2px 8px;text-align:left"
    head = "".join(f"<th style='{pad}'>{for_html(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='padding:2px 8px;{style.get(c, '')}'>{wrap.get(c, ('', ''))[0]}"
            f"{for_html('' if _missing(v) else v)}{wrap.get(c, ('', ''))[1]}</td>"
            for c, v in zip(frame.columns, values, strict=True)
        )
        + "</tr>"
        for values in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def subtotals_html(plan: PlanData, by: str) -> str:
    """The plan's subtotals by client (or teammate) as an HTML table, escaped."""
    table = plan.subtotals(by)
    shown = display.shown_table(table, table.report_info, human=True).table
    return _html_table(shown.reset_index())


def plan_html(plan: PlanData) -> str:
    """The plan as a notebook shows it: short (summary, subtotals by client, the first
    rows); ``plan.review()`` pages through every change. Every key and value escaped."""
    frame, total = _view(plan, HTML_ROWS)
    if "hours" in frame:
        frame["hours"] = frame["hours"].map(display.hours)
    style = {"before": "background:#fdecea", "after": "background:#e6f4ea"}
    more = ""
    if total > len(frame):
        more = (
            f"<p>... {total - len(frame):,} more rows: <code>plan.review()</code> pages "
            "through them, <code>plan.to_frame()</code> holds them all</p>"
        )
    skipped = "".join(f"<li>{n:,} {for_html(k)}</li>" for k, n in _skipped(plan).items())
    clients = ""
    if len(plan.changes):
        clients = f"<p>By client:</p>{subtotals_html(plan, 'client')}"
    return (
        f"<div class='fbtime-plan'><p><b>{for_html(summary_line(plan))}</b></p>"
        f"<p><code>{for_html(hash_line(plan))}</code></p>{clients}"
        f"<p>Changes:</p>{_html_table(frame, style)}{more}"
        f"{'<p>Skipped:</p><ul>' + skipped + '</ul>' if skipped else ''}</div>"
    )


def resume_advice(path: Any) -> str:
    """How to finish a stopped run: in Python (with the client), or from a shell."""
    where = str(path)
    return (
        f"finish it with fbtime.resume({where!r}, client) or, in a shell: "
        f"fbtime resume {shlex.quote(where)}"
    )


def trouble(
    result: ApplyResult, context: Mapping[int, Mapping[str, Any]] | None = None
) -> pd.DataFrame:
    """The entries of ``result`` that need a look (:data:`TROUBLE`), with the reason and,
    where the plan is known (``context``: id -> its change's context), what they are."""
    rows = result.rows[result.rows["status"].isin(TROUBLE)]
    context = context or {}
    out = pd.DataFrame(
        {
            "status": rows["status"].astype(object),
            "reason": rows["reason"].astype(object),
            "date": [context.get(int(i), {}).get("date") for i in rows.index],
            "client": [context.get(int(i), {}).get("client") for i in rows.index],
        },
        index=rows.index,
    )
    return out.drop(columns=[c for c in ("date", "client") if out[c].map(_missing).all()])


def counts_line(result: ApplyResult) -> str:
    """``211 applied, 3 conflict``: each status that happened, once."""
    counts = ", ".join(f"{n:,} {s.replace('_', ' ')}" for s, n in result.counts.items() if n)
    return counts or "nothing to do"


def _trouble_lines(result: ApplyResult) -> list[str]:
    shown = trouble(result)
    if not len(shown):
        return []
    lines = [
        f"{len(shown):,} need a look (plan them again: plan.replan(result)):",
        shown.head(TEXT_ROWS).astype("object").map(cell).to_string(),
    ]
    if len(shown) > TEXT_ROWS:
        lines.append(f"... {len(shown) - TEXT_ROWS:,} more in result.rows")
    return lines


def result_text(result: ApplyResult, *, stop_said: bool = False) -> str:
    """An apply result as a terminal shows it: counts, journal, the entries that need a
    look and why, and (if it stopped) how to finish it.

    ``stop_said``: the stop's message (its counts and how to finish) is printed next to
    it (the CLI's error line), so it is not said twice.
    """
    journal = f"journal: {for_terminal(result.journal_path)}"
    if stop_said and result.stopped:
        return "\n".join(
            [f"ApplyResult {result.run_id}: stopped", journal, *_trouble_lines(result)]
        )
    lines = [f"ApplyResult {result.run_id}: {counts_line(result)}", journal]
    if result.stopped:
        lines.append(f"stopped: {for_terminal(result.stopped)}")
        lines.append(for_terminal(resume_advice(result.journal_path)))
    return "\n".join([*lines, *_trouble_lines(result)])
