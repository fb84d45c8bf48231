"""The explorer's pure part: filter and group a frame from an :class:`ExplorerState`.

Nothing here touches widgets, so it is tested on plain frames; :mod:`.explorer` only
reads the controls into a state and shows what :func:`explore_view` returns.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from fbtime import analysis
from fbtime.errors import QueryError
from fbtime.plots import COLORS, chart_style, label_groups

GROUP_BYS = ("client", "project", "teammate", "week", "entries")
FLAG_CHOICES = ("All", "Yes", "No")
#: Rows shown in the explorer's HTML table (the CSV export has them all).
MAX_ROWS = 200
TABLE_CLASS = "fbtime-explorer-table"
_ENTRY_COLUMNS = ("started_at", "identity_id", "teammate_name", "client_id", "client_name",
                  "project_id", "project_name", "hours", "billable", "billed", "note")  # fmt: skip


@dataclass(frozen=True)
class ExplorerState:
    """What the explorer's controls say; empty selections and "All" mean no filter.

    Attributes:
        start, end: first and last local day included (None = open).
        clients, projects: ids to keep (None in the tuple = entries without one).
        teammate: the identity id to keep, or None for everyone.
        billable, billed: "All", "Yes" or "No" (a missing flag reads as No).
        group_by: one of :data:`GROUP_BYS` ("entries" lists rows instead of a summary).
    """

    start: dt.date | None = None
    end: dt.date | None = None
    clients: tuple[Any, ...] = ()
    projects: tuple[Any, ...] = ()
    teammate: int | None = None
    billable: str = "All"
    billed: str = "All"
    group_by: str = "client"


class ExplorerView(NamedTuple):
    """The result of :func:`explore_view`: the table to show and the rows behind it."""

    table: pd.DataFrame
    rows: pd.DataFrame


def _check_state(state: ExplorerState) -> None:
    for name in ("billable", "billed"):
        if getattr(state, name) not in FLAG_CHOICES:
            raise QueryError(f"{name} must be one of {FLAG_CHOICES}, got {getattr(state, name)!r}")
    if state.group_by not in GROUP_BYS:
        raise QueryError(f"group_by must be one of {GROUP_BYS}, got {state.group_by!r}")
    if state.start and state.end and state.end < state.start:
        raise QueryError(f"the end date {state.end} is before the start date {state.start}")


def _week_table(rows: pd.DataFrame, tz: str) -> pd.DataFrame:
    work = analysis.hours_frame(rows, tz)
    work["week"] = analysis.period_start(work["day"], "W")
    sums = ["hours", "billable_hours", "unbilled_hours", "billed_hours"]
    grouped = work.groupby("week")
    table = grouped[sums].sum().astype("Float64")
    table.insert(0, "entries", grouped.size().astype("Int64"))
    return table


def explore_view(frame: pd.DataFrame, state: ExplorerState) -> ExplorerView:
    """Filter ``frame`` as ``state`` says and summarise it by ``state.group_by``.

    Days are local days in the data's zone (as in ``by_period``), so a late evening
    entry belongs to the day its teammate worked. Summaries count logged, active entries
    like every ``df.fbtime.by_*``; the ``rows`` keep every filtered entry.

    Raises:
        QueryError: an unknown choice or an end date before the start date.
    """
    _check_state(state)
    tz = analysis.resolve_tz(frame)
    mask = np.ones(len(frame), dtype=bool)
    day = analysis.local_day(frame, tz)
    if state.start is not None:
        mask &= (day >= pd.Timestamp(state.start)).to_numpy(dtype=bool, na_value=False)
    if state.end is not None:
        mask &= (day <= pd.Timestamp(state.end)).to_numpy(dtype=bool, na_value=False)
    for column, chosen in (("client_id", state.clients), ("project_id", state.projects)):
        if chosen:
            ids = [int(v) for v in chosen if v is not None]
            keep = frame[column].isin(ids).to_numpy(dtype=bool, na_value=False)
            if any(v is None for v in chosen):
                keep |= frame[column].isna().to_numpy()
            mask &= keep
    if state.teammate is not None:
        mask &= (frame["identity_id"] == state.teammate).to_numpy(dtype=bool, na_value=False)
    for column in ("billable", "billed"):
        choice = getattr(state, column)
        if choice != "All":
            mask &= analysis.flag(frame, column) == (choice == "Yes")
    rows = analysis.select(frame, mask)
    if state.group_by == "entries":
        shown = rows.loc[:, [c for c in _ENTRY_COLUMNS if c in rows]]
        table = shown.sort_values("started_at", ascending=False, kind="stable")
    elif state.group_by == "week":
        table = _week_table(rows, tz)
    else:
        table = analysis.summarize_by(rows, state.group_by, tz=tz)  # type: ignore[arg-type]
    return ExplorerView(table, rows)


def _labels(table: pd.DataFrame, group_by: str) -> list[str]:
    if group_by == "week":
        return [f"{d:%Y-%m-%d}" for d in table.index]
    names = table.get(analysis.GROUPS[group_by][1])
    names = None if names is None else [None if n == "nan" else n for n in names.tolist()]
    return label_groups(list(table.index), names, f"<no {group_by}>", f"{group_by} {{}}")


def _draw(ax: Any, table: pd.DataFrame, group_by: str) -> None:
    labels = _labels(table, group_by)
    billed = table["billed_hours"].to_numpy(dtype=float, na_value=0.0)
    unbilled = table["unbilled_hours"].to_numpy(dtype=float, na_value=0.0)
    other = table["hours"].to_numpy(dtype=float, na_value=0.0) - billed - unbilled
    weekly = group_by == "week"
    pos, base = np.arange(len(table)), np.zeros(len(table))
    for values, label in ((billed, "billed"), (unbilled, "unbilled"), (other, "non-billable")):
        if weekly:
            ax.bar(pos, values, bottom=base, label=label, color=COLORS[label], width=0.8)
        else:
            ax.barh(pos, values, left=base, label=label, color=COLORS[label], height=0.8)
        base = base + values
    step = max(1, len(labels) // 12) if weekly else 1
    (ax.set_xticks if weekly else ax.set_yticks)(pos[::step], labels[::step], fontsize=8)
    (ax.set_ylabel if weekly else ax.set_xlabel)("hours")
    ax.set_title(f"Hours by {group_by}" if len(table) else "No entries match", fontsize=10)
    if len(table):
        ax.legend(fontsize=8)


def chart_png(view: ExplorerView, group_by: str) -> bytes:
    """PNG of hours per group (top 15) or per week: billed, unbilled, non-billable stacked.

    Drawn on a bare ``Figure`` (not pyplot), so refreshes leave no open figures behind,
    and saved inside :func:`fbtime.plots.chart_style`, so names are drawn literally.
    """
    import matplotlib
    from matplotlib.figure import Figure

    table = view.table
    if group_by == "entries":
        table, group_by = _week_table(view.rows, analysis.resolve_tz(view.rows)), "week"
    if group_by != "week":
        table = table.head(15).iloc[::-1]
    height = 3.2 if group_by == "week" else max(2.2, 0.3 * len(table) + 1)
    buf = io.BytesIO()
    with matplotlib.rc_context(chart_style()), warnings.catch_warnings():
        # a name no installed font can draw shows as boxes; a warning per refresh adds nothing
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(7.5, height), layout="constrained")
        _draw(fig.subplots(), table, group_by)
        fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def table_html(table: pd.DataFrame, max_rows: int = MAX_ROWS) -> str:
    """The table as HTML (first ``max_rows`` rows) with a CSS class the browser test finds.

    Every value, index label and column label is escaped: names and notes come from the
    account, and this HTML is shown in the notebook as it is.
    """
    shown = table.head(max_rows)
    body = shown.to_html(
        classes=TABLE_CLASS, float_format=lambda x: f"{x:,.2f}", na_rep="—", escape=True
    )
    more = f"<p>... {len(table) - max_rows} more rows</p>" if len(table) > max_rows else ""
    return body + more
